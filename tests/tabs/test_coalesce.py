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


def test_outputs_whose_value_was_already_sent_are_left_out_of_a_streams_updates():
    """A Compare stream resent every column's header, metrics and visibility with each token: 16 outputs per update
    for one that changed, each postprocessed and diffed on the server's one event loop."""
    import gradio as gr
    import pandas as pd

    frame = pd.DataFrame({"a": [1]})
    updates = [{"head": "<b>m</b>", "col": gr.Column(visible=True), "text": "H", "table": frame},
               {"head": "<b>m</b>", "col": gr.Column(visible=True), "text": "He", "table": frame},
               {"head": "<b>m</b>", "col": gr.Column(visible=False), "text": "He"},
               {"head": "<b>m2</b>", "text": "Hel"}]
    out = list(coalesce(iter(updates), min_interval_s=0))
    assert set(out[0]) == {"head", "col", "text", "table"}
    assert set(out[1]) == {"text", "table"}  # a frame can't be compared cheaply: it goes out again
    assert set(out[2]) == {"col"} and out[2]["col"].constructor_args == {"visible": False}
    assert out[3] == {"head": "<b>m2</b>", "text": "Hel"}
    last = out[-1]  # an API client reads only the last update: it still holds every output's newest value
    assert set(last) == {"head", "col", "text", "table"} and last["text"] == "Hel"


def test_an_update_with_nothing_new_is_not_sent():
    updates = [{"status": "a"}, {"status": "a"}, {"status": "a", URGENT: True}, {"status": "b"}]
    out = list(coalesce(iter(updates), min_interval_s=0))
    assert out == [{"status": "a"}, {"status": "b"}, {"status": "b"}]  # the last: every output's newest value


def test_the_next_token_view_renders_its_table_and_tokens_only_for_the_updates_that_go_out(tiny, monkeypatch):
    """It built a pandas frame and the coloured tokens at every step, for updates the coalescer then replaced."""
    from tabs.compare import extra

    renders = []
    real = extra._visual
    monkeypatch.setattr(extra, "_visual", lambda rows: renders.append(len(rows)) or real(rows))
    out = list(coalesce(extra.next_tokens(str(tiny["lm-llama"]), "", "Hello", 12, 3, 0.0), min_interval_s=3600))
    assert out[-1]["table"] is not None and "Hello" in out[-1]["visual"]
    assert len(renders) <= 2, renders  # the run's last update (and the last step's, if it went out); not 12
