"""The notebook that replays a Chat-tab conversation with the plain libraries (transformers or openai): the same
model, system prompt and user messages, in order, each answer generated from the history so far."""

from __future__ import annotations

import json
import textwrap
from typing import Any

from engines.assistant.conversation import Conversation, text_of
from engines.notebooks.build import build_notebook, fence
from engines.snippets.common import causal_lm_load, chat_input_lines, client_setup, remote_kind

_JSON = "import json\n\n"


def user_turns(conv: Conversation) -> list[str]:
    """The text of every user message, in order (attachments are not replayed: their text parts are)."""
    return [text_of(m.get("content")) for m in conv.messages if m.get("role") == "user"]


def _sampling(temperature: float, top_p: float | None) -> str:
    if temperature <= 0:
        return "do_sample=False, temperature=None, top_p=None, top_k=None"  # greedy
    return f"do_sample=True, temperature={temperature}, top_p={top_p if top_p else 1.0}"


def _local_reply(model: str, quantization: str, max_new_tokens: int, temperature: float, top_p: float | None,
                 has_system: bool) -> str:
    imports, load = causal_lm_load(model, quantization)
    body = textwrap.indent(chat_input_lines(has_system=has_system), "    ")
    return (f"{imports}\n{load}\n"
            "def reply(messages):\n"
            "    \"\"\"The model's answer to a chat, encoded as the app encodes it.\"\"\"\n"
            f"{body}"
            "    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id\n"
            "    out = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),\n"
            f"                         max_new_tokens={max_new_tokens}, pad_token_id=pad,\n"
            f"                         {_sampling(temperature, top_p)})\n"
            "    return tokenizer.decode(out[0, input_ids.shape[1]:], skip_special_tokens=True)\n")


def _remote_reply(kind: str, name: str, max_new_tokens: int, temperature: float, top_p: float | None) -> str:
    from engines.backends.openai_compat import limit_param

    limit = limit_param(kind)
    extra = f", top_p={top_p}" if top_p else ""
    return (client_setup(kind) +
            "\n\ndef reply(messages):\n"
            "    \"\"\"The model's answer to a chat (one request, as the app sent it).\"\"\"\n"
            f"    response = client.chat.completions.create(model={name!r}, messages=messages,\n"
            f"                                              {limit}={max_new_tokens}, "
            f"temperature={temperature}{extra})\n"
            "    return response.choices[0].message.content or ''\n")


def conversation_code(conv: Conversation, *, quantization: str = "fp32", max_new_tokens: int = 512,
                      temperature: float = 0.0, top_p: float | None = None) -> str:
    """Plain code replaying ``conv``: ``reply(messages)`` for its model, then each user message in turn, the
    answers appended to the history (as a live chat does); the answers end up in ``answers``.

    Args:
        conv: the conversation (its ``model``, ``system`` and user messages are used).
        quantization: the quantization the app used (local models).
        max_new_tokens: the answer limit per turn.
        temperature: 0 = greedy (the notebook writes the app's answers again); above 0 samples.
        top_p: nucleus sampling bound (sampled runs only), None for the default.

    Returns:
        A self-contained Python snippet.
    """
    head = [{"role": "system", "content": conv.system}] if conv.system.strip() else []
    kind, name = remote_kind(conv.model)
    if kind is not None:
        setup = _remote_reply(kind, name, max_new_tokens, temperature, top_p)
    else:
        quantization = quantization if quantization not in ("", "n/a", "auto") else "fp32"
        setup = _local_reply(conv.model, quantization, max_new_tokens, temperature, top_p, bool(head))
    history = head  # a template without a system role: reply() folds it into the first user turn, as the app does
    return (f"{setup}\n"
            f"history = {json.dumps(history, indent=4, ensure_ascii=False)}\n"
            f"user_messages = {json.dumps(user_turns(conv), indent=4, ensure_ascii=False)}\n"
            "answers = []\n"
            "for user in user_messages:\n"
            "    history.append({'role': 'user', 'content': user})\n"
            "    answer = reply(history)\n"
            "    history.append({'role': 'assistant', 'content': answer})\n"
            "    answers.append(answer)\n"
            "    print(f'USER: {user}\\nASSISTANT: {answer}\\n')\n")


def conversation_notebook(conv: Conversation, *, quantization: str = "fp32", max_new_tokens: int = 512,
                          temperature: float = 0.0, top_p: float | None = None) -> Any:
    """A notebook replaying the conversation (``conversation_code``) whose result is ``{"answers": [...]}``, with
    the app's answers beside it to compare.

    Args:
        conv: the conversation.
        quantization: the quantization the app used (local models).
        max_new_tokens: the answer limit per turn.
        temperature: the sampling temperature.
        top_p: nucleus sampling bound, None for the default.
    """
    code = conversation_code(conv, quantization=quantization, max_new_tokens=max_new_tokens,
                             temperature=temperature, top_p=top_p)
    shown = []
    for m in conv.messages:
        if m.get("role") in ("user", "assistant") and text_of(m.get("content")).strip():
            shown.append(f"**{m['role']}**\n\n{fence(text_of(m.get('content')))}")
    tools = any(m.get("role") == "tool" for m in conv.messages)
    note = (" The app's answers used tools; this replay sends the messages without them, so those answers "
            "differ." if tools else "")
    sampled = "" if temperature <= 0 else " Sampled (temperature > 0): each run writes different answers."
    gpu = "4-bit / 8-bit weights need CUDA." if quantization in ("4bit", "8bit") else False
    return build_notebook(f"Chat with {conv.model}: {len(user_turns(conv))} turn(s)", code,
                          description=f"Replays the Chat tab's conversation: each user message in order, every answer "
                                      f"generated from the history so far (at most {max_new_tokens} tokens, "
                                      f"temperature {temperature:g}).{sampled}{note}",
                          outputs_markdown="\n\n".join(shown), needs_gpu=gpu,
                          result_code=_JSON + "print(json.dumps({'answers': answers}))")
