"""The catalog as one tuple (language models first, then the task tabs' models), indexed by id; the Tokenizers
tab's presets; the model each tab starts with, by role and hardware."""

from __future__ import annotations

from engines.registry.chat_models import CHAT_MODELS
from engines.registry.pipeline_models import PIPELINE_MODELS
from engines.registry.spec import ModelSpec

CATALOG: tuple[ModelSpec, ...] = CHAT_MODELS + PIPELINE_MODELS


def _index(entries: tuple[ModelSpec, ...]) -> dict[str, ModelSpec]:
    seen: dict[str, ModelSpec] = {}
    for spec in entries:
        if spec.id in seen:
            raise ValueError(f"duplicate catalog id {spec.id}")
        seen[spec.id] = spec
    return seen


_BY_ID: dict[str, ModelSpec] = _index(CATALOG)

# (label, id) pairs for the Tokenizers tab, in display order.
TOKENIZER_PRESETS: tuple[tuple[str, str], ...] = (
    ("Llama 3.1", "meta-llama/Llama-3.1-8B-Instruct"),
    ("Phi 3", "microsoft/Phi-3-mini-4k-instruct"),
    ("Qwen2", "Qwen/Qwen2-7B-Instruct"),
    ("StarCoder2", "bigcode/starcoder2-3b"),
    ("Gemma", "google/gemma-2-2b-it"),
    ("Mistral", "mistralai/Mistral-7B-Instruct-v0.3"),
    ("GPT-2", "openai-community/gpt2"),
)

# The model each tab starts with, by role and hardware.
DEFAULTS: dict[str, str] = {
    "chat_gpu": "meta-llama/Llama-3.1-8B-Instruct",
    "chat_cpu": "Qwen/Qwen2.5-0.5B-Instruct",
    "code_local_gpu": "Qwen/Qwen2.5-Coder-7B-Instruct",
    "code_local_cpu": "Qwen/Qwen2.5-Coder-1.5B-Instruct",
    "code_frontier": "openai:gpt-4o-mini",
    "code_open": "hf:Qwen/Qwen2.5-Coder-32B-Instruct",
    "asr_gpu": "openai/whisper-large-v3-turbo",
    "asr_cpu": "Systran/faster-whisper-small",
    "image": "black-forest-labs/FLUX.1-schnell",
    "image_cpu": "stabilityai/sd-turbo",
    "minutes_gpu": "meta-llama/Llama-3.1-8B-Instruct",
    "minutes_cpu": "Qwen/Qwen2.5-1.5B-Instruct",
    # the arena's second contestant when fewer than two chat models are available locally
    "chat_alt_gpu": "microsoft/Phi-3-mini-4k-instruct",
    "chat_alt_cpu": "HuggingFaceTB/SmolLM2-360M-Instruct",
}
# Roles that exist once, whatever the hardware.
_DEVICE_FREE_ROLES = ("code_frontier", "code_open")
