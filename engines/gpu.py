"""Where model work runs: ``gpu(duration=...)`` marks a function whose body computes with a model. On ZeroGPU Spaces
it is ``spaces.GPU``; everywhere else the body runs on the model threads (``generation_pool``), which compute at a
lower CPU priority than the server's (``Settings.model_nice``)."""

from __future__ import annotations

import functools
import inspect
import os
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any, TypeVar

from engines.config import Settings, in_this_call

T = TypeVar("T")


def gpu(duration: int | Callable[..., int] = 60, *, model_threads: bool = True) -> Callable[[Callable], Callable]:
    """Decorate a function whose body computes with a model (on the GPU where there is one).

    On ZeroGPU the function runs in a short-lived worker that holds a GPU for at most ``duration`` seconds
    (an int, or a callable of the same arguments returning one). Elsewhere its body runs on the model threads
    (``run_on_model_threads``; a generator function's steps, ``on_model_threads``), or in the calling thread when
    that is a model thread already (a nested call never waits for a thread of the pool it holds).

    Args:
        duration: seconds of GPU time to request; keep it tight, shorter requests get queue priority.
        model_threads: False for a function that puts its own model work on the model threads and waits for it
            (``generate_stream``): run there too, it would hold two of them per call.
    """

    def decorate(fn: Callable) -> Callable:
        if Settings.current().zero_gpu:
            import spaces  # only on a Space: the package patches CUDA for the main process

            return functools.wraps(fn)(spaces.GPU(duration=duration)(fn))
        if not model_threads:
            return fn
        if inspect.isgeneratorfunction(fn):
            @functools.wraps(fn)
            def steps(*args, **kwargs):
                source = fn(*args, **kwargs)
                yield from (source if on_a_model_thread() else on_model_threads(source))

            return steps

        @functools.wraps(fn)
        def call(*args, **kwargs):
            return run_on_model_threads(fn, *args, **kwargs)

        return call

    return decorate


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


_MODEL_THREAD = threading.local()


def on_a_model_thread() -> bool:
    """Whether the calling thread is one of the model threads."""
    return getattr(_MODEL_THREAD, "is_one", False)


def _start_model_thread(nice: int) -> None:
    _MODEL_THREAD.is_one = True
    lower_this_threads_priority(nice)


def lower_this_threads_priority(nice: int) -> bool:
    """Lower the CPU priority of the calling thread (not the process) by ``nice`` (Linux; elsewhere nothing).

    Threads a thread starts inherit its priority: torch's OpenMP workers, which each computing thread starts for
    itself, run at the lowered priority too. Where the cores are short, the event loop and the cheap calls' threads
    then run first and the model work takes the rest (a priority, not a cap: an idle machine gives it every core).
    Returns whether it was lowered."""
    if nice <= 0 or not sys.platform.startswith("linux"):
        return False
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + nice))
    except OSError:  # not allowed here (a locked-down container): the thread keeps its priority
        return False
    return True


def generation_pool() -> ThreadPoolExecutor:
    """Long-lived threads that run local model work (``generate``, next-token steps) while the caller streams.

    Reused on purpose: the first CUDA work in a new thread pays a per-thread set-up (measured on an H200: a fresh
    thread per request generated at ~17 tok/s where a reused one ran at ~50 tok/s, like the main thread). They run
    at a lower CPU priority (``Settings.model_nice``), so a crowd's model work doesn't slow every cheap call.
    """
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="generate",
                                       initializer=_start_model_thread,
                                       initargs=(Settings.current().model_nice,))
        return _POOL


def run_on_model_threads(fn: Callable[..., T], *args, **kwargs) -> T:
    """``fn(*args, **kwargs)`` on a model thread, with this call's context (here when this is one already)."""
    if on_a_model_thread():
        return fn(*args, **kwargs)
    return generation_pool().submit(in_this_call(fn), *args, **kwargs).result()


def on_model_threads(steps: Iterator[T]) -> Iterator[T]:
    """Iterate ``steps`` (a generator computing with a local model) on the generation pool, one step at a time
    with this call's context, yielding each item here. Closing this iterator closes ``steps``."""
    pool = generation_pool()
    step = None
    try:
        while True:
            step = pool.submit(in_this_call(next), steps)
            try:
                item = step.result()
            except StopIteration:
                return
            yield item
    finally:
        if step is not None and not step.done():  # left while a step ran (an exception in this thread): let it end
            wait([step])
        steps.close()


def torch_device() -> str:
    """The torch device to compute on now: "cuda", "mps" or "cpu"."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def gpu_memory() -> dict[str, Any] | None:
    """Allocated/peak/total CUDA memory in bytes, or None without CUDA (no torch import if not loaded)."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    free, total = torch.cuda.mem_get_info()
    return {
        "allocated": torch.cuda.memory_allocated(),
        "peak": torch.cuda.max_memory_allocated(),
        "free": free,
        "total": total,
        "name": torch.cuda.get_device_name(0),
    }
