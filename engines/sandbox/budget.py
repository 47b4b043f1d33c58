"""One budget per job for memory, processes and scratch disk, however many processes the job starts.

``budget_mode()`` says how it is enforced here (``WORKBENCH_BUDGET=auto|cgroup|rlimit+watchdog`` chooses):

- ``cgroup``: each execution runs in its own cgroup v2 group (``cgroups.py``): ``memory.max`` = ``memory_mb``
  covers every process and the pages of its private /tmp and /dev/shm, ``pids.max`` = ``nproc``, an OOM kills
  the whole group, and ``cgroup.kill`` ends everything at the end.
- ``rlimit+watchdog`` (no usable cgroup v2 here): RLIMIT_AS = ``memory_mb`` and RLIMIT_NPROC bound each process,
  and a watchdog polls the job every ``TICK_S``: it stops the job when its processes' memory (anonymous and
  shared, ``memory.job_memory``: PSS, and shared anonymous objects whole) plus what its private tmpfs mounts hold
  passes ``memory_mb``, or it runs more than ``nproc`` tasks. Between two polls a job can overshoot by what it
  allocates in ``TICK_S`` (a few hundred MB at most); the tmpfs mounts are sized at most ``memory_mb`` each, and
  the seccomp filter (no memfd, SysV shm or message queues) leaves no memory the watchdog cannot see.

In both modes the same watchdog bounds the scratch dir to ``scratch_mb`` (and ``scratch.MAX_ENTRIES`` files).
"""

from __future__ import annotations

from engines.config import Settings
from engines.sandbox import cgroups, memory, procfs
from engines.sandbox.limits import Limits
from engines.sandbox.scratch import MAX_ENTRIES, Job, disk_usage

MODES = ("cgroup", "rlimit+watchdog")
TICK_S = 0.1
OBJECTS_EVERY = 5  # polls between two looks at the job's shared anonymous objects
MB = 2**20


def budget_mode(settings: Settings | None = None) -> str:
    """How per-job budgets are enforced here: "cgroup" | "rlimit+watchdog" (the probe runs once per process).

    Returns:
        "cgroup" when a cgroup v2 group with the memory and pids controllers can be made per job (and
        ``WORKBENCH_BUDGET`` does not ask for the fallback), else "rlimit+watchdog".
    """
    forced = (settings or Settings.current()).budget
    if forced in ("rlimit+watchdog", "watchdog", "rlimit"):
        return "rlimit+watchdog"
    return "cgroup" if cgroups.parent() is not None else "rlimit+watchdog"


def describe_budget(limits: Limits | None = None) -> str:
    """One line for the UI: the per-job budget and how it is enforced.

    Args:
        limits: the limits to quote (default ``Limits()``).

    Returns:
        e.g. "Budget per job: 1024 MB memory (processes + /tmp), 64 processes, 64 MB scratch · cgroup v2".
    """
    limits = limits or Limits()
    how = {"cgroup": "cgroup v2 (enforced by the kernel)",
           "rlimit+watchdog": "rlimits + a watchdog polling every 0.1 s (no usable cgroup here)"}
    return (f"Budget per job: {limits.memory_mb} MB memory (processes + /tmp), {limits.nproc} processes, "
            f"{limits.scratch_mb} MB scratch · {how[budget_mode()]}")


class Budget:
    """The budget of one execution. ``check`` runs every ``TICK_S`` while the job runs; ``finish`` once after."""

    mode = "rlimit+watchdog"

    def __init__(self, limits: Limits, job: Job):
        self.limits, self.job = limits, job

    def prefix(self) -> list[str]:
        """Commands that go in front of the job's command line."""
        return []

    def check(self, pid: int) -> str:
        """Why the job must stop now ("memory" | "processes" | "disk"), or "" while it is within budget.

        Args:
            pid: the job's first process.
        """
        used, entries = disk_usage(self.job.scratch)
        return "disk" if used > self.limits.scratch_mb * MB or entries > MAX_ENTRIES else ""

    def finish(self) -> str:
        """End whatever is left of the job; return why the kernel stopped it ("memory") or ""."""
        return ""


class WatchdogBudget(Budget):
    """rlimits + polling /proc: the fallback where no cgroup v2 group can be made."""

    def __init__(self, limits: Limits, job: Job):
        super().__init__(limits, job)
        self.polls, self.objects = 0, 0

    def check(self, pid: int) -> str:
        tasks = procfs.job_tasks(pid)
        pids = list(tasks)
        if sum(tasks.values()) > self.limits.nproc:
            return "processes"
        tmpfs = (procfs.private_tmpfs_bytes(pids[1:]) or 0) if self.job.mode == "bwrap" else 0
        if self.polls % OBJECTS_EVERY == 0:  # reading every process's maps costs ~10× the rest of a poll
            self.objects = memory.shared_objects(pids)
        self.polls += 1
        budget = self.limits.memory_mb * MB - tmpfs
        if memory.job_memory(pids, limit=budget, objects=self.objects) > budget:
            return "memory"
        return super().check(pid)


class CgroupBudget(Budget):
    """A cgroup v2 group per execution: the kernel enforces memory and processes."""

    mode = "cgroup"

    def __init__(self, limits: Limits, job: Job):
        super().__init__(limits, job)
        base = cgroups.parent()
        if base is None:
            raise OSError("no cgroup v2 parent")
        self.group = cgroups.JobCgroup(base, memory_mb=limits.memory_mb, nproc=limits.nproc)

    def prefix(self) -> list[str]:
        return self.group.join_argv()

    def check(self, pid: int) -> str:
        return "memory" if self.group.oom_killed() else super().check(pid)

    def finish(self) -> str:
        oom = self.group.oom_killed()
        self.group.remove()
        return "memory" if oom else ""


def open_budget(limits: Limits, job: Job) -> Budget:
    """The budget for one execution, in this machine's mode (the watchdog when a group cannot be made now).

    Args:
        limits: the phase's limits.
        job: where it runs.

    Returns:
        A Budget; call ``finish()`` when the job has ended.
    """
    if budget_mode() == "cgroup":
        try:
            return CgroupBudget(limits, job)
        except OSError:
            pass
    return WatchdogBudget(limits, job)
