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
    from gradio.components.base import Component
    from gradio.data_classes import FileData

    from tabs.server import WorkbenchBlocks, share_api_schemas

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


def test_python_app_py_starts_without_garbage_collections_and_serves_with_its_start_up_heap_frozen():
    """Each full collection walked the growing heap (0.1-0.3 s, a dozen in a start: bench_startup 1.2x → 0.9-1.0x),
    and once serving, a full collection walked the ~240,000 objects of the start again (a 370 ms stall of every call
    in flight under a crowd). ``python app.py`` now collects nothing while it starts, freezes what the start made out
    of later collections, and serves with collection on."""
    code = """
import gc, runpy, sys
import gradio as gr
before = gc.get_stats()[2]["collections"]
def launch(self, *args, **kwargs):
    print("RESULT", gc.isenabled(), gc.get_stats()[2]["collections"] - before, gc.get_freeze_count())
gr.Blocks.launch = launch
sys.argv = ["app.py", "--port", "7999"]
runpy.run_path("app.py", run_name="__main__")
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    result = next(line for line in out.stdout.splitlines() if line.startswith("RESULT"))
    enabled, full_collections, frozen = result.split()[1:]
    assert enabled == "True" and int(full_collections) == 0 and int(frozen) > 100_000
