"""Gradio's queue looked for an event to start every millisecond and for progress to send every 10 ms, idle or not
(~1,000 wake-ups of the event loop a second, each one waiting for a core on a machine busy with a model). The app's
queue looks when an event is pushed, starts or finishes (tabs/event_queue.py); these tests take its safety net (a
look every ``SAFETY_S``) out of the way, so each event below can only start because something woke the loop."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import gradio as gr
import pytest
from app_helpers import free_port

from tabs import event_queue
from tabs.server import WorkbenchBlocks


@contextmanager
def _serving(demo: WorkbenchBlocks):
    """``demo`` launched on a free port: its URL; closed after."""
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


def _until_processing(job) -> None:
    """Wait (up to 120 s) until ``job`` runs: it has its group's one slot."""
    deadline = time.monotonic() + 120
    while job.status().code.name != "PROCESSING" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert job.status().code.name == "PROCESSING"


class _CountingGroups(dict):
    """The queue's concurrency groups, counting how often the queue's size is read (``len(queue)`` reads
    ``.values()``): what the processing loop does each time it looks for an event to start."""

    looks = 0

    def values(self):
        _CountingGroups.looks += 1
        return super().values()


class _CountingJobs(list):
    """The queue's workers, counting how often they are gone through: what the progress loop does each time it
    looks for progress to send."""

    looks = 0

    def __iter__(self):
        _CountingJobs.looks += 1
        return super().__iter__()


@pytest.fixture
def served(monkeypatch):
    monkeypatch.setattr(event_queue, "SAFETY_S", 3600.0)  # only a push or a finished event wakes the loop
    gate = threading.Event()
    with WorkbenchBlocks() as demo:
        box = gr.Textbox()
        out = gr.Textbox()
        gr.Button().click(lambda text: text.upper(), box, out, api_name="shout", concurrency_limit=1)
        gr.Button().click(lambda text: gate.wait(120) and text, box, out, api_name="held", concurrency_limit=1)

        def counted(text, progress=gr.Progress()):
            progress(0.5, desc="half way")
            return gate.wait(120) and text

        gr.Button().click(counted, box, out, api_name="counted")
    demo.queue()
    with _serving(demo) as url:
        try:
            yield demo, url, gate
        finally:
            gate.set()


def test_an_idle_queue_does_not_look_for_events_every_millisecond(served):
    from gradio_client import Client

    demo, url, _ = served
    assert Client(url, verbose=False).predict("warm", api_name="/shout") == "WARM"  # the loop runs
    queue = demo._queue
    queue.event_queue_per_concurrency_id = _CountingGroups(queue.event_queue_per_concurrency_id)
    queue.active_jobs = _CountingJobs(queue.active_jobs)
    _CountingGroups.looks = _CountingJobs.looks = 0
    time.sleep(1.0)
    # Gradio's loops: one look per millisecond and one per 10 ms they got a core (hundreds, and up to 100, in this
    # second); here none: nothing came
    assert _CountingGroups.looks <= 2 and _CountingJobs.looks <= 2, (_CountingGroups.looks, _CountingJobs.looks)


def test_each_event_starts_when_pushed_or_when_its_slot_frees(served):
    """20 calls at once into a one-slot group: each waits for the one before it to finish, and starts because that
    finish woke the loop; a call to another group starts while one is held; a cancelled call frees its slot."""
    from gradio_client import Client

    demo, url, gate = served
    client = Client(url, verbose=False)
    held = client.submit("x", api_name="/held")
    _until_processing(held)
    jobs = [client.submit(f"w{i}", api_name="/shout") for i in range(20)]
    assert [job.result(timeout=120) for job in jobs] == [f"W{i}" for i in range(20)]
    waiting = client.submit("y", api_name="/held")  # behind the held call, in its group
    gate.set()
    assert held.result(timeout=120) == "x"
    assert waiting.result(timeout=120) == "y"  # started because the held call's end woke the loop
    assert demo._queue.get_active_worker_count() == 0


def test_a_running_events_progress_goes_out(served):
    """The progress loop sleeps while no event runs; an event that starts wakes it, and its progress is sent."""
    from gradio_client import Client

    _, url, gate = served
    job = Client(url, verbose=False).submit("z", api_name="/counted")
    seen, deadline = [], time.monotonic() + 120
    # the event holds until the gate opens: its progress is all there is to see
    while not seen and not job.done() and time.monotonic() < deadline:
        status = job.status()
        seen = [unit.desc for unit in status.progress_data or []]
        time.sleep(0.05)
    gate.set()
    assert seen == ["half way"]
    assert job.result(timeout=120) == "z"


def test_a_closed_app_launched_again_still_runs_its_events():
    """Each launch runs the queue's loops on a new event loop: what wakes them is made for that loop (one made for
    the first launch's loop failed the second launch's processing loop, and every call then found the queue full)."""
    from gradio_client import Client

    with WorkbenchBlocks() as demo:
        box = gr.Textbox()
        out = gr.Textbox()
        gr.Button().click(lambda text: text.upper(), box, out, api_name="shout")
    for word in ("first", "second"):
        with _serving(demo) as url:
            assert Client(url, verbose=False).predict(word, api_name="/shout") == word.upper()


def test_a_full_queue_says_so_at_once_and_serves_again_once_it_drains(monkeypatch):
    """Too many calls: the one past the queue's size is told the queue is full (Gradio's answer, through this
    queue's push), the waiting ones start as the slot frees, and the app serves the next call."""
    from gradio_client import Client
    from gradio_client.utils import QueueError

    monkeypatch.setattr(event_queue, "SAFETY_S", 3600.0)
    gate = threading.Event()
    with WorkbenchBlocks() as demo:
        box = gr.Textbox()
        out = gr.Textbox()
        gr.Button().click(lambda text: gate.wait(120) and text, box, out, api_name="held", concurrency_limit=1)
    demo.queue(max_size=2)
    with _serving(demo) as url:
        try:
            client = Client(url, verbose=False)
            running = client.submit("a", api_name="/held")
            _until_processing(running)
            waiting = [client.submit(word, api_name="/held") for word in ("b", "c")]
            deadline = time.monotonic() + 120
            while len(demo._queue) < 2 and time.monotonic() < deadline:  # both wait in the queue
                time.sleep(0.05)
            with pytest.raises(QueueError, match="full"):
                client.predict("d", api_name="/held")
            gate.set()
            assert [job.result(timeout=120) for job in (running, *waiting)] == ["a", "b", "c"]
            assert client.predict("e", api_name="/held") == "e"
        finally:
            gate.set()
