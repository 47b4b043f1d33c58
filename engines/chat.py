"""stream_chat(): one chat API over local transformers models and OpenAI-compatible servers.

Local models stream token by token (``TextIteratorStreamer`` + a generate thread); ``openai:``, ``hf:`` and
``ollama:`` references stream through the ``openai`` client. Every stream ends with a chunk carrying stats.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

from engines import errors, prompts
from engines.config import Settings
from engines.gpu import generation_pool, gpu
from engines.loading import LoadedLM, load_causal_lm
from engines.redact import redact
from engines.refs import ModelRef, parse_ref

ROLES = ("system", "user", "assistant", "tool")


@dataclass
class GenerationStats:
    """Measured numbers of one generation. ``tokens`` counts generated tokens only (not the prompt)."""

    load_s: float
    ttft_s: float
    tokens: int
    tokens_per_s: float
    total_s: float
    prompt_tokens: int | None = None
    model: str = ""
    backend: str = ""
    device: str = ""
    quantization: str = ""
    memory_bytes: int | None = None
    peak_gpu_bytes: int | None = None
    cache_hit: bool = False
    finish_reason: str | None = None


@dataclass
class ChatChunk:
    """A streamed piece: ``text`` is the new delta; ``stats`` comes on the last chunk; ``notice`` on the first
    when something was changed for the user (quantization fallback, system prompt folded, ...)."""

    text: str
    stats: GenerationStats | None = None
    notice: str | None = None


def validate_messages(messages: list[dict]) -> list[dict]:
    """Check chat messages and return clean copies.

    Raises:
        InvalidInput: not a list of {"role", "content"} dicts, an unknown role, or no user message with text.
    """
    if not isinstance(messages, list) or not messages:
        raise errors.InvalidInput("Messages must be a non-empty list of {\"role\": ..., \"content\": ...} objects.")
    clean = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise errors.InvalidInput(f"Message {i + 1} must be an object with \"role\" and \"content\".")
        if m["role"] not in ROLES:
            raise errors.InvalidInput(f"Message {i + 1} has role '{m['role']}'; use one of {', '.join(ROLES)}.")
        if not isinstance(m["content"], str):
            raise errors.InvalidInput(f"Message {i + 1}: \"content\" must be a string.")
        clean.append({"role": m["role"], "content": m["content"]})
    if not any(m["role"] == "user" and m["content"].strip() for m in clean):
        raise errors.InvalidInput("The prompt is empty: write a user message.")
    return clean


def stream_chat(model: str, messages: list[dict], *, max_new_tokens: int = 512, temperature: float = 0.0,
                quantization: str = "auto") -> Iterator[ChatChunk]:
    """Stream a chat completion from any model reference.

    Args:
        model: Hub id, local folder, ``openai:<name>``, ``hf:<org/name>`` or ``ollama:<name>``.
        messages: chat messages (system/user/assistant).
        max_new_tokens: upper bound on generated tokens.
        temperature: 0 = greedy; above 0 samples.
        quantization: auto | 4bit | 8bit | bf16 | fp16 | fp32 (local models only).

    Yields:
        ChatChunk deltas; the last one carries GenerationStats.
    """
    settings = Settings.from_env()
    ref = parse_ref(model, settings)
    messages = validate_messages(messages)
    if not isinstance(max_new_tokens, int) or not 1 <= max_new_tokens <= settings.max_new_tokens:
        raise errors.InvalidInput(f"max_new_tokens must be between 1 and {settings.max_new_tokens}.")
    if not 0.0 <= float(temperature) <= 2.0:
        raise errors.InvalidInput("temperature must be between 0 and 2.")
    if ref.is_remote:
        yield from _stream_remote(ref, messages, max_new_tokens, float(temperature), settings)
    else:
        yield from _stream_local(ref, messages, max_new_tokens, float(temperature), quantization)


# ----------------------------------------------------------------------------------------------- local


def encode_chat(tokenizer, messages: list[dict], *, no_system_role: bool = False) -> tuple[list[int], str | None]:
    """Token ids of a chat prompt (with the generation prompt), the template rendered once.

    A template without a system role gets the system text folded into the first user turn; a tokenizer without a
    chat template (a base model) gets a plain transcript. Either comes with a notice.
    """
    if getattr(tokenizer, "chat_template", None):
        text, _, notice = prompts.apply_template(tokenizer, messages, no_system_role=no_system_role)
        # the template already holds BOS and friends: don't add them twice
        return tokenizer(text, add_special_tokens=False)["input_ids"], notice
    text = "".join(f"{m['role'].capitalize()}: {m['content']}\n" for m in messages) + "Assistant:"
    return tokenizer(text)["input_ids"], "This model has no chat template (a base model): the messages were sent " \
                                         "as a plain 'Role: text' transcript."


def _no_system_role(ref: ModelRef) -> bool:
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


def _stream_local(ref: ModelRef, messages: list[dict], max_new_tokens: int, temperature: float,
                  quantization: str) -> Iterator[ChatChunk]:
    start = time.perf_counter()
    lm, hit, load_s, quant_notice = load_causal_lm(ref, quantization)
    ids, template_notice = encode_chat(lm.tokenizer, messages, no_system_role=_no_system_role(ref))
    check_context(len(ids), max_new_tokens, context_window(ref, lm), ref.display)
    notices = [n for n in (quant_notice, template_notice) if n]
    if notices:
        yield ChatChunk(text="", notice=" ".join(notices))
    stats = GenerationStats(load_s=load_s, ttft_s=0.0, tokens=0, tokens_per_s=0.0, total_s=0.0,
                            prompt_tokens=len(ids), model=ref.display, backend="transformers", device=lm.device,
                            quantization=lm.quantization, memory_bytes=lm.footprint_bytes, cache_hit=hit)
    for piece in generate_stream(lm, ids, max_new_tokens, temperature, stats):
        if piece:
            yield ChatChunk(text=piece)
    stats.total_s = time.perf_counter() - start
    yield ChatChunk(text="", stats=stats)


def _gpu_seconds(lm, ids, max_new_tokens, *args) -> int:
    return int(min(300, 20 + max_new_tokens * 0.05))


@gpu(duration=_gpu_seconds)
def generate_stream(lm: LoadedLM, ids: list[int], max_new_tokens: int, temperature: float,
                    stats: GenerationStats) -> Iterator[str]:
    """Run ``generate`` in a thread and yield decoded text as each token arrives; fills ``stats`` in place.

    Closing the iterator (the user pressed Stop) stops generation at the next token.
    """
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

    stop = threading.Event()
    marks: dict[str, float] = {}
    counter = {"tokens": 0}

    class _Streamer(TextIteratorStreamer):
        """Emits each token's text at once (the stock streamer waits for a space), holding back only an
        incomplete multi-byte character."""

        def put(self, value):
            if self.skip_prompt and self.next_tokens_are_prompt:
                self.next_tokens_are_prompt = False
                return
            counter["tokens"] += int(value.numel())
            marks.setdefault("first", time.perf_counter())
            self.token_cache.extend(value.reshape(-1).tolist())
            text = self.tokenizer.decode(self.token_cache, **self.decode_kwargs)
            if text.endswith("\ufffd"):
                return
            printable = text[self.print_len:]
            if text.endswith("\n"):  # restart the cache so decoding stays O(line), not O(answer); the last
                # token stays as context so the next line keeps its leading space
                self.token_cache = self.token_cache[-1:]
                self.print_len = len(self.tokenizer.decode(self.token_cache, **self.decode_kwargs))
            else:
                self.print_len = len(text)
            if printable:
                self.on_finalized_text(printable)

    class _Stop(StoppingCriteria):
        def __call__(self, input_ids, scores, **kwargs):
            return stop.is_set()

    tok = lm.tokenizer
    streamer = _Streamer(tok, skip_prompt=True, skip_special_tokens=True, timeout=600)
    input_ids = torch.tensor([ids], device=lm.model.device)
    kwargs = dict(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=max_new_tokens,
                  streamer=streamer, stopping_criteria=StoppingCriteriaList([_Stop()]),
                  pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
                  do_sample=temperature > 0)
    if temperature > 0:
        kwargs.update(temperature=temperature, top_p=0.95)
    else:
        kwargs.update(temperature=None, top_p=None, top_k=None)
    failure: list[BaseException] = []

    def run():
        try:
            with torch.inference_mode():
                lm.model.generate(**kwargs)
        except BaseException as exc:  # surfaced in the consumer thread below
            failure.append(exc)
            streamer.end()

    if lm.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    done = generation_pool().submit(run)
    try:
        yield from streamer
    finally:
        stop.set()
        done.result()
    end = time.perf_counter()
    if failure:
        raise _generation_error(failure[0])
    stats.tokens = counter["tokens"]
    stats.ttft_s = marks.get("first", end) - t0
    stats.tokens_per_s = stats.tokens / (end - t0) if end > t0 else 0.0
    stats.finish_reason = "length" if stats.tokens >= max_new_tokens else "stop"
    if lm.device == "cuda":
        stats.peak_gpu_bytes = int(torch.cuda.max_memory_allocated())


def _generation_error(exc: BaseException) -> errors.WorkbenchError:
    if "out of memory" in str(exc).lower() or type(exc).__name__ == "OutOfMemoryError":
        from engines.cache import free_memory

        free_memory()
        return errors.OutOfMemory("Generation ran out of memory. Lower max new tokens, shorten the prompt, or pick "
                                  "a smaller model / 4-bit quantization.")
    return errors.WorkbenchError(f"Generation failed: {type(exc).__name__}: {redact(str(exc))[:300]}")


# ---------------------------------------------------------------------------------------------- remote


@dataclass(frozen=True)
class Endpoint:
    """Where a remote reference is served and which variable holds its key."""

    provider: str
    base_url: str | None
    key_var: str | None


def endpoint_for(ref: ModelRef) -> Endpoint:
    """The endpoint for a remote reference, read from the environment now."""
    if ref.kind == "openai":
        return Endpoint("OpenAI-compatible server", os.environ.get("OPENAI_BASE_URL") or None, "OPENAI_API_KEY")
    if ref.kind == "hf":
        return Endpoint("HF Inference Providers",
                        os.environ.get("HF_API_BASE_URL") or "https://router.huggingface.co/v1", "HF_TOKEN")
    host = (os.environ.get("OLLAMA_HOST") or "http://localhost:11434").strip().rstrip("/")
    if "://" not in host:
        host = "http://" + host
    return Endpoint("Ollama", host + "/v1", None)


def openai_client(ref: ModelRef, settings: Settings):
    """An ``openai.OpenAI`` client for a remote reference. The key is read now, never stored or shown."""
    from openai import OpenAI

    ep = endpoint_for(ref)
    key = os.environ.get(ep.key_var, "").strip() if ep.key_var else "ollama"
    if not key:
        raise errors.MissingApiKey(f"'{ref.raw}' needs {ep.key_var}: set that environment variable and restart "
                                   f"(or pick a local model).")
    return OpenAI(base_url=ep.base_url, api_key=key, timeout=settings.remote_timeout_s, max_retries=1)


def _stream_remote(ref: ModelRef, messages: list[dict], max_new_tokens: int, temperature: float,
                   settings: Settings) -> Iterator[ChatChunk]:
    client = openai_client(ref, settings)
    spec = ref.spec
    if spec is not None and spec.no_system_role:
        messages = prompts.fold_system(messages)
    limit = {"max_completion_tokens" if ref.kind == "openai" else "max_tokens": max_new_tokens}
    start = time.perf_counter()
    stats = GenerationStats(load_s=0.0, ttft_s=0.0, tokens=0, tokens_per_s=0.0, total_s=0.0, model=ref.raw,
                            backend=endpoint_for(ref).provider, device="remote", quantization="n/a")
    chunks = 0
    try:
        stream = client.chat.completions.create(model=ref.name, messages=messages, stream=True,
                                                temperature=temperature, stream_options={"include_usage": True},
                                                **limit)
        with stream:
            for event in stream:
                if event.usage is not None:
                    stats.tokens = event.usage.completion_tokens or stats.tokens
                    stats.prompt_tokens = event.usage.prompt_tokens
                for choice in event.choices or ():
                    if choice.finish_reason:
                        stats.finish_reason = choice.finish_reason
                    text = choice.delta.content if choice.delta else None
                    if text:
                        if chunks == 0:
                            stats.ttft_s = time.perf_counter() - start
                        chunks += 1
                        yield ChatChunk(text=text)
    except errors.WorkbenchError:
        raise
    except Exception as exc:
        raise map_remote_error(exc, ref, chunks) from None
    stats.total_s = time.perf_counter() - start
    stats.tokens = stats.tokens or chunks
    gen_s = stats.total_s
    stats.tokens_per_s = stats.tokens / gen_s if gen_s > 0 else 0.0
    yield ChatChunk(text="", stats=stats)


def map_remote_error(exc: BaseException, ref: ModelRef, received: int = 0) -> errors.WorkbenchError:
    """A WorkbenchError for an ``openai`` client exception (the key never appears in the message)."""
    import openai

    ep = endpoint_for(ref)
    where = _host(ep.base_url) if ep.base_url else "api.openai.com"
    detail = redact(_server_message(exc))[:300]
    if isinstance(exc, openai.AuthenticationError):
        return errors.MissingApiKey(f"{ep.provider} ({where}) rejected the key in {ep.key_var} (401). "
                                    "Check that it is valid and set for this server.")
    if isinstance(exc, openai.PermissionDeniedError):
        return errors.RemoteError(f"{ep.provider} refused access to '{ref.name}' (403): {detail}")
    if isinstance(exc, openai.NotFoundError):
        return errors.ModelNotFound(f"{ep.provider} ({where}) does not serve a model named '{ref.name}'.")
    if isinstance(exc, openai.BadRequestError):
        if "context" in detail.lower() and ("length" in detail.lower() or "window" in detail.lower()):
            return errors.ContextTooLong(f"'{ref.raw}': {detail} Shorten the prompt or lower max new tokens.")
        return errors.RemoteError(f"{ep.provider} rejected the request (400): {detail}")
    if isinstance(exc, openai.RateLimitError):
        return errors.RemoteError(f"{ep.provider} is rate limiting this key (429). Wait a little and try again.")
    if received:
        return errors.RemoteError(f"The stream from {ep.provider} broke off after {received} chunks "
                                  f"({type(exc).__name__}). Try again.")
    if isinstance(exc, openai.APITimeoutError):
        return errors.RemoteError(f"{ep.provider} ({where}) did not answer in time.")
    if isinstance(exc, openai.APIConnectionError):
        return errors.RemoteError(f"Cannot reach {ep.provider} at {where}. Is the server running and the URL right?")
    if isinstance(exc, openai.APIStatusError):
        return errors.RemoteError(f"{ep.provider} answered with an error ({exc.status_code}): {detail}")
    return errors.RemoteError(f"{ep.provider} call failed: {type(exc).__name__}: {detail}")


def _server_message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error")
        msg = err.get("message") if isinstance(err, dict) else body.get("message")
        if msg:
            return str(msg)
    return str(getattr(exc, "message", None) or exc)


def _host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0].rsplit("@", 1)[-1]


# --------------------------------------------------------------------------------------- next-token view

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


def next_token_table(model: str, messages: list[dict], *, steps: int = 10, top_k: int = 5,
                     temperature: float = 0.0, quantization: str = "auto",
                     seed: int | None = None) -> Iterator[TokenStep]:
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

    Yields:
        TokenStep rows, one per generated token.
    """
    settings = Settings.from_env()
    ref = parse_ref(model, settings)
    messages = validate_messages(messages)
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= NEXT_TOKEN_MAX_STEPS:
        raise errors.InvalidInput(f"steps must be an integer between 1 and {NEXT_TOKEN_MAX_STEPS}.")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= NEXT_TOKEN_MAX_TOP_K:
        raise errors.InvalidInput(f"top_k must be an integer between 1 and {NEXT_TOKEN_MAX_TOP_K}.")
    if not 0.0 <= float(temperature) <= 2.0:
        raise errors.InvalidInput("temperature must be between 0 and 2.")
    if ref.is_remote:
        yield from _next_tokens_remote(ref, messages, steps, top_k, float(temperature), settings)
    else:
        yield from _next_tokens_local(ref, messages, steps, top_k, float(temperature), quantization, seed)


def _next_tokens_local(ref: ModelRef, messages: list[dict], steps: int, top_k: int, temperature: float,
                       quantization: str, seed: int | None) -> Iterator[TokenStep]:
    lm, _, _, quant_notice = load_causal_lm(ref, quantization)
    ids, template_notice = encode_chat(lm.tokenizer, messages, no_system_role=_no_system_role(ref))
    check_context(len(ids), steps, context_window(ref, lm), ref.display)
    penalty = getattr(getattr(lm.model, "generation_config", None), "repetition_penalty", None)
    penalty = float(penalty) if penalty and float(penalty) != 1.0 else None
    penalty_notice = (f"This model's generation config sets repetition_penalty={penalty:g}: it is applied before "
                      "the softmax, as generate() does.") if penalty else None
    notice = " ".join(n for n in (quant_notice, template_notice, penalty_notice) if n) or None
    for row in token_steps(lm, ids, steps, top_k, temperature, seed, penalty):
        row.backend, row.device = "transformers", lm.device
        if row.step == 1:
            row.notice = notice
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
        candidates = [TokenCandidate(token=tok.decode([i]), token_id=i, prob=float(p), logprob=float(logp[i]))
                      for p, i in zip(top.values.tolist(), top.indices.tolist(), strict=True)]
        done = chosen in eos
        seen.append(chosen)
        yield TokenStep(step=step, token=tok.decode([chosen]), token_id=chosen, prob=float(probs[chosen]),
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
    limit = {"max_completion_tokens" if ref.kind == "openai" else "max_tokens": steps}
    backend = endpoint_for(ref).provider
    pending: TokenStep | None = None  # held back one chunk so the last row can carry the finish reason
    count, t_last = 0, time.perf_counter()
    try:
        stream = client.chat.completions.create(model=ref.name, messages=messages, stream=True,
                                                temperature=temperature, logprobs=True, top_logprobs=top_k, **limit)
        with stream:
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
                        cands = [TokenCandidate(token=t.token, token_id=None, prob=math.exp(t.logprob),
                                                logprob=t.logprob) for t in (item.top_logprobs or [])[:top_k]]
                        rank = next((i + 1 for i, c in enumerate(cands) if c.token == item.token), None)
                        if pending is not None:
                            yield pending
                        pending = TokenStep(step=count, token=item.token, token_id=None, prob=math.exp(item.logprob),
                                            logprob=item.logprob, rank=rank, candidates=cands, seconds=now - t_last,
                                            piece=item.token, backend=backend, device="remote")
                        t_last = now
                    if choice.finish_reason and pending is not None:
                        pending.finish_reason = choice.finish_reason
    except errors.WorkbenchError:
        raise
    except Exception as exc:
        raise _logprobs_error(exc, ref, count) from None
    if pending is not None:
        pending.finish_reason = pending.finish_reason or ("length" if count >= steps else "stop")
        yield pending


def _logprobs_error(exc: BaseException, ref: ModelRef, received: int) -> errors.WorkbenchError:
    """A 400 that names logprobs means the server can't return them; anything else maps as for chat."""
    import openai

    if isinstance(exc, openai.BadRequestError) and "logprob" in _server_message(exc).lower():
        return errors.Unsupported(f"{endpoint_for(ref).provider} refused logprobs for '{ref.raw}': "
                                  f"{redact(_server_message(exc))[:200]} Use a local model for this view.")
    return map_remote_error(exc, ref, received)


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
    if model.split(":", 1)[0] in ("openai", "hf", "ollama"):
        name = model.split(":", 1)[1]
        return ("from openai import OpenAI  # OPENAI_BASE_URL / OPENAI_API_KEY from the environment\n\n"
                f"resp = OpenAI().chat.completions.create(model={name!r}, messages={messages!r},\n"
                f"    max_completion_tokens={steps}, temperature={temperature}, logprobs=True, top_logprobs={top_k})\n"
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
