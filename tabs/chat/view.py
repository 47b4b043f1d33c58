"""What the Chat tab shows: the conversation as Chatbot messages (tool steps as expandable messages with their exact
arguments and result, images and audio inline), the per-turn stats lines and the status sentences."""

from __future__ import annotations

import json

import gradio as gr

from engines.assistant.conversation import Conversation, text_of
from engines.refs import model_names
from tabs.common import clean_text


def _fenced(text: str, lang: str = "") -> str:
    longest = max((len(run) for run in text.split("\n") if set(run) == {"`"}), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text}\n{ticks}"


def pretty_args(arguments: str) -> str:
    """Tool arguments as the model wrote them: indented when they are JSON, exactly as sent otherwise."""
    try:
        return json.dumps(json.loads(arguments or "{}"), indent=2, ensure_ascii=False)
    except ValueError:
        return arguments or ""


def step_record(result) -> dict:
    """What the chat keeps of a tool step (a loop ToolResult): JSON-ready, for rendering and the export."""
    call = result.call
    return {"id": call.id, "name": call.name, "arguments": call.arguments, "ok": bool(result.ok),
            "text": result.text or "", "error": result.error or "", "seconds": float(result.seconds or 0.0),
            "images": [str(p) for p in (result.images or [])], "audio": [str(p) for p in (result.audio or [])],
            "source": result.source or "workbench"}


def step_messages(step: dict) -> list[gr.ChatMessage]:
    """A tool step: one collapsed message titled with the tool and its time (arguments and result inside), then
    the images and audio it made, inline."""
    outcome = (f"**Result**\n\n{_fenced(clean_text(step['text']))}" if step["ok"] else
               f"**Error (sent back to the model)**\n\n{_fenced(clean_text(step['error'] or step['text']))}")
    body = (f"**Arguments** (as the model wrote them)\n\n{_fenced(pretty_args(step['arguments']), 'json')}\n\n"
            f"{outcome}\n\n*from {clean_text(step['source'])}*")
    title = f"{'🛠️' if step['ok'] else '⚠️'} {step['name']} · {step['seconds']:.2f} s"
    out = [gr.ChatMessage(role="assistant", content=body,
                          metadata={"title": title, "status": "done", "duration": step["seconds"]})]
    out += [gr.ChatMessage(role="assistant", content=gr.Image(value=p, show_label=False)) for p in step["images"]]
    out += [gr.ChatMessage(role="assistant", content=gr.Audio(value=p, show_label=False)) for p in step["audio"]]
    return out


def _user_messages(content) -> list[gr.ChatMessage]:
    out = []
    text = text_of(content)
    if text.strip():
        out.append(gr.ChatMessage(role="user", content=text))
    if isinstance(content, list):
        out += [gr.ChatMessage(role="user", content=gr.Image(value=p["path"], show_label=False))
                for p in content if isinstance(p, dict) and p.get("type") == "image" and p.get("path")]
    return out


def chat_messages(conv: Conversation, steps: dict[str, dict], streaming: str | None = None,
                  live_steps: list[dict] | None = None) -> tuple[list[gr.ChatMessage], list[int]]:
    """The Chatbot's messages for a conversation, and for each shown message the index of the conversation message
    it comes from (so an edit in the chat finds its message).

    Args:
        conv: the conversation.
        steps: tool steps by tool-call id (``step_record``s).
        streaming: the answer being written (shown last), None when no turn runs.
        live_steps: tool steps of the running turn (shown before ``streaming``).
    """
    shown: list[gr.ChatMessage] = []
    origin: list[int] = []
    for i, m in enumerate(conv.messages):
        role = m.get("role")
        if role == "user":
            made = _user_messages(m.get("content"))
        elif role == "tool":
            step = steps.get(str(m.get("tool_call_id")))
            made = step_messages(step) if step else [gr.ChatMessage(
                role="assistant", content=_fenced(clean_text(text_of(m.get("content")))),
                metadata={"title": "🛠️ tool result", "status": "done"})]
        else:
            text = text_of(m.get("content"))
            if not text.strip() and not m.get("tool_calls"):
                text = "*(the model wrote nothing: it ended its answer at once)*"
            made = [gr.ChatMessage(role="assistant", content=text)] if text.strip() else []
        shown += made
        origin += [i] * len(made)
    for step in live_steps or []:
        made = step_messages(step)
        shown += made
        origin += [-1] * len(made)
    if streaming is not None:
        shown.append(gr.ChatMessage(role="assistant", content=streaming or "…"))
        origin.append(-1)
    return shown, origin


def stats_markdown(conv: Conversation) -> str:
    """One line per answered turn: its model (a local folder by what it holds, never its path), TTFT, tokens/s,
    tokens, context used against the window."""
    lines = []
    turn = 0
    for i, m in enumerate(conv.messages):
        if m.get("role") == "user":
            turn += 1
        stats = conv.stats.get(i)
        if stats is not None:
            lines.append(f"- **Turn {turn}** ({clean_text(model_names(stats.model)[0])}): {stats.line()}")
    return "\n".join(lines)


def history_json(conv: Conversation) -> list[dict]:
    """The history as the API returns it: ``{"role", "content"}`` dicts (the system prompt first, when set)."""
    return [{"role": m["role"], "content": text_of(m.get("content")) if not isinstance(m.get("content"), str)
             else m["content"]} for m in conv.for_model() if m["role"] in ("system", "user", "assistant")
            and (m["role"] != "assistant" or text_of(m.get("content")).strip())]
