"""Run untrusted Python and C++ under limits and isolation.

Every job runs as: ``prlimit`` (address space, CPU seconds, file size, open files, processes, no core) →
``setpriv`` to a throw-away uid when the server is root (so RLIMIT_NPROC counts only the job) → the isolation
layer → the program, in a new session, with a scratch directory (deleted afterwards) and an environment of
PATH/LANG/HOME only. The isolation layer is, in order of preference (``isolation()``):

- ``bwrap``: bubblewrap with every namespace unshared (no network, not even loopback; own PID namespace, so
  nothing the job starts outlives it), read-only system directories, tmpfs /tmp, the scratch dir as /sandbox;
- ``landlock``: a small launcher applies Landlock (writes only in the scratch dir, reads only system dirs, no TCP,
  no signals or abstract sockets outside) and a seccomp filter (no sockets but AF_UNIX, no ptrace, no namespaces),
  then kills every descendant when the job ends (it is their subreaper);
- ``none``: limits only. Refused on a public deploy; a local user opts in with ``WORKBENCH_ALLOW_UNSANDBOXED=1``.

Importing this module makes the server process non-dumpable, so a job cannot read ``/proc/<server>/environ``.
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import platform
import secrets
import selectors
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from engines import errors
from engines.config import Settings

MODES = ("bwrap", "landlock", "none")
ROOT = Path(__file__).resolve().parent.parent
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
INSIDE = "/sandbox"  # where the scratch dir appears inside bubblewrap
_PR_SET_DUMPABLE, _PR_SET_NO_NEW_PRIVS, _PR_SET_CHILD_SUBREAPER = 4, 38, 36


def _prctl(option: int, value: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def make_non_dumpable() -> bool:
    """``prctl(PR_SET_DUMPABLE, 0)``: other processes of this uid can no longer read our memory or environ."""
    return platform.system() == "Linux" and _prctl(_PR_SET_DUMPABLE, 0)


make_non_dumpable()


@dataclass
class Limits:
    """Resource limits of one job. ``wall_s``/``cpu_s``/``memory_mb`` apply to each run; compiling has its own."""

    wall_s: float = 10
    cpu_s: float = 10
    memory_mb: int = 1024
    file_mb: int = 16
    nproc: int = 64
    output_kb: int = 64
    open_files: int = 256
    compile_s: float = 30
    compile_memory_mb: int = 1536


@dataclass
class RunResult:
    """What a job did. ``seconds`` is the run's wall time (the median when ``runs`` > 1), compilation excluded;
    ``exit_code`` is negative for a signal (-9 = killed); a compile error has ``compile_failed`` and exit code 1."""

    stdout: str
    stderr: str
    exit_code: int
    seconds: float
    timed_out: bool = False
    truncated: bool = False
    compile_output: str = ""
    compile_s: float = 0.0
    compile_failed: bool = False
    runs_s: list[float] = field(default_factory=list)
    command: str = ""
    isolation: str = ""

    @property
    def ok(self) -> bool:
        """True when the program compiled, ran to the end and exited 0."""
        return self.exit_code == 0 and not self.timed_out and not self.compile_failed


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


# ------------------------------------------------------------------------------------------------ probes


@functools.cache
def detect_compiler() -> Compiler | None:
    """g++ or clang++ (``WORKBENCH_CXX`` overrides), with ``-O3 -std=c++17 -march=native`` where accepted.

    Returns:
        The compiler, or None when neither is installed.
    """
    for name in [os.environ.get("WORKBENCH_CXX", ""), "g++", "clang++"]:
        path = shutil.which(name) if name else None
        if not path:
            continue
        # -ffp-contract=off: no fused multiply-add, so doubles round exactly as Python's do (identical output)
        flags = ["-O3", "-std=c++17", "-march=native", "-ffp-contract=off", "-pipe"]
        probe = subprocess.run([path, *flags, "-x", "c++", "-E", "-"], input=b"int main(){}", capture_output=True,
                               timeout=30, env=_job_env(Path(tempfile.gettempdir())))
        if probe.returncode != 0:  # e.g. a compiler without -march=native for this CPU
            flags.remove("-march=native")
        return Compiler(path=path, name=Path(path).name, flags=tuple(flags))
    return None


def _bwrap_argv(scratch: Path) -> list[str]:
    argv = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
            "--ro-bind", "/usr", "/usr", "--ro-bind-try", "/etc", "/etc"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            argv += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            argv += ["--ro-bind", top, top]
    for extra in _python_dirs():
        if not extra.startswith("/usr/"):
            argv += ["--ro-bind-try", extra, extra]
    argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--bind", str(scratch), INSIDE,
             "--chdir", INSIDE, "--hostname", "sandbox", "--setenv", "PATH", SAFE_PATH,
             "--setenv", "LANG", "C.UTF-8", "--setenv", "HOME", INSIDE, "--setenv", "TMPDIR", "/tmp", "--"]
    return argv


@functools.cache
def _bwrap_works() -> bool:
    if not shutil.which("bwrap") or not shutil.which("prlimit"):
        return False
    scratch = Path(tempfile.mkdtemp(prefix="wb-probe-"))
    try:
        uid = _job_uid()
        if uid is not None:
            os.chown(scratch, uid, uid)
        argv = _privilege_argv(uid) + _bwrap_argv(scratch) + ["/bin/sh", "-c", f"echo ok > {INSIDE}/probe"]
        done = subprocess.run(argv, capture_output=True, timeout=20, env=_job_env(scratch))
        return done.returncode == 0 and (scratch / "probe").exists()
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@functools.cache
def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0 = unavailable)."""
    if platform.system() != "Linux":
        return 0
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        version = libc.syscall(_SYS_LANDLOCK_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except (OSError, AttributeError):
        return 0
    return max(0, int(version))


def isolation() -> str:
    """What runs user code here: "bwrap" | "landlock" | "none" (``WORKBENCH_SANDBOX`` forces one; the probe runs
    once per process).

    Returns:
        The strongest mode that works on this machine, or the forced one when it works.
    """
    forced = os.environ.get("WORKBENCH_SANDBOX", "auto").strip().lower()
    if forced == "none":
        return "none"
    if forced in ("auto", "", "bwrap") and _bwrap_works():
        return "bwrap"
    if forced in ("auto", "", "bwrap", "landlock") and landlock_abi() >= 1 and _python_for_jobs():
        return "landlock"
    return "none"


def describe() -> str:
    """One line for the UI: isolation mode, compiler command, and the limits that always apply."""
    comp = detect_compiler()
    mode = isolation()
    words = {"bwrap": "bubblewrap (no network, read-only system, own PID namespace)",
             "landlock": f"Landlock ABI {landlock_abi()} + seccomp (writes only in the scratch dir, no TCP)",
             "none": "none — limits only"}[mode]
    return f"Isolation: {words} · compiler: `{comp.display if comp else 'none found'}`"


def check_allowed(settings: Settings | None = None) -> str:
    """The isolation mode to use, or raise when running code is not allowed here.

    Raises:
        Unsupported: no isolation works here and this is a public deploy, or a local user has not opted in.
    """
    settings = settings or Settings.from_env()
    if not shutil.which("prlimit"):
        raise errors.Unsupported("Running code needs prlimit (Debian package util-linux) to set resource limits.")
    mode = isolation()
    if mode != "none":
        return mode
    if settings.on_space:
        raise errors.Unsupported("Running code is disabled on this deployment: neither bubblewrap (user namespaces) "
                                 "nor Landlock works here, so user code could not be isolated.")
    if os.environ.get("WORKBENCH_ALLOW_UNSANDBOXED", "").strip().lower() not in ("1", "true", "yes", "on"):
        raise errors.Unsupported("No sandbox works on this machine (bubblewrap needs user namespaces; Landlock needs "
                                 "Linux 5.13+). To run code with resource limits only, at your own risk, restart "
                                 "with WORKBENCH_ALLOW_UNSANDBOXED=1.")
    return mode


# ------------------------------------------------------------------------------------------- job plumbing


def _job_env(home: Path) -> dict[str, str]:
    return {"PATH": SAFE_PATH, "LANG": "C.UTF-8", "HOME": str(home), "TMPDIR": str(home)}


def _job_uid() -> int | None:
    """A throw-away uid for one job when we are root (RLIMIT_NPROC ignores root); None otherwise."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return None
    return 200_000 + secrets.randbelow(100_000)


def _privilege_argv(uid: int | None) -> list[str]:
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
def _python_for_jobs() -> str | None:
    """An interpreter a throw-away uid can run: ours when world-accessible, else the system's."""
    needs_world = os.geteuid() == 0
    for candidate in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        if candidate and os.path.exists(candidate) and (not needs_world or _world_accessible(candidate)):
            return str(Path(candidate).resolve()) if candidate != sys.executable else candidate
    return None


def _python_dirs() -> list[str]:
    exe = _python_for_jobs()
    if not exe:
        return []
    base = Path(exe).resolve().parent.parent
    return sorted({str(base), sys.base_prefix, sys.prefix} if exe == sys.executable else {str(base)})


def _process_count(uid: int) -> int:
    count = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    count += len(os.listdir(entry / "task"))
            except OSError:
                continue
    return count


def _limit_argv(limits: Limits, *, wall_s: float, memory_mb: int, uid: int | None) -> list[str]:
    # RLIMIT_NPROC counts every task of the real uid: with our own uid, the server's threads count too
    nproc = limits.nproc if uid is not None else _process_count(os.getuid()) + limits.nproc
    cpu = max(1, int(min(limits.cpu_s, wall_s) + 0.999))
    return [shutil.which("prlimit") or "prlimit", f"--as={memory_mb * 2**20}", f"--cpu={cpu}",
            f"--fsize={limits.file_mb * 2**20}", f"--nofile={limits.open_files}", f"--nproc={nproc}", "--core=0",
            "--"]


def _launcher_argv(mode: str, scratch: Path) -> list[str]:
    config = {"landlock": mode == "landlock", "scratch": str(scratch), "read": _readable_dirs()}
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from engines.sandbox import _launch; _launch()"
    return [_python_for_jobs() or sys.executable, "-I", "-S", "-c", code, json.dumps(config), "--"]


def _readable_dirs() -> list[str]:
    dirs = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", *_python_dirs()]
    return [d for d in dict.fromkeys(dirs) if os.path.exists(d)]


def _scratch_parent(uid: int | None) -> str:
    """Where scratch dirs go: WORKBENCH_SCRATCH_DIR, else the temp dir (or /tmp when a throw-away uid could not
    traverse the temp dir)."""
    parent = os.environ.get("WORKBENCH_SCRATCH_DIR") or tempfile.gettempdir()
    if uid is not None and not all(p.stat().st_mode & 0o001 for p in [Path(parent), *Path(parent).parents]):
        return "/tmp"
    return parent


@dataclass
class _Job:
    mode: str
    scratch: Path
    uid: int | None

    def argv(self, program: list[str], limits: Limits, wall_s: float, memory_mb: int) -> list[str]:
        prefix = _limit_argv(limits, wall_s=wall_s, memory_mb=memory_mb, uid=self.uid) + _privilege_argv(self.uid)
        if self.mode == "bwrap":
            return prefix + _bwrap_argv(self.scratch) + program
        return prefix + _launcher_argv(self.mode, self.scratch) + program

    def path(self, name: str) -> str:
        """A scratch file's path as the program sees it."""
        return f"{INSIDE}/{name}" if self.mode == "bwrap" else str(self.scratch / name)


class _Scratch:
    """A scratch directory owned by the job's uid, removed (with everything in it) on exit."""

    def __init__(self, mode: str):
        uid = _job_uid()
        self.job = _Job(mode=mode, scratch=Path(tempfile.mkdtemp(prefix="wb-job-", dir=_scratch_parent(uid))), uid=uid)

    def __enter__(self) -> _Job:
        if self.job.uid is not None:
            os.chown(self.job.scratch, self.job.uid, self.job.uid)
        return self.job

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.job.scratch, ignore_errors=True)


@dataclass
class _Raw:
    stdout: bytes
    stderr: bytes
    exit_code: int
    seconds: float
    timed_out: bool
    truncated: bool


def _execute(job: _Job, program: list[str], limits: Limits, *, wall_s: float, memory_mb: int) -> _Raw:
    """Run one program under the job's limits and isolation; capture capped output; kill everything at the end."""
    cap = limits.output_kb * 1024
    start = time.perf_counter()
    proc = subprocess.Popen(job.argv(program, limits, wall_s, memory_mb), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_job_env(job.scratch),
                            cwd=job.scratch, start_new_session=True)
    fds = (proc.stdout.fileno(), proc.stderr.fileno())
    out = {fd: bytearray() for fd in fds}
    timed_out = truncated = False
    with selectors.DefaultSelector() as sel:
        for stream in (proc.stdout, proc.stderr):
            sel.register(stream, selectors.EVENT_READ)
        while sel.get_map():
            left = wall_s - (time.perf_counter() - start)
            if left <= 0:
                timed_out = True
                break
            for key, _ in sel.select(timeout=min(left, 0.5)):
                data = os.read(key.fd, 65536)
                if not data:
                    sel.unregister(key.fileobj)
                    continue
                buf = out[key.fd]
                room = cap - len(buf)
                buf += data[: max(0, room)]
                truncated = truncated or len(data) > room
            if truncated:
                break
    if timed_out or truncated:
        _stop(proc)
    try:  # the pipes can close before the program ends (it closed them, or the cap was hit)
        code = proc.wait(max(0.05, start + wall_s - time.perf_counter()))
    except subprocess.TimeoutExpired:
        timed_out = True
        _stop(proc)
        code = proc.wait()
    seconds = time.perf_counter() - start
    for stream in (proc.stdout, proc.stderr):
        stream.close()
    return _Raw(bytes(out[fds[0]]), bytes(out[fds[1]]), code, seconds, timed_out, truncated)


def _stop(proc: subprocess.Popen) -> None:
    """End a job: SIGTERM lets the launcher kill its descendants; the whole group gets SIGKILL a moment later
    (bubblewrap's PID namespace dies with it)."""
    try:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(0.5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# ------------------------------------------------------------------------------------------------ public API


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _check_code(code: str, what: str) -> None:
    if not isinstance(code, str) or not code.strip():
        raise errors.InvalidInput(f"The {what} code is empty.")
    if len(code) > 1_000_000:
        raise errors.InvalidInput(f"The {what} code is over 1,000,000 characters.")


def _check_limits(limits: Limits | None, runs: int) -> Limits:
    limits = limits or Limits()
    if not 0 < limits.wall_s <= 3600 or not 0 < limits.cpu_s <= 3600:
        raise errors.InvalidInput("Time limits must be between 0 and 3600 seconds.")
    if not 32 <= limits.memory_mb <= 65536 or limits.file_mb < 1 or limits.nproc < 1 or limits.output_kb < 1:
        raise errors.InvalidInput("Memory must be 32–65536 MB; file size, processes and output at least 1.")
    if not isinstance(runs, int) or not 1 <= runs <= 50:
        raise errors.InvalidInput("The number of runs must be between 1 and 50.")
    return limits


def _repeat(job: _Job, program: list[str], limits: Limits, runs: int, mode: str) -> RunResult:
    times: list[float] = []
    raw = None
    for _ in range(runs):
        raw = _execute(job, program, limits, wall_s=limits.wall_s, memory_mb=limits.memory_mb)
        times.append(raw.seconds)
        if raw.exit_code != 0 or raw.timed_out or raw.truncated:
            break
    assert raw is not None
    return RunResult(stdout=_text(raw.stdout), stderr=_text(raw.stderr), exit_code=-9 if raw.timed_out else
                     raw.exit_code, seconds=statistics.median(times), timed_out=raw.timed_out,
                     truncated=raw.truncated, runs_s=times, isolation=mode)


def run_python(code: str, *, limits: Limits | None = None, runs: int = 1) -> RunResult:
    """Run a Python program in the sandbox (``python -I``, the scratch dir as working directory).

    Args:
        code: the program's source.
        limits: resource limits (default ``Limits()``).
        runs: run it this many times and report the median wall time (stops at the first failing run).

    Returns:
        RunResult of the last run, with ``seconds`` = median and ``runs_s`` every run's time.

    Raises:
        InvalidInput: empty code or limits out of range.
        Unsupported: code execution is not allowed here (see ``check_allowed``).
    """
    _check_code(code, "Python")
    limits = _check_limits(limits, runs)
    mode = check_allowed()
    python = _python_for_jobs()
    if python is None:
        raise errors.Unsupported("No Python interpreter that the sandbox user can run was found.")
    with _Scratch(mode) as job:
        (job.scratch / "main.py").write_text(code, encoding="utf-8")
        result = _repeat(job, [python, "-I", job.path("main.py")], limits, runs, mode)
    result.command = f"python -I main.py  ({Path(python).name})"
    return result


def compile_cpp(code: str, *, limits: Limits | None = None) -> RunResult:
    """Compile a C++ program in the sandbox without running it (used to check a model's answer).

    Args:
        code: the C++ source.
        limits: ``compile_s`` and ``compile_memory_mb`` bound the compiler.

    Returns:
        RunResult with ``compile_output``, ``compile_s`` and ``compile_failed``; exit code 0 when it compiled.
    """
    return _compile_and(code, _check_limits(limits, 1), runs=0)


def compile_and_run_cpp(code: str, *, limits: Limits | None = None, runs: int = 1) -> RunResult:
    """Compile a C++ program (the command is ``detect_compiler().display``) and run it, both in the sandbox.

    Args:
        code: the C++ source.
        limits: resource limits; the compiler gets ``compile_s`` and ``compile_memory_mb``.
        runs: run it this many times and report the median wall time.

    Returns:
        RunResult: a compile error is returned (``compile_failed``, exit code 1, ``compile_output``), not raised.

    Raises:
        InvalidInput: empty code or limits out of range.
        Unsupported: no compiler, or code execution is not allowed here.
    """
    return _compile_and(code, _check_limits(limits, runs), runs=runs)


def _compile_and(code: str, limits: Limits, runs: int) -> RunResult:
    _check_code(code, "C++")
    mode = check_allowed()
    comp = detect_compiler()
    if comp is None:
        raise errors.Unsupported("No C++ compiler found: install g++ (Debian: apt-get install g++) or clang++.")
    with _Scratch(mode) as job:
        (job.scratch / "main.cpp").write_text(code, encoding="utf-8")
        build = _execute(job, comp.argv(job.path("main.cpp"), job.path("main")), replace(limits, nproc=64),
                         wall_s=limits.compile_s, memory_mb=limits.compile_memory_mb)
        message = _text(build.stdout + build.stderr)
        if build.timed_out:
            message += f"\n[compiler stopped after {limits.compile_s:g} s]"
        failed = build.exit_code != 0 or build.timed_out or not (job.scratch / "main").exists()
        if failed or runs == 0:
            return RunResult(stdout="", stderr="", exit_code=1 if failed else 0, seconds=0.0,
                             timed_out=build.timed_out, truncated=build.truncated, compile_output=message,
                             compile_s=build.seconds, compile_failed=failed, command=comp.display,
                             isolation=mode)
        result = _repeat(job, [job.path("main")], limits, runs, mode)
    result.compile_output, result.compile_s, result.command = message, build.seconds, comp.display
    return result


# ------------------------------------------------------------------------------ Landlock + seccomp launcher

_SYS_LANDLOCK_CREATE, _SYS_LANDLOCK_ADD_RULE, _SYS_LANDLOCK_RESTRICT = 444, 445, 446
_FS_FILE = 1 | 2 | 4  # execute, write_file, read_file
_FS_READ = 1 | 4 | 8  # execute, read_file, read_dir


def _fs_all(abi: int) -> int:
    bits = (1 << 13) - 1  # ABI 1: execute … make_sym
    if abi >= 2:
        bits |= 1 << 13  # refer
    if abi >= 3:
        bits |= 1 << 14  # truncate
    if abi >= 5:
        bits |= 1 << 15  # ioctl_dev
    return bits


def _landlock(scratch: str, readable: list[str]) -> None:
    """Restrict this process (and what it execs): read system dirs, write only the scratch dir, no TCP."""
    abi = landlock_abi()
    libc = ctypes.CDLL(None, use_errno=True)
    fs_all = _fs_all(abi)
    attr = (ctypes.c_uint64 * 3)(fs_all, 3 if abi >= 4 else 0, 3 if abi >= 6 else 0)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    fd = libc.syscall(_SYS_LANDLOCK_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if fd < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    def allow(path: str, access: int) -> None:
        try:
            pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return
        file_only = not os.path.isdir(path)
        rule = PathBeneath(access & (_FS_FILE | (1 << 14) | (1 << 15)) & fs_all if file_only else access & fs_all,
                           pfd)
        libc.syscall(_SYS_LANDLOCK_ADD_RULE, ctypes.c_int(fd), ctypes.c_int(1), ctypes.byref(rule),
                     ctypes.c_uint32(0))
        os.close(pfd)

    for path in readable:
        allow(path, _FS_READ)
    for dev in ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/full"):
        allow(dev, _FS_FILE | (1 << 14))
    allow(scratch, fs_all)
    if not _prctl(_PR_SET_NO_NEW_PRIVS, 1) or libc.syscall(_SYS_LANDLOCK_RESTRICT, ctypes.c_int(fd),
                                                           ctypes.c_uint32(0)) != 0:
        raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    os.close(fd)


# syscall numbers denied by the seccomp filter: ptrace, process_vm_readv/writev, mount, umount2, pivot_root,
# unshare, setns, bpf, perf_event_open, keyctl, add_key, request_key, io_uring_*, userfaultfd, modules, reboot,
# swapon/off, open_by_handle_at, kexec_load/file_load
_DENIED = {
    "x86_64": (0xC000003E, 41, (101, 310, 311, 165, 166, 155, 272, 308, 321, 298, 250, 248, 249, 425, 426, 427, 323,
                                175, 313, 176, 169, 167, 168, 304, 246, 320)),
    "aarch64": (0xC00000B7, 198, (117, 270, 271, 40, 39, 41, 97, 268, 280, 241, 219, 217, 218, 425, 426, 427, 282,
                                  105, 273, 106, 142, 224, 225, 265, 104, 294)),
}


def seccomp_program(machine: str) -> list[tuple[int, int, int, int]] | None:
    """The BPF filter as (code, jt, jf, k) instructions: deny the syscalls above with EPERM and socket() for any
    family but AF_UNIX with EACCES; kill on a foreign architecture. None on an unknown machine."""
    if machine not in _DENIED:
        return None
    arch, socket_nr, denied = _DENIED[machine]
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, eperm, eacces, kill = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 13, 0x80000000
    n = len(denied)
    prog = [(ld, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, kill), (ld, 0, 0, 0)]
    # after the checks: [socket jeq] [allow] [ld arg0] [jeq AF_UNIX] [eacces] [eperm]
    prog.append((jge, n + 6, 0, 0x40000000) if machine == "x86_64" else (jeq, 0, 0, 0xFFFFFFFF))  # x32 ABI
    for i, nr in enumerate(denied):
        prog.append((jeq, n - i + 5, 0, nr))
    prog += [(jeq, 1, 0, socket_nr), (ret, 0, 0, allow), (ld, 0, 0, 16), (jeq, 0, 1, 1), (ret, 0, 0, allow),
             (ret, 0, 0, eacces), (ret, 0, 0, eperm)]
    return prog


def _seccomp() -> bool:
    prog = seccomp_program(platform.machine())
    if prog is None:
        return False

    class Filter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]

    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Filter))]

    filters = (Filter * len(prog))(*[Filter(*ins) for ins in prog])
    fprog = Fprog(len(prog), filters)
    libc = ctypes.CDLL(None, use_errno=True)
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    if libc.prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER
        raise OSError(ctypes.get_errno(), "seccomp filter refused")
    return True


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read()
                parents[int(entry)] = int(stat[stat.rindex(b")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [], [root]
    while frontier:
        kids = [pid for pid, ppid in parents.items() if ppid in frontier]
        found += kids
        frontier = kids
    return found


def _kill_descendants() -> None:
    me = os.getpid()
    for _ in range(200):  # a fork bomb forks while we kill: repeat until nothing is left
        pids = _descendants(me)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _reap()


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _launch() -> None:
    """Entry point of the launcher (``python -I -S -c ...``): become the subreaper, fork the program (applying
    Landlock + seccomp in the child), wait for it, then kill whatever it left behind. SIGTERM = stop now."""
    config, argv = json.loads(sys.argv[1]), sys.argv[3:]
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    child = os.fork()
    if child == 0:
        try:
            if config["landlock"]:
                _landlock(config["scratch"], config["read"])
                _seccomp()
            os.execv(argv[0], argv)
        except BaseException as exc:  # noqa: BLE001  (report and leave the forked child right here)
            os.write(2, f"sandbox launcher: {exc}\n".encode())
        os._exit(127)

    def stop(signum, frame):
        _kill_descendants()
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    _, status = os.waitpid(child, 0)
    _kill_descendants()
    os._exit(os.waitstatus_to_exitcode(status) % 256 if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
