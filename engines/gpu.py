"""``gpu(duration=...)``: ``spaces.GPU`` on ZeroGPU Spaces, a no-op decorator everywhere else."""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from engines.config import Settings


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


def generation_pool() -> ThreadPoolExecutor:
    """Long-lived threads that run ``generate`` while the caller streams.

    Reused on purpose: the first CUDA work in a new thread pays a per-thread set-up (measured on an H200: a fresh
    thread per request generated at ~17 tok/s where a reused one ran at ~50 tok/s, like the main thread).
    """
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="generate")
        return _POOL


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
