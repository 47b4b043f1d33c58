"""Snippet for the Synthetic data tab: plain openai / transformers code that reproduces one batch of a run and
parses its rows."""

from __future__ import annotations

import json
from typing import Any

from engines import errors
from engines.refs import parse_ref
from engines.snippets.common import causal_lm_load, client_setup, remote_kind

_PARSE = ("rows = [json.loads(line) for line in text.split('\\n') if line.strip().startswith('{')]\n"
          "print(len(rows), 'rows', rows[:3])\n")


def rows_code(model: str, messages: list[dict], *, temperature: float = 0.8, max_new_tokens: int = 512,
              quantization: str = "fp32") -> str:
    """Plain openai / transformers code that sends one batch's messages and parses the JSON Lines rows back.

    Args:
        model: the model reference of the run (a local folder is shown as ``path/to/model``).
        messages: the batch's chat messages.
        temperature: the batch's sampling temperature.
        max_new_tokens: the batch's token limit.
        quantization: the quantization a local model ran with (4bit, 8bit, bf16, fp16, fp32).

    Returns:
        A self-contained Python snippet.
    """
    msgs = json.dumps(messages, indent=4, ensure_ascii=False)
    kind, name = remote_kind(model)
    if kind is not None:
        from engines.backends.openai_compat import limit_param

        limit = limit_param(kind)
        return ("import json\n" + client_setup(kind) + f"\nmessages = {msgs}\n"
                f"reply = client.chat.completions.create(model={name!r}, messages=messages, "
                f"temperature={temperature}, {limit}={max_new_tokens})\n"
                f"text = reply.choices[0].message.content\n{_PARSE}")
    imports, load = causal_lm_load(_hub_id_or_placeholder(model), quantization)
    sample = f"do_sample=True, temperature={temperature}" if temperature > 0 else "do_sample=False"
    return ("import json\n" + imports + "\n" + load + f"messages = {msgs}\n"
            "inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors='pt',\n"
            "                                       return_dict=True).to(model.device)\n"
            f"out = model.generate(**inputs, max_new_tokens={max_new_tokens}, {sample})\n"
            "text = tokenizer.decode(out[0, inputs['input_ids'].shape[1]:], skip_special_tokens=True)\n" + _PARSE)


def _hub_id_or_placeholder(model: str) -> str:
    """A Hub id as is; anything else (a local folder, nothing) as a placeholder, so no server path is shown."""
    if not model:
        return "path/to/model"
    try:
        return model if parse_ref(model).kind == "hub" else "path/to/model"
    except errors.WorkbenchError:  # an unusable reference is shown as the placeholder, never raised from here
        return "path/to/model"


def code_snippet(stats: Any) -> str:
    """The snippet for a run's last batch (its first if none ran yet), from an ``engines.synthetic.RunStats``."""
    quantization = stats.quantization if stats.quantization not in ("", "n/a") else "fp32"
    return rows_code(stats.model, stats.last_messages or stats.first_messages, temperature=stats.temperature,
                     max_new_tokens=stats.max_new_tokens, quantization=quantization)
