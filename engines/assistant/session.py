"""One chat turn as the Chat tab runs it: fit the history into the model's window (saying what was left out), then
stream the answer through ``engines.chat.stream_chat``, or through the tool loop (``engines.assistant.loop``) when
tools are on; every step comes out as an event the tab renders. Also: the model's window, a token counter for a
history, the prompt as the model sees it, and MCP connections with a clear error."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from engines.assistant.conversation import (
    Conversation,
    Fit,
    TurnStats,
    dropped_note,
    estimate_tokens,
    fit_to_window,
    text_of,
)
from engines.config import Settings
from engines.errors import RemoteError, WorkbenchError


@dataclass
class Fitted:
    """The history was fitted into the window before the answer: ``messages`` are sent, ``note`` says what was
    left out (empty: nothing)."""

    messages: list[dict]
    dropped: list[dict]
    note: str
    tokens: int
    window: int | None


@dataclass
class Delta:
    """New answer text."""

    text: str


@dataclass
class Note:
    """Something changed for the user (quantization fallback, system prompt folded, …)."""

    text: str


@dataclass
class Step:
    """A tool ran: ``result`` is the loop's ToolResult (call, ok, text, error, seconds, images, audio, source)."""

    result: object


@dataclass
class Done:
    """The turn ended: the messages it added (assistant / tool), its stats, and why it stopped."""

    messages: list[dict]
    stats: TurnStats
    stopped: bool = False  # by the user
    stopped_by_limit: bool = False  # the tool loop reached its step limit
    notes: list[str] = field(default_factory=list)


def runs_here(model: str, settings: Settings | None = None) -> bool:
    """Whether a model reference runs in this process (its tokenizer and chat template are here)."""
    from engines.backends import runs_locally

    return runs_locally(model, settings)


def window_of(model: str, settings: Settings | None = None) -> int | None:
    """The model's context window in tokens: the catalog's fact, else its own config (a local model); None when
    unknown (an API model outside the catalog)."""
    from engines.refs import parse_ref

    ref = parse_ref(model, settings)
    if ref.spec is not None and ref.spec.context:
        return int(ref.spec.context)
    if not runs_here(model, settings):
        return None
    from engines.local_facts import local_facts_row

    row = local_facts_row(model, settings) or {}
    return int(row["context"]) if row.get("context") else None


def plain(messages: list[dict]) -> list[dict]:
    """Messages with text content only (image parts become "[image]"), as a chat template or token count takes;
    an assistant message's ``tool_calls`` and a tool message's ``tool_call_id`` / ``name`` are kept (the template
    renders them)."""
    out = []
    for m in messages:
        content = m.get("content")
        if isinstance(content, list):
            content = text_of(content) + "".join(" [image]" for p in content if p.get("type") == "image")
        kept = {k: m[k] for k in ("tool_calls", "tool_call_id", "name") if m.get(k)}
        out.append({"role": m["role"], "content": content if isinstance(content, str) else "", **kept})
    return out


def counter_for(model: str, tools: list[dict] | None = None,
                settings: Settings | None = None) -> Callable[[list[dict]], int]:
    """A token counter for histories sent to ``model`` with ``tools`` offered: its own chat template (the tools'
    schemas rendered in) and tokenizer for a local model, an estimate (about 4 characters a token, the schemas
    counted too) for an API model or a tokenizer without a template."""
    schema_tokens = len(json.dumps(tools, ensure_ascii=False)) // 4 if tools else 0
    if not runs_here(model, settings):
        return lambda messages: estimate_tokens(messages) + schema_tokens

    def count(messages: list[dict]) -> int:
        from engines.tokenizers import render_chat_detail

        try:
            return len(render_chat_detail(model, plain(messages), tools=tools or None, settings=settings).ids)
        except WorkbenchError:  # no chat template (a plain transcript), or one that takes no tools
            return estimate_tokens(messages) + schema_tokens

    return count


def prompt_view(model: str, messages: list[dict], *, max_new_tokens: int, temperature: float,
                top_p: float | None = None, tools: list[dict] | None = None,
                settings: Settings | None = None) -> tuple[str, str]:
    """The prompt as the model sees it: (text, language) — a local model's chat template rendered with the tools'
    schemas, exactly the text the local backend tokenizes (``"text"``), or the JSON request an API model receives
    (``"json"``).

    Raises:
        Unsupported: tools offered to a local model whose chat template takes none (as the backend would).
    """
    if not runs_here(model, settings):
        from engines.backends import split_prefix

        request = {"model": split_prefix(model, settings)[1], "messages": messages, "max_tokens": max_new_tokens,
                   "temperature": temperature, "stream": True}
        if top_p:
            request["top_p"] = top_p
        if tools:
            request["tools"] = tools
        return json.dumps(request, indent=2, ensure_ascii=False), "json"
    from engines.tokenizers import render_chat

    return render_chat(model, plain(messages), tools=tools or None, settings=settings), "text"


def connect(url: str) -> list:
    """The tools of a streamable-HTTP MCP server.

    Raises:
        InvalidInput: no URL, or not http(s).
        RemoteError: the server can't be reached or doesn't answer as an MCP server.
    """
    from engines.errors import InvalidInput

    url = (url or "").strip()
    if not url.lower().startswith(("http://", "https://")):
        raise InvalidInput("Give the MCP server's URL, starting with http:// or https:// (for this app served with "
                           "--mcp: http://127.0.0.1:7860/gradio_api/mcp/).")
    from engines.assistant.mcp_tools import connect_mcp

    try:
        return list(connect_mcp(url))
    except WorkbenchError:
        raise
    except Exception as exc:  # noqa: BLE001  (network and protocol errors of every kind: one message)
        raise RemoteError(f"Could not reach the MCP server at {url} ({type(exc).__name__}). Check the URL and "
                          "that the server is running and speaks streamable HTTP.") from None


def _gen_kwargs(max_new_tokens: int, temperature: float, top_p: float | None, tools: list[dict] | None) -> dict:
    gen = {"max_new_tokens": int(max_new_tokens), "temperature": float(temperature)}
    if top_p is not None and 0 < float(top_p) < 1:  # 1 = off: not sent (every backend's default)
        gen["top_p"] = float(top_p)
    if tools:
        gen["tools"] = tools
    return gen


def stream_turn(conv: Conversation, *, max_new_tokens: int = 512, temperature: float = 0.0,
                top_p: float | None = None, toolbox=None, step_limit: int = 5,
                stop: threading.Event | None = None,
                settings: Settings | None = None) -> Iterator[Fitted | Delta | Note | Step | Done]:
    """Answer the conversation's last user message (the conversation itself is not changed: ``Done.messages``
    holds what to add).

    Args:
        conv: the conversation, ending with a user message; ``conv.model`` answers.
        max_new_tokens: the answer limit (per model call with tools).
        temperature: 0 = greedy; above 0 samples.
        top_p: nucleus sampling bound (None or 1 = off).
        toolbox: an ``engines.assistant.toolbox.Toolbox`` to run the turn through the tool loop; None = plain chat.
        step_limit: the most tool steps in one turn.
        stop: set it to end the answer early (what was written stays).
        settings: the deployment's settings (read from the environment when None).

    Yields:
        ``Fitted`` first, then ``Delta`` / ``Note`` / ``Step`` events, and ``Done`` last.
    """
    model = conv.model
    settings = settings or Settings.current()
    window = window_of(model, settings)
    tools = toolbox.schemas() if toolbox is not None else None
    fit: Fit = fit_to_window(conv.for_model(), counter_for(model, tools, settings), window, int(max_new_tokens))
    yield Fitted(fit.messages, fit.dropped, dropped_note(fit.dropped), fit.tokens, window)
    gen = {**_gen_kwargs(max_new_tokens, temperature, top_p, None), "settings": settings}
    events = (_plain_events(model, fit.messages, gen) if toolbox is None else
              _tool_events(model, fit.messages, toolbox, step_limit, gen))
    text, steps, notes, stopped = "", 0, [], False
    started, first_at, chunks = time.perf_counter(), None, 0
    try:
        for event in events:
            if stop is not None and stop.is_set():
                stopped = True
                break
            if isinstance(event, Done):
                event.stats = TurnStats.from_generation(event.stats, model=model, dropped=len(fit.dropped),
                                                        window=window, tool_steps=steps)
                event.stats.prompt_tokens = event.stats.prompt_tokens or fit.tokens
                event.notes = notes
                yield event
                return
            if isinstance(event, Delta):
                text += event.text
                chunks += 1
                first_at = first_at or time.perf_counter()
            elif isinstance(event, Step):
                steps += 1
            elif isinstance(event, Note):
                notes.append(event.text)
            yield event
    finally:
        events.close()
    now = time.perf_counter()
    tokens = _tokens_of(model, text, settings) or chunks
    span = now - first_at if first_at is not None else 0.0
    stats = TurnStats(ttft_s=first_at - started if first_at is not None else 0.0, tokens=tokens,
                      tokens_per_s=(tokens - 1) / span if tokens > 1 and span > 0 else 0.0, total_s=now - started,
                      prompt_tokens=fit.tokens, context_window=window, model=model, dropped=len(fit.dropped),
                      tool_steps=steps, stopped=stopped)
    yield Done([{"role": "assistant", "content": text}], stats, stopped=stopped, notes=notes)


def _tokens_of(model: str, text: str, settings: Settings) -> int | None:
    """Tokens of an answer cut short, by the model's own tokenizer (a local model); None where it isn't here (an
    API model: its streamed chunks count, a token each, as Compare's live numbers do)."""
    if not text or not runs_here(model, settings):
        return None
    from engines.tokenizers import get_tokenizer

    try:
        return len(get_tokenizer(model, settings=settings)(text, add_special_tokens=False)["input_ids"])
    except Exception:  # noqa: BLE001  (the numbers are informative: a tokenizer that fails falls back to chunks)
        return None


def _plain_events(model: str, messages: list[dict], gen: dict) -> Iterator:
    import inspect

    from engines.chat import stream_chat

    accepted = inspect.signature(stream_chat).parameters
    unsupported = [k for k in gen if k not in accepted and k != "settings"]
    if unsupported:  # an engine older than this module's settings: said, not a crash
        yield Note(f"This build's chat engine ignores {', '.join(unsupported)}.")
    gen = {k: v for k, v in gen.items() if k in accepted}
    text, stats = "", None
    for chunk in stream_chat(model, messages, **gen):
        if chunk.notice:
            yield Note(chunk.notice)
        if chunk.text:
            text += chunk.text
            yield Delta(chunk.text)
        if chunk.stats is not None:
            stats = chunk.stats
    yield Done([{"role": "assistant", "content": text}], stats)


def _tool_events(model: str, messages: list[dict], toolbox, step_limit: int, gen: dict) -> Iterator:
    """The tool loop's events as this module's (the loop yields TextDelta / Notice / ToolStep / TurnDone)."""
    from engines.assistant.loop import run_turn

    history = list(messages)
    for event in run_turn(model, history, toolbox, step_limit=int(step_limit), **gen):
        kind = type(event).__name__
        if kind == "TextDelta":
            yield Delta(event.text)
        elif kind == "Notice":
            yield Note(event.text)
        elif kind == "ToolStep":
            yield Step(event.result)
        elif kind == "TurnDone":
            full = list(event.messages)  # the whole history, or only what the turn added
            added = full[len(messages):] if full[:len(messages)] == list(messages) else full
            yield Done(added, combined(event.stats), stopped_by_limit=bool(event.stopped_by_limit))


def combined(stats):
    """One turn's numbers from the stats of its model requests (a tool turn makes several): TTFT of the first,
    tokens and time summed, the prompt and window of the last (it saw the whole turn)."""
    if not isinstance(stats, list | tuple):
        return stats
    if not stats:
        return None
    tokens = sum(int(getattr(s, "tokens", 0) or 0) for s in stats)
    total = sum(float(getattr(s, "total_s", 0.0) or 0.0) for s in stats)
    writing = sum(float(getattr(s, "total_s", 0.0) or 0.0) - float(getattr(s, "ttft_s", 0.0) or 0.0) for s in stats)
    last = stats[-1]
    return TurnStats(ttft_s=float(getattr(stats[0], "ttft_s", 0.0) or 0.0), tokens=tokens,
                     tokens_per_s=tokens / writing if writing > 0 else 0.0, total_s=total,
                     prompt_tokens=getattr(last, "prompt_tokens", None),
                     context_window=getattr(last, "context_window", None), model=getattr(last, "model", "") or "",
                     quantization=getattr(last, "quantization", "") or "")
