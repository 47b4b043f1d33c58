"""Processes an interrupted test session left behind: fine-tune workers (``python -m engines.finetune.worker``)
and served apps (``python …/app.py --host … --port …``) that still run after the session that started them ended
(a Ctrl-C, a killed pytest), training or serving in the temp dir. ``end_leftovers()`` finds and ends them; the
suite calls it when a session starts.

The matching is narrow, so that nothing else is ever ended (other people's test sessions run beside this one):
the command line must be exactly a worker's or a served app's, the process must be this user's, its data folder
(the worker's run folder; the app's ``WORKBENCH_DATA_DIR``) must lie in the temp dir under a test prefix, and the
test session that started it must be gone: each session marks its environment with ``WORKBENCH_TEST_SESSION`` =
``<pid>:<start time>`` (children inherit it), and a process is left over only when that very process no longer
runs. A process without the mark (started before sessions marked theirs) counts only when its parent is no longer
a Python process (pytest or the app that started it has ended).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import psutil

SESSION_VAR = "WORKBENCH_TEST_SESSION"
TEST_PREFIXES = ("workbench-test-data-", "pytest-of-")  # conftest's data dir; pytest's tmp_path root
WORKER_MODES = ("train", "resume", "merge")


def session_tag(pid: int | None = None) -> str:
    """``<pid>:<start time>`` of a process (this one by default): names it even after its pid is reused."""
    proc = psutil.Process(pid or os.getpid())
    return f"{proc.pid}:{proc.create_time():.3f}"


def session_alive(tag: str) -> bool:
    """Whether the process a session tag names still runs (a malformed tag counts as alive: never end on doubt)."""
    pid, _, created = tag.partition(":")
    try:
        proc = psutil.Process(int(pid))
        return abs(proc.create_time() - float(created)) < 0.01 and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except (ValueError, psutil.Error):
        return True


def kind_of(argv: list[str]) -> str | None:
    """"worker" or "app" when the command line is exactly a fine-tune worker's or a served app's, else None."""
    if not argv or "python" not in Path(argv[0]).name:
        return None
    if len(argv) == 5 and argv[1:3] == ["-m", "engines.finetune.worker"] and argv[3] in WORKER_MODES:
        return "worker"
    if len(argv) >= 6 and Path(argv[1]).name == "app.py" and "--host" in argv and "--port" in argv:
        return "app"
    return None


def in_test_temp(path: str | None) -> bool:
    """Whether ``path`` lies in the temp dir under one of the test prefixes."""
    if not path:
        return False
    temp = Path(tempfile.gettempdir()).resolve()
    try:
        rel = Path(path).resolve().relative_to(temp)
    except (ValueError, OSError):
        return False
    return bool(rel.parts) and rel.parts[0].startswith(TEST_PREFIXES)


def _data_dir(kind: str, argv: list[str], env: dict[str, str]) -> str | None:
    return argv[4] if kind == "worker" else env.get("WORKBENCH_DATA_DIR")


def _parent_is_python(proc: psutil.Process) -> bool:
    try:
        parent = proc.parent()
        return parent is not None and "python" in parent.name() and parent.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def leftovers() -> list[psutil.Process]:
    """The workers and served apps that earlier, ended test sessions left running (see the module's docstring)."""
    me, uid = os.getpid(), os.getuid()
    found: list[psutil.Process] = []
    unmarked: list[psutil.Process] = []
    for proc in psutil.process_iter(["pid", "cmdline", "uids"]):
        try:
            argv = proc.info["cmdline"] or []
            kind = kind_of(argv)
            if kind is None or proc.pid == me or proc.info["uids"] is None or proc.info["uids"].real != uid:
                continue
            env = proc.environ()
            if not in_test_temp(_data_dir(kind, argv, env)):
                continue
            tag = env.get(SESSION_VAR)
            if tag:
                if not session_alive(tag):
                    found.append(proc)
            else:
                unmarked.append(proc)
        except psutil.Error:
            continue
    ended = {p.pid for p in found}
    for proc in unmarked:  # an unmarked worker of a left-over app counts with the app
        try:
            parent = proc.parent()
        except psutil.Error:
            continue
        if not _parent_is_python(proc) or (parent is not None and parent.pid in ended):
            found.append(proc)
    return found


def end(procs: list[psutil.Process], within: float = 30.0) -> None:
    """End ``procs`` and their children: SIGTERM, then SIGKILL for what still runs after ``within`` seconds."""
    everyone: dict[int, psutil.Process] = {}
    for proc in procs:
        try:
            for p in [proc, *proc.children(recursive=True)]:
                everyone[p.pid] = p
        except psutil.Error:
            continue
    for p in everyone.values():
        try:
            p.terminate()
        except psutil.Error:
            pass
    if not _all_gone(everyone.values(), within):
        for p in everyone.values():
            try:
                p.kill()
            except psutil.Error:
                pass
        _all_gone(everyone.values(), within)


def _gone(proc: psutil.Process) -> bool:
    try:
        return proc.status() == psutil.STATUS_ZOMBIE  # ended, not yet reaped by its parent
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:
        return False


def _all_gone(procs, within: float) -> bool:
    deadline = time.monotonic() + within
    while not all(_gone(p) for p in procs):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def end_leftovers() -> list[str]:
    """End every leftover worker and served app; returns their command lines (for the session's report)."""
    procs = leftovers()
    names = []
    for proc in procs:
        try:
            names.append(f"{proc.pid}: {' '.join(proc.cmdline())}")
        except psutil.Error:
            continue
    end(procs)
    return names
