"""The next-token view: generate step by step and show, for each token, the distribution it was drawn from.

Local models decode one token at a time with the KV cache (the same tokens ``stream_chat`` generates at
temperature 0); API models report the server's ``logprobs`` / ``top_logprobs``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass

from engines import errors, prompts
from engines.chat import check_context, context_window, encode_chat, no_system_role, validate_messages
from engines.config import Settings
from engines.gpu import gpu
from engines.loading import LoadedLM, load_causal_lm
from engines.redact import redact
from engines.refs import ModelRef, parse_ref
from engines.remote import (
    endpoint_for,
    map_remote_error,
    openai_client,
    read_within,
    server_message,
    timeout_error,
)


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte ↔ printable-character table, which byte-level BPE vocabularies (GPT-2, Llama 3, Qwen, SmolLM)
    spell their tokens in."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), 256))
    chars, extra = keep[:], 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + extra)
            extra += 1
    return dict(zip(keep, map(chr, chars), strict=True))


_BYTE_OF = {c: b for b, c in _bytes_to_unicode().items()}


def readable(raw: bytes) -> str:
    """Bytes as text: valid UTF-8 as is, the rest as ``<0xC3>`` (a piece of a multi-byte character)."""
    out, i = [], 0
    while i < len(raw):
        for j in range(min(len(raw), i + 4), i, -1):
            try:
                out.append(raw[i:j].decode("utf-8"))
                i = j
                break
            except UnicodeDecodeError:
                continue
        else:
            out.append(f"<0x{raw[i]:02X}>")
            i += 1
    return "".join(out)


def token_text(tokenizer, token_id: int) -> str:
    """What one token shows: its decoded text, or — when it is only part of a multi-byte character, where decoding
    alone gives "�" — its bytes (``<0xE6>``), as the Tokenizers tab does. Never mojibake such as "Ã"."""
    text = tokenizer.decode([token_id])
    if "\ufffd" not in text:
        return text
    piece = tokenizer.convert_ids_to_tokens(token_id) or ""
    if piece.startswith("<0x") and piece.endswith(">"):  # SentencePiece byte fallback: already readable
        return piece
    if piece and all(c in _BYTE_OF for c in piece):  # byte-level BPE
        return readable(bytes(_BYTE_OF[c] for c in piece))
    return text


def api_token_text(token: str, raw: list[int] | None) -> str:
    """An API top-logprob token's text: from its ``bytes`` when the server gives them (servers spell partial
    characters as mojibake or "bytes:\\xe6" otherwise)."""
    return readable(bytes(raw)) if raw else token


NEXT_TOKEN_MAX_STEPS = 256
NEXT_TOKEN_MAX_TOP_K = 20  # the OpenAI API's top_logprobs limit; plenty to read


@dataclass
class TokenCandidate:
    """One candidate for the next token: its text, id (None from an API), probability and log-probability."""

    token: str
    token_id: int | None
    prob: float
    logprob: float


@dataclass
class TokenStep:
    """One generated token with the distribution it was drawn from.

    ``rank`` is the chosen token's place in the whole distribution (1 = most likely; from an API, its place among
    the returned candidates, None when outside them). ``entropy_bits`` measures how spread the distribution is
    (local models only). ``finish_reason`` is set on the last row; ``notice`` on the first when something was
    adjusted for the user.
    """

    step: int
    token: str
    token_id: int | None
    prob: float
    logprob: float
    rank: int | None
    candidates: list[TokenCandidate]
    entropy_bits: float | None = None
    seconds: float = 0.0
    piece: str = ""
    finish_reason: str | None = None
    notice: str | None = None
    backend: str = ""
    device: str = ""
    prompt_text: str | None = None  # on the first row: the exact text the model read (special tokens included)
    prompt_tokens: int | None = None
    prompt_format: str = "chat"  # "raw" (the text as written) or "chat" (wrapped in the chat template)


def next_token_table(model: str, messages: list[dict], *, steps: int = 10, top_k: int = 5,
                     temperature: float = 0.0, quantization: str = "auto",
                     seed: int | None = None, prompt_format: str = "chat",
                     settings: Settings | None = None) -> Iterator[TokenStep]:
    """Generate step by step and yield, for each new token, the top-k candidates with their probabilities.

    Local models: probabilities are the softmax of the logits at each step with the temperature applied (at 0 the
    raw softmax is shown and the argmax is chosen: the same tokens ``stream_chat`` generates at temperature 0,
    including the model's repetition penalty where its generation config sets one). API models: the server's
    ``logprobs`` / ``top_logprobs``; a server that does not return them raises ``Unsupported``.

    Args:
        model: Hub id, local folder, ``openai:<name>``, ``hf:<org/name>`` or ``ollama:<name>``.
        messages: chat messages.
        steps: tokens to generate (1-256); stops early at an end-of-sequence token.
        top_k: candidates per step (1-20).
        temperature: 0 = greedy; above 0 samples from the tempered distribution (no top-p).
        quantization: auto | 4bit | 8bit | bf16 | fp16 | fp32 (local models only).
        seed: random seed for sampling (local models, temperature > 0); None = random.
        prompt_format: "chat" wraps the messages in the model's chat template (as the chat does); "raw" has the
            model continue the text as written (``prompts.raw_text``: what "The capital of France is" needs). API
            models always apply their template (a notice says so).
        settings: the deployment's settings (read from the environment when None).

    Yields:
        TokenStep rows, one per generated token; the first carries the exact text the model read.
    """
    settings = settings or Settings.current()
    ref = parse_ref(model, settings)
    messages = validate_messages(messages)
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= NEXT_TOKEN_MAX_STEPS:
        raise errors.InvalidInput(f"steps must be an integer between 1 and {NEXT_TOKEN_MAX_STEPS}.")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= NEXT_TOKEN_MAX_TOP_K:
        raise errors.InvalidInput(f"top_k must be an integer between 1 and {NEXT_TOKEN_MAX_TOP_K}.")
    if not 0.0 <= float(temperature) <= 2.0:
        raise errors.InvalidInput("temperature must be between 0 and 2.")
    prompt_format = (prompt_format or "chat").strip().lower()
    if prompt_format not in prompts.PROMPT_FORMATS:
        raise errors.InvalidInput(f"prompt_format must be one of: {', '.join(prompts.PROMPT_FORMATS)}.")
    from engines.backends.registry import require

    found = require(ref, "next_token", feature="The next-token view", settings=settings)
    yield from found.backend.next_tokens(found.ref, messages, steps=steps, top_k=top_k,
                                         temperature=float(temperature), quantization=quantization, seed=seed,
                                         prompt_format=prompt_format, settings=settings)


def remote_rows(ref: ModelRef, messages: list[dict], steps: int, top_k: int, temperature: float,
                prompt_format: str, settings: Settings) -> Iterator[TokenStep]:
    """The next-token rows of a served model (its chat logprobs with top alternatives); the first row carries the
    messages as sent (the server applies its own template, so "raw" says it ran with the template)."""
    for row in _next_tokens_remote(ref, messages, steps, top_k, temperature, settings):
        if row.step == 1:
            sent = prompts.fold_system(messages) if ref.spec is not None and ref.spec.no_system_role else messages
            row.prompt_text = "\n".join(f"[{m['role']}] {m['content']}" for m in sent)
            if prompt_format == "raw":
                row.notice = " ".join(n for n in (row.notice, prompts.RAW_NO_TEMPLATE_NOTICE) if n)
        yield row


def local_rows(ref: ModelRef, messages: list[dict], steps: int, top_k: int, temperature: float, quantization: str,
               seed: int | None, prompt_format: str) -> Iterator[TokenStep]:
    """The next-token rows of a model run here (its own forward passes, the full distribution)."""
    return _next_tokens_local(ref, messages, steps, top_k, temperature, quantization, seed, prompt_format)


def encode_prompt(tokenizer, messages: list[dict], prompt_format: str,
                  no_system: bool = False) -> tuple[list[int], str | None]:
    """Token ids of the prompt: the chat template (``encode_chat``) or the raw text, tokenized as a text-generation
    pipeline does (the tokenizer's own special tokens, e.g. BOS, added)."""
    if prompt_format == "raw":
        return tokenizer(prompts.raw_text(messages))["input_ids"], None
    return encode_chat(tokenizer, messages, no_system_role=no_system)


def _next_tokens_local(ref: ModelRef, messages: list[dict], steps: int, top_k: int, temperature: float,
                       quantization: str, seed: int | None, prompt_format: str = "chat") -> Iterator[TokenStep]:
    lm, _, _, quant_notice = load_causal_lm(ref, quantization)
    ids, template_notice = encode_prompt(lm.tokenizer, messages, prompt_format, no_system_role(ref))
    check_context(len(ids), steps, context_window(ref, lm), ref.display)
    penalty = getattr(getattr(lm.model, "generation_config", None), "repetition_penalty", None)
    penalty = float(penalty) if penalty and float(penalty) != 1.0 else None
    penalty_notice = (f"This model's generation config sets repetition_penalty={penalty:g}: it is applied before "
                      "the softmax, as generate() does.") if penalty else None
    notice = " ".join(n for n in (quant_notice, template_notice, penalty_notice) if n) or None
    for row in token_steps(lm, ids, steps, top_k, temperature, seed, penalty):  # on the model threads (@gpu)
        row.backend, row.device, row.prompt_format = "transformers", lm.device, prompt_format
        if row.step == 1:
            row.notice = notice
            row.prompt_text = lm.tokenizer.decode(ids, skip_special_tokens=False)
            row.prompt_tokens = len(ids)
        yield row


def _token_steps_seconds(lm, ids, steps, *args) -> int:
    return int(min(300, 20 + steps * 0.2))


@gpu(duration=_token_steps_seconds)
def token_steps(lm: LoadedLM, ids: list[int], steps: int, top_k: int, temperature: float, seed: int | None = None,
                repetition_penalty: float | None = None) -> Iterator[TokenStep]:
    """Decode one token at a time with the KV cache, yielding each step's distribution (see ``next_token_table``).

    Args:
        lm: a loaded causal LM.
        ids: prompt token ids.
        steps: maximum new tokens.
        top_k: candidates per row.
        temperature: 0 = argmax; above 0 = sample from softmax(logits / temperature).
        seed: sampling seed (None = random).
        repetition_penalty: divide positive (multiply negative) logits of already-seen tokens by it, as generate().

    Yields:
        TokenStep rows (backend/device left for the caller).
    """
    import inspect
    import math

    import torch

    model, tok = lm.model, lm.tokenizer
    eos = _eos_ids(model, tok)
    gen = torch.Generator()
    if seed is not None:
        gen.manual_seed(seed)
    else:
        gen.seed()
    seen = list(ids)
    step_input = torch.tensor([ids], device=model.device)
    attention = torch.ones_like(step_input)
    past = None
    # transformers 5 renamed past_key_values to cache (the old name still works, with a deprecation warning)
    cache_arg = "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
    for step in range(1, steps + 1):
        t0 = time.perf_counter()
        # a grad-mode context per step, never held across a yield: a consumer may resume us on another thread
        with torch.inference_mode():
            out = model(input_ids=step_input, attention_mask=attention, use_cache=True, logits_to_keep=1,
                        **{cache_arg: past})
            past = out.cache if getattr(out, "cache", None) is not None else getattr(out, "past_key_values", None)
            logits = out.logits[0, -1].float().cpu()
            if repetition_penalty:
                idx = torch.tensor(sorted(set(seen)))
                score = logits[idx]
                logits[idx] = torch.where(score < 0, score * repetition_penalty, score / repetition_penalty)
            logp = torch.log_softmax(logits / temperature if temperature > 0 else logits, dim=-1)
            probs = logp.exp()
            chosen = int(torch.multinomial(probs, 1, generator=gen)) if temperature > 0 else int(torch.argmax(logits))
            top = torch.topk(probs, min(top_k, probs.numel()))
            rank = int((probs > probs[chosen]).sum()) + 1
            entropy = float(-(probs * torch.nan_to_num(logp, neginf=0.0)).sum()) / math.log(2)
        candidates = [TokenCandidate(token=token_text(tok, i), token_id=i, prob=float(p), logprob=float(logp[i]))
                      for p, i in zip(top.values.tolist(), top.indices.tolist(), strict=True)]
        done = chosen in eos
        seen.append(chosen)
        yield TokenStep(step=step, token=token_text(tok, chosen), token_id=chosen, prob=float(probs[chosen]),
                        logprob=float(logp[chosen]), rank=rank, candidates=candidates, entropy_bits=entropy,
                        seconds=time.perf_counter() - t0, piece=str(tok.convert_ids_to_tokens(chosen)),
                        finish_reason="stop" if done else ("length" if step == steps else None))
        if done:
            return
        step_input = torch.tensor([[chosen]], device=model.device)
        attention = torch.cat([attention, torch.ones((1, 1), dtype=attention.dtype, device=attention.device)], 1)


def _eos_ids(model, tokenizer) -> set[int]:
    """End-of-sequence ids as generate() sees them: the generation config's, else the tokenizer's."""
    eos = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    if eos is None:
        eos = tokenizer.eos_token_id
    if eos is None:
        return set()
    return {int(e) for e in eos} if isinstance(eos, list | tuple) else {int(eos)}


def _next_tokens_remote(ref: ModelRef, messages: list[dict], steps: int, top_k: int, temperature: float,
                        settings: Settings) -> Iterator[TokenStep]:
    import math

    client = openai_client(ref, settings)
    if ref.spec is not None and ref.spec.no_system_role:
        messages = prompts.fold_system(messages)
    endpoint = endpoint_for(ref, settings)
    limit = {endpoint.limit_param: steps}
    backend = endpoint.provider
    pending: TokenStep | None = None  # held back one chunk so the last row can carry the finish reason
    count, t_last, finished = 0, time.perf_counter(), False

    def open_stream():
        return client.chat.completions.create(model=ref.name, messages=messages, stream=True,
                                              temperature=temperature, logprobs=True, top_logprobs=top_k, **limit)

    seconds = settings.remote_timeout_s
    try:
        with closing(read_within(open_stream, seconds, lambda: timeout_error(ref, seconds, count))) as stream:
            for event in stream:
                for choice in event.choices or ():
                    content = choice.logprobs.content if choice.logprobs is not None else None
                    if not content and choice.delta is not None and choice.delta.content:
                        raise errors.Unsupported(
                            f"{backend} answered '{ref.raw}' without logprobs: this server does not support "
                            "logprobs/top_logprobs, so there are no next-token probabilities to show. Use a local "
                            "model (Hub id or folder) for this view.")
                    for item in content or ():
                        count += 1
                        now = time.perf_counter()
                        cands = [TokenCandidate(token=api_token_text(t.token, getattr(t, "bytes", None)),
                                                token_id=None, prob=math.exp(t.logprob),
                                                logprob=t.logprob) for t in (item.top_logprobs or [])[:top_k]]
                        chosen = api_token_text(item.token, getattr(item, "bytes", None))
                        rank = next((i + 1 for i, c in enumerate(cands) if c.token == chosen), None)
                        if pending is not None:
                            yield pending
                        pending = TokenStep(step=count, token=chosen, token_id=None, prob=math.exp(item.logprob),
                                            logprob=item.logprob, rank=rank, candidates=cands, seconds=now - t_last,
                                            piece=item.token, backend=backend, device="remote")
                        t_last = now
                    finished = finished or bool(choice.finish_reason)
                    if choice.finish_reason and pending is not None:
                        pending.finish_reason = choice.finish_reason
    except errors.WorkbenchError:
        raise
    except Exception as exc:
        raise _logprobs_error(exc, ref, count) from None
    if not finished:
        raise errors.StreamTruncated(f"{backend} closed the stream before the answer finished (after {count} "
                                     "token(s), with no finish reason). Try again.")
    if pending is not None:
        pending.finish_reason = pending.finish_reason or ("length" if count >= steps else "stop")
        yield pending


def _logprobs_error(exc: BaseException, ref: ModelRef, received: int) -> errors.WorkbenchError:
    """A 400 that names logprobs means the server can't return them; anything else maps as for chat."""
    import openai

    if isinstance(exc, openai.BadRequestError) and "logprob" in server_message(exc).lower():
        return errors.Unsupported(f"{endpoint_for(ref).provider} refused logprobs for '{ref.raw}': "
                                  f"{redact(server_message(exc))[:200]} Use a local model for this view.")
    return map_remote_error(exc, ref, received)
