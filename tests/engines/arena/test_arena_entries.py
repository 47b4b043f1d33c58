"""engines.arena.entries (column entries) and the catalog facts / Chinchilla helpers the Compare tab shows."""

from __future__ import annotations

import pytest

from engines import arena, registry
from engines.errors import InvalidInput

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"


def test_parse_entries_quantization_suffix_and_limits():
    entries = arena.parse_entries([LLAMA, f"{LLAMA}@4bit", f"{LLAMA}@bf16", LLAMA], "fp32")
    assert [(e.model, e.quantization) for e in entries] == [(LLAMA, "fp32"), (LLAMA, "4bit"), (LLAMA, "bf16")]
    assert entries[1].label == f"{LLAMA} @ 4bit"
    with pytest.raises(InvalidInput, match="at most 4"):
        arena.parse_entries([f"m{i}/x" for i in range(5)])
    with pytest.raises(InvalidInput, match="at least one"):
        arena.parse_entries(["", " "])
    with pytest.raises(InvalidInput, match="Unknown quantization"):
        arena.parse_entries([LLAMA], "3bit")


def test_facts_row_has_sources_and_chinchilla():
    row = registry.facts_row(registry.get(LLAMA))
    assert row["weights"] == "open" and row["source"].startswith("https://huggingface.co/")
    assert row["tokens/param"] == pytest.approx(1875.0) and row["× Chinchilla"] == pytest.approx(93.8)
    assert row["memory bf16 (GB)"] > row["memory 4-bit (GB)"] > 0
    api = registry.facts_row(registry.get("openai:gpt-4o-mini"))
    assert api["weights"] == "closed" and api["$/1M in"] == 0.15 and api["price source"]
    assert api["memory 4-bit (GB)"] is None


def test_chinchilla_calculator():
    r = registry.chinchilla(params=70e9, tokens=1.4e12)
    assert r.flops == pytest.approx(6 * 70e9 * 1.4e12) and r.tokens_per_param == pytest.approx(20)
    assert r.optimal_params_for_flops == pytest.approx(70e9) and r.optimal_tokens_for_flops == pytest.approx(1.4e12)
    only_c = registry.chinchilla(flops=5.88e23)
    assert only_c.params == pytest.approx(70e9) and only_c.tokens == pytest.approx(1.4e12)
    assert registry.chinchilla(params=8e9, flops=6 * 8e9 * 15e12).tokens == pytest.approx(15e12)
    assert registry.chinchilla(params=1e9).tokens == pytest.approx(20e9)
    with pytest.raises(ValueError):
        registry.chinchilla()
