"""The public jobs: run Python, compile C++, compile and run C++ — each timed run from a fresh scratch dir."""

from __future__ import annotations

import statistics
from pathlib import Path

from engines import errors
from engines.config import Settings
from engines.sandbox.budget import budget_mode
from engines.sandbox.cancel import Cancel
from engines.sandbox.commands import MB, python_for_jobs
from engines.sandbox.execute import Raw, execute
from engines.sandbox.limits import Limits, RunResult, check_code, check_limits, stop_message
from engines.sandbox.probes import check_allowed, detect_compiler
from engines.sandbox.scratch import Job, Scratch, read_output


def _text(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def _stderr(raw: Raw, limits: Limits) -> str:
    text = _text(raw.stderr)
    if not raw.stopped:
        return text
    if text and not text.endswith("\n"):
        text += "\n"
    return text + stop_message(raw.stopped, limits) + "\n"


def _timed_runs(mode: str, files: dict[str, tuple[bytes, int]], program: list[str], limits: Limits,
                runs: int, cancel: Cancel | None = None, settings: Settings | None = None) -> RunResult:
    """Run ``program`` ``runs`` times, each from a fresh scratch dir holding only ``files`` (name → data, mode),
    so nothing a run writes — its own binary overwritten, a cache of answers — reaches the next run's timing."""
    times: list[float] = []
    raw = None
    for _ in range(runs):
        with Scratch(mode, settings) as job:
            for name, (data, file_mode) in files.items():
                job.write(name, data, file_mode)
            raw = execute(job, [job.path(arg) if arg in files else arg for arg in program], limits, cancel, settings)
        times.append(raw.seconds)
        if raw.exit_code != 0 or raw.timed_out or raw.truncated or raw.stopped:
            break
    assert raw is not None
    killed = raw.timed_out or bool(raw.stopped)
    return RunResult(stdout=_text(raw.stdout), stderr=_stderr(raw, limits), exit_code=-9 if killed else
                     raw.exit_code, seconds=statistics.median(times), timed_out=raw.timed_out,
                     truncated=raw.truncated, runs_s=times, isolation=mode, stopped=raw.stopped,
                     budget=budget_mode(settings))


def run_python(code: str, *, limits: Limits | None = None, runs: int = 1, cancel: Cancel | None = None,
               settings: Settings | None = None) -> RunResult:
    """Run a Python program in the sandbox (``python -I``, the scratch dir as working directory).

    Args:
        code: the program's source.
        limits: resource limits (default ``Limits()``).
        runs: run it this many times and report the median wall time (stops at the first failing run); every
            run starts from a fresh scratch dir holding only ``main.py``.
        cancel: a token another thread may set to end the program now (``stopped`` "cancelled").
        settings: the deployment's settings (read from the environment when None).

    Returns:
        RunResult of the last run, with ``seconds`` = median and ``runs_s`` every run's time.

    Raises:
        InvalidInput: empty code or limits out of range.
        Unsupported: code execution is not allowed here (see ``check_allowed``).
    """
    check_code(code, "Python")
    limits = check_limits(limits, runs)
    settings = settings or Settings.current()
    mode = check_allowed(settings)
    python = python_for_jobs()
    if python is None:
        raise errors.Unsupported("No Python interpreter that the sandbox user can run was found.")
    result = _timed_runs(mode, {"main.py": (code.encode("utf-8"), 0o644)}, [python, "-I", "main.py"],
                         limits, runs, cancel, settings)
    result.command = f"python -I main.py  ({Path(python).name})"
    return result


def compile_cpp(code: str, *, limits: Limits | None = None, cancel: Cancel | None = None,
                settings: Settings | None = None) -> RunResult:
    """Compile a C++ program in the sandbox without running it (used to check a model's answer).

    Args:
        code: the C++ source.
        limits: ``compile_s`` (wall and CPU time) and ``compile_memory_mb`` bound the compiler.
        cancel: a token another thread may set to end the compiler now.

    Returns:
        RunResult with ``compile_output``, ``compile_s`` and ``compile_failed``; exit code 0 when it compiled.
    """
    return _compile_and(code, check_limits(limits, 1), runs=0, cancel=cancel, settings=settings)


def compile_and_run_cpp(code: str, *, limits: Limits | None = None, runs: int = 1,
                        cancel: Cancel | None = None, settings: Settings | None = None) -> RunResult:
    """Compile a C++ program (the command is ``detect_compiler().display``) and run it, both in the sandbox.

    Args:
        code: the C++ source.
        limits: resource limits; the compiler gets its own ``Limits.for_compile()`` (``compile_s``,
            ``compile_memory_mb``), the runs get ``wall_s``, ``cpu_s`` and ``memory_mb``.
        runs: run it this many times and report the median wall time; every run gets a fresh copy of the binary
            in a fresh scratch dir.
        cancel: a token another thread may set to end the compiler or the program now (``stopped`` "cancelled").

    Returns:
        RunResult: a compile error is returned (``compile_failed``, exit code 1, ``compile_output``), not raised.

    Raises:
        InvalidInput: empty code or limits out of range.
        Unsupported: no compiler, or code execution is not allowed here.
    """
    return _compile_and(code, check_limits(limits, runs), runs=runs, cancel=cancel, settings=settings)


def _build(job: Job, code: str, limits: Limits, cancel: Cancel | None = None,
           settings: Settings | None = None) -> tuple[Raw, bytes | None, str]:
    """Compile ``code`` in ``job``; return the compiler's run, the binary (None on failure) and its messages."""
    comp = detect_compiler()
    assert comp is not None
    phase = limits.for_compile()
    job.write("main.cpp", code.encode("utf-8"))
    build = execute(job, comp.argv(job.path("main.cpp"), job.path("main")), phase, cancel, settings)
    message = _text(build.stdout + build.stderr)
    if build.timed_out:
        message += f"\n[compiler stopped after {limits.compile_s:g} s]"
    if build.stopped:
        message += "\n" + stop_message(build.stopped, phase)
    ok = build.exit_code == 0 and not build.timed_out and not build.stopped
    binary = read_output(job.scratch / "main", limits.file_mb * MB) if ok else None
    return build, binary, message


def _compile_and(code: str, limits: Limits, runs: int, cancel: Cancel | None = None,
                 settings: Settings | None = None) -> RunResult:
    check_code(code, "C++")
    settings = settings or Settings.current()
    mode = check_allowed(settings)
    comp = detect_compiler()
    if comp is None:
        raise errors.Unsupported("No C++ compiler found: install g++ (Debian: apt-get install g++) or clang++.")
    with Scratch(mode, settings) as job:
        build, binary, message = _build(job, code, limits, cancel, settings)
    if cancel is not None and cancel.is_set():  # Stop pressed as the compiler finished: run nothing
        build.stopped = "cancelled"
    if binary is None or runs == 0 or build.stopped == "cancelled":
        failed = binary is None and build.stopped != "cancelled"  # a stopped compile says nothing of the code
        code = 1 if failed else -9 if build.stopped == "cancelled" else 0
        return RunResult(stdout="", stderr="", exit_code=code, seconds=0.0,
                         timed_out=build.timed_out, truncated=build.truncated, compile_output=message,
                         compile_s=build.seconds, compile_failed=failed, command=comp.display, isolation=mode,
                         stopped=build.stopped, budget=budget_mode(settings))
    result = _timed_runs(mode, {"main": (binary, 0o755)}, ["main"], limits, runs, cancel, settings)
    result.compile_output, result.compile_s, result.command = message, build.seconds, comp.display
    return result
