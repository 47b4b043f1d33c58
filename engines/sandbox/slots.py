"""The sandbox's slots: every sandboxed execution, from any tab or from Evaluate, runs in one of
``Settings.sandbox_slots`` (``WORKBENCH_SANDBOX_SLOTS``, default 1), so CPU-bound jobs never pile up on the cores
that answer everything else, and timings aren't disturbed by a neighbour. Waiters get a slot first come, first
served."""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator

from engines.config import Settings

_cond = threading.Condition()
_tickets = itertools.count()
_queue: list[int] = []  # tickets waiting, oldest first
_active = 0


def active() -> int:
    """How many executions hold a slot now."""
    return _active


@contextlib.contextmanager
def slot(settings: Settings | None = None) -> Iterator[None]:
    """Hold one sandbox slot for the block, waiting (first come, first served) while all are taken.

    Args:
        settings: where the slot count comes from (read from the environment when None).
    """
    global _active
    limit = (settings or Settings.current()).sandbox_slots
    with _cond:
        ticket = next(_tickets)
        _queue.append(ticket)
        try:
            _cond.wait_for(lambda: _queue[0] == ticket and _active < limit)
        finally:
            _queue.remove(ticket)
            _cond.notify_all()
        _active += 1
    try:
        yield
    finally:
        with _cond:
            _active -= 1
            _cond.notify_all()
