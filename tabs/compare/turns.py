"""Multi-turn Compare and arena: each column's own conversation (checked when a client sends it, kept within the
input policy's limits), and how a conversation is shown (a small chatbot per column, each answer with its numbers).
Plain data and formatting, no Gradio events."""

from __future__ import annotations

import json
from typing import Any

from engines import arena
from engines.config import Settings
from engines.errors import InvalidInput
from tabs.numbers import number

ROLES = ("system", "user", "assistant")
_KEYS = len("role") + len("content")  # the input policy counts a message's keys as text too


def history_chars(histories: list[list[dict]]) -> int:
    """The text the input policy counts in ``histories`` (contents, roles and the keys of each message)."""
    return sum(len(m["content"]) + len(m["role"]) + _KEYS for h in histories for m in h)


def check_histories(value: Any, columns: int) -> list[list[dict]]:
    """The conversations an API client sent: one list per column of {"role", "content"} messages (system, user,
    assistant; text only: no image parts, no tool messages); ``[]``, ``""`` or None = a first turn.

    Raises:
        InvalidInput: not one conversation per column, or a malformed message.
    """
    if isinstance(value, str):
        if not value.strip():
            value = None
        else:
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise InvalidInput(f"The histories are not valid JSON: {exc.msg}.") from None
    if not value:
        return [[] for _ in range(columns)]
    if not isinstance(value, list) or len(value) != columns or not all(isinstance(h, list) for h in value):
        raise InvalidInput(f"The histories must be a list of {columns} conversation(s), one per model, each a list of "
                           "{\"role\", \"content\"} messages (what the last call returned; [] to start).")
    out = []
    for c, history in enumerate(value):
        clean = []
        for i, m in enumerate(history):
            if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
                raise InvalidInput(f"Conversation {c + 1}, message {i + 1}: give {{\"role\": one of "
                                   f"{', '.join(ROLES)}, \"content\": text}}.")
            if m["role"] == "system" and i:
                raise InvalidInput(f"Conversation {c + 1}: only the first message may be the system prompt.")
            clean.append({"role": m["role"], "content": m["content"]})
        out.append(clean)
    return out


def _turn_starts(history: list[dict]) -> list[int]:
    return [i for i, m in enumerate(history) if m["role"] == "user"]


def bound(histories: list[list[dict]], notes: list[list[str]], settings: Settings | None = None) -> int:
    """Drop the oldest turns (in place; the system prompt stays) until the conversations fit the input policy
    (``WORKBENCH_MAX_INPUT_CHARS`` of text, ``WORKBENCH_MAX_LIST_ITEMS`` messages), so what the UI keeps can
    always be sent back through the API. Returns how many turns were dropped (counted in the longest column)."""
    settings = settings or Settings.from_env()
    dropped = 0
    while (history_chars(histories) > settings.max_input_chars
           or any(len(h) > settings.max_list_items for h in histories)):
        cut = False
        for history, note in zip(histories, notes, strict=True):
            starts = _turn_starts(history)
            if len(starts) > 1:  # the latest turn always stays
                answers = sum(m["role"] == "assistant" for m in history[starts[0]:starts[1]])
                del history[starts[0]:starts[1]]
                del note[:answers]
                cut = True
        if not cut:
            break
        dropped += 1
    return dropped


def stats_note(col: arena.ColumnState) -> str:
    """One answer's numbers, shown under it in its column's conversation."""
    s = col.stats
    if s is None:
        return f"{col.status} after {col.elapsed_s:.1f} s"
    return (f"{s.tokens} tokens · {number(s.tokens_per_s, '.1f')} tokens/s · TTFT {number(s.ttft_s, '.2f')} s · "
            f"{s.quantization} · {s.device}")


def advance(histories: list[list[dict]], notes: list[list[str]], turn: list[list[dict]],
            cols: list[arena.ColumnState]) -> tuple[list[list[dict]], list[list[str]]]:
    """The conversations after this turn: each column that answered (or was stopped with some text) gains the turn's
    messages and its answer; a column that failed keeps its conversation as it was (its error stays in its column).

    Args:
        histories: each column's conversation before the turn.
        notes: each column's per-answer numbers (one per assistant message).
        turn: the turn's messages per column (a first turn: system + user; a follow-up: the user message).
        cols: the turn's finished columns.
    """
    new_h, new_n = [], []
    for history, note, messages, col in zip(histories, notes, turn, cols, strict=True):
        if col.error or not col.text:
            new_h.append(list(history))
            new_n.append(list(note))
            continue
        new_h.append([*history, *messages, {"role": "assistant", "content": col.text}])
        new_n.append([*note, stats_note(col)])
    return new_h, new_n


def _closed(text: str) -> str:
    """Close a code fence the answer left open, so the note under it is not swallowed into the code block."""
    return text + "\n```" if text.count("```") % 2 else text


def chat_messages(history: list[dict], notes: list[str] | None = None, pending: str | None = None,
                  answer: str | None = None) -> list[dict]:
    """A conversation as a Chatbot shows it: user and assistant turns (the system prompt is in its own box), each
    answer followed by its numbers; ``pending`` is the turn under way and ``answer`` its text so far."""
    shown, notes, k = [], notes or [], 0
    for m in history:
        if m["role"] == "user":
            shown.append({"role": "user", "content": m["content"]})
        elif m["role"] == "assistant":
            note = notes[k] if k < len(notes) else ""
            k += 1
            shown.append({"role": "assistant", "content": _closed(m["content"]) + (f"\n\n*{note}*" if note else "")})
    if pending is not None:
        shown.append({"role": "user", "content": pending})
        shown.append({"role": "assistant", "content": answer or "…"})
    return shown


def turns_of(history: list[dict]) -> int:
    """How many user turns a conversation holds."""
    return len(_turn_starts(history))
