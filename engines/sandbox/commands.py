"""The command lines and environment a job runs with: ``prlimit`` → ``setpriv`` → bubblewrap or the Landlock
launcher → the program."""

from __future__ import annotations

import functools
import json
import math
import os
import secrets
import shutil
import sys
from pathlib import Path

from engines.sandbox.limits import Limits

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(__file__).resolve().parent
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
INSIDE = "/sandbox"  # where the scratch dir appears inside bubblewrap
MB = 2**20


def job_env(home: Path) -> dict[str, str]:
    """The whole environment of a job: PATH, LANG, HOME and TMPDIR (no secret can be in it)."""
    return {"PATH": SAFE_PATH, "LANG": "C.UTF-8", "HOME": str(home), "TMPDIR": str(home)}


def job_uid() -> int | None:
    """A throw-away uid for one job when we are root (RLIMIT_NPROC ignores root); None otherwise."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return None
    return 200_000 + secrets.randbelow(100_000)


def privilege_argv(uid: int | None) -> list[str]:
    """``setpriv`` to ``uid`` (nothing when None)."""
    if uid is None:
        return []
    return [shutil.which("setpriv") or "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--"]


def _world_accessible(path: str) -> bool:
    p = Path(path).resolve()
    try:
        if not p.stat().st_mode & 0o005:
            return False
        return all(parent.stat().st_mode & 0o001 for parent in p.parents)
    except OSError:
        return False


@functools.cache
def python_for_jobs() -> str | None:
    """An interpreter a throw-away uid can run: ours when world-accessible, else the system's.

    Returns:
        Its path, or None when there is none.
    """
    needs_world = os.geteuid() == 0
    for candidate in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        if candidate and os.path.exists(candidate) and (not needs_world or _world_accessible(candidate)):
            return str(Path(candidate).resolve()) if candidate != sys.executable else candidate
    return None


def python_dirs() -> list[str]:
    """The directories the job's interpreter needs to read (its prefix, and ours when it is ours)."""
    exe = python_for_jobs()
    if not exe:
        return []
    base = Path(exe).resolve().parent.parent
    return sorted({str(base), sys.base_prefix, sys.prefix} if exe == sys.executable else {str(base)})


def readable_dirs() -> list[str]:
    """What a Landlock job may read: the system directories and the interpreter's."""
    dirs = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", *python_dirs()]
    return [d for d in dict.fromkeys(dirs) if os.path.exists(d)]


def process_count(uid: int) -> int:
    """Tasks (threads included) that ``uid`` runs now: what RLIMIT_NPROC counts."""
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(entry / "task"))
            except OSError:
                continue
    return count


def limit_argv(limits: Limits, uid: int | None) -> list[str]:
    """``prlimit`` with the per-process limits: address space, CPU seconds, file size, open files, tasks, no core.

    Args:
        limits: the limits of this phase (the run's, or ``for_compile()``).
        uid: the job's throw-away uid (None = the job runs as we do).
    """
    # RLIMIT_NPROC counts every task of the real uid: with our own uid, the server's threads count too
    nproc = limits.nproc if uid is not None else process_count(os.getuid()) + limits.nproc
    cpu = max(1, math.ceil(min(limits.cpu_s, limits.wall_s)))
    return [shutil.which("prlimit") or "prlimit", f"--as={limits.memory_mb * MB}", f"--cpu={cpu}",
            f"--fsize={limits.file_mb * MB}", f"--nofile={limits.open_files}", f"--nproc={nproc}", "--core=0",
            "--"]


def bwrap_argv(scratch: Path, limits: Limits, seccomp_fd: int | None) -> list[str]:
    """bubblewrap with every namespace unshared, a read-only system, size-capped /tmp and /dev/shm, a read-only
    root and /dev, the scratch dir as /sandbox, and the seccomp filter read from ``seccomp_fd``."""
    argv = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
            "--ro-bind", "/usr", "/usr", "--ro-bind-try", "/etc", "/etc"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    for extra in python_dirs():
        if not extra.startswith("/usr/"):
            argv += ["--ro-bind-try", extra, extra]
    tmp = str(min(limits.tmp_mb, limits.memory_mb) * MB)
    # every tmpfs is RAM outside any rlimit: /tmp and /dev/shm get a size (never over the memory budget, so the
    # kernel stops a write the watchdog would see only after it), / and the rest of /dev go read-only
    argv += ["--proc", "/proc", "--dev", "/dev", "--size", tmp, "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
             "--size", tmp, "--tmpfs", "/tmp", "--bind", str(scratch), INSIDE, "--remount-ro", "/",
             "--chdir", INSIDE, "--hostname", "sandbox", "--setenv", "PATH", SAFE_PATH,
             "--setenv", "LANG", "C.UTF-8", "--setenv", "HOME", INSIDE, "--setenv", "TMPDIR", "/tmp"]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    return [*argv, "--"]


def launcher_argv(mode: str, scratch: Path) -> list[str]:
    """The Landlock launcher (``launcher.main``), started without the package's ``__init__``: it runs inside every
    timed run, and the package imports (config, subprocess, dataclasses…) would cost ~0.1 s each time."""
    config = {"landlock": mode == "landlock", "scratch": str(scratch), "read": readable_dirs()}
    code = ("import sys, types\n"
            f"for name, path in (('engines', {str(ROOT / 'engines')!r}), ('engines.sandbox', {str(PACKAGE)!r})):\n"
            "    sys.modules[name] = types.ModuleType(name)\n"
            "    sys.modules[name].__path__ = [path]\n"
            "from engines.sandbox.launcher import main\n"
            "main()\n")
    return [python_for_jobs() or sys.executable, "-I", "-S", "-c", code, json.dumps(config), "--"]
