"""Loading from the Hub or disk: reachability probe, Hub error mapping, tokenizers and causal LMs.

The quantization policy lives in ``engines.quant``.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any

from engines import errors, quant
from engines.cache import CacheKey, model_cache
from engines.config import Settings
from engines.quant import QUANTIZATIONS, resolve_quantization  # noqa: F401  (re-exported)
from engines.redact import hide_paths
from engines.refs import ModelRef

log = logging.getLogger(__name__)

HUB_HOST = "huggingface.co"
_probe_lock = threading.Lock()
_probe: dict[str, Any] = {"at": 0.0, "ok": None}


def hub_reachable(timeout: float = 2.0, max_age_s: float = 60.0) -> bool:
    """Whether the Hub answers a TCP connect now (cached for ``max_age_s``; False when HF_HUB_OFFLINE=1).

    Without this, a download attempt on a machine without internet retries for ~50 s before failing.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    with _probe_lock:
        if _probe["ok"] is not None and time.monotonic() - _probe["at"] < max_age_s:
            return bool(_probe["ok"])
        endpoint = os.environ.get("HF_ENDPOINT", f"https://{HUB_HOST}")
        host = endpoint.split("://", 1)[-1].split("/", 1)[0]
        hostname, _, port = host.partition(":")
        try:
            with socket.create_connection((hostname, int(port or 443)), timeout=timeout):
                ok = True
        except OSError:
            ok = False
        _probe.update(at=time.monotonic(), ok=ok)
        return ok


def _chain(exc: BaseException):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def map_load_error(exc: BaseException, ref: ModelRef) -> errors.WorkbenchError:
    """Turn an exception from ``from_pretrained`` into a WorkbenchError the user can act on."""
    if isinstance(exc, errors.WorkbenchError):
        return exc
    from huggingface_hub import errors as hub_errors

    name = ref.display
    text = " ".join(str(e) for e in _chain(exc)).lower()
    kinds = [type(e) for e in _chain(exc)]
    if any(issubclass(k, hub_errors.GatedRepoError) for k in kinds) or "gated repo" in text:
        return errors.GatedModel(
            f"'{name}' is a gated model. Accept its license on its Hub page (huggingface.co/{ref.name}), "
            "then set HF_TOKEN to a token of that account and restart the app."
        )
    status = next((getattr(getattr(e, "response", None), "status_code", None) for e in _chain(exc)
                   if getattr(e, "response", None) is not None), None)
    if status in (401, 403) or "401 client error" in text or "403 client error" in text:
        return errors.GatedModel(
            f"Access to '{name}' was refused ({status or 'unauthorized'}). If it is gated or private, accept its "
            "license on the Hub and set HF_TOKEN to a token with read access."
        )
    not_found = any(issubclass(k, hub_errors.RepositoryNotFoundError) for k in kinds)
    if not_found or "is not a valid model identifier" in text:
        return errors.ModelNotFound(f"No model '{name}' on the Hub. Check the id (org/name) and its spelling.")
    if any(issubclass(k, (hub_errors.LocalEntryNotFoundError, hub_errors.OfflineModeIsEnabled)) for k in kinds) or (
        "couldn't connect" in text or "offline mode" in text or "cannot find the requested files" in text
    ):
        if Settings.current().models_dir is not None and ref.kind == "hub":  # where it was looked for, no path
            return errors.HubUnreachable(
                f"The Hugging Face Hub cannot be reached, '{name}' is not in the local cache, and the models folder "
                f"(WORKBENCH_MODELS_DIR) has no {ref.name}/ folder. Put the downloaded model there, use a local model "
                "folder, or connect to the internet.")
        return errors.HubUnreachable(
            f"The Hugging Face Hub cannot be reached and '{name}' is not in the local cache. Use a local model "
            "folder, set WORKBENCH_MODELS_DIR to a directory of downloaded models, or connect to the internet."
        )
    if ref.kind == "local" and ("does not appear to have" in text or "no such file" in text or "unrecognized" in text):
        return errors.ModelLoadError(
            f"The folder '{name}' does not hold a loadable model or tokenizer: {_first_line(exc, ref)}")
    if _is_oom(exc):
        return errors.OutOfMemory(
            f"'{name}' does not fit in memory. Choose a smaller model or 4-bit quantization, or close other models."
        )
    return errors.ModelLoadError(f"'{name}' could not be loaded: {_first_line(exc, ref)}")


def _is_oom(exc: BaseException) -> bool:
    return any(type(e).__name__ in ("OutOfMemoryError", "MemoryError") or "out of memory" in str(e).lower()
               for e in _chain(exc))


def _first_line(exc: BaseException, ref: ModelRef) -> str:
    """The exception's first line, without server paths (a model folder shows as its name, as in ``display``)."""
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    known = {} if ref.path is None else {str(ref.path): ref.display, os.path.realpath(ref.path): ref.display}
    return hide_paths(line, known)[:300]


def hub_kwargs(ref: ModelRef) -> dict[str, Any]:
    """Keyword arguments for ``from_pretrained``: offline when local or when the Hub is unreachable.

    Also enforces the parameter budget (WORKBENCH_MAX_PARAMS_B; 10B on a public Space) for ids outside the catalog,
    before any weight is downloaded.
    """
    if ref.path is not None:
        return {"local_files_only": True}
    if not hub_reachable():
        return {"local_files_only": True}
    check_param_budget(ref)
    return {}


_budget_checked: dict[str, float] = {}


def check_param_budget(ref: ModelRef, settings=None) -> None:
    """Refuse a Hub model outside the catalog whose safetensors metadata says it exceeds the parameter budget.

    Raises:
        ModelNotAllowed: over budget, or the size cannot be read (no safetensors) while a budget is set.
    """
    settings = settings or Settings.current()
    if settings.max_params_b is None or ref.kind != "hub" or ref.spec is not None:
        return
    if ref.name not in _budget_checked:
        from huggingface_hub import get_safetensors_metadata

        try:
            meta = get_safetensors_metadata(ref.name)
        except Exception as exc:
            mapped = map_load_error(exc, ref)
            if isinstance(mapped, (errors.GatedModel, errors.ModelNotFound, errors.HubUnreachable)):
                raise mapped from exc
            raise errors.ModelNotAllowed(f"'{ref.name}' has no safetensors metadata, so its size can't be checked "
                                         "before download; this deployment only runs models it can size.") from exc
        _budget_checked[ref.name] = sum(meta.parameter_count.values()) / 1e9
    size_b = _budget_checked[ref.name]
    if size_b > settings.max_params_b:
        raise errors.ModelNotAllowed(f"'{ref.name}' has {size_b:.1f}B parameters; this deployment runs models up to "
                                     f"{settings.max_params_b:g}B (WORKBENCH_MAX_PARAMS_B).")


def load_tokenizer(ref: ModelRef):
    """The tokenizer for ``ref``, cached. Never trusts remote code."""

    def loader():
        from transformers import AutoTokenizer

        try:
            return AutoTokenizer.from_pretrained(ref.target, trust_remote_code=False, **hub_kwargs(ref))
        except Exception as exc:
            raise map_load_error(exc, ref) from exc

    return model_cache().get(CacheKey("tokenizer", ref.target), loader)


@dataclass
class LoadedLM:
    """A loaded causal LM with how it was loaded."""

    model: Any
    tokenizer: Any
    quantization: str
    device: str
    params: int
    footprint_bytes: int
    processor: Any = None  # an image-text-to-text model's processor (``load_vlm``); None for a causal LM

    def get_memory_footprint(self) -> int:
        """Bytes the weights hold (for the cache budget)."""
        return self.footprint_bytes


def estimate_params_b(config: Any) -> float | None:
    """Rough parameter count (billions) from a config, before loading any weight."""
    cfg = getattr(config, "text_config", None) or config
    h = getattr(cfg, "hidden_size", None)
    n = getattr(cfg, "num_hidden_layers", None)
    v = getattr(cfg, "vocab_size", None)
    if not (h and n and v):
        return None
    inter = getattr(cfg, "intermediate_size", None) or 4 * h
    experts = getattr(cfg, "num_local_experts", None) or 1
    per_layer = 4 * h * h + 3 * h * inter * experts
    return (n * per_layer + 2 * v * h) / 1e9


def load_causal_lm(ref: ModelRef, quantization: str = "auto") -> tuple[LoadedLM, bool, float, str | None]:
    """Load (or fetch from the cache) a causal LM and its tokenizer under the quantization policy.

    Returns:
        (loaded, cache_hit, seconds, notice): notice says when the requested quantization could not be honoured.
    """
    from engines.gpu import torch_device

    device = torch_device()
    chosen, notice = _quantization_for(ref, quantization, device)
    result = model_cache().get_with_info(lm_cache_key(ref, chosen, device), lambda: _load_lm(ref, chosen, device))
    return result.value, result.hit, result.seconds, notice


def _quantization_for(ref: ModelRef, quantization: str, device: str) -> tuple[str, str | None]:
    """The quantization a model loads at on ``device`` (the catalog's size, else its config's, decides "auto")."""
    spec = ref.spec
    params_b = spec.params_b if spec and spec.params_b else None
    if params_b is None and quantization in ("auto",) and device == "cuda":
        params_b = _config_params_b(ref)
    return resolve_quantization(quantization, device, params_b)


def lm_cache_key(ref: ModelRef, quantization: str, device: str) -> CacheKey:
    """The cache key of a causal LM loaded at ``quantization`` (resolved, not "auto") on ``device``."""
    return CacheKey("causal-lm", ref.target, quantization, device)


def load_config(ref: ModelRef, *, target: str | None = None) -> Any:
    """The model's transformers config: only ``config.json`` is read (no weights); never trusts remote code.

    Args:
        ref: the model reference (a Hub id, a local folder, or a Hub id found in WORKBENCH_MODELS_DIR).
        target: read the config from here instead of ``ref.target`` (the base model of an adapter folder); errors
            still name ``ref``.

    Returns:
        A ``PretrainedConfig``.

    Raises:
        GatedModel / ModelNotFound / HubUnreachable / ModelLoadError: as ``map_load_error`` maps them.
    """
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(target or ref.target, trust_remote_code=False, **hub_kwargs(ref))
    except Exception as exc:
        raise map_load_error(exc, ref) from exc


def _config_params_b(ref: ModelRef) -> float | None:
    target = ref.target
    adapter = ref.path / "adapter_config.json" if ref.path is not None else None
    if adapter is not None and adapter.is_file() and not (ref.path / "config.json").exists():
        import json  # a PEFT adapter folder (a fine-tune): its size is its base's

        target = json.loads(adapter.read_text(encoding="utf-8")).get("base_model_name_or_path") or target
    return estimate_params_b(load_config(ref, target=target))


def _load_lm(ref: ModelRef, quant_name: str, device: str) -> LoadedLM:
    from transformers import AutoModelForCausalLM

    from engines.model_kind import require_chat_model

    require_chat_model(ref)  # before any weight: a random LM head on an embedder streams word salad
    tokenizer = load_tokenizer(ref)
    kwargs: dict[str, Any] = {"trust_remote_code": False, **hub_kwargs(ref),
                              **quant.from_pretrained_kwargs(quant_name)}
    try:
        model = AutoModelForCausalLM.from_pretrained(ref.target, **kwargs)
        if quant_name not in quant.BNB and device != "cpu":
            model = model.to(device)
    except Exception as exc:
        from engines.model_kind import is_vision_model

        if "unrecognized configuration class" in str(exc).lower() and is_vision_model(ref):
            raise errors.Unsupported(
                f"'{ref.display}' is a vision-language (image-text-to-text) model: it chats, with images, through "
                "chat, but this feature needs a text-only causal LM. Pick a text model here.") from exc
        raise map_load_error(exc, ref) from exc
    model.eval()
    params = int(model.num_parameters())  # counts 4-bit packed weights at their real size
    return LoadedLM(model=model, tokenizer=tokenizer, quantization=quant_name, device=device,
                    params=params, footprint_bytes=int(model.get_memory_footprint()))


def vlm_cache_key(ref: ModelRef, quantization: str, device: str) -> CacheKey:
    """The cache key of an image-text-to-text model loaded at ``quantization`` (resolved) on ``device``."""
    return CacheKey("image-text-to-text", ref.target, quantization, device)


def load_vlm(ref: ModelRef, quantization: str = "auto") -> tuple[LoadedLM, bool, float, str | None]:
    """Load (or fetch from the cache) an image-text-to-text model and its processor, under the quantization policy.

    Returns:
        (loaded, cache_hit, seconds, notice) as ``load_causal_lm``; ``loaded.processor`` is the processor and
        ``loaded.tokenizer`` its tokenizer.
    """
    from engines.gpu import torch_device

    device = torch_device()
    chosen, notice = _quantization_for(ref, quantization, device)
    result = model_cache().get_with_info(vlm_cache_key(ref, chosen, device), lambda: _load_vlm(ref, chosen, device))
    return result.value, result.hit, result.seconds, notice


def _load_vlm(ref: ModelRef, quant_name: str, device: str) -> LoadedLM:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    kwargs: dict[str, Any] = {"trust_remote_code": False, **hub_kwargs(ref)}
    try:
        processor = AutoProcessor.from_pretrained(ref.target, **kwargs)
        model = AutoModelForImageTextToText.from_pretrained(ref.target, **kwargs,
                                                            **quant.from_pretrained_kwargs(quant_name))
        if quant_name not in quant.BNB and device != "cpu":
            model = model.to(device)
    except Exception as exc:
        raise map_load_error(exc, ref) from exc
    model.eval()
    tokenizer = getattr(processor, "tokenizer", None) or processor
    return LoadedLM(model=model, tokenizer=tokenizer, quantization=quant_name, device=device,
                    params=int(model.num_parameters()), footprint_bytes=int(model.get_memory_footprint()),
                    processor=processor)
