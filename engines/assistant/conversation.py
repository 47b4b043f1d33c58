"""The conversation model of the Chat tab: messages with per-turn stats, fitting a history into the model's context
window (oldest turns dropped, and said), regenerate / edit-and-resend, and the JSON export.

Messages are OpenAI-style dicts: ``{"role": "system" | "user" | "assistant" | "tool", "content": ...}``, where a user
``content`` may be a list of parts (``{"type": "text", "text": ...}`` / ``{"type": "image", "path": ...}``), an
assistant message may carry ``tool_calls`` and a tool message ``tool_call_id``. A *turn* is a user message and
everything after it up to the next user message (the answer, its tool calls and their results).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import NamedTuple

from engines.errors import ContextTooLong, InvalidInput

EXPORT_FORMAT = "llm-workbench.conversation/1"


@dataclass
class TurnStats:
    """The numbers of one answer: time to first token, speed, generated tokens, prompt tokens against the window,
    and how many earlier messages were left out to fit it (``dropped``)."""

    ttft_s: float = 0.0
    tokens: int = 0
    tokens_per_s: float = 0.0
    total_s: float = 0.0
    prompt_tokens: int | None = None
    context_window: int | None = None
    model: str = ""
    dropped: int = 0
    tool_steps: int = 0
    quantization: str = ""  # as the model ran (local models), for the replay notebook
    stopped: bool = False  # Stop ended it: its numbers are of the text so far, measured as it streamed

    @classmethod
    def from_generation(cls, stats, *, model: str = "", dropped: int = 0, window: int | None = None,
                        tool_steps: int = 0) -> TurnStats:
        """From an engine's ``GenerationStats`` (any object with its attributes)."""
        return cls(ttft_s=float(getattr(stats, "ttft_s", 0.0) or 0.0), tokens=int(getattr(stats, "tokens", 0) or 0),
                   tokens_per_s=float(getattr(stats, "tokens_per_s", 0.0) or 0.0),
                   total_s=float(getattr(stats, "total_s", 0.0) or 0.0),
                   prompt_tokens=getattr(stats, "prompt_tokens", None),
                   context_window=getattr(stats, "context_window", None) or window,
                   model=model or getattr(stats, "model", "") or "", dropped=dropped, tool_steps=tool_steps,
                   quantization=getattr(stats, "quantization", "") or "")

    def line(self) -> str:
        """One short line: "TTFT 0.21 s · 38.2 tokens/s · 64 tokens · context 412 / 4,096 (10 %)"."""
        parts = [f"TTFT {self.ttft_s:.2f} s", f"{self.tokens_per_s:.1f} tokens/s",
                 f"{self.tokens:,} tokens" + (" (stopped)" if self.stopped else "")]
        if self.prompt_tokens is not None:
            used = self.prompt_tokens + self.tokens
            if self.context_window:
                parts.append(f"context {used:,} / {self.context_window:,} ({100 * used / self.context_window:.0f} %)")
            else:
                parts.append(f"context {used:,} tokens (window unknown)")
        if self.tool_steps:
            parts.append(f"{self.tool_steps} tool step(s)")
        if self.dropped:
            parts.append(f"{self.dropped} older message(s) left out to fit")
        return " · ".join(parts)


@dataclass
class Conversation:
    """A chat: the system prompt, the messages (no system message among them) and the stats of each answer,
    keyed by the index of the assistant message that ends the turn."""

    system: str = ""
    messages: list[dict] = field(default_factory=list)
    stats: dict[int, TurnStats] = field(default_factory=dict)
    model: str = ""

    def for_model(self) -> list[dict]:
        """The messages to send: the system prompt first (when there is one), then the history."""
        head = [{"role": "system", "content": self.system}] if self.system.strip() else []
        return head + [dict(m) for m in self.messages]

    def add_user(self, content: str | list[dict]) -> None:
        """Append a user message (text, or a list of parts).

        Raises:
            InvalidInput: an empty message (no text and no attachment).
        """
        if not has_content(content):
            raise InvalidInput("The message is empty: type something (or attach an image or audio) first.")
        self.messages.append({"role": "user", "content": content})

    def add_answer(self, messages: list[dict], stats: TurnStats | None) -> None:
        """Append what the model answered (its assistant / tool messages) and the turn's stats."""
        self.messages.extend(dict(m) for m in messages)
        if stats is not None and self.messages:
            self.stats[len(self.messages) - 1] = stats

    def regenerate(self) -> None:
        """Drop the last answer (everything after the last user message), to ask again."""
        self.messages, self.stats = truncate_after(self.messages, last_user_index(self.messages), self.stats)

    def edit(self, index: int, content: str | list[dict]) -> None:
        """Replace the user message at ``index`` and drop everything after it (to resend from there)."""
        if not 0 <= index < len(self.messages) or self.messages[index]["role"] != "user":
            raise InvalidInput("Only a user message of this conversation can be edited.")
        if not has_content(content):
            raise InvalidInput("The edited message is empty: type something first.")
        self.messages, self.stats = truncate_after(self.messages, index, self.stats)
        self.messages[index] = {"role": "user", "content": content}

    def to_dict(self) -> dict:
        """A JSON-ready dict (the export format)."""
        return {"format": EXPORT_FORMAT, "model": self.model, "system": self.system,
                "messages": self.messages,
                "stats": {str(k): asdict(v) for k, v in sorted(self.stats.items())}}

    def to_json(self) -> str:
        """The export: indented JSON (UTF-8 text kept as is)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict) -> Conversation:
        """Read an export back (``to_dict``'s shape)."""
        if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
            raise InvalidInput("Not a conversation: expected an object with a \"messages\" list.")
        stats = {int(k): TurnStats(**v) for k, v in (data.get("stats") or {}).items()}
        return cls(system=str(data.get("system") or ""), messages=list(data["messages"]), stats=stats,
                   model=str(data.get("model") or ""))


def has_content(content) -> bool:
    """Whether a user message says anything: non-blank text, or at least one non-text part (an image)."""
    if isinstance(content, str):
        return bool(content.strip())
    if isinstance(content, list):
        return any(p.get("type") != "text" or str(p.get("text", "")).strip() for p in content if isinstance(p, dict))
    return False


def text_of(content) -> str:
    """The text of a message's content (the text parts of a list, joined by blank lines)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return "" if content is None else str(content)


def last_user_index(messages: list[dict]) -> int:
    """Index of the last user message.

    Raises:
        InvalidInput: there is none (nothing to regenerate or resend).
    """
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].get("role") == "user":
            return i
    raise InvalidInput("There is no message to answer again yet: send one first.")


def truncate_after(messages: list[dict], index: int, stats: dict[int, TurnStats] | None = None):
    """Messages up to and including ``index`` (and the stats of the turns that remain)."""
    kept = [dict(m) for m in messages[:index + 1]]
    return kept, {k: v for k, v in (stats or {}).items() if k <= index}


def turn_spans(messages: list[dict]) -> list[tuple[int, int]]:
    """(start, end) index ranges of the turns: each starts at a user message; messages before the first user
    message (the system prompt) belong to no turn."""
    starts = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    return [(s, (starts[n + 1] if n + 1 < len(starts) else len(messages))) for n, s in enumerate(starts)]


class Fit(NamedTuple):
    """What ``fit_to_window`` kept and left out."""

    messages: list[dict]  # to send: system prompt(s), the newest turns that fit, the last user message
    dropped: list[dict]  # the oldest messages left out, in order
    tokens: int  # the prompt's tokens as sent (count_tokens of ``messages``)


def fit_to_window(messages: list[dict], count_tokens: Callable[[list[dict]], int], window: int | None,
                  reserve: int = 0) -> Fit:
    """Drop the oldest whole turns until the prompt plus ``reserve`` (the answer's room) fits in ``window``.

    The system prompt (leading system messages) and the last turn (the last user message and anything after it)
    are never dropped. A turn is dropped whole, so no answer stays without its question and no tool result
    without its call.

    Args:
        messages: the full history as sent (system first).
        count_tokens: the prompt's token count for a list of messages (the chat template applied).
        window: the model's context window in tokens; None = unknown: nothing is dropped.
        reserve: tokens kept free for the answer (max new tokens).

    Returns:
        A ``Fit``: the messages to send, the dropped ones (empty when all fit) and the prompt's token count.

    Raises:
        ContextTooLong: even the system prompt and the last message alone don't leave ``reserve`` tokens.
    """
    tokens = count_tokens(messages)
    if not window or tokens + reserve <= window:
        return Fit(list(messages), [], tokens)
    head = 0
    while head < len(messages) and messages[head].get("role") == "system":
        head += 1
    spans = [(s, e) for s, e in turn_spans(messages) if s >= head]
    if len(spans) < 2:
        raise ContextTooLong(f"The prompt is {tokens:,} tokens and the answer needs {reserve:,}: more than the "
                             f"{window:,}-token context window, and there is no older turn to leave out. Shorten "
                             "the message or the system prompt, or lower max new tokens.")
    for start, _end in spans[1:]:  # each step leaves out one more of the oldest turns
        kept = messages[:head] + messages[start:]
        tokens = count_tokens(kept)
        if tokens + reserve <= window:
            return Fit(kept, list(messages[head:start]), tokens)
    raise ContextTooLong(f"The last message alone (with the system prompt) is {tokens:,} tokens and the answer needs "
                         f"{reserve:,}: more than the {window:,}-token context window, even with every older turn "
                         "left out. Shorten the message or the system prompt, or lower max new tokens.")


def dropped_note(dropped: list[dict], limit: int = 80) -> str:
    """A sentence naming what was left out: "Left out to fit the context window: 2 turn(s), 4 message(s): …"."""
    if not dropped:
        return ""
    turns = sum(1 for m in dropped if m.get("role") == "user")
    quoted = []
    for m in dropped:
        if m.get("role") == "user":
            text = " ".join(text_of(m.get("content")).split())
            quoted.append(f"“{text[:limit]}{'…' if len(text) > limit else ''}”")
    return (f"Left out to fit the context window: the oldest {turns} turn(s) ({len(dropped)} message(s)), which "
            f"began with {', '.join(quoted)}. The model no longer sees them; the chat still shows them.")


def estimate_tokens(messages: list[dict]) -> int:
    """A rough count for models whose tokenizer is not here (API models): about 4 characters a token, plus a few
    tokens of framing per message."""
    return sum(4 + len(json.dumps(m.get("content"), ensure_ascii=False)) // 4 for m in messages)
