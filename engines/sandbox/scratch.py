"""A job's scratch directory: created for one execution, measured while the job runs, deleted whatever the job did
to its permissions."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from engines.config import Settings
from engines.sandbox.commands import INSIDE, job_uid

MAX_ENTRIES = 10_000  # more files than this in one scratch dir counts as over its budget (and bounds each walk)


def scratch_parent(uid: int | None, settings: Settings | None = None) -> str:
    """Where scratch dirs go: WORKBENCH_SCRATCH_DIR (``Settings.scratch_dir``), else the temp dir (or /tmp when a
    throw-away uid could not traverse the temp dir)."""
    parent = (settings or Settings.current()).scratch_dir or tempfile.gettempdir()
    if uid is not None and not all(p.stat().st_mode & 0o001 for p in [Path(parent), *Path(parent).parents]):
        return "/tmp"
    return parent


def _give_back(path: str) -> None:
    """Add owner rwx to a directory a job locked (chmod 0), without following a symlink put in its place: the
    O_PATH descriptor names the inode itself. Only ever adds our own bits, so a race costs nothing."""
    fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        mode = os.stat(fd).st_mode
        os.chmod(f"/proc/self/fd/{fd}", stat.S_IMODE(mode) | 0o700)
    finally:
        os.close(fd)


def _entries(path: str) -> list[os.DirEntry]:
    if os.geteuid() != 0:  # root reads anything; a non-root server owns what the job made and takes rwx back
        st = os.lstat(path)
        if stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) & 0o700 != 0o700:
            _give_back(path)
    with os.scandir(path) as it:
        return list(it)


def walk(root: Path, limit: int = MAX_ENTRIES) -> Iterator[os.DirEntry]:
    """Every entry under ``root`` (no symlink followed), unlocking directories the job made unreadable.

    Args:
        root: the directory.
        limit: stop after this many entries.

    Yields:
        The entries, directories before what they hold.
    """
    stack, seen = [str(root)], 0
    while stack:
        try:
            entries = _entries(stack.pop())
        except OSError:
            continue
        for entry in entries:
            seen += 1
            if seen > limit:
                return
            yield entry
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
            except OSError:
                continue


def disk_usage(root: Path) -> tuple[int, int]:
    """Bytes allocated under ``root`` (hard links counted once) and the number of entries (at most MAX_ENTRIES+1).

    Returns:
        (bytes, entries).
    """
    used, entries, inodes = 0, 0, set()
    for entry in walk(root, MAX_ENTRIES + 1):
        entries += 1
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if st.st_nlink > 1 and not stat.S_ISDIR(st.st_mode):
            if st.st_ino in inodes:
                continue
            inodes.add(st.st_ino)
        used += st.st_blocks * 512
    return used, entries


def remove_tree(root: Path) -> bool:
    """Delete ``root`` and everything in it, whatever permissions the job left on nested folders.

    Call it only once every process of the job is gone (nothing can swap a folder for a symlink any more).

    Returns:
        True when nothing is left.
    """
    for _ in range(3):
        shutil.rmtree(root, ignore_errors=True)
        if not os.path.lexists(root):
            return True
        try:
            _give_back(str(root))
            for _entry in walk(root, limit=10**9):
                pass
        except OSError:
            pass
    return not os.path.lexists(root)


@dataclass
class Job:
    """One execution's place: the isolation mode, the scratch dir and the throw-away uid (None = ours)."""

    mode: str
    scratch: Path
    uid: int | None

    def path(self, name: str) -> str:
        """A scratch file's path as the program sees it."""
        return f"{INSIDE}/{name}" if self.mode == "bwrap" else str(self.scratch / name)

    def write(self, name: str, data: bytes, mode: int = 0o644) -> None:
        """Put a file into the scratch dir (owned by us; the job may read it, and replace it only in this dir)."""
        target = self.scratch / name
        target.write_bytes(data)
        target.chmod(mode)


class Scratch:
    """A fresh scratch directory owned by the job's uid, removed (with everything in it) on exit."""

    def __init__(self, mode: str, settings: Settings | None = None):
        uid = job_uid()
        parent = scratch_parent(uid, settings)
        self.job = Job(mode=mode, scratch=Path(tempfile.mkdtemp(prefix="wb-job-", dir=parent)), uid=uid)

    def __enter__(self) -> Job:
        if self.job.uid is not None:
            os.chown(self.job.scratch, self.job.uid, self.job.uid)
        return self.job

    def __exit__(self, *exc) -> None:
        remove_tree(self.job.scratch)


def read_output(path: Path, max_bytes: int) -> bytes | None:
    """Read a file the job produced (e.g. the compiled binary) without following a symlink it put there.

    Returns:
        The bytes, or None when it is missing, not a regular file, or larger than ``max_bytes``.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
            return None
        with os.fdopen(os.dup(fd), "rb") as f:
            return f.read(max_bytes + 1)[:max_bytes]
    finally:
        os.close(fd)
