"""engines.images.generate on tiny FLUX and Stable Diffusion pipelines built offline, loaded through from_pretrained:
seeds, progress, prompt length, refusals before loading, and errors."""

from __future__ import annotations

import numpy as np
import pytest
import tiny_images

from engines import errors
from engines import images as im
from engines.images import generate

SMALL = {"width": 64, "height": 64, "num_inference_steps": 2}


@pytest.fixture(scope="module")
def flux() -> str:
    return str(tiny_images.build_tiny_flux())


@pytest.fixture(scope="module")
def sd() -> str:
    return str(tiny_images.build_tiny_sd())


def pixels(result: im.ImageResult) -> np.ndarray:
    return np.asarray(result.image)


@pytest.mark.slow
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

    # patched where generate_image calls it (the submodule), not on the package's re-export
    monkeypatch.setattr(generate, "_denoise", oom)
    with pytest.raises(errors.OutOfMemory, match="smaller size") as info:
        im.generate_image("a cat", model=flux, seed=1, width=2048, height=2048)
    assert "1440×1440" in str(info.value)
    assert ("other", "model") not in fresh_cache and len(fresh_cache) == 1  # the image model stays loaded
    monkeypatch.undo()
    assert im.generate_image("a cat", model=flux, seed=1, **SMALL).image.size == (64, 64)


def test_other_generation_errors_are_named_without_a_traceback(flux, fresh_cache, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("shape mismatch in the scheduler\nTraceback (most recent call last): ...")

    monkeypatch.setattr(generate, "_denoise", broken)
    with pytest.raises(errors.WorkbenchError, match="tiny-flux failed while generating: shape mismatch") as info:
        im.generate_image("a cat", model=flux, seed=1, **SMALL)
    assert "Traceback" not in str(info.value)


def test_hub_id_not_available_offline(fresh_cache):
    with pytest.raises(errors.HubUnreachable):
        im.generate_image("a cat", model="no-such-org/no-such-pipeline", **SMALL)
