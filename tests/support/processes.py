"""Waiting on processes in tests: whether a process has ended, and waiting (generously) until a set of them has."""

from __future__ import annotations

import time

import psutil


def gone(proc: psutil.Process) -> bool:
    """The process has ended (a zombie not yet reaped counts as ended)."""
    try:
        return proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def all_gone(procs: list[psutil.Process], within: float = 60.0) -> bool:
    """Wait until every process has ended; False if some still run after ``within`` seconds (a generous limit:
    the processes of a sandbox's PID namespace end a moment after its parent, later still on a busy machine)."""
    deadline = time.monotonic() + within
    while not all(gone(p) for p in procs):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _argv(proc: psutil.Process) -> list[str]:
    try:
        return proc.cmdline()
    except psutil.Error:
        return []


def sandboxed_python(timeout: float = 120.0) -> list[psutil.Process]:
    """Once a sandboxed Python program (``python -I …main.py``) runs among this process's descendants (the app a
    test serves included): that program and the sandbox processes around it (bubblewrap, prlimit)."""
    import os

    def program(argv: list[str]) -> bool:
        return len(argv) >= 2 and "python" in argv[0] and argv[-1].endswith("main.py")

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tree = [(p, _argv(p)) for p in psutil.Process(os.getpid()).children(recursive=True)]
        if any(program(argv) for _, argv in tree):
            return [p for p, argv in tree if argv and (program(argv) or argv[0].rsplit("/", 1)[-1] in
                                                      ("bwrap", "prlimit", "setpriv"))]
        time.sleep(0.05)
    raise AssertionError("no sandboxed Python program started")
