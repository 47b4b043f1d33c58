"""The seccomp filter, checked by running its BPF program on sample syscalls."""

from __future__ import annotations

import struct
import sys

import pytest

from engines import sandbox
from engines.sandbox import seccomp

ALLOW, EPERM, EACCES, KILL = 0x7FFF0000, 0x00050001, 0x0005000D, 0x80000000
AF_UNIX, AF_INET = 1, 2


def _run(prog: list[tuple[int, int, int, int]], arch: int, nr: int, arg0: int = 0) -> int:
    """A tiny classic-BPF interpreter for the instructions the filter uses (ld abs, jeq, jge, ret)."""
    data = {0: nr, 4: arch, 16: arg0}
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = prog[pc]
        if code == 0x20:
            acc, pc = data[k], pc + 1
        elif code in (0x15, 0x35):
            hit = acc == k if code == 0x15 else acc >= k
            pc += 1 + (jt if hit else jf)
        elif code == 0x06:
            return k
        else:
            raise AssertionError(f"unexpected instruction {code:#x}")


def test_seccomp_program_jumps_stay_in_range():
    for machine in ("x86_64", "aarch64"):
        prog = sandbox.seccomp_program(machine)
        assert prog is not None
        for i, (code, jt, jf, _) in enumerate(prog):
            if code in (0x15, 0x35):
                assert i + 1 + jt < len(prog) and i + 1 + jf < len(prog)
        assert prog[-1] == (0x06, 0, 0, 0x00050001)
    assert sandbox.seccomp_program("sparc") is None
    assert sys.platform == "linux"


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_filter_decisions(machine):
    prog = sandbox.seccomp_program(machine)
    arch, socket_nr, denied = seccomp.DENIED[machine]
    socketpair_nr, read_nr = {"x86_64": (53, 0), "aarch64": (199, 63)}[machine]
    memfd_nr, ptrace_nr = {"x86_64": (319, 101), "aarch64": (279, 117)}[machine]
    assert _run(prog, arch, socket_nr, AF_UNIX) == EACCES  # regression: AF_UNIX sockets used to be allowed
    assert _run(prog, arch, socket_nr, AF_INET) == EACCES
    assert _run(prog, arch, socketpair_nr, AF_UNIX) == ALLOW
    assert _run(prog, arch, read_nr) == ALLOW
    assert _run(prog, arch, memfd_nr) == EPERM and _run(prog, arch, ptrace_nr) == EPERM
    assert all(_run(prog, arch, nr) == EPERM for nr in denied)
    assert _run(prog, 0x40000003, read_nr) == KILL  # i386 on x86_64 / anything foreign
    if machine == "x86_64":
        assert _run(prog, arch, 0x40000000 + read_nr) == EPERM  # x32


def test_program_bytes_are_sock_filter_records():
    prog = sandbox.seccomp_program("x86_64")
    data = seccomp.program_bytes("x86_64")
    assert len(data) == 8 * len(prog)
    assert struct.unpack("=HBBI", data[:8]) == prog[0]
    assert seccomp.program_bytes("sparc") is None


def test_memfd_and_sysv_shm_denied_in_jobs(mode):
    code = ("import os\n"
            "try:\n"
            "    os.memfd_create('x')\n"
            "    print('memfd made')\n"
            "except OSError as exc:\n"
            "    print('memfd refused', exc.errno)\n"
            "import ctypes\n"
            "print('shmget', ctypes.CDLL(None).shmget(0, 2**20, 0o1600))\n")
    r = sandbox.run_python(code, limits=sandbox.Limits(wall_s=15, cpu_s=15))
    assert "memfd refused" in r.stdout and "shmget -1" in r.stdout, r.stdout + r.stderr
