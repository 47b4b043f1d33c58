"""tabs.common.coalesce: the one stream coalescer of every tab (Evaluate's own two throttles are gone)."""

from __future__ import annotations

import re
from pathlib import Path

from tabs.common import URGENT, Later, coalesce

TABS = Path(__file__).resolve().parents[2] / "tabs"


def test_later_values_are_computed_only_for_the_updates_that_go_out():
    renders = []

    def render(i):
        renders.append(i)
        return f"<table {i}>"

    updates = ({"status": f"{i}", "table": Later(lambda i=i: render(i))} for i in range(200))
    out = list(coalesce(updates, min_interval_s=3600))
    assert out[0] == {"status": "0", "table": "<table 0>"}  # the first goes out at once
    assert out[-1] == {"status": "199", "table": "<table 199>"}  # the last holds every key's newest value
    assert renders == [0, 199]  # 198 renders skipped: their updates were replaced before going out


def test_an_urgent_update_goes_out_at_once_without_its_marker():
    updates = [{"status": "a"}, {"table": "t1"}, {"status": "stage 2", URGENT: True}, {"table": "t2"}]
    out = list(coalesce(iter(updates), min_interval_s=3600))
    assert out[1] == {"table": "t1", "status": "stage 2"} and all(URGENT not in u for u in out)
    assert out[-1] == {"status": "stage 2", "table": "t2"}


def test_closing_the_stream_closes_its_source():
    closed = []

    def source():
        try:
            for i in range(100):
                yield {"n": i}
        finally:
            closed.append(True)  # e.g. Evaluate's events.close(): the engine stops its requests

    stream = coalesce(source(), min_interval_s=0)
    next(stream)
    stream.close()  # Stop in the UI
    assert closed == [True]


def test_evaluate_has_no_throttle_of_its_own():
    files = [p for p in TABS.rglob("*.py") if "evaluate" in p.relative_to(TABS).as_posix()]
    assert files
    for path in files:
        assert not re.search(r"time\.monotonic|shown >= STREAM", path.read_text(encoding="utf-8")), path
    assert sum("coalesce(" in p.read_text(encoding="utf-8") for p in files) >= 2  # the evaluation and the check


def test_the_first_update_goes_out_at_once_on_a_machine_up_for_seconds(monkeypatch):
    """time.monotonic() counts from boot: on a VM up for 10 minutes, a 1-hour interval held back the first update
    too (the coalescer's clock started at 0, not at minus infinity)."""
    import time

    clock = iter(range(5, 10_000))
    monkeypatch.setattr(time, "monotonic", lambda: float(next(clock)))  # up for 5 s
    out = list(coalesce(iter([{"status": "a"}, {"status": "b"}, {"status": "c"}]), min_interval_s=3600))
    assert out[0] == {"status": "a"} and out[-1] == {"status": "c"}
