"""Every transformers pipeline task behind one function: ``run_task(task, inputs, model=...)``.

Tasks that still exist as transformers 5 pipelines run through ``pipeline()``; the ones transformers 5 removed
(summarization, translation, question answering) run on the Auto classes (seq2seq ``generate()``, extractive QA
from start/end logits) so every task looks alike to the caller. Text-to-image goes through ``engines.images``.

Models load lazily through ``model_cache()`` (one load per task/model/device, single flight) and each loaded model
has a lock: fast tokenizers are not safe to call from two threads at once.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from engines import errors, registry
from engines.cache import CacheKey, model_cache
from engines.config import Settings
from engines.gpu import gpu
from engines.loading import hub_kwargs, map_load_error
from engines.refs import ModelRef, parse_ref

log = logging.getLogger(__name__)

INPUT_KEYS = ("text", "text_pair", "labels", "question", "context", "src_lang", "tgt_lang", "audio")
MAX_LABELS = 50
MAX_AUDIO_TEXT_CHARS = 2_000
SAMPLE_RATE = 16_000
WINDOW_S = 30.0  # Whisper reads 30 s windows; longer audio is transcribed window by window (with progress)
LANGUAGES = {"en": "English", "fr": "French", "de": "German", "es": "Spanish", "it": "Italian", "pt": "Portuguese",
             "nl": "Dutch", "ro": "Romanian", "ru": "Russian", "zh": "Chinese", "ja": "Japanese"}
ProgressFn = Callable[..., None]


@dataclass(frozen=True)
class TaskSpec:
    """One task: its key, a label, the default model, the input keys it reads, an example, and its output kind.

    ``options`` maps optional input keys (lengths, seeds, sizes, ...) to their defaults.
    """

    name: str
    label: str
    default_model: str
    inputs: tuple[str, ...]
    example: dict
    kind: str
    family: str
    description: str = ""
    options: dict = field(default_factory=dict)


@dataclass
class TaskResult:
    """What ``run_task`` returns.

    ``kind`` → ``value``: "labels" → [{label, score}]; "entities" → [{entity, word, start, end, score}];
    "answer" → {answer, score, start, end}; "text" → str; "audio" → (sampling_rate, numpy array);
    "image" → PIL.Image; "embedding" → {vector: list[float], similarity: float | None}.
    ``seconds`` is the run time (model load excluded: see ``load_s``).
    """

    kind: str
    value: Any
    seconds: float
    task: str = ""
    model: str = ""
    device: str = ""
    load_s: float = 0.0
    cached: bool = False
    notice: str | None = None
    code: str = ""
    details: dict = field(default_factory=dict)


def _task(name, label, kind, family, inputs, example, description, **options) -> TaskSpec:
    return TaskSpec(name=name, label=label, default_model=registry.task_default(name) or "", inputs=inputs,
                    example=example, kind=kind, family=family, description=description, options=options)


_STORY = ("The new library opened on Saturday in the old railway station. Hundreds of families came to see the "
          "reading rooms, the children's corner and the café on the former platform. The mayor said the building "
          "had been empty for twenty years and now belongs to the whole town again.")
TASKS: dict[str, TaskSpec] = {t.name: t for t in (
    _task("sentiment-analysis", "Sentiment analysis", "labels", "classify", ("text",),
          {"text": "The ending surprised me: clever, warm and never slow. I'd watch it again tomorrow."},
          "Positive or negative, with a score per label."),
    _task("zero-shot-classification", "Zero-shot classification", "labels", "classify", ("text", "labels"),
          {"text": "The striker scored twice in the last ten minutes and the crowd went wild.",
           "labels": ["sports", "politics", "cooking", "technology"]},
          "Scores for labels you choose, with no training (an NLI model).", multi_label=False),
    _task("ner", "Named entity recognition", "entities", "classify", ("text",),
          {"text": "Ada Lovelace worked with Charles Babbage in London on the Analytical Engine."},
          "People, organisations, places and more, found in the text (grouped entities)."),
    _task("question-answering", "Question answering", "answer", "answer", ("question", "context"),
          {"question": "Where did the new library open?", "context": _STORY},
          "Finds the answer span inside a context (extractive QA)."),
    _task("summarization", "Summarization", "text", "text", ("text",), {"text": _STORY},
          "A short summary from an encoder-decoder model.", min_length=10, max_length=60),
    _task("translation", "Translation", "text", "text", ("text", "src_lang", "tgt_lang"),
          {"text": "The library opens at nine and closes at six.", "src_lang": "en", "tgt_lang": "fr"},
          "Translate between a language pair (OPUS-MT models, one per pair)."),
    _task("text-generation", "Text generation", "text", "text", ("text",),
          {"text": "Once upon a time, in a library inside an old railway station,"},
          "Continue a prompt with a causal language model.", max_new_tokens=40, temperature=0.0),
    _task("fill-mask", "Fill-mask", "labels", "classify", ("text",),
          {"text": "Paris is the <mask> of France."}, "The most likely words for the mask.", top_k=5),
    _task("feature-extraction", "Sentence embeddings", "embedding", "embed", ("text", "text_pair"),
          {"text": "A man is playing a guitar.", "text_pair": "Someone plays an instrument."},
          "A sentence vector (mean pooled) and the cosine similarity of two texts."),
    _task("automatic-speech-recognition", "Speech to text", "text", "audio_in", ("audio",), {},
          "Transcribe a recording or the microphone (Whisper).", language=None, max_new_tokens=128),
    _task("text-to-speech", "Text to speech", "audio", "audio_out", ("text",),
          {"text": "Hello! This sentence was spoken by a small open model."}, "Read a text aloud."),
    _task("text-to-audio", "Text to audio (music)", "audio", "audio_out", ("text",),
          {"text": "a calm lo-fi beat with soft piano and rain"}, "Sound or music from a description (MusicGen).",
          duration_s=5.0, seed=None),
    _task("text-to-image", "Text to image", "image", "image", ("text",),
          {"text": "a watercolor painting of a lighthouse at dawn"}, "An image from a prompt (diffusers).",
          seed=None, steps=2, width=512, height=512),
)}

# Model heads that fit each task (names of transformers' auto-mapping tables) and how to say what is missing.
_HEADS = {
    "sentiment-analysis": (("SEQUENCE_CLASSIFICATION",), "text-classification head"),
    "zero-shot-classification": (("SEQUENCE_CLASSIFICATION",), "NLI (entailment) classification head"),
    "ner": (("TOKEN_CLASSIFICATION",), "token-classification head"),
    "question-answering": (("QUESTION_ANSWERING",), "extractive question-answering head"),
    "summarization": (("SEQ_TO_SEQ_CAUSAL_LM",), "encoder-decoder (seq2seq) generation head"),
    "translation": (("SEQ_TO_SEQ_CAUSAL_LM",), "encoder-decoder (seq2seq) generation head"),
    "text-generation": (("CAUSAL_LM",), "causal language-model head"),
    "fill-mask": (("MASKED_LM",), "masked-language-model head"),
    "automatic-speech-recognition": (("SPEECH_SEQ_2_SEQ", "CTC"), "speech-recognition head"),
    "text-to-speech": (("TEXT_TO_WAVEFORM", "TEXT_TO_SPECTROGRAM"), "speech-synthesis head"),
    "text-to-audio": (("TEXT_TO_WAVEFORM", "TEXT_TO_SPECTROGRAM"), "audio-generation head"),
}
_PIPELINE_TASKS = {"sentiment-analysis", "zero-shot-classification", "ner", "text-generation", "fill-mask",
                   "automatic-speech-recognition", "text-to-speech", "text-to-audio"}


# ----------------------------------------------------------------------------------------------- public API


def task_names() -> list[str]:
    """Task keys in display order."""
    return list(TASKS)


def translation_pairs() -> list[tuple[str, str, str]]:
    """(src, tgt, catalog model id) for every catalog translation model."""
    return [(s.extra["src_lang"], s.extra["tgt_lang"], s.id) for s in registry.task_models("translation")
            if "src_lang" in s.extra and "tgt_lang" in s.extra]


def task_models(task: str) -> list[str]:
    """Catalog model ids offered for ``task`` (the default first)."""
    if task == "text-to-image":
        ids = [s.id for s in registry.by_kind("image")]
        default = TASKS[task].default_model
        return [default] + [i for i in ids if i != default] if default else ids
    return [s.id for s in registry.task_models(_spec(task).name)]


def run_task(task: str, inputs: dict, *, model: str | None = None, on_progress: ProgressFn | None = None
             ) -> TaskResult:
    """Run one pipeline task on a model.

    Args:
        task: a key of TASKS (e.g. "sentiment-analysis", "translation", "text-to-image").
        inputs: the task's input keys (see ``TASKS[task].inputs``: text, text_pair, labels, question, context,
            src_lang, tgt_lang, audio (a file path)) plus optional settings (``TASKS[task].options``).
        model: a catalog id, any Hub id or a local folder (where allowed); None = the task's default
            (for translation: the catalog model of the language pair).
        on_progress: optional ``on_progress(message, done=None, total=None)`` for loading and long work.

    Returns:
        A TaskResult (kind, value, seconds, plus model, device, load time, notice, and a code snippet).

    Raises:
        WorkbenchError: bad input, a model that cannot do this task, a load failure, or a run failure.
    """
    spec = _spec(task)
    inputs = dict(inputs or {})
    progress = on_progress or (lambda *a, **k: None)
    settings = Settings.from_env()  # once per call: reading it is not free (psutil, /proc)
    if spec.name == "text-to-image":
        return _run_image(inputs, model, progress, settings)
    _VALIDATORS.get(spec.name, _need_text)(inputs, settings)
    ref = _model_ref(spec, inputs, model, settings)
    loaded, load_s, hit = _load(spec.name, ref, progress)
    start = time.perf_counter()
    with loaded.lock:
        try:
            value, notice, details = _RUNNERS[spec.name](loaded, inputs, progress)
        except errors.WorkbenchError:
            raise
        except Exception as exc:
            raise _run_error(exc, ref, spec) from exc
    seconds = time.perf_counter() - start
    return TaskResult(kind=spec.kind, value=value, seconds=seconds, task=spec.name, model=ref.display,
                      device=loaded.device, load_s=load_s if not hit else loaded.load_s, cached=hit, notice=notice,
                      code=code_snippet(spec.name, ref.raw, inputs, details), details=details)


# ----------------------------------------------------------------------------------------------- validation


def _spec(task: str) -> TaskSpec:
    key = (task or "").strip().lower().replace("_", "-")
    key = {"sentiment": "sentiment-analysis", "text-classification": "sentiment-analysis",
           "token-classification": "ner", "asr": "automatic-speech-recognition", "tts": "text-to-speech",
           "qa": "question-answering", "embeddings": "feature-extraction"}.get(key, key)
    if key not in TASKS:
        raise errors.InvalidInput(f"Unknown task '{task}'. Choose one of: {', '.join(TASKS)}.")
    return TASKS[key]


def _clean_text(value: Any, settings: Settings, what: str = "text") -> str:
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    if not text.strip():
        raise errors.InvalidInput(f"The {what} is empty: type or paste some text first.")
    limit = settings.max_input_chars
    if len(text) > limit:
        raise errors.InvalidInput(f"The {what} has {len(text):,} characters; this app accepts at most {limit:,} "
                                  "(WORKBENCH_MAX_INPUT_CHARS).")
    return text


def _need_text(inputs: dict, settings: Settings) -> None:
    inputs["text"] = _clean_text(inputs.get("text"), settings)


def parse_labels(labels: Any) -> list[str]:
    """Candidate labels from a list or a comma/newline-separated string, de-duplicated, order kept.

    Raises:
        InvalidInput: no label, or more than MAX_LABELS.
    """
    if isinstance(labels, str):
        labels = labels.replace("\n", ",").split(",")
    items = [str(x).strip() for x in (labels or []) if str(x).strip()]
    items = list(dict.fromkeys(items))
    if not items:
        raise errors.InvalidInput("Zero-shot classification needs candidate labels: type a few, separated by commas "
                                  "(e.g. sports, politics, cooking).")
    if len(items) > MAX_LABELS:
        raise errors.InvalidInput(f"{len(items)} candidate labels is too many: each label is a separate pass of the "
                                  f"model. Use at most {MAX_LABELS}.")
    return items


def _validate_zero_shot(inputs: dict, settings: Settings) -> None:
    _need_text(inputs, settings)
    inputs["labels"] = parse_labels(inputs.get("labels"))


def _validate_qa(inputs: dict, settings: Settings) -> None:
    inputs["question"] = _clean_text(inputs.get("question"), settings, "question")
    inputs["context"] = _clean_text(inputs.get("context"), settings, "context")


def _validate_translation(inputs: dict, settings: Settings) -> None:
    _need_text(inputs, settings)
    src = (inputs.get("src_lang") or "en").strip().lower()
    tgt = (inputs.get("tgt_lang") or "").strip().lower()
    if not tgt:
        raise errors.InvalidInput("Choose the language to translate into (tgt_lang, e.g. 'fr').")
    if src == tgt:
        raise errors.InvalidInput(f"Source and target are both '{src}': pick two different languages.")
    inputs["src_lang"], inputs["tgt_lang"] = src, tgt


def _validate_embedding(inputs: dict, settings: Settings) -> None:
    _need_text(inputs, settings)
    pair = inputs.get("text_pair")
    inputs["text_pair"] = _clean_text(pair, settings, "second text") if pair and str(pair).strip() else None


def _validate_audio(inputs: dict, settings: Settings) -> None:
    audio = inputs.get("audio")
    if isinstance(audio, dict):  # gradio FileData-like
        audio = audio.get("path")
    if not audio or not str(audio).strip():
        raise errors.InvalidInput("No audio: upload a file or record with the microphone.")
    if not os.path.isfile(str(audio)):
        raise errors.InvalidInput("The audio file could not be found (upload it again).")
    inputs["audio"] = str(audio)
    check_audio_file(inputs["audio"])


def check_audio_file(path: str, limit_s: float | None = None) -> None:
    """Refuse an empty file or one longer than ``limit_s`` (default ``max_audio_seconds()``) before any model loads.

    Raises:
        InvalidInput: the file is empty or too long.
    """
    if os.path.getsize(path) == 0:
        raise errors.InvalidInput("The audio file is empty (0 bytes). Record or upload it again.")
    limit = max_audio_seconds() if limit_s is None else limit_s
    duration = _probe_duration(path)
    if duration is not None and duration > limit:
        raise errors.InvalidInput(f"The audio is {duration:.0f} s long; this app accepts at most {limit:.0f} s "
                                  "(WORKBENCH_MAX_AUDIO_S). Trim it first.")


def _validate_audio_text(inputs: dict, settings: Settings) -> None:
    _need_text(inputs, settings)
    if len(inputs["text"]) > MAX_AUDIO_TEXT_CHARS:
        raise errors.InvalidInput(f"The text has {len(inputs['text']):,} characters; audio generation here reads at "
                                  f"most {MAX_AUDIO_TEXT_CHARS:,}. Split it into shorter parts.")


_VALIDATORS: dict[str, Callable[[dict, Settings], None]] = {
    "zero-shot-classification": _validate_zero_shot, "question-answering": _validate_qa,
    "translation": _validate_translation, "feature-extraction": _validate_embedding,
    "automatic-speech-recognition": _validate_audio, "text-to-speech": _validate_audio_text,
    "text-to-audio": _validate_audio_text,
}


def _model_ref(spec: TaskSpec, inputs: dict, model: str | None, settings: Settings) -> ModelRef:
    chosen = (model or "").strip()
    if spec.name == "translation":
        chosen = _translation_model(inputs["src_lang"], inputs["tgt_lang"], chosen)
    ref = parse_ref(chosen or spec.default_model, settings)
    if ref.is_remote:
        raise errors.Unsupported(f"'{ref.raw}' is a remote API model; the Pipelines tab runs models in this process. "
                                 "Give a Hub id (org/name) or a local folder.")
    return ref


def _translation_model(src: str, tgt: str, chosen: str) -> str:
    pairs = translation_pairs()
    spec = registry.get(chosen) if chosen else None
    if spec is not None and "tgt_lang" in spec.extra:
        if (spec.extra["src_lang"], spec.extra["tgt_lang"]) != (src, tgt):
            raise errors.Unsupported(f"'{chosen}' translates {spec.extra['src_lang']}→{spec.extra['tgt_lang']}, not "
                                     f"{src}→{tgt}. {_pair_hint(pairs)}")
        return chosen
    if chosen:
        return chosen  # any other model: the user knows its pair (T5 prefixes and M2M100 codes are handled)
    match = [m for s, t, m in pairs if (s, t) == (src, tgt)]
    if not match:
        raise errors.Unsupported(f"No catalog model translates {src}→{tgt}. {_pair_hint(pairs)} Or type the Hub id "
                                 "of a model for that pair (e.g. Helsinki-NLP/opus-mt-<src>-<tgt>).")
    return match[0]


def _pair_hint(pairs) -> str:
    return "Supported pairs: " + ", ".join(f"{s}→{t}" for s, t, _ in pairs) + "."


# ----------------------------------------------------------------------------------------------- loading


@dataclass
class LoadedTask:
    """A loaded pipeline (or model + tokenizer) for one task, with a lock for thread safety."""

    task: str
    model: Any
    tokenizer: Any
    device: str
    pipe: Any = None
    max_len: int = 512
    load_s: float = 0.0
    extra: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get_memory_footprint(self) -> int:
        """Bytes the weights hold (for the cache budget)."""
        fn = getattr(self.model, "get_memory_footprint", None)
        return int(fn()) if callable(fn) else 0


def _load(task: str, ref: ModelRef, progress: ProgressFn) -> tuple[LoadedTask, float, bool]:
    from engines.gpu import torch_device

    device = torch_device()
    key = CacheKey("pipeline", ref.target, task, device)
    cache = model_cache()
    if key not in cache:
        progress(f"Loading {ref.display} for {TASKS[task].label.lower()} (first use; downloads if needed)…")
    result = cache.get_with_info(key, lambda: _load_task(task, ref, device))
    return result.value, result.seconds, result.hit


def resolve_target(ref: ModelRef) -> str:
    """A local folder or Hub id to load from; offline, a Hub id resolves to its cached snapshot (fast failure)."""
    if ref.path is not None:
        return str(ref.path)
    if hub_kwargs(ref).get("local_files_only"):
        from huggingface_hub import snapshot_download

        try:
            return snapshot_download(ref.name, local_files_only=True)
        except Exception as exc:
            raise map_load_error(exc, ref) from exc
    return ref.name


def _load_task(task: str, ref: ModelRef, device: str) -> LoadedTask:
    start = time.perf_counter()
    target = resolve_target(ref)
    config = _load_config(ref, target)
    check_architecture(task, config, ref)
    try:
        loaded = _LOADERS.get(task, _load_pipeline)(task, target, device, config)
    except errors.WorkbenchError:
        raise
    except Exception as exc:
        raise map_load_error(exc, ref) from exc
    loaded.load_s = time.perf_counter() - start
    return loaded


def _load_config(ref: ModelRef, target: str):
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(target, trust_remote_code=False)
    except Exception as exc:
        text = str(exc)
        if os.path.isfile(os.path.join(target, "model_index.json")):
            raise errors.Unsupported(f"'{ref.display}' is a diffusers pipeline (an image model), not a transformers "
                                     "model: use it with the text-to-image task.") from exc
        if "does not recognize this architecture" in text or "model type" in text:
            raise errors.ModelLoadError(f"'{ref.display}' has an architecture this transformers version does not "
                                        "know (and remote code is never run here).") from exc
        raise map_load_error(exc, ref) from exc


def _head_names(tables: tuple[str, ...]) -> set[str]:
    from transformers.models.auto import modeling_auto

    names: set[str] = set()
    for table in tables:
        for value in getattr(modeling_auto, f"MODEL_FOR_{table}_MAPPING_NAMES", {}).values():
            names.update(value if isinstance(value, (tuple, list)) else [value])
    return names


def check_architecture(task: str, config: Any, ref: ModelRef) -> None:
    """Refuse a model whose saved architecture has no head for ``task`` (instead of a random new head).

    Raises:
        Unsupported: e.g. a causal LM given to NER, a classifier given to summarization.
    """
    label = TASKS[task].label.lower()
    archs = list(getattr(config, "architectures", None) or [])
    if task == "feature-extraction":
        if getattr(config, "is_encoder_decoder", False):
            raise errors.Unsupported(f"'{ref.display}' is an encoder-decoder model ({archs[0] if archs else '?'}); "
                                     "sentence embeddings here need an encoder such as sentence-transformers models.")
        return
    tables, head = _HEADS[task]
    if archs and not set(archs) & _head_names(tables):
        default = TASKS[task].default_model
        raise errors.Unsupported(f"'{ref.display}' is a {archs[0]}: it has no {head}, so it cannot do {label}. "
                                 f"Choose a model trained for it{f', e.g. {default}' if default else ''}.")
    if task == "zero-shot-classification":
        label2id = getattr(config, "label2id", None) or {}
        if not any(str(k).lower().startswith("entail") for k in label2id):
            raise errors.Unsupported(f"'{ref.display}' is not an NLI model (no 'entailment' label), so it cannot "
                                     "score arbitrary labels. Use an MNLI model such as facebook/bart-large-mnli.")


def _dtype(device: str):
    import torch

    return torch.float32 if device == "cpu" else "auto"  # bf16 matmuls are ~6x slower on these CPUs


def _pipeline_kwargs(task: str, device: str, config: Any, target: str) -> dict:
    kwargs: dict[str, Any] = {"device": device, "dtype": _dtype(device), "trust_remote_code": False}
    if task == "ner":
        kwargs["aggregation_strategy"] = "simple"
    if getattr(config, "model_type", "") == "speecht5" and task in ("text-to-speech", "text-to-audio"):
        kwargs["vocoder"] = _speecht5_vocoder(device)
    return kwargs


def _speecht5_vocoder(device: str):
    from transformers import SpeechT5HifiGan

    ref = parse_ref("microsoft/speecht5_hifigan")
    try:
        return SpeechT5HifiGan.from_pretrained(resolve_target(ref), **hub_kwargs(ref)).to(device)
    except errors.WorkbenchError as exc:
        raise errors.ModelLoadError(
            f"SpeechT5 needs its HiFi-GAN vocoder (microsoft/speecht5_hifigan): {exc}") from exc


def _load_pipeline(task: str, target: str, device: str, config: Any) -> LoadedTask:
    from transformers import pipeline

    name = "text-to-audio" if task == "text-to-speech" else task
    pipe = pipeline(name, model=target, **_pipeline_kwargs(task, device, config, target))
    tokenizer = getattr(pipe, "tokenizer", None)
    loaded = LoadedTask(task=task, model=pipe.model, tokenizer=tokenizer, device=device, pipe=pipe,
                        max_len=model_max_length(tokenizer, config))
    if task == "text-to-audio":
        audio_cfg = getattr(config, "audio_encoder", None)
        loaded.extra["frame_rate"] = getattr(audio_cfg, "frame_rate", None)
    return loaded


def _load_auto(task: str, target: str, device: str, config: Any) -> LoadedTask:
    import transformers

    cls = {"question-answering": "AutoModelForQuestionAnswering", "summarization": "AutoModelForSeq2SeqLM",
           "translation": "AutoModelForSeq2SeqLM", "feature-extraction": "AutoModel"}[task]
    tokenizer = transformers.AutoTokenizer.from_pretrained(target, trust_remote_code=False)
    model = getattr(transformers, cls).from_pretrained(target, dtype=_dtype(device), trust_remote_code=False)
    model = model.to(device).eval()
    return LoadedTask(task=task, model=model, tokenizer=tokenizer, device=device,
                      max_len=model_max_length(tokenizer, config))


_LOADERS = {"question-answering": _load_auto, "summarization": _load_auto, "translation": _load_auto,
            "feature-extraction": _load_auto}


def model_max_length(tokenizer: Any, config: Any) -> int:
    """The longest input (tokens) the model reads: the tokenizer's limit, else the config's positions, else 512."""
    tok_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(tok_max, int) and 0 < tok_max < 100_000:
        return tok_max
    cfg = getattr(config, "text_config", None) or config
    for attr in ("max_position_embeddings", "n_positions", "max_source_positions"):
        value = getattr(cfg, attr, None)
        if isinstance(value, int) and value > 0:
            return value
    return 512


def _run_error(exc: BaseException, ref: ModelRef, spec: TaskSpec) -> errors.WorkbenchError:
    if any(w in str(exc).lower() for w in ("out of memory", "can't allocate")):
        return errors.OutOfMemory(f"'{ref.display}' ran out of memory on this input. Use shorter input or a smaller "
                                  "model.")
    log.warning("pipeline %s on %s failed", spec.name, ref.display, exc_info=exc)
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    return errors.ModelLoadError(f"'{ref.display}' failed on this input for {spec.label.lower()}: {first}")


# ----------------------------------------------------------------------------------------------- helpers


def _token_count(tokenizer: Any, text: str, max_len: int) -> int | None:
    """Tokens in ``text`` when it might exceed ``max_len``; None when it cannot (cheap: no tokenization)."""
    if len(text.encode("utf-8")) + 8 <= max_len:
        return None
    return len(tokenizer(text, add_special_tokens=True, truncation=False)["input_ids"])


def _truncation_notice(n: int | None, max_len: int, what: str = "text") -> str | None:
    if n is None or n <= max_len:
        return None
    return (f"The {what} is {n:,} tokens; this model reads at most {max_len:,}, so only the first {max_len:,} "
            "tokens were used.")


def _int_opt(inputs: dict, key: str, default: int) -> int:
    value = inputs.get(key)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise errors.InvalidInput(f"{key} must be a whole number, not '{value}'.") from None


def _scores(rows: list[dict]) -> list[dict]:
    return [{"label": str(r["label"]), "score": float(r["score"])} for r in rows]


# ----------------------------------------------------------------------------------------------- runners


@gpu(duration=30)
def _run_sentiment(lt: LoadedTask, inputs: dict, progress: ProgressFn):
    text = inputs["text"]
    n = _token_count(lt.tokenizer, text, lt.max_len)
    rows = lt.pipe(text, top_k=None, truncation=True, max_length=lt.max_len)
    return _scores(rows), _truncation_notice(n, lt.max_len), {"tokens": n}


@gpu(duration=60)
def _run_zero_shot(lt: LoadedTask, inputs: dict, progress: ProgressFn):
    text, labels = inputs["text"], inputs["labels"]
    multi = bool(inputs.get("multi_label", False))
    n = _token_count(lt.tokenizer, text, lt.max_len)
    out = lt.pipe(text, candidate_labels=labels, multi_label=multi)
    rows = [{"label": lab, "score": float(s)} for lab, s in zip(out["labels"], out["scores"], strict=True)]
    return rows, _truncation_notice(n, lt.max_len), {"multi_label": multi, "labels": labels}


@gpu(duration=30)
def _run_ner(lt: LoadedTask, inputs: dict, progress: ProgressFn):
    text = inputs["text"]
    n = _token_count(lt.tokenizer, text, lt.max_len)
    notice, kwargs = None, {}
    if n is not None and n > lt.max_len and getattr(lt.tokenizer, "is_fast", False):
        kwargs["stride"] = max(8, lt.max_len // 4)
        notice = (f"The text is {n:,} tokens (the model reads {lt.max_len:,} at a time): it was read in overlapping "
                  "windows.")
    elif n is not None and n > lt.max_len:
        raise errors.InvalidInput(f"The text is {n:,} tokens; this model reads at most {lt.max_len:,}. Shorten it.")
    ents = lt.pipe(text, **kwargs)
    rows = [{"entity": str(e.get("entity_group", e.get("entity"))), "word": str(e["word"]), "start": int(e["start"]),
             "end": int(e["end"]), "score": float(e["score"])} for e in ents if e.get("start") is not None]
    return rows, notice, {"aggregation_strategy": "simple", "tokens": n}


@gpu(duration=30)
def _run_fill_mask(lt: LoadedTask, inputs: dict, progress: ProgressFn):
    mask = getattr(lt.tokenizer, "mask_token", None)
    if not mask:
        raise errors.Unsupported("This model's tokenizer has no mask token, so it cannot fill a mask.")
    text = inputs["text"]
    for alias in ("<mask>", "[MASK]", "[mask]", "<MASK>"):
        text = text.replace(alias, mask)
    count = text.count(mask)
    if count != 1:
        raise errors.InvalidInput(f"Put exactly one {mask} in the text (found {count}), e.g. 'Paris is the {mask} "
                                  "of France.'")
    n = _token_count(lt.tokenizer, text, lt.max_len)
    if n is not None and n > lt.max_len:
        raise errors.InvalidInput(f"The text is {n:,} tokens; this model reads at most {lt.max_len:,}. Shorten it "
                                  f"around the {mask}.")
    top_k = max(1, min(_int_opt(inputs, "top_k", 5), 50))
    rows = lt.pipe(text, top_k=top_k)
    out = [{"label": str(r["token_str"]).strip() or repr(r["token_str"]), "score": float(r["score"])} for r in rows]
    return out, None, {"mask_token": mask, "text": text, "top_k": top_k,
                       "sequences": [r["sequence"] for r in rows]}


@gpu(duration=60)
def _run_qa(lt: LoadedTask, inputs: dict, progress: ProgressFn):
    import torch

    question, context = inputs["question"], inputs["context"]
    q_tokens = len(lt.tokenizer(question, add_special_tokens=False)["input_ids"])
    if q_tokens > lt.max_len // 2:
        raise errors.InvalidInput(f"The question is {q_tokens:,} tokens; keep it under {lt.max_len // 2:,} "
                                  "(the context may be long).")
    stride = min(128, lt.max_len // 4)
    enc = lt.tokenizer(question, context, truncation="only_second", max_length=lt.max_len, stride=stride,
                       return_overflowing_tokens=True, return_offsets_mapping=True, padding=True,
                       return_tensors="pt")
    offsets = enc.pop("offset_mapping")
    enc.pop("overflow_to_sample_mapping", None)
    with torch.inference_mode():
        out = lt.model(**{k: v.to(lt.device) for k, v in enc.items()})
    best = _best_span(enc, offsets, out.start_logits.float().cpu(), out.end_logits.float().cpu())
    if best is None:
        raise errors.InvalidInput("No answer span fits in the context; give a longer context.")
    score, start, end = best
    windows = int(offsets.shape[0])
    notice = f"The context was read in {windows} overlapping windows." if windows > 1 else None
    return ({"answer": context[start:end], "score": score, "start": start, "end": end}, notice,
            {"windows": windows})


def _best_span(enc, offsets, start_logits, end_logits, max_answer: int = 30):
    import torch

    best = None
    for w in range(start_logits.shape[0]):
        ctx = torch.tensor([s == 1 for s in enc.sequence_ids(w)])
        if not ctx.any():
            continue
        ps = torch.softmax(start_logits[w].masked_fill(~ctx, -1e9), -1)
        pe = torch.softmax(end_logits[w].masked_fill(~ctx, -1e9), -1)
        scores = ps[:, None] * pe[None, :]
        ones = torch.ones_like(scores, dtype=torch.bool)
        scores = scores.masked_fill(~(ones.triu() & ~ones.triu(max_answer)), 0.0)
        s, e = divmod(int(scores.argmax()), scores.shape[1])
        score = float(scores[s, e])
        if best is None or score > best[0]:
            best = (score, int(offsets[w][s][0]), int(offsets[w][e][1]))
    return best


def _seq2seq_prefix(lt: LoadedTask, task: str, src: str | None = None, tgt: str | None = None) -> str:
    params = getattr(lt.model.config, "task_specific_params", None) or {}
    if task == "summarization":
        return (params.get("summarization") or {}).get("prefix", "")
    entry = params.get(f"translation_{src}_to_{tgt}")
    if entry is None and getattr(lt.model.config, "model_type", "") == "t5":
        pairs = sorted(k.removeprefix("translation_") for k in params if k.startswith("translation_"))
        raise errors.Unsupported(f"This T5 model has no {src}→{tgt} translation prompt. It knows: "
                                 f"{', '.join(pairs) or 'none'}.")
    return (entry or {}).get("prefix", "")


def _generate_text(lt: LoadedTask, text: str, gen: dict) -> tuple[str, int | None]:
    import torch

    n = _token_count(lt.tokenizer, text, lt.max_len)
    enc = lt.tokenizer([text], return_tensors="pt", truncation=True, max_length=lt.max_len)
    with torch.inference_mode():
        out = lt.model.generate(**{k: v.to(lt.device) for k, v in enc.items()}, **gen)
    return lt.tokenizer.batch_decode(out, skip_special_tokens=True)[0].strip(), n


@gpu(duration=90)
def _run_summarization(lt: LoadedTask, inputs: dict, progress: ProgressFn):
    lo, hi = _int_opt(inputs, "min_length", 10), _int_opt(inputs, "max_length", 60)
    if lo < 0 or hi < 1 or lo > hi:
        raise errors.InvalidInput(f"min_length ({lo}) must be between 0 and max_length ({hi}).")
    hi = min(hi, Settings.from_env().max_new_tokens)
    gen = {"min_new_tokens": lo, "max_new_tokens": hi}
    summary, n = _generate_text(lt, _seq2seq_prefix(lt, "summarization") + inputs["text"], gen)
    return summary, _truncation_notice(n, lt.max_len), {**gen, "tokens": n}


@gpu(duration=90)
def _run_translation(lt: LoadedTask, inputs: dict, progress: ProgressFn):
    src, tgt = inputs["src_lang"], inputs["tgt_lang"]
    text = inputs["text"]
    tok = lt.tokenizer
    # a translation is rarely longer than 1.5x its source: bound generation so a model that never stops can't hang
    n_src = len(tok(text, truncation=True, max_length=lt.max_len)["input_ids"])
    gen: dict[str, Any] = {"max_new_tokens": min(lt.max_len, 512, int(n_src * 1.5) + 10)}
    if hasattr(tok, "get_lang_id"):  # M2M100-style multilingual models
        tok.src_lang = src
        gen["forced_bos_token_id"] = tok.get_lang_id(tgt)
    else:
        text = _seq2seq_prefix(lt, "translation", src, tgt) + text
    out, n = _generate_text(lt, text, gen)
    return out, _truncation_notice(n, lt.max_len), {"src_lang": src, "tgt_lang": tgt, "tokens": n}


@gpu(duration=90)
def _run_generation(lt: LoadedTask, inputs: dict, progress: ProgressFn):
    text = inputs["text"]
    max_new = _int_opt(inputs, "max_new_tokens", 40)
    cap = Settings.from_env().max_new_tokens
    if not 1 <= max_new <= cap:
        raise errors.InvalidInput(f"max_new_tokens must be between 1 and {cap}.")
    n = _token_count(lt.tokenizer, text, lt.max_len)
    if n is not None and n + max_new > lt.max_len:
        raise errors.ContextTooLong(f"The prompt is {n:,} tokens and {max_new} new tokens are asked for; this model's "
                                    f"context is {lt.max_len:,} tokens. Shorten the prompt or ask for fewer tokens.")
    temperature = float(inputs.get("temperature") or 0.0)
    gen: dict[str, Any] = {"max_new_tokens": max_new, "do_sample": temperature > 0}
    if temperature > 0:
        gen["temperature"] = temperature
    pad = getattr(lt.tokenizer, "pad_token_id", None)
    if pad is None:
        pad = getattr(lt.tokenizer, "eos_token_id", None)
    out = lt.pipe(text, return_full_text=True, pad_token_id=pad, **gen)
    return str(out[0]["generated_text"]), None, {**gen, "prompt": text}


def _embed(lt: LoadedTask, text: str):
    import torch

    enc = lt.tokenizer([text], return_tensors="pt", truncation=True, max_length=lt.max_len)
    with torch.inference_mode():
        hidden = lt.model(**{k: v.to(lt.device) for k, v in enc.items()}).last_hidden_state
    mask = enc["attention_mask"].to(hidden.device).unsqueeze(-1).to(hidden.dtype)
    vec = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
    return torch.nn.functional.normalize(vec.float(), dim=-1)[0].cpu()


@gpu(duration=30)
def _run_embedding(lt: LoadedTask, inputs: dict, progress: ProgressFn):
    text, pair = inputs["text"], inputs.get("text_pair")
    n = _token_count(lt.tokenizer, text, lt.max_len)
    vec = _embed(lt, text)
    similarity = None
    if pair:
        similarity = float((vec * _embed(lt, pair)).sum())
    notice = _truncation_notice(n, lt.max_len)
    return ({"vector": vec.tolist(), "similarity": similarity}, notice,
            {"dimensions": int(vec.shape[0]), "pooling": "mean", "normalized": True})


# ---- audio


def max_audio_seconds() -> float:
    """The longest audio accepted (WORKBENCH_MAX_AUDIO_S, default 600 s)."""
    try:
        return float(os.environ.get("WORKBENCH_MAX_AUDIO_S") or 600)
    except ValueError:
        return 600.0


def _probe_duration(path: str) -> float | None:
    try:
        out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", path],
                             capture_output=True, text=True, timeout=30, env=_child_env())
        return float(json.loads(out.stdout or "{}").get("format", {}).get("duration"))
    except (ValueError, TypeError, subprocess.SubprocessError, OSError):
        return None


def _child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "HOME", "TMPDIR")}


def load_audio(path: str, limit_s: float | None = None):
    """Decode any audio file to 16 kHz mono float32 with ffmpeg (resampling included).

    Args:
        path: an audio or video file.
        limit_s: refuse audio longer than this (default: ``max_audio_seconds()``).

    Returns:
        A 1-D numpy float32 array at 16 kHz.

    Raises:
        InvalidInput: empty, corrupt or too long audio.
        Unsupported: ffmpeg is not installed.
    """
    import numpy as np

    limit = max_audio_seconds() if limit_s is None else limit_s
    if shutil.which("ffmpeg") is None:
        raise errors.Unsupported("Reading audio needs ffmpeg (apt-get install ffmpeg).")
    check_audio_file(path, limit)
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-t", f"{limit + 1:.2f}", "-vn", "-ac", "1",
           "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"]
    proc = subprocess.run(cmd, capture_output=True, timeout=600, env=_child_env())
    if proc.returncode != 0:
        reason = (proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["unknown format"])[-1][:200]
        raise errors.InvalidInput(f"The audio file could not be decoded (is it a corrupt or non-audio file?): "
                                  f"{reason.replace(path, 'file')}")
    audio = np.frombuffer(proc.stdout, dtype=np.float32)
    if audio.size < SAMPLE_RATE // 10:
        raise errors.InvalidInput("The audio holds no sound (less than 0.1 s). Record or upload it again.")
    if audio.size > limit * SAMPLE_RATE:
        raise errors.InvalidInput(f"The audio is longer than {limit:.0f} s, the most this app accepts "
                                  "(WORKBENCH_MAX_AUDIO_S). Trim it first.")
    return audio.copy()


@gpu(duration=120)
def _run_asr(lt: LoadedTask, inputs: dict, progress: ProgressFn):
    audio = load_audio(inputs["audio"])
    total = audio.size / SAMPLE_RATE
    gen: dict[str, Any] = {}
    if getattr(lt.model.config, "is_encoder_decoder", False):
        default = getattr(getattr(lt.model, "generation_config", None), "max_new_tokens", None) or 128
        gen["max_new_tokens"] = max(1, min(_int_opt(inputs, "max_new_tokens", default), 440))
    language = (inputs.get("language") or "").strip().lower() or None
    if getattr(lt.model.config, "model_type", "") == "whisper":
        gen["task"] = "transcribe"
        if language:
            gen["language"] = language
    step = int(WINDOW_S * SAMPLE_RATE)
    segments, done = [], 0.0
    for offset in range(0, audio.size, step):
        chunk = audio[offset:offset + step]
        progress(f"Transcribing {done:.0f} / {total:.0f} s", done, total)
        kwargs = {"generate_kwargs": gen} if gen else {}
        text = str(lt.pipe({"raw": chunk, "sampling_rate": SAMPLE_RATE}, **kwargs)["text"]).strip()
        done = (offset + chunk.size) / SAMPLE_RATE
        segments.append({"start": round(offset / SAMPLE_RATE, 2), "end": round(done, 2), "text": text})
    progress(f"Transcribed {total:.0f} s", total, total)
    text = " ".join(s["text"] for s in segments if s["text"]).strip()
    return text, None, {"duration_s": round(total, 2), "segments": segments, "language": language, **gen}


def _audio_out(out: dict):
    import numpy as np

    audio = np.asarray(out["audio"], dtype=np.float32).squeeze()
    if audio.ndim > 1:  # (channels, samples) → mono for the player
        audio = audio.mean(axis=0)
    if audio.size == 0:
        raise errors.InvalidInput("The model produced no audio for this text (no character it can pronounce?).")
    return int(out["sampling_rate"]), audio


@gpu(duration=60)
def _run_tts(lt: LoadedTask, inputs: dict, progress: ProgressFn):
    kwargs: dict[str, Any] = {}
    if getattr(lt.model.config, "model_type", "") == "speecht5":
        import torch

        dim = getattr(lt.model.config, "speaker_embedding_dim", 512)
        kwargs["forward_params"] = {"speaker_embeddings": torch.zeros(1, dim)}
    sr, audio = _audio_out(lt.pipe(inputs["text"], **kwargs))
    return (sr, audio), None, {"sampling_rate": sr, "duration_s": round(audio.size / sr, 2)}


@gpu(duration=120)
def _run_text_to_audio(lt: LoadedTask, inputs: dict, progress: ProgressFn):
    import torch

    duration = float(inputs.get("duration_s") or 5.0)
    if not 0.5 <= duration <= 30:
        raise errors.InvalidInput("duration_s must be between 0.5 and 30 seconds.")
    seed = _seed(inputs.get("seed"))
    torch.manual_seed(seed)
    kwargs: dict[str, Any] = {}
    frame_rate = lt.extra.get("frame_rate")
    if frame_rate:
        kwargs["forward_params"] = {"max_new_tokens": max(1, int(duration * frame_rate)), "do_sample": True}
    sr, audio = _audio_out(lt.pipe(inputs["text"], **kwargs))
    return (sr, audio), None, {"sampling_rate": sr, "duration_s": round(audio.size / sr, 2), "seed": seed,
                               **kwargs.get("forward_params", {})}


def _seed(value: Any) -> int:
    import random

    if value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, (int, float))
                                                                           and value < 0):
        return random.randint(0, 2**32 - 1)
    try:
        seed = int(value)
    except (TypeError, ValueError):
        raise errors.InvalidInput(f"Seed '{value}' is not a whole number.") from None
    if not 0 <= seed <= 2**32 - 1:
        raise errors.InvalidInput("Seed must be between 0 and 4294967295.")
    return seed


_RUNNERS: dict[str, Callable] = {
    "sentiment-analysis": _run_sentiment, "zero-shot-classification": _run_zero_shot, "ner": _run_ner,
    "question-answering": _run_qa, "summarization": _run_summarization, "translation": _run_translation,
    "text-generation": _run_generation, "fill-mask": _run_fill_mask, "feature-extraction": _run_embedding,
    "automatic-speech-recognition": _run_asr, "text-to-speech": _run_tts, "text-to-audio": _run_text_to_audio,
}


# ----------------------------------------------------------------------------------------------- images


def _run_image(inputs: dict, model: str | None, progress: ProgressFn, settings: Settings) -> TaskResult:
    from engines import images

    prompt = _clean_text(inputs.get("text") or inputs.get("prompt"), settings, "prompt")
    chosen = (model or "").strip() or TASKS["text-to-image"].default_model
    steps = int(inputs.get("steps") or 2)
    width, height = int(inputs.get("width") or 512), int(inputs.get("height") or 512)
    seed = None if inputs.get("seed") in (None, "", -1) else _seed(inputs.get("seed"))
    ref = parse_ref(chosen, settings)
    if ref.is_remote:
        raise errors.Unsupported(f"'{ref.raw}' is a remote API model; text-to-image here runs diffusers models.")
    progress(f"Loading {ref.display} (first use; downloads if needed)…")

    def on_step(step: int, total: int) -> None:
        progress(f"Denoising step {step}/{total}", step, total)

    result = images.generate_image(prompt, model=chosen, seed=seed, num_inference_steps=steps, width=width,
                                   height=height, on_step=on_step)
    plan = getattr(result, "plan", None)
    details = {"seed": result.seed, "steps": steps, "width": width, "height": height,
               "pipeline": getattr(result, "pipeline", ""), "guidance_scale": getattr(result, "guidance_scale", 0.0)}
    notices = list(getattr(result, "notices", []) or [])
    return TaskResult(kind="image", value=result.image, seconds=float(result.seconds), task="text-to-image",
                      model=ref.display, device=getattr(plan, "device", "") or "", cached=bool(
                          getattr(result, "cache_hit", False)), load_s=float(getattr(result, "load_s", 0.0)),
                      notice=" ".join(notices) or None, details=details,
                      code=code_snippet("text-to-image", ref.raw, {"text": prompt}, details))


# ----------------------------------------------------------------------------------------------- show code


def _lit(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def code_snippet(task: str, model: str, inputs: dict, details: dict | None = None) -> str:
    """Plain transformers/diffusers code that reproduces a run.

    Args:
        task: a TASKS key.
        model: the model reference as given (Hub id or folder).
        inputs: the task's inputs.
        details: extra facts from the run (generation settings, seed, ...).

    Returns:
        Python source.
    """
    d = details or {}
    text = _short(inputs.get("text", ""))
    m = _lit(model)
    if task in _PIPELINE_TASKS:
        return _pipeline_snippet(task, m, text, inputs, d)
    return _CODE[task](m, text, inputs, d)


def _short(text: Any, n: int = 400) -> str:
    text = str(text or "")
    return text if len(text) <= n else text[:n] + "…"


def _pipeline_snippet(task: str, m: str, text: str, inputs: dict, d: dict) -> str:
    name = "text-to-audio" if task == "text-to-speech" else task
    build = f"pipe = pipeline({_lit(name)}, model={m}" + (", aggregation_strategy=\"simple\"" if task == "ner" else "")
    call = {
        "sentiment-analysis": f"pipe({_lit(text)}, top_k=None, truncation=True)",
        "zero-shot-classification": f"pipe({_lit(text)}, candidate_labels={_lit(inputs.get('labels') or [])}, "
                                    f"multi_label={bool(d.get('multi_label'))})",
        "ner": f"pipe({_lit(text)})",
        "fill-mask": f"pipe({_lit(_short(d.get('text', text)))}, top_k={d.get('top_k', 5)})",
        "text-generation": f"pipe({_lit(text)}, max_new_tokens={d.get('max_new_tokens', 40)}, "
                           f"do_sample={bool(d.get('do_sample'))})",
        "automatic-speech-recognition": "pipe(\"audio.wav\", chunk_length_s=30"
                                        + (f", generate_kwargs={{'language': {_lit(d['language'])}}}"
                                           if d.get("language") else "") + ")",
        "text-to-speech": f"pipe({_lit(text)})",
        "text-to-audio": f"pipe({_lit(text)}, forward_params={{'max_new_tokens': {d.get('max_new_tokens', 256)}, "
                         "'do_sample': True})",
    }[task]
    lines = ["from transformers import pipeline", "", build + ")", f"result = {call}", "print(result)"]
    if task in ("text-to-speech", "text-to-audio"):
        lines = ["import scipy.io.wavfile"] + lines[:-1] + [
            "scipy.io.wavfile.write(\"out.wav\", result[\"sampling_rate\"], result[\"audio\"].squeeze())"]
    if task == "automatic-speech-recognition":
        lines[-1] = "print(result[\"text\"])  # decoding audio files needs ffmpeg"
    return "\n".join(lines) + "\n"


def _code_qa(m: str, text: str, inputs: dict, d: dict) -> str:
    return f"""import torch
from transformers import AutoModelForQuestionAnswering, AutoTokenizer

tok = AutoTokenizer.from_pretrained({m})
model = AutoModelForQuestionAnswering.from_pretrained({m})
question, context = {_lit(_short(inputs.get("question")))}, {_lit(_short(inputs.get("context")))}
enc = tok(question, context, return_tensors="pt", return_offsets_mapping=True, truncation="only_second")
offsets = enc.pop("offset_mapping")[0]
with torch.no_grad():
    out = model(**enc)
in_context = torch.tensor([s == 1 for s in enc.sequence_ids(0)])
p_start = out.start_logits[0].masked_fill(~in_context, -1e9).softmax(-1)
p_end = out.end_logits[0].masked_fill(~in_context, -1e9).softmax(-1)
scores = (p_start[:, None] * p_end[None, :]).triu().tril(29)  # end >= start, at most 30 tokens
s, e = divmod(int(scores.argmax()), scores.shape[1])
print(context[offsets[s][0]:offsets[e][1]], float(scores[s, e]))
"""


def _code_seq2seq(m: str, text: str, inputs: dict, d: dict) -> str:
    gen = ", ".join(f"{k}={v!r}" for k, v in d.items() if k in ("min_new_tokens", "max_new_tokens"))
    return f"""from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

# transformers 5 removed the summarization/translation pipelines: generate() does the same work
tok = AutoTokenizer.from_pretrained({m})
model = AutoModelForSeq2SeqLM.from_pretrained({m})
enc = tok([{_lit(text)}], return_tensors="pt", truncation=True)
out = model.generate(**enc{", " + gen if gen else ""})
print(tok.batch_decode(out, skip_special_tokens=True)[0])
"""


def _code_embedding(m: str, text: str, inputs: dict, d: dict) -> str:
    pair = inputs.get("text_pair")
    texts = [text] + ([_short(pair)] if pair else [])
    return f"""import torch
from transformers import AutoModel, AutoTokenizer

tok = AutoTokenizer.from_pretrained({m})
model = AutoModel.from_pretrained({m})
enc = tok({_lit(texts)}, padding=True, truncation=True, return_tensors="pt")
with torch.no_grad():
    hidden = model(**enc).last_hidden_state
mask = enc["attention_mask"].unsqueeze(-1).float()
vectors = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)  # mean pooling
print(vectors.shape{", float(vectors[0] @ vectors[1]))  # cosine similarity" if pair else ")"}
"""


def _code_image(m: str, text: str, inputs: dict, d: dict) -> str:
    return f"""import torch
from diffusers import DiffusionPipeline

pipe = DiffusionPipeline.from_pretrained({m}, torch_dtype=torch.float32)
image = pipe({_lit(text)}, num_inference_steps={d.get("steps", 2)}, guidance_scale={d.get("guidance_scale", 0.0)},
             width={d.get("width", 512)}, height={d.get("height", 512)},
             generator=torch.Generator("cpu").manual_seed({d.get("seed", 0)})).images[0]
image.save("image.png")
"""


_CODE = {"question-answering": _code_qa, "summarization": _code_seq2seq, "translation": _code_seq2seq,
         "feature-extraction": _code_embedding, "text-to-image": _code_image}
