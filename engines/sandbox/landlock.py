"""Landlock: the job may read the system directories and write only its scratch dir, and make no TCP connection.

Standard library only: the job launcher applies it in the forked child just before ``exec``.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform

from engines.sandbox.syscalls import PR_SET_NO_NEW_PRIVS, libc, prctl

_SYS_CREATE, _SYS_ADD_RULE, _SYS_RESTRICT = 444, 445, 446  # the same numbers on x86_64 and aarch64
_RULE_PATH_BENEATH = 1
_FS_FILE = 1 | 2 | 4  # execute, write_file, read_file
_FS_READ = 1 | 4 | 8  # execute, read_file, read_dir
_TRUNCATE, _IOCTL_DEV = 1 << 14, 1 << 15
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/full")


@functools.cache
def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0 = unavailable).

    Returns:
        The ABI version, cached for the process.
    """
    if platform.system() != "Linux":
        return 0
    try:
        version = libc().syscall(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
    except (OSError, AttributeError):
        return 0
    return max(0, int(version))


def _fs_all(abi: int) -> int:
    bits = (1 << 13) - 1  # ABI 1: execute … make_sym
    if abi >= 2:
        bits |= 1 << 13  # refer
    if abi >= 3:
        bits |= _TRUNCATE
    if abi >= 5:
        bits |= _IOCTL_DEV
    return bits


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _ruleset(abi: int) -> int:
    """A ruleset that handles every filesystem right, TCP bind/connect (ABI 4) and the IPC scopes (ABI 6)."""
    attr = (ctypes.c_uint64 * 3)(_fs_all(abi), 3 if abi >= 4 else 0, 3 if abi >= 6 else 0)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    fd = libc().syscall(_SYS_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    if fd < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    return fd


def _allow(ruleset: int, path: str, access: int, fs_all: int) -> None:
    try:
        pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return
    file_only = not os.path.isdir(path)
    rights = access & (_FS_FILE | _TRUNCATE | _IOCTL_DEV) & fs_all if file_only else access & fs_all
    rule = _PathBeneath(rights, pfd)
    libc().syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH), ctypes.byref(rule),
                   ctypes.c_uint32(0))
    os.close(pfd)


def restrict(scratch: str, readable: list[str]) -> None:
    """Restrict this process (and what it execs): read ``readable``, write only ``scratch``, no TCP.

    Args:
        scratch: the job's scratch directory (every right).
        readable: directories the job may read and execute from.

    Raises:
        OSError: the kernel refused the ruleset.
    """
    abi = landlock_abi()
    fs_all = _fs_all(abi)
    ruleset = _ruleset(abi)
    for path in readable:
        _allow(ruleset, path, _FS_READ, fs_all)
    for dev in DEVICES:
        _allow(ruleset, dev, _FS_FILE | _TRUNCATE, fs_all)
    _allow(ruleset, scratch, fs_all, fs_all)
    if not prctl(PR_SET_NO_NEW_PRIVS, 1) or libc().syscall(_SYS_RESTRICT, ctypes.c_int(ruleset),
                                                             ctypes.c_uint32(0)) != 0:
        raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    os.close(ruleset)
