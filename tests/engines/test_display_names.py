"""Local models are named by what they hold, never by a generic folder name or a server path (issue 27, item 7)."""

from __future__ import annotations

import json

from engines.refs import display_title, model_names, parse_ref


def _run(tmp_path, run_id="20261205-183012-smollm2-ab12", base="HuggingFaceTB/SmolLM2-135M-Instruct"):
    run = tmp_path / "data" / "finetune" / run_id
    (run / "adapter").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"id": run_id, "base_display": base}))
    (run / "adapter" / "adapter_config.json").write_text(json.dumps(
        {"base_model_name_or_path": str(tmp_path / "hub" / "models--x--y" / "snapshots" / ("a" * 40))}))
    return run


def test_adapter_is_its_base_plus_its_run(tmp_path):
    run = _run(tmp_path)
    name, title = model_names(str(run / "adapter"))
    assert name == "HuggingFaceTB/SmolLM2-135M-Instruct + 20261205-183012-smollm2-ab12"
    assert title == "local folder: …/20261205-183012-smollm2-ab12/adapter" and str(tmp_path) not in title
    (run / "merged").mkdir()
    (run / "merged" / "config.json").write_text(json.dumps({"_name_or_path": str(tmp_path / "base")}))
    assert model_names(str(run / "merged"))[0] == \
        "HuggingFaceTB/SmolLM2-135M-Instruct + 20261205-183012-smollm2-ab12 (merged)"


def test_adapter_outside_a_run_names_its_base_without_a_path(tmp_path):
    folder = tmp_path / "my-tune"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"base_model_name_or_path": "/srv/models/SmolLM2-135M"}))
    assert model_names(str(folder))[0] == "SmolLM2-135M + my-tune"


def test_generic_folder_is_named_by_its_config(tmp_path):
    folder = tmp_path / "minilm" / "model"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"_name_or_path": "sentence-transformers/all-MiniLM-L6-v2"}))
    assert parse_ref(str(folder)).display == "sentence-transformers/all-MiniLM-L6-v2"
    bare = tmp_path / "plain" / "model"
    bare.mkdir(parents=True)
    (bare / "config.json").write_text("{}")
    assert model_names(str(bare))[0] == "plain/model"  # nothing better saved: its parent says more than "model"
    snapshot = tmp_path / "models--Qwen--Qwen2.5-0.5B-Instruct" / "snapshots" / ("b" * 40)
    snapshot.mkdir(parents=True)
    assert model_names(str(snapshot))[0] == "Qwen/Qwen2.5-0.5B-Instruct"
    named = tmp_path / "my-llama"
    named.mkdir()
    assert model_names(str(named))[0] == "my-llama"  # a descriptive folder keeps its name


def test_models_dir_folders_hover_relative(tmp_path, monkeypatch):
    (tmp_path / "org" / "name").mkdir(parents=True)
    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(tmp_path))
    ref = parse_ref(str(tmp_path / "org" / "name"))
    assert display_title(ref) == "models folder: org/name"
    assert model_names("org/name") == ("org/name", "org/name (from the models folder)")
    assert model_names("openai:gpt-4o-mini")[0] == "openai:gpt-4o-mini"
