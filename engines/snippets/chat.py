"""Snippets for chat generation (Compare, Minutes, Synthetic data) and the next-token view."""

from __future__ import annotations

import json

from engines.snippets.common import causal_lm_load, client_setup, remote_kind


def chat_code(model: str, messages: list[dict], *, quantization: str = "fp32", max_new_tokens: int = 256,
              temperature: float = 0.0) -> str:
    """Plain transformers / openai code that streams one chat generation, as ``stream_chat`` ran it.

    Args:
        model: the model reference as the user gave it.
        messages: the chat messages sent.
        quantization: the quantization actually used (4bit, 8bit, bf16, fp16, fp32).
        max_new_tokens: the generation limit.
        temperature: the sampling temperature.

    Returns:
        A self-contained Python snippet.
    """
    msgs = json.dumps(messages, indent=4, ensure_ascii=False)
    kind, name = remote_kind(model)
    if kind is not None:
        limit = "max_completion_tokens" if kind == "openai" else "max_tokens"
        return (client_setup(kind) +
                f"stream = client.chat.completions.create(\n    model={name!r},\n    messages={msgs},\n"
                f"    {limit}={max_new_tokens}, temperature={temperature}, stream=True,\n)\n"
                "for event in stream:\n    if event.choices and event.choices[0].delta.content:\n"
                "        print(event.choices[0].delta.content, end='', flush=True)\n")
    imports, load = causal_lm_load(model, quantization)
    sampling = f"do_sample=True, temperature={temperature}, top_p=0.95" if temperature > 0 else "do_sample=False"
    return (f"{imports}\n{load}"
            f"messages = {msgs}\n"
            "inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors='pt',\n"
            "                                       return_dict=True).to(model.device)\n"
            f"out = model.generate(**inputs, max_new_tokens={max_new_tokens}, {sampling})\n"
            "print(tokenizer.decode(out[0, inputs['input_ids'].shape[1]:], skip_special_tokens=True))\n")


def next_token_code(model: str, messages: list[dict], *, steps: int = 10, top_k: int = 5,
                    temperature: float = 0.0) -> str:
    """Plain transformers (or openai) code that reproduces the next-token table.

    Args:
        model: the model reference used.
        messages: the chat messages.
        steps: tokens generated.
        top_k: candidates per step.
        temperature: sampling temperature.

    Returns:
        Python source.
    """
    kind, name = remote_kind(model)
    if kind is not None:
        limit = "max_completion_tokens" if kind == "openai" else "max_tokens"
        return (client_setup(kind) +
                f"\nresp = client.chat.completions.create(model={name!r}, messages={messages!r},\n"
                f"    {limit}={steps}, temperature={temperature}, logprobs=True, top_logprobs={top_k})\n"
                "for t in resp.choices[0].logprobs.content:\n"
                "    print(repr(t.token), [(c.token, round(2.718281828 ** c.logprob, 3)) for c in t.top_logprobs])\n")
    sample = (f"probs = torch.softmax(logits / {temperature}, -1)\n        next_id = int(torch.multinomial(probs, 1))"
              if temperature > 0 else "probs = torch.softmax(logits, -1)\n        next_id = int(logits.argmax())")
    return (
        "import torch\nfrom transformers import AutoModelForCausalLM, AutoTokenizer\n\n"
        f"MODEL = {model!r}\ntok = AutoTokenizer.from_pretrained(MODEL)\n"
        "model = AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.float32).eval()\n"
        f"ids = tok.apply_chat_template({messages!r}, add_generation_prompt=True, return_tensors=\"pt\")"
        "[\"input_ids\"]\n"
        f"past = None\nfor step in range({steps}):\n    with torch.inference_mode():\n"
        "        out = model(input_ids=ids if past is None else ids[:, -1:], cache=past, use_cache=True)\n"
        "        past, logits = out.cache, out.logits[0, -1]\n"
        f"        {sample}\n"
        f"    top = torch.topk(probs, {top_k})\n"
        "    print(repr(tok.decode([next_id])), [(tok.decode([i]), round(float(p), 3))\n"
        "                                       for p, i in zip(top.values, top.indices)])\n"
        "    if next_id == tok.eos_token_id:\n        break\n"
        "    ids = torch.cat([ids, torch.tensor([[next_id]])], dim=1)\n"
    )
