"""engines.images.load: pipelines through the cache, one entry per plan; the CUDA load paths (skipped without one)."""

from __future__ import annotations

import numpy as np
import pytest
import tiny_images

from engines import images as im
from engines.images import plan as im_plan

SMALL = {"width": 64, "height": 64, "num_inference_steps": 2}


@pytest.fixture(scope="module")
def flux() -> str:
    return str(tiny_images.build_tiny_flux())


def test_loaded_once_per_plan_through_the_cache(flux, fresh_cache):
    ref, plan, is_flux = im.plan_for(flux)
    loaded, hit, _ = im.load_pipeline(ref, plan, is_flux)
    again, hit2, _ = im.load_pipeline(ref, plan, is_flux)
    assert (hit, hit2) == (False, True) and again is loaded
    assert loaded.flux and loaded.get_memory_footprint() > 0
    assert fresh_cache.get(im._cache_key(ref, plan), lambda: None) is loaded
    other = im.LoadPlan("cpu", "bf16")
    assert im._cache_key(ref, other) != im._cache_key(ref, plan)


def test_patching_the_planner_reaches_generation(flux, fresh_cache, monkeypatch):
    # engines.images re-exports plan_load; the patch goes where plan_for calls it, engines.images.plan
    patched = im.LoadPlan("cpu", "fp32", reason="patched")
    monkeypatch.setattr(im_plan, "plan_load", lambda *a, **k: patched)
    assert im.generate_image("a cat", model=flux, seed=1, **SMALL).plan is patched


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
    monkeypatch.setattr(im_plan, "plan_load", lambda *a, **k: plan)
    calls = []
    a = im.generate_image("a red chair", model=flux, seed=5, on_step=lambda s, t: calls.append(s), **SMALL)
    b = im.generate_image("a red chair", model=flux, seed=5, **SMALL)
    c = im.generate_image("a red chair", model=flux, seed=6, **SMALL)
    assert a.plan == plan and calls == [1, 2]
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert not np.array_equal(np.asarray(a.image), np.asarray(c.image))
    pipe = fresh_cache.get(im._cache_key(im.parse_ref(flux), plan), lambda: None).pipe
    if plan.quantized:
        for name in plan.quantized:
            assert any(type(m).__name__ == "Linear4bit" for m in getattr(pipe, name).modules()), name
    code = im.code_snippet(a)
    assert ("PipelineQuantizationConfig" in code) == bool(plan.quantized)
    assert ("cpu_offload" in code) == bool(plan.offload)
