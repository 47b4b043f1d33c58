"""``gpu(duration=...)``: ``spaces.GPU`` on ZeroGPU Spaces, a no-op decorator everywhere else."""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from engines.config import Settings

T = TypeVar("T")


def gpu(duration: int | Callable[..., int] = 60) -> Callable[[Callable], Callable]:
    """Decorate a function whose body needs the GPU.

    On ZeroGPU the function runs in a short-lived worker that holds a GPU for at most ``duration`` seconds
    (an int, or a callable of the same arguments returning one). Elsewhere the function is returned unchanged.

    Args:
        duration: seconds of GPU time to request; keep it tight, shorter requests get queue priority.
    """

    def decorate(fn: Callable) -> Callable:
        if not Settings.current().zero_gpu:
            return fn
        import spaces  # only on a Space: the package patches CUDA for the main process

        return functools.wraps(fn)(spaces.GPU(duration=duration)(fn))

    return decorate


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
# How much lower the model threads' CPU priority is than the server's (Linux thread nice; 0 = the same). A model
# computes for seconds and keeps every core busy (torch's own threads too); an idle core for a cheap event (tokenize,
# status, facts) is worth far more to its user than those milliseconds are to the model: with 30 clients on 2 cores,
# cheap calls' p95 went from ~6x idle to ~Nx (bench/bench_load.py --clients 30). With nothing else to run, a model
# thread still gets every core: nice only orders who runs first.
MODEL_THREAD_NICE = 10


def _lower_this_threads_priority() -> None:
    """Make the calling thread (and the threads it starts later, torch's OpenMP team among them: Linux threads start
    with their creator's nice) ``MODEL_THREAD_NICE`` nicer. Linux only: elsewhere ``setpriority`` would lower the whole
    process."""
    if not sys.platform.startswith("linux") or MODEL_THREAD_NICE <= 0:
        return
    import os

    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + MODEL_THREAD_NICE))
    except OSError:  # a sandbox that forbids it: the thread runs at the server's priority
        pass


def generation_pool() -> ThreadPoolExecutor:
    """Long-lived threads that run a model (``generate``, next-token steps) while the caller streams, at a lower CPU
    priority than the server's own threads (``MODEL_THREAD_NICE``).

    Reused on purpose: the first CUDA work in a new thread pays a per-thread set-up (measured on an H200: a fresh
    thread per request generated at ~17 tok/s where a reused one ran at ~50 tok/s, like the main thread). A thread's
    nice can't be raised back without privileges, so model work gets threads of its own rather than lowering the
    server's shared worker threads.
    """
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="generate",
                                       initializer=_lower_this_threads_priority)
        return _POOL


def on_model_threads(steps: Iterator[T]) -> Iterator[T]:
    """Yield what ``steps`` yields, each step computed on the generation pool (a model's steps at the model threads'
    priority, whichever server thread consumes them); closing this closes ``steps``."""
    from engines.config import in_this_call

    pool = generation_pool()
    end = object()
    try:
        while True:
            item = pool.submit(in_this_call(next), steps, end).result()
            if item is end:
                return
            yield item
    finally:
        close = getattr(steps, "close", None)
        if close is not None:
            pool.submit(close).result()


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
