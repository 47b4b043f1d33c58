"""ModelCache: LRU order, byte budget, single flight under threads, failed loads cache nothing."""

from __future__ import annotations

import threading
import time

import pytest

from engines.cache import ModelCache


class Blob:
    def __init__(self, size):
        self.size = size

    def get_memory_footprint(self):
        return self.size


def test_hit_and_lru_order():
    cache = ModelCache(1000)
    a = cache.get("a", lambda: Blob(100))
    cache.get("b", lambda: Blob(100))
    assert cache.get("a", lambda: pytest.fail("reloaded")) is a
    assert cache.keys() == ["b", "a"]
    assert (cache.hits, cache.misses) == (1, 2)
    info = cache.get_with_info("a", lambda: None)
    assert info.hit and info.value is a


def test_budget_evicts_least_recently_used():
    cache = ModelCache(250)
    cache.get("a", lambda: Blob(100))
    cache.get("b", lambda: Blob(100))
    cache.get("a", lambda: Blob(100))  # a is now most recent
    cache.get("c", lambda: Blob(100))  # 300 > 250: evict b
    assert cache.keys() == ["a", "c"] and cache.total_bytes() == 200 and cache.evictions == 1
    cache.get("big", lambda: Blob(1000))  # alone over budget: kept, everything else goes
    assert cache.keys() == ["big"]


def test_single_flight_under_threads():
    cache = ModelCache(10**9)
    calls = []
    gate = threading.Event()

    def loader():
        calls.append(1)
        gate.wait(5)
        return Blob(10)

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get("m", loader))) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(5)
    assert len(calls) == 1 and len(results) == 8 and len({id(r) for r in results}) == 1


def test_failed_load_caches_nothing_and_reaches_every_waiter():
    cache = ModelCache(10**9)
    gate = threading.Event()
    attempts = []

    def bad():
        attempts.append(1)
        gate.wait(5)
        raise RuntimeError("boom")

    errors = []

    def worker():
        try:
            cache.get("m", bad)
        except RuntimeError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(5)
    assert errors == ["boom"] * 4 and len(attempts) == 1
    assert "m" not in cache and len(cache) == 0
    assert cache.get("m", lambda: Blob(1)).size == 1  # the next request loads again


def test_evict_and_clear():
    cache = ModelCache(10**9)
    cache.get("a", lambda: Blob(1))
    cache.get("b", lambda: Blob(1))
    assert cache.evict("a") and not cache.evict("a")
    assert [r["key"] for r in cache.snapshot()] == ["b"]
    cache.clear()
    assert len(cache) == 0 and cache.total_bytes() == 0
