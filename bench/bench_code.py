"""The sandbox's cost and the π sample's speedup, measured side by side in one run.

Prints:
  sandbox_run_overhead: sandboxed wall time of the compiled π program / the same binary run bare (target ≤ 1.05)
  pi_cpp_speedup: Python's wall time / the reference C++'s, both through the same sandbox harness (target ≥ 30);
      the outputs must be identical (timing lines aside), else the bench fails
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import median, report

ROUNDS = 5


def _bare_runs(cpp: str, rounds: int) -> list[float]:
    """Compile with the sandbox's compiler command, then run the binary directly (no limits, no isolation)."""
    from engines.sandbox import detect_compiler

    comp = detect_compiler()
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = Path(tmp) / "main.cpp", Path(tmp) / "main"
        src.write_text(cpp)
        subprocess.run(comp.argv(str(src), str(exe)), check=True)
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            subprocess.run([str(exe)], check=True, capture_output=True)
            times.append(time.perf_counter() - start)
    return times


def main() -> None:
    from engines import codeconv, sandbox
    from engines.code_samples import SAMPLES

    pi = SAMPLES["pi"]
    limits = sandbox.Limits(wall_s=300, cpu_s=300)
    print(f"# isolation: {sandbox.isolation()} · {sandbox.describe()}", flush=True)
    bare, boxed = [], []
    for _ in range(ROUNDS):  # interleaved, so drift in machine load hits both sides alike
        bare += _bare_runs(pi.cpp, 1)
        boxed += sandbox.compile_and_run_cpp(pi.cpp, limits=limits).runs_s
    report("sandbox_run_overhead", median(boxed), median(bare))

    cpp = sandbox.compile_and_run_cpp(pi.cpp, limits=limits, runs=ROUNDS)
    py = sandbox.run_python(pi.python, limits=limits)
    check = codeconv.compare_outputs(py.stdout, cpp.stdout)
    if not (py.ok and cpp.ok and check.match):
        print(f"pi outputs differ: python {py.stdout!r} vs c++ {cpp.stdout!r}", file=sys.stderr)
        raise SystemExit(1)
    # a speedup: baseline over ours, printed as "ours" = C++ so the ratio reads as "× faster"
    ratio = py.seconds / cpp.seconds
    print(f"pi_cpp_speedup: {ratio:.1f} (ours {cpp.seconds:.4g} s vs baseline {py.seconds:.4g} s)", flush=True)


if __name__ == "__main__":
    main()
