"""One budget per job: memory (every process and the private tmpfs together), processes, file sizes; each test
runs in every isolation mode and every budget mode that works here."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engines import sandbox
from engines.sandbox import Limits, procfs
from engines.sandbox.budget import WatchdogBudget
from engines.sandbox.scratch import Job

FAST = Limits(wall_s=1.0, cpu_s=1.0)
ROOMY = Limits(wall_s=20, cpu_s=20)


def test_fork_bomb_contained_and_nothing_left(mode, budget, gone):
    marker = f"bomb{os.getpid()}x{time.monotonic_ns()}"
    code = ("import os, sys, time\n"
            f"sys.argv.append('{marker}')\n"
            "n = 0\n"
            "while True:\n"
            "    try:\n"
            f"        if os.fork() == 0:\n            os.execv(sys.executable, [sys.executable, '-c', "
            f"'import time; time.sleep(1000)', '{marker}'])\n"
            "        n += 1\n"
            "    except OSError:\n"
            "        print('fork refused after', n, flush=True)\n"
            "        time.sleep(10**6)\n")
    r = sandbox.run_python(code, limits=Limits(wall_s=2, cpu_s=2, nproc=16))
    assert r.timed_out or r.stopped == "processes"
    if "fork refused after" in r.stdout:
        assert int(r.stdout.split()[-1]) <= 16
    assert gone(marker)


def test_memory_limit_stops_4gib_allocation(mode, budget):
    r = sandbox.run_python("b = bytearray(4 * 2**30)\nprint('allocated')\n", limits=FAST)
    assert r.exit_code != 0 and "allocated" not in r.stdout
    assert "MemoryError" in r.stderr


def test_forked_children_share_one_memory_budget(mode, budget):
    # regression: RLIMIT_AS bounds each process, so three children of 700 MB held 2.1 GB under a "1024 MB" limit
    code = ("import os, time\n"
            "kids = []\n"
            "for i in range(3):\n"
            "    pid = os.fork()\n"
            "    if pid == 0:\n"
            "        block = b'x' * (700 * 2**20)\n"
            "        print('held', i, flush=True)\n"
            "        time.sleep(3)\n"
            "        os._exit(0)\n"
            "    kids.append(pid)\n"
            "for pid in kids:\n"
            "    os.waitpid(pid, 0)\n"
            "print('all done', flush=True)\n")
    r = sandbox.run_python(code, limits=ROOMY)
    assert "all done" not in r.stdout, r.stdout
    assert r.stopped == "memory" and not r.ok and r.exit_code == -9
    assert "1024 MB of memory" in r.stderr


def _fill(folder: str, files: int) -> str:
    return ("total = 0\n"
            "try:\n"
            f"    for i in range({files}):\n"
            f"        with open('{folder}/fill' + str(i), 'wb') as f:\n"
            "            f.write(b'x' * (15 * 2**20))\n"
            "        total += 15\n"
            "        print('total', total, flush=True)\n"
            "except OSError as exc:\n"
            "    print('refused', exc.errno, flush=True)\n")


def _written(stdout: str) -> int:
    totals = [int(line.split()[1]) for line in stdout.splitlines() if line.startswith("total ")]
    return max(totals, default=0)


@pytest.mark.parametrize("folder", ["/tmp", "/dev/shm", "/dev", ""], ids=["tmp", "dev-shm", "dev", "root"])
def test_private_tmpfs_mounts_are_capped(mode, folder):
    # regression: the sandbox's /tmp (and /dev/shm, /dev, /) were unsized tmpfs: 1.2 GB went into /tmp in 1.4 s
    r = sandbox.run_python(_fill(folder, 80), limits=ROOMY)
    assert "refused" in r.stdout, r.stdout + r.stderr
    assert _written(r.stdout) <= Limits().tmp_mb


def test_tmpfs_counts_against_the_memory_budget(mode, budget):
    r = sandbox.run_python(_fill("/tmp", 50), limits=Limits(wall_s=20, cpu_s=20, memory_mb=256, tmp_mb=2048))
    assert _written(r.stdout) < 50 * 15
    if mode == "bwrap":  # Landlock jobs can't write /tmp at all
        assert r.stopped == "memory", r.stdout + r.stderr


def test_file_size_limit_stops_100mib_write(mode):
    code = ("f = open('big.bin', 'wb')\n"
            "try:\n"
            "    for _ in range(100):\n"
            "        f.write(b'x' * 2**20)\n"
            "        f.flush()\n"
            "except OSError as exc:\n"
            "    print('stopped at', f.tell(), exc.errno)\n")
    r = sandbox.run_python(code, limits=Limits(wall_s=3, cpu_s=3, file_mb=4))
    assert "stopped at" in r.stdout, r.stderr
    assert int(r.stdout.split()[2]) <= 4 * 2**20


@contextlib.contextmanager
def _job_process(code: str, tmp_path: Path) -> Iterator[tuple[int, Job]]:
    """A process tree outside the sandbox, as a watchdog sees a job; killed (children first) on exit."""
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, cwd=tmp_path)
    try:
        assert proc.stdout.readline().strip() == b"ready"
        yield proc.pid, Job(mode="none", scratch=tmp_path, uid=None)
    finally:
        procfs.kill([proc.pid, *procfs.descendants(proc.pid)])
        proc.wait()


def test_watchdog_counts_every_process_of_the_job(tmp_path):
    code = ("import os, time\n"
            "for _ in range(4):\n"
            "    if os.fork() == 0:\n"
            "        time.sleep(60)\n"
            "        os._exit(0)\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)\n")
    with _job_process(code, tmp_path) as (pid, job):
        assert WatchdogBudget(Limits(nproc=3), job).check(pid) == "processes"
        assert WatchdogBudget(Limits(nproc=16), job).check(pid) == ""


def test_watchdog_sums_memory_of_children(tmp_path):
    code = ("import os, time\n"
            "for _ in range(2):\n"
            "    if os.fork() == 0:\n"
            "        block = b'x' * (40 * 2**20)\n"
            "        time.sleep(60)\n"
            "        os._exit(0)\n"
            "print('ready', flush=True)\n"
            "time.sleep(60)\n")
    with _job_process(code, tmp_path) as (pid, job):
        deadline = time.monotonic() + 30
        while WatchdogBudget(Limits(memory_mb=64), job).check(pid) != "memory":  # 2 × 40 MB > 64 MB
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert WatchdogBudget(Limits(memory_mb=512), job).check(pid) == ""
