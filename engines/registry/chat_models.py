"""Catalog data: the language models (chat and code LLMs), local and remote, in display order.

Every fact comes from the page named in ``source`` (the model card) or ``price_source`` (a pricing page); unknown or
unpublished facts stay ``None``. Units: see ``engines.registry``.
"""

from __future__ import annotations

from engines.registry.spec import HF, OPENAI_DOCS, OPENAI_PRICING, ModelSpec

CHAT_MODELS: tuple[ModelSpec, ...] = (
    # --- chat: the comparison tab (GPU-sized) ---
    ModelSpec(
        id="meta-llama/Llama-3.1-8B-Instruct", label="Llama 3.1 8B Instruct", kind="chat", family="llama3.1",
        source=HF + "meta-llama/Llama-3.1-8B-Instruct", params_b=8.0, context=131072, license="llama3.1",
        gated=True, release="2024-07-23", knowledge_cutoff="2023-12", training_tokens_t=15.0,
        notes="Card: 15T+ pretraining tokens, 128k context.",
    ),
    ModelSpec(
        id="microsoft/Phi-3-mini-4k-instruct", label="Phi-3 mini 4k (June 2024 update)", kind="chat",
        family="phi3", source=HF + "microsoft/Phi-3-mini-4k-instruct", params_b=3.8, context=4096, license="mit",
        release="2024-06", knowledge_cutoff="2023-10", training_tokens_t=4.9,
        notes="The repo's current weights are the June 2024 update: every fact here is from its card (4.9T training "
              "tokens, trained May-June 2024). The April 2024 original (tech report: 3.3T tokens) is not served.",
    ),
    ModelSpec(
        id="google/gemma-2-2b-it", label="Gemma 2 2B it", kind="chat", family="gemma2",
        source=HF + "google/gemma-2-2b-it", params_b=2.6, context=8192, license="gemma", gated=True,
        release="2024-07-31", training_tokens_t=2.0, no_system_role=True,
        notes="Chat template raises on a system message: fold it into the first user turn.",
    ),
    ModelSpec(
        id="Qwen/Qwen2-7B-Instruct", label="Qwen2 7B Instruct", kind="chat", family="qwen2",
        source=HF + "Qwen/Qwen2-7B-Instruct", params_b=7.6, context=131072, license="apache-2.0",
        release="2024-06", training_tokens_t=7.0,
        notes="Native 32k; 131k with YaRN rope scaling (card). 7T tokens per the Qwen2 tech report.",
    ),
    ModelSpec(
        id="mistralai/Mixtral-8x7B-Instruct-v0.1", label="Mixtral 8x7B Instruct", kind="chat", family="mixtral",
        source=HF + "mistralai/Mixtral-8x7B-Instruct-v0.1", params_b=46.7, active_params_b=12.9, context=32768,
        license="apache-2.0", gated=True, release="2023-12-11", no_system_role=True,
        notes="Sparse MoE: all 46.7B weights load, ~12.9B active per token. v0.1 template: user/assistant only.",
    ),
    ModelSpec(
        id="mistralai/Mistral-7B-Instruct-v0.3", label="Mistral 7B Instruct v0.3", kind="chat", family="mistral",
        source=HF + "mistralai/Mistral-7B-Instruct-v0.3", params_b=7.25, context=32768, license="apache-2.0",
        gated=True, release="2024-05-22",
        notes="v0.3 template accepts a leading system message (merged into the last user turn).",
    ),
    # --- chat: small, CPU-friendly ---
    ModelSpec(
        id="meta-llama/Llama-3.2-1B-Instruct", label="Llama 3.2 1B Instruct", kind="chat", family="llama3.2",
        source=HF + "meta-llama/Llama-3.2-1B-Instruct", params_b=1.23, context=131072, license="llama3.2",
        gated=True, release="2024-09-25", knowledge_cutoff="2023-12", training_tokens_t=9.0, cpu_friendly=True,
        notes="Card: up to 9T pretraining tokens.",
    ),
    ModelSpec(
        id="Qwen/Qwen2.5-0.5B-Instruct", label="Qwen2.5 0.5B Instruct", kind="chat", family="qwen2.5",
        source=HF + "Qwen/Qwen2.5-0.5B-Instruct", params_b=0.49, context=32768, license="apache-2.0",
        release="2024-09-19", training_tokens_t=18.0, cpu_friendly=True,
        notes="Generates up to 8192 tokens.",
    ),
    ModelSpec(
        id="Qwen/Qwen2.5-1.5B-Instruct", label="Qwen2.5 1.5B Instruct", kind="chat", family="qwen2.5",
        source=HF + "Qwen/Qwen2.5-1.5B-Instruct", params_b=1.54, context=32768, license="apache-2.0",
        release="2024-09-19", training_tokens_t=18.0, cpu_friendly=True,
        notes="Generates up to 8192 tokens.",
    ),
    ModelSpec(
        id="HuggingFaceTB/SmolLM2-135M-Instruct", label="SmolLM2 135M Instruct", kind="chat", family="smollm2",
        source=HF + "HuggingFaceTB/SmolLM2-135M-Instruct", params_b=0.135, context=8192,
        license="apache-2.0",
        release="2024-11", training_tokens_t=2.0, cpu_friendly=True,
    ),
    ModelSpec(
        id="HuggingFaceTB/SmolLM2-360M-Instruct", label="SmolLM2 360M Instruct", kind="chat", family="smollm2",
        source=HF + "HuggingFaceTB/SmolLM2-360M-Instruct", params_b=0.36, context=8192,
        license="apache-2.0",
        release="2024-11", training_tokens_t=4.0, cpu_friendly=True,
    ),
    ModelSpec(
        id="HuggingFaceTB/SmolLM2-1.7B-Instruct", label="SmolLM2 1.7B Instruct", kind="chat", family="smollm2",
        source=HF + "HuggingFaceTB/SmolLM2-1.7B-Instruct", params_b=1.7, context=8192, license="apache-2.0",
        release="2024-11", training_tokens_t=11.0, cpu_friendly=True,
    ),
    # --- chat: remote (OpenAI-compatible APIs) ---
    ModelSpec(
        id="openai:gpt-4o-mini", label="GPT-4o mini", kind="chat", family="gpt-4o",
        source=OPENAI_DOCS + "gpt-4o-mini",
        context=128000, license="proprietary", open_weights=False, release="2024-07-18", knowledge_cutoff="2023-10",
        price_in=0.15, price_out=0.60, price_source=OPENAI_PRICING,
    ),
    ModelSpec(
        id="openai:gpt-4o", label="GPT-4o", kind="chat", family="gpt-4o", source=OPENAI_DOCS + "gpt-4o",
        context=128000, license="proprietary", open_weights=False, release="2024-05-13", knowledge_cutoff="2023-10",
        price_in=2.50, price_out=10.00, price_source=OPENAI_PRICING,
    ),
    ModelSpec(
        id="openai:gpt-4.1-mini", label="GPT-4.1 mini", kind="chat", family="gpt-4.1",
        source=OPENAI_DOCS + "gpt-4.1-mini", context=1047576, license="proprietary", open_weights=False,
        release="2025-04-14", knowledge_cutoff="2024-06", price_in=0.40, price_out=1.60, price_source=OPENAI_PRICING,
    ),
    ModelSpec(
        id="openai:gpt-4.1", label="GPT-4.1", kind="chat", family="gpt-4.1", source=OPENAI_DOCS + "gpt-4.1",
        context=1047576, license="proprietary", open_weights=False, release="2025-04-14", knowledge_cutoff="2024-06",
        price_in=2.00, price_out=8.00, price_source=OPENAI_PRICING,
    ),
    ModelSpec(
        id="hf:meta-llama/Llama-3.1-8B-Instruct", label="Llama 3.1 8B Instruct (HF Inference)", kind="chat",
        family="llama3.1", source=HF + "meta-llama/Llama-3.1-8B-Instruct", params_b=8.0, context=131072,
        license="llama3.1", gated=True, release="2024-07-23", knowledge_cutoff="2023-12", training_tokens_t=15.0,
        notes="Served by HF Inference Providers (HF_TOKEN); price depends on the provider.",
    ),
    # --- code ---
    ModelSpec(
        id="bigcode/starcoder2-3b", label="StarCoder2 3B", kind="code", family="starcoder2",
        source=HF + "bigcode/starcoder2-3b", params_b=3.0, context=16384, license="bigcode-openrail-m",
        release="2024-02-28", training_tokens_t=3.3,
        notes="Base completion model (no chat template); sliding window 4096.",
        extra={"chat_template": False},
    ),
    ModelSpec(
        id="Qwen/Qwen2.5-Coder-1.5B-Instruct", label="Qwen2.5-Coder 1.5B Instruct", kind="code",
        family="qwen2.5-coder", source=HF + "Qwen/Qwen2.5-Coder-1.5B-Instruct", params_b=1.54, context=32768,
        license="apache-2.0", release="2024-09-19", training_tokens_t=5.5, cpu_friendly=True,
        notes="5.5T code-centric tokens of continued pretraining on the Qwen2.5 base (card).",
    ),
    ModelSpec(
        id="Qwen/Qwen2.5-Coder-7B-Instruct", label="Qwen2.5-Coder 7B Instruct", kind="code", family="qwen2.5-coder",
        source=HF + "Qwen/Qwen2.5-Coder-7B-Instruct", params_b=7.61, context=131072, license="apache-2.0",
        release="2024-09-19", training_tokens_t=5.5,
        notes="Native 32k, 131k with YaRN. 5.5T code-centric tokens continued from the Qwen2.5 base (card).",
    ),
    ModelSpec(
        id="hf:Qwen/Qwen2.5-Coder-32B-Instruct", label="Qwen2.5-Coder 32B Instruct (HF Inference)", kind="code",
        family="qwen2.5-coder", source=HF + "Qwen/Qwen2.5-Coder-32B-Instruct", params_b=32.5, context=131072,
        license="apache-2.0", release="2024-11-12", training_tokens_t=5.5,
        notes="Open weights, served by HF Inference Providers (HF_TOKEN); native 32k, 131k with YaRN.",
    ),
)
