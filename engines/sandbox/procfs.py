"""What /proc says about a job's processes: the process tree, task counts, anonymous memory, private tmpfs usage
(``memory.py`` measures a whole job's memory).

Standard library only: the job launcher uses ``descendants`` to kill what a job leaves behind.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class Proc:
    """One process: its parent and how many tasks (threads) it has."""

    ppid: int
    threads: int


def process_table() -> dict[int, Proc]:
    """Every process this uid can see, keyed by pid (one pass over ``/proc/*/stat``).

    Returns:
        pid → Proc; processes that vanish while being read are skipped.
    """
    table: dict[int, Proc] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
            fields = stat[stat.rindex(b")") + 2:].split()  # the name may contain spaces and parentheses
            table[int(entry)] = Proc(ppid=int(fields[1]), threads=int(fields[17]))
        except (OSError, ValueError, IndexError):
            continue
    return table


def descendants(root: int, table: dict[int, Proc] | None = None) -> list[int]:
    """Every process below ``root`` (children, grandchildren, …), nearest first.

    Args:
        root: a pid.
        table: a ``process_table()`` already read (read afresh when None).

    Returns:
        The pids, without ``root`` itself.
    """
    children: dict[int, list[int]] = {}
    for pid, proc in (table if table is not None else process_table()).items():
        children.setdefault(proc.ppid, []).append(pid)
    found, frontier = [], [root]
    while frontier:
        frontier = [kid for pid in frontier for kid in children.get(pid, ())]
        found += frontier
    return found


def _children(pid: int, tids: list[str]) -> list[int]:
    kids: list[int] = []
    for tid in tids:
        with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
            kids += [int(k) for k in f.read().split()]
    return kids


def job_tasks(root: int) -> dict[int, int]:
    """``root`` and every process below it, with its task (thread) count, reading only the job's own /proc
    entries (``task/*/children``): a poll costs a fraction of a millisecond, not a scan of every process.

    Args:
        root: the job's first process.

    Returns:
        pid → tasks; from a full ``process_table()`` scan where the kernel has no ``children`` files.
    """
    found: dict[int, int] = {}
    frontier = [root]
    try:
        while frontier:
            pid = frontier.pop()
            try:
                tids = os.listdir(f"/proc/{pid}/task")
                kids = _children(pid, tids)
            except ProcessLookupError:
                continue
            except FileNotFoundError:
                if os.path.exists(f"/proc/{pid}"):
                    raise  # the process exists but its children file does not: no CONFIG_PROC_CHILDREN
                continue
            found[pid] = len(tids)
            frontier += [k for k in kids if k not in found]
    except FileNotFoundError:
        table = process_table()
        return {pid: table[pid].threads for pid in [root, *descendants(root, table)] if pid in table}
    return found


def anon_bytes(pid: int) -> int:
    """Resident anonymous memory of one process (resident minus file-backed and shared pages), 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            fields = f.read().split()
        return max(0, int(fields[1]) - int(fields[2])) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


def private_tmpfs_bytes(pids: list[int], mounts: tuple[str, ...] = ("tmp", "dev/shm")) -> int | None:
    """Bytes used in the private tmpfs mounts of a job in its own mount namespace (bubblewrap).

    Args:
        pids: the job's processes; the first one whose root differs from ours is looked through.
        mounts: the mount points, relative to the job's root.

    Returns:
        The bytes used, or None when no process of the job could be looked into.
    """
    try:
        ours = os.stat("/proc/self/root")
    except OSError:
        return None
    for pid in pids:
        try:
            theirs = os.stat(f"/proc/{pid}/root")
            if (theirs.st_dev, theirs.st_ino) == (ours.st_dev, ours.st_ino):
                continue  # still in our mount namespace (bubblewrap's outer process, or not set up yet)
            total = 0
            for mount in mounts:
                st = os.statvfs(f"/proc/{pid}/root/{mount}")
                total += (st.f_blocks - st.f_bfree) * st.f_frsize
            return total
        except OSError:
            continue
    return None


def kill(pids: list[int]) -> None:
    """SIGKILL each pid that still exists."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
