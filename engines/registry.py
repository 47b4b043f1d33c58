"""The catalog: one ModelSpec per model the app offers, with the facts that decide a choice.

Every fact comes from the page named in ``source`` (the model card) or ``price_source`` (a pricing page).
Unknown or unpublished facts stay ``None``: never guessed.

Units: ``params_b`` billions of parameters (total; ``active_params_b`` per token for MoE), ``context`` tokens,
``training_tokens_t`` trillions of pretraining tokens, ``price_in``/``price_out`` USD per 1M tokens.
``tasks`` lists the pipeline task keys a model is offered for in the Pipelines tab (small, CPU-sized models).
"""

from __future__ import annotations

from dataclasses import dataclass, field

# kinds: chat (instruct LLM), code (code LLM), tokenizer (tokenizer-only preset), asr, tts, image, pipeline
KINDS = ("chat", "code", "tokenizer", "asr", "tts", "image", "pipeline")


@dataclass(frozen=True)
class ModelSpec:
    """Facts about one model. ``id`` is a Hub id or a remote reference such as ``openai:gpt-4o-mini``."""

    id: str
    label: str
    kind: str
    family: str
    source: str
    params_b: float | None = None
    active_params_b: float | None = None
    context: int | None = None
    license: str | None = None
    gated: bool = False
    open_weights: bool = True
    release: str | None = None
    knowledge_cutoff: str | None = None
    training_tokens_t: float | None = None
    price_in: float | None = None
    price_out: float | None = None
    price_source: str | None = None
    price_per_min: float | None = None  # USD per audio minute, for APIs billed by duration
    no_system_role: bool = False
    cpu_friendly: bool = False
    tasks: tuple[str, ...] = ()
    notes: str = ""
    extra: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def is_remote(self) -> bool:
        """True for API models reached through an OpenAI-compatible endpoint."""
        return ":" in self.id.split("/", 1)[0]


_HF = "https://huggingface.co/"
_OPENAI_DOCS = "https://platform.openai.com/docs/models/"
_OPENAI_PRICING = "https://openai.com/api/pricing/"

CATALOG: tuple[ModelSpec, ...] = (
    # --- chat: the comparison tab (GPU-sized) ---
    ModelSpec(
        id="meta-llama/Llama-3.1-8B-Instruct", label="Llama 3.1 8B Instruct", kind="chat", family="llama3.1",
        source=_HF + "meta-llama/Llama-3.1-8B-Instruct", params_b=8.0, context=131072, license="llama3.1",
        gated=True, release="2024-07-23", knowledge_cutoff="2023-12", training_tokens_t=15.0,
        notes="Card: 15T+ pretraining tokens, 128k context.",
    ),
    ModelSpec(
        id="microsoft/Phi-3-mini-4k-instruct", label="Phi-3 mini 4k (June 2024 update)", kind="chat",
        family="phi3", source=_HF + "microsoft/Phi-3-mini-4k-instruct", params_b=3.8, context=4096, license="mit",
        release="2024-06", knowledge_cutoff="2023-10", training_tokens_t=4.9,
        notes="The repo's current weights are the June 2024 update: every fact here is from its card (4.9T training "
              "tokens, trained May-June 2024). The April 2024 original (tech report: 3.3T tokens) is not served.",
    ),
    ModelSpec(
        id="google/gemma-2-2b-it", label="Gemma 2 2B it", kind="chat", family="gemma2",
        source=_HF + "google/gemma-2-2b-it", params_b=2.6, context=8192, license="gemma", gated=True,
        release="2024-07-31", training_tokens_t=2.0, no_system_role=True,
        notes="Chat template raises on a system message: fold it into the first user turn.",
    ),
    ModelSpec(
        id="Qwen/Qwen2-7B-Instruct", label="Qwen2 7B Instruct", kind="chat", family="qwen2",
        source=_HF + "Qwen/Qwen2-7B-Instruct", params_b=7.6, context=131072, license="apache-2.0",
        release="2024-06", training_tokens_t=7.0,
        notes="Native 32k; 131k with YaRN rope scaling (card). 7T tokens per the Qwen2 tech report.",
    ),
    ModelSpec(
        id="mistralai/Mixtral-8x7B-Instruct-v0.1", label="Mixtral 8x7B Instruct", kind="chat", family="mixtral",
        source=_HF + "mistralai/Mixtral-8x7B-Instruct-v0.1", params_b=46.7, active_params_b=12.9, context=32768,
        license="apache-2.0", gated=True, release="2023-12-11", no_system_role=True,
        notes="Sparse MoE: all 46.7B weights load, ~12.9B active per token. v0.1 template: user/assistant only.",
    ),
    ModelSpec(
        id="mistralai/Mistral-7B-Instruct-v0.3", label="Mistral 7B Instruct v0.3", kind="chat", family="mistral",
        source=_HF + "mistralai/Mistral-7B-Instruct-v0.3", params_b=7.25, context=32768, license="apache-2.0",
        gated=True, release="2024-05-22",
        notes="v0.3 template accepts a leading system message (merged into the last user turn).",
    ),
    # --- chat: small, CPU-friendly ---
    ModelSpec(
        id="meta-llama/Llama-3.2-1B-Instruct", label="Llama 3.2 1B Instruct", kind="chat", family="llama3.2",
        source=_HF + "meta-llama/Llama-3.2-1B-Instruct", params_b=1.23, context=131072, license="llama3.2",
        gated=True, release="2024-09-25", knowledge_cutoff="2023-12", training_tokens_t=9.0, cpu_friendly=True,
        notes="Card: up to 9T pretraining tokens.",
    ),
    ModelSpec(
        id="Qwen/Qwen2.5-0.5B-Instruct", label="Qwen2.5 0.5B Instruct", kind="chat", family="qwen2.5",
        source=_HF + "Qwen/Qwen2.5-0.5B-Instruct", params_b=0.49, context=32768, license="apache-2.0",
        release="2024-09-19", training_tokens_t=18.0, cpu_friendly=True,
        notes="Generates up to 8192 tokens.",
    ),
    ModelSpec(
        id="Qwen/Qwen2.5-1.5B-Instruct", label="Qwen2.5 1.5B Instruct", kind="chat", family="qwen2.5",
        source=_HF + "Qwen/Qwen2.5-1.5B-Instruct", params_b=1.54, context=32768, license="apache-2.0",
        release="2024-09-19", training_tokens_t=18.0, cpu_friendly=True,
        notes="Generates up to 8192 tokens.",
    ),
    ModelSpec(
        id="HuggingFaceTB/SmolLM2-135M-Instruct", label="SmolLM2 135M Instruct", kind="chat", family="smollm2",
        source=_HF + "HuggingFaceTB/SmolLM2-135M-Instruct", params_b=0.135, context=8192,
        license="apache-2.0",
        release="2024-11", training_tokens_t=2.0, cpu_friendly=True,
    ),
    ModelSpec(
        id="HuggingFaceTB/SmolLM2-360M-Instruct", label="SmolLM2 360M Instruct", kind="chat", family="smollm2",
        source=_HF + "HuggingFaceTB/SmolLM2-360M-Instruct", params_b=0.36, context=8192,
        license="apache-2.0",
        release="2024-11", training_tokens_t=4.0, cpu_friendly=True,
    ),
    ModelSpec(
        id="HuggingFaceTB/SmolLM2-1.7B-Instruct", label="SmolLM2 1.7B Instruct", kind="chat", family="smollm2",
        source=_HF + "HuggingFaceTB/SmolLM2-1.7B-Instruct", params_b=1.7, context=8192, license="apache-2.0",
        release="2024-11", training_tokens_t=11.0, cpu_friendly=True,
    ),
    # --- chat: remote (OpenAI-compatible APIs) ---
    ModelSpec(
        id="openai:gpt-4o-mini", label="GPT-4o mini", kind="chat", family="gpt-4o",
        source=_OPENAI_DOCS + "gpt-4o-mini",
        context=128000, license="proprietary", open_weights=False, release="2024-07-18", knowledge_cutoff="2023-10",
        price_in=0.15, price_out=0.60, price_source=_OPENAI_PRICING,
    ),
    ModelSpec(
        id="openai:gpt-4o", label="GPT-4o", kind="chat", family="gpt-4o", source=_OPENAI_DOCS + "gpt-4o",
        context=128000, license="proprietary", open_weights=False, release="2024-05-13", knowledge_cutoff="2023-10",
        price_in=2.50, price_out=10.00, price_source=_OPENAI_PRICING,
    ),
    ModelSpec(
        id="openai:gpt-4.1-mini", label="GPT-4.1 mini", kind="chat", family="gpt-4.1",
        source=_OPENAI_DOCS + "gpt-4.1-mini", context=1047576, license="proprietary", open_weights=False,
        release="2025-04-14", knowledge_cutoff="2024-06", price_in=0.40, price_out=1.60, price_source=_OPENAI_PRICING,
    ),
    ModelSpec(
        id="openai:gpt-4.1", label="GPT-4.1", kind="chat", family="gpt-4.1", source=_OPENAI_DOCS + "gpt-4.1",
        context=1047576, license="proprietary", open_weights=False, release="2025-04-14", knowledge_cutoff="2024-06",
        price_in=2.00, price_out=8.00, price_source=_OPENAI_PRICING,
    ),
    ModelSpec(
        id="hf:meta-llama/Llama-3.1-8B-Instruct", label="Llama 3.1 8B Instruct (HF Inference)", kind="chat",
        family="llama3.1", source=_HF + "meta-llama/Llama-3.1-8B-Instruct", params_b=8.0, context=131072,
        license="llama3.1", gated=True, release="2024-07-23", knowledge_cutoff="2023-12", training_tokens_t=15.0,
        notes="Served by HF Inference Providers (HF_TOKEN); price depends on the provider.",
    ),
    # --- code ---
    ModelSpec(
        id="bigcode/starcoder2-3b", label="StarCoder2 3B", kind="code", family="starcoder2",
        source=_HF + "bigcode/starcoder2-3b", params_b=3.0, context=16384, license="bigcode-openrail-m",
        release="2024-02-28", training_tokens_t=3.3,
        notes="Base completion model (no chat template); sliding window 4096.",
        extra={"chat_template": False},
    ),
    ModelSpec(
        id="Qwen/Qwen2.5-Coder-1.5B-Instruct", label="Qwen2.5-Coder 1.5B Instruct", kind="code",
        family="qwen2.5-coder", source=_HF + "Qwen/Qwen2.5-Coder-1.5B-Instruct", params_b=1.54, context=32768,
        license="apache-2.0", release="2024-09-19", training_tokens_t=5.5, cpu_friendly=True,
        notes="5.5T code-centric tokens of continued pretraining on the Qwen2.5 base (card).",
    ),
    ModelSpec(
        id="Qwen/Qwen2.5-Coder-7B-Instruct", label="Qwen2.5-Coder 7B Instruct", kind="code", family="qwen2.5-coder",
        source=_HF + "Qwen/Qwen2.5-Coder-7B-Instruct", params_b=7.61, context=131072, license="apache-2.0",
        release="2024-09-19", training_tokens_t=5.5,
        notes="Native 32k, 131k with YaRN. 5.5T code-centric tokens continued from the Qwen2.5 base (card).",
    ),
    ModelSpec(
        id="hf:Qwen/Qwen2.5-Coder-32B-Instruct", label="Qwen2.5-Coder 32B Instruct (HF Inference)", kind="code",
        family="qwen2.5-coder", source=_HF + "Qwen/Qwen2.5-Coder-32B-Instruct", params_b=32.5, context=131072,
        license="apache-2.0", release="2024-11-12", training_tokens_t=5.5,
        notes="Open weights, served by HF Inference Providers (HF_TOKEN); native 32k, 131k with YaRN.",
    ),
    # --- text generation / tokenizer preset ---
    ModelSpec(
        id="openai-community/gpt2", label="GPT-2", kind="pipeline", family="gpt2",
        source=_HF + "openai-community/gpt2", params_b=0.124, context=1024, license="mit", release="2019-02-14",
        cpu_friendly=True, tasks=("text-generation",),
        notes="Byte-level BPE tokenizer, no chat template.",
    ),
    # --- speech recognition (local Whisper first: tiny is the pipeline default) ---
    ModelSpec(
        id="openai/whisper-tiny", label="Whisper tiny", kind="asr", family="whisper",
        source=_HF + "openai/whisper-tiny", params_b=0.039, license="apache-2.0", release="2022-09-21",
        cpu_friendly=True, tasks=("automatic-speech-recognition",),
        notes="Trained on 680k hours of audio.",
    ),
    ModelSpec(
        id="openai/whisper-base", label="Whisper base", kind="asr", family="whisper",
        source=_HF + "openai/whisper-base", params_b=0.074, license="apache-2.0", release="2022-09-21",
        cpu_friendly=True, tasks=("automatic-speech-recognition",),
    ),
    ModelSpec(
        id="openai/whisper-small", label="Whisper small", kind="asr", family="whisper",
        source=_HF + "openai/whisper-small", params_b=0.244, license="apache-2.0", release="2022-09-21",
        cpu_friendly=True, tasks=("automatic-speech-recognition",),
    ),
    ModelSpec(
        id="openai/whisper-medium", label="Whisper medium", kind="asr", family="whisper",
        source=_HF + "openai/whisper-medium", params_b=0.769, license="apache-2.0", release="2022-09-21",
    ),
    ModelSpec(
        id="openai/whisper-large-v3", label="Whisper large-v3", kind="asr", family="whisper",
        source=_HF + "openai/whisper-large-v3", params_b=1.55, license="apache-2.0", release="2023-11-06",
        notes="1M hours weakly labelled + 4M hours pseudo-labelled audio.",
    ),
    ModelSpec(
        id="openai/whisper-large-v3-turbo", label="Whisper large-v3 turbo", kind="asr", family="whisper",
        source=_HF + "openai/whisper-large-v3-turbo", params_b=0.809, license="mit", release="2024-10-01",
        notes="large-v3 pruned to 4 decoder layers: much faster, slightly less accurate.",
    ),
    ModelSpec(
        id="Systran/faster-whisper-small", label="faster-whisper small", kind="asr", family="whisper",
        source=_HF + "Systran/faster-whisper-small", params_b=0.244, license="mit", cpu_friendly=True,
        notes="CTranslate2 conversion of whisper-small; runs with faster-whisper, no torch.",
        extra={"ctranslate2": True},
    ),
    ModelSpec(
        id="openai:whisper-1", label="Whisper (OpenAI API)", kind="asr", family="whisper",
        source=_OPENAI_DOCS + "whisper-1", license="proprietary", open_weights=False, release="2023-03-01",
        price_per_min=0.006, price_source=_OPENAI_PRICING,
        notes="Billed per audio minute, not per token.",
    ),
    ModelSpec(
        id="openai:gpt-4o-mini-transcribe", label="GPT-4o mini transcribe", kind="asr", family="gpt-4o",
        source=_OPENAI_DOCS + "gpt-4o-mini-transcribe", license="proprietary", open_weights=False,
        release="2025-03-20", price_in=3.00, price_out=5.00, price_per_min=0.003, price_source=_OPENAI_PRICING,
        notes="price_in is per 1M audio input tokens (text prompt tokens: $1.25/1M); ~$0.003/min.",
    ),
    # --- image (the small CPU model first: it is the pipeline default) ---
    ModelSpec(
        id="stabilityai/sd-turbo", label="SD-Turbo", kind="image", family="stable-diffusion",
        source=_HF + "stabilityai/sd-turbo", license="sai-nc-community", release="2023-11-28", cpu_friendly=True,
        tasks=("text-to-image",),
        notes="Distilled SD 2.1, 1-4 steps at 512x512, guidance_scale=0. Non-commercial research licence.",
    ),
    ModelSpec(
        id="black-forest-labs/FLUX.1-schnell", label="FLUX.1 [schnell]", kind="image", family="flux",
        source=_HF + "black-forest-labs/FLUX.1-schnell", params_b=12.0, license="apache-2.0",
        release="2024-08-01",
        notes="Timestep-distilled: 1-4 steps, no guidance. Not gated (FLUX.1-dev is).",
    ),
    # --- pipeline task defaults ---
    ModelSpec(
        id="distilbert/distilbert-base-uncased-finetuned-sst-2-english", label="DistilBERT SST-2",
        kind="pipeline", family="distilbert",
        source=_HF + "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
        params_b=0.067, context=512, license="apache-2.0", cpu_friendly=True, tasks=("sentiment-analysis",),
    ),
    ModelSpec(
        id="facebook/bart-large-mnli", label="BART large MNLI", kind="pipeline", family="bart",
        source=_HF + "facebook/bart-large-mnli", params_b=0.407, context=1024, license="mit", cpu_friendly=True,
        tasks=("zero-shot-classification",),
    ),
    ModelSpec(
        id="dslim/bert-base-NER", label="BERT base NER", kind="pipeline", family="bert",
        source=_HF + "dslim/bert-base-NER", params_b=0.108, context=512, license="mit", cpu_friendly=True,
        tasks=("ner",), notes="CoNLL-2003 entities: PER, ORG, LOC, MISC.",
    ),
    ModelSpec(
        id="distilbert/distilbert-base-cased-distilled-squad", label="DistilBERT SQuAD", kind="pipeline",
        family="distilbert", source=_HF + "distilbert/distilbert-base-cased-distilled-squad", context=512,
        license="apache-2.0", cpu_friendly=True, tasks=("question-answering",),
    ),
    ModelSpec(
        id="sshleifer/distilbart-cnn-12-6", label="DistilBART CNN 12-6", kind="pipeline", family="bart",
        source=_HF + "sshleifer/distilbart-cnn-12-6", params_b=0.306, context=1024, license="apache-2.0",
        cpu_friendly=True, tasks=("summarization",),
    ),
    ModelSpec(
        id="Helsinki-NLP/opus-mt-en-fr", label="OPUS-MT en→fr", kind="pipeline", family="marian",
        source=_HF + "Helsinki-NLP/opus-mt-en-fr", context=512, license="apache-2.0", cpu_friendly=True,
        tasks=("translation",), extra={"src_lang": "en", "tgt_lang": "fr"},
    ),
    ModelSpec(
        id="Helsinki-NLP/opus-mt-en-de", label="OPUS-MT en→de", kind="pipeline", family="marian",
        source=_HF + "Helsinki-NLP/opus-mt-en-de", context=512, license="cc-by-4.0", cpu_friendly=True,
        tasks=("translation",), extra={"src_lang": "en", "tgt_lang": "de"},
    ),
    ModelSpec(
        id="Helsinki-NLP/opus-mt-en-es", label="OPUS-MT en→es", kind="pipeline", family="marian",
        source=_HF + "Helsinki-NLP/opus-mt-en-es", context=512, license="apache-2.0", cpu_friendly=True,
        tasks=("translation",), extra={"src_lang": "en", "tgt_lang": "es"},
    ),
    ModelSpec(
        id="distilbert/distilroberta-base", label="DistilRoBERTa base", kind="pipeline", family="roberta",
        source=_HF + "distilbert/distilroberta-base", params_b=0.082, context=512, license="apache-2.0",
        cpu_friendly=True, tasks=("fill-mask",), notes="Mask token is <mask>.",
    ),
    ModelSpec(
        id="sentence-transformers/all-MiniLM-L6-v2", label="all-MiniLM-L6-v2", kind="pipeline", family="minilm",
        source=_HF + "sentence-transformers/all-MiniLM-L6-v2", params_b=0.0227, license="apache-2.0",
        cpu_friendly=True, tasks=("feature-extraction",),
        notes="384-dim sentence embeddings; input truncated at 256 word pieces.",
    ),
    ModelSpec(
        id="facebook/mms-tts-eng", label="MMS-TTS English", kind="pipeline", family="vits",
        source=_HF + "facebook/mms-tts-eng", license="cc-by-nc-4.0", release="2023-05", cpu_friendly=True,
        tasks=("text-to-speech",), notes="VITS voice from Massively Multilingual Speech; 16 kHz output.",
    ),
    ModelSpec(
        id="facebook/musicgen-small", label="MusicGen small", kind="pipeline", family="musicgen",
        source=_HF + "facebook/musicgen-small", params_b=0.3, license="cc-by-nc-4.0", release="2023-06",
        cpu_friendly=True, tasks=("text-to-audio",), notes="32 kHz music from a text prompt.",
    ),
)


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

# Weight bytes per parameter for each explicit quantization ("auto" must be resolved by the caller).
BYTES_PER_PARAM: dict[str, float] = {"4bit": 0.5, "8bit": 1.0, "bf16": 2.0, "fp16": 2.0, "fp32": 4.0}
_NF4_EXTRA = 1.10  # quantization constants + embeddings/head left unquantized
_RUNTIME_OVERHEAD = 1.15  # activations, KV cache, CUDA context


def default_for(role: str, device: str) -> str:
    """The model a tab starts with for ``role`` on ``device``: the GPU pick on CUDA, the CPU pick elsewhere (a CPU
    box or an Apple laptop: small models that run without CUDA).

    Args:
        role: chat, chat_alt, code_local, code_frontier, code_open, asr, image, minutes.
        device: "cuda", "mps" or "cpu".

    Returns:
        A catalog id.

    Raises:
        KeyError: an unknown role.
    """
    if role in _DEVICE_FREE_ROLES:
        return DEFAULTS[role]
    if role == "image":  # FLUX is the GPU pick; "image" keeps its historical key
        return DEFAULTS["image" if device == "cuda" else "image_cpu"]
    return DEFAULTS[f"{role}_{'gpu' if device == 'cuda' else 'cpu'}"]


def get(model_id: str) -> ModelSpec | None:
    """The catalog entry for ``model_id`` (exact id), or None."""
    return _BY_ID.get(model_id)


def by_kind(kind: str) -> list[ModelSpec]:
    """Catalog entries of one kind, in catalog order."""
    return [s for s in CATALOG if s.kind == kind]


def all_specs() -> tuple[ModelSpec, ...]:
    """The whole catalog."""
    return CATALOG


def task_models(task: str) -> list[ModelSpec]:
    """Catalog entries offered for a pipeline task, in catalog order.

    Args:
        task: a pipeline task key such as ``"translation"``.

    Returns:
        The entries whose ``tasks`` contain ``task`` (empty when none).
    """
    return [s for s in CATALOG if task in s.tasks]


def task_default(task: str) -> str | None:
    """The default model id for a pipeline task: the first catalog entry offering it.

    Args:
        task: a pipeline task key such as ``"sentiment-analysis"``.

    Returns:
        A catalog id, or None for an unknown task.
    """
    models = task_models(task)
    return models[0].id if models else None


def _params_of(spec_or_params_b: ModelSpec | float | str | None) -> float | None:
    if isinstance(spec_or_params_b, ModelSpec):
        return None if spec_or_params_b.is_remote else spec_or_params_b.params_b
    if isinstance(spec_or_params_b, str):
        spec = get(spec_or_params_b)
        return _params_of(spec) if spec else None
    return float(spec_or_params_b) if spec_or_params_b is not None else None


def estimate_memory_bytes(spec_or_params_b: ModelSpec | float | str | None, quantization: str) -> int | None:
    """Rough memory needed to run a model locally: weights at ``quantization`` plus ~15% runtime overhead.

    Args:
        spec_or_params_b: a ModelSpec, a catalog id, or a parameter count in billions.
        quantization: one of ``4bit``, ``8bit``, ``bf16``, ``fp16``, ``fp32`` (resolve ``auto`` first).

    Returns:
        Bytes, or None when the parameter count is unknown or the model runs remotely.

    Raises:
        ValueError: for a quantization outside ``BYTES_PER_PARAM``.
    """
    if quantization not in BYTES_PER_PARAM:
        raise ValueError(f"unknown quantization {quantization!r}; expected one of {', '.join(BYTES_PER_PARAM)}")
    params_b = _params_of(spec_or_params_b)
    if params_b is None or params_b <= 0:
        return None
    weights = params_b * 1e9 * BYTES_PER_PARAM[quantization]
    if quantization == "4bit":
        weights *= _NF4_EXTRA
    return int(weights * _RUNTIME_OVERHEAD)


def chinchilla_ratio(spec: ModelSpec) -> float | None:
    """Pretraining tokens per parameter (Chinchilla-optimal is ~20).

    Args:
        spec: a catalog entry.

    Returns:
        The ratio, or None when the token count or the parameter count is unpublished.
    """
    if not spec.training_tokens_t or not spec.params_b:
        return None
    return spec.training_tokens_t * 1e12 / (spec.params_b * 1e9)


# --------------------------------------------------------------- facts that decide a choice (Compare tab)

# The rule of thumb: compute-optimal training uses ~20 tokens per parameter (Hoffmann et al. 2022, rounded).
CHINCHILLA_TOKENS_PER_PARAM = 20.0
CHINCHILLA_SOURCE = "https://arxiv.org/abs/2203.15556"
# The paper's own compute-optimal estimate (Approach 1, its Table 3): N_opt = G · C^a, D_opt = C / (6 · N_opt).
# The paper reports a = 0.50 and prints the table, not G; a and G are the least-squares fit of log N on log C over
# Table 3's nine rows (every row reproduced within 0.3 % in N).
CHINCHILLA_A = 0.4981
CHINCHILLA_G = 0.09916
# Table 3 of the paper: (parameters, FLOPs, tokens) — what the fit above reproduces (tests check it).
CHINCHILLA_TABLE3 = (
    (400e6, 1.92e19, 8.0e9), (1e9, 1.21e20, 20.2e9), (10e9, 1.23e22, 205.1e9), (67e9, 5.76e23, 1.5e12),
    (175e9, 3.85e24, 3.7e12), (280e9, 9.90e24, 5.9e12), (520e9, 3.43e25, 11.0e12), (1e12, 1.27e26, 21.2e12),
    (10e12, 1.30e28, 216.2e12),
)
# Approach 3's fitted parametric loss L(N, D) = E + A / N^alpha + B / D^beta (nats per token on MassiveText).
CHINCHILLA_LOSS = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def chinchilla_optimal(flops: float) -> tuple[float, float]:
    """The paper's compute-optimal (parameters, tokens) for a training budget of ``flops`` (Approach 1, Table 3).

    Args:
        flops: training compute C in FLOPs (> 0).

    Returns:
        (N_opt, D_opt) with C = 6 · N_opt · D_opt.
    """
    n = CHINCHILLA_G * float(flops) ** CHINCHILLA_A
    return n, float(flops) / (6 * n)


def chinchilla_loss(params: float, tokens: float) -> float:
    """The paper's fitted loss L(N, D) (Approach 3) for N parameters trained on D tokens."""
    k = CHINCHILLA_LOSS
    return k["E"] + k["A"] / params ** k["alpha"] + k["B"] / tokens ** k["beta"]


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


@dataclass(frozen=True)
class ChinchillaResult:
    """Training compute arithmetic: N parameters, D tokens, C ≈ 6·N·D FLOPs, and the compute-optimal split for the
    same C twice: by the 20-tokens-per-parameter rule of thumb, and by the paper's fitted estimate (Table 3)."""

    params: float
    tokens: float
    flops: float
    tokens_per_param: float
    optimal_tokens_for_params: float  # rule of thumb: 20 · N
    optimal_params_for_flops: float  # rule of thumb: sqrt(C / 120)
    optimal_tokens_for_flops: float
    paper_params_for_flops: float = 0.0  # the paper's estimate (Approach 1)
    paper_tokens_for_flops: float = 0.0
    predicted_loss: float | None = None  # the paper's Approach 3 loss at (N, D)


def chinchilla(params: float | None = None, tokens: float | None = None,
               flops: float | None = None) -> ChinchillaResult:
    """Solve C = 6·N·D from what is given, and the compute-optimal N and D for the same compute, both by the rule of
    thumb (D = 20·N) and by the paper's fitted estimate (``chinchilla_optimal``).

    Given N and D: C follows. Given one of them and C: the other follows. Given only C: the rule-of-thumb optimal N
    and D. Given only N: D = 20·N. Given only D: N = D / 20. (All three given: C is recomputed from N and D.)

    Args:
        params: N, parameters (a count, not billions).
        tokens: D, training tokens (a count).
        flops: C, training FLOPs.

    Returns:
        The filled-in numbers.

    Raises:
        ValueError: nothing positive given, or a negative number.
    """
    n, d, c = ((float(x) if x else 0.0) for x in (params, tokens, flops))
    if min(n, d, c) < 0 or not (n or d or c):
        raise ValueError("give at least one positive number: parameters, tokens or FLOPs")
    r = CHINCHILLA_TOKENS_PER_PARAM
    if n and d:
        c = 6 * n * d
    elif n and c:
        d = c / (6 * n)
    elif d and c:
        n = c / (6 * d)
    elif c:
        n = (c / (6 * r)) ** 0.5
        d = r * n
    elif n:
        d = r * n
        c = 6 * n * d
    else:
        n = d / r
        c = 6 * n * d
    n_opt = (c / (6 * r)) ** 0.5
    paper_n, paper_d = chinchilla_optimal(c)
    return ChinchillaResult(params=n, tokens=d, flops=c, tokens_per_param=d / n, optimal_tokens_for_params=r * n,
                            optimal_params_for_flops=n_opt, optimal_tokens_for_flops=r * n_opt,
                            paper_params_for_flops=paper_n, paper_tokens_for_flops=paper_d,
                            predicted_loss=chinchilla_loss(n, d))
