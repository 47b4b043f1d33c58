"""engines.images.plan: the load plan (pure) by GPU memory, and pipeline sizes read from safetensors headers."""

from __future__ import annotations

from pathlib import Path

import pytest
import tiny_images

from engines import images as im

GiB = 2**30
FLUX = im.FLUX_COMPONENTS_B


@pytest.mark.parametrize(("gpu_gib", "quantized", "offload"), [
    (80, (), None),                                        # A100/H100 80 GB: bf16, all on the GPU
    (48, (), None),                                        # L40S / A6000 48 GB: still fits
    (24, ("transformer", "text_encoder_2"), None),         # RTX 4090 / A10G: 4-bit transformer + T5
    (16, ("transformer", "text_encoder_2"), None),         # 16 GB: 4-bit still fits
    (12, ("transformer", "text_encoder_2"), "model"),      # 12 GB: 4-bit + one component at a time
    (6, ("transformer", "text_encoder_2"), "sequential"),  # tiny GPU: layer-by-layer offload
])
def test_plan_flux_by_gpu_memory(gpu_gib, quantized, offload):
    plan = im.plan_load("cuda", FLUX, gpu_bytes=gpu_gib * GiB, flux=True)
    assert (plan.device, plan.dtype, plan.quantized, plan.offload) == ("cuda", "bf16", quantized, offload)
    assert plan.reason and plan.label.endswith("CUDA")


def test_plan_without_bitsandbytes_offloads_instead():
    plan = im.plan_load("cuda", FLUX, gpu_bytes=32 * GiB, flux=True, bnb=False)
    assert plan.quantized == () and plan.offload == "model"
    plan = im.plan_load("cuda", FLUX, gpu_bytes=16 * GiB, flux=True, bnb=False)
    assert plan.offload == "sequential"


def test_plan_other_cases():
    assert im.plan_load("cuda", FLUX, gpu_bytes=80 * GiB, flux=True, bf16_ok=False).dtype == "fp16"
    assert im.plan_load("cuda", None, gpu_bytes=8 * GiB).offload is None  # unknown size: try it on the GPU
    sd_turbo = {"unet": 0.866, "text_encoder": 0.34, "vae": 0.084}
    assert im.plan_load("cuda", sd_turbo, gpu_bytes=8 * GiB).quantized == ()
    cpu = im.plan_load("cpu", FLUX, flux=True)
    assert cpu.slow and cpu.dtype == "bf16" and "GPU" in cpu.reason
    small = im.plan_load("cpu", sd_turbo)
    assert not small.slow and small.dtype == "fp32"
    assert im.plan_load("mps", FLUX, flux=True).device == "mps"
    assert "4-bit NF4" in im.plan_load("cuda", FLUX, gpu_bytes=24 * GiB, flux=True).label


def test_components_measured_from_disk():
    flux = tiny_images.build_tiny_flux()
    sizes = im.components_on_disk(Path(flux))
    assert set(sizes) == {"transformer", "text_encoder", "text_encoder_2", "vae"}
    assert all(0 < b < 0.01 for b in sizes.values())
    ref, plan, is_flux = im.plan_for(str(flux))
    assert is_flux and not plan.slow and plan.quantized == ()
    assert im.pipeline_class(ref) == "FluxPipeline"


def test_flux_recognised_without_a_folder():
    ref = im.parse_ref("black-forest-labs/FLUX.1-schnell")
    assert im.is_flux(ref) and im.pipeline_class(ref) is None
    assert not im.is_flux(im.parse_ref("stabilityai/sd-turbo"))
    assert im.default_model() == "black-forest-labs/FLUX.1-schnell"
