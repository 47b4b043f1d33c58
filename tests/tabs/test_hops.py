"""tabs.hops: a quick component's pre/postprocess runs in place on the event loop; the function and heavy steps
still go to Gradio's thread pool."""

from __future__ import annotations

import asyncio
import threading

import gradio as gr
from gradio import blocks, queueing

from tabs import hops
from tabs.server import NEVER


def _thread_of(func, *args) -> str:
    async def go():
        names = []

        def spy(*a):
            names.append(threading.current_thread().name)
            return func(*a)

        spy.__self__, spy.__name__ = getattr(func, "__self__", None), getattr(func, "__name__", "")
        await blocks.anyio.to_thread.run_sync(spy, *args)
        return names[0]

    return asyncio.run(go())


def test_quick_steps_run_in_place_and_the_rest_on_the_pool():
    hops.inline_quick_steps()
    hops.inline_quick_steps()  # idempotent: one proxy, one wrapper
    assert isinstance(blocks.anyio, hops._AnyioForBlocks) and queueing.run_sync.inlines_quick_steps
    here = threading.current_thread().name
    assert _thread_of(gr.Textbox().postprocess, "hello") == here
    assert _thread_of(gr.Number().preprocess, 3.0) == here
    assert _thread_of(gr.HTML().postprocess, "<b>x</b>") == here
    assert _thread_of(gr.Markdown().postprocess, "x" * (hops.INLINE_MAX_CHARS + 1)) != here  # long: off the loop
    assert _thread_of(gr.File().postprocess, None) != here  # files, images, tables: on the pool
    assert _thread_of(lambda: 1) != here  # the event's function: on the pool

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
