"""The run: ``stream_rows`` asks for rows in batches, parses them as lines complete, validates, drops duplicates,
and stops when the rows are there, the retry budget or the batch limit is spent, or the caller closes it."""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Iterator
from typing import Any

from engines import errors
from engines.chat import ChatChunk, stream_chat
from engines.config import Settings
from engines.synthetic.fields import Field
from engines.synthetic.parse import RowParser, Unparseable, expand
from engines.synthetic.plan import Plan, make_plan
from engines.synthetic.request import batch_request, batch_tokens
from engines.synthetic.run_stats import NoValidRows, RunStats, describe_stop
from engines.synthetic.validate import validate_row


def stream_rows(description: str, *, fields: list[Field | str], n_rows: int, model: str, max_attempts: int = 5,
                temperature: float = 0.8, diversity: bool = True, batch_size: int = 10, seed: int | None = None,
                max_new_tokens: int | None = None, stats: RunStats | None = None,
                settings: Settings | None = None) -> Iterator[dict]:
    """Generate a dataset row by row: valid, unique rows, streamed as the model writes them.

    Inputs are checked now (before any model call); rows come from the returned iterator.

    Args:
        description: what the dataset is about and what it is for (at most ``MAX_DESCRIPTION_CHARS``).
        fields: the columns: Field objects, compact specs such as "age:int(18..90)", or dicts (at most
            ``MAX_FIELDS``; see ``validate_fields`` for the per-field bounds).
        n_rows: how many rows to produce (1 to ``max_rows()``).
        model: a local model (Hub id or folder) or ``openai:``/``hf:``/``ollama:`` reference.
        max_attempts: the retry budget: stop after this many batches in a row without a new valid row (1 to 50).
        temperature: sampling temperature (0 to 2; 0 = greedy); jittered per batch when diversity is on.
        diversity: vary the prompt (focus, seed, values to avoid, under-represented enum values) and the sampling
            seed across batches.
        batch_size: rows asked for per model call (1 to 50).
        seed: makes the diversity choices reproducible; None = random.
        max_new_tokens: tokens per batch (1 to ``WORKBENCH_MAX_NEW_TOKENS``); None = estimated from the fields and
            the batch size.
        stats: a RunStats filled in place (counts, stop reason, raw output, timings) while rows are yielded.
        settings: the deployment's settings (read from the environment when None).

    Returns:
        An iterator of rows (dicts keyed by field name, values of the field types; dates as "YYYY-MM-DD").

    Raises:
        InvalidInput: bad or too many fields, an empty or too long description, a row count out of range, or bad
            options.
        NoValidRows: (while iterating) the retry budget ran out before any valid row.
    """
    settings = settings or Settings.current()
    plan = make_plan(description, fields, n_rows, model, max_attempts=max_attempts, temperature=temperature,
                     diversity=diversity, batch_size=batch_size, seed=seed, max_new_tokens=max_new_tokens,
                     settings=settings)
    stats = stats if stats is not None else RunStats()
    stats.requested, stats.model, stats.temperature = plan.n_rows, plan.model, plan.temperature
    if plan.remote:  # known now: a run that stops mid-stream never sees the final stats chunk
        from engines.backends.registry import resolve

        found = resolve(plan.model, settings)
        stats.backend = found.backend.provider(found.ref, found.settings)
        stats.device, stats.quantization = "remote", "n/a"
    else:
        stats.backend, stats.device = "transformers", settings.device
    return _run(plan, stats)


def _run(plan: Plan, stats: RunStats) -> Iterator[dict]:
    rng = random.Random(plan.seed)
    seen: set[str] = set()
    history: list[dict] = []
    start = time.perf_counter()
    batch_cap = math.ceil(plan.n_rows / plan.batch_size) * 4 + plan.max_attempts
    try:
        while stats.rows < plan.n_rows:
            if stats.batches >= batch_cap:
                stats.stop_reason = "batch limit"
                break
            want = min(plan.batch_size, plan.n_rows - stats.rows)
            messages, temperature, batch_seed = batch_request(plan, stats.batches + 1, want, history, rng)
            new = yield from _batch_rows(_one_batch(plan, messages, temperature, batch_seed, want, stats, seen),
                                         plan, stats, history)
            if new is None or _out_of_budget(plan, stats, new):
                break
        else:
            stats.stop_reason = "complete"
    finally:
        stats.seconds = time.perf_counter() - start
        stats.stop_reason = stats.stop_reason or "stopped"
        stats.message = stats.message or describe_stop(stats)


def _batch_rows(batch_rows: Iterator[dict], plan: Plan, stats: RunStats, history: list[dict]):
    """Yield one batch's new rows; return how many there were, or None when a model error ended the run."""
    new = 0
    try:
        for row in batch_rows:
            new += 1
            history.append(row)
            yield row
            if stats.rows >= plan.n_rows:
                break
    except errors.WorkbenchError as exc:
        if stats.rows == 0:
            raise
        stats.stop_reason, stats.message = "error", str(exc)
        return None
    finally:
        batch_rows.close()  # stops the model's stream when enough rows arrived or the user stopped
    return new


def _out_of_budget(plan: Plan, stats: RunStats, new: int) -> bool:
    stats.failed_in_a_row = 0 if new else stats.failed_in_a_row + 1
    if not new and len(stats.raw_samples) < 3:
        stats.raw_samples.append(stats.last_raw[:4000])
    if stats.failed_in_a_row < plan.max_attempts:
        return False
    stats.stop_reason = "retry budget"
    if stats.rows == 0:
        reasons = ", ".join(f"{r} ({n})" for r, n in stats.invalid_reasons.most_common(3)) or "no JSON object"
        sample = stats.last_raw.strip()[:300] or "(empty)"
        raise NoValidRows(
            f"The model wrote no valid row in {stats.batches} batch(es) (the retry budget). Problems: {reasons}. "
            f"Raw output of the last batch: «{sample}». Try a larger or instruction-tuned model, a lower "
            "temperature, or fewer fields.", raw_sample=stats.last_raw[:4000], stats=stats)
    return True


def _one_batch(plan: Plan, messages: list[dict], temperature: float, seed: int, want: int, stats: RunStats,
               seen: set[str]) -> Iterator[dict]:
    """One model call: parse rows as lines complete, validate, dedupe, yield the new ones."""
    if not plan.remote and plan.diversity and temperature > 0:
        _seed_local(seed)
    max_new = batch_tokens(plan, want)
    stats.last_messages, stats.max_new_tokens = messages, max_new
    stats.first_messages = stats.first_messages or messages
    stats.last_raw = ""
    parser = RowParser()
    pieces, counted = 0, [False]
    chunks = stream_chat(plan.model, messages, max_new_tokens=max_new, temperature=temperature,
                         settings=plan.settings)
    try:
        for chunk in chunks:
            _record_chunk(chunk, stats, counted)
            if chunk.text:
                pieces += 1
                stats.last_raw += chunk.text
                yield from _accept_all(parser.feed(chunk.text), plan.fields, stats, seen)
        yield from _accept_all(parser.finish(), plan.fields, stats, seen)
    finally:
        chunks.close()
        stats.batches += 1
        if not counted[0]:  # closed before the stats chunk: one streamed piece is about one token
            stats.tokens += pieces


def _seed_local(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


def _record_chunk(chunk: ChatChunk, stats: RunStats, counted: list[bool]) -> None:
    if chunk.notice and chunk.notice not in stats.notices:
        stats.notices.append(chunk.notice)
    s = chunk.stats
    if s is not None:
        counted[0] = True
        stats.tokens += s.tokens
        stats.load_s = stats.load_s or s.load_s
        stats.backend, stats.device, stats.quantization = s.backend, s.device, s.quantization


def _accept_all(items: list[Any], fields: list[Field], stats: RunStats, seen: set[str]) -> Iterator[dict]:
    for item in items:
        for obj in expand(item, fields) if not isinstance(item, Unparseable) else [item]:
            row = _accept(obj, fields, stats, seen)
            if row is not None:
                yield row


def _accept(obj: Any, fields: list[Field], stats: RunStats, seen: set[str]) -> dict | None:
    if isinstance(obj, Unparseable):
        return _reject(stats, obj.reason, obj.text)
    try:
        row, coerced = validate_row(obj, fields)
    except ValueError as exc:
        return _reject(stats, str(exc), json.dumps(obj, ensure_ascii=False, default=str)[:300])
    key = json.dumps(row, sort_keys=True, ensure_ascii=False)
    if key in seen:
        stats.duplicates += 1
        return None
    seen.add(key)
    stats.rows += 1
    stats.coerced += int(coerced)
    return row


def _reject(stats: RunStats, reason: str, raw: str) -> None:
    stats.invalid += 1
    stats.invalid_reasons[reason] += 1
    if len(stats.invalid_examples) < 20:
        stats.invalid_examples.append({"reason": reason, "raw": raw})
    return None
