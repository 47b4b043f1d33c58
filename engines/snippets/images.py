"""Snippet for the Images tab: plain diffusers code that reproduces one generated image."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from engines import quant

if TYPE_CHECKING:
    from engines.images import ImageResult

_PLACEMENT = {"model": "pipe.enable_model_cpu_offload()", "sequential": "pipe.enable_sequential_cpu_offload()"}


def _quantization_lines(components: tuple[str, ...], dtype: str) -> list[str]:
    """Source lines that define ``quant``: diffusers' PipelineQuantizationConfig for 4-bit NF4 components."""
    kwargs = ", ".join(f'"{k}": {json.dumps(v) if isinstance(v, str) else repr(v)}'
                       for k, v in quant.NF4_KWARGS.items())
    return ["from diffusers.quantizers import PipelineQuantizationConfig", "",
            "quant = PipelineQuantizationConfig(",
            '    quant_backend="bitsandbytes_4bit",',
            f'    quant_kwargs={{{kwargs}, "bnb_4bit_compute_dtype": {dtype}}},',
            f"    components_to_quantize={list(components)!r},", ")"]


def code_snippet(result: ImageResult) -> str:
    """Plain diffusers code that reproduces ``result`` (same pipeline, dtype, placement, arguments and seed).

    Args:
        result: what ``engines.images.generate_image`` returned.

    Returns:
        Python source. The model is the reference as the user gave it (a Hub id stays a Hub id, never the server's
        folder for it).
    """
    plan = result.plan
    device, dtype_name = (plan.device, plan.dtype) if plan else ("cpu", "fp32")
    quantized, offload = (plan.quantized, plan.offload) if plan else ((), None)
    dtype = quant.snippet(dtype_name)[1].removeprefix("dtype=")
    cls = result.pipeline or "AutoPipelineForText2Image"
    lines = ["import torch", f"from diffusers import {cls}"]
    load_extra = ""
    if quantized:
        lines += _quantization_lines(quantized, dtype)
        load_extra = ", quantization_config=quant"
    lines += ["", f"pipe = {cls}.from_pretrained({result.model_ref or result.model!r}, dtype={dtype}{load_extra})"]
    if offload:
        lines.append(_PLACEMENT[offload])
    elif device != "cpu":
        lines.append(f'pipe.to("{device}")')
    args = [f"prompt={result.prompt!r}", f"num_inference_steps={result.steps}",
            f"guidance_scale={result.guidance_scale!r}", f"width={result.width}", f"height={result.height}"]
    if result.max_sequence_length:
        args.append(f"max_sequence_length={result.max_sequence_length}")
    args.append(f'generator=torch.Generator("cpu").manual_seed({result.seed})')
    lines += ["image = pipe(", *(f"    {a}," for a in args), ").images[0]", 'image.save("image.png")']
    return "\n".join(lines) + "\n"
