"""Meeting minutes: ``stream_minutes()`` streams Markdown minutes (summary, discussion, takeaways, action items
with owners and transcript timestamps) from a transcript, with any chat model ``stream_chat`` runs.

A transcript longer than the model's context is summarized part by part (map), the notes merged until they fit
(collapse), then the minutes are written from the notes (reduce); each stage is announced as it starts.
"""

from __future__ import annotations

import csv
import io
import math
import re
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field, replace

from engines import errors, prompts, registry, textfiles
from engines.backends.registry import is_local
from engines.chat import ChatChunk, GenerationStats, encode_chat, stream_chat
from engines.config import Settings
from engines.model_kind import require_chat_model
from engines.refs import ModelRef, parse_ref
from engines.repetition import LoopGuard

REMOTE_DEFAULT_CONTEXT = 8192  # assumed for API models the catalog doesn't describe
CHARS_PER_TOKEN = 3.5  # conservative estimate for API models (no tokenizer here)
MARGIN_TOKENS = 16
MAX_COLLAPSE_ROUNDS = 4
ACTION_COLUMNS = ("#", "Action", "Owner", "Due", "Source")
SECTIONS = ("Summary", "Discussion points", "Takeaways", "Action items")  # what prompts.MINUTES_SYSTEM asks for
_STAMP = re.compile(r"^\s*\[(\d{1,2}:\d{2}(?::\d{2})?)\]")


@dataclass
class MinutesChunk(ChatChunk):
    """A ChatChunk with the stage being run: ``stage`` (a sentence) and ``step``/``steps`` when a stage starts;
    ``notes`` holds one part's finished notes in the map stage. ``text`` deltas are the minutes only."""

    stage: str | None = None
    step: int = 0
    steps: int = 0
    notes: str | None = None
    quality: MinutesCheck | None = None  # on the last chunk: what the minutes lack, if anything
    final_text: str | None = None  # on the last chunk: the minutes as kept (a repetition loop cut back to once)


@dataclass
class MinutesCheck:
    """Whether minutes came out as asked: every section present, action items found, no loop, no cut-off."""

    missing_sections: list[str] = field(default_factory=list)
    action_items: int = 0
    hit_token_limit: bool = False
    looped: bool = False

    @property
    def ok(self) -> bool:
        """True when nothing is missing or degenerate (zero action items alone is a fact, not a failure)."""
        return not (self.missing_sections or self.hit_token_limit or self.looped)

    def warnings(self, model: str) -> list[str]:
        """Sentences for the user, each with what to do about it."""
        out = []
        bigger = "a larger instruct model (e.g. Qwen/Qwen2.5-1.5B-Instruct on CPU, Llama 3.1 8B on a GPU)"
        if self.looped:
            out.append(f"'{model}' started repeating itself, so generation was stopped there; try {bigger}.")
        if self.hit_token_limit:
            out.append("The minutes hit the max-new-tokens limit and may be cut off: raise it, or use a model that "
                       "writes more concisely.")
        if self.missing_sections:
            out.append(f"The minutes lack the section(s) {', '.join(self.missing_sections)}: '{model}' did not "
                       f"follow the requested structure; try {bigger}.")
        if not self.action_items:
            out.append("No action items were found in the minutes (the action-items CSV has only its header).")
        return out


_HEADING = re.compile(r"^\s*(?:#{1,6}\s*|\*\*)\s*([A-Za-z][A-Za-z ]+?)\s*(?:\*\*)?\s*:?\s*$", re.M)


def check_minutes(markdown: str, *, finish_reason: str | None = None, looped: bool = False) -> MinutesCheck:
    """What the minutes lack: missing sections (by heading), action items (table rows), a cut-off or a loop.

    Args:
        markdown: the minutes.
        finish_reason: the last model call's ("length" = hit the token limit).
        looped: generation was stopped because the text repeated itself.

    Returns:
        A MinutesCheck.
    """
    headings = {h.strip().lower() for h in _HEADING.findall(markdown or "")}
    missing = [s for s in SECTIONS if s.lower() not in headings]
    return MinutesCheck(missing_sections=missing, action_items=len(parse_action_items(markdown or "")),
                        hit_token_limit=finish_reason == "length", looped=looped)


@dataclass(frozen=True)
class Budget:
    """Token arithmetic for one model: context, new tokens per call, and how to count."""

    ref: ModelRef
    context: int
    max_new_tokens: int
    notes_tokens: int
    tokenizer: object | None  # None = estimate from characters (API models)

    def count(self, text: str) -> int:
        """Tokens in ``text`` (exact with a local tokenizer, estimated for API models)."""
        if self.tokenizer is None:
            return math.ceil(len(text) / CHARS_PER_TOKEN)
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def prompt_tokens(self, messages: list[dict]) -> int:
        """Tokens of a whole chat prompt, template included."""
        if self.tokenizer is None:
            return sum(self.count(m["content"]) + 4 for m in messages) + 3
        return len(encode_chat(self.tokenizer, messages)[0])

    def room(self, system: str, user_template: str, new_tokens: int, **fields) -> int:
        """Tokens left for the variable text of a prompt once its fixed part and the answer are counted."""
        empty = [{"role": "system", "content": system},
                 {"role": "user", "content": user_template.format(**fields)}]
        return self.context - new_tokens - self.prompt_tokens(empty) - MARGIN_TOKENS


def default_model(settings: Settings | None = None) -> str:
    """The default minutes model: Llama 3.1 8B (4-bit) on a GPU, a small instruct model on CPU."""
    settings = settings or Settings.current()
    return registry.default_for("minutes", settings.device)


def _context_of(ref: ModelRef, settings: Settings | None = None) -> int | None:
    spec = ref.spec
    if spec is not None and spec.context:
        return spec.context
    if not is_local(ref, settings):
        return None
    from engines.loading import load_config

    cfg = load_config(ref)
    cfg = getattr(cfg, "text_config", None) or cfg
    return getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", None)


def plan_budget(ref: ModelRef, max_new_tokens: int, context_tokens: int | None,
                settings: Settings | None = None) -> tuple[Budget, list[str]]:
    """The token budget for ``ref``; notices say what was assumed or reduced.

    Raises:
        InvalidInput: max_new_tokens out of range. ContextTooLong: a context too small to write minutes in.
    """
    settings, notices = settings or Settings.current(), []
    if not isinstance(max_new_tokens, int) or not 16 <= max_new_tokens <= settings.max_new_tokens:
        raise errors.InvalidInput(f"max_new_tokens must be between 16 and {settings.max_new_tokens}.")
    known = _context_of(ref, settings)
    context = known or REMOTE_DEFAULT_CONTEXT
    if known is None:
        notices.append(f"The context window of '{ref.display}' is unknown: assumed {context:,} tokens.")
    if context_tokens:
        context = min(context, int(context_tokens)) if known else int(context_tokens)
    if max_new_tokens > context // 2:
        max_new_tokens = max(16, context // 2)
        notices.append(f"max new tokens lowered to {max_new_tokens} to leave room for the transcript in the "
                       f"{context:,}-token context.")
    tokenizer = None
    if is_local(ref, settings):
        from engines.loading import load_tokenizer

        tokenizer = load_tokenizer(ref)
    budget = Budget(ref, context, max_new_tokens, min(512, max(16, max_new_tokens // 2)), tokenizer)
    if budget.room(prompts.MINUTES_MAP_SYSTEM, prompts.MINUTES_MAP_USER, budget.notes_tokens, part=99, parts=99,
                   start="00:00:00", end="00:00:00", transcript="") < 64:
        raise errors.ContextTooLong(f"The {context:,}-token context of '{ref.display}' is too small to hold the "
                                    "minutes prompt and part of a transcript. Pick a model with a longer context.")
    return budget, notices


def split_text(text: str, limit: int, budget: Budget) -> list[str]:
    """Split at line ends into parts of at most ``limit`` tokens (a longer line is cut between words)."""
    parts, current, used = [], [], 0
    for line in _fit_lines(text.splitlines(), limit, budget):
        n = budget.count(line) + 1
        if current and used + n > limit:
            parts.append("\n".join(current))
            current, used = [], 0
        current.append(line)
        used += n
    if current:
        parts.append("\n".join(current))
    return [p for p in parts if p.strip()]


def _fit_lines(lines: list[str], limit: int, budget: Budget) -> Iterator[str]:
    for line in lines:
        if budget.count(line) < limit:
            yield line
            continue
        piece: list[str] = []
        for word in line.split():
            if piece and budget.count(" ".join([*piece, word])) >= limit:
                yield " ".join(piece)
                piece = []
            piece.append(word)
        if piece:
            yield " ".join(piece)


def time_range(part: str) -> tuple[str, str]:
    """First and last ``[hh:mm:ss]`` stamps of a transcript part ("?" when it has none)."""
    stamps = [m.group(1) for m in map(_STAMP.match, part.splitlines()) if m]
    return (stamps[0], stamps[-1]) if stamps else ("?", "?")


class _Run:
    """Accumulates the stats of every model call of one minutes run."""

    def __init__(self, ref: ModelRef, settings: Settings | None = None):
        self.ref, self.start, self.calls, self.tokens, self.load_s = ref, time.perf_counter(), 0, 0, 0.0
        self.settings = settings
        self.last: GenerationStats | None = None
        self.notices: list[str] = []

    def call(self, budget: Budget, system: str, user: str, new_tokens: int,
             guard: LoopGuard | None = None) -> Iterator[ChatChunk]:
        """Stream one model call; record its stats and notices. With a ``guard``, a call whose text starts looping
        is stopped there (closing the stream stops generation at the next token)."""
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        started = time.perf_counter()
        with closing(stream_chat(self.ref.raw, messages, max_new_tokens=new_tokens, temperature=0.0,
                                 settings=self.settings)) as stream:
            for chunk in stream:
                if chunk.notice and chunk.notice not in self.notices:
                    self.notices.append(chunk.notice)
                if chunk.stats is not None:
                    self._record(chunk.stats)
                elif chunk.text:
                    yield chunk
                    if guard is not None and guard.feed(chunk.text):
                        self._stopped(budget, guard.text, time.perf_counter() - started)
                        return

    def _record(self, stats: GenerationStats) -> None:
        self.calls += 1
        self.tokens += stats.tokens
        self.load_s += stats.load_s
        self.last = stats

    def _stopped(self, budget: Budget, text: str, seconds: float) -> None:
        """Stats of a call stopped early (its own last chunk never came): tokens counted from the text."""
        tokens = budget.count(text)
        base = self.last or self._first_stopped()
        self._record(replace(base, tokens=tokens, load_s=0.0, total_s=seconds, finish_reason="repetition",
                             tokens_per_s=tokens / seconds if seconds > 0 else 0.0))

    def _first_stopped(self) -> GenerationStats:
        """Stats for a first call stopped before its stats came: the backend and device it ran on, as far as they
        are known without the stream's own numbers (its load time and quantization are not)."""
        if not is_local(self.ref, self.settings):
            from engines.backends.registry import backend_for

            settings = self.settings or Settings.current()
            backend = backend_for(self.ref, settings).provider(self.ref, settings)
            device, quantization = "remote", "n/a"
        else:
            from engines.gpu import torch_device

            backend, device, quantization = "transformers", torch_device(), ""
        return GenerationStats(load_s=0.0, ttft_s=0.0, tokens=0, tokens_per_s=0.0, total_s=0.0,
                               model=self.ref.display, backend=backend, device=device, quantization=quantization)

    def collect(self, budget: Budget, system: str, user: str, new_tokens: int) -> str:
        """One model call's whole answer (stopped early if it starts looping)."""
        guard = LoopGuard()
        for _ in self.call(budget, system, user, new_tokens, guard=guard):
            pass
        return guard.kept_text().strip()

    def stats(self) -> GenerationStats:
        """Totals over every call (the final call's model, backend and device)."""
        total = time.perf_counter() - self.start
        base = self.last or GenerationStats(load_s=0.0, ttft_s=0.0, tokens=0, tokens_per_s=0.0, total_s=0.0)
        return replace(base, load_s=self.load_s, tokens=self.tokens, total_s=total,
                       tokens_per_s=self.tokens / total if total > 0 else 0.0)


def stream_minutes(transcript: str, *, model: str | None = None, max_new_tokens: int = 1024,
                   context_tokens: int | None = None, settings: Settings | None = None) -> Iterator[ChatChunk]:
    """Stream Markdown minutes of a meeting from its transcript (map-reduce when it exceeds the context).

    Args:
        transcript: the transcript, ideally one ``[hh:mm:ss] text`` line per segment (as ``transcribe`` gives).
        model: any chat model reference (Hub id, local folder, ``openai:…``, ``hf:…``, ``ollama:…``);
            None = the default for this hardware.
        max_new_tokens: upper bound on the minutes' length in tokens.
        context_tokens: use at most this many tokens of context (default: the model's window).
        settings: the deployment's settings (read from the environment when None).

    Yields:
        MinutesChunk (a ChatChunk): a ``stage`` chunk as each stage starts, part ``notes`` in the map stage,
        ``text`` deltas of the minutes, and a last chunk with GenerationStats totalled over every call.

    Raises:
        InvalidInput: an empty or over-long transcript. ContextTooLong: a model whose context can't hold the prompt.
        NotAChatModel: a speech, embedding or classifier model given as the minutes model.
    """
    settings = settings or Settings.current()
    text = (transcript or "").strip()
    if not text:
        raise errors.InvalidInput("The transcript is empty: transcribe a recording first, or paste a transcript.")
    if len(text) > settings.max_input_chars:
        raise errors.InvalidInput(f"The transcript has {len(text):,} characters; the limit is "
                                  f"{settings.max_input_chars:,} (WORKBENCH_MAX_INPUT_CHARS).")
    ref = parse_ref(model or default_model(settings), settings)
    require_chat_model(ref, role="the minutes model", purpose="write minutes (it would fail or write gibberish)")
    budget, notices = plan_budget(ref, max_new_tokens, context_tokens, settings)
    run = _Run(ref, settings)
    run.notices += notices
    room = budget.room(prompts.MINUTES_SYSTEM, prompts.MINUTES_USER, budget.max_new_tokens, transcript="")
    if budget.count(text) <= room:
        yield MinutesChunk(text="", stage="Writing the minutes", step=1, steps=1, notice=_notice(run))
        yield from _final(run, budget, prompts.MINUTES_USER.format(transcript=text), 1)
        return
    yield from _map_reduce(run, budget, text)


def _notice(run: _Run) -> str | None:
    return " ".join(run.notices) or None


def _final(run: _Run, budget: Budget, user: str, step: int) -> Iterator[ChatChunk]:
    seen = len(run.notices)
    guard = LoopGuard()
    for chunk in run.call(budget, prompts.MINUTES_SYSTEM, user, budget.max_new_tokens, guard=guard):
        yield MinutesChunk(text=chunk.text)
    text = guard.kept_text()
    quality = check_minutes(text, finish_reason=run.last.finish_reason if run.last else None, looped=guard.looping)
    extra = " ".join([*run.notices[seen:], *quality.warnings(run.ref.display)]) or None
    yield MinutesChunk(text="", stats=run.stats(), notice=extra, step=step, steps=step, quality=quality,
                       final_text=text)


def _map_reduce(run: _Run, budget: Budget, text: str) -> Iterator[ChatChunk]:
    limit = budget.room(prompts.MINUTES_MAP_SYSTEM, prompts.MINUTES_MAP_USER, budget.notes_tokens, part=99,
                        parts=99, start="00:00:00", end="00:00:00", transcript="")
    parts = split_text(text, limit, budget)
    steps = len(parts) + 1
    notes = []
    for i, part in enumerate(parts, 1):
        start, end = time_range(part)
        yield MinutesChunk(text="", stage=f"Summarizing part {i} of {len(parts)} ({start}–{end}): the transcript "
                           f"is longer than the {budget.context:,}-token context", step=i, steps=steps,
                           notice=_notice(run) if i == 1 else None)
        user = prompts.MINUTES_MAP_USER.format(part=i, parts=len(parts), start=start, end=end, transcript=part)
        note = run.collect(budget, prompts.MINUTES_MAP_SYSTEM, user, budget.notes_tokens)
        notes.append(f"### Part {i} ({start}–{end})\n{note or '(no notes)'}")
        yield MinutesChunk(text="", notes=notes[-1], step=i, steps=steps)
    notes = yield from _collapse(run, budget, notes, steps)
    yield MinutesChunk(text="", stage=f"Writing the minutes from the notes on {len(parts)} parts", step=steps,
                       steps=steps)
    user = prompts.MINUTES_REDUCE_USER.format(parts=len(parts), notes="\n\n".join(notes))
    yield from _final(run, budget, user, steps)


def _collapse(run: _Run, budget: Budget, notes: list[str], steps: int) -> Iterator[ChatChunk]:
    """Merge groups of notes until they fit one final prompt (a few rounds at most)."""
    final_room = budget.room(prompts.MINUTES_SYSTEM, prompts.MINUTES_REDUCE_USER, budget.max_new_tokens, parts=99,
                             notes="")
    merge_room = budget.room(prompts.MINUTES_MAP_SYSTEM, prompts.MINUTES_COMBINE_USER, budget.notes_tokens,
                             notes="")
    for round_ in range(1, MAX_COLLAPSE_ROUNDS + 1):
        if budget.count("\n\n".join(notes)) <= final_room:
            return notes
        groups = split_text("\n\n".join(notes), merge_room, budget)
        yield MinutesChunk(text="", stage=f"Merging notes (round {round_}: {len(notes)} notes into {len(groups)})",
                           step=steps, steps=steps)
        notes = [run.collect(budget, prompts.MINUTES_MAP_SYSTEM, prompts.MINUTES_COMBINE_USER.format(notes=g),
                             budget.notes_tokens) or "(no notes)" for g in groups]
    if budget.count("\n\n".join(notes)) > final_room:
        notes = split_text("\n\n".join(notes), final_room, budget)[:1]
        run.notices.append("The merged notes still exceeded the context: the minutes cover the first notes only.")
    return notes


# ----------------------------------------------------------------------------------------------- exports


def parse_action_items(markdown: str) -> list[dict[str, str]]:
    """Rows of the action-items table in the minutes (the first Markdown table with an Owner column).

    Returns:
        One dict per row, keyed by ACTION_COLUMNS (missing cells are "").
    """
    rows: list[dict[str, str]] = []
    header: list[str] | None = None
    for line in markdown.splitlines():
        line = line.strip()
        if not (line.startswith("|") and line.count("|") >= 2):
            if header is not None and rows:
                break
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if header is None:
            if any(c.lower() == "owner" for c in cells):
                header = [c.lower() for c in cells]
            continue
        if all(set(c) <= set("-: ") for c in cells):
            continue
        row = {col: "" for col in ACTION_COLUMNS}
        for name, cell in zip(header, cells, strict=False):
            for col in ACTION_COLUMNS:
                if name == col.lower() or (col == "Action" and name in ("task", "action item", "what")) or (
                        col == "Due" and name in ("due date", "deadline", "when")):
                    row[col] = cell
        if any(row[c] for c in ("Action", "Owner")):
            rows.append(row)
    return rows


def action_items_csv(markdown: str) -> str:
    """The action items of the minutes as CSV (header row always present)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(ACTION_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for i, row in enumerate(parse_action_items(markdown), 1):
        writer.writerow(dict(zip(row, textfiles.csv_row({**row, "#": row["#"] or str(i)}.values()), strict=True)))
    return buf.getvalue()
