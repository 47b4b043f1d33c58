"""The facts that decide a choice (Compare tab): one row per catalog entry."""

from __future__ import annotations

from engines.registry.memory import estimate_memory_bytes
from engines.registry.scaling import CHINCHILLA_TOKENS_PER_PARAM, chinchilla_ratio
from engines.registry.spec import ModelSpec


def facts_row(spec: ModelSpec) -> dict:
    """The facts that decide a choice, for one catalog entry (``None`` where unpublished).

    Args:
        spec: a catalog entry.

    Returns:
        A dict: id, model, weights (open/closed), release, knowledge cutoff, params and active params (B), training
        tokens (T), tokens per param, times the Chinchilla ratio, context, license, gated, prices per 1M tokens,
        estimated memory at 4-bit and bf16 (GB), source and price source links.
    """
    ratio = chinchilla_ratio(spec)
    mem4, mem16 = estimate_memory_bytes(spec, "4bit"), estimate_memory_bytes(spec, "bf16")
    return {
        "id": spec.id, "model": spec.label, "weights": "open" if spec.open_weights else "closed",
        "release": spec.release, "knowledge cutoff": spec.knowledge_cutoff, "params (B)": spec.params_b,
        "active params (B)": spec.active_params_b, "training tokens (T)": spec.training_tokens_t,
        "tokens/param": round(ratio, 1) if ratio else None,
        "× Chinchilla": round(ratio / CHINCHILLA_TOKENS_PER_PARAM, 1) if ratio else None,
        "context": spec.context, "license": spec.license, "gated": spec.gated,
        "$/1M in": spec.price_in, "$/1M out": spec.price_out,
        "memory 4-bit (GB)": round(mem4 / 2**30, 1) if mem4 else None,
        "memory bf16 (GB)": round(mem16 / 2**30, 1) if mem16 else None,
        "source": spec.source, "price source": spec.price_source,
    }
