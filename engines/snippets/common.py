"""Shared pieces of "show code" snippets: how to reach a remote model, how to load a local one.

Snippets read keys and base URLs from the environment when they run (never baked in), so a snippet is safe to
share and runs against the same server the app used when the same variables are set.
"""

from __future__ import annotations

import json

from engines import prompts, quant, registry


def remote_kind(model: str) -> tuple[str | None, str]:
    """(prefix, name) of a model reference: the prefix of a served model ("openai", "hf", "ollama", a named
    endpoint), else None."""
    from engines.backends.registry import split_prefix

    return split_prefix(model)


def remote_stream_open(kind: str, name: str, messages: list[dict], max_new_tokens: int, temperature: float) -> str:
    """Code that sets up the client and opens a streamed chat completion as ``stream`` (messages as the app sent)."""
    from engines.backends.openai_compat import limit_param

    return (client_setup(kind) +
            f"\nmessages = {json.dumps(messages, indent=4, ensure_ascii=False)}\n"
            f"stream = client.chat.completions.create(\n    model={name!r},\n    messages=messages,\n"
            f"    {limit_param(kind)}={max_new_tokens}, temperature={temperature}, stream=True,\n)\n")


def client_setup(kind: str) -> str:
    """Source lines that import ``os`` and ``OpenAI`` and build ``client`` for a served model's prefix."""
    from engines.backends.openai_compat import client_setup_code

    return client_setup_code(kind)


def causal_lm_load(model: str, quantization: str = "fp32", *, var: str = "model_id") -> tuple[str, str]:
    """(import line, load lines) for a causal LM and its tokenizer at ``quantization`` (4bit, 8bit, bf16, ...).

    The load lines define ``tokenizer`` and ``model``; ``var`` names the variable holding the model id.
    """
    extra, kwargs = quant.snippet(quantization)
    names = ", ".join(n for n in ("AutoModelForCausalLM", "AutoTokenizer", extra) if n)
    device = "" if quantization in quant.BNB else ", device_map='auto'"
    imports = f"import torch\nfrom transformers import {names}\n"
    load = (f"{var} = {model!r}\ntokenizer = AutoTokenizer.from_pretrained({var})\n"
            f"model = AutoModelForCausalLM.from_pretrained({var}, {kwargs}{device}).eval()\n")
    return imports, load


def sent_messages(model: str, messages: list[dict]) -> list[dict]:
    """The messages as the app sends them: the system text folded into the first user turn for a model the catalog
    says has no system role (as ``stream_chat`` and the next-token view do)."""
    kind, name = remote_kind(model)
    spec = registry.get(model) or (registry.get(name) if kind is not None else None)
    has_system = any(m.get("role") == "system" for m in messages)
    return prompts.fold_system(messages) if spec is not None and spec.no_system_role and has_system else messages


def chat_input_lines(var: str = "messages", *, has_system: bool = False) -> str:
    """Source lines that turn the chat ``var`` into ``input_ids`` exactly as the app does (``chat.encode_chat``).

    The template is rendered once and tokenized without adding BOS again; with ``has_system``, a template that
    rejects the system role gets the system text folded into the first user turn (``prompts.fold_system``); a
    tokenizer without a chat template (a base model) gets a plain "Role: text" transcript. Needs ``tokenizer``
    and ``model``.
    """
    render = f"tokenizer.apply_chat_template({var}, tokenize=False, add_generation_prompt=True)"
    if has_system:
        render_lines = (
            f"    try:\n        prompt = {render}\n"
            "    except Exception:  # a template without a system role: the system text leads the first user turn\n"
            f"        system = '\\n\\n'.join(m['content'] for m in {var} if m['role'] == 'system')\n"
            f"        {var} = [dict(m) for m in {var} if m['role'] != 'system']\n"
            f"        user = next(m for m in {var} if m['role'] == 'user')\n"
            f"        user['content'] = {prompts.FOLDED_SYSTEM!r}.format(system=system, user=user['content'])\n"
            f"        prompt = {render}\n")
    else:
        render_lines = f"    prompt = {render}\n"
    return (
        "if tokenizer.chat_template:  # rendered once, then tokenized without a second BOS, as the app does\n"
        + render_lines +
        "    input_ids = tokenizer(prompt, add_special_tokens=False, return_tensors='pt')['input_ids']\n"
        "else:  # a base model without a chat template: a plain 'Role: text' transcript\n"
        f"    prompt = ''.join(f\"{{m['role'].capitalize()}}: {{m['content']}}\\n\" for m in {var}) + 'Assistant:'\n"
        "    input_ids = tokenizer(prompt, return_tensors='pt')['input_ids']\n"
        "input_ids = input_ids.to(model.device)\n"
    )
