"""engines.snippets.images (re-exported as engines.images.code_snippet): diffusers code that reproduces an image."""

from __future__ import annotations

import numpy as np
import pytest
import tiny_images

from engines import gpu
from engines import images as im
from engines.snippets import images as snippet

SMALL = {"width": 64, "height": 64, "num_inference_steps": 2}
PLANS = [None, im.LoadPlan("cpu", "fp32"), im.LoadPlan("cuda", "bf16"), im.LoadPlan("mps", "fp16"),
         im.LoadPlan("cuda", "bf16", ("transformer", "text_encoder_2")),
         im.LoadPlan("cuda", "fp16", ("transformer",), "model"), im.LoadPlan("cuda", "bf16", (), "sequential")]


def test_reexported_under_the_old_name():
    assert im.code_snippet is snippet.code_snippet


@pytest.mark.parametrize("plan", PLANS, ids=lambda p: p.label if p else "no plan")
@pytest.mark.parametrize("model_ref", ["/models/tiny-flux", "black-forest-labs/FLUX.1-schnell"])
def test_snippet_compiles_for_a_local_folder_and_a_hub_id(plan, model_ref):
    result = im.ImageResult(image=None, seed=7, seconds=0.1, prompt="a 'quoted' \"cat\"\nsecond line", model="m",
                            model_ref=model_ref, steps=4, width=64, height=96, max_sequence_length=256,
                            pipeline="FluxPipeline", plan=plan)
    code = snippet.code_snippet(result)
    compile(code, "snippet", "exec")
    assert f"FluxPipeline.from_pretrained({model_ref!r}" in code and "manual_seed(7)" in code
    assert ("PipelineQuantizationConfig" in code) == bool(plan and plan.quantized)
    assert ("cpu_offload" in code) == bool(plan and plan.offload)
    assert ('pipe.to("cuda")' in code) == bool(plan and plan.device == "cuda" and not plan.offload)
    if plan and plan.quantized:
        assert '"bnb_4bit_quant_type": "nf4"' in code and f"components_to_quantize={list(plan.quantized)!r}" in code


def test_no_pipeline_class_falls_back_to_auto():
    result = im.ImageResult(image=None, seed=1, seconds=0.1, prompt="p", model="stabilityai/sd-turbo", steps=1,
                            width=512, height=512)
    code = snippet.code_snippet(result)
    compile(code, "snippet", "exec")
    assert "AutoPipelineForText2Image.from_pretrained('stabilityai/sd-turbo', dtype=torch.float32)" in code


@pytest.mark.parametrize("build", [tiny_images.build_tiny_flux, tiny_images.build_tiny_sd], ids=["flux", "sd"])
def test_show_code_reproduces_the_image(build):
    r = im.generate_image("a lighthouse", model=str(build()), seed=7, **SMALL)
    code = im.code_snippet(r)
    assert f"{r.pipeline}.from_pretrained" in code and "manual_seed(7)" in code
    assert ("max_sequence_length=256" in code) == (r.pipeline == "FluxPipeline")
    namespace: dict = {}
    # run where the app computed (a model thread): in the whole suite the worker's main thread may compute with another
    # torch thread count, and float sums in another order round differently (a few pixels off by one)
    gpu.run_on_model_threads(exec, code.replace('image.save("image.png")', ""), namespace)
    assert np.array_equal(np.asarray(namespace["image"]), np.asarray(r.image))


def test_a_hub_id_served_from_the_models_dir_stays_a_hub_id(models_dir, monkeypatch):
    tiny_images.link_into_models_dir(models_dir)
    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(models_dir))
    r = im.generate_image("a cat", model="stabilityai/sd-turbo", seed=1, **SMALL)
    code = im.code_snippet(r)
    assert "from_pretrained('stabilityai/sd-turbo'" in code and str(models_dir) not in code
