"""The Images tab through its API (gradio_client against the served app; catalog ids → tiny pipelines)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tiny_images
from gradio_client.exceptions import AppError
from PIL import Image

from engines import images as im

FLUX = "black-forest-labs/FLUX.1-schnell"
SD = "stabilityai/sd-turbo"


@pytest.fixture(scope="module")
def image_models(models_dir):
    """The app's models dir with the catalog's image ids linked to the tiny pipelines."""
    return tiny_images.link_into_models_dir(models_dir)


def generate(client, prompt="a red chair", model=FLUX, seed="", randomize=False, steps=2, width=64, height=64,
             n=1, force=False):
    status, *outputs = client.predict(prompt, model, seed, randomize, steps, width, height, n, force,
                                      api_name="/generate_image")
    assert "data-state='done'" in status or "data-state='warning'" in status
    return outputs


def test_generate_large_seed_round_trips_exactly(client, image_models):
    gallery, seeds, stats, files, code, notebook, meta = generate(client, seed="4294967295", n=2)
    assert notebook.endswith(".ipynb") and "4294967295" in Path(notebook).read_text()
    assert seeds == "4294967295, 0"  # seed + 1 wraps around to 0
    assert len(files) == 2 and len(gallery) >= 2
    assert [g["caption"].split(" ")[1] for g in gallery[:2]] == ["4294967295", "0"]
    first = im.read_png_metadata(files[0])
    assert first["seed"] == "4294967295" and first["model"] == FLUX and first["steps"] == "2"
    assert (first["width"], first["height"]) == ("64", "64")
    assert meta["seed"] == "4294967295" and meta["seeds"] == ["4294967295", "0"]
    assert "manual_seed(4294967295)" in code and f"'{FLUX}'" in code
    assert "s/step" in stats and "fp32 · CPU" in stats
    with Image.open(files[0]) as img:
        assert img.size == (64, 64)


def test_same_seed_same_pixels_through_the_ui(client, image_models):
    a = generate(client, seed="1234567890123"[:10])  # 1234567890: above 2**30, below 2**32
    b = generate(client, seed="1234567890")
    c = generate(client, seed="1234567891")
    assert a[1] == b[1] == "1234567890"
    load = [np.asarray(Image.open(r[3][0]).convert("RGB")) for r in (a, b, c)]
    assert np.array_equal(load[0], load[1]) and not np.array_equal(load[0], load[2])


def test_randomize_reports_an_exact_seed(client, image_models):
    _, seeds, _, files, *_ = generate(client, model=SD, seed="5", randomize=True)
    seed = int(seeds)
    assert 0 <= seed <= im.MAX_SEED
    assert im.read_png_metadata(files[0])["seed"] == seeds
    assert im.read_png_metadata(files[0])["pipeline"] == "StableDiffusionPipeline"


def test_gallery_keeps_the_session_images(client, image_models):
    before = len(generate(client)[0])
    after = generate(client, n=2)[0]
    assert len(after) == min(before + 2, 48)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"prompt": ""}, "prompt is empty"),
    ({"width": 100}, "not a multiple of 16"),
    ({"height": 4096}, "out of range"),
    ({"seed": "-5"}, "negative"),
    ({"seed": "4294967296"}, "too large"),
    ({"seed": "12ab"}, "whole number"),
    ({"n": 9}, "outside the allowed range 1 to 4"),
    ({"steps": 0}, "outside the allowed range 1 to 8"),
    ({"model": "openai:gpt-4o-mini"}, "API model"),
    ({"model": "../../etc"}, "'..'"),
])
def test_bad_input_is_specific(client, image_models, kwargs, message):
    with pytest.raises(AppError, match=message) as info:
        generate(client, **kwargs)
    assert "Traceback" not in str(info.value)


def test_plan_endpoint_and_still_serving(client, image_models):
    assert "fp32 · CPU" in client.predict(FLUX, api_name="/image_plan")
    with pytest.raises(AppError):
        generate(client, prompt="")
    assert generate(client, seed="3")[1] == "3"
