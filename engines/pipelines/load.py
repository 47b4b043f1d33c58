"""Loading a model for a task: resolve the reference, refuse a model without the task's head, build the
transformers pipeline (or the Auto classes for the tasks transformers 5 removed), cache it in ``model_cache()``.

Each loaded model has a lock: fast tokenizers are not safe to call from two threads at once.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from engines import errors
from engines.cache import CacheKey, model_cache
from engines.loading import hub_kwargs, map_load_error
from engines.pipelines.tasks import HEADS, TASKS, ProgressFn, TaskSpec
from engines.refs import ModelRef, parse_ref

log = logging.getLogger(__name__)

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


def load_model(task: str, ref: ModelRef, progress: ProgressFn) -> tuple[LoadedTask, float, bool]:
    """Load (or fetch from the cache) ``ref`` for ``task`` on this process's device.

    Returns:
        (loaded, load seconds, cache hit)
    """
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
    tables, head = HEADS[task]
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


def run_error(exc: BaseException, ref: ModelRef, spec: TaskSpec) -> errors.WorkbenchError:
    """A user-facing error for an unexpected failure while running ``spec`` on ``ref`` (logged with its traceback)."""
    if any(w in str(exc).lower() for w in ("out of memory", "can't allocate")):
        return errors.OutOfMemory(f"'{ref.display}' ran out of memory on this input. Use shorter input or a smaller "
                                  "model.")
    log.warning("pipeline %s on %s failed", spec.name, ref.display, exc_info=exc)
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    return errors.ModelLoadError(f"'{ref.display}' failed on this input for {spec.label.lower()}: {first}")


