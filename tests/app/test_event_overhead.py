"""What the server does around every event, beyond the handler (issue 26, item 10: cheap calls under a crowd)."""

from __future__ import annotations

import asyncio
import functools
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


def _run(coro):
    """``asyncio.run(coro)`` in a thread of its own: in the whole suite the worker's main thread may already have a
    running loop (a browser test's Playwright, whose sync API keeps one there)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _count_constructions(monkeypatch, classes) -> list[str]:
    made: list[str] = []
    for cls in classes:
        original = cls.__init__

        @functools.wraps(original)
        def counting(self, *args, _original=original, **kwargs):
            made.append(type(self).__name__)
            _original(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", counting)
    return made


def test_outputs_a_handler_leaves_unchanged_make_no_component_and_go_out_as_no_change(monkeypatch):
    """A stream's update names the outputs that changed; Gradio made a new component for each of the others (a
    Compare stream: ~30 of 33 outputs, up to 20 updates a second, each ~0.3-0.9 ms on the event loop)."""
    from tabs.sessions import LeanSessionState

    with WorkbenchBlocks() as demo:
        md, html, col, box, kept = gr.Markdown("a"), gr.HTML("<b>x</b>"), gr.Column(), gr.Textbox(), gr.State(1)
        gr.Button().click(lambda: None, None, [md, html, col, box, kept])
    fn = next(iter(demo.fns.values()))
    own = _run(gr.Blocks.postprocess_data(demo, fn, {box: "new"}, LeanSessionState(demo)))
    made = _count_constructions(monkeypatch, (gr.Markdown, gr.HTML, gr.Column, gr.Textbox))

    out = _run(demo.postprocess_data(fn, {box: "new"}, LeanSessionState(demo)))
    assert made == []
    assert out == [gr.skip(), gr.skip(), gr.skip(), "new", None]
    assert out[3] == own[3] and out[4] == own[4]
    for gradios in own[:3]:  # Gradio's own answer for those outputs sets nothing either
        assert gradios.get("__type__") == "update" and set(gradios) <= {"__type__", "props"}
        assert gradios.get("props", {"__type__": "update"}) == {"__type__": "update"}

    assert _run(demo.postprocess_data(fn, gr.skip(), LeanSessionState(demo))) == [gr.skip()] * 4 + [None]
    assert made == []
    # an output given a value or an update still goes through Gradio (its value postprocessed, the update applied)
    out = _run(demo.postprocess_data(fn, {md: "**b**", col: gr.Column(visible=False)}, LeanSessionState(demo)))
    assert out[0] == "**b**" and out[2]["visible"] is False and out[1] == out[3] == gr.skip()


def test_a_streaming_event_called_directly_is_refused_with_the_route_that_gives_its_result():
    """``POST /gradio_api/run/<name>`` answers with a stream's first update only: for the app's events that is the
    status line's "Running…" with every result empty, which a curl user took for the answer."""
    import json
    import urllib.error
    import urllib.request

    def count(n):
        for i in range(int(n)):
            yield str(i + 1)

    with WorkbenchBlocks() as demo:
        box, out = gr.Number(), gr.Textbox()
        gr.Button().click(count, box, out, api_name="count")
        gr.Button().click(lambda n: str(n), box, out, api_name="echo")
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)

    def post(route: str, data: list):
        request = urllib.request.Request(f"{url}gradio_api/{route}", data=json.dumps({"data": data}).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=120) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    try:
        status, body = post("run/count", [3])
        assert status != 200 and "data" not in body
        assert "/gradio_api/call/count" in body["error"] and "first update" in body["error"]
        status, body = post("run/echo", [3])  # an event that doesn't stream still answers on the direct route
        assert status == 200 and body["data"] == ["3"]
        status, body = post("call/count", [3])  # the queue gives the whole stream
        with urllib.request.urlopen(f"{url}gradio_api/call/count/{body['event_id']}", timeout=120) as r:
            stream = r.read().decode()
        assert 'event: complete\ndata: ["3"]' in stream
    finally:
        demo.close()


def test_the_start_check_waits_for_a_slow_page_and_still_fails_a_refused_connection(monkeypatch):
    """Gradio's start check sent one HEAD / with a 3 s timeout and took a timeout as "localhost is not accessible":
    an in-process launch of the app failed so in a loaded test run ("a shareable link must be created")."""
    import httpx
    from gradio import networking

    from tabs.server import patient_start_check

    answers = iter([httpx.TimeoutException("slow"), httpx.TimeoutException("slow"), httpx.Response(200)])

    def head(url, **kwargs):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(httpx, "head", head)
    monkeypatch.setattr(networking, "url_ok", networking.url_ok)  # restored after the test
    patient_start_check()
    assert networking.url_ok("http://127.0.0.1:1/")  # answered after two timeouts

    def refused(url, **kwargs):
        raise httpx.ConnectError("refused")

    monkeypatch.setattr(httpx, "head", refused)
    assert not networking.url_ok("http://127.0.0.1:1/")  # at once, as Gradio's own
