"""engines.pipelines.image: text to image through the image engine."""

from __future__ import annotations

import ast

from tiny_pipelines import catalog, pl_models  # noqa: F401  (fixtures)

from engines.pipelines import run_task


def test_text_to_image_through_the_image_engine(catalog):  # noqa: F811
    r = run_task("text-to-image", {"text": "a red square", "seed": 3, "steps": 1, "width": 64, "height": 64},
                 model=str(catalog["flux"]))
    assert r.kind == "image" and r.value.size == (64, 64) and r.details["seed"] == 3
    assert "DiffusionPipeline" in r.code
    ast.parse(r.code)
