"""tabs.common.coalesce: the one stream coalescer of every tab (Evaluate's own two throttles are gone)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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


def test_updates_held_back_when_the_source_fails_go_out_before_its_error():
    # an update held back by the interval was lost when the source raised next: the page kept what the update
    # before it showed (Chat's failed turn: its "…" bubble, though the conversation had been rolled back)
    def source():
        yield {"chatbot": "turn shown", "status": "running"}
        yield {"chatbot": "rolled back"}
        raise ValueError("the model failed")

    stream = coalesce(source(), min_interval_s=3600)
    assert next(stream) == {"chatbot": "turn shown", "status": "running"}
    assert next(stream) == {"chatbot": "rolled back"}
    with pytest.raises(ValueError, match="the model failed"):
        next(stream)


def test_a_handler_registered_with_on_may_mark_an_update_urgent():
    # on() maps output names to components before its coalescer sees the updates: an URGENT key was an "unknown
    # output" there, and the run failed with "Something went wrong (KeyError)"
    import gradio as gr

    from tabs.common import on

    def handler(n):
        yield {"a": n, URGENT: True}
        yield {"a": n + 1}

    with gr.Blocks() as demo:
        a = gr.Number()
        on(gr.Button().click, handler, [a], {"a": a}, api_name=False)
    fn = demo.fns[max(demo.fns)].fn
    assert [u[a] for u in fn(1)] == [1, 2]


def test_an_event_hidden_from_the_api_does_not_resend_its_outputs_after_its_last_update():
    # the last update "holds every output" for API clients, which read only that one; for a browser-only event it
    # went out as a second message after the one that said "done" and cleared the message box: text typed in between
    # (the next question) was wiped, and the next Send sent an empty message (a loaded Chat browser test)
    import gradio as gr

    from tabs.common import on

    def handler(text):
        yield {"note": "fitted", URGENT: True}
        yield {"status": "done", "message": "", URGENT: True}

    with gr.Blocks() as demo:
        box, status, note = gr.Textbox(), gr.Textbox(), gr.Markdown()
        outputs = {"message": box, "status": status, "note": note}
        on(gr.Button().click, handler, [box], outputs, api_name=False)
        on(gr.Button().click, handler, [box], outputs, api_name="with_api")
    hidden, public = (demo.fns[i].fn for i in sorted(demo.fns)[-2:])
    assert [set(u) for u in hidden("hi")] == [{note}, {status, box}]
    assert [set(u) for u in public("hi")][-1] == {note, status, box}  # an API client's one message holds them all


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
    assert out == [{"status": "a"}, {"status": "b"}]  # the last already holds every output's newest value


def test_a_status_that_only_counts_on_is_coalesced_and_a_new_stage_goes_out_at_once():
    """Every step of a stream resets its status line ("12 tokens so far · 35 ms/token"); the status was urgent, so
    every step's update went out at once: the Next-token view sent one update per token (~40 a second, each
    postprocessed on the server's event loop) instead of at most 20."""
    steps = [{"status": f"<b>{i} tokens</b> so far · {30 + i} ms/token", "text": "x" * i} for i in range(1, 201)]
    updates = [{"status": "Loading the model…"}, *steps, {"status": "<b>200 tokens</b> (stop) · done"}]
    out = list(coalesce(iter(updates), min_interval_s=3600, urgent=frozenset({"status"})))
    assert [u.get("status") for u in out] == [
        "Loading the model…",
        "<b>1 tokens</b> so far · 31 ms/token",  # a new stage: out at once, not held behind the steps that follow
        "<b>200 tokens</b> (stop) · done",  # and the end, with every output's newest value
    ]
    assert out[-1]["text"] == "x" * 200


def test_a_handlers_one_result_is_not_sent_twice():
    """A handler that returns its result (run_state streams "running", then the result) had the whole result sent
    again at the end: its table, chart and notebook file postprocessed twice on the event loop per call."""
    updates = [{"status": "running", "table": None, "file": None}, {"status": "done", "table": "T", "file": "f"}]
    out = list(coalesce(iter(updates), min_interval_s=0, urgent=frozenset({"status"})))
    assert out == updates


def test_the_next_token_view_renders_its_table_and_tokens_only_for_the_updates_that_go_out(tiny, monkeypatch):
    """It built a pandas frame and the coloured tokens at every step, for updates the coalescer then replaced."""
    from tabs.compare import extra

    renders = []
    real = extra._visual
    monkeypatch.setattr(extra, "_visual", lambda rows: renders.append(len(rows)) or real(rows))
    out = list(coalesce(extra.next_tokens(str(tiny["lm-llama"]), "", "Hello", 12, 3, 0.0), min_interval_s=3600))
    assert out[-1]["table"] is not None and "Hello" in out[-1]["visual"]
    assert len(renders) <= 2, renders  # the run's last update (and the last step's, if it went out); not 12


def test_the_next_token_view_sends_its_steps_coalesced_with_its_status_urgent(tiny):
    """As the app streams it (``tabs.common.on``: the status output urgent): not one update per token."""
    from tabs.compare import extra

    out = list(coalesce(extra.next_tokens(str(tiny["lm-llama"]), "", "Hello", 12, 3, 0.0), min_interval_s=3600,
                        urgent=frozenset({"status"})))
    assert len(out) <= 3, [u.get("status") for u in out]  # loading, the first step, the end; it sent 15
    assert "12 tokens" in out[-1]["status"] and out[-1]["table"] is not None
