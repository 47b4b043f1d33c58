"""Building the whole app loads no model library: the model lists ask backends whether a model runs here, which is
the backend's property, so no config file is read (a vision check once pulled torch + transformers into start-up,
bench_startup 1.5x → 1.9x)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "transformers", "diffusers", "peft", "trl", "accelerate", "bitsandbytes")


def test_building_the_app_imports_no_model_library():
    code = ("import sys, app\napp.build_demo()\n"
            f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1:] in ([], [""]), f"imported while building: {out.stdout.strip()}"


def test_each_data_models_api_schema_is_made_once(monkeypatch):
    """A component's api_info is its data model's pydantic JSON schema: made per component, the app's 192 components
    asked pydantic 64 times at every start (~0.1 s) for a handful of models. Now once per model; each component still
    gets its own copy, equal to what Gradio makes."""
    import gradio as gr
    from gradio.data_classes import FileData

    from tabs.server import WorkbenchBlocks, share_api_schemas

    from gradio.components.base import Component

    share_api_schemas()
    Component.api_info.schemas.clear()  # as at a start: no schema made yet
    made = []
    schema = FileData.model_json_schema.__func__

    monkeypatch.setattr(FileData, "model_json_schema",
                        classmethod(lambda cls, *a, **k: made.append(cls) or schema(cls, *a, **k)))
    with WorkbenchBlocks():
        a, b = gr.File(file_count="single"), gr.File(file_count="single")
    first, second = a.api_info(), b.api_info()
    assert made == [FileData]
    assert first == second and first is not second
    expected = schema(FileData)
    expected["additional_description"] = expected.pop("description", None)
    assert first == expected
