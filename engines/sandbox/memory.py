"""The memory a job holds, as the watchdog budget measures it: anonymous and shared pages of all its processes, and
shared anonymous objects whole (pages a process touched and let go of stay in the object while any mapping of it is
left). Cheap resident counts every poll; the exact proportional sizes (PSS) only when those say the job is over."""

from __future__ import annotations

import os

from engines.sandbox.procfs import anon_bytes


def _kb_fields(path: str, wanted: tuple[bytes, ...]) -> dict[bytes, int] | None:
    """``Name:  123 kB`` lines of a /proc file, as bytes; None when it can't be read."""
    try:
        with open(path, "rb") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    found = {}
    for line in lines:
        key, _, rest = line.partition(b":")
        if key in wanted:
            found[key] = int(rest.split()[0]) * 1024
    return found


def _resident(pid: int) -> tuple[int, int]:
    """(anonymous, shared memory) resident in one process, each page counted whole (``status``: cheap to read)."""
    kb = _kb_fields(f"/proc/{pid}/status", (b"RssAnon", b"RssShmem"))
    if not kb:
        return anon_bytes(pid), 0
    return kb.get(b"RssAnon", 0), kb.get(b"RssShmem", 0)


def _proportional(pid: int) -> tuple[int, int]:
    """(anonymous, shared memory) of one process, each page divided among the processes that map it (PSS from
    ``smaps_rollup``: a walk of its page tables, ~1 ms for a Python process)."""
    kb = _kb_fields(f"/proc/{pid}/smaps_rollup", (b"Pss", b"Pss_Anon", b"Pss_Shmem"))
    if not kb:
        return _resident(pid)
    if b"Pss_Anon" not in kb:  # kernels before 5.8: all of PSS (file pages too: a bit high)
        return kb.get(b"Pss", 0), 0
    return kb[b"Pss_Anon"], kb.get(b"Pss_Shmem", 0)


def shared_objects(pids: list[int]) -> int:
    """Bytes held by the shared anonymous memory objects (``mmap(MAP_SHARED|MAP_ANONYMOUS)``) the processes map,
    each object once: what it holds (``map_files``: root, or CAP_CHECKPOINT_RESTORE), else the size of its largest
    mapping (all of it could hold pages, resident in no process: touched by a child that exited, or unmapped by
    ``madvise``)."""
    seen: dict[int, int] = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/maps", "rb") as f:
                data = f.read()
        except OSError:
            continue
        if b"/dev/zero" not in data:
            continue
        for line in data.splitlines():
            fields = line.split(None, 5)
            if len(fields) < 6 or not fields[5].startswith(b"/dev/zero") or fields[1][3:4] != b"s":
                continue
            span = fields[0].decode()
            start, end = (int(x, 16) for x in span.split("-"))
            try:
                held = os.stat(f"/proc/{pid}/map_files/{span}").st_blocks * 512
            except OSError:  # no right to look (not root), or the mapping just went
                held = end - start
            seen[int(fields[4])] = max(seen.get(int(fields[4]), 0), held)
    return sum(seen.values())


def job_memory(pids: list[int], limit: int | None = None, objects: int | None = None) -> int:
    """The memory a job's processes hold: anonymous and shared memory (``MAP_SHARED|MAP_ANONYMOUS``, mapped tmpfs
    files) by PSS, so a page several processes map counts once; shared anonymous objects whole.

    Args:
        pids: the job's processes.
        limit: when given, a job whose resident sizes (an upper bound of PSS, cheap) are within it is measured no
            further: the exact sizes are read only to confirm it is over.
        objects: ``shared_objects(pids)`` measured recently (read now when None, and always before confirming).

    Returns:
        Bytes (a vanished process counts 0).
    """
    fresh = objects is None
    objects = shared_objects(pids) if objects is None else objects
    if limit is not None:
        upper = _total([_resident(p) for p in pids], objects)
        if upper <= limit:
            return upper
    return _total([_proportional(p) for p in pids], objects if fresh else shared_objects(pids))


def _total(parts: list[tuple[int, int]], objects: int) -> int:
    """Anonymous memory plus shared memory, the latter at least what the shared objects hold (they overlap: an
    object's resident pages are shared memory of the processes that map them)."""
    return sum(a for a, _ in parts) + max(sum(s for _, s in parts), objects)
