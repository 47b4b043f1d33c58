"""Jobs end on time, their output is capped and returned, and their timings can't be faked by the job."""

from __future__ import annotations

import time

import pytest

from engines import sandbox
from engines.sandbox import Limits

FAST = Limits(wall_s=1.0, cpu_s=1.0)  # for programs that must be killed
ROOMY = Limits(wall_s=15, cpu_s=15)  # for programs that must finish (the CI box may be busy)


@pytest.mark.parametrize("code", ["while True:\n    pass\n", "import time\ntime.sleep(10**6)\n",
                                  "import os, time\nos.close(1)\nos.close(2)\ntime.sleep(10**6)\n"],
                         ids=["busy-loop", "sleep", "closed-pipes"])
def test_timeout_kills_within_a_second(mode, code):
    start = time.monotonic()
    r = sandbox.run_python(code, limits=FAST)
    assert r.timed_out and not r.ok
    assert time.monotonic() - start < FAST.wall_s + 1.0


def test_endless_printing_is_capped(mode):
    start = time.monotonic()
    r = sandbox.run_python("while True:\n    print('y' * 99)\n", limits=Limits(wall_s=5, output_kb=8))
    assert r.truncated and not r.timed_out
    assert 0 < len(r.stdout) <= 8 * 1024
    assert time.monotonic() - start < 4


def test_exit_code_and_stderr(mode):
    r = sandbox.run_python("import sys\nprint('out')\nprint('err', file=sys.stderr)\nsys.exit(3)\n", limits=ROOMY)
    assert (r.stdout, r.stderr, r.exit_code, r.timed_out, r.truncated) == ("out\n", "err\n", 3, False, False)
    assert r.stopped == "" and r.budget == sandbox.budget_mode()


def test_compiling_dev_zero_stops_within_limit(mode):
    start = time.monotonic()
    r = sandbox.compile_and_run_cpp("#include </dev/zero>\nint main() {}\n", limits=Limits(compile_s=5))
    assert r.compile_failed and r.exit_code != 0
    assert time.monotonic() - start < 6


def test_cpp_compile_error_is_returned_and_runs_are_timed(mode):
    bad = sandbox.compile_and_run_cpp("int main() { return undefined_name; }\n", limits=FAST)
    assert bad.compile_failed and "undefined_name" in bad.compile_output and bad.stdout == ""
    good = sandbox.compile_and_run_cpp("#include <cstdio>\nint main() { std::puts(\"ok\"); }\n", limits=FAST,
                                       runs=3)
    assert good.ok and good.stdout == "ok\n" and len(good.runs_s) == 3 and good.compile_s > 0
    assert good.seconds == sorted(good.runs_s)[1]
    assert good.command.startswith(("g++", "clang++")) and "-O3" in good.command


def test_compile_only_reports_success(mode):
    r = sandbox.compile_cpp("int main() { return 0; }\n")
    assert r.ok and not r.compile_failed and r.runs_s == []


# Each run sleeps 0.3 s (the honest work), prints the answer, then replaces its own binary with a script that
# prints the same answer at once: if a later timed run ran that script, the median would drop far below 0.3 s.
SELF_REPLACING_CPP = r"""
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>
#include <sys/stat.h>
int main(int argc, char** argv) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::puts("answer 42");
    std::remove(argv[0]);
    { std::ofstream f(argv[0]); f << "#!/bin/sh\necho 'answer 42'\n"; }
    chmod(argv[0], 0755);
    return 0;
}
"""


def test_overwriting_own_binary_does_not_replace_timings(mode):
    r = sandbox.compile_and_run_cpp(SELF_REPLACING_CPP, limits=ROOMY, runs=5)
    assert r.ok and r.stdout == "answer 42\n", r.stderr
    assert len(r.runs_s) == 5
    assert min(r.runs_s) >= 0.3  # every timed run ran the compiled program (a lower bound: sleeps can't be shorter)


def test_a_run_cannot_leave_answers_for_the_next_run(mode):
    code = ("import os, time\n"
            "if os.path.exists('cache.txt'):\n"
            "    print(open('cache.txt').read())\n"
            "else:\n"
            "    time.sleep(0.3)\n"
            "    open('cache.txt', 'w').write('answer 42')\n"
            "    print('answer 42')\n")
    r = sandbox.run_python(code, limits=ROOMY, runs=3)
    assert r.ok and r.stdout == "answer 42\n"
    assert min(r.runs_s) >= 0.3


def test_tracebacks_and_compiler_messages_name_no_server_path(mode):
    # regression: under Landlock a traceback named the scratch dir ('File "/tmp/wb-job-…/main.py"'), and so did the
    # compiler's messages: every mode now shows /sandbox, as bubblewrap jobs see it
    from engines.sandbox.scratch import scratch_parent

    r = sandbox.run_python("import os, json\nprint(os.getcwd())\njson.loads('{bad')\n", limits=ROOMY)
    assert r.stdout == "/sandbox\n"
    assert 'File "/sandbox/main.py", line 3' in r.stderr and "JSONDecodeError" in r.stderr
    assert "wb-job-" not in r.stdout + r.stderr and scratch_parent(None) + "/" not in r.stderr
    if sandbox.detect_compiler() is not None:
        c = sandbox.compile_cpp("int main() { return undeclared; }")
        assert c.compile_failed and "/sandbox/main.cpp:1:" in c.compile_output
        assert "wb-job-" not in c.compile_output
