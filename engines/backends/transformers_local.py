"""The local backend: Hub ids and local folders run in this process with transformers.

Streams token by token (``TextIteratorStreamer`` + a generate thread on the generation pool); tools go through the
model's own chat template (``apply_chat_template(..., tools=...)``) and the calls are parsed from the format that
template asks for (``engines.backends.toolparse``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from engines import errors
from engines.backends.base import Backend
from engines.backends.registry import register
from engines.backends.types import Capabilities, ChatChunk, GenerationStats, Recipe
from engines.chat import check_context, context_window, encode_chat, no_system_role
from engines.config import Settings, in_this_call
from engines.gpu import generation_pool, gpu
from engines.loading import LoadedLM, load_causal_lm
from engines.model_kind import is_vision_model
from engines.redact import redact
from engines.refs import ModelRef

# end-of-turn tokens dropped from text kept with its special tokens (tool mode)
_ENDERS = ("<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end_of_text|>", "<|endoftext|>", "</s>", "<end_of_turn>",
           "<|end|>")


class TransformersBackend(Backend):
    """Hub ids and local folders, run here with transformers."""

    name = "transformers"
    description = "in-process transformers (Hub ids, local folders)"

    def serves(self, ref: ModelRef, settings: Settings) -> bool:
        return ref.kind in ("hub", "local")

    def capabilities(self, ref: ModelRef | None, settings: Settings) -> Capabilities:
        if ref is not None and is_vision_model(ref):  # image-text-to-text: images in, no tool template here
            return Capabilities(stream=True, tools=False, logprobs=False, vision=True, audio_input=False,
                                tokenize=True, next_token=False, local=True)
        return Capabilities(stream=True, tools=True, logprobs=True, vision=False, audio_input=False, tokenize=True,
                            next_token=True, local=True)

    def provider(self, ref: ModelRef, settings: Settings) -> str:
        return "transformers"

    def missing(self, ref: ModelRef, capability: str, feature: str) -> errors.Unsupported:
        error = super().missing(ref, capability, feature)
        if capability == "vision":  # the flag depends on the model here: a local vision model takes images
            error = errors.Unsupported(error.message.rstrip(".") + ", or a local image-text-to-text model (a "
                                       "vision-language model such as SmolVLM, Qwen2-VL or LLaVA).")
        return error

    def stream_chat(self, ref, messages, *, max_new_tokens, temperature, top_p, quantization, tools, settings):
        if is_vision_model(ref):
            from engines.backends.transformers_vision import stream_vision

            return stream_vision(ref, messages, max_new_tokens, temperature, quantization, top_p=top_p)
        return _stream_local(ref, messages, max_new_tokens, temperature, quantization, top_p=top_p, tools=tools)

    def loglikelihoods(self, ref, requests, *, quantization, settings):
        from engines.evals.logprobs import score_requests

        lm = load_causal_lm(ref, quantization)[0]
        return [s.total for s in score_requests(lm, requests)]

    def next_tokens(self, ref, messages, *, steps, top_k, temperature, quantization, seed, prompt_format, settings):
        from engines.next_token import local_rows

        return local_rows(ref, messages, steps, top_k, temperature, quantization, seed, prompt_format)

    def tokenizer(self, ref, settings):
        from engines.loading import load_tokenizer

        return load_tokenizer(ref)

    def chat_recipe(self, ref, messages, *, max_new_tokens, temperature, quantization):
        from engines.snippets.chat import chat_code

        if is_vision_model(ref):
            from engines.backends.transformers_vision import vision_chat_code

            code = vision_chat_code(ref.raw, messages, quantization=quantization, max_new_tokens=max_new_tokens,
                                    temperature=temperature)
            return Recipe(title=f"Chat with {ref.display}", code=code,
                          packages=["transformers", "torch", "accelerate", "pillow"],
                          gpu=quantization in ("4bit", "8bit"))
        code = chat_code(ref.raw, messages, quantization=quantization, max_new_tokens=max_new_tokens,
                         temperature=temperature)
        return Recipe(title=f"Chat with {ref.display}", code=code, packages=["transformers", "torch", "accelerate"],
                      gpu=quantization in ("4bit", "8bit"))


register(TransformersBackend())


def tool_style(tokenizer, tools: list[dict] | None, ref: ModelRef) -> str | None:
    """The tool-call format of this tokenizer's chat template (None without tools).

    Raises:
        Unsupported: tools asked of a template that has no tool support.
    """
    if not tools:
        return None
    from engines.backends.toolparse import detect_style

    style = detect_style(getattr(tokenizer, "chat_template", None))
    if style is None:
        raise errors.Unsupported(
            f"The chat template of '{ref.display}' takes no tools, so it can't call them. Pick a model whose template "
            "does (Qwen2.5-Instruct, Llama 3.1/3.2-Instruct, Mistral-Instruct v0.3, Hermes) or an API model.")
    return style


def _stream_local(ref: ModelRef, messages: list[dict], max_new_tokens: int, temperature: float,
                  quantization: str, *, top_p: float | None = None,
                  tools: list[dict] | None = None) -> Iterator[ChatChunk]:
    start = time.perf_counter()
    lm, hit, load_s, quant_notice = load_causal_lm(ref, quantization)
    style = tool_style(lm.tokenizer, tools, ref)
    ids, template_notice = encode_chat(lm.tokenizer, messages, no_system_role=no_system_role(ref), tools=tools)
    window = context_window(ref, lm)
    check_context(len(ids), max_new_tokens, window, ref.display)
    notices = [n for n in (quant_notice, template_notice) if n]
    if notices:
        yield ChatChunk(text="", notice=" ".join(notices))
    stats = GenerationStats(load_s=load_s, ttft_s=0.0, tokens=0, tokens_per_s=0.0, total_s=0.0,
                            prompt_tokens=len(ids), model=ref.display, backend="transformers", device=lm.device,
                            quantization=lm.quantization, memory_bytes=lm.footprint_bytes, cache_hit=hit,
                            context_window=window)
    pieces = generate_stream(lm, ids, max_new_tokens, temperature, stats, top_p=top_p, keep_special=style is not None)
    if style is None:
        for piece in pieces:
            if piece:
                yield ChatChunk(text=piece)
    else:
        from engines.backends.toolparse import ToolStreamFilter

        shown = ToolStreamFilter(style)
        for piece in pieces:
            visible = shown.feed(piece) if piece else ""
            if visible:
                yield ChatChunk(text=visible)
        tail, calls = shown.finish()
        if tail:
            yield ChatChunk(text=tail)
        if calls:
            stats.finish_reason = "tool_calls"
            yield ChatChunk(text="", tool_calls=calls)
    stats.total_s = time.perf_counter() - start
    yield ChatChunk(text="", stats=stats)


def _end_markers(tokenizer) -> tuple[str, ...]:
    own = {getattr(tokenizer, "eos_token", None), getattr(tokenizer, "pad_token", None)}
    return tuple(m for m in set(_ENDERS) | own if m)


def _gpu_seconds(lm, ids, max_new_tokens, *args) -> int:
    return int(min(300, 20 + max_new_tokens * 0.05))


@gpu(duration=_gpu_seconds, model_threads=False)  # generate() itself runs on a model thread (below)
def generate_stream(lm: LoadedLM, ids: list[int] | dict, max_new_tokens: int, temperature: float,
                    stats: GenerationStats, top_p: float | None = None, keep_special: bool = False) -> Iterator[str]:
    """Run ``generate`` in a thread and yield decoded text as each token arrives; fills ``stats`` in place.

    ``ids`` is the prompt's token ids, or a processor's tensors (``input_ids``, ``attention_mask``,
    ``pixel_values`` ...) for an image-text-to-text model.

    ``keep_special`` keeps special tokens in the text (tool-call markers such as ``[TOOL_CALLS]`` are special
    tokens), dropping only the end-of-turn ones. Closing the iterator (the user pressed Stop) stops generation at
    the next token.
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
    streamer = _Streamer(tok, skip_prompt=True, skip_special_tokens=not keep_special, timeout=600)
    enders = _end_markers(tok) if keep_special else ()
    if isinstance(ids, dict):  # a processor's output (image-text-to-text): ids, mask, pixel values ...
        model_inputs = {k: (v.to(lm.model.device, dtype=lm.model.dtype) if v.is_floating_point()
                            else v.to(lm.model.device)) for k, v in ids.items() if hasattr(v, "to")}
    else:
        input_ids = torch.tensor([ids], device=lm.model.device)
        model_inputs = dict(input_ids=input_ids, attention_mask=torch.ones_like(input_ids))
    kwargs = dict(**model_inputs, max_new_tokens=max_new_tokens,
                  streamer=streamer, stopping_criteria=StoppingCriteriaList([_Stop()]),
                  pad_token_id=tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id,
                  do_sample=temperature > 0)
    if temperature > 0:
        kwargs.update(temperature=temperature, top_p=0.95 if top_p is None else top_p)
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
    done = generation_pool().submit(in_this_call(run))
    try:
        for text in streamer:
            for marker in enders:
                text = text.replace(marker, "")
            yield text
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


