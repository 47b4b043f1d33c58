"""engines.images on tiny FLUX and Stable Diffusion pipelines built offline and loaded through from_pretrained."""

from __future__ import annotations

import numpy as np
import pytest
import tiny_images

from engines import errors
from engines import images as im

GiB = 2**30
SMALL = {"width": 64, "height": 64, "num_inference_steps": 2}


@pytest.fixture(scope="module")
def flux() -> str:
    return str(tiny_images.build_tiny_flux())


@pytest.fixture(scope="module")
def sd() -> str:
    return str(tiny_images.build_tiny_sd())


def pixels(result: im.ImageResult) -> np.ndarray:
    return np.asarray(result.image)


def test_same_seed_same_image_different_seed_different(flux):
    a = im.generate_image("a red chair", model=flux, seed=42, **SMALL)
    b = im.generate_image("a red chair", model=flux, seed=42, **SMALL)
    c = im.generate_image("a red chair", model=flux, seed=43, **SMALL)
    assert a.image.size == (64, 64) and a.image.mode == "RGB"
    assert np.array_equal(pixels(a), pixels(b))
    assert not np.array_equal(pixels(a), pixels(c))
    assert (a.seed, b.seed, c.seed) == (42, 42, 43)
    assert b.cache_hit and a.pipeline == "FluxPipeline"
    assert a.guidance_scale == 0.0 and a.max_sequence_length == im.FLUX_MAX_SEQUENCE
    assert not a.plan.quantized and not a.plan.slow


def test_random_seed_is_reported_and_reproduces(flux):
    a = im.generate_image("a lake", model=flux, **SMALL)
    assert isinstance(a.seed, int) and 0 <= a.seed <= im.MAX_SEED
    b = im.generate_image("a lake", model=flux, seed=a.seed, **SMALL)
    assert np.array_equal(pixels(a), pixels(b))


def test_progress_once_per_step_and_timings(flux):
    calls = []
    r = im.generate_image("a boat", model=flux, seed=1, width=64, height=96, num_inference_steps=4,
                          on_step=lambda step, total: calls.append((step, total)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert r.image.size == (64, 96)
    assert len(r.step_seconds) == 4 and all(s > 0 for s in r.step_seconds)
    assert 0 < r.seconds_per_step <= r.seconds


def test_png_metadata_round_trips(flux, tmp_path):
    r = im.generate_image("a café, «naïve» ünïcode", model=flux, seed=im.MAX_SEED, **SMALL)
    path = r.save_png(tmp_path / "x.png")
    meta = im.read_png_metadata(path)
    assert meta["prompt"] == "a café, «naïve» ünïcode"
    assert int(meta["seed"]) == im.MAX_SEED
    assert (meta["steps"], meta["width"], meta["height"]) == ("2", "64", "64")
    assert meta["model"] == "tiny-flux" and meta["pipeline"] == "FluxPipeline"
    assert f"Seed: {im.MAX_SEED}" in meta["parameters"]
    assert im.read_png_metadata(r.png_bytes()) == meta
    from PIL import Image

    with Image.open(path) as img:  # full resolution, lossless
        assert img.size == (64, 64) and np.array_equal(np.asarray(img.convert("RGB")), pixels(r))


def test_show_code_reproduces_the_image(flux):
    r = im.generate_image("a lighthouse", model=flux, seed=7, **SMALL)
    code = im.code_snippet(r)
    assert "FluxPipeline.from_pretrained" in code and "manual_seed(7)" in code and "max_sequence_length=256" in code
    namespace: dict = {}
    exec(code.replace('image.save("image.png")', ""), namespace)  # noqa: S102  (our own generated code)
    assert np.array_equal(np.asarray(namespace["image"]), pixels(r))


def test_stable_diffusion_pipeline_also_works(sd):
    calls = []
    a = im.generate_image("a cat", model=sd, seed=3, on_step=lambda s, t: calls.append(s), **SMALL)
    b = im.generate_image("a cat", model=sd, seed=3, **SMALL)
    assert a.pipeline == "StableDiffusionPipeline" and a.max_sequence_length is None
    assert np.array_equal(pixels(a), pixels(b)) and calls == [1, 2]


def test_long_prompt_is_truncated_with_a_notice(flux, sd):
    long = "a small robot reading a book in a library " * 60
    r = im.generate_image(long, model=flux, seed=1, **SMALL)
    assert r.prompt_tokens > im.FLUX_MAX_SEQUENCE
    assert any(str(im.FLUX_MAX_SEQUENCE) in n for n in r.notices)
    r = im.generate_image(long, model=sd, seed=1, **SMALL)
    assert any("77" in n for n in r.notices)
    assert not im.generate_image("a cat", model=sd, seed=1, **SMALL).notices


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"prompt": ""}, "prompt is empty"),
    ({"prompt": "   \n"}, "prompt is empty"),
    ({"prompt": "x" * (im.MAX_PROMPT_CHARS + 1)}, "characters"),
    ({"width": 100}, "not a multiple of 16"),
    ({"height": 32}, "out of range"),
    ({"width": 4096}, "out of range"),
    ({"num_inference_steps": 0}, "Steps"),
    ({"num_inference_steps": im.MAX_STEPS + 1}, "Steps"),
    ({"seed": -1}, "negative"),
    ({"seed": 2**32}, "too large"),
    ({"seed": 10**30}, "too large"),
    ({"model": "openai:gpt-4o-mini"}, "API model"),
    ({"model": "https://huggingface.co/black-forest-labs/FLUX.1-schnell"}, "URL"),
])
def test_bad_inputs_rejected_before_loading(flux, kwargs, match, fresh_cache):
    args = {"prompt": "a cat", "model": flux, **SMALL, **kwargs}
    with pytest.raises(errors.WorkbenchError, match=match):
        im.generate_image(args.pop("prompt"), **args)
    assert len(fresh_cache) == 0  # nothing was loaded for a bad request


def test_not_a_text_to_image_folder(tiny):
    with pytest.raises(errors.WorkbenchError) as info:
        im.generate_image("a cat", model=str(tiny["lm-llama"]), **SMALL)
    assert "Traceback" not in str(info.value)


def test_flux_on_cpu_refused_unless_allowed():
    # the catalog id, not on disk: planned from the catalog's sizes before any download
    with pytest.raises(errors.Unsupported, match="needs a GPU"):
        im.generate_image("a cat", model="black-forest-labs/FLUX.1-schnell", allow_cpu_large=False, **SMALL)


@pytest.mark.parametrize(("value", "expected"), [
    ("", None), (None, None), ("  ", None), ("0", 0), ("4294967295", 4294967295), (" 1_000 ", 1000),
    (123, 123), (7.0, 7),
])
def test_parse_seed(value, expected):
    assert im.parse_seed(value) == expected


@pytest.mark.parametrize("value", ["-1", "4294967296", "abc", "1.5", 1.5, True, 2.0**60, "99999999999999999999"])
def test_parse_seed_rejects(value):
    with pytest.raises(errors.InvalidInput):
        im.parse_seed(value)


# --------------------------------------------------------------------------- the load plan (pure)
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


def test_components_measured_from_disk(flux):
    from pathlib import Path

    sizes = im.components_on_disk(Path(flux))
    assert set(sizes) == {"transformer", "text_encoder", "text_encoder_2", "vae"}
    assert all(0 < b < 0.01 for b in sizes.values())
    ref, plan, is_flux = im.plan_for(flux)
    assert is_flux and not plan.slow and plan.quantized == ()


# --------------------------------------------------------------------------- CUDA load paths (skipped without one)
GPU_PLANS = [
    im.LoadPlan("cuda", "bf16"),
    im.LoadPlan("cuda", "bf16", ("transformer", "text_encoder_2")),
    im.LoadPlan("cuda", "bf16", ("transformer", "text_encoder_2"), "model"),
    im.LoadPlan("cuda", "bf16", (), "model"),
    im.LoadPlan("cuda", "bf16", (), "sequential"),
]


@pytest.mark.gpu
@pytest.mark.parametrize("plan", GPU_PLANS, ids=lambda p: p.label)
def test_cuda_load_paths(flux, plan, monkeypatch, fresh_cache):
    monkeypatch.setattr(im, "plan_load", lambda *a, **k: plan)
    calls = []
    a = im.generate_image("a red chair", model=flux, seed=5, on_step=lambda s, t: calls.append(s), **SMALL)
    b = im.generate_image("a red chair", model=flux, seed=5, **SMALL)
    c = im.generate_image("a red chair", model=flux, seed=6, **SMALL)
    assert a.plan == plan and calls == [1, 2]
    assert np.array_equal(pixels(a), pixels(b)) and not np.array_equal(pixels(a), pixels(c))
    pipe = fresh_cache.get(im._cache_key(im.parse_ref(flux), plan), lambda: None).pipe
    if plan.quantized:
        for name in plan.quantized:
            assert any(type(m).__name__ == "Linear4bit" for m in getattr(pipe, name).modules()), name
    code = im.code_snippet(a)
    assert ("PipelineQuantizationConfig" in code) == bool(plan.quantized)
    assert ("cpu_offload" in code) == bool(plan.offload)


@pytest.mark.gpu
def test_cuda_out_of_memory_is_reported_and_recovers(flux, fresh_cache):
    import torch

    im.generate_image("a cat", model=flux, seed=1, **SMALL)
    torch.cuda.set_per_process_memory_fraction(0.0001)
    try:
        with pytest.raises(errors.OutOfMemory, match="smaller size"):
            im.generate_image("a cat", model=flux, seed=1, width=2048, height=2048, num_inference_steps=1)
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
    assert im.generate_image("a cat", model=flux, seed=1, **SMALL).image.size == (64, 64)


def test_out_of_memory_frees_the_cache_and_says_what_to_lower(flux, fresh_cache, monkeypatch):
    import torch

    fresh_cache.get(("other", "model"), lambda: object())
    im.generate_image("a cat", model=flux, seed=1, **SMALL)

    def oom(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(im, "_denoise", oom)
    with pytest.raises(errors.OutOfMemory, match="smaller size") as info:
        im.generate_image("a cat", model=flux, seed=1, width=2048, height=2048)
    assert "1440×1440" in str(info.value)
    assert ("other", "model") not in fresh_cache and len(fresh_cache) == 1  # the image model stays loaded
    monkeypatch.undo()
    assert im.generate_image("a cat", model=flux, seed=1, **SMALL).image.size == (64, 64)


def test_hub_id_not_available_offline(fresh_cache):
    with pytest.raises(errors.HubUnreachable):
        im.generate_image("a cat", model="no-such-org/no-such-pipeline", **SMALL)
