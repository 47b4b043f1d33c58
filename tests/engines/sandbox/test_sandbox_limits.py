"""Limits: what a caller may ask for, and the compiler's limits kept apart from the run's."""

from __future__ import annotations

import pytest

from engines import errors, sandbox
from engines.sandbox import Limits

# compiles in ~5 s of CPU here (std::regex at -O3): far over a 1 s run limit
REGEX_CPP = ("#include <iostream>\n#include <regex>\n#include <string>\n"
             "int main() { std::regex r(\"(a+)(b*)c\"); std::smatch s; std::string t = \"aabbc\";\n"
             "  if (std::regex_search(t, s, r)) std::cout << s[1] << \"\\n\"; }\n")


@pytest.mark.parametrize("bad", ["", "   "])
def test_empty_code_rejected(bad):
    with pytest.raises(errors.InvalidInput, match="empty"):
        sandbox.run_python(bad)


def test_limits_validated():
    with pytest.raises(errors.InvalidInput, match="runs"):
        sandbox.run_python("print(1)", runs=0)
    with pytest.raises(errors.InvalidInput, match="Time limits"):
        sandbox.run_python("print(1)", limits=Limits(wall_s=0))
    with pytest.raises(errors.InvalidInput, match="Time limits"):
        sandbox.compile_cpp("int main() {}", limits=Limits(compile_s=0))
    with pytest.raises(errors.InvalidInput, match="scratch"):
        sandbox.run_python("print(1)", limits=Limits(scratch_mb=0))


def test_lone_surrogate_is_a_clear_error():
    with pytest.raises(errors.InvalidInput, match="not valid Unicode"):
        sandbox.run_python("print('\ud800')")


def test_compile_limits_are_the_compilers_own():
    run = Limits(wall_s=1, cpu_s=1, memory_mb=256, nproc=2)
    build = run.for_compile()
    assert (build.wall_s, build.cpu_s, build.memory_mb) == (run.compile_s, run.compile_s, run.compile_memory_mb)
    assert build.nproc >= 16 and build.output_kb == run.output_kb
    assert (run.wall_s, run.cpu_s) == (1, 1)  # the caller's limits are not changed


def test_one_second_run_limit_does_not_stop_the_compiler(mode):
    # regression: the run's cpu_s (1 s) used to cap the compiler's CPU too, so cc1plus got SIGXCPU → "compile error"
    # a 1 s CPU limit for the run; the wall limits are generous, so a loaded machine (load 9 on 2 cores) can't end
    # the compiler or the run on the clock: what is tested is that the run's CPU limit is not the compiler's
    r = sandbox.compile_and_run_cpp(REGEX_CPP, limits=Limits(wall_s=60, cpu_s=1, compile_s=600))
    assert not r.compile_failed, r.compile_output
    assert r.ok and r.stdout == "aa\n"
    assert r.compile_s > r.runs_s[0]


def test_code_limits_shared_by_the_code_tab_and_the_assistant():
    from engines.sandbox import code_limits

    assert code_limits(30) == sandbox.Limits(wall_s=30, cpu_s=30, memory_mb=1024)
    assert code_limits(None).wall_s == 60 and code_limits(5, 512).memory_mb == 512
    for bad in (0.5, 601):
        with pytest.raises(errors.InvalidInput, match="between 1 and 600"):
            code_limits(bad)
