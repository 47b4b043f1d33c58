"""Helpers for the Fine-tune tests: a tiny arithmetic dataset, the standard short run, waiting on a worker, and
cleaning up workers a test left running."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

# 24 rows, 6 held out → 18 train, batch 4 → 5 batches an epoch; 20 steps cross three epoch boundaries
N_ROWS = 24
HYPER = {"max_steps": 20, "batch_size": 4, "learning_rate": 5e-3, "max_length": 64, "save_steps": 5,
         "eval_steps": 5, "logging_steps": 1, "rank": 8, "alpha": 16, "seed": 7}
HELDOUT = 0.25


def rows(n: int = N_ROWS) -> list[dict]:
    """Prompt/completion rows a tiny model can learn something from."""
    return [{"prompt": f"What is {i} plus {i}?", "completion": f"The answer is {2 * i}."} for i in range(n)]


def chat_rows(n: int = N_ROWS) -> list[dict]:
    """The same rows in chat form (a system turn, a user turn, the assistant reply)."""
    return [{"messages": [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": r["prompt"]},
                          {"role": "assistant", "content": r["completion"]}]} for r in rows(n)]


def write_jsonl(path: Path, items: list[dict]) -> Path:
    """Write rows as JSON Lines."""
    path.write_text("".join(json.dumps(r) + "\n" for r in items), encoding="utf-8")
    return path


def wait_for(read, done, timeout: float = 240.0, every: float = 0.1):
    """Poll ``read()`` until ``done(value)``; fail with the last value after ``timeout`` seconds (generous: a busy
    machine trains slowly)."""
    deadline = time.monotonic() + timeout
    value = read()
    while not done(value):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting; last value: {_describe(value)}")
        time.sleep(every)
        value = read()
    return value


def _describe(value) -> str:
    folder = getattr(value, "folder", None)
    log = ""
    if folder is not None and (Path(folder) / "worker.log").exists():
        log = "\n" + (Path(folder) / "worker.log").read_text(errors="replace")[-3000:]
    return f"{getattr(value, 'state', value)!r} {getattr(value, 'status', '')}{log}"


def kill_workers(root: Path) -> None:
    """SIGKILL every worker still running for a run under ``root`` (a test's leftovers)."""
    if not root.is_dir():
        return
    for folder in root.iterdir():
        kill_run(folder)


def kill_run(folder: Path) -> None:
    """SIGKILL the worker of one run folder, if it still runs."""
    from engines.finetune import runs

    pid, created = runs.worker_pid(folder)
    if pid and runs.worker_alive(pid, folder, created):
        try:
            os.killpg(os.getpgid(int(pid)), signal.SIGKILL)
        except OSError:
            pass


def batches(folder: Path) -> dict[int, list[int]]:
    """step → fingerprints of that step's batches (the data order)."""
    from engines.finetune import runs

    return {int(r["step"]): r["crc"] for r in runs.read_jsonl(folder / "batches.jsonl")}


class DataDir:
    """Point WORKBENCH_DATA_DIR at ``root`` for a while (a session's runs), and kill leftover workers on exit."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._old: str | None = None

    def __enter__(self) -> Path:
        self._old = os.environ.get("WORKBENCH_DATA_DIR")
        os.environ["WORKBENCH_DATA_DIR"] = str(self.root)
        return self.root / "finetune"

    def __exit__(self, *exc) -> None:
        kill_workers(self.root / "finetune")
        if self._old is None:
            os.environ.pop("WORKBENCH_DATA_DIR", None)
        else:
            os.environ["WORKBENCH_DATA_DIR"] = self._old


def prepare(model: Path | str, **over):
    """The standard short run on ``model`` (prepared, not started)."""
    from engines import finetune as ft

    data = ft.examples_from_rows(rows(), source="test rows")
    share = over.pop("heldout_share", HELDOUT)
    return ft.prepare(str(model), data, ft.Hyper(**{**HYPER, **over}), heldout_share=share)


def shared_done_run(model: Path, ft_root: Path, tmp_path_factory):
    """The standard short run on ``model``, trained to the end once per test session and copied into ``ft_root`` (a
    pytest-xdist worker's runs folder) by every other worker that asks: its own folder, so what a test writes there
    (a merge) stays its own."""
    import shutil

    from filelock import FileLock

    from engines import finetune as ft

    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "ft-done-run"  # this session's
    with FileLock(f"{shared}.lock"):
        if not (shared / "id").exists():
            run = ft.start_run(prepare(model))
            view = wait_for(lambda: ft.read_run(run.id), lambda v: not v.live)
            assert view.state == "done", _describe(view)
            shutil.copytree(view.folder, shared / view.id)
            (shared / "id").write_text(view.id, encoding="utf-8")
            return view
        run_id = (shared / "id").read_text(encoding="utf-8")
    shutil.copytree(shared / run_id, ft_root / run_id)
    view = ft.read_run(run_id)
    assert view.state == "done" and view.folder == ft_root / run_id, _describe(view)
    return view


class SlowStart:
    """Stands in for ``subprocess.Popen`` in ``engines.finetune.jobs``: the process it starts lives (sleeps) but its
    command line doesn't name the worker, as a just-spawned worker's reads until its exec completes. ``peek`` runs
    just before the process starts (a page refresh arriving while the server spawns)."""

    def __init__(self, peek=None):
        import subprocess

        self.peek, self.seen, self.procs, self.popen = peek, [], [], subprocess.Popen

    def __call__(self, argv, **kwargs):
        import sys

        if self.peek is not None:
            self.seen.append(self.peek())
        proc = self.popen([sys.executable, "-c", "import time; time.sleep(600)"], **kwargs)
        self.procs.append(proc)
        return proc

    def kill(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait()
