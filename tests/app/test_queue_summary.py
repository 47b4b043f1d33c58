"""Gradio's queue summarized every recorded event after each event (a pandas frame of up to 10,000 events, grouped,
with percentiles: 4-27 ms holding the GIL per event, ~20 % of a cheap call's server time) for its monitoring page,
which the app leaves off. With the page off the summary is never made; with it on, Gradio's behaviour stays."""

from __future__ import annotations

import gradio as gr
import pytest
from app_helpers import free_port
from gradio.queueing import Queue

from tabs.server import WorkbenchBlocks


@pytest.mark.parametrize("monitoring", [False, True])
def test_the_queue_summarizes_events_only_for_a_monitoring_page(monkeypatch, monitoring):
    made = []
    get_df = Queue._get_df
    monkeypatch.setattr(Queue, "_get_df", staticmethod(lambda records: made.append(len(records)) or get_df(records)))
    with WorkbenchBlocks() as demo:
        box = gr.Textbox()
        out = gr.Textbox()
        gr.Button().click(lambda text: text.upper(), box, out, api_name="shout")
    demo.queue()
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                enable_monitoring=monitoring)
    try:
        from gradio_client import Client

        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        assert [client.predict(word, api_name="/shout") for word in ("a", "b", "c")] == ["A", "B", "C"]
    finally:
        demo.close()
    assert (len(made) >= 3) if monitoring else made == [], made
