"""Session state is bounded: a crowd of calls without a reused session can't fill the server's memory (issue 26)."""

from __future__ import annotations

import dataclasses
import json
import tracemalloc
import urllib.request

import gradio as gr
import pytest

from engines.config import Settings
from tabs.server import WorkbenchBlocks
from tabs.sessions import _ADDRESS, BoundedStateHolder, LeanSessionState


@pytest.fixture(scope="module")
def demo():
    """The whole app (its ~760 blocks are what made each session cost ~1.3 MB)."""
    import app

    return app.build_demo()


def _served(max_sessions: int, per_address: int):
    import app

    settings = dataclasses.replace(Settings.from_env(), max_sessions=max_sessions,
                                   max_sessions_per_address=per_address)
    demo = app.build_demo(settings)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    return demo, url


def _fresh_session_call(url: str) -> None:
    """``POST /gradio_api/call/status`` then read its result: each such call is a new session."""
    request = urllib.request.Request(f"{url}gradio_api/call/status", data=json.dumps({"data": []}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as r:
        event_id = json.loads(r.read())["event_id"]
    with urllib.request.urlopen(f"{url}gradio_api/call/status/{event_id}", timeout=120) as r:
        assert b"event: complete" in r.read()


def test_fresh_session_calls_keep_at_most_max_sessions():
    demo, url = _served(max_sessions=5, per_address=1000)
    try:
        for _ in range(12):
            _fresh_session_call(url)
        assert 1 <= len(demo.app.state_holder.session_data) <= 5
        # the queue's per-session records go with the sessions (Gradio never removes them for a finished call)
        assert len(demo._queue.pending_event_ids_session) <= 5
        assert len(demo._queue.pending_messages_per_session) <= 5
    finally:
        demo.close()


def test_one_address_keeps_at_most_its_share_of_sessions():
    demo, url = _served(max_sessions=1000, per_address=3)
    try:
        for _ in range(8):
            _fresh_session_call(url)
        holder = demo.app.state_holder
        assert 1 <= len(holder.session_data) <= 3
        assert holder.sessions_of("127.0.0.1") == len(holder.session_data)
    finally:
        demo.close()


def _small_blocks() -> gr.Blocks:
    with WorkbenchBlocks() as small:
        box = gr.Textbox("hello", label="in")
        out = gr.Textbox(label="out")
        gr.State({"kept": 1})
        box.submit(lambda s: s, box, out, api_name="echo")
    return small


def test_an_address_over_its_cap_loses_its_own_sessions_not_others():
    holder = BoundedStateHolder(capacity=100, per_address=3)
    holder.set_blocks(_small_blocks())
    token = _ADDRESS.set("10.0.0.1")
    holder["alice"]
    _ADDRESS.reset(token)
    token = _ADDRESS.set("10.0.0.2")
    for n in range(10):
        holder[f"crowd-{n}"]
    _ADDRESS.reset(token)
    assert "alice" in holder
    assert holder.sessions_of("10.0.0.2") == 3
    assert set(holder.session_data) == {"alice", "crowd-7", "crowd-8", "crowd-9"}


def test_an_address_over_its_cap_loses_its_least_recently_used_session_not_its_oldest():
    holder = BoundedStateHolder(capacity=100, per_address=3)
    holder.set_blocks(_small_blocks())
    token = _ADDRESS.set("10.0.0.1")
    for name in ("page", "b", "c"):
        holder[name]
    holder["page"]  # the page is used again: "b" is now its address's least recently used session
    holder["d"]
    _ADDRESS.reset(token)
    assert set(holder.session_data) == {"page", "c", "d"}


def test_a_session_with_an_event_in_flight_is_not_forgotten():
    """A page streaming a long Compare run lost its session to newer sessions from its address (the loopback, in
    the whole suite): its Stop then found an empty session and the run went on (seen once in the browser tests)."""
    small = _small_blocks()
    holder = BoundedStateHolder(capacity=4, per_address=3)
    holder.set_blocks(small)
    token = _ADDRESS.set("10.0.0.1")
    holder["page"]
    small._queue.pending_event_ids_session["page"] = {"event-1"}  # its run is queued or running
    for n in range(10):
        holder[f"crowd-{n}"]
    assert "page" in holder and holder.sessions_of("10.0.0.1") == 3
    _ADDRESS.reset(token)
    token = _ADDRESS.set("10.0.0.2")
    for n in range(10):
        holder[f"other-{n}"]
    _ADDRESS.reset(token)
    assert "page" in holder and len(holder.session_data) == 4  # the total cap passes it over too
    small._queue.pending_event_ids_session.pop("page")  # the run ended: the page is an ordinary session again
    holder["other-10"]
    assert "page" not in holder and len(holder.session_data) == 4


def test_a_served_page_streaming_a_run_keeps_its_session_through_a_crowd_of_new_ones():
    """The same through Gradio's own queue: a run streaming for a session while fresh-session calls from the same
    address pass its cap; the run's session stays, and goes when it has ended and others need the room."""
    import threading
    import time

    from gradio_client import Client

    settings = dataclasses.replace(Settings.from_env(), max_sessions=1000, max_sessions_per_address=3)
    release = threading.Event()

    def slow(text):
        for n in range(600):  # a long run: until the test lets it end (at most ~60 s)
            if release.is_set():
                break
            time.sleep(0.1)
            yield f"{text} {n}"

    with WorkbenchBlocks(settings=settings) as small:
        box, out = gr.Textbox(label="in"), gr.Textbox(label="out")
        box.submit(slow, box, out, api_name="slow")
        gr.Button().click(lambda: "ok", None, out, api_name="status")
    _, url, _ = small.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        page = Client(url, verbose=False)
        job = page.submit("run", api_name="/slow")
        holder = small.app.state_holder
        while page.session_hash not in holder.session_data or not job.outputs():  # it streams
            time.sleep(0.05)
        state = holder.session_data[page.session_hash]
        for _ in range(6):
            _fresh_session_call(url)
        # the same state (the old holder dropped it, and the run's next step made a new, empty one)
        assert holder.session_data.get(page.session_hash) is state and holder.sessions_of("127.0.0.1") == 3
        release.set()
        job.result(timeout=120)
        while small._queue.pending_event_ids_session.get(page.session_hash):
            time.sleep(0.05)
        for _ in range(3):
            _fresh_session_call(url)
        assert page.session_hash not in holder.session_data and holder.sessions_of("127.0.0.1") == 3
    finally:
        release.set()
        small.close()


def test_the_total_cap_forgets_the_least_recently_used_session():
    holder = BoundedStateHolder(capacity=3, per_address=100)
    holder.set_blocks(_small_blocks())
    for name in ("a", "b", "c"):
        holder[name]
    holder["a"]  # used again: "b" is now the oldest
    holder["d"]
    assert set(holder.session_data) == {"a", "c", "d"}


def test_lean_session_has_gradio_sessions_attributes_and_deep_link_configs():
    """LeanSessionState mirrors gradio 6.31's SessionState (a Gradio upgrade that changes it fails here)."""
    from gradio.state_holder import SessionState

    small = _small_blocks()
    plain, lean = SessionState(small), LeanSessionState(small)
    assert set(vars(lean)) - {"_root_ids", "_changed", "_values"} == set(vars(plain))
    assert list(lean.components) == list(plain.components)
    box = next(b for b in small.blocks.values() if getattr(b, "label", None) == "in")
    for state in (plain, lean):
        state._update_value_in_config(box._id, "changed")
    assert list(lean.components) == list(plain.components)
    assert any(c.get("props", {}).get("value") == "changed" for c in lean.components)
    state_block = next(k for k, b in small.blocks.items() if isinstance(b, gr.State))
    assert lean[state_block] == {"kept": 1}


def test_a_calls_updates_make_no_block_config_and_deep_links_list_the_same(monkeypatch):
    """Issue 26 (10): every input and output of a call remade that block's config (its API schema, three times) on
    the event loop, ~11 % of the loop's time under a crowd of fresh-session calls; now a deep link makes them, and
    lists what Gradio's own session would after the same updates."""
    from gradio.blocks import BlocksConfig
    from gradio.state_holder import SessionState

    small = _small_blocks()
    box = next(b for b in small.blocks.values() if getattr(b, "label", None) == "in")
    out = next(b for b in small.blocks.values() if getattr(b, "label", None) == "out")
    plain, lean = SessionState(small), LeanSessionState(small)

    def updates(state):
        state._update_value_in_config(box._id, "typed")  # an input's value (preprocess)
        state[out._id] = gr.Textbox(label="out", lines=4, render=False)  # a prop update (postprocess)
        state._update_config(out._id)
        state._update_value_in_config(out._id, "answer")
        state[box._id] = gr.Textbox("hello", label="in", interactive=False, render=False)
        state._update_config(box._id)  # remade: the value typed before is gone, as in Gradio's

    updates(plain)
    made = []
    real = BlocksConfig.config_for_block
    monkeypatch.setattr(BlocksConfig, "config_for_block",
                        staticmethod(lambda *a, **k: made.append(a[0]) or real(*a, **k)))
    updates(lean)
    assert made == []  # nothing made during the call
    assert list(lean.components) == list(plain.components)
    assert made  # ...made when listed
    listed = {c["id"]: c for c in lean.components}
    assert listed[out._id]["props"]["value"] == "answer" and listed[out._id]["props"]["lines"] == 4
    assert listed[box._id]["props"]["interactive"] is False


def test_a_new_session_costs_a_small_fraction_of_gradios(demo):
    from gradio.state_holder import SessionState

    def retained(make) -> int:
        tracemalloc.start()
        try:
            kept = [make(demo) for _ in range(5)]
            size = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        assert kept
        return size

    assert retained(LeanSessionState) * 10 < retained(SessionState)


def test_a_call_without_a_session_makes_no_full_session_state(monkeypatch):
    """curl's ``POST /gradio_api/run/<name>`` without a ``session_hash`` (an event that isn't queued: the status line)
    made Gradio's full ``SessionState`` per call: a copy of every block's config, ~50 ms of the event loop for this
    app while every other call waited."""
    from gradio.state_holder import SessionState

    with WorkbenchBlocks() as small:
        box, out = gr.Textbox(), gr.Textbox()
        gr.Button().click(lambda text: text.upper(), box, out, api_name="shout", queue=False)
    full: list[str] = []
    original = SessionState.__init__

    def counting(self, blocks):
        full.append(type(self).__name__)
        original(self, blocks)

    monkeypatch.setattr(SessionState, "__init__", counting)  # LeanSessionState doesn't call it: only full ones count
    _, url, _ = small.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        for word in ("hi", "there"):
            request = urllib.request.Request(f"{url}gradio_api/run/shout", data=json.dumps({"data": [word]}).encode(),
                                             headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=120) as r:
                assert json.loads(r.read())["data"] == [word.upper()]
    finally:
        small.close()
    assert full == []
