"""The Chat tab's handlers: send (typed text, an attached image, recorded audio transcribed first), regenerate,
edit a message and resend, stop, clear, connect an MCP server, and the ``chat`` API endpoint.

The conversation lives in the session's state (``new_state()``); a turn that fails leaves it as it was before the
turn, so the chat goes on after any error.
"""

from __future__ import annotations

import time

import gradio as gr

from engines.assistant import session as ss
from engines.assistant.conversation import Conversation, last_user_index, text_of
from engines.assistant.replay import conversation_notebook
from engines.config import Settings
from engines.errors import InvalidInput
from tabs.chat import view
from tabs.common import URGENT, expensive, notebook_file, run_stop_flag, status_html, ui_errors, write_exports


def new_state() -> dict:
    """A session's chat state: the conversation, its tool steps, which shown message is which, the Stop flag and
    the connected MCP server's tools, and the conversation's downloads as last made."""
    return {"conv": Conversation(), "steps": {}, "origin": [], "stop": None, "mcp": [], "mcp_url": "",
            "attachments": [], "files": None}


def _state(state) -> dict:
    if not isinstance(state, dict) or "conv" not in state:
        fresh = new_state()
        if isinstance(state, dict):
            fresh["stop"] = state.get("stop")  # a run's stop flag, put there before the run began (tabs.common.on)
            state.update(fresh)
            return state
        return fresh
    return state


def _shown(state: dict, streaming: str | None = None, live: list[dict] | None = None) -> list:
    messages, origin = view.chat_messages(state["conv"], state["steps"], streaming, live)
    state["origin"] = origin
    return messages


def builtin_choices(settings: Settings | None = None) -> list[tuple[str, str]]:
    """(label, name) of the built-in tools this deployment offers; none while the tools module is missing."""
    try:
        from engines.assistant.builtin import builtin_tools
    except ImportError:
        return []
    tools = builtin_tools(settings)
    return [(getattr(tool, "label", "") or f"{name}: {tool.description.split('.')[0][:70]}", name)
            for name, tool in tools.items()]


def _toolbox(state: dict, builtin: list[str] | None, mcp: list[str] | None, settings: Settings | None = None):
    """The turn's toolbox: the chosen built-in tools and MCP tools; None when no tool is chosen."""
    chosen = []
    if builtin:
        from engines.assistant.builtin import builtin_tools

        # the files attached in this chat are the only ones a tool (transcribe_audio) may read
        tools = builtin_tools(settings or Settings.from_env(), attachments=lambda: list(state.get("attachments", [])))
        unknown = [n for n in builtin if n not in tools]
        if unknown:
            raise InvalidInput(f"Unknown built-in tool(s): {', '.join(unknown)}. Choose from: {', '.join(tools)}.")
        chosen += [tools[n] for n in builtin]
    chosen += [t for t in state["mcp"] if t.name in set(mcp or [])]
    if not chosen:
        return None
    from engines.assistant.toolbox import Toolbox

    return Toolbox(chosen)


def _exports(conv: Conversation, gen: dict) -> list[str]:
    files = write_exports("chat", {"conversation.json": conv.to_json() + "\n"})
    ran = [s.quantization for _, s in sorted(conv.stats.items()) if s.quantization]
    notebook = notebook_file("chat", "chat-replay", conversation_notebook, conv,
                             quantization=ran[-1] if ran else "fp32", max_new_tokens=gen["max_new_tokens"],
                             temperature=gen["temperature"],
                             top_p=gen.get("top_p"))
    return files + ([notebook] if notebook else [])


def _answer(state: dict, gen: dict, tools: tuple, snapshot: tuple, first: dict | None = None):
    """Stream the answer to the conversation's last user message; restore ``snapshot`` (messages, stats) on an
    error or a stop before any text."""
    conv = state["conv"]
    stop = run_stop_flag(state)  # the one put there before the page showed "Thinking…" (tabs.common.on)
    toolbox = _toolbox(state, *tools, gen.get("settings"))
    live: list[dict] = []
    text, started, done = "", time.perf_counter(), None
    step_limit = gen.pop("step_limit", 5)
    yield {**(first or {}), "chatbot": _shown(state, ""), "note": "", "files": None}
    try:
        for event in ss.stream_turn(conv, toolbox=toolbox, stop=stop, step_limit=step_limit, **gen):
            if isinstance(event, ss.Fitted):
                yield {"prompt": _prompt(conv.model, event.messages, gen, toolbox), **_fitted(event)}
            elif isinstance(event, ss.Delta):
                text += event.text
                yield {"chatbot": _shown(state, text, live)}
            elif isinstance(event, ss.Note):
                gr.Info(event.text)
            elif isinstance(event, ss.Step):
                live.append(view.step_record(event.result))
                yield {"chatbot": _shown(state, text, live),
                       "status": status_html("running", f"Tool {live[-1]['name']} ran "
                                                        f"({live[-1]['seconds']:.2f} s); the model goes on…")}
            elif isinstance(event, ss.Done):
                done = event
    except Exception:
        conv.messages, conv.stats = snapshot
        state["stop"] = None
        # the page shows the conversation as it is again, not the failed turn's message and its "…", with its
        # downloads (the message box keeps the text, to send again)
        yield {"chatbot": _shown(state), "files": state.get("files"), URGENT: True}
        raise
    state["stop"] = None
    state["steps"].update({s["id"]: s for s in live})
    said = [m for m in done.messages if not done.stopped or m.get("role") != "assistant" or m.get("tool_calls")
            or text_of(m.get("content")).strip()]  # a turn stopped before any text adds no empty answer
    conv.add_answer(said, done.stats if said else None)
    state["files"] = _exports(conv, gen)
    yield {"chatbot": _shown(state), "stats": view.stats_markdown(conv), "files": state["files"],
           "status": _final_status(done, time.perf_counter() - started), "message": "", "image": None,
           "audio": None}


def _fitted(event: ss.Fitted) -> dict:
    if not event.dropped:
        return {"note": ""}
    gr.Warning(event.note)
    return {"note": f"⚠️ {event.note}"}


def _prompt(model: str, messages: list[dict], gen: dict, toolbox) -> str:
    tools = [t.schema() for t in getattr(toolbox, "tools", None) or []] if toolbox is not None else None
    try:
        text, _ = ss.prompt_view(model, messages, max_new_tokens=gen["max_new_tokens"],
                                 temperature=gen["temperature"], top_p=gen.get("top_p"), tools=tools,
                                 settings=gen.get("settings"))
        return text
    except Exception as exc:  # noqa: BLE001  (the view is informative: it never fails the turn)
        return f"(the prompt could not be rendered here: {exc})"


def _final_status(done: ss.Done, seconds: float) -> str:
    if done.stopped:
        return status_html("stopped", f"Stopped after {seconds:.1f} s: the answer so far is kept.")
    if done.stopped_by_limit:
        return status_html("warning", "The model kept calling tools and reached the step limit: the turn ended "
                                      "there. Raise the step limit or ask again.")
    extra = f" Note: {' '.join(done.notes)}" if done.notes else ""
    return status_html("done", f"{done.stats.line()}.{extra}")


def _gen(model, system, temperature, top_p, max_new_tokens, step_limit, settings: Settings | None = None) -> dict:
    if not (model or "").strip():
        raise InvalidInput("Choose a model first.")
    return {"max_new_tokens": int(max_new_tokens or 512), "temperature": float(temperature or 0.0),
            "top_p": float(top_p) if top_p is not None and 0 < float(top_p) < 1 else None,
            "step_limit": int(step_limit or 5), "settings": settings}


def _prepare(state, model, system) -> tuple[dict, tuple]:
    state = _state(state)
    conv = state["conv"]
    conv.model, conv.system = model.strip(), (system or "").strip()
    return state, (list(conv.messages), dict(conv.stats))


@ui_errors
@expensive
def send_message(message: str | None, image: str | None, audio: str | None, state: dict | None, model: str,
                 system: str | None, temperature: float, top_p: float, max_new_tokens: float,
                 builtin: list[str] | None, mcp: list[str] | None, step_limit: float, *,
                 settings: Settings | None = None):
    """Send a message (with an image, or audio transcribed first) and stream the answer."""
    gen = _gen(model, system, temperature, top_p, max_new_tokens, step_limit, settings)
    state, snapshot = _prepare(state, model, system)
    text, first = (message or "").strip(), {}
    if audio:
        from engines import speech

        yield {"status": status_html("running", "Transcribing the audio…")}
        heard = speech.transcribe(audio, settings=settings).text.strip()
        first["transcript"] = heard or "(no speech was heard in the recording)"
        text = "\n\n".join(p for p in (text, heard) if p)
    content = [{"type": "text", "text": text}, {"type": "image", "path": str(image)}] if image else text
    state["conv"].add_user(content)
    state.setdefault("attachments", []).extend(str(p) for p in (image, audio) if p)
    yield from _answer(state, gen, (builtin, mcp), snapshot, first)


@ui_errors
@expensive
def regenerate(state: dict | None, model: str, system: str | None, temperature: float, top_p: float,
               max_new_tokens: float, builtin: list[str] | None, mcp: list[str] | None, step_limit: float, *,
               settings: Settings | None = None):
    """Drop the last answer and ask again (with the current model and settings)."""
    gen = _gen(model, system, temperature, top_p, max_new_tokens, step_limit, settings)
    state, snapshot = _prepare(state, model, system)
    state["conv"].regenerate()
    yield from _answer(state, gen, (builtin, mcp), snapshot)


@ui_errors
@expensive
def edit_message(state: dict | None, model: str, system: str | None, temperature: float, top_p: float,
                 max_new_tokens: float, builtin: list[str] | None, mcp: list[str] | None, step_limit: float,
                 evt: gr.EditData, *, settings: Settings | None = None):
    """A user message was edited in the chat: drop everything after it and answer again from there."""
    gen = _gen(model, system, temperature, top_p, max_new_tokens, step_limit, settings)
    state, snapshot = _prepare(state, model, system)
    origin = state["origin"]
    index = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
    if not isinstance(index, int) or not 0 <= index < len(origin) or origin[index] < 0:
        raise InvalidInput("That message can't be edited: edit one of your own messages.")
    at = origin[index]
    old = state["conv"].messages[at]["content"]
    new_text = evt.value if isinstance(evt.value, str) else text_of(evt.value)
    images = [p for p in old if p.get("type") == "image"] if isinstance(old, list) else []
    state["conv"].edit(at, [{"type": "text", "text": new_text}, *images] if images else new_text)
    yield from _answer(state, gen, (builtin, mcp), snapshot)


def edit_last(state: dict | None) -> dict:
    """Take the last user message back into the message box (it and its answer leave the chat): edit, then Send."""
    state = _state(state)
    conv = state["conv"]
    at = last_user_index(conv.messages)
    text = text_of(conv.messages[at]["content"])
    conv.messages, conv.stats = conv.messages[:at], {k: v for k, v in conv.stats.items() if k < at}
    return {"chatbot": _shown(state), "message": text, "stats": view.stats_markdown(conv),
            "status": status_html("idle", "")}


def stop_chat(state: dict | None) -> None:
    """Stop the answer being written (the text so far is kept)."""
    stop = (state or {}).get("stop") if isinstance(state, dict) else None
    if stop is not None:
        stop.set()


def clear_chat(state: dict | None) -> dict:
    """Start a new conversation (the MCP connection stays)."""
    state = _state(state)
    stop_chat(state)
    state.update({"conv": Conversation(), "steps": {}, "origin": [], "attachments": [], "files": None})
    return {"chatbot": [], "stats": "", "note": "", "files": None, "prompt": "", "transcript": "",
            "status": status_html("idle", "")}


@ui_errors
def connect_mcp(url: str | None, state: dict | None) -> dict:
    """Connect to a streamable-HTTP MCP server and offer its tools."""
    state = _state(state)
    tools = ss.connect(url or "")
    state["mcp"], state["mcp_url"] = tools, (url or "").strip()
    if not tools:
        listing = "Connected, but the server offers no tools."
    else:
        listing = "\n".join(f"- **{t.name}** ({t.source}): {t.description.strip().splitlines()[0][:120]}"
                            if t.description.strip() else f"- **{t.name}** ({t.source})" for t in tools)
    return {"mcp_tools": gr.CheckboxGroup(choices=[(f"{t.name} — {t.source}", t.name) for t in tools],
                                          value=[t.name for t in tools]),
            "mcp_found": f"{len(tools)} tool(s) found:\n\n{listing}"}


def _history(history) -> tuple[str, list[dict]]:
    """(system prompt, messages) from an API history: a list of {"role", "content"} with string contents."""
    if history in (None, "", []):
        return "", []
    if not isinstance(history, list):
        raise InvalidInput("history must be a JSON list of {\"role\": ..., \"content\": ...} objects.")
    system, out = "", []
    for i, m in enumerate(history):
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant") \
                or not isinstance(m.get("content"), str):
            raise InvalidInput(f"history item {i + 1} must be {{\"role\": \"user\" | \"assistant\" | \"system\", "
                               "\"content\": \"text\"}.")
        if m["role"] == "system":
            system = m["content"]
        else:
            out.append({"role": m["role"], "content": m["content"]})
    return system, out


@ui_errors
@expensive
def chat(message: str, history: list | None = None, model: str = "", system_prompt: str | None = None,
         max_new_tokens: float = 512, temperature: float = 0.0, *, settings: Settings | None = None) -> dict:
    """Continue a conversation: the model answers ``message`` after ``history``; returns the answer and the history
    with both added (send it back as ``history`` for the next turn).

    Args:
        message: the user's new message.
        history: the conversation so far, a JSON list of {"role": "user" | "assistant" | "system", "content": text}
            (empty for a new one); a "system" item is the system prompt.
        model: a model reference: a catalog id, any Hub id, a local folder where allowed, or openai:<name>,
            hf:<org/name>, ollama:<name>.
        system_prompt: the system prompt (empty: the history's own, if any).
        max_new_tokens: upper bound on the answer's tokens.
        temperature: 0 = greedy; above 0 samples.

    Returns:
        The answer (text) and the updated history (a list of {"role", "content"}).
    """
    if not (model or "").strip():
        raise InvalidInput("Give a model reference (e.g. \"Qwen/Qwen2.5-0.5B-Instruct\" or \"openai:gpt-4o-mini\").")
    system, messages = _history(history)
    conv = Conversation(system=(system_prompt or "").strip() or system, messages=messages, model=model.strip())
    conv.add_user(message or "")
    done = None
    for event in ss.stream_turn(conv, max_new_tokens=int(max_new_tokens or 512), temperature=float(temperature or 0),
                                settings=settings):
        if isinstance(event, ss.Done):
            done = event
    conv.add_answer(done.messages, done.stats)
    return {"answer": "".join(text_of(m.get("content")) for m in done.messages if m.get("role") == "assistant"),
            "history": view.history_json(conv)}
