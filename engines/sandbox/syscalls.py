"""The libc calls the sandbox makes (prctl). Standard library only: the job launcher imports this module too."""

from __future__ import annotations

import ctypes
import functools
import platform

PR_SET_DUMPABLE, PR_SET_SECCOMP, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 4, 22, 36, 38


@functools.cache
def libc() -> ctypes.CDLL:
    """The C library of this process, with ``errno`` kept for ``ctypes.get_errno()``."""
    return ctypes.CDLL(None, use_errno=True)


def prctl(option: int, value: int) -> bool:
    """``prctl(option, value, 0, 0, 0)``.

    Returns:
        True when the call succeeded.
    """
    try:
        return libc().prctl(option, ctypes.c_ulong(value), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def make_non_dumpable() -> bool:
    """``prctl(PR_SET_DUMPABLE, 0)``: other processes of this uid can no longer read our memory or environ.

    Returns:
        True when the flag was set (Linux only).
    """
    return platform.system() == "Linux" and prctl(PR_SET_DUMPABLE, 0)
