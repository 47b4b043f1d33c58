"""The one model picker (tabs/kit/pickers.py): catalog choices by kind and filter, one label format, and every
catalog dropdown of the app built with it (no tab builds its own list)."""

from __future__ import annotations

import ast
from pathlib import Path

import gradio as gr

from engines import registry
from tabs.components import ModelBox
from tabs.kit.pickers import CHAT, label, model_choices, model_picker

ROOT = Path(__file__).resolve().parents[2]


def test_choices_follow_the_filters():
    chat = [s for s in registry.all_specs() if s.kind == "chat"]
    assert model_choices("chat") == [(label(s), s.id) for s in chat]
    assert [i for _, i in model_choices("chat", remote=False)] == [s.id for s in chat if s.local]
    assert [i for _, i in model_choices("chat", local=False)] == [s.id for s in chat if not s.local]
    on_cpu = [i for _, i in model_choices("chat", **CHAT, device="cpu")]
    on_gpu = [i for _, i in model_choices("chat", **CHAT, device="cuda")]
    big = [s.id for s in chat if s.local and not s.cpu_friendly]
    assert big and not set(big) & set(on_cpu) and set(big) <= set(on_gpu)  # big local models only with CUDA
    first_remote = next(n for n, i in enumerate(on_gpu) if not registry.get(i).local)
    assert all(not registry.get(i).local for i in on_gpu[first_remote:])  # the open models first
    small = [registry.get(i) for _, i in model_choices(("chat", "code"), remote=False, small_first=True,
                                                       device="cuda")]
    assert [s.params_b or 0 for s in small] == sorted(s.params_b or 0 for s in small)
    assert {s.kind for s in small} == {"chat", "code"}
    assert model_choices("chat", where=lambda s: s.id == chat[0].id) == [(label(chat[0]), chat[0].id)]


def test_the_picker_is_a_model_box_with_extra_choices():
    with gr.Blocks():
        box = model_picker("image", None, extra=[("Mine", "me/mine")], label="Model", multiselect=False)
    assert isinstance(box, ModelBox) and box.label == "Model"
    assert [i for _, i in box.choices] == [s.id for s in registry.by_kind("image")] + ["me/mine"]


# Model boxes that are not catalog pickers: tokenizer presets, and Pipelines' per-task lists (engines.pipelines).
NOT_CATALOG = {"tabs/tokenizers/handlers.py", "tabs/pipelines/handlers.py"}


def test_every_catalog_dropdown_is_the_picker():
    """Outside the kit a ``ModelBox`` is a box filled at run time (it starts with no catalog list: the Hub's id,
    Evaluate's columns, Fine-tune's runs) or one of ``NOT_CATALOG``; catalog choices come from ``model_picker``."""
    offenders = []
    for path in sorted((ROOT / "tabs").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("tabs/kit/") or rel == "tabs/components.py" or rel in NOT_CATALOG:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ModelBox" and node.args
                    and not (isinstance(node.args[0], ast.List) and all(isinstance(e, ast.Tuple | ast.Constant)
                                                                        for e in node.args[0].elts))):
                offenders.append(f"{rel}:{node.lineno}")
    assert not offenders, f"catalog pickers built outside tabs/kit/pickers.py (use model_picker): {offenders}"
