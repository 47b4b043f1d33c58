"""Gradio's thread hops that cost more than the work they carry: a quick component's pre/postprocess runs inline.

For every event Gradio sends each input's ``preprocess``, the function, each output's ``postprocess`` and its
monitoring summary to the thread pool, one ``anyio.to_thread.run_sync`` each, and waits for each on the event
loop. For a textbox, a number or an HTML line that work is a few microseconds; the hop is a wake-up of a worker
thread, the GIL passed there and back, and a turn of the event loop to resume: ~0.2 ms on a quiet machine, 3-7 ms
at p95 under a crowd (measured per hop, 30 clients on 2 cores). A cheap call (a status line, Chinchilla's three
numbers) made 5-8 of them. ``inline_quick_steps`` runs those steps in place; the function itself, and the
processing of files, images, audio, tables and chats, still go to the pool.
"""

from __future__ import annotations

import functools
from typing import Any

INLINE_MAX_CHARS = 200_000  # a longer text (a whole transcript into Markdown) is processed off the loop still


def _quick_components() -> tuple[type, ...]:
    import gradio as gr

    return (gr.Textbox, gr.Number, gr.Checkbox, gr.Slider, gr.Dropdown, gr.Radio, gr.CheckboxGroup, gr.Markdown,
            gr.HTML, gr.Code, gr.Button)


def _small(args: tuple) -> bool:
    return all(not isinstance(a, (str, bytes)) or len(a) <= INLINE_MAX_CHARS for a in args)


def is_quick(func: Any, args: tuple) -> bool:
    """Whether ``func(*args)`` is a step worth less than a thread hop: a quick component's pre/postprocess of a
    value of modest size, or the monitoring summary when the monitoring page is off (it returns at once)."""
    owner, name = getattr(func, "__self__", None), getattr(func, "__name__", "")
    if name in ("preprocess", "postprocess"):
        return isinstance(owner, _QUICK) and _small(args)
    return name == "compute_analytics_summary" and getattr(owner, "ANAYLTICS_CACHE_FREQUENCY", 0) >= 2**62


_QUICK: tuple[type, ...] = ()


def _inline(run_sync):
    @functools.wraps(run_sync)
    async def run_sync_unless_quick(func, *args, **kwargs):
        if is_quick(func, args):
            return func(*args)
        return await run_sync(func, *args, **kwargs)

    run_sync_unless_quick.inlines_quick_steps = True
    return run_sync_unless_quick


class _AnyioForBlocks:
    """What ``gradio.blocks`` sees as ``anyio``: the real module, but ``to_thread.run_sync`` inlines quick steps."""

    def __init__(self, anyio_module) -> None:
        import types

        self._anyio = anyio_module
        self.to_thread = types.SimpleNamespace(**{k: getattr(anyio_module.to_thread, k)
                                                  for k in dir(anyio_module.to_thread) if not k.startswith("__")})
        self.to_thread.run_sync = _inline(anyio_module.to_thread.run_sync)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._anyio, name)


def inline_quick_steps() -> None:
    """Run quick components' pre/postprocess (and the off monitoring summary) in place of a thread hop, in every
    Blocks of this process (idempotent)."""
    global _QUICK
    import anyio
    from gradio import blocks, queueing

    _QUICK = _quick_components()
    if not isinstance(blocks.anyio, _AnyioForBlocks):
        blocks.anyio = _AnyioForBlocks(anyio)
    if not getattr(queueing.run_sync, "inlines_quick_steps", False):
        queueing.run_sync = _inline(queueing.run_sync)
