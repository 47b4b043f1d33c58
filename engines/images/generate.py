"""Generation: the pipeline call's arguments, prompt length, per-step timing, seeded denoising and error mapping.

Generation is seeded with a CPU ``torch.Generator`` so a seed gives the same image on every run (and the same
initial noise on every device).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from engines import errors, registry
from engines.cache import free_memory, model_cache
from engines.config import Settings
from engines.gpu import gpu
from engines.images.inputs import MIN_SIZE, SIZE_MULTIPLE, check_request
from engines.images.load import LoadedPipeline, _cache_key, load_pipeline
from engines.images.plan import LoadPlan, plan_for
from engines.images.result import ImageResult
from engines.loading import _is_oom
from engines.refs import ModelRef

log = logging.getLogger(__name__)

FLUX_MAX_SEQUENCE = 256
_FEW_STEP_MARKERS = ("turbo", "lightning", "lcm", "schnell", "hyper")


def call_kwargs(loaded: LoadedPipeline, ref: ModelRef, prompt: str, steps: int, width: int, height: int,
                guidance_scale: float | None = None) -> dict[str, Any]:
    """The keyword arguments for the pipeline call (FLUX: guidance 0 for schnell, max_sequence_length 256).

    Args:
        loaded: the loaded pipeline.
        ref: its reference (few-step models such as *-turbo get guidance 0).
        prompt: the checked prompt.
        steps: denoising steps.
        width: image width in pixels.
        height: image height in pixels.
        guidance_scale: None = the model's recommended value.

    Returns:
        Keyword arguments for ``pipe(**kwargs)`` (without generator or callbacks).
    """
    kwargs: dict[str, Any] = {"prompt": prompt, "num_inference_steps": steps, "width": width, "height": height}
    if guidance_scale is None:
        guidance_scale = _default_guidance(loaded, ref)
    if guidance_scale is not None:
        kwargs["guidance_scale"] = float(guidance_scale)
    if loaded.flux and "max_sequence_length" in _call_params(loaded.pipe):
        kwargs["max_sequence_length"] = FLUX_MAX_SEQUENCE
    return kwargs


def _call_params(pipe: Any) -> dict:
    import inspect

    return dict(inspect.signature(pipe.__call__).parameters)


def _default_guidance(loaded: LoadedPipeline, ref: ModelRef) -> float | None:
    transformer = getattr(loaded.pipe, "transformer", None)
    if loaded.flux:  # schnell has no guidance embedding and ignores guidance; dev-style models want ~3.5
        return 3.5 if getattr(getattr(transformer, "config", None), "guidance_embeds", False) else 0.0
    if any(marker in ref.name.lower() for marker in _FEW_STEP_MARKERS):
        return 0.0  # distilled few-step models are trained without classifier-free guidance
    default = _call_params(loaded.pipe).get("guidance_scale")
    return float(default.default) if default is not None and isinstance(default.default, int | float) else None


def prompt_length(loaded: LoadedPipeline, prompt: str) -> tuple[int | None, int | None, str | None]:
    """Tokens in the prompt for the pipeline's main text encoder, its limit, and a notice when it is cut.

    Returns:
        (tokens, limit, notice): None values when the pipeline has no tokenizer.
    """
    pipe = loaded.pipe
    tok = getattr(pipe, "tokenizer_2", None) if loaded.flux else None
    tok = tok or getattr(pipe, "tokenizer", None)
    if tok is None:
        return None, None, None
    limit = FLUX_MAX_SEQUENCE if loaded.flux else int(getattr(tok, "model_max_length", 77) or 77)
    count = len(tok(prompt, truncation=False, add_special_tokens=True, verbose=False).input_ids)
    if count <= limit:
        return count, limit, None
    encoder = "T5 encoder" if loaded.flux else "text encoder"
    return count, limit, (f"The prompt is {count} tokens; the {encoder} reads the first {limit}, so the rest was "
                          "ignored. Put what matters first, or shorten it.")


class _StepTimer:
    """A ``callback_on_step_end`` that times each step and reports it to ``on_step(step, total)``."""

    def __init__(self, on_step: Callable[[int, int], Any] | None, total: int):
        self.on_step = on_step
        self.total = total
        self.start = time.perf_counter()
        self.marks: list[float] = []

    def __call__(self, pipe: Any, step: int, timestep: Any, callback_kwargs: dict) -> dict:
        self.marks.append(time.perf_counter())
        if self.on_step is not None:
            self.on_step(step + 1, int(getattr(pipe, "num_timesteps", 0) or self.total))
        return callback_kwargs

    def step_seconds(self) -> list[float]:
        points = [self.start, *self.marks]
        return [b - a for a, b in zip(points, points[1:], strict=False)]


def _gpu_seconds(pipe: Any, kwargs: dict, *args: Any) -> int:
    megapixels = kwargs["width"] * kwargs["height"] / 2**20
    return int(min(300, 15 + kwargs["num_inference_steps"] * 3 * max(megapixels, 0.25)))


@gpu(duration=_gpu_seconds)
def _denoise(pipe: Any, kwargs: dict, seed: int, timer: _StepTimer | None) -> Any:
    """Run the pipeline once; returns a PIL image (never a CUDA tensor: this may run in a ZeroGPU worker)."""
    import torch

    extra: dict[str, Any] = {"generator": torch.Generator("cpu").manual_seed(seed)}
    if timer is not None:
        timer.start = time.perf_counter()
        extra["callback_on_step_end"] = timer
    with torch.inference_mode():
        return pipe(**kwargs, **extra).images[0]


def generate_image(prompt: str, *, model: str | None = None, seed: int | None = None, num_inference_steps: int = 4,
                   width: int = 1024, height: int = 1024, on_step: Callable[[int, int], Any] | None = None,
                   guidance_scale: float | None = None, allow_cpu_large: bool = True,
                   settings: Settings | None = None) -> ImageResult:
    """Generate one image from a prompt, reproducibly.

    Args:
        prompt: what to draw (cut to the text encoder's limit with a notice; FLUX reads 256 T5 tokens).
        model: a diffusers text-to-image pipeline: catalog id, Hub id or local folder; None = FLUX.1 [schnell].
        seed: 0 to 2**32 - 1; None = random (the seed used is in ``.seed``).
        num_inference_steps: 1 to 50 (FLUX.1 [schnell] and SD-Turbo: 1-4).
        width: pixels, a multiple of 16 from 64 to 2048.
        height: pixels, a multiple of 16 from 64 to 2048.
        on_step: called as ``on_step(step, total)`` after each denoising step (step counts from 1).
        guidance_scale: None = the model's recommended value (0 for FLUX.1 [schnell] and turbo models).
        allow_cpu_large: False = refuse a large pipeline (FLUX) on a machine without a GPU instead of running it
            for many minutes.
        settings: the deployment's settings (read from the environment when None).

    Returns:
        ImageResult: ``.image`` (PIL), ``.seed``, ``.seconds`` (generation, load excluded) and how it was made.

    Raises:
        InvalidInput: empty prompt, size, steps or seed out of range.
        Unsupported: not a text-to-image pipeline, or a large pipeline on CPU with ``allow_cpu_large=False``.
        OutOfMemory: the GPU ran out of memory (cached models are freed; the app keeps serving).
    """
    prompt, seed = check_request(prompt, num_inference_steps, width, height, seed)
    ref, plan, flux = _planned(model, allow_cpu_large, settings)
    loaded, hit, load_s = load_pipeline(ref, plan, flux)
    kwargs = call_kwargs(loaded, ref, prompt, num_inference_steps, width, height, guidance_scale)
    tokens, limit, notice = prompt_length(loaded, prompt)
    timer = _StepTimer(on_step, num_inference_steps)
    start = time.perf_counter()
    try:
        image = _denoise(loaded.pipe, kwargs, seed, timer)
    except Exception as exc:
        raise _generation_error(exc, ref, plan, width, height) from exc
    seconds = time.perf_counter() - start
    return ImageResult(image=image, seed=seed, seconds=seconds, prompt=prompt, model=ref.display,
                       model_ref=ref.raw, steps=num_inference_steps, width=width, height=height,
                       guidance_scale=float(kwargs.get("guidance_scale", 0.0)),
                       max_sequence_length=kwargs.get("max_sequence_length"), pipeline=type(loaded.pipe).__name__,
                       plan=plan, load_s=load_s, cache_hit=hit, step_seconds=timer.step_seconds(),
                       prompt_tokens=tokens, prompt_token_limit=limit,
                       notices=[n for n in (loaded.notice, notice) if n])


def _planned(model: str | None, allow_cpu_large: bool,
             settings: Settings | None = None) -> tuple[ModelRef, LoadPlan, bool]:
    """``plan_for(model)``, refusing a large pipeline on CPU unless ``allow_cpu_large``."""
    ref, plan, flux = plan_for(model, settings)
    if plan.slow and not allow_cpu_large:
        raise errors.Unsupported(
            f"{ref.display} needs a GPU: {plan.reason} Choose {registry.default_for('image', 'cpu')} (made for CPU), "
            "or allow large models on CPU to run it anyway.")
    return ref, plan, flux


def _generation_error(exc: BaseException, ref: ModelRef, plan: LoadPlan, width: int,
                      height: int) -> errors.WorkbenchError:
    if isinstance(exc, errors.WorkbenchError):
        return exc
    if _is_oom(exc):
        cache = model_cache()
        keep = _cache_key(ref, plan)
        for key in cache.keys():
            if key != keep:
                cache.evict(key)
        free_memory()
        smaller = max(MIN_SIZE, int(math.sqrt(width * height / 2)) // SIZE_MULTIPLE * SIZE_MULTIPLE)
        return errors.OutOfMemory(
            f"Out of memory generating {width}×{height} with {ref.display} ({plan.label}). Other cached models were "
            f"unloaded; try a smaller size (e.g. {smaller}×{smaller}), one image at a time, or a smaller model.")
    log.error("image generation failed", exc_info=exc)
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    return errors.WorkbenchError(f"{ref.display} failed while generating: {line}")
