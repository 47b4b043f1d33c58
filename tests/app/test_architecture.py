"""The layering DESIGN.md draws, checked on the source (AST): engines never import gradio; tabs import no
torch/transformers/diffusers/openai (nor peft/trl/bitsandbytes); ``from_pretrained`` is called only in the loading
layers; nothing imports upward (engines → tabs or app, tabs → app); no module is a giant."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINES = sorted((ROOT / "engines").rglob("*.py"))
TABS = sorted((ROOT / "tabs").rglob("*.py"))
HEAVY = {"torch", "transformers", "diffusers", "openai", "peft", "trl", "bitsandbytes", "accelerate", "datasets"}
# Where models are loaded: one loading function per kind of model (DESIGN.md "Lazy and cached").
LOADERS = {"engines/loading.py", "engines/images/load.py", "engines/internals.py", "engines/pipelines/load.py",
           "engines/speech/local.py", "engines/speech/backends.py", "engines/finetune", "engines/evals/contamination"}
MAX_LINES = 500  # the "no module over ~500 lines"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", ENGINES, ids=_rel)
def test_engines_never_import_gradio_tabs_or_app(path):
    bad = {m for m in _imports(path) if m.split(".")[0] in ("gradio", "gradio_client", "tabs", "app")}
    assert not bad, f"{_rel(path)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", TABS, ids=_rel)
def test_tabs_import_no_model_libraries_and_not_the_app(path):
    bad = {m for m in _imports(path) if m.split(".")[0] in HEAVY | {"app"}}
    assert not bad, f"{_rel(path)} imports {sorted(bad)}: tabs are adapters, engines do the work"


def test_from_pretrained_only_in_the_loading_layers():
    callers = []
    for path in ENGINES + TABS + [ROOT / "app.py"]:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "from_pretrained":
                rel = _rel(path)
                if not any(rel == loader or rel.startswith(loader + "/") for loader in LOADERS):
                    callers.append(f"{rel}:{node.lineno}")
    assert not callers, f"from_pretrained outside the loading layers: {callers}"


def test_no_giant_modules():
    big = [f"{_rel(p)} ({n} lines)" for p in ENGINES + TABS + [ROOT / "app.py"]
           if (n := len(p.read_text().splitlines())) > MAX_LINES]
    assert not big, f"split these into modules named after what they do: {big}"


def test_this_check_can_fail(tmp_path):
    bad = tmp_path / "engine.py"
    bad.write_text("import gradio as gr\nfrom transformers import AutoModel\n")
    assert "gradio" in _imports(bad) and "transformers" in _imports(bad)
