"""engines.images is a package: every name the code base imports from it is still there."""

from __future__ import annotations

from engines import images as im

USED = ("generate_image", "plan_load", "plan_for", "load_pipeline", "call_kwargs", "code_snippet", "parse_seed",
        "random_seed", "check_prompt", "check_size", "check_steps", "check_seed", "read_png_metadata",
        "suggested_model", "default_model", "components_on_disk", "parse_ref", "ImageResult", "LoadPlan",
        "LoadedPipeline", "MAX_SEED", "MAX_STEPS", "MAX_PROMPT_CHARS", "FLUX_MAX_SEQUENCE", "FLUX_COMPONENTS_B",
        "_cache_key", "_denoise")


def test_every_name_in_use_is_reexported():
    missing = [name for name in USED if not hasattr(im, name)]
    assert not missing and set(im.__all__) >= set(USED)


def test_modules_are_named_after_what_they_do():
    from engines.images import generate, inputs, load, plan, result

    assert im.generate_image is generate.generate_image and im.plan_load is plan.plan_load
    assert im.load_pipeline is load.load_pipeline and im.parse_seed is inputs.parse_seed
    assert im.ImageResult is result.ImageResult
