"""cgroup v2 groups, one per job execution: memory (processes, page cache and tmpfs pages together) and task count
capped by the kernel, every process of the job killed in one write at the end.

Where the groups go (probed once per process, ``parent()``):
``WORKBENCH_CGROUP`` (a delegated cgroup v2 directory we may create groups in), else the server's own cgroup.
The memory and pids controllers must be available there and enabled for its children; when the server's own
cgroup holds only the server, the server moves itself into a ``workbench-server`` leaf first (cgroup v2 lets a
group with processes in it hand no controllers to its children).
"""

from __future__ import annotations

import errno
import functools
import os
import secrets
import shutil
import time
from pathlib import Path

from engines.config import Settings
from engines.sandbox import procfs

NEEDED = ("memory", "pids")
PREFIX = "wb-job-"


def _mount() -> Path | None:
    """The cgroup2 mount point, from /proc/self/mountinfo."""
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        left, _, right = line.partition(" - ")
        if right.split(" ", 1)[0] == "cgroup2":
            return Path(left.split()[4])
    return None


def _own(mount: Path) -> Path | None:
    """This process's cgroup v2 directory."""
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            if line.startswith("0::"):
                return mount / line[3:].lstrip("/")
    except OSError:
        pass
    return None


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _enable(base: Path, own: Path | None) -> bool:
    """Hand memory and pids to ``base``'s children; move ourselves into a leaf when we are alone in ``base``."""
    if set(NEEDED) <= set((base / "cgroup.subtree_control").read_text().split()):
        return True
    try:
        _write(base / "cgroup.subtree_control", " ".join(f"+{c}" for c in NEEDED))
        return True
    except OSError as exc:
        if exc.errno != errno.EBUSY or base != own:
            return False
    if (base / "cgroup.procs").read_text().split() != [str(os.getpid())]:
        return False  # other processes share our group: moving them is not ours to do
    leaf = base / "workbench-server"
    leaf.mkdir(exist_ok=True)
    _write(leaf / "cgroup.procs", str(os.getpid()))
    _write(base / "cgroup.subtree_control", " ".join(f"+{c}" for c in NEEDED))
    return True


def _usable(base: Path, own: Path | None) -> bool:
    if not set(NEEDED) <= set((base / "cgroup.controllers").read_text().split()):
        return False
    if not _enable(base, own):
        return False
    for stale in base.glob(f"{PREFIX}*"):  # left by a server that died mid-job
        try:
            stale.rmdir()
        except OSError:
            pass
    probe = JobCgroup(base, memory_mb=64, nproc=8)
    probe.remove()
    return True


@functools.cache
def parent() -> Path | None:
    """The cgroup v2 directory job groups are created in, or None when this machine allows none (cached).

    Returns:
        The directory, or None.
    """
    mount = _mount()
    if mount is None:
        return None
    own = _own(mount)
    configured = Settings.current().cgroup
    base = Path(configured) if configured else own
    if base is None:
        return None
    try:
        return base if _usable(base, own) else None
    except OSError:
        return None


class JobCgroup:
    """One job execution's group: ``memory.max``, no swap, OOM kills the whole group, ``pids.max``."""

    def __init__(self, base: Path, *, memory_mb: int, nproc: int):
        self.path = base / f"{PREFIX}{secrets.token_hex(6)}"
        self.path.mkdir()
        try:
            _write(self.path / "memory.max", str(memory_mb * 2**20))
            if (self.path / "memory.swap.max").exists():
                _write(self.path / "memory.swap.max", "0")
            _write(self.path / "memory.oom.group", "1")
            _write(self.path / "pids.max", str(nproc))
        except OSError:
            self.remove()
            raise

    def join_argv(self) -> list[str]:
        """A prefix that moves the job's first process into the group before it execs anything else."""
        sh = shutil.which("sh") or "/bin/sh"
        return [sh, "-c", 'echo $$ > "$1" || exit 126; shift; exec "$@"', "wb-join", str(self.path / "cgroup.procs")]

    def oom_killed(self) -> bool:
        """True when the kernel killed a process of the group for going over ``memory.max``."""
        try:
            events = dict(line.split() for line in (self.path / "memory.events").read_text().splitlines())
        except (OSError, ValueError):
            return False
        return int(events.get("oom_kill", 0)) > 0 or int(events.get("oom_group_kill", 0)) > 0

    def pids(self) -> list[int]:
        """The processes in the group now."""
        try:
            return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            return []

    def kill(self) -> None:
        """Kill every process of the group (``cgroup.kill``, or one by one on kernels before 5.14)."""
        try:
            _write(self.path / "cgroup.kill", "1")
            return
        except OSError:
            pass
        for _ in range(200):
            pids = self.pids()
            if not pids:
                return
            procfs.kill(pids)
            time.sleep(0.01)

    def remove(self, wait_s: float = 5.0) -> None:
        """Kill what is left, wait for the group to empty, delete it."""
        self.kill()
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.01)
