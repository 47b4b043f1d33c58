"""The seccomp filter every sandboxed job runs under (bubblewrap loads it with ``--seccomp``, the Landlock launcher
installs it itself).

It denies, with EPERM, what could reach outside the job or hold memory no limit counts: ptrace and
process_vm_*, mounts and namespaces, bpf, perf_event_open, keyrings, io_uring, userfaultfd, kernel modules,
reboot, swap, open_by_handle_at, kexec, and ``memfd_create``/``memfd_secret``/``shmget``/``msgget`` (their pages
are in no process's address space, so neither RLIMIT_AS nor the watchdog would see them). ``socket()`` fails with
EACCES for every family, AF_UNIX included (a job must not connect to a path-based Unix socket on the host);
``socketpair()`` stays allowed. A foreign architecture (e.g. 32-bit x86 on x86_64) is killed.

Standard library only: the job launcher imports this module too.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import struct
from collections.abc import Iterator

from engines.sandbox.syscalls import PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, libc, prctl

_MODE_FILTER = 2
# machine → (audit arch, socket syscall, denied syscalls). x86_64: ptrace, process_vm_readv/writev, mount,
# umount2, pivot_root, unshare, setns, bpf, perf_event_open, keyctl, add_key, request_key, io_uring_setup/enter/
# register, userfaultfd, init_module, finit_module, delete_module, reboot, swapon, swapoff, open_by_handle_at,
# kexec_load, kexec_file_load, memfd_create, memfd_secret, shmget, msgget (aarch64: the same, in that order)
DENIED = {
    "x86_64": (0xC000003E, 41, (101, 310, 311, 165, 166, 155, 272, 308, 321, 298, 250, 248, 249, 425, 426, 427, 323,
                                175, 313, 176, 169, 167, 168, 304, 246, 320, 319, 447, 29, 68)),
    "aarch64": (0xC00000B7, 198, (117, 270, 271, 40, 39, 41, 97, 268, 280, 241, 219, 217, 218, 425, 426, 427, 282,
                                  105, 273, 106, 142, 224, 225, 265, 104, 294, 279, 447, 194, 186)),
}
_LD, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06
_ALLOW, _EPERM, _EACCES, _KILL = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 13, 0x80000000


def seccomp_program(machine: str) -> list[tuple[int, int, int, int]] | None:
    """The BPF filter as (code, jt, jf, k) instructions (see the module docstring for what it denies).

    Layout: check the architecture, load the syscall number, [x32 check] [one jump per denied syscall]
    [socket → EACCES] [allow] [EACCES] [EPERM]; a jump of ``jt`` lands ``jt + 1`` instructions further.

    Args:
        machine: ``platform.machine()``.

    Returns:
        The instructions, or None on a machine without a table.
    """
    if machine not in DENIED:
        return None
    arch, socket_nr, denied = DENIED[machine]
    n = len(denied)
    eperm = n + 8  # index of the last instruction
    prog = [(_LD, 0, 0, 4), (_JEQ, 1, 0, arch), (_RET, 0, 0, _KILL), (_LD, 0, 0, 0)]
    # the x32 ABI shares x86_64's audit arch: its syscall numbers have bit 30 set
    prog.append((_JGE, eperm - 5, 0, 0x40000000) if machine == "x86_64" else (_JEQ, 0, 0, 0xFFFFFFFF))
    for i, nr in enumerate(denied):
        prog.append((_JEQ, eperm - (5 + i) - 1, 0, nr))
    prog += [(_JEQ, 1, 0, socket_nr), (_RET, 0, 0, _ALLOW), (_RET, 0, 0, _EACCES), (_RET, 0, 0, _EPERM)]
    return prog


def program_bytes(machine: str | None = None) -> bytes | None:
    """The filter as raw ``struct sock_filter`` records, the form bubblewrap's ``--seccomp FD`` reads.

    Args:
        machine: defaults to this machine.

    Returns:
        The bytes, or None on a machine without a table.
    """
    prog = seccomp_program(machine or platform.machine())
    if prog is None:
        return None
    return b"".join(struct.pack("=HBBI", *ins) for ins in prog)


@contextlib.contextmanager
def program_fd() -> Iterator[int | None]:
    """A pipe holding ``program_bytes()``, for ``bwrap --seccomp FD`` (pass it with ``pass_fds``).

    Yields:
        The read end (closed on exit), or None on a machine without a table.
    """
    data = program_bytes()
    if data is None:
        yield None
        return
    read, write = os.pipe()  # a few hundred bytes: fits in the pipe buffer, so the write never blocks
    try:
        os.write(write, data)
        os.close(write)
        yield read
    finally:
        os.close(read)


class _Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Filter))]


def install() -> bool:
    """Install the filter on this process (and everything it execs).

    Returns:
        False on a machine without a table (nothing installed).

    Raises:
        OSError: the kernel refused the filter.
    """
    prog = seccomp_program(platform.machine())
    if prog is None:
        return False
    filters = (_Filter * len(prog))(*[_Filter(*ins) for ins in prog])
    fprog = _Fprog(len(prog), filters)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    if libc().prctl(PR_SET_SECCOMP, _MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "seccomp filter refused")
    return True
