"""Model references: syntax, policy switches, models directory."""

from __future__ import annotations

import pytest

from engines.backends import registry
from engines.config import Settings
from engines.errors import InvalidModelRef, ModelNotAllowed, ModelNotFound
from engines.refs import parse_ref

OPEN = Settings()
PUBLIC = Settings(on_space=True, allow_local_models=False, allow_custom_models=False)


@pytest.mark.parametrize(("raw", "kind", "name"), [
    ("meta-llama/Llama-3.1-8B-Instruct", "hub", "meta-llama/Llama-3.1-8B-Instruct"),
    ("gpt2", "hub", "gpt2"),
    ("openai:gpt-4o-mini", "openai", "gpt-4o-mini"),
    ("OpenAI: gpt-4o", "openai", "gpt-4o"),
    ("hf:meta-llama/Llama-3.1-8B-Instruct", "hf", "meta-llama/Llama-3.1-8B-Instruct"),
    ("ollama:llama3.2:1b", "ollama", "llama3.2:1b"),
])
def test_valid_references(raw, kind, name):
    ref = parse_ref(raw, OPEN)
    assert (ref.kind, ref.name) == (kind, name)
    assert registry.is_local(ref) == (kind == "hub")


@pytest.mark.parametrize(("raw", "message"), [
    ("", "No model given"),
    ("   ", "No model given"),
    ("https://huggingface.co/gpt2", "is a URL"),
    ("www.example.com/model", "is a URL"),
    ("file:///etc/passwd", "is a URL"),
    ("org/../../etc", "'..'"),
    ("../models/x", "'..'"),
    ("org/name/extra", "not a valid model reference"),
    ("has space/model", "not a valid model reference"),
    ("openai:", "needs a model name"),
    ("hf:not-an-org-id with space", "needs a model name"),
    ("x" * 5000, "too long"),
])
def test_invalid_references(raw, message):
    with pytest.raises(InvalidModelRef, match=message):
        parse_ref(raw, OPEN)


def test_local_folder_allowed_only_where_switched_on(tmp_path):
    ref = parse_ref(str(tmp_path), OPEN)
    assert ref.kind == "local" and ref.path == tmp_path.resolve() and ref.target == str(tmp_path.resolve())
    with pytest.raises(ModelNotAllowed, match="Local model folders are disabled"):
        parse_ref(str(tmp_path), PUBLIC)
    with pytest.raises(ModelNotFound, match="No folder"):
        parse_ref(str(tmp_path / "missing"), OPEN)


def test_custom_ids_only_where_switched_on():
    assert parse_ref("someone/some-model", OPEN).kind == "hub"
    with pytest.raises(ModelNotAllowed, match="not in this app's catalog"):
        parse_ref("someone/some-model", PUBLIC)
    with pytest.raises(ModelNotAllowed):
        parse_ref("openai:my-finetune", PUBLIC)
    assert parse_ref("meta-llama/Llama-3.1-8B-Instruct", PUBLIC).spec.family


def test_models_dir_resolves_catalog_ids(models_dir):
    settings = Settings(models_dir=models_dir)
    ref = parse_ref("meta-llama/Llama-3.1-8B-Instruct", settings)
    assert ref.path is not None and (ref.path / "config.json").exists()
    assert ref.target == str(ref.path)
    assert parse_ref("Qwen/Qwen2.5-1.5B-Instruct", settings).path is None  # not in the folder: Hub id kept


def test_models_dir_resolves_a_bare_hub_id_too(tmp_path):
    # only org/name ids were looked for there: a downloaded `gpt2` (a Hub id without an org) in the models folder
    # was fetched from the unreachable Hub instead
    (tmp_path / "gpt2").mkdir()
    settings = Settings(models_dir=tmp_path)
    assert parse_ref("gpt2", settings).path == tmp_path / "gpt2"
    assert parse_ref("distilgpt2", settings).path is None


def test_settings_from_env(monkeypatch):
    monkeypatch.setenv("SPACE_ID", "someone/space")
    s = Settings.from_env()
    assert s.on_space and not s.allow_local_models and not s.allow_custom_models
    monkeypatch.setenv("WORKBENCH_ALLOW_CUSTOM_MODELS", "1")
    assert Settings.from_env().allow_custom_models
    monkeypatch.delenv("SPACE_ID")
    s = Settings.from_env()
    assert s.allow_local_models and s.device in ("cpu", "cuda", "mps") and s.device_name
