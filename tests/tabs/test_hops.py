"""tabs.hops: a quick component's pre/postprocess runs in place on the event loop; the function and heavy steps
still go to Gradio's thread pool."""

from __future__ import annotations

import asyncio
import threading

import gradio as gr
from gradio import blocks, queueing

from tabs import hops
from tabs.server import NEVER


def _in_place(func, *args) -> bool:
    """Whether Gradio's ``anyio.to_thread.run_sync(func, *args)`` ran ``func`` on the event loop's own thread (an event
    loop of its own, in a thread of its own: another test may have left this thread's loop running)."""
    names = []

    def spy(*a):
        names.append(threading.current_thread().name)
        return func(*a)

    spy.__self__, spy.__name__ = getattr(func, "__self__", None), getattr(func, "__name__", "")

    async def go():
        names.append(threading.current_thread().name)
        await blocks.anyio.to_thread.run_sync(spy, *args)

    runner = threading.Thread(target=asyncio.run, args=(go(),), name="event-loop")
    runner.start()
    runner.join(60)
    assert len(names) == 2, names
    return names[1] == names[0] == "event-loop"


def test_quick_steps_run_in_place_and_the_rest_on_the_pool():
    hops.inline_quick_steps()
    hops.inline_quick_steps()  # idempotent: one proxy, one wrapper
    assert isinstance(blocks.anyio, hops._AnyioForBlocks) and queueing.run_sync.inlines_quick_steps
    assert _in_place(gr.Textbox().postprocess, "hello")
    assert _in_place(gr.Number().preprocess, 3.0)
    assert _in_place(gr.HTML().postprocess, "<b>x</b>")
    assert not _in_place(gr.Markdown().postprocess, "x" * (hops.INLINE_MAX_CHARS + 1))  # long: off the loop
    assert not _in_place(gr.File().postprocess, None)  # files, images, tables: on the pool
    assert not _in_place(lambda: 1)  # the event's function: on the pool

    class Queue:
        ANAYLTICS_CACHE_FREQUENCY = NEVER

        def compute_analytics_summary(self, records):
            return {}

    assert hops.is_quick(Queue().compute_analytics_summary, ([],))  # the off monitoring page's summary
    Queue.ANAYLTICS_CACHE_FREQUENCY = 1
    assert not hops.is_quick(Queue().compute_analytics_summary, ([],))


def test_blocks_still_reaches_the_rest_of_anyio():
    hops.inline_quick_steps()
    import anyio

    assert blocks.anyio.CapacityLimiter is anyio.CapacityLimiter
    assert blocks.anyio.to_thread.current_default_thread_limiter is anyio.to_thread.current_default_thread_limiter
