"""Local image-text-to-text chat: a vision-language model sees the images attached in the chat.

The model and its processor load through ``engines.loading.load_vlm`` (cached like the causal LMs); the prompt is
the processor's chat template (``apply_chat_template(..., tokenize=True, return_dict=True)``), which puts the image
tokens in and returns the pixel values; generation streams through the same generate thread as text chat
(``transformers_local.generate_stream``). Text-only messages to such a model take the same path.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from engines import errors
from engines.backends.types import ChatChunk, GenerationStats
from engines.chat import check_context, context_window
from engines.loading import load_vlm
from engines.redact import redact
from engines.refs import ModelRef


def processor_messages(messages: list[dict]) -> list[dict]:
    """Messages as processors' chat templates take them: every content a list of parts (``{"type": "text",
    "text"}`` / ``{"type": "image", "path"}``), since those templates loop over the parts."""
    out = []
    for m in messages:
        content = m.get("content")
        parts = [dict(p) for p in content] if isinstance(content, list) else [{"type": "text", "text": content or ""}]
        out.append({"role": m["role"], "content": parts})
    return out


def check_images(messages: list[dict]) -> None:
    """Open every image part once, before the template does (its error would say "Incorrect image source").

    Raises:
        InvalidInput: a missing file or one that is not an image (named by its file name only).
    """
    from PIL import Image, UnidentifiedImageError

    for m in messages:
        for part in m["content"] if isinstance(m.get("content"), list) else []:
            if part.get("type") != "image":
                continue
            path = Path(part["path"])
            try:
                with Image.open(path) as img:
                    img.verify()
            except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as exc:
                why = "no such file" if not path.is_file() else f"not a readable image ({type(exc).__name__})"
                raise errors.InvalidInput(f"An image in the chat could not be read: '{path.name}' is {why}.") from exc


def encode_vision_chat(lm, messages: list[dict], ref: ModelRef) -> dict:
    """The processor's tensors for a chat prompt (with the generation prompt): input ids with the image tokens
    inserted, attention mask, pixel values when there are images.

    Raises:
        InvalidInput: an image that can't be read (``check_images``).
        ModelLoadError: the processor has no chat template, or it fails on these messages.
    """
    check_images(messages)
    processor = lm.processor
    if not getattr(processor, "chat_template", None):
        raise errors.ModelLoadError(f"'{ref.display}' has no chat template in its processor, so it can't chat.")
    try:
        return processor.apply_chat_template(processor_messages(messages), add_generation_prompt=True,
                                             tokenize=True, return_dict=True, return_tensors="pt")
    except Exception as exc:
        raise errors.ModelLoadError(f"The chat template of '{ref.display}' failed on these messages: "
                                    f"{type(exc).__name__}: {redact(str(exc))[:300]}") from exc


def stream_vision(ref: ModelRef, messages: list[dict], max_new_tokens: int, temperature: float,
                  quantization: str, *, top_p: float | None = None) -> Iterator[ChatChunk]:
    """Stream a chat reply from a local image-text-to-text model; the last chunk carries the stats."""
    from engines.backends.transformers_local import generate_stream

    start = time.perf_counter()
    lm, hit, load_s, notice = load_vlm(ref, quantization)
    inputs = encode_vision_chat(lm, messages, ref)
    prompt_tokens = int(inputs["input_ids"].shape[-1])
    window = context_window(ref, lm)
    check_context(prompt_tokens, max_new_tokens, window, ref.display)
    if notice:
        yield ChatChunk(text="", notice=notice)
    stats = GenerationStats(load_s=load_s, ttft_s=0.0, tokens=0, tokens_per_s=0.0, total_s=0.0,
                            prompt_tokens=prompt_tokens, model=ref.display, backend="transformers",
                            device=lm.device, quantization=lm.quantization, memory_bytes=lm.footprint_bytes,
                            cache_hit=hit, context_window=window)
    for piece in generate_stream(lm, dict(inputs), max_new_tokens, temperature, stats, top_p=top_p):
        if piece:
            yield ChatChunk(text=piece)
    stats.total_s = time.perf_counter() - start
    yield ChatChunk(text="", stats=stats)


def vision_chat_code(model: str, messages: list[dict], *, quantization: str = "fp32", max_new_tokens: int = 256,
                     temperature: float = 0.0) -> str:
    """Plain transformers code that runs one image-text-to-text chat as ``stream_vision`` does (processor chat
    template with the image parts, greedy at temperature 0); the reply ends up in ``text``."""
    import json

    from engines import quant

    extra, kwargs = quant.snippet(quantization)
    names = ", ".join(n for n in ("AutoModelForImageTextToText", "AutoProcessor", extra) if n)
    device = "" if quantization in quant.BNB else ", device_map='auto'"
    sampling = (f"do_sample=True, temperature={temperature}, top_p=0.95)  # sampled: each run differs"
                if temperature > 0 else "do_sample=False)  # greedy")
    msgs = json.dumps(processor_messages(messages), indent=4, ensure_ascii=False)
    return (f"import torch\nfrom transformers import {names}\n\n"
            f"model_id = {model!r}\nprocessor = AutoProcessor.from_pretrained(model_id)\n"
            f"model = AutoModelForImageTextToText.from_pretrained(model_id, {kwargs}{device}).eval()\n"
            f"messages = {msgs}\n"
            "inputs = processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,\n"
            "                                       return_dict=True, return_tensors='pt').to(model.device)\n"
            "if 'pixel_values' in inputs:\n    inputs['pixel_values'] = inputs['pixel_values'].to(model.dtype)\n"
            f"out = model.generate(**inputs, max_new_tokens={max_new_tokens}, {sampling}\n"
            "text = processor.decode(out[0, inputs['input_ids'].shape[1]:], skip_special_tokens=True)\n"
            "print(text)\n")
