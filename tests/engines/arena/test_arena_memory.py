"""engines.arena.memory: the memory-fit check before loading (refusals, what would fit, exact parameter counts)."""

from __future__ import annotations

import pytest

from engines import arena, registry
from engines.arena import memory

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"  # tiny stand-ins through the models dir
GEMMA = "google/gemma-2-2b-it"
MSGS = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello there"}]


@pytest.fixture()
def env(monkeypatch, models_dir, remote_env, fresh_cache):
    """Catalog ids resolve to tiny models, openai:/hf: to the fake server, with an empty model cache."""
    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(models_dir))
    return remote_env


def _run(entries, **kwargs):
    snaps = list(arena.stream_compare(entries, MSGS, **kwargs))
    return snaps, snaps[-1]


def test_memory_refusal_before_loading(env, monkeypatch, fresh_cache):
    monkeypatch.setattr(memory, "available_memory", lambda device, settings=None: (900_000, "RAM"))
    _, final = _run(arena.parse_entries([LLAMA, GEMMA, "openai:fake-echo"]), max_new_tokens=4)
    assert [c.status for c in final] == ["done", "refused", "done"]
    refused = final[1]
    assert refused.fit.needed_bytes > 0 and refused.stats is None
    assert "after the columns before it" in refused.error and "needs about" in refused.error
    assert not any(GEMMA in str(k) for k in fresh_cache.keys())  # never loaded


def test_refusal_names_the_estimate_and_what_would_fit(env):
    qwen15 = "Qwen/Qwen2.5-1.5B-Instruct"  # not on disk: the catalog's 1.54B params count
    check = arena.check_fit(arena.parse_entries([qwen15], "fp32"), available=4 * 2**30)[0]
    expected = registry.estimate_memory_bytes(1.54, "fp32")
    assert not check.fits and check.needed_bytes == expected and check.params_source == "catalog"
    assert "1.54B params × 4 bytes + 15% overhead" in check.message
    assert "fits at bf16" in check.message and "Qwen2.5 0.5B Instruct" in check.message
    nothing = arena.check_fit(arena.parse_entries([qwen15]), available=10 * 2**20)[0]
    assert "Nothing in the catalog fits" in nothing.message
    remote = arena.check_fit(arena.parse_entries(["openai:fake-echo"]), available=1)[0]
    assert remote.fits and remote.device == "remote"


def test_memory_check_can_be_turned_off(env, monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda device, settings=None: (1, "RAM"))
    _, final = _run(arena.parse_entries([LLAMA]), max_new_tokens=4, memory_check=False)
    assert final[0].status == "done"


def test_safetensors_params_is_exact(tiny):
    from safetensors import safe_open

    folder = tiny["lm-qwen2"]
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        expected = sum(f.get_slice(k).get_shape().numel() if hasattr(f.get_slice(k).get_shape(), "numel")
                       else __import__("math").prod(f.get_slice(k).get_shape()) for k in f.keys())
    assert arena.safetensors_params(folder) == expected > 100_000
    assert arena.safetensors_params(folder.parent) is None  # no weights there
