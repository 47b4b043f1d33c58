"""stream_chat(): one chat API over every backend (``engines.backends``: local transformers, OpenAI-compatible).

This module checks what a caller sends (messages, tools, limits) and hands the stream to the reference's backend;
the prompt helpers local backends share (``encode_chat``, the context check) live here too. Every stream ends with
a chunk carrying stats.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

from engines import errors, prompts
from engines.backends import toolparse
from engines.backends.types import ChatChunk, GenerationStats, ToolCall  # noqa: F401  (re-exported contract)
from engines.config import Settings
from engines.refs import ModelRef

if TYPE_CHECKING:
    from engines.loading import LoadedLM

ROLES = ("system", "user", "assistant", "tool")


def validate_messages(messages: list[dict]) -> list[dict]:
    """Check chat messages and return clean copies.

    Roles: system, user, assistant, tool. An assistant message may carry ``tool_calls`` (OpenAI form) with empty
    content; a tool message carries ``tool_call_id`` (and ``name``). A user message's content may be a list of parts:
    ``{"type": "text", "text": ...}`` and ``{"type": "image", "path": ...}`` (text-only lists become a string).

    Raises:
        InvalidInput: not a list of {"role", "content"} dicts, an unknown role, a malformed part or tool call, or no
            user message with text or an image.
    """
    if not isinstance(messages, list) or not messages:
        raise errors.InvalidInput("Messages must be a non-empty list of {\"role\": ..., \"content\": ...} objects.")
    clean = [_clean_message(i, m) for i, m in enumerate(messages)]
    if not any(m["role"] == "user" and (not isinstance(m["content"], str) or m["content"].strip()) for m in clean):
        raise errors.InvalidInput("The prompt is empty: write a user message.")
    return clean


def _clean_message(i: int, m: dict) -> dict:
    if not isinstance(m, dict) or "role" not in m or ("content" not in m and not m.get("tool_calls")):
        raise errors.InvalidInput(f"Message {i + 1} must be an object with \"role\" and \"content\".")
    role, content = m["role"], m.get("content")
    if role not in ROLES:
        raise errors.InvalidInput(f"Message {i + 1} has role '{role}'; use one of {', '.join(ROLES)}.")
    if content is None and role == "assistant":
        content = ""
    if isinstance(content, list) and role == "user":
        content = _clean_parts(i, content)
    elif not isinstance(content, str):
        raise errors.InvalidInput(f"Message {i + 1}: \"content\" must be a string.")
    out = {"role": role, "content": content}
    if role == "assistant" and m.get("tool_calls"):
        out["tool_calls"] = [_clean_call(i, c) for c in _as_list(i, m["tool_calls"], "tool_calls")]
    if role == "tool":
        call_id = m.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            raise errors.InvalidInput(f"Message {i + 1}: a tool message needs the \"tool_call_id\" it answers.")
        out["tool_call_id"] = call_id
        if isinstance(m.get("name"), str):
            out["name"] = m["name"]
    return out


def _as_list(i: int, value, what: str) -> list:
    if not isinstance(value, list):
        raise errors.InvalidInput(f"Message {i + 1}: \"{what}\" must be a list.")
    return value


def _clean_parts(i: int, parts: list) -> str | list[dict]:
    out = []
    for part in parts:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            out.append({"type": "text", "text": part["text"]})
        elif kind == "image" and isinstance(part.get("path"), str) and part["path"]:
            out.append({"type": "image", "path": part["path"]})
        else:
            raise errors.InvalidInput(f"Message {i + 1}: each content part must be "
                                      "{\"type\": \"text\", \"text\": ...} or {\"type\": \"image\", \"path\": ...}.")
    if all(p["type"] == "text" for p in out):
        return "\n".join(p["text"] for p in out)
    return out


def _clean_call(i: int, call) -> dict:
    fn = call.get("function") if isinstance(call, dict) else None
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
        raise errors.InvalidInput(f"Message {i + 1}: each tool call needs "
                                  "{\"function\": {\"name\", \"arguments\"}}.")
    args = fn.get("arguments", "{}")
    if not isinstance(args, str):
        args = json.dumps(args, ensure_ascii=False)
    return {"id": str(call.get("id") or f"call_{i}"), "type": "function",
            "function": {"name": fn["name"], "arguments": args}}


def has_images(messages: list[dict]) -> bool:
    """Whether any message holds an image part."""
    return any(isinstance(m.get("content"), list) and any(p.get("type") == "image" for p in m["content"])
               for m in messages)


def check_tools(tools: list[dict] | None) -> list[dict] | None:
    """Validate OpenAI function-tool schemas; None or [] means no tools.

    Raises:
        InvalidInput: a schema without ``{"type": "function", "function": {"name", "parameters"?}}``.
    """
    if not tools:
        return None
    if not isinstance(tools, list):
        raise errors.InvalidInput("tools must be a list of {\"type\": \"function\", \"function\": {...}} schemas.")
    for n, tool in enumerate(tools, 1):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
            raise errors.InvalidInput(f"Tool {n} must be {{\"type\": \"function\", \"function\": {{\"name\": ...}}}}.")
    return tools


def stream_chat(model: str, messages: list[dict], *, max_new_tokens: int = 512, temperature: float = 0.0,
                quantization: str = "auto", top_p: float | None = None, tools: list[dict] | None = None,
                settings: Settings | None = None) -> Iterator[ChatChunk]:
    """Stream a chat completion from any model reference, through its backend (``engines.backends``).

    Args:
        model: Hub id, local folder, ``openai:<name>``, ``hf:<org/name>``, ``ollama:<name>`` or a named endpoint.
        messages: chat messages (system/user/assistant/tool; see ``validate_messages``).
        max_new_tokens: upper bound on generated tokens.
        temperature: 0 = greedy; above 0 samples.
        quantization: auto | 4bit | 8bit | bf16 | fp16 | fp32 (local models only).
        top_p: nucleus sampling (None: the backend's default; only used when sampling).
        tools: OpenAI function-tool schemas the model may call.
        settings: deployment settings (default: read now).

    Yields:
        ChatChunk deltas; when the model calls tools, a chunk with ``tool_calls``; the last one carries stats.

    Raises:
        Unsupported: tools or images for a model whose backend / template can't take them.
    """
    from engines.backends.registry import resolve

    settings = settings or Settings.current()
    found = resolve(model, settings)
    messages = validate_messages(messages)
    tools = check_tools(tools)
    if not isinstance(max_new_tokens, int) or not 1 <= max_new_tokens <= settings.max_new_tokens:
        raise errors.InvalidInput(f"max_new_tokens must be between 1 and {settings.max_new_tokens}.")
    if not 0.0 <= float(temperature) <= 2.0:
        raise errors.InvalidInput("temperature must be between 0 and 2.")
    if top_p is not None and not 0.0 < float(top_p) <= 1.0:
        raise errors.InvalidInput("top_p must be above 0 and at most 1.")
    caps = found.backend.capabilities(found.ref, settings)
    if tools and not caps.tools:
        raise found.backend.missing(found.ref, "tools", "Tool calling")
    if has_images(messages) and not caps.vision:
        raise found.backend.missing(found.ref, "vision", "An image in the chat")
    yield from found.backend.stream_chat(found.ref, messages, max_new_tokens=max_new_tokens,
                                         temperature=float(temperature),
                                         top_p=None if top_p is None else float(top_p), quantization=quantization,
                                         tools=tools, settings=settings)


# ------------------------------------------------------------------------------- local prompts (shared)


def encode_chat(tokenizer, messages: list[dict], *, no_system_role: bool = False,
                tools: list[dict] | None = None) -> tuple[list[int], str | None]:
    """Token ids of a chat prompt (with the generation prompt), the template rendered once.

    A template without a system role gets the system text folded into the first user turn; a tokenizer without a
    chat template (a base model) gets a plain transcript. Either comes with a notice.
    """
    if getattr(tokenizer, "chat_template", None):
        text, _, notice = prompts.apply_template(tokenizer, template_messages(messages, tokenizer.chat_template),
                                                 no_system_role=no_system_role, tools=tools)
        # the template already holds BOS and friends: don't add them twice
        return tokenizer(text, add_special_tokens=False)["input_ids"], notice
    text = "".join(f"{m['role'].capitalize()}: {m['content']}\n" for m in messages) + "Assistant:"
    return tokenizer(text)["input_ids"], "This model has no chat template (a base model): the messages were sent " \
                                         "as a plain 'Role: text' transcript."


def template_messages(messages: list[dict], chat_template: str | None = None) -> list[dict]:
    """Messages as chat templates take them (``toolparse.template_messages``): a tool call's arguments as a dict
    (templates render them with ``tojson``; a JSON string would be quoted twice), and for the template's tool
    format its own rules (Mistral: 9-character call ids; Llama 3: one call per assistant message)."""
    return toolparse.template_messages(messages, toolparse.detect_style(chat_template))


def no_system_role(ref: ModelRef) -> bool:
    """Whether the catalog says this model's chat template has no system role."""
    return bool(ref.spec and ref.spec.no_system_role)


def context_window(ref: ModelRef, lm: LoadedLM) -> int | None:
    """Context length: the catalog's fact, else the model config's max positions."""
    spec = ref.spec
    if spec is not None and spec.context:
        return spec.context
    cfg = getattr(lm.model, "config", None)
    cfg = getattr(cfg, "text_config", None) or cfg
    return getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", None)


def check_context(n_prompt: int, max_new_tokens: int, window: int | None, name: str) -> None:
    """Refuse a prompt whose tokens plus ``max_new_tokens`` exceed the context window, naming both numbers."""
    if window and n_prompt + max_new_tokens > window:
        raise errors.ContextTooLong(
            f"The prompt is {n_prompt} tokens and max new tokens is {max_new_tokens}: {n_prompt + max_new_tokens} "
            f"exceeds the {window}-token context window of '{name}'. Shorten the prompt or lower max new tokens."
        )


