"""stream_chat(): one chat API over local transformers models and OpenAI-compatible servers.

Local models stream token by token (``TextIteratorStreamer`` + a generate thread); ``openai:``, ``hf:`` and
``ollama:`` references stream through the ``openai`` client. Every stream ends with a chunk carrying stats.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from engines import errors, prompts
from engines.backends.types import ChatChunk, GenerationStats, ToolCall  # noqa: F401  (re-exported contract)
from engines.config import Settings
from engines.gpu import generation_pool, gpu
from engines.loading import LoadedLM, load_causal_lm
from engines.redact import redact
from engines.refs import ModelRef, parse_ref
from engines.remote import (
    answer_char_cap,
    endpoint_for,
    map_remote_error,
    openai_client,
    read_within,
    timeout_error,
)

ROLES = ("system", "user", "assistant", "tool")


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
                quantization: str = "auto", settings: Settings | None = None) -> Iterator[ChatChunk]:
    """Stream a chat completion from any model reference.

    Args:
        model: Hub id, local folder, ``openai:<name>``, ``hf:<org/name>`` or ``ollama:<name>``.
        messages: chat messages (system/user/assistant).
        max_new_tokens: upper bound on generated tokens.
        temperature: 0 = greedy; above 0 samples.
        quantization: auto | 4bit | 8bit | bf16 | fp16 | fp32 (local models only).
        settings: the deployment's settings (read from the environment when None).

    Yields:
        ChatChunk deltas; the last one carries GenerationStats.
    """
    settings = settings or Settings.from_env()
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


def _stream_local(ref: ModelRef, messages: list[dict], max_new_tokens: int, temperature: float,
                  quantization: str) -> Iterator[ChatChunk]:
    start = time.perf_counter()
    lm, hit, load_s, quant_notice = load_causal_lm(ref, quantization)
    ids, template_notice = encode_chat(lm.tokenizer, messages, no_system_role=no_system_role(ref))
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


def _stream_remote(ref: ModelRef, messages: list[dict], max_new_tokens: int, temperature: float,
                   settings: Settings) -> Iterator[ChatChunk]:
    """The answer of an OpenAI-compatible server, held to what was asked: the whole call within
    ``remote_timeout_s``, a stream without a finish reason is an error (the server dropped it), and an answer far
    past ``max_new_tokens`` (a server that ignores it) is cut and says so."""
    client = openai_client(ref, settings)
    spec = ref.spec
    if spec is not None and spec.no_system_role:
        messages = prompts.fold_system(messages)
    limit = {"max_completion_tokens" if ref.kind == "openai" else "max_tokens": max_new_tokens}
    start = time.perf_counter()
    stats = GenerationStats(load_s=0.0, ttft_s=0.0, tokens=0, tokens_per_s=0.0, total_s=0.0, model=ref.raw,
                            backend=endpoint_for(ref).provider, device="remote", quantization="n/a")
    chunks, chars, cap = 0, 0, answer_char_cap(max_new_tokens)
    capped = False

    def open_stream():
        return client.chat.completions.create(model=ref.name, messages=messages, stream=True, temperature=temperature,
                                              stream_options={"include_usage": True}, **limit)

    events = read_within(open_stream, settings.remote_timeout_s,
                         lambda: timeout_error(ref, settings.remote_timeout_s, chunks))
    try:
        for event in events:
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
                    capped = chars + len(text) > cap
                    text = text[:cap - chars]
                    chars += len(text)
                    yield ChatChunk(text=text)
                if capped:
                    break
            if capped:
                break
    except errors.WorkbenchError:
        raise
    except Exception as exc:
        raise map_remote_error(exc, ref, chunks) from None
    finally:
        events.close()  # ends the request if the caller stopped early (or the answer was cut)
    if capped:
        stats.finish_reason = "length"
        yield ChatChunk(text="", notice=f"{stats.backend} kept sending past max new tokens ({max_new_tokens}): the "
                                        f"answer was cut at {cap:,} characters.")
    elif not stats.finish_reason:
        raise errors.StreamTruncated(f"{stats.backend} closed the stream before the answer finished (after {chunks} "
                                     f"chunk(s), with no finish reason): the answer is incomplete. Try again.")
    stats.total_s = time.perf_counter() - start
    stats.tokens = stats.tokens or chunks
    gen_s = stats.total_s
    stats.tokens_per_s = stats.tokens / gen_s if gen_s > 0 else 0.0
    yield ChatChunk(text="", stats=stats)
