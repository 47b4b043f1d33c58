"""Loading a text-to-image pipeline under a LoadPlan, through the model cache (one cache entry per plan)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engines import errors, quant
from engines.cache import CacheKey, model_cache
from engines.images.plan import LoadPlan
from engines.loading import hub_kwargs, map_load_error
from engines.refs import ModelRef


@dataclass
class LoadedPipeline:
    """A loaded diffusers pipeline and how it was loaded."""

    pipe: Any
    plan: LoadPlan
    flux: bool
    footprint_bytes: int
    notice: str | None = None

    def get_memory_footprint(self) -> int:
        """Bytes the weights hold (for the cache budget)."""
        return self.footprint_bytes


def quantization_config(plan: LoadPlan):
    """diffusers' PipelineQuantizationConfig for the plan's 4-bit components (NF4, double quant)."""
    from diffusers.quantizers import PipelineQuantizationConfig

    return PipelineQuantizationConfig(
        quant_backend="bitsandbytes_4bit",
        quant_kwargs=quant.bnb_kwargs("4bit", compute=plan.dtype),
        components_to_quantize=list(plan.quantized))


def load_pipeline(ref: ModelRef, plan: LoadPlan, flux: bool) -> tuple[LoadedPipeline, bool, float]:
    """Load (or fetch from the cache) a text-to-image pipeline under ``plan``.

    Returns:
        (loaded, cache_hit, seconds)
    """
    result = model_cache().get_with_info(_cache_key(ref, plan), lambda: _load(ref, plan, flux))
    return result.value, result.hit, result.seconds


def _cache_key(ref: ModelRef, plan: LoadPlan) -> tuple:
    return CacheKey("diffusers", ref.target, plan.key)


def _load(ref: ModelRef, plan: LoadPlan, flux: bool) -> LoadedPipeline:
    from diffusers import AutoPipelineForText2Image, DiffusionPipeline

    kwargs: dict[str, Any] = {"dtype": quant.torch_dtype(plan.dtype), **hub_kwargs(ref)}
    if plan.quantized:
        kwargs["quantization_config"] = quantization_config(plan)
    try:
        try:
            pipe = AutoPipelineForText2Image.from_pretrained(ref.target, **kwargs)
        except ValueError as exc:  # a pipeline class AutoPipeline does not map: load it as itself
            if "AutoPipeline" not in str(exc):
                raise
            pipe = DiffusionPipeline.from_pretrained(ref.target, **kwargs)
        _check_text_to_image(pipe, ref)
        _place(pipe, plan)
    except errors.WorkbenchError:
        raise
    except Exception as exc:
        raise map_load_error(exc, ref) from exc
    pipe.set_progress_bar_config(disable=True)
    return LoadedPipeline(pipe=pipe, plan=plan, flux=flux or type(pipe).__name__.startswith("Flux"),
                          footprint_bytes=_footprint(pipe))


def _check_text_to_image(pipe: Any, ref: ModelRef) -> None:
    import inspect

    params = inspect.signature(pipe.__call__).parameters
    if "prompt" not in params or "num_inference_steps" not in params or "image" in params:
        raise errors.Unsupported(f"'{ref.display}' is a {type(pipe).__name__}, not a text-to-image pipeline. "
                                 "Choose a text-to-image model such as FLUX.1 [schnell] or SD-Turbo.")


def _place(pipe: Any, plan: LoadPlan) -> None:
    if plan.offload == "model":
        pipe.enable_model_cpu_offload()
    elif plan.offload == "sequential":
        pipe.enable_sequential_cpu_offload()
    elif plan.device != "cpu":
        pipe.to(plan.device)  # on ZeroGPU this is deferred until a decorated call holds the GPU


def _footprint(pipe: Any) -> int:
    import torch

    total = 0
    for module in pipe.components.values():
        if isinstance(module, torch.nn.Module):
            total += sum(t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers()))
    return total
