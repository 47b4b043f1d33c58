"""engines.images.result: the PNG carries the run's prompt, seed, steps, size and model, and reads back."""

from __future__ import annotations

import numpy as np
import tiny_images

from engines import images as im


def test_png_metadata_round_trips(tmp_path):
    flux = str(tiny_images.build_tiny_flux())
    r = im.generate_image("a café, «naïve» ünïcode", model=flux, seed=im.MAX_SEED, width=64, height=64,
                          num_inference_steps=2)
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
        assert img.size == (64, 64) and np.array_equal(np.asarray(img.convert("RGB")), np.asarray(r.image))


def test_metadata_without_generating():
    from PIL import Image

    r = im.ImageResult(image=Image.new("RGB", (16, 16)), seed=3, seconds=0.5, prompt="p", model="m", steps=2,
                       width=16, height=16, guidance_scale=0.0, pipeline="X", step_seconds=[0.4, 0.1, 0.3])
    assert r.seconds_per_step == 0.2  # the first step (text encoding) left out
    assert "max_sequence_length" not in r.metadata and r.metadata["guidance_scale"] == "0"
    assert im.read_png_metadata(r.png_bytes())["parameters"].startswith("p\nSteps: 2, Pipeline: X")
