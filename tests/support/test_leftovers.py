"""Leftover processes of an interrupted test session are ended when the next one starts (tests/conftest.py's
pytest_sessionstart → leftovers.end_leftovers), and nothing else is: dummies shaped like a fine-tune worker and a
served app, marked with a session that has ended, are ended; the same marked with this live session, one whose
folder is outside the temp dir's test folders, and one whose command line only mentions the worker, keep running."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import leftovers
import psutil
import pytest
from processes import all_gone, gone

SLEEP = "import time\ntime.sleep(600)\n"


@pytest.fixture()
def fakes():
    """A folder with a sleeping ``engines/finetune/worker.py`` and ``app.py``, and a data dir under a test prefix."""
    root = Path(tempfile.mkdtemp(prefix="workbench-test-data-"))
    code = root / "code"
    (code / "engines" / "finetune").mkdir(parents=True)
    for name in ("engines/__init__.py", "engines/finetune/__init__.py"):
        (code / name).write_text("")
    (code / "engines" / "finetune" / "worker.py").write_text(SLEEP)
    (code / "app.py").write_text(SLEEP)
    started: list[subprocess.Popen] = []

    def start(argv: list[str], tag: str, data_dir: Path | str) -> psutil.Process:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env.update({leftovers.SESSION_VAR: tag, "WORKBENCH_DATA_DIR": str(data_dir)})
        proc = subprocess.Popen(argv, cwd=code, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(proc)
        child = psutil.Process(proc.pid)
        while child.cmdline() != argv:  # until it has exec'd (a forked child shows its parent's command line)
            time.sleep(0.02)
        return child

    yield root, code, start
    for proc in started:
        proc.kill()
        proc.wait()
    shutil.rmtree(root, ignore_errors=True)


def _ended_session_tag() -> str:
    proc = subprocess.Popen([sys.executable, "-c", SLEEP])
    tag = leftovers.session_tag(proc.pid)
    proc.kill()
    proc.wait()
    return tag


def test_leftover_worker_and_app_are_ended_and_nothing_else(fakes):
    root, code, start = fakes
    ended, live = _ended_session_tag(), os.environ[leftovers.SESSION_VAR]
    assert not leftovers.session_alive(ended) and leftovers.session_alive(live)
    run = root / "finetune" / "20260101-000000-tiny-abcd"
    worker = [sys.executable, "-m", "engines.finetune.worker", "train"]
    app = [sys.executable, str(code / "app.py"), "--host", "127.0.0.1", "--port", "9"]
    left_worker = start([*worker, str(run)], ended, root)
    left_app = start(app, ended, root)
    own_worker = start([*worker, str(run)], live, root)  # this session's: alive
    elsewhere = start([*worker, "/var/lib/workbench-not-a-test/finetune/run"], ended, "/var/lib/x")
    lookalike = start([sys.executable, "-c", SLEEP, "-m", "engines.finetune.worker", "train", str(run)], ended, root)

    found = {p.pid for p in leftovers.leftovers()}
    assert {left_worker.pid, left_app.pid} <= found
    assert not found & {own_worker.pid, elsewhere.pid, lookalike.pid}
    report = leftovers.end_leftovers()
    assert any(str(left_worker.pid) in line and "engines.finetune.worker" in line for line in report)
    assert all_gone([left_worker, left_app])
    assert not any(gone(p) for p in (own_worker, elsewhere, lookalike))


def test_matching_is_exact():
    py = sys.executable
    assert leftovers.kind_of([py, "-m", "engines.finetune.worker", "resume", "/tmp/x"]) == "worker"
    assert leftovers.kind_of([py, "/repo/app.py", "--host", "127.0.0.1", "--port", "7860"]) == "app"
    assert leftovers.kind_of([py, "-m", "engines.finetune.worker", "evil", "/tmp/x"]) is None
    assert leftovers.kind_of(["bash", "-m", "engines.finetune.worker", "train", "/tmp/x"]) is None
    assert leftovers.kind_of([py, "/repo/app.py"]) is None  # someone's own app, not a served test app
    temp = Path(tempfile.gettempdir())
    assert leftovers.in_test_temp(str(temp / "workbench-test-data-abc" / "finetune"))
    assert leftovers.in_test_temp(str(temp / "pytest-of-me" / "pytest-3" / "ft-data0"))
    assert not leftovers.in_test_temp(str(temp / "my-data"))
    assert not leftovers.in_test_temp(str(Path.home() / "workbench-test-data-abc"))
    assert not leftovers.in_test_temp(None)
    assert leftovers.session_alive("not-a-tag")  # never end on doubt


def test_a_new_session_ends_them(fakes):
    root, code, start = fakes
    left = start([sys.executable, "-m", "engines.finetune.worker", "train", str(root / "finetune" / "run")],
                 _ended_session_tag(), root)
    tests = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-m", "pytest", str(tests / "app" / "test_suite_layout.py"), "-q",
                          "-p", "no:cacheprovider"], cwd=tests.parent, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert all_gone([left])
    assert f"{left.pid}: " in out.stderr and "an earlier test session left running" in out.stderr
