"""Catalog data: the models of the task tabs (text generation, speech recognition, image, Pipelines tasks), in
display order; the first entry offering a task is that task's default.

Every fact comes from the page named in ``source`` (the model card) or ``price_source`` (a pricing page); unknown or
unpublished facts stay ``None``. Units: see ``engines.registry``.
"""

from __future__ import annotations

from engines.registry.spec import HF, OPENAI_DOCS, OPENAI_PRICING, ModelSpec

PIPELINE_MODELS: tuple[ModelSpec, ...] = (
    # --- text generation / tokenizer preset ---
    ModelSpec(
        id="openai-community/gpt2", label="GPT-2", kind="pipeline", family="gpt2",
        source=HF + "openai-community/gpt2", params_b=0.124, context=1024, license="mit", release="2019-02-14",
        cpu_friendly=True, tasks=("text-generation",),
        notes="Byte-level BPE tokenizer, no chat template.",
    ),
    # --- speech recognition (local Whisper first: tiny is the pipeline default) ---
    ModelSpec(
        id="openai/whisper-tiny", label="Whisper tiny", kind="asr", family="whisper",
        source=HF + "openai/whisper-tiny", params_b=0.039, license="apache-2.0", release="2022-09-21",
        cpu_friendly=True, tasks=("automatic-speech-recognition",),
        notes="Trained on 680k hours of audio.",
    ),
    ModelSpec(
        id="openai/whisper-base", label="Whisper base", kind="asr", family="whisper",
        source=HF + "openai/whisper-base", params_b=0.074, license="apache-2.0", release="2022-09-21",
        cpu_friendly=True, tasks=("automatic-speech-recognition",),
    ),
    ModelSpec(
        id="openai/whisper-small", label="Whisper small", kind="asr", family="whisper",
        source=HF + "openai/whisper-small", params_b=0.244, license="apache-2.0", release="2022-09-21",
        cpu_friendly=True, tasks=("automatic-speech-recognition",),
    ),
    ModelSpec(
        id="openai/whisper-medium", label="Whisper medium", kind="asr", family="whisper",
        source=HF + "openai/whisper-medium", params_b=0.769, license="apache-2.0", release="2022-09-21",
    ),
    ModelSpec(
        id="openai/whisper-large-v3", label="Whisper large-v3", kind="asr", family="whisper",
        source=HF + "openai/whisper-large-v3", params_b=1.55, license="apache-2.0", release="2023-11-06",
        notes="1M hours weakly labelled + 4M hours pseudo-labelled audio.",
    ),
    ModelSpec(
        id="openai/whisper-large-v3-turbo", label="Whisper large-v3 turbo", kind="asr", family="whisper",
        source=HF + "openai/whisper-large-v3-turbo", params_b=0.809, license="mit", release="2024-10-01",
        notes="large-v3 pruned to 4 decoder layers: much faster, slightly less accurate.",
    ),
    ModelSpec(
        id="Systran/faster-whisper-small", label="faster-whisper small", kind="asr", family="whisper",
        source=HF + "Systran/faster-whisper-small", params_b=0.244, license="mit", cpu_friendly=True,
        notes="CTranslate2 conversion of whisper-small; runs with faster-whisper, no torch.",
        extra={"ctranslate2": True},
    ),
    ModelSpec(
        id="openai:whisper-1", label="Whisper (OpenAI API)", kind="asr", family="whisper",
        source=OPENAI_DOCS + "whisper-1", license="proprietary", open_weights=False, release="2023-03-01",
        price_per_min=0.006, price_source=OPENAI_PRICING,
        notes="Billed per audio minute, not per token.",
    ),
    ModelSpec(
        id="openai:gpt-4o-mini-transcribe", label="GPT-4o mini transcribe", kind="asr", family="gpt-4o",
        source=OPENAI_DOCS + "gpt-4o-mini-transcribe", license="proprietary", open_weights=False,
        release="2025-03-20", price_in=3.00, price_out=5.00, price_per_min=0.003, price_source=OPENAI_PRICING,
        notes="price_in is per 1M audio input tokens (text prompt tokens: $1.25/1M); ~$0.003/min.",
    ),
    # --- image (the small CPU model first: it is the pipeline default) ---
    ModelSpec(
        id="stabilityai/sd-turbo", label="SD-Turbo", kind="image", family="stable-diffusion",
        source=HF + "stabilityai/sd-turbo", license="sai-nc-community", release="2023-11-28", cpu_friendly=True,
        tasks=("text-to-image",),
        notes="Distilled SD 2.1, 1-4 steps at 512x512, guidance_scale=0. Non-commercial research licence.",
    ),
    ModelSpec(
        id="black-forest-labs/FLUX.1-schnell", label="FLUX.1 [schnell]", kind="image", family="flux",
        source=HF + "black-forest-labs/FLUX.1-schnell", params_b=12.0, license="apache-2.0",
        release="2024-08-01",
        notes="Timestep-distilled: 1-4 steps, no guidance. Not gated (FLUX.1-dev is).",
    ),
    # --- pipeline task defaults ---
    ModelSpec(
        id="distilbert/distilbert-base-uncased-finetuned-sst-2-english", label="DistilBERT SST-2",
        kind="pipeline", family="distilbert",
        source=HF + "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
        params_b=0.067, context=512, license="apache-2.0", cpu_friendly=True, tasks=("sentiment-analysis",),
    ),
    ModelSpec(
        id="facebook/bart-large-mnli", label="BART large MNLI", kind="pipeline", family="bart",
        source=HF + "facebook/bart-large-mnli", params_b=0.407, context=1024, license="mit", cpu_friendly=True,
        tasks=("zero-shot-classification",),
    ),
    ModelSpec(
        id="dslim/bert-base-NER", label="BERT base NER", kind="pipeline", family="bert",
        source=HF + "dslim/bert-base-NER", params_b=0.108, context=512, license="mit", cpu_friendly=True,
        tasks=("ner",), notes="CoNLL-2003 entities: PER, ORG, LOC, MISC.",
    ),
    ModelSpec(
        id="distilbert/distilbert-base-cased-distilled-squad", label="DistilBERT SQuAD", kind="pipeline",
        family="distilbert", source=HF + "distilbert/distilbert-base-cased-distilled-squad", context=512,
        license="apache-2.0", cpu_friendly=True, tasks=("question-answering",),
    ),
    ModelSpec(
        id="sshleifer/distilbart-cnn-12-6", label="DistilBART CNN 12-6", kind="pipeline", family="bart",
        source=HF + "sshleifer/distilbart-cnn-12-6", params_b=0.306, context=1024, license="apache-2.0",
        cpu_friendly=True, tasks=("summarization",),
    ),
    ModelSpec(
        id="Helsinki-NLP/opus-mt-en-fr", label="OPUS-MT en→fr", kind="pipeline", family="marian",
        source=HF + "Helsinki-NLP/opus-mt-en-fr", context=512, license="apache-2.0", cpu_friendly=True,
        tasks=("translation",), extra={"src_lang": "en", "tgt_lang": "fr"},
    ),
    ModelSpec(
        id="Helsinki-NLP/opus-mt-en-de", label="OPUS-MT en→de", kind="pipeline", family="marian",
        source=HF + "Helsinki-NLP/opus-mt-en-de", context=512, license="cc-by-4.0", cpu_friendly=True,
        tasks=("translation",), extra={"src_lang": "en", "tgt_lang": "de"},
    ),
    ModelSpec(
        id="Helsinki-NLP/opus-mt-en-es", label="OPUS-MT en→es", kind="pipeline", family="marian",
        source=HF + "Helsinki-NLP/opus-mt-en-es", context=512, license="apache-2.0", cpu_friendly=True,
        tasks=("translation",), extra={"src_lang": "en", "tgt_lang": "es"},
    ),
    ModelSpec(
        id="distilbert/distilroberta-base", label="DistilRoBERTa base", kind="pipeline", family="roberta",
        source=HF + "distilbert/distilroberta-base", params_b=0.082, context=512, license="apache-2.0",
        cpu_friendly=True, tasks=("fill-mask",), notes="Mask token is <mask>.",
    ),
    ModelSpec(
        id="sentence-transformers/all-MiniLM-L6-v2", label="all-MiniLM-L6-v2", kind="pipeline", family="minilm",
        source=HF + "sentence-transformers/all-MiniLM-L6-v2", params_b=0.0227, license="apache-2.0",
        cpu_friendly=True, tasks=("feature-extraction",),
        notes="384-dim sentence embeddings; input truncated at 256 word pieces.",
    ),
    ModelSpec(
        id="facebook/mms-tts-eng", label="MMS-TTS English", kind="pipeline", family="vits",
        source=HF + "facebook/mms-tts-eng", license="cc-by-nc-4.0", release="2023-05", cpu_friendly=True,
        tasks=("text-to-speech",), notes="VITS voice from Massively Multilingual Speech; 16 kHz output.",
    ),
    ModelSpec(
        id="facebook/musicgen-small", label="MusicGen small", kind="pipeline", family="musicgen",
        source=HF + "facebook/musicgen-small", params_b=0.3, license="cc-by-nc-4.0", release="2023-06",
        cpu_friendly=True, tasks=("text-to-audio",), notes="32 kHz music from a text prompt.",
    ),
)

