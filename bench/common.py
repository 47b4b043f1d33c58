"""Shared bench helpers: offline env, a mid-size random LM built from a config, medians."""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "support")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def median(values: list[float]) -> float:
    """Median of a list of timings."""
    return statistics.median(values)


def report(name: str, ours: float, baseline: float, unit: str = "s") -> None:
    """Print one ``name: ratio (ours … vs baseline …)`` line."""
    ratio = ours / baseline if baseline else float("inf")
    print(f"{name}: {ratio:.3f} (ours {ours:.4g} {unit} vs baseline {baseline:.4g} {unit})", flush=True)


def bench_lm_dir() -> Path:
    """A ~30M-parameter random Llama (big enough that per-token compute dominates), built once offline."""
    import tiny_models

    out = tiny_models.cache_root().parent / "bench-llama-30m"
    if (out / ".complete").exists():
        return out
    import torch
    from transformers import AutoTokenizer, GenerationConfig, LlamaConfig, LlamaForCausalLM

    paths = tiny_models.build_all()
    tok = AutoTokenizer.from_pretrained(paths["tok-llama"])
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=512, intermediate_size=1536, num_hidden_layers=8,
                      num_attention_heads=8, num_key_value_heads=4, max_position_embeddings=2048,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    model = LlamaForCausalLM(cfg)
    # never emit EOS, so every run generates exactly max_new_tokens (same work for ours and the baseline)
    model.generation_config = GenerationConfig(bos_token_id=tok.bos_token_id, eos_token_id=None,
                                               pad_token_id=tok.pad_token_id)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    (out / ".complete").write_text("ok")
    return out
