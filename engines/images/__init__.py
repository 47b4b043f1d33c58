"""Text-to-image with diffusers: FLUX.1-schnell by default, any diffusers text-to-image pipeline by reference.

How a pipeline is loaded is decided by ``plan_load`` (a pure function of the device, the GPU memory and the size of
the pipeline's components): bf16 on the GPU when it fits, else the FLUX transformer and T5 encoder in 4-bit NF4
(diffusers' ``PipelineQuantizationConfig`` + bitsandbytes), else CPU offload; fp32 on CPU for small models.
Generation is seeded with a CPU ``torch.Generator`` so a seed gives the same image on every run (and the same
initial noise on every device). Every PNG carries its prompt, seed, steps, size and model in its metadata.

Modules, named after what they do: ``result`` (ImageResult, PNG metadata), ``inputs`` (validation), ``plan`` (load
planning), ``load`` (loading through the cache), ``generate`` (the call, timing, errors); the "show code" builder is
``engines.snippets.images``. This package re-exports their public names, so ``engines.images.X`` keeps working. A
test that monkeypatches a function patches it in the submodule that uses it (``engines.images.plan.plan_load``,
``engines.images.generate._denoise``): patching the re-export here would not reach the caller.
"""

from __future__ import annotations

from engines.images.generate import (
    FLUX_MAX_SEQUENCE,
    _denoise,
    _generation_error,
    _StepTimer,
    call_kwargs,
    generate_image,
    prompt_length,
)
from engines.images.inputs import (
    MAX_PROMPT_CHARS,
    MAX_SEED,
    MAX_SIZE,
    MAX_STEPS,
    MIN_SIZE,
    SIZE_MULTIPLE,
    check_prompt,
    check_request,
    check_seed,
    check_size,
    check_steps,
    parse_seed,
    random_seed,
)
from engines.images.load import LoadedPipeline, _cache_key, load_pipeline, quantization_config
from engines.images.plan import (
    CPU_LARGE_B,
    FLUX_COMPONENTS_B,
    FLUX_QUANTIZED,
    GiB,
    LoadPlan,
    components_on_disk,
    default_model,
    is_flux,
    pipeline_class,
    plan_for,
    plan_load,
    suggested_model,
)
from engines.images.result import ImageResult, read_png_metadata
from engines.refs import parse_ref
from engines.snippets.images import code_snippet

__all__ = [
    "CPU_LARGE_B", "FLUX_COMPONENTS_B", "FLUX_MAX_SEQUENCE", "FLUX_QUANTIZED", "GiB", "ImageResult", "LoadPlan",
    "LoadedPipeline", "MAX_PROMPT_CHARS", "MAX_SEED", "MAX_SIZE", "MAX_STEPS", "MIN_SIZE", "SIZE_MULTIPLE",
    "_StepTimer", "_cache_key", "_denoise", "_generation_error", "call_kwargs", "check_prompt", "check_request",
    "check_seed", "check_size", "check_steps", "code_snippet", "components_on_disk", "default_model",
    "generate_image", "is_flux", "load_pipeline", "parse_ref", "parse_seed", "pipeline_class", "plan_for",
    "plan_load", "prompt_length", "quantization_config", "random_seed", "read_png_metadata", "suggested_model",
]
