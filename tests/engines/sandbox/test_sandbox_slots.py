"""The sandbox's slots: never more executions at once than ``WORKBENCH_SANDBOX_SLOTS``, waiters served in order."""

from __future__ import annotations

import threading
import time

from engines.config import Settings
from engines.sandbox import slots


def _wait_until(condition, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_never_more_than_the_slot_count_and_first_come_first_served():
    settings = Settings(sandbox_slots=2)
    order: list[int] = []
    counts = {"now": 0, "peak": 0}
    lock, release = threading.Lock(), threading.Event()

    def job(n: int) -> None:
        with slots.slot(settings):
            with lock:
                order.append(n)
                counts["now"] += 1
                counts["peak"] = max(counts["peak"], counts["now"])
            release.wait(60)
            with lock:
                counts["now"] -= 1

    with slots.slot(settings), slots.slot(settings):  # both slots taken: every job queues, in the order started
        threads = []
        for n in range(6):
            threads.append(threading.Thread(target=job, args=(n,)))
            threads[-1].start()
            _wait_until(lambda n=n: len(slots._queue) == n + 1)
        assert order == []
    _wait_until(lambda: len(order) == 2)
    assert order == [0, 1] and counts["now"] == 2
    release.set()
    for t in threads:
        t.join(60)
    assert order == list(range(6)) and counts["peak"] == 2 and slots.active() == 0


def test_the_slot_count_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("WORKBENCH_SANDBOX_SLOTS", "3")
    assert Settings.from_env().sandbox_slots == 3
    monkeypatch.setenv("WORKBENCH_SANDBOX_SLOTS", "0")
    assert Settings.from_env().sandbox_slots == 1
    monkeypatch.delenv("WORKBENCH_SANDBOX_SLOTS")
    assert Settings.from_env().sandbox_slots == 1
