"""Side-by-side streaming: every column runs ``engines.chat.stream_chat`` in its own thread.

``merge_streams`` merges the threads' chunks into one iterator in arrival order, so columns stream interleaved.
Closing that iterator (the user pressed Stop) tells each thread to close its engine generator, which stops local
generation at the next token and drops the HTTP stream of remote models.
"""

from __future__ import annotations

import copy
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from engines import errors, snippets
from engines.arena.entries import MAX_COLUMNS, Entry
from engines.arena.memory import FitCheck, check_fit
from engines.backends.registry import runs_locally
from engines.chat import ChatChunk, GenerationStats, stream_chat, validate_messages
from engines.config import Settings, in_this_call
from engines.redact import redact

HEARTBEAT = -1  # the index merge_streams yields when nothing arrived for ``poll_s`` seconds
DONE = object()  # the item merge_streams yields when a stream has ended (after its error, if any)


def _work(index: int, factory: Callable[[], Iterator[Any]], events: queue.SimpleQueue,
          stop: threading.Event) -> None:
    """One ``merge_streams`` worker: put the stream's items (then its error, if any, then DONE) on ``events``."""
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

    threads = [threading.Thread(target=in_this_call(_work), args=(i, f, events, stop), name=f"compare-{i}",
                                daemon=True) for i, f in enumerate(factories)]
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
    if item is STARTED:  # a sequential column's turn: its clock starts now
        col.status, col.started, col.elapsed_s = "loading", now, 0.0
        return
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
                   min_interval_s: float = 0.05, settings: Settings | None = None, sequential: bool = False,
                   histories: list[list[dict]] | None = None) -> Iterator[list[ColumnState]]:
    """Run several models on the same messages and yield every column's state as they stream.

    Columns run at the same time (they share the CPU/GPU, so each one's speed is lowered by the others) unless
    ``sequential``: then one at a time, in order, each alone on the hardware, for speeds that compare fairly.

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
        sequential: run the columns one after another (a column waits, status "waiting", until the one before it
            ended) instead of all at once.
        histories: a multi-turn follow-up: each column's own conversation so far (one list per entry, its earlier
            user and assistant turns); ``messages`` (the new turn) is appended to each.

    Yields:
        Snapshots (copies) of the columns; the last one has every column finished. A column's failure (gated,
        out of memory, no key, refused) is in that column's ``error``; the other columns go on.

    Raises:
        InvalidInput: bad messages or too many columns (a problem shared by all columns).
    """
    settings = settings or Settings.current()
    if not entries or len(entries) > MAX_COLUMNS:
        raise errors.InvalidInput(f"Choose between 1 and {MAX_COLUMNS} models.")
    if histories is not None and len(histories) != len(entries):
        raise errors.InvalidInput("A follow-up needs one conversation per column.")
    per_column = ([validate_messages(list(h or []) + list(messages)) for h in histories] if histories is not None
                  else [validate_messages(messages)] * len(entries))
    cols = [ColumnState(index=i, model=e.model, label=e.label, quantization=e.quantization)
            for i, e in enumerate(entries)]
    fits = check_fit(entries, settings=settings) if memory_check else [None] * len(entries)
    runnable = []
    for col, fit in zip(cols, fits, strict=True):
        col.fit = fit
        if fit is not None and not fit.fits:
            col.status, col.error, col.error_title = "refused", fit.message, errors.OutOfMemory.title
        else:
            col.status = "waiting" if sequential and runnable else "loading"
            runnable.append(col)
    yield _snapshot(cols)
    start = time.perf_counter()
    for col in cols:
        col.started = start
    if not all(_served(c.model, settings) for c in runnable):
        yield from _preload(cols, runnable, start)
    load_lock = threading.Lock()
    factories = [_factory(col.model, per_column[col.index], max_new_tokens, temperature, col.quantization,
                          None if _served(col.model, settings) else load_lock, settings) for col in runnable]
    stop = stop or threading.Event()
    if sequential:
        factories = _one_at_a_time(factories, stop)
    yield from _run_columns(cols, runnable, factories, stop, min_interval_s, start)


STARTED = object()  # the item a sequential column yields when its turn comes (its clock starts then)


def _one_at_a_time(factories: list[Callable[[], Iterator[Any]]],
                   stop: threading.Event) -> list[Callable[[], Iterator[Any]]]:
    """Wrap the column streams so each starts only when the one before it has ended (or Stop was pressed)."""
    ended = [threading.Event() for _ in factories]

    def gated(i: int, factory: Callable[[], Iterator[Any]]) -> Callable[[], Iterator[Any]]:
        def stream() -> Iterator[Any]:
            try:
                while i and not ended[i - 1].wait(0.1):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                yield STARTED
                inner = factory()
                try:
                    yield from inner
                finally:
                    inner.close()
            finally:
                ended[i].set()

        return stream

    return [gated(i, f) for i, f in enumerate(factories)]


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
            if col.status != "waiting":  # a sequential column's clock starts at its turn
                col.elapsed_s = time.perf_counter() - start
        yield _snapshot(cols)


def _served(model: str, settings: Settings | None = None) -> bool:
    return not runs_locally(model, settings)


def _factory(model: str, messages: list[dict], max_new_tokens: int, temperature: float, quantization: str,
             load_lock: threading.Lock | None, settings: Settings | None = None) -> Callable[[], Iterator[ChatChunk]]:
    """A column's stream. Local columns take ``load_lock`` until their first chunk: ``from_pretrained(dtype=...)``
    sets torch's process-wide default dtype while it builds a model, so two loads at different dtypes in parallel
    threads corrupt each other (seen on CUDA: "expected mat1 and mat2 to have the same dtype"). Loads run one at a
    time; generation still runs side by side."""

    def stream() -> Iterator[ChatChunk]:
        chunks = stream_chat(model, messages, max_new_tokens=max_new_tokens, temperature=temperature,
                             quantization=quantization, settings=settings)
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
    last = float("-inf")  # the first change goes out at once, however young the machine
    merged = merge_streams(factories, stop=stop)
    try:
        for index, item in merged:
            now = time.perf_counter()
            for col in runnable:
                if not col.finished and col.status != "waiting":
                    col.elapsed_s = now - col.started
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
