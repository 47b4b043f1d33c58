"""A job can be stopped from outside (issue 27, item 8): setting its cancel token ends the running program's
whole process tree at once, not at its wall limit; ``Background`` sets the token when its caller goes away."""

from __future__ import annotations

import time

import psutil
import pytest
from processes import all_gone, gone

from engines import sandbox
from engines.sandbox import Limits

LONG = Limits(wall_s=300, cpu_s=300)  # the Code tab's default: an endless loop held the slot this long
ENDLESS = {"python": "while True:\n    pass\n", "cpp": "int main() { volatile unsigned long n = 0; for (;;) ++n; }\n"}
# seconds of compiling (3,000 functions at -O3): a Stop lands while the compiler runs, not after it has finished
SLOW_TO_COMPILE = ENDLESS["cpp"] + "".join(
    f"int f{i}(int x) {{ for (int j = 0; j < x; ++j) x ^= j * {i + 1} + (x >> 3); return x; }}\n" for i in range(3000))


def _program(job: sandbox.Background, name: str, timeout: float = 120.0) -> list[psutil.Process]:
    """The job's process tree once a process of it runs ``name`` (the program itself: "main.py", "/main"; or the
    compiler: "main.cpp")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert job.running, job.result()
        for pid in job.token.pids:
            try:
                root = psutil.Process(pid)
                tree = [root, *root.children(recursive=True)]
                if any(_runs(p.cmdline(), name) for p in tree[1:]):
                    return tree
            except psutil.Error:
                continue
        time.sleep(0.05)
    raise AssertionError("the program never started")


def _runs(argv: list[str], name: str) -> bool:
    if not argv:
        return False
    if name == "/main":  # the compiled program (the compiler's own command line ends with "-o …/main")
        return argv[0].endswith(name)
    return any(arg.endswith(name) for arg in argv)


@pytest.mark.parametrize("lang", ["python", "cpp"])
def test_cancel_kills_an_endless_program(mode, lang):
    if lang == "cpp" and sandbox.detect_compiler() is None:
        pytest.skip("no C++ compiler here")
    run = sandbox.run_python if lang == "python" else sandbox.compile_and_run_cpp
    job = sandbox.Background(run, ENDLESS[lang], limits=LONG, runs=1)
    tree = _program(job, "main.py" if lang == "python" else "/main")
    assert not any(gone(p) for p in tree)
    job.cancel()
    assert not job.running
    assert all_gone(tree), [p.pid for p in tree if not gone(p)]
    result = job.result()
    assert result.stopped == "cancelled" and not result.timed_out and not result.ok
    assert not result.compile_failed and "Stop was pressed" in result.stderr


def test_a_token_set_before_the_run_starts_nothing(mode):
    token = sandbox.Cancel()
    token.set()
    result = sandbox.run_python(ENDLESS["python"], limits=LONG, cancel=token)
    assert result.stopped == "cancelled" and token.pids == []


def test_closing_a_generator_that_runs_a_job_kills_the_program(mode):
    """What a UI's Stop does: the event is cancelled, so the handler's generator is closed mid-run."""
    box = {}

    def handler():
        job = box["job"] = sandbox.Background(sandbox.run_python, ENDLESS["python"], limits=LONG)
        try:
            yield from job.ticks(0.2)
            yield job.result()
        finally:
            job.cancel()

    gen = handler()
    next(gen)
    tree = _program(box["job"], "main.py")
    gen.close()
    assert all_gone(tree) and not box["job"].running
    assert box["job"].result().stopped == "cancelled"


def test_cancel_while_compiling_is_not_a_compile_error(mode):
    if sandbox.detect_compiler() is None:
        pytest.skip("no C++ compiler here")
    job = sandbox.Background(sandbox.compile_and_run_cpp, SLOW_TO_COMPILE, limits=LONG)
    tree = _program(job, "main.cpp")  # the compiler's driver is running
    job.cancel()
    assert all_gone(tree)
    result = job.result()
    assert result.stopped == "cancelled" and not result.compile_failed and not result.ok and result.runs_s == []
