"""Compare models: side-by-side streaming with measured speed and memory, a memory-fit check before loading,
and a blind arena (votes in SQLite, an Elo leaderboard with bootstrap confidence intervals).

Side by side: every column runs ``engines.chat.stream_chat`` in its own thread; ``merge_streams`` merges the
threads' chunks into one iterator in arrival order, so columns stream interleaved. Closing that iterator (the
user pressed Stop) tells each thread to close its engine generator, which stops local generation at the next
token and drops the HTTP stream of remote models.
"""

from __future__ import annotations

import copy
import json
import math
import os
import queue
import random
import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from engines import errors, registry, snippets
from engines.chat import ChatChunk, GenerationStats, stream_chat, validate_messages
from engines.config import Settings
from engines.loading import estimate_params_b, lm_cache_key
from engines.quant import QUANTIZATIONS, resolve_quantization
from engines.redact import redact
from engines.refs import REMOTE_PREFIXES, ModelRef, parse_ref

MAX_COLUMNS = 4
ZERO_GPU_BYTES = 70 * 2**30  # a ZeroGPU allocation is half an H200 (70 GB)
HEARTBEAT = -1  # the index merge_streams yields when nothing arrived for ``poll_s`` seconds
DONE = object()  # the item merge_streams yields when a stream has ended (after its error, if any)

# ------------------------------------------------------------------------------------------- column entries


@dataclass(frozen=True)
class Entry:
    """One column of a comparison: a model reference and the quantization asked for it."""

    model: str
    quantization: str = "auto"

    @property
    def label(self) -> str:
        """How the column is titled: the model, plus the quantization when one was chosen."""
        return self.model if self.quantization == "auto" else f"{self.model} @ {self.quantization}"


def parse_entries(models: Iterable[str] | str, quantization: str = "auto") -> list[Entry]:
    """Turn the user's model choices into column entries.

    A choice may end in ``@<quantization>`` (``meta-llama/Llama-3.1-8B-Instruct@4bit``) to override the shared
    quantization for that column, which is how "same model, two quantizations" is asked for.

    Args:
        models: model references (catalog ids, Hub ids, local folders, openai:/hf:/ollama: names).
        quantization: the quantization for columns without their own ``@`` suffix.

    Returns:
        Between 1 and MAX_COLUMNS entries, duplicates removed, in the order given.

    Raises:
        InvalidInput: no model, too many, or an unknown quantization.
    """
    if isinstance(models, str):
        models = [models]
    quantization = (quantization or "auto").strip().lower()
    if quantization not in QUANTIZATIONS:
        raise errors.InvalidInput(f"Unknown quantization '{quantization}'. Choose one of: {', '.join(QUANTIZATIONS)}.")
    entries: list[Entry] = []
    for raw in models or []:
        text = (raw or "").strip()
        if not text:
            continue
        model, sep, quant = text.rpartition("@")
        if sep and quant.strip().lower() in QUANTIZATIONS and model.strip():
            entry = Entry(model.strip(), quant.strip().lower())
        else:
            entry = Entry(text, quantization)
        if entry not in entries:
            entries.append(entry)
    if not entries:
        raise errors.InvalidInput("Choose at least one model to run (2 to 4 to compare them side by side).")
    if len(entries) > MAX_COLUMNS:
        raise errors.InvalidInput(f"Compare at most {MAX_COLUMNS} models at once ({len(entries)} chosen).")
    return entries


def available_locally(model: str, settings: Settings | None = None) -> bool:
    """Whether a model can load without a download (a local folder, WORKBENCH_MODELS_DIR, or the HF cache)."""
    settings = settings or Settings.from_env()
    try:
        ref = parse_ref(model, settings)
    except errors.WorkbenchError:
        return False
    if ref.is_remote:
        return False
    if ref.path is not None:
        return True
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(ref.name, "config.json"), str)
    except Exception:  # an id the cache helper rejects is simply not cached
        return False


def default_models(settings: Settings | None = None, n: int = 2) -> list[str]:
    """The catalog chat models a comparison starts with: ones already on disk first (CPU-friendly ones first on a
    machine without CUDA), then the hardware's default picks.

    Args:
        settings: deployment settings.
        n: how many.

    Returns:
        ``n`` catalog ids.
    """
    settings = settings or Settings.from_env()
    specs = [s for s in registry.by_kind("chat") if not s.is_remote]
    if settings.device != "cuda":
        specs.sort(key=lambda s: not s.cpu_friendly)
    fallback = [registry.default_for("chat", settings.device), registry.default_for("chat_alt", settings.device)]
    local = [s.id for s in specs if available_locally(s.id, settings)]
    return list(dict.fromkeys(local + fallback))[:n]


# ------------------------------------------------------------------------------------------------ memory


@dataclass
class FitCheck:
    """Whether one column's model fits the memory available, estimated before anything is loaded.

    Attributes:
        quantization: the quantization it would load with on this device (``auto`` resolved).
        params_b: parameters in billions (None = unknown, or a remote model).
        params_source: where the count came from ("weights on disk", "config", "catalog").
        needed_bytes: the estimate (params × bytes/param + overhead), None when unknown.
        available_bytes: free memory where it would load (after the columns before it), None when unknown.
        cached: the model is already loaded (needs no new memory).
        fits: False only when the estimate is known and larger than what is available.
        message: why it was refused, with the estimate and what would fit ("" when it fits).
    """

    model: str
    quantization: str
    device: str
    params_b: float | None = None
    params_source: str = ""
    needed_bytes: int | None = None
    available_bytes: int | None = None
    pool: str = ""
    cached: bool = False
    fits: bool = True
    message: str = ""


def available_memory(device: str, settings: Settings | None = None) -> tuple[int | None, str]:
    """Free memory where a model would load, and the name of that pool.

    Args:
        device: "cuda", "mps" or "cpu".
        settings: deployment settings (ZeroGPU gets a fixed 70 GB slice).

    Returns:
        (bytes or None when unknown, pool name for messages).
    """
    settings = settings or Settings.from_env()
    if device == "cuda":
        if settings.zero_gpu:
            return ZERO_GPU_BYTES, "the ZeroGPU slice's memory"
        try:
            import torch

            free, _total = torch.cuda.mem_get_info()
            # blocks torch holds in its cache are free for our next allocation
            free += torch.cuda.memory_reserved() - torch.cuda.memory_allocated()
            return int(free), "GPU memory"
        except Exception:  # no usable CUDA context: don't refuse on a guess
            return None, "GPU memory"
    try:
        import psutil

        return int(psutil.virtual_memory().available), "RAM"
    except Exception:  # restricted /proc
        return None, "RAM"


def safetensors_params(folder: Path) -> int | None:
    """Exact parameter count from the headers of a folder's ``*.safetensors`` files (no weight is read).

    Returns:
        The number of parameters, or None when there are no readable safetensors files.
    """
    files = sorted(Path(folder).glob("*.safetensors"))
    total = 0
    for path in files:
        try:
            with open(path, "rb") as fh:
                (size,) = struct.unpack("<Q", fh.read(8))
                if size > 100 * 2**20:
                    return None
                header = json.loads(fh.read(size))
        except (OSError, ValueError, struct.error):
            return None
        total += sum(math.prod(v.get("shape", [])) for k, v in header.items() if k != "__metadata__")
    return total or None


def _config_namespace(path: Path) -> Any:
    data = json.loads(path.read_text())
    ns = SimpleNamespace(**data)
    if isinstance(data.get("text_config"), dict):
        ns.text_config = SimpleNamespace(**data["text_config"])
    return ns


def model_params(ref: ModelRef) -> tuple[float | None, str]:
    """Parameter count (billions) of what ``ref`` would load, without loading it.

    A local folder (or a catalog id found in WORKBENCH_MODELS_DIR) is measured from its files, since that is what
    loads; otherwise the catalog's published number; otherwise a cached ``config.json`` estimate.

    Returns:
        (params_b or None, where the number came from).
    """
    if ref.is_remote:
        return None, "remote"
    if ref.path is not None:
        exact = safetensors_params(ref.path)
        if exact:
            return exact / 1e9, "weights on disk"
        config = ref.path / "config.json"
        if config.is_file():
            try:
                return estimate_params_b(_config_namespace(config)), "config.json"
            except (OSError, ValueError, TypeError):
                return None, ""
        return None, ""
    spec = ref.spec
    if spec is not None and spec.params_b:
        return spec.params_b, "catalog"
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(ref.name, "config.json")
        if isinstance(cached, str):
            return estimate_params_b(_config_namespace(Path(cached))), "config.json"
    except Exception:  # a malformed id or config: the size is just unknown
        pass
    return None, ""


def _gb(n: float | None) -> str:
    return "?" if n is None else f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def _is_cached(ref: ModelRef, quant: str, device: str) -> bool:
    from engines.cache import model_cache

    cache = model_cache()
    return lm_cache_key(ref, quant, device) in cache


def check_fit(entries: list[Entry], *, settings: Settings | None = None,
              available: int | None = None) -> list[FitCheck]:
    """Estimate each column's memory before loading and refuse the ones that don't fit.

    Columns are checked in order and share the pool: a model counts against the memory left by the columns
    before it (a model already loaded, or the same model and quantization twice, counts once).

    Args:
        entries: the comparison's columns.
        settings: deployment settings.
        available: free bytes to check against (default: measured now with ``available_memory``).

    Returns:
        One FitCheck per entry, in order. Invalid references get a fitting check: their error shows when they run.
    """
    settings = settings or Settings.from_env()
    device = settings.device
    pool = "memory"
    if available is None:
        available, pool = available_memory(device, settings)
    left = available
    seen: set[tuple[str, str]] = set()
    checks = []
    for entry in entries:
        check = FitCheck(model=entry.model, quantization=entry.quantization, device=device, pool=pool)
        checks.append(check)
        try:
            ref = parse_ref(entry.model, settings)
        except errors.WorkbenchError:
            continue
        if ref.is_remote:
            check.device, check.quantization = "remote", "n/a"
            continue
        check.params_b, check.params_source = model_params(ref)
        try:
            check.quantization, _ = resolve_quantization(entry.quantization, device, check.params_b)
        except errors.WorkbenchError:
            continue
        key = (ref.target, check.quantization)
        check.cached = key in seen or _is_cached(ref, check.quantization, device)
        seen.add(key)
        if check.params_b is None or check.cached:
            continue
        check.needed_bytes = registry.estimate_memory_bytes(check.params_b, check.quantization)
        check.available_bytes = left
        if left is not None and check.needed_bytes is not None:
            if check.needed_bytes > left:
                check.fits = False
                check.message = refusal_message(ref, check, device, shared=left != available)
            else:
                left -= check.needed_bytes
    return checks


def refusal_message(ref: ModelRef, check: FitCheck, device: str, shared: bool = False) -> str:
    """Why a model was refused: the estimate, its arithmetic, what is free, and what would fit instead."""
    quant, params_b = check.quantization, check.params_b or 0.0
    bpp = registry.BYTES_PER_PARAM[quant]
    nf4 = " × 1.1 (NF4 constants)" if quant == "4bit" else ""
    free = f"{_gb(check.available_bytes)} of {check.pool} is free" + (" after the columns before it" if shared else "")
    text = (f"Not loaded: '{ref.display}' at {quant} needs about {_gb(check.needed_bytes)} "
            f"({params_b:.2f}B params × {bpp:g} bytes{nf4} + 15% overhead), but only {free}.")
    return text + " " + what_would_fit(params_b, quant, device, check.available_bytes or 0)


def what_would_fit(params_b: float, quant: str, device: str, available: int) -> str:
    """A sentence naming the quantizations of this model, and the catalog chat models, that fit ``available``."""
    quants = []
    for q in ("bf16", "8bit", "4bit"):
        chosen, notice = resolve_quantization(q, device, params_b)
        need = registry.estimate_memory_bytes(params_b, chosen)
        if notice is None and chosen != quant and need is not None and need <= available:
            quants.append(f"{q} (~{_gb(need)})")
    smaller = sorted(
        ((s.params_b or 0.0, s.label, registry.estimate_memory_bytes(s, quant)) for s in registry.by_kind("chat")
         if not s.is_remote and s.params_b),
        reverse=True)
    models = [f"{label} (~{_gb(need)})" for _, label, need in smaller if need is not None and need <= available][:3]
    parts = []
    if quants:
        parts.append("this model fits at " + ", ".join(quants))
    if models:
        parts.append(f"at {quant}, these catalog models fit: " + ", ".join(models))
    if not parts:
        hint = " or 4bit on a CUDA GPU" if device != "cuda" else ""
        return f"Nothing in the catalog fits here at {quant}{hint}; try an API model (openai:, hf:) instead."
    return "What would fit: " + "; ".join(parts) + "."


# --------------------------------------------------------------------------------------------- streaming


def merge_streams(factories: list[Callable[[], Iterator[Any]]], *, stop: threading.Event | None = None,
                  poll_s: float = 0.25, join_s: float = 0.25) -> Iterator[tuple[int, Any]]:
    """Run each iterator in its own thread and yield ``(index, item)`` in arrival order.

    A stream's error is yielded as ``(index, exception)``; its end as ``(index, DONE)``. When nothing arrives for
    ``poll_s`` seconds a ``(HEARTBEAT, None)`` is yielded, so a consumer can refresh clocks and can be closed
    promptly. Closing this iterator (or setting ``stop``) makes every thread stop after its current item and
    close its iterator, which ends local generation at the next token.

    Args:
        factories: callables that each return an iterator (called inside the worker thread).
        stop: an event that stops every stream when set.
        poll_s: heartbeat period in seconds.
        join_s: how long the end waits, in all, for the threads to exit after every stream ended. Closing early
            (Stop) does not wait: Gradio closes a cancelled generator on its event loop, a slow close lets its next
            ``next()`` collide with it, and the threads stop on their own (generation at the next token; a load
            that is under way can't be interrupted and stops when it returns).

    Yields:
        (index, item), (index, exception), (index, DONE) or (HEARTBEAT, None).
    """
    stop = stop or threading.Event()
    events: queue.SimpleQueue = queue.SimpleQueue()

    def work(index: int, factory: Callable[[], Iterator[Any]]) -> None:
        stream = None
        try:
            stream = factory()
            for item in stream:
                if stop.is_set():
                    break
                events.put((index, item))
        except BaseException as exc:  # reported to the consumer, never raised in the worker
            events.put((index, exc))
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                try:
                    close()
                except Exception:  # a stream that fails while closing has still stopped
                    pass
            events.put((index, DONE))

    threads = [threading.Thread(target=work, args=(i, f), name=f"compare-{i}", daemon=True)
               for i, f in enumerate(factories)]
    for thread in threads:
        thread.start()
    pending = len(threads)
    try:
        while pending and not stop.is_set():
            try:
                index, item = events.get(timeout=poll_s)
            except queue.Empty:
                yield HEARTBEAT, None
                continue
            if item is DONE:
                pending -= 1
            yield index, item
    finally:
        stop.set()
        if not pending:  # every stream ended: their threads are exiting now
            deadline = time.monotonic() + join_s
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()))


@dataclass
class ColumnState:
    """One column of a comparison as it streams.

    ``status``: waiting | loading | streaming | done | error | refused | stopped. Live numbers (``live_*``) are
    measured here from the chunks; the engine's exact ``stats`` replace them when the stream ends.
    """

    index: int
    model: str
    label: str
    quantization: str
    status: str = "waiting"
    text: str = ""
    notice: str | None = None
    error: str | None = None
    error_title: str | None = None
    stats: GenerationStats | None = None
    fit: FitCheck | None = None
    started: float = 0.0
    first_token_at: float | None = None
    chunks: int = 0
    elapsed_s: float = 0.0

    @property
    def finished(self) -> bool:
        """True once the column will not change any more."""
        return self.status in ("done", "error", "refused", "stopped")

    @property
    def live_ttft_s(self) -> float | None:
        """Seconds from the start (load included) to the first text."""
        return None if self.first_token_at is None else self.first_token_at - self.started

    @property
    def live_tokens_per_s(self) -> float | None:
        """Chunks per second since the first text (each chunk is about one token)."""
        if self.first_token_at is None or self.chunks < 2:
            return None
        span = self.started + self.elapsed_s - self.first_token_at
        return (self.chunks - 1) / span if span > 0 else None


def _apply(col: ColumnState, item: Any, now: float) -> None:
    if item is DONE:
        if not col.finished:
            col.status = "done" if col.stats is not None else "stopped"
        return
    if isinstance(item, BaseException):
        col.status = "error"
        col.error_title = getattr(item, "title", "Error")
        col.error = str(item) if isinstance(item, errors.WorkbenchError) else \
            f"{type(item).__name__}: {redact(str(item))[:300]}"
        return
    chunk: ChatChunk = item
    if chunk.notice:
        col.notice = chunk.notice if not col.notice else f"{col.notice} {chunk.notice}"
    if chunk.text:
        if col.first_token_at is None:
            col.first_token_at = now
        col.status = "streaming"
        col.text += chunk.text
        col.chunks += 1
    if chunk.stats is not None:
        col.stats = chunk.stats
        col.status = "done"


def stream_compare(entries: list[Entry], messages: list[dict], *, max_new_tokens: int = 256,
                   temperature: float = 0.0, memory_check: bool = True, stop: threading.Event | None = None,
                   min_interval_s: float = 0.05, settings: Settings | None = None) -> Iterator[list[ColumnState]]:
    """Run several models on the same messages at once and yield every column's state as they stream.

    Args:
        entries: the columns (``parse_entries``), 1 to MAX_COLUMNS.
        messages: chat messages sent to every model.
        max_new_tokens: upper bound on generated tokens per model.
        temperature: 0 = greedy; above 0 samples.
        memory_check: refuse, before loading, local models whose estimate exceeds the free memory.
        stop: an event that stops every column when set (closing the iterator does the same).
        min_interval_s: at most one snapshot per this many seconds while text streams (status changes and the
            last snapshot are always yielded).
        settings: deployment settings.

    Yields:
        Snapshots (copies) of the columns; the last one has every column finished. A column's failure (gated,
        out of memory, no key, refused) is in that column's ``error``; the other columns go on.

    Raises:
        InvalidInput: bad messages or too many columns (a problem shared by all columns).
    """
    settings = settings or Settings.from_env()
    messages = validate_messages(messages)
    if not entries or len(entries) > MAX_COLUMNS:
        raise errors.InvalidInput(f"Choose between 1 and {MAX_COLUMNS} models.")
    cols = [ColumnState(index=i, model=e.model, label=e.label, quantization=e.quantization)
            for i, e in enumerate(entries)]
    fits = check_fit(entries, settings=settings) if memory_check else [None] * len(entries)
    runnable = []
    for col, fit in zip(cols, fits, strict=True):
        col.fit = fit
        if fit is not None and not fit.fits:
            col.status, col.error, col.error_title = "refused", fit.message, errors.OutOfMemory.title
        else:
            col.status = "loading"
            runnable.append(col)
    yield _snapshot(cols)
    start = time.perf_counter()
    for col in cols:
        col.started = start
    if not all(_is_remote(c.model) for c in runnable):
        yield from _preload(cols, runnable, start)
    load_lock = threading.Lock()
    factories = [_factory(col.model, messages, max_new_tokens, temperature, col.quantization,
                          None if _is_remote(col.model) else load_lock) for col in runnable]
    yield from _run_columns(cols, runnable, factories, stop, min_interval_s, start)


def preload_transformers() -> None:
    """Resolve transformers' lazy imports in this thread before the column threads start.

    The first ``from transformers import X`` in two threads at once can fail with "cannot import name" (its lazy
    module is not thread-safe on first import), which would fail a column at random.
    """
    from transformers import (  # noqa: F401
        AutoModelForCausalLM,
        AutoTokenizer,
        StoppingCriteria,
        StoppingCriteriaList,
        TextIteratorStreamer,
    )


def _preload(cols: list[ColumnState], runnable: list[ColumnState], start: float) -> Iterator[list[ColumnState]]:
    """Run ``preload_transformers`` in a thread, yielding snapshots meanwhile (live clocks; Stop stays prompt)."""
    done = threading.Event()

    def run() -> None:
        try:
            preload_transformers()
        except Exception:  # the columns will report the import error themselves
            pass
        finally:
            done.set()

    threading.Thread(target=run, name="compare-preload", daemon=True).start()
    while not done.wait(0.25):
        for col in runnable:
            col.elapsed_s = time.perf_counter() - start
        yield _snapshot(cols)


def _is_remote(model: str) -> bool:
    return model.partition(":")[0].strip().lower() in REMOTE_PREFIXES


def _factory(model: str, messages: list[dict], max_new_tokens: int, temperature: float, quantization: str,
             load_lock: threading.Lock | None) -> Callable[[], Iterator[ChatChunk]]:
    """A column's stream. Local columns take ``load_lock`` until their first chunk: ``from_pretrained(dtype=...)``
    sets torch's process-wide default dtype while it builds a model, so two loads at different dtypes in parallel
    threads corrupt each other (seen on CUDA: "expected mat1 and mat2 to have the same dtype"). Loads run one at a
    time; generation still runs side by side."""

    def stream() -> Iterator[ChatChunk]:
        chunks = stream_chat(model, messages, max_new_tokens=max_new_tokens, temperature=temperature,
                             quantization=quantization)
        try:
            if load_lock is not None:
                with load_lock:
                    first = next(chunks, None)
                if first is None:
                    return
                yield first
            yield from chunks
        finally:
            chunks.close()

    return stream


def _run_columns(cols: list[ColumnState], runnable: list[ColumnState], factories: list, stop: threading.Event | None,
                 min_interval_s: float, start: float) -> Iterator[list[ColumnState]]:
    stop = stop or threading.Event()
    last = 0.0
    merged = merge_streams(factories, stop=stop)
    try:
        for index, item in merged:
            now = time.perf_counter()
            for col in runnable:
                if not col.finished:
                    col.elapsed_s = now - start
            if index == HEARTBEAT:
                yield _snapshot(cols)
                continue
            col = runnable[index]
            before = col.status
            _apply(col, item, now)
            if col.status != before or now - last >= min_interval_s:
                last = now
                yield _snapshot(cols)
    finally:
        merged.close()
        for col in runnable:
            if not col.finished:
                col.status = "stopped"
    yield _snapshot(cols)


def _snapshot(cols: list[ColumnState]) -> list[ColumnState]:
    return [copy.copy(c) for c in cols]


def results_rows(cols: list[ColumnState]) -> list[dict[str, Any]]:
    """One row per column for the results table and its CSV: the measured numbers and how the model ran."""
    rows = []
    for c in cols:
        s = c.stats
        rows.append({
            "model": c.label,
            "status": c.status,
            "device": s.device if s else (c.fit.device if c.fit else ""),
            "quantization": s.quantization if s else (c.fit.quantization if c.fit else c.quantization),
            "backend": s.backend if s else "",
            "load_s": round(s.load_s, 3) if s else None,
            "ttft_s": round(s.ttft_s, 3) if s else None,
            "tokens": s.tokens if s else None,
            "tokens_per_s": round(s.tokens_per_s, 2) if s else None,
            "total_s": round(s.total_s, 3) if s else None,
            "prompt_tokens": s.prompt_tokens if s else None,
            "memory_gb": round(s.memory_bytes / 2**30, 3) if s and s.memory_bytes else None,
            "peak_gpu_gb": round(s.peak_gpu_bytes / 2**30, 3) if s and s.peak_gpu_bytes else None,
            "cache_hit": s.cache_hit if s else None,
            "finish_reason": s.finish_reason if s else None,
            "error": c.error or "",
        })
    return rows


# ------------------------------------------------------------------------------------------------ "show code"


def code_snippet(model: str, messages: list[dict], *, quantization: str = "fp32", max_new_tokens: int = 256,
                 temperature: float = 0.0) -> str:
    """Plain transformers / openai code that reproduces one column's generation (see ``snippets.chat_code``)."""
    return snippets.chat_code(model, messages, quantization=quantization, max_new_tokens=max_new_tokens,
                              temperature=temperature)

# --------------------------------------------------------------------------------------------------- arena

OUTCOMES = ("a", "b", "tie", "both_bad")
_SCORE = {"a": 1.0, "b": 0.0, "tie": 0.5, "both_bad": 0.5}  # "both bad" counts as a tie, as public arenas do
ELO_K = 32.0
ELO_BASE = 1000.0
ELO_SCALE = 400.0


@dataclass(frozen=True)
class Vote:
    """One arena vote: which of two anonymous models answered better."""

    model_a: str
    model_b: str
    outcome: str  # one of OUTCOMES
    created_at: float = 0.0
    id: int = 0


def default_db_path(settings: Settings | None = None) -> Path:
    """Where arena votes live: ``WORKBENCH_ARENA_DB``, else ``arena.sqlite3`` in the app's data dir.

    The data dir is ``WORKBENCH_DATA_DIR``; else ``/data`` on a Space with persistent storage; else
    ``$XDG_DATA_HOME/llm-workbench`` (``~/.local/share/llm-workbench``).
    """
    settings = settings or Settings.from_env()
    explicit = os.environ.get("WORKBENCH_ARENA_DB", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    data_dir = os.environ.get("WORKBENCH_DATA_DIR", "").strip()
    if data_dir:
        return Path(data_dir).expanduser() / "arena.sqlite3"
    if settings.on_space and os.access("/data", os.W_OK):
        return Path("/data/llm-workbench/arena.sqlite3")
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "llm-workbench" / "arena.sqlite3"


class ArenaStore:
    """Arena votes in SQLite: one short transaction per vote (WAL, busy timeout), so concurrent votes from many
    threads or processes are all kept, and votes survive restarts."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_db_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(self._connect()) as con:
                try:
                    con.execute("PRAGMA journal_mode=WAL")
                except sqlite3.OperationalError:  # some network filesystems refuse WAL; rollback journal works
                    pass
                con.execute("CREATE TABLE IF NOT EXISTS votes (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                            "created_at REAL NOT NULL, model_a TEXT NOT NULL, model_b TEXT NOT NULL, "
                            "outcome TEXT NOT NULL CHECK (outcome IN ('a', 'b', 'tie', 'both_bad')))")
        except (OSError, sqlite3.Error) as exc:
            raise errors.WorkbenchError(f"The arena's vote database at {self.path} cannot be opened ({exc}). "
                                        "Set WORKBENCH_ARENA_DB to a writable file.") from None

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        con.execute("PRAGMA busy_timeout=60000")
        return con

    def record_vote(self, model_a: str, model_b: str, outcome: str) -> int:
        """Store one vote; returns its id.

        Args:
            model_a: the model shown as A.
            model_b: the model shown as B (a different model).
            outcome: "a", "b", "tie" or "both_bad".

        Raises:
            InvalidInput: an unknown outcome, a missing or identical pair.
        """
        outcome = (outcome or "").strip().lower()
        if outcome not in OUTCOMES:
            raise errors.InvalidInput(f"Unknown vote '{outcome}'. Vote one of: {', '.join(OUTCOMES)}.")
        if not model_a or not model_b or model_a == model_b:
            raise errors.InvalidInput("A vote needs two different models.")
        try:
            with closing(self._connect()) as con:
                con.execute("BEGIN IMMEDIATE")
                cur = con.execute("INSERT INTO votes (created_at, model_a, model_b, outcome) VALUES (?, ?, ?, ?)",
                                  (time.time(), model_a, model_b, outcome))
                con.execute("COMMIT")
                return int(cur.lastrowid)
        except sqlite3.Error as exc:
            raise errors.WorkbenchError(f"The vote could not be saved ({exc}). Try again.") from None

    def votes(self) -> list[Vote]:
        """Every vote, oldest first."""
        with closing(self._connect()) as con:
            rows = con.execute("SELECT id, created_at, model_a, model_b, outcome FROM votes ORDER BY id").fetchall()
        return [Vote(model_a=a, model_b=b, outcome=o, created_at=t, id=i) for i, t, a, b, o in rows]

    def count(self) -> int:
        """How many votes are stored."""
        with closing(self._connect()) as con:
            return int(con.execute("SELECT COUNT(*) FROM votes").fetchone()[0])


def elo_ratings(votes: Iterable[Vote], *, k: float = ELO_K, base: float = ELO_BASE,
                scale: float = ELO_SCALE) -> dict[str, float]:
    """Online Elo over votes in order: expected score ``1 / (1 + 10 ** ((Rb - Ra) / scale))``, update ``k × (S − E)``.

    Args:
        votes: the votes, oldest first. A tie and "both bad" score 0.5 each.
        k: the update step.
        base: every model's starting rating.
        scale: the logistic scale (400: a 400-point gap means 10:1 odds).

    Returns:
        model → rating.
    """
    ratings: dict[str, float] = {}
    for v in votes:
        ra, rb = ratings.get(v.model_a, base), ratings.get(v.model_b, base)
        expected_a = 1.0 / (1.0 + 10 ** ((rb - ra) / scale))
        score_a = _SCORE[v.outcome]
        ratings[v.model_a] = ra + k * (score_a - expected_a)
        ratings[v.model_b] = rb + k * ((1.0 - score_a) - (1.0 - expected_a))
    return ratings


@dataclass
class LeaderRow:
    """One model on the arena leaderboard. ``ci_low``/``ci_high``: the 95% bootstrap interval of its Elo."""

    model: str
    elo: float
    ci_low: float
    ci_high: float
    votes: int = 0
    wins: int = 0
    losses: int = 0
    ties: int = 0
    both_bad: int = 0
    extra: dict = field(default_factory=dict)


def leaderboard(votes: list[Vote], *, rounds: int = 200, seed: int = 0, k: float = ELO_K) -> list[LeaderRow]:
    """The Elo leaderboard with a 95% confidence interval from the bootstrap.

    Each bootstrap round resamples the votes with replacement (in a random order, since online Elo depends on
    order) and recomputes every rating; the interval is the 2.5th to 97.5th percentile over the rounds.

    Args:
        votes: every vote, oldest first.
        rounds: bootstrap rounds (fewer for very many votes, to stay around a second).
        seed: the resampling seed (same votes + seed = same intervals).
        k: the Elo update step.

    Returns:
        Rows sorted by Elo, best first.
    """
    if not votes:
        return []
    ratings = elo_ratings(votes, k=k)
    rng = random.Random(seed)
    rounds = max(20, min(rounds, 400_000 // len(votes)))
    samples: dict[str, list[float]] = {m: [] for m in ratings}
    for _ in range(rounds):
        for model, rating in elo_ratings(rng.choices(votes, k=len(votes)), k=k).items():
            samples[model].append(rating)
    rows = {m: LeaderRow(model=m, elo=r, ci_low=_percentile(samples[m], 2.5, r),
                         ci_high=_percentile(samples[m], 97.5, r)) for m, r in ratings.items()}
    for v in votes:
        a, b = rows[v.model_a], rows[v.model_b]
        a.votes += 1
        b.votes += 1
        if v.outcome == "a":
            a.wins, b.losses = a.wins + 1, b.losses + 1
        elif v.outcome == "b":
            b.wins, a.losses = b.wins + 1, a.losses + 1
        elif v.outcome == "tie":
            a.ties, b.ties = a.ties + 1, b.ties + 1
        else:
            a.both_bad, b.both_bad = a.both_bad + 1, b.both_bad + 1
    return sorted(rows.values(), key=lambda r: r.elo, reverse=True)


def _percentile(values: list[float], pct: float, default: float) -> float:
    if not values:
        return default
    ordered = sorted(values)
    pos = (len(ordered) - 1) * pct / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def pick_pair(models: Iterable[str], rng: random.Random | None = None) -> tuple[str, str]:
    """Two different models from the pool, in a random A/B order.

    Raises:
        InvalidInput: fewer than two different models.
    """
    pool = list(dict.fromkeys(m.strip() for m in models if m and m.strip()))
    if len(pool) < 2:
        raise errors.InvalidInput("The arena needs at least two different models in its pool.")
    a, b = (rng or random.SystemRandom()).sample(pool, 2)
    return a, b
