"""Run untrusted Python and C++ under limits, a per-job budget and isolation.

Every execution runs as: [``sh`` joining the job's cgroup] → ``prlimit`` (address space, CPU seconds, file size,
open files, processes, no core) → ``setpriv`` to a throw-away uid when the server is root (so RLIMIT_NPROC counts
only the job) → the isolation layer → the program, in a new session, in a fresh scratch directory (deleted
afterwards, whatever the job did to its permissions) with an environment of PATH/LANG/HOME/TMPDIR only.

Isolation (``isolation()``, strongest first; ``probes.py``):

- ``bwrap``: bubblewrap with every namespace unshared (no network, not even loopback; own PID namespace, so
  nothing the job starts outlives it), read-only system directories and root, /tmp and /dev/shm as size-capped
  tmpfs, the scratch dir as /sandbox, and the seccomp filter of ``seccomp.py``;
- ``landlock``: a small launcher (``launcher.py``) applies Landlock (writes only in the scratch dir, reads only
  system dirs, no TCP, no signals or abstract sockets outside) and the same seccomp filter (no ``socket()`` at all,
  AF_UNIX included; ``socketpair`` allowed), then kills every descendant when the job ends (it is their subreaper);
- ``none``: limits only. Refused on a public deploy; a local user opts in with ``WORKBENCH_ALLOW_UNSANDBOXED=1``.

Budget (``budget_mode()``, ``budget.py``): one memory, process and scratch-disk budget per job — a cgroup v2 group
where this machine allows one, else rlimits plus a watchdog. Compiling and running have separate limits
(``Limits.for_compile()``); every timed run starts from a fresh copy of the program (``jobs.py``). A ``Cancel``
token set from another thread ends the job at the next tick; ``Background`` runs a job in a thread and sets it when
its caller goes away (``cancel.py``).

Slots (``slots.py``): every execution, from any tab or from Evaluate, waits for one of ``WORKBENCH_SANDBOX_SLOTS``
(default 1), first come first served. Output never names the server's paths: the scratch dir shows as /sandbox.

Importing this package makes the server process non-dumpable, so a job cannot read ``/proc/<server>/environ``.
"""

from __future__ import annotations

from engines.sandbox.budget import MODES as BUDGET_MODES
from engines.sandbox.budget import budget_mode, describe_budget
from engines.sandbox.cancel import Background, Cancel
from engines.sandbox.jobs import compile_and_run_cpp, compile_cpp, run_python
from engines.sandbox.landlock import landlock_abi
from engines.sandbox.limits import CODE_TIME_LIMITS_S, Limits, RunResult, code_limits
from engines.sandbox.probes import MODES, Compiler, check_allowed, describe, detect_compiler, isolation
from engines.sandbox.seccomp import seccomp_program
from engines.sandbox.syscalls import make_non_dumpable

make_non_dumpable()

__all__ = ["BUDGET_MODES", "CODE_TIME_LIMITS_S", "MODES", "Background", "Cancel", "Compiler", "Limits", "RunResult",
           "budget_mode", "check_allowed", "code_limits", "compile_and_run_cpp", "compile_cpp", "describe",
           "describe_budget", "detect_compiler", "isolation", "landlock_abi", "make_non_dumpable", "run_python",
           "seccomp_program"]
