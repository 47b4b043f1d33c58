"""The scratch dir: capped in size and file count, and gone after the job whatever it did to permissions."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from engines import sandbox
from engines.sandbox import Limits
from engines.sandbox.scratch import disk_usage, remove_tree

ROOT = Path(__file__).resolve().parents[3]
ROOMY = Limits(wall_s=20, cpu_s=20)
LOCK_NESTED = ("import os\n"
               "os.makedirs('a/b/c')\n"
               "open('a/b/c/f.txt', 'w').write('x')\n"
               "open('a/b/g.txt', 'w').write('x')\n"
               "os.chmod('a/b/c', 0)\n"
               "os.chmod('a/b', 0o100)\n"
               "os.chmod('a', 0)\n"
               "print('locked')\n")


def test_scratch_dir_removed(mode):
    before = set(Path(tempfile.gettempdir()).glob("wb-job-*"))
    r = sandbox.run_python("import os\nopen('left.txt', 'w').write('x')\nprint(os.listdir('.'))\n", limits=ROOMY)
    assert r.ok and "left.txt" in r.stdout
    assert set(Path(tempfile.gettempdir()).glob("wb-job-*")) <= before


def test_scratch_size_is_capped(mode, budget):
    # regression: 40 files under the per-file cap wrote 640 MB into the scratch dir in 1.5 s
    code = ("for i in range(40):\n"
            "    with open(f'part{i}', 'wb') as f:\n"
            "        f.write(b'x' * (15 * 2**20))\n"
            "    print('wrote', i + 1, flush=True)\n"
            "print('all written')\n")
    r = sandbox.run_python(code, limits=ROOMY)
    assert "all written" not in r.stdout
    assert r.stopped == "disk" and not r.ok, r.stdout + r.stderr
    assert "64 MB" in r.stderr


def test_scratch_file_count_is_capped(mode):
    code = ("for i in range(30000):\n"
            "    open(f'f{i}', 'w').close()\n"
            "print('all written')\n")
    r = sandbox.run_python(code, limits=ROOMY)
    assert "all written" not in r.stdout and r.stopped == "disk"


def test_locked_nested_folders_are_removed(mode, monkeypatch):
    made: list[str] = []  # this job's scratch dirs (other sessions on the machine make their own wb-job-* dirs)
    real_mkdtemp = tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):
        made.append(real_mkdtemp(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    r = sandbox.run_python(LOCK_NESTED, limits=ROOMY)
    assert r.ok and "locked" in r.stdout, r.stderr
    assert [d for d in made if "wb-job-" in d] and not [d for d in made if os.path.exists(d)]


def test_remove_tree_and_usage_unlock_what_a_job_locked(tmp_path):
    root = tmp_path / "job"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "f").write_bytes(b"x" * 10000)
    os.link(root / "a" / "b" / "f", root / "a" / "hard")
    (root / "a" / "link").symlink_to(ROOT)  # never followed
    used, entries = disk_usage(root)
    assert 10000 <= used < 10000 + 64 * 1024 and entries == 5
    (root / "a" / "b").chmod(0)
    (root / "a").chmod(0o100)
    assert remove_tree(root) and not root.exists()
    assert ROOT.exists() and (ROOT / "engines").exists()


# As a server that is not root: a job's files are ours, and a folder it chmod-ed 0 stops rmtree (the old
# cleanup, rmtree(ignore_errors=True), left the whole scratch dir behind).
NON_ROOT = """
import json, os, sys, tempfile
sys.path.insert(0, sys.argv[1])
os.environ["WORKBENCH_SANDBOX"] = sys.argv[2]
from engines import sandbox
r = sandbox.run_python(sys.argv[3], limits=sandbox.Limits(wall_s=20, cpu_s=20))
left = [p for p in os.listdir(tempfile.gettempdir()) if p.startswith("wb-job-")]
print(json.dumps({"ok": r.ok, "stdout": r.stdout, "stderr": r.stderr, "isolation": r.isolation, "left": left,
                  "tmpdir": tempfile.gettempdir()}))
"""


def _as_nobody(mode: str, code: str) -> tuple[dict, Path]:
    python, setpriv = shutil.which("python3", path="/usr/bin:/bin"), shutil.which("setpriv")
    if os.geteuid() != 0 or not python or not setpriv:
        pytest.skip("needs root (to become another user) and setpriv")
    tmp = Path(tempfile.mkdtemp(prefix="wb-nobody-", dir="/tmp"))  # pytest's tmp_path is not traversable by others
    tmp.chmod(0o777)
    env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp), "HOME": str(tmp), "LANG": "C.UTF-8"}
    try:
        done = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--", python, "-I",
                               "-c", NON_ROOT, str(ROOT), mode, code], capture_output=True, text=True, env=env,
                              timeout=120)
        if done.returncode != 0:
            pytest.skip(f"the sandbox does not run as uid 65534 here: {done.stderr[-300:]}")
        return json.loads(done.stdout.splitlines()[-1]), tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # we are root: this works whatever was left


def test_locked_nested_folders_removed_when_server_is_not_root(mode):
    result, tmp = _as_nobody(mode, LOCK_NESTED)
    assert result["ok"] and result["isolation"] == mode, result
    assert result["tmpdir"] == str(tmp), result  # the jobs' scratch dirs went where we look
    assert result["left"] == [], result
