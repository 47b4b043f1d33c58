"""The Landlock-mode launcher: ``python -I -S -c <bootstrap> CONFIG -- PROGRAM...``.

It becomes the subreaper of the job, forks the program (applying Landlock + seccomp in the child just before
``exec``), waits for it, then kills whatever the program left behind. SIGTERM means stop now. It runs inside
every timed run, so it imports only standard-library modules of this package (see ``commands.launcher_argv``).
"""

from __future__ import annotations

import json
import os
import signal
import sys

from engines.sandbox import landlock, procfs, seccomp
from engines.sandbox.syscalls import PR_SET_CHILD_SUBREAPER, prctl


def kill_descendants() -> None:
    """Kill every descendant of this process, repeating while a fork bomb forks faster than it dies."""
    me = os.getpid()
    for _ in range(200):
        pids = procfs.descendants(me)
        if not pids:
            return
        procfs.kill(pids)
        _reap()


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _exec_restricted(config: dict, argv: list[str]) -> None:
    """In the forked child: restrict, then become the program. Never returns."""
    try:
        if config["landlock"]:
            landlock.restrict(config["scratch"], config["read"])
            seccomp.install()
        os.execv(argv[0], argv)
    except BaseException as exc:  # noqa: BLE001  (report and leave the forked child right here)
        os.write(2, f"sandbox launcher: {exc}\n".encode())
    os._exit(127)


def main() -> None:
    """Entry point: run the program in ``sys.argv[3:]`` under the config in ``sys.argv[1]``; exit as it did."""
    config, argv = json.loads(sys.argv[1]), sys.argv[3:]
    prctl(PR_SET_CHILD_SUBREAPER, 1)
    child = os.fork()
    if child == 0:
        _exec_restricted(config, argv)

    def stop(signum, frame):
        kill_descendants()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    _, status = os.waitpid(child, 0)
    kill_descendants()
    os._exit(os.waitstatus_to_exitcode(status) % 256 if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
