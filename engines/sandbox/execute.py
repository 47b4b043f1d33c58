"""Run one program of a job: limits, isolation and budget around it, capped output, everything killed at the end."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from dataclasses import dataclass

from engines.sandbox import seccomp
from engines.sandbox.budget import TICK_S, Budget, open_budget
from engines.sandbox.cancel import Cancel
from engines.sandbox.commands import INSIDE, ROOT, bwrap_argv, job_env, launcher_argv, limit_argv, privilege_argv
from engines.sandbox.limits import Limits
from engines.sandbox.scratch import Job
from engines.sandbox.slots import slot


@dataclass
class Raw:
    """What one execution did, as bytes. ``stopped``: the budget that stopped it ("" = none)."""

    stdout: bytes
    stderr: bytes
    exit_code: int
    seconds: float
    timed_out: bool
    truncated: bool
    stopped: str = ""


def job_argv(job: Job, program: list[str], limits: Limits, seccomp_fd: int | None) -> list[str]:
    """``prlimit`` → ``setpriv`` (when root) → bubblewrap or the launcher → ``program``."""
    prefix = limit_argv(limits, job.uid) + privilege_argv(job.uid)
    if job.mode == "bwrap":
        return prefix + bwrap_argv(job.scratch, limits, seccomp_fd) + program
    return prefix + launcher_argv(job.mode, job.scratch) + program


def execute(job: Job, program: list[str], limits: Limits, cancel: Cancel | None = None, settings=None) -> Raw:
    """Run ``program`` in ``job`` under ``limits`` (this phase's: the run's or ``for_compile()``).

    Waits for one of the sandbox's slots first (``slots.py``: every tab and Evaluate share them); the wall time
    counts from the start of the program, not the wait.

    Args:
        cancel: when set (from another thread), the program is ended at the next tick (``stopped`` "cancelled");
            a job cancelled while it waits for its slot never starts.
        settings: the deployment's settings (the slot count; read from the environment when None).

    Returns:
        Raw output (each stream capped at ``output_kb``), exit code, wall time, and what stopped it.
    """
    if cancel is not None and cancel.is_set():
        return Raw(b"", b"", -9, 0.0, False, False, "cancelled")
    with slot(settings):
        if cancel is not None and cancel.is_set():
            return Raw(b"", b"", -9, 0.0, False, False, "cancelled")
        return _execute(job, program, limits, cancel)


def _execute(job: Job, program: list[str], limits: Limits, cancel: Cancel | None) -> Raw:
    budget = open_budget(limits, job)
    try:
        with seccomp.program_fd() if job.mode == "bwrap" else contextlib.nullcontext() as fd:
            argv = budget.prefix() + job_argv(job, program, limits, fd)
            start = time.perf_counter()
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=job_env(job.scratch), cwd=job.scratch, start_new_session=True,
                                    pass_fds=() if fd is None else (fd,))
        if cancel is not None:
            cancel.pids.append(proc.pid)
        raw = _collect(proc, limits, _Checks(budget, cancel), start)
    finally:
        stopped = budget.finish()
    raw.stopped = raw.stopped or stopped
    raw.stdout, raw.stderr = hide_paths(raw.stdout, job), hide_paths(raw.stderr, job)
    return raw


def hide_paths(data: bytes, job: Job) -> bytes:
    """``data`` with the server's paths replaced: the scratch dir by ``/sandbox`` (what bubblewrap jobs see; a
    Landlock job's tracebacks and compiler messages name the real dir), the app's folder by ``<app>``."""
    for path, shown in ((str(job.scratch), INSIDE), (os.path.realpath(job.scratch), INSIDE), (str(ROOT), "<app>")):
        if len(path) > 1:
            data = data.replace(path.encode(), shown.encode())
    return data


def _collect(proc: subprocess.Popen, limits: Limits, budget: _Checks, start: float) -> Raw:
    """Read capped output until the program ends, the time runs out, or the budget says stop; then end it."""
    out, timed_out, truncated, stopped = _pump(proc, limits, budget, start)
    if timed_out or truncated or stopped:
        _stop(proc)
    try:  # the pipes can close before the program ends (it closed them, or the cap was hit)
        code = _wait(proc, budget, start + limits.wall_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        _stop(proc)
        code = proc.wait()
    except _Stop as stop:
        stopped = stop.reason
        _stop(proc)
        code = proc.wait()
    seconds = time.perf_counter() - start
    for stream in (proc.stdout, proc.stderr):
        stream.close()
    return Raw(bytes(out[0]), bytes(out[1]), code, seconds, timed_out, truncated, stopped)


class _Checks:
    """The budget's checks, and the cancel token's: why the job must stop now, or ""."""

    def __init__(self, budget: Budget, cancel: Cancel | None):
        self.budget, self.cancel = budget, cancel

    def check(self, pid: int) -> str:
        if self.cancel is not None and self.cancel.is_set():
            return "cancelled"
        return self.budget.check(pid)


class _Stop(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _wait(proc: subprocess.Popen, budget: _Checks, deadline: float) -> int:
    """Wait for the program after its pipes closed, still checking the budget every tick."""
    while True:
        try:
            return proc.wait(max(0.01, min(TICK_S, deadline - time.perf_counter())))
        except subprocess.TimeoutExpired:
            if time.perf_counter() >= deadline:
                raise
        reason = budget.check(proc.pid)
        if reason:
            raise _Stop(reason)


def _pump(proc: subprocess.Popen, limits: Limits, budget: _Checks,
          start: float) -> tuple[list[bytearray], bool, bool, str]:
    cap, deadline = limits.output_kb * 1024, start + limits.wall_s
    out = [bytearray(), bytearray()]
    index = {proc.stdout.fileno(): 0, proc.stderr.fileno(): 1}
    timed_out = truncated = False
    stopped, next_check = "", start + TICK_S
    with selectors.DefaultSelector() as sel:
        for stream in (proc.stdout, proc.stderr):
            sel.register(stream, selectors.EVENT_READ)
        while sel.get_map() and not (truncated or stopped):
            now = time.perf_counter()
            if now >= deadline:
                timed_out = True
                break
            if now >= next_check:
                stopped, next_check = budget.check(proc.pid), now + TICK_S
                continue
            for key, _ in sel.select(timeout=min(deadline, next_check) - now):
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fileobj)
                    continue
                buf = out[index[key.fd]]
                room = cap - len(buf)
                buf += data[: max(0, room)]
                truncated = truncated or len(data) > room
    return out, timed_out, truncated, stopped


def _stop(proc: subprocess.Popen) -> None:
    """End a job: SIGTERM lets the launcher kill its descendants; the whole group gets SIGKILL a moment later
    (bubblewrap's PID namespace dies with it; a cgroup is killed whole by ``Budget.finish``)."""
    try:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(0.5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
