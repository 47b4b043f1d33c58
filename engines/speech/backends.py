"""Which backend runs a speech model (faster-whisper, transformers, an OpenAI-compatible API), and loading it.

English-only Whisper checkpoints are recognised here (``LoadedAsr.multilingual``, ``takes_language``) so that no
caller passes them ``task``/``language``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engines import errors, registry
from engines.cache import CacheKey, model_cache
from engines.config import Settings
from engines.loading import hub_kwargs, map_load_error
from engines.refs import ModelRef, parse_ref

API_ASR = "openai"  # the speech engine's name for transcription through a served endpoint


@dataclass(frozen=True)
class AsrPlan:
    """Which backend runs a reference, and why (``notice`` when the choice differs from the request)."""

    ref: ModelRef
    backend: str  # API_ASR ("openai": a served transcription endpoint) | "faster-whisper" | "transformers"
    notice: str | None = None


def default_model(settings: Settings | None = None) -> str:
    """The default speech model: Whisper large-v3 turbo on a GPU, faster-whisper small on CPU (which runs as
    transformers Whisper small, with a notice, when faster-whisper is not installed)."""
    settings = settings or Settings.current()
    return registry.default_for("asr", settings.device)


def has_faster_whisper() -> bool:
    """Whether the optional faster-whisper package (CTranslate2) can be imported."""
    import importlib.util

    return importlib.util.find_spec("faster_whisper") is not None


def is_ctranslate2(ref: ModelRef) -> bool:
    """A CTranslate2 conversion (``model.bin``, no transformers weights), by its files or its catalog facts."""
    if ref.path is not None:
        return (ref.path / "model.bin").is_file() and not any(ref.path.glob("*.safetensors"))
    spec = ref.spec
    return bool(spec and spec.extra.get("ctranslate2"))


def plan_backend(model: str | None, settings: Settings | None = None) -> AsrPlan:
    """Validate the reference and choose the backend, before any audio is read.

    Raises:
        InvalidModelRef, ModelNotAllowed: a bad reference. Unsupported: a remote kind without transcription, or a
            local CTranslate2 folder without faster-whisper installed.
    """
    settings = settings or Settings.current()
    ref = parse_ref(model or default_model(settings), settings)
    from engines.backends.registry import capabilities

    caps = capabilities(ref, settings)
    if not caps.local and caps.transcription:
        return AsrPlan(ref, API_ASR)
    if not caps.local:
        raise errors.Unsupported(f"'{ref.raw}': transcription is available through openai: models (e.g. "
                                 "openai:whisper-1), named vLLM-like endpoints or a local Whisper, not through this "
                                 "server.")
    if not is_ctranslate2(ref):
        return AsrPlan(ref, "transformers")
    if has_faster_whisper():
        return AsrPlan(ref, "faster-whisper")
    twin = ref.name.replace("Systran/faster-whisper-", "openai/whisper-")
    if ref.kind == "hub" and twin != ref.name and registry.get(twin):
        return AsrPlan(parse_ref(twin, settings), "transformers",
                       f"faster-whisper is not installed, so '{ref.name}' ran as '{twin}' with transformers "
                       "(same model; pip install faster-whisper for faster CPU transcription).")
    raise errors.Unsupported(f"'{ref.display}' is a CTranslate2 model: it needs faster-whisper (pip install "
                             "faster-whisper), or pick a transformers Whisper such as openai/whisper-small.")


def normalize_language(language: str | None) -> str | None:
    """An ISO code from a code or an English name ("fr", "French"); None / "" / "auto" = detect.

    Raises:
        InvalidInput: a language Whisper does not know.
    """
    text = (language or "").strip().lower()
    if text in ("", "auto", "detect", "none"):
        return None
    from transformers.models.whisper.tokenization_whisper import LANGUAGES, TO_LANGUAGE_CODE

    code = text if text in LANGUAGES else TO_LANGUAGE_CODE.get(text)
    if code is None:
        raise errors.InvalidInput(f"Whisper does not know the language '{language}'. Use an ISO code such as en, "
                                  "fr, de, es, or leave it on auto.")
    return code


@dataclass
class LoadedAsr:
    """A loaded local speech model and how it runs.

    ``multilingual`` is False for English-only checkpoints (``*.en``): they take no ``task``/``language``.
    """

    runner: Any  # a transformers pipeline or a faster_whisper.WhisperModel
    backend: str
    device: str
    dtype: str
    footprint_bytes: int
    multilingual: bool = True

    def get_memory_footprint(self) -> int:
        """Bytes the weights hold (for the cache budget)."""
        return self.footprint_bytes


def takes_language(model: Any) -> bool:
    """Whether a transformers Whisper accepts ``task=``/``language=`` in ``generate``.

    False for English-only checkpoints (``is_multilingual: false`` in the generation config, as every ``*.en``
    model has) and for generation configs without the language and task tables; transformers refuses both.
    """
    gc = getattr(model, "generation_config", None)
    if gc is None or getattr(model.config, "model_type", "") != "whisper":
        return False
    return getattr(gc, "is_multilingual", None) is not False and hasattr(gc, "lang_to_id") and \
        hasattr(gc, "task_to_id")


def _load_transformers(ref: ModelRef, device: str) -> LoadedAsr:
    import torch
    from transformers import AutoModelForSpeechSeq2Seq, AutoProcessor, pipeline

    dtype = torch.float16 if device == "cuda" else torch.float32
    try:
        model = AutoModelForSpeechSeq2Seq.from_pretrained(ref.target, dtype=dtype, attn_implementation="sdpa",
                                                          trust_remote_code=False, **hub_kwargs(ref))
        processor = AutoProcessor.from_pretrained(ref.target, trust_remote_code=False, **hub_kwargs(ref))
    except Exception as exc:
        raise map_load_error(exc, ref) from exc
    if getattr(model.config, "model_type", "") != "whisper":
        raise errors.Unsupported(f"'{ref.display}' is a {type(model).__name__}: speech to text here runs Whisper "
                                 "models (transformers or faster-whisper) or openai: transcription models.")
    model.to(device).eval()
    pipe = pipeline("automatic-speech-recognition", model=model, tokenizer=processor.tokenizer,
                    feature_extractor=processor.feature_extractor, device=model.device, ignore_warning=True)
    return LoadedAsr(pipe, "transformers", device, str(dtype).removeprefix("torch."),
                     int(model.get_memory_footprint()), multilingual=takes_language(model))


def _load_ct2(ref: ModelRef, device: str) -> LoadedAsr:
    from faster_whisper import WhisperModel

    if ref.path is not None and not (ref.path / "tokenizer.json").is_file():
        # without it faster-whisper downloads a tokenizer from the Hub
        raise errors.Unsupported(f"'{ref.display}' has no tokenizer.json. Convert with ct2-transformers-converter "
                                 "--copy_files tokenizer.json (faster-whisper would otherwise download one).")
    compute = "float16" if device == "cuda" else "int8"
    try:
        model = WhisperModel(ref.target, device="cuda" if device == "cuda" else "cpu", compute_type=compute,
                             cpu_threads=os.cpu_count() or 0, local_files_only=bool(hub_kwargs(ref)))
    except Exception as exc:
        raise map_load_error(exc, ref) from exc
    _match_mel_bins(model)
    folder = Path(getattr(model, "model_path", "") or ref.target)
    size = sum(f.stat().st_size for f in folder.glob("model.bin")) if folder.is_dir() else 0
    return LoadedAsr(model, "faster-whisper", device, compute, size, multilingual=bool(model.model.is_multilingual))


def _match_mel_bins(model) -> None:
    """A folder without preprocessor_config.json gets faster-whisper's default 80 mel bins; large-v3 reads 128."""
    from faster_whisper.feature_extractor import FeatureExtractor

    n_mels = int(getattr(model.model, "n_mels", 0) or 0)
    if n_mels and model.feature_extractor.mel_filters.shape[0] != n_mels:
        model.feat_kwargs = {**model.feat_kwargs, "feature_size": n_mels}
        model.feature_extractor = FeatureExtractor(**model.feat_kwargs)


def load_asr(plan: AsrPlan) -> tuple[LoadedAsr, bool, float]:
    """Load (or fetch from the cache) the local model of a plan.

    Returns:
        (loaded, cache_hit, seconds)
    """
    from engines.gpu import torch_device

    if plan.backend == "faster-whisper":
        import ctranslate2

        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        loader = _load_ct2
    else:
        device = torch_device()
        device = "cpu" if device == "mps" else device  # Whisper fp16 on MPS is unreliable; CPU is safe
        loader = _load_transformers
    result = model_cache().get_with_info(CacheKey("asr", plan.ref.target, plan.backend, device),
                                         lambda: loader(plan.ref, device))
    return result.value, result.hit, result.seconds


def check_language(loaded: LoadedAsr, language: str | None, model: str) -> None:
    """Refuse a non-English language for an English-only model (it would transcribe English regardless).

    Raises:
        InvalidInput: an English-only model and a language other than English.
    """
    if not loaded.multilingual and language not in (None, "en"):
        raise errors.InvalidInput(f"'{model}' is an English-only Whisper model: it cannot transcribe '{language}'. "
                                  "Leave the language on auto (or English), or choose a multilingual Whisper such "
                                  "as openai/whisper-small.")


