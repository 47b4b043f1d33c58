"""What the server does around every event, beyond the handler (issue 26, item 10: cheap calls under a crowd)."""

from __future__ import annotations

import importlib.util
import socket
import sys

import gradio as gr
import pytest

from tabs.server import WorkbenchBlocks


class _Lookups:
    """A ``sys.meta_path`` finder that only notes which modules were searched for."""

    def __init__(self):
        self.names: list[str] = []

    def find_spec(self, name, path=None, target=None):
        self.names.append(name)
        return None


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is not None, reason="matplotlib is installed here")
def test_events_dont_search_for_a_missing_matplotlib(monkeypatch):
    """Gradio's per-event matplotlib switch imported matplotlib twice per event; not installed, each failed import
    searched all of sys.path again, on the event loop."""
    with WorkbenchBlocks() as demo:
        box, out = gr.Textbox(), gr.Textbox()
        gr.Button().click(lambda text: text.upper(), box, out, api_name="shout")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    lookups = _Lookups()
    try:
        from gradio_client import Client

        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        monkeypatch.setattr(sys, "meta_path", [lookups, *sys.meta_path])
        assert [client.predict(word, api_name="/shout") for word in ("a", "b", "c")] == ["A", "B", "C"]
    finally:
        demo.close()
    assert "matplotlib" not in lookups.names
