"""Shared fixtures: offline environment, tiny models built from configs, a fake OpenAI-compatible server."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import tiny_models  # noqa: E402  (sets HF_HUB_OFFLINE=1 before anything imports transformers)

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
# A clean deployment policy for every test unless a test changes it.
for var in ("SPACE_ID", "SPACES_ZERO_GPU", "WORKBENCH_MODELS_DIR", "OPENAI_BASE_URL", "HF_API_BASE_URL",
            "OLLAMA_HOST", "WORKBENCH_ALLOW_LOCAL_MODELS", "WORKBENCH_ALLOW_CUSTOM_MODELS"):
    os.environ.pop(var, None)


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a CUDA GPU (skipped without one)")
    config.addinivalue_line("markers", "browser: drives the app in headless Chromium")


def pytest_collection_modifyitems(config, items):
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if not has_cuda:
        skip = pytest.mark.skip(reason="needs a CUDA GPU")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny() -> dict[str, Path]:
    """name → folder of every tiny model (tok-llama, tok-gemma, tok-bert, lm-<family>)."""
    return tiny_models.build_all()


@pytest.fixture(scope="session")
def models_dir(tiny, tmp_path_factory) -> Path:
    """A WORKBENCH_MODELS_DIR where catalog ids resolve to tiny models."""
    return tiny_models.build_models_dir(tiny, tmp_path_factory.mktemp("models"))


@pytest.fixture()
def fresh_cache(monkeypatch):
    """A new, empty process cache for one test."""
    from engines import cache

    new = cache.ModelCache(8 * 2**30)
    monkeypatch.setattr(cache, "_CACHE", new)
    return new


@pytest.fixture(scope="session")
def fake_server():
    """One fake OpenAI-compatible server for the session (key: test-key)."""
    from fake_openai import FakeOpenAI

    with FakeOpenAI(api_key="test-key") as server:
        yield server


@pytest.fixture()
def remote_env(monkeypatch, fake_server):
    """Point openai:, hf: and ollama: references at the fake server."""
    monkeypatch.setenv("OPENAI_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("HF_API_BASE_URL", fake_server.base_url)
    monkeypatch.setenv("HF_TOKEN", "test-key")
    return fake_server
