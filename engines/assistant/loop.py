"""One assistant turn: stream the model's answer; when it calls tools, run them, give it the results, and stream
again, up to a step limit. Every step comes out as an event, so a tab can show it as it happens.

Events, in order: ``Notice`` (the backend changed something, or the step limit was hit), ``TextDelta`` (answer
text), ``ToolStart`` then ``ToolStep`` for each call, and one ``TurnDone`` at the end with the whole updated
history. Closing the iterator (Stop) closes the model's stream; a tool already running is left to finish on its
own (its result is dropped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from engines.assistant.toolbox import Toolbox, ToolResult
from engines.backends.types import GenerationStats, ToolCall


@dataclass
class TextDelta:
    """New answer text to append to the assistant's message."""

    text: str


@dataclass
class Notice:
    """Something the user should know (the backend's notice, the step limit, calls that were not run)."""

    text: str


@dataclass
class ToolStart:
    """A call is about to run (a tab can show it as running)."""

    call: ToolCall


@dataclass
class ToolStep:
    """A call has run (or failed): its exact arguments, result or error, and time."""

    result: ToolResult


@dataclass
class TurnDone:
    """The turn is over.

    Attributes:
        messages: the full updated history: the messages given, then each assistant message with its
            ``tool_calls`` (OpenAI form), the ``tool`` messages answering them, and the final assistant answer.
        stats: one GenerationStats per model request of this turn, in order.
        stopped_by_limit: the model kept calling tools until ``step_limit``.
    """

    messages: list[dict]
    stats: list[GenerationStats] = field(default_factory=list)
    stopped_by_limit: bool = False


Event = TextDelta | Notice | ToolStart | ToolStep | TurnDone


def run_turn(model: str, messages: list[dict], toolbox: Toolbox, *, step_limit: int = 5,
             chat: Callable[..., Iterator] | None = None, **gen) -> Iterator[Event]:
    """Run one assistant turn with tools.

    Args:
        model: the model reference, as ``engines.chat.stream_chat`` takes it.
        messages: the history so far, ending with the user's message (not modified).
        toolbox: the tools offered (an empty toolbox: a plain chat turn).
        step_limit: the most tool rounds (model requests that end in tool calls) before the model is asked for a
            final answer without tools.
        chat: the streaming chat function (default ``engines.chat.stream_chat``): called as
            ``chat(model, messages, tools=[...], **gen)`` (``tools`` left out when none are offered), yielding
            ChatChunk.
        **gen: generation settings passed on (max_new_tokens, temperature, top_p, quantization, settings).

    Yields:
        Events (see the module's docstring); the last is TurnDone. Errors of the model request itself
        (WorkbenchError) propagate: the tab shows them and keeps the history it had.
    """
    if chat is None:
        from engines.chat import stream_chat as chat
    if step_limit < 0:
        raise ValueError("step_limit must be 0 or more")
    history = [dict(m) for m in messages]
    stats: list[GenerationStats] = []
    steps, stopped = 0, False
    seen_ids = {c.get("id") for m in history for c in m.get("tool_calls") or []}
    while True:
        offer = bool(toolbox) and steps < step_limit
        request = {**gen, "tools": toolbox.schemas()} if offer else dict(gen)
        parts: list[str] = []
        calls: list[ToolCall] = []
        stream = chat(model, history, **request)
        try:
            for chunk in stream:
                if chunk.notice:
                    yield Notice(chunk.notice)
                if chunk.text:
                    parts.append(chunk.text)
                    yield TextDelta(chunk.text)
                if chunk.tool_calls:
                    calls.extend(chunk.tool_calls)
                if chunk.stats is not None:
                    stats.append(chunk.stats)
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        content = "".join(parts)
        if not calls or not offer:
            if calls:
                names = ", ".join(sorted({c.name or "?" for c in calls}))
                yield Notice(f"the model asked for tools again ({names}) after the step limit: "
                             "those calls were not run" if stopped else
                             f"the model asked for tools ({names}) that were not offered: those calls were not run")
            history.append({"role": "assistant", "content": content})
            yield TurnDone(messages=history, stats=stats, stopped_by_limit=stopped)
            return
        calls = _unique_ids(calls, seen_ids)
        history.append({"role": "assistant", "content": content, "tool_calls": [c.as_message_part() for c in calls]})
        for call in calls:
            yield ToolStart(call)
            result = toolbox.call(call)
            history.append(result.message())
            yield ToolStep(result)
        steps += 1
        if steps >= step_limit:
            stopped = True
            yield Notice(f"the model kept calling tools: stopped after {steps} step{'s' if steps != 1 else ''}; "
                         "asking it for a final answer without tools")


def _unique_ids(calls: list[ToolCall], seen: set) -> list[ToolCall]:
    """The calls with ids unique in the conversation (local parsers number calls from 1 in every answer)."""
    out = []
    for call in calls:
        call_id, n = call.id or "call", 1
        while call_id in seen:
            n += 1
            call_id = f"{call.id or 'call'}_{n}"
        seen.add(call_id)
        out.append(call if call_id == call.id else ToolCall(id=call_id, name=call.name, arguments=call.arguments))
    return out
