"""Snippets for chat generation (Compare, Minutes, Synthetic data) and the next-token view.

Each snippet ends with its result in a variable a notebook can print: ``text`` (the generated text) for a chat,
``table`` (one dict per step: token, id, prob, candidates) for the next-token view.
"""

from __future__ import annotations

import json

from engines import prompts
from engines.snippets.common import (
    causal_lm_load,
    chat_input_lines,
    client_setup,
    remote_kind,
    remote_stream_open,
    sent_messages,
)


def chat_code(model: str, messages: list[dict], *, quantization: str = "fp32", max_new_tokens: int = 256,
              temperature: float = 0.0) -> str:
    """Plain transformers / openai code that streams one chat generation, as ``stream_chat`` ran it.

    The prompt is encoded as the app encodes it (template rendered once, no second BOS; the system text folded for
    models without a system role), greedy at temperature 0; the generated text ends up in ``text``.

    Args:
        model: the model reference as the user gave it.
        messages: the chat messages sent.
        quantization: the quantization actually used (4bit, 8bit, bf16, fp16, fp32).
        max_new_tokens: the generation limit.
        temperature: the sampling temperature.

    Returns:
        A self-contained Python snippet.
    """
    sent = sent_messages(model, messages)
    msgs = json.dumps(sent, indent=4, ensure_ascii=False)
    kind, name = remote_kind(model)
    if kind is not None:
        return (remote_stream_open(kind, name, sent, max_new_tokens, temperature) +
                "text = ''\nfor event in stream:\n    if event.choices and event.choices[0].delta.content:\n"
                "        text += event.choices[0].delta.content\n"
                "        print(event.choices[0].delta.content, end='', flush=True)\n")
    imports, load = causal_lm_load(model, quantization)
    sampling = (f"do_sample=True, temperature={temperature}, top_p=0.95)  # sampled: each run differs"
                if temperature > 0 else "do_sample=False, temperature=None, top_p=None, top_k=None)  # greedy")
    return (f"{imports}\n{load}"
            f"messages = {msgs}\n" + chat_input_lines(has_system=_has_system(sent)) +
            "pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id\n"
            f"out = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),\n"
            f"                     max_new_tokens={max_new_tokens}, pad_token_id=pad,\n"
            f"                     {sampling}\n"
            "text = tokenizer.decode(out[0, input_ids.shape[1]:], skip_special_tokens=True)\n"
            "print(text)\n")


def next_token_code(model: str, messages: list[dict], *, steps: int = 10, top_k: int = 5,
                    temperature: float = 0.0, quantization: str = "fp32", seed: int | None = None,
                    prompt_format: str = "chat") -> str:
    """Plain transformers (or openai) code that reproduces the next-token table, step by step as the app does.

    Local models: one token at a time with the KV cache, the generation config's repetition penalty applied before
    the softmax, argmax at temperature 0, else a draw from ``torch.Generator().manual_seed(seed)`` (the same draws
    ``next_token_table`` makes with that seed). API models: the server's logprobs. The rows end up in ``table``.

    Args:
        model: the model reference used.
        messages: the chat messages.
        steps: tokens generated.
        top_k: candidates per step.
        temperature: sampling temperature.
        quantization: the quantization a local model ran with (4bit, 8bit, bf16, fp16, fp32).
        seed: the sampling seed of the run (temperature > 0); None = unseeded (each run differs).
        prompt_format: "chat" (the chat template, as the chat sends it) or "raw" (the text continued as written,
            ``prompts.raw_text``); API models always take messages.

    Returns:
        Python source.
    """
    sent = sent_messages(model, messages)
    msgs = json.dumps(sent, indent=4, ensure_ascii=False)
    kind, name = remote_kind(model)
    if kind is not None:
        return _next_token_remote(kind, name, msgs, steps, top_k, temperature)
    imports, load = causal_lm_load(model, quantization)
    if prompt_format == "raw":  # no chat template: the text as written, tokenized as a text-generation pipeline does
        prompt_lines = (f"prompt = {prompts.raw_text(messages)!r}\n"
                        "input_ids = tokenizer(prompt, return_tensors='pt')['input_ids'].to(model.device)\n")
    else:
        prompt_lines = f"messages = {msgs}\n" + chat_input_lines(has_system=_has_system(sent))
    scaled = f"logits / {temperature}" if temperature > 0 else "logits"
    choose = ("int(torch.multinomial(probs, 1, generator=generator))" if temperature > 0
              else "int(torch.argmax(logits))")
    seeding = (f"generator = torch.Generator().manual_seed({seed})\n" if seed is not None
               else "generator = torch.Generator()\ngenerator.seed()  # unseeded: each run draws differently\n")
    return (
        f"{imports}\n{load}" + prompt_lines +
        "print('The model reads:', repr(tokenizer.decode(input_ids[0])))\n"
        "eos = model.generation_config.eos_token_id\n"
        "eos = set(eos if isinstance(eos, list) else [eos if eos is not None else tokenizer.eos_token_id])\n"
        "penalty = model.generation_config.repetition_penalty  # applied before the softmax, as generate() does\n"
        + (seeding if temperature > 0 else "") +
        "seen, step_input, cache, table = input_ids[0].tolist(), input_ids, None, []\n"
        f"for step in range({steps}):\n"
        "    with torch.inference_mode():\n"
        "        out = model(input_ids=step_input, cache=cache, use_cache=True, logits_to_keep=1)\n"
        "        cache, logits = out.cache, out.logits[0, -1].float().cpu()\n"
        "        if penalty and penalty != 1.0:\n"
        "            idx = torch.tensor(sorted(set(seen)))\n"
        "            logits[idx] = torch.where(logits[idx] < 0, logits[idx] * penalty, logits[idx] / penalty)\n"
        f"        probs = torch.log_softmax({scaled}, dim=-1).exp()\n"
        f"        chosen = {choose}\n"
        f"        top = torch.topk(probs, {top_k})\n"
        "    row = {'token': tokenizer.decode([chosen]), 'id': chosen, 'prob': float(probs[chosen]),\n"
        "           'candidates': [[tokenizer.decode([i]), i, p] for p, i in zip(top.values.tolist(), "
        "top.indices.tolist())]}\n"
        "    table.append(row)\n"
        "    print(f\"{step + 1:>3} {row['token']!r:>14} p={row['prob']:.4f} | \"\n"
        "          + ', '.join(f'{t!r} {p:.4f}' for t, _, p in row['candidates']))\n"
        "    seen.append(chosen)\n"
        "    if chosen in eos:\n        break\n"
        "    step_input = torch.tensor([[chosen]], device=model.device)\n"
    )


def _next_token_remote(kind: str, name: str, msgs: str, steps: int, top_k: int, temperature: float) -> str:
    from engines.backends.openai_compat import limit_param

    limit = limit_param(kind)
    return ("import math\n\n" + client_setup(kind) +
            f"\nmessages = {msgs}\n"
            f"resp = client.chat.completions.create(model={name!r}, messages=messages,\n"
            f"    {limit}={steps}, temperature={temperature}, logprobs=True, top_logprobs={top_k})\n"
            "table = []\n"
            "for t in resp.choices[0].logprobs.content:\n"
            "    row = {'token': t.token, 'id': None, 'prob': math.exp(t.logprob),\n"
            "           'candidates': [[c.token, None, math.exp(c.logprob)] for c in t.top_logprobs]}\n"
            "    table.append(row)\n"
            "    print(f\"{row['token']!r:>14} p={row['prob']:.4f} | \"\n"
            "          + ', '.join(f'{tok!r} {p:.4f}' for tok, _, p in row['candidates']))\n")


def _has_system(messages: list[dict]) -> bool:
    return any(m.get("role") == "system" for m in messages)
