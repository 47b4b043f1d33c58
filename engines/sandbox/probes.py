"""What this machine offers, probed once per process: the C++ compiler, and which isolation works."""

from __future__ import annotations

import functools
import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from engines import errors
from engines.config import Settings
from engines.sandbox import seccomp
from engines.sandbox.budget import describe_budget
from engines.sandbox.commands import INSIDE, bwrap_argv, job_env, job_uid, privilege_argv, python_for_jobs
from engines.sandbox.landlock import landlock_abi
from engines.sandbox.limits import Limits

MODES = ("bwrap", "landlock", "none")


@dataclass(frozen=True)
class Compiler:
    """The C++ compiler found at start-up and the flags every build uses."""

    path: str
    name: str
    flags: tuple[str, ...]

    def argv(self, source: str, output: str) -> list[str]:
        """The compile command line for ``source`` → ``output``."""
        return [self.path, *self.flags, source, "-o", output]

    @property
    def display(self) -> str:
        """The command as shown in the UI."""
        return shlex.join([self.name, *self.flags, "main.cpp", "-o", "main"])


@functools.cache
def detect_compiler() -> Compiler | None:
    """g++ or clang++ (``WORKBENCH_CXX`` overrides), with ``-O3 -std=c++17 -march=native`` where accepted.

    Returns:
        The compiler, or None when neither is installed.
    """
    for name in [Settings.current().cxx, "g++", "clang++"]:
        path = shutil.which(name) if name else None
        if not path:
            continue
        # -ffp-contract=off: no fused multiply-add, so doubles round exactly as Python's do (identical output)
        flags = ["-O3", "-std=c++17", "-march=native", "-ffp-contract=off", "-pipe"]
        probe = subprocess.run([path, *flags, "-x", "c++", "-E", "-"], input=b"int main(){}", capture_output=True,
                               timeout=30, env=job_env(Path(tempfile.gettempdir())))
        if probe.returncode != 0:  # e.g. a compiler without -march=native for this CPU
            flags.remove("-march=native")
        return Compiler(path=path, name=Path(path).name, flags=tuple(flags))
    return None


@functools.cache
def bwrap_works() -> bool:
    """True when bubblewrap runs a job here, with the exact options jobs use (user namespaces, tmpfs sizes,
    the seccomp filter): Docker's default seccomp profile, for one, blocks it."""
    if not shutil.which("bwrap") or not shutil.which("prlimit"):
        return False
    scratch = Path(tempfile.mkdtemp(prefix="wb-probe-"))
    try:
        uid = job_uid()
        if uid is not None:
            os.chown(scratch, uid, uid)
        with seccomp.program_fd() as fd:
            argv = (privilege_argv(uid) + bwrap_argv(scratch, Limits(), fd)
                    + ["/bin/sh", "-c", f"echo ok > {INSIDE}/probe"])
            done = subprocess.run(argv, capture_output=True, timeout=20, env=job_env(scratch),
                                  pass_fds=() if fd is None else (fd,))
        return done.returncode == 0 and (scratch / "probe").exists()
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def isolation(settings: Settings | None = None) -> str:
    """What runs user code here: "bwrap" | "landlock" | "none" (``WORKBENCH_SANDBOX``, ``Settings.sandbox``, forces
    one; the probe runs once per process).

    Returns:
        The strongest mode that works on this machine, or the forced one when it works.
    """
    forced = (settings or Settings.current()).sandbox
    if forced == "none":
        return "none"
    if forced in ("auto", "", "bwrap") and bwrap_works():
        return "bwrap"
    if forced in ("auto", "", "bwrap", "landlock") and landlock_abi() >= 1 and python_for_jobs():
        return "landlock"
    return "none"


def describe() -> str:
    """One line for the UI: isolation mode, the per-job budget, the compiler command.

    Returns:
        Markdown text starting with "Isolation:".
    """
    comp = detect_compiler()
    mode = isolation()
    words = {"bwrap": "bubblewrap (no network, read-only system, own PID namespace)",
             "landlock": f"Landlock ABI {landlock_abi()} + seccomp (writes only in the scratch dir, no sockets)",
             "none": "none — limits only"}[mode]
    return f"Isolation: {words} · {describe_budget()} · compiler: `{comp.display if comp else 'none found'}`"


def check_allowed(settings: Settings | None = None) -> str:
    """The isolation mode to use, or raise when running code is not allowed here.

    Args:
        settings: the deployment's settings (read from the environment when None).

    Returns:
        "bwrap" | "landlock" | "none".

    Raises:
        Unsupported: no isolation works here and this is a public deploy, or a local user has not opted in.
    """
    settings = settings or Settings.current()
    if not shutil.which("prlimit"):
        raise errors.Unsupported("Running code needs prlimit (Debian package util-linux) to set resource limits.")
    mode = isolation(settings)
    if mode != "none":
        return mode
    if settings.on_space:
        raise errors.Unsupported("Running code is disabled on this deployment: neither bubblewrap (user namespaces) "
                                 "nor Landlock works here, so user code could not be isolated.")
    if not settings.allow_unsandboxed:
        raise errors.Unsupported("No sandbox works on this machine (bubblewrap needs user namespaces; Landlock needs "
                                 "Linux 5.13+). To run code with resource limits only, at your own risk, restart "
                                 "with WORKBENCH_ALLOW_UNSANDBOXED=1.")
    return mode
