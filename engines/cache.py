"""ModelCache: a thread-safe LRU of loaded models with a byte budget and single-flight loading."""

from __future__ import annotations

import gc
import logging
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, NamedTuple

log = logging.getLogger(__name__)

# ``from_pretrained(dtype=...)`` switches torch's process-wide default dtype while it builds a model, so two loads
# at once in different dtypes corrupt each other ("mat1 and mat2 must have the same dtype"). Loads are serialized;
# re-entrant because a model's loader loads its tokenizer through the cache too.
LOAD_LOCK = threading.RLock()


class CacheKey(NamedTuple):
    """The key of a loaded model: what kind of object, what was loaded, in which variant, on which device.

    ``variant`` is the quantization of a causal LM, the backend of a speech model, the task of a pipeline, the load
    plan of a diffusers pipeline. Build keys only through this class, so readers (the header, eviction) can rely on
    the fields by name.
    """

    kind: str  # "causal-lm" | "tokenizer" | "asr" | "pipeline" | "diffusers" | ...
    target: str  # what from_pretrained loaded: a Hub id or a folder
    variant: Hashable = ""
    device: str = ""

    def label(self) -> str:
        """A short label for the UI: kind, the model's last two path parts (its Hub id), variant and device."""
        name = "/".join(str(self.target).rstrip("/").split("/")[-2:])
        extra = [str(v) for v in (self.variant, self.device) if isinstance(v, str) and v]
        return f"{self.kind} {name}" + (f" ({', '.join(extra)})" if extra else "")


@dataclass
class CacheEntry:
    """One loaded object and its bookkeeping."""

    value: Any
    size: int
    load_s: float
    hits: int = 0


@dataclass(frozen=True)
class CacheResult:
    """What ``ModelCache.get_with_info`` returns: the value, whether it was cached, and the seconds spent."""

    value: Any
    hit: bool
    seconds: float


def estimate_size(obj: Any) -> int:
    """Best-effort bytes held by a loaded object (models report their own footprint)."""
    for attr in ("get_memory_footprint",):
        fn = getattr(obj, attr, None)
        if callable(fn):
            try:
                return int(fn())
            except Exception:  # some wrappers expose the method but cannot compute it
                pass
    if isinstance(obj, tuple):
        return sum(estimate_size(o) for o in obj)
    model = getattr(obj, "model", None)
    if model is not None and model is not obj:
        return estimate_size(model)
    vocab = getattr(obj, "vocab_size", None)
    if isinstance(vocab, int):  # a tokenizer: vocab + merges, roughly 200 bytes an entry
        return vocab * 200
    return 0


class ModelCache:
    """Lazy LRU cache of loaded models.

    - ``get(key, loader)`` returns the cached value or calls ``loader()`` once, even when many threads ask at
      the same time (single flight); a failed load caches nothing and re-raises to every waiter.
    - After each load, least recently used entries are evicted until the total size fits ``budget_bytes``
      (the newest entry always stays, even when it alone is larger than the budget).
    - Eviction drops the references, runs ``gc.collect()`` and empties the CUDA cache.
    """

    def __init__(self, budget_bytes: int, *, size_of: Callable[[Any], int] = estimate_size):
        self.budget_bytes = int(budget_bytes)
        self._size_of = size_of
        self._lock = threading.RLock()
        self._entries: OrderedDict[Hashable, CacheEntry] = OrderedDict()
        self._loading: dict[Hashable, Future] = {}
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def get(self, key: Hashable, loader: Callable[[], Any]) -> Any:
        """The value for ``key``, loading it with ``loader()`` on a miss."""
        return self.get_with_info(key, loader).value

    def get_with_info(self, key: Hashable, loader: Callable[[], Any]) -> CacheResult:
        """Like ``get`` but also says whether it was a hit and how long it took."""
        start = time.perf_counter()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                entry.hits += 1
                self.hits += 1
                return CacheResult(entry.value, True, time.perf_counter() - start)
            future = self._loading.get(key)
            owner = future is None
            if owner:
                future = Future()
                self._loading[key] = future
                self.misses += 1
        if not owner:
            value = future.result()  # re-raises the loader's error
            return CacheResult(value, True, time.perf_counter() - start)
        try:
            with LOAD_LOCK:  # one load at a time, process-wide (see LOAD_LOCK)
                value = loader()
        except BaseException as exc:
            with self._lock:
                self._loading.pop(key, None)
            future.set_exception(exc)
            future.exception()  # mark retrieved: no "exception never retrieved" noise
            free_memory()
            raise
        load_s = time.perf_counter() - start
        self._store(key, value, load_s)
        future.set_result(value)
        return CacheResult(value, False, load_s)

    def _store(self, key: Hashable, value: Any, load_s: float) -> None:
        size = max(0, int(self._size_of(value)))
        evicted = []
        with self._lock:
            self._loading.pop(key, None)
            self._entries[key] = CacheEntry(value, size, load_s)
            self._entries.move_to_end(key)
            while self.total_bytes() > self.budget_bytes and len(self._entries) > 1:
                old_key, old = self._entries.popitem(last=False)
                evicted.append(old_key)
                self.evictions += 1
                del old
        if evicted:
            log.info("evicted %s to stay within the %.2f GB cache budget", evicted, self.budget_bytes / 2**30)
            free_memory()

    def total_bytes(self) -> int:
        """Sum of the sizes of the cached entries."""
        with self._lock:
            return sum(e.size for e in self._entries.values())

    def keys(self) -> list[Hashable]:
        """Cached keys, least recently used first."""
        with self._lock:
            return list(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def evict(self, key: Hashable) -> bool:
        """Drop one entry; True when it was cached."""
        with self._lock:
            entry = self._entries.pop(key, None)
        if entry is None:
            return False
        del entry
        self.evictions += 1
        free_memory()
        return True

    def clear(self) -> None:
        """Drop every entry and free memory."""
        with self._lock:
            self._entries.clear()
        free_memory()

    def snapshot(self) -> list[dict]:
        """Rows describing the cache for the UI: key, size, load seconds, hits (LRU first)."""
        with self._lock:
            return [
                {"key": k, "bytes": e.size, "load_s": round(e.load_s, 3), "hits": e.hits}
                for k, e in self._entries.items()
            ]


def free_memory() -> None:
    """Collect garbage and release cached CUDA blocks (only if torch is already imported)."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:  # a broken CUDA context must not break eviction
            log.debug("cuda empty_cache failed", exc_info=True)


_CACHE: ModelCache | None = None
_CACHE_LOCK = threading.Lock()


def model_cache(settings=None) -> ModelCache:
    """The process-wide cache instance (budget from ``settings``, read from the environment when None; the first
    call sets it)."""
    global _CACHE
    with _CACHE_LOCK:
        if _CACHE is None:
            from engines.config import Settings

            _CACHE = ModelCache((settings or Settings.current()).cache_budget_bytes)
        return _CACHE
