"""A job's limits, what a job did, and the checks on what a caller asks for."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from engines import errors

COMPILE_NPROC = 64  # the compiler driver, cc1plus, as, collect2, ld: a handful of processes, whatever the run gets
MAX_CODE_CHARS = 1_000_000


@dataclass
class Limits:
    """Resource limits of one job.

    The run gets ``wall_s``, ``cpu_s`` and ``memory_mb``; compiling gets its own ``compile_s`` (wall and CPU time)
    and ``compile_memory_mb`` (``for_compile()``), so a short run limit never stops the compiler.
    ``memory_mb`` is one budget for the whole job: every process it starts plus its private /tmp and /dev/shm
    (and also each process's address-space limit). ``nproc`` bounds the job's processes and threads together,
    ``file_mb`` each file it writes, ``scratch_mb`` all of its scratch dir, ``tmp_mb`` each of /tmp and /dev/shm
    (never more than ``memory_mb``).
    """

    wall_s: float = 10
    cpu_s: float = 10
    memory_mb: int = 1024
    file_mb: int = 16
    nproc: int = 64
    output_kb: int = 64
    open_files: int = 256
    compile_s: float = 30
    compile_memory_mb: int = 1536
    scratch_mb: int = 64
    tmp_mb: int = 64

    def for_compile(self) -> Limits:
        """The compiler's limits: ``compile_s`` for wall and CPU time, ``compile_memory_mb``, enough processes.

        Returns:
            A copy of these limits with the run's time, memory and process limits replaced.
        """
        return replace(self, wall_s=self.compile_s, cpu_s=self.compile_s, memory_mb=self.compile_memory_mb,
                       nproc=COMPILE_NPROC)


CODE_TIME_LIMITS_S = (1, 600)  # what a user may ask for a program run by hand (Code tab, the assistant's run_python)
CODE_MEMORY_MB = 1024


def code_limits(time_limit_s: float | None, memory_mb: float | None = None) -> Limits:
    """The limits of a program a user runs by hand: the Code tab and the assistant's ``run_python`` share them.

    Args:
        time_limit_s: wall-clock and CPU seconds per run, 1 to 600 (None or 0 = 60).
        memory_mb: the job's memory budget in MB (None = 1024).

    Returns:
        Limits with ``wall_s`` = ``cpu_s`` = the time limit; the other limits are ``Limits()``'s.

    Raises:
        InvalidInput: a time limit outside 1 to 600 seconds.
    """
    wall = float(time_limit_s or 60)
    low, high = CODE_TIME_LIMITS_S
    if not low <= wall <= high:
        raise errors.InvalidInput(f"The time limit must be between {low} and {high} seconds.")
    return Limits(wall_s=wall, cpu_s=wall, memory_mb=int(memory_mb or CODE_MEMORY_MB))


STOPS = {
    "memory": "the job used more than {memory_mb} MB of memory (all its processes and /tmp together)",
    "processes": "the job ran more than {nproc} processes and threads at once",
    "disk": "the job wrote more than {scratch_mb} MB (or too many files) into its scratch dir",
    "cancelled": "Stop was pressed, so the job was ended",
}


def stop_message(reason: str, limits: Limits) -> str:
    """The line appended to stderr when the job's budget stopped it.

    Args:
        reason: a key of ``STOPS``.
        limits: the limits the job ran under.

    Returns:
        ``[sandbox: stopped: …]``.
    """
    return f"[sandbox: stopped: {STOPS[reason].format(**vars(limits))}]"


@dataclass
class RunResult:
    """What a job did. ``seconds`` is the run's wall time (the median when ``runs`` > 1), compilation excluded;
    ``exit_code`` is negative for a signal (-9 = killed); a compile error has ``compile_failed`` and exit code 1.
    ``stopped`` names what stopped the job ("memory", "processes", "disk", "cancelled": the caller's cancel token;
    "" = none), ``budget`` how budgets are enforced here (``budget_mode()``)."""

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
    stopped: str = ""
    budget: str = ""

    @property
    def ok(self) -> bool:
        """True when the program compiled, ran to the end and exited 0."""
        return self.exit_code == 0 and not self.timed_out and not self.compile_failed


def check_code(code: str, what: str) -> None:
    """Refuse empty or huge source code.

    Raises:
        InvalidInput: not a string, empty, over ``MAX_CODE_CHARS``, or not encodable as UTF-8.
    """
    if not isinstance(code, str) or not code.strip():
        raise errors.InvalidInput(f"The {what} code is empty.")
    if len(code) > MAX_CODE_CHARS:
        raise errors.InvalidInput(f"The {what} code is over {MAX_CODE_CHARS:,} characters.")
    try:
        code.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise errors.InvalidInput(f"The {what} code has a character that is not valid Unicode (a lone surrogate) "
                                  f"at position {exc.start}.") from None


def check_limits(limits: Limits | None, runs: int) -> Limits:
    """Validate limits and the number of runs.

    Args:
        limits: the caller's limits (None = ``Limits()``).
        runs: how many timed runs (1–50; 0 is not allowed here).

    Returns:
        The limits to use.

    Raises:
        InvalidInput: a value out of range.
    """
    limits = limits or Limits()
    if not all(0 < t <= 3600 for t in (limits.wall_s, limits.cpu_s, limits.compile_s)):
        raise errors.InvalidInput("Time limits must be between 0 and 3600 seconds.")
    if not (32 <= limits.memory_mb <= 65536 and 32 <= limits.compile_memory_mb <= 65536):
        raise errors.InvalidInput("Memory must be 32–65536 MB.")
    if min(limits.file_mb, limits.nproc, limits.output_kb, limits.open_files, limits.scratch_mb, limits.tmp_mb) < 1:
        raise errors.InvalidInput("File size, processes, output, open files, scratch and /tmp sizes must be at "
                                  "least 1.")
    if not isinstance(runs, int) or not 1 <= runs <= 50:
        raise errors.InvalidInput("The number of runs must be between 1 and 50.")
    return limits
