"""The catalog: one ModelSpec per model the app offers, with the facts that decide a choice.

Every fact comes from the page named in ``source`` (the model card) or ``price_source`` (a pricing page).
Unknown or unpublished facts stay ``None``: never guessed.

Units: ``params_b`` billions of parameters (total; ``active_params_b`` per token for MoE), ``context`` tokens,
``training_tokens_t`` trillions of pretraining tokens, ``price_in``/``price_out`` USD per 1M tokens.
``tasks`` lists the pipeline task keys a model is offered for in the Pipelines tab (small, CPU-sized models).

Modules: ``spec`` (ModelSpec), ``chat_models`` and ``pipeline_models`` (the data), ``catalog`` (the whole tuple,
tokenizer presets, per-role defaults), ``lookup`` (get, by_kind, task_models, default_for), ``memory``
(estimate_memory_bytes), ``scaling`` (Chinchilla arithmetic), ``facts`` (facts_row). This package re-exports them
all, so ``engines.registry.X`` keeps working. It imports nothing heavy (no torch, no transformers).
"""

from __future__ import annotations

from engines.registry.catalog import _BY_ID, _DEVICE_FREE_ROLES, CATALOG, DEFAULTS, TOKENIZER_PRESETS, _index
from engines.registry.chat_models import CHAT_MODELS
from engines.registry.facts import facts_row
from engines.registry.lookup import all_specs, by_kind, default_for, get, task_default, task_models
from engines.registry.memory import _NF4_EXTRA, _RUNTIME_OVERHEAD, BYTES_PER_PARAM, _params_of, estimate_memory_bytes
from engines.registry.pipeline_models import PIPELINE_MODELS
from engines.registry.scaling import (
    CHINCHILLA_A,
    CHINCHILLA_G,
    CHINCHILLA_LOSS,
    CHINCHILLA_SOURCE,
    CHINCHILLA_TABLE3,
    CHINCHILLA_TOKENS_PER_PARAM,
    ChinchillaResult,
    chinchilla,
    chinchilla_loss,
    chinchilla_optimal,
    chinchilla_ratio,
)
from engines.registry.spec import KINDS, ModelSpec

__all__ = [
    "BYTES_PER_PARAM", "CATALOG", "CHAT_MODELS", "CHINCHILLA_A", "CHINCHILLA_G", "CHINCHILLA_LOSS",
    "CHINCHILLA_SOURCE", "CHINCHILLA_TABLE3", "CHINCHILLA_TOKENS_PER_PARAM", "ChinchillaResult", "DEFAULTS", "KINDS",
    "ModelSpec", "PIPELINE_MODELS", "TOKENIZER_PRESETS", "_BY_ID", "_DEVICE_FREE_ROLES", "_NF4_EXTRA",
    "_RUNTIME_OVERHEAD", "_index", "_params_of", "all_specs", "by_kind", "chinchilla", "chinchilla_loss",
    "chinchilla_optimal", "chinchilla_ratio", "default_for", "estimate_memory_bytes", "facts_row", "get",
    "task_default", "task_models",
]
