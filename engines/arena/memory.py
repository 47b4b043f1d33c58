"""The memory-fit check: estimate each column's memory before anything loads and refuse what doesn't fit, saying
what would."""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from engines import errors, registry
from engines.arena.entries import Entry
from engines.backends.registry import is_local
from engines.config import Settings
from engines.loading import estimate_params_b, lm_cache_key
from engines.quant import resolve_quantization
from engines.refs import ModelRef, parse_ref

ZERO_GPU_BYTES = 70 * 2**30  # a ZeroGPU allocation is half an H200 (70 GB)

@dataclass
class FitCheck:
    """Whether one column's model fits the memory available, estimated before anything is loaded.

    Attributes:
        quantization: the quantization it would load with on this device (``auto`` resolved).
        params_b: parameters in billions (None = unknown, or a remote model).
        params_source: where the count came from ("weights on disk", "config", "catalog").
        needed_bytes: the estimate (params × bytes/param + overhead), None when unknown.
        available_bytes: free memory where it would load (after the columns before it), None when unknown.
        cached: the model is already loaded (needs no new memory).
        fits: False only when the estimate is known and larger than what is available.
        message: why it was refused, with the estimate and what would fit ("" when it fits).
    """

    model: str
    quantization: str
    device: str
    params_b: float | None = None
    params_source: str = ""
    needed_bytes: int | None = None
    available_bytes: int | None = None
    pool: str = ""
    cached: bool = False
    fits: bool = True
    message: str = ""


def available_memory(device: str, settings: Settings | None = None) -> tuple[int | None, str]:
    """Free memory where a model would load, and the name of that pool.

    Args:
        device: "cuda", "mps" or "cpu".
        settings: deployment settings (ZeroGPU gets a fixed 70 GB slice).

    Returns:
        (bytes or None when unknown, pool name for messages).
    """
    settings = settings or Settings.current()
    if device == "cuda":
        if settings.zero_gpu:
            return ZERO_GPU_BYTES, "the ZeroGPU slice's memory"
        try:
            import torch

            free, _total = torch.cuda.mem_get_info()
            # blocks torch holds in its cache are free for our next allocation
            free += torch.cuda.memory_reserved() - torch.cuda.memory_allocated()
            return int(free), "GPU memory"
        except Exception:  # no usable CUDA context: don't refuse on a guess
            return None, "GPU memory"
    try:
        import psutil

        return int(psutil.virtual_memory().available), "RAM"
    except Exception:  # restricted /proc
        return None, "RAM"


def safetensors_params(folder: Path) -> int | None:
    """Exact parameter count from the headers of a folder's ``*.safetensors`` files (no weight is read).

    Returns:
        The number of parameters, or None when there are no readable safetensors files.
    """
    files = sorted(Path(folder).glob("*.safetensors"))
    total = 0
    for path in files:
        try:
            with open(path, "rb") as fh:
                (size,) = struct.unpack("<Q", fh.read(8))
                if size > 100 * 2**20:
                    return None
                header = json.loads(fh.read(size))
        except (OSError, ValueError, struct.error):
            return None
        total += sum(math.prod(v.get("shape", [])) for k, v in header.items() if k != "__metadata__")
    return total or None


def _config_namespace(path: Path) -> Any:
    data = json.loads(path.read_text())
    ns = SimpleNamespace(**data)
    if isinstance(data.get("text_config"), dict):
        ns.text_config = SimpleNamespace(**data["text_config"])
    return ns


def model_params(ref: ModelRef) -> tuple[float | None, str]:
    """Parameter count (billions) of what ``ref`` would load, without loading it.

    A local folder (or a catalog id found in WORKBENCH_MODELS_DIR) is measured from its files, since that is what
    loads; otherwise the catalog's published number; otherwise a cached ``config.json`` estimate.

    Returns:
        (params_b or None, where the number came from).
    """
    if not is_local(ref):
        return None, "remote"
    if ref.path is not None:
        exact = safetensors_params(ref.path)
        if exact:
            return exact / 1e9, "weights on disk"
        config = ref.path / "config.json"
        if config.is_file():
            try:
                return estimate_params_b(_config_namespace(config)), "config.json"
            except (OSError, ValueError, TypeError):
                return None, ""
        return None, ""
    spec = ref.spec
    if spec is not None and spec.params_b:
        return spec.params_b, "catalog"
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(ref.name, "config.json")
        if isinstance(cached, str):
            return estimate_params_b(_config_namespace(Path(cached))), "config.json"
    except Exception:  # a malformed id or config: the size is just unknown
        pass
    return None, ""


def _gb(n: float | None) -> str:
    return "?" if n is None else f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def _is_cached(ref: ModelRef, quant: str, device: str) -> bool:
    from engines.cache import model_cache

    cache = model_cache()
    return lm_cache_key(ref, quant, device) in cache


def _estimate(check: FitCheck, entry: Entry, settings: Settings, seen: set[tuple[str, str]]) -> ModelRef | None:
    """Fill ``check``'s device, quantization, size and cache state; None when it needs no memory check (an invalid
    reference, whose error shows when it runs; a remote model; a quantization this device refuses)."""
    try:
        ref = parse_ref(entry.model, settings)
    except errors.WorkbenchError:
        return None
    if not is_local(ref, settings):
        check.device, check.quantization = "remote", "n/a"
        return None
    check.params_b, check.params_source = model_params(ref)
    try:
        check.quantization, _ = resolve_quantization(entry.quantization, settings.device, check.params_b)
    except errors.WorkbenchError:
        return None
    key = (ref.target, check.quantization)
    check.cached = key in seen or _is_cached(ref, check.quantization, settings.device)
    seen.add(key)
    return ref


def check_fit(entries: list[Entry], *, settings: Settings | None = None,
              available: int | None = None) -> list[FitCheck]:
    """Estimate each column's memory before loading and refuse the ones that don't fit.

    Columns are checked in order and share the pool: a model counts against the memory left by the columns
    before it (a model already loaded, or the same model and quantization twice, counts once).

    Args:
        entries: the comparison's columns.
        settings: deployment settings.
        available: free bytes to check against (default: measured now with ``available_memory``).

    Returns:
        One FitCheck per entry, in order. Invalid references get a fitting check: their error shows when they run.
    """
    settings = settings or Settings.current()
    device = settings.device
    pool = "memory"
    if available is None:
        available, pool = available_memory(device, settings)
    left = available
    seen: set[tuple[str, str]] = set()
    checks = []
    for entry in entries:
        check = FitCheck(model=entry.model, quantization=entry.quantization, device=device, pool=pool)
        checks.append(check)
        ref = _estimate(check, entry, settings, seen)
        if ref is None or check.params_b is None or check.cached:
            continue
        check.needed_bytes = registry.estimate_memory_bytes(check.params_b, check.quantization)
        check.available_bytes = left
        if left is not None and check.needed_bytes is not None:
            if check.needed_bytes > left:
                check.fits = False
                check.message = refusal_message(ref, check, device, shared=left != available)
            else:
                left -= check.needed_bytes
    return checks


def refusal_message(ref: ModelRef, check: FitCheck, device: str, shared: bool = False) -> str:
    """Why a model was refused: the estimate, its arithmetic, what is free, and what would fit instead."""
    quant, params_b = check.quantization, check.params_b or 0.0
    bpp = registry.BYTES_PER_PARAM[quant]
    nf4 = " × 1.1 (NF4 constants)" if quant == "4bit" else ""
    free = f"{_gb(check.available_bytes)} of {check.pool} is free" + (" after the columns before it" if shared else "")
    text = (f"Not loaded: '{ref.display}' at {quant} needs about {_gb(check.needed_bytes)} "
            f"({params_b:.2f}B params × {bpp:g} bytes{nf4} + 15% overhead), but only {free}.")
    return text + " " + what_would_fit(params_b, quant, device, check.available_bytes or 0)


def what_would_fit(params_b: float, quant: str, device: str, available: int) -> str:
    """A sentence naming the quantizations of this model, and the catalog chat models, that fit ``available``."""
    quants = []
    for q in ("bf16", "8bit", "4bit"):
        chosen, notice = resolve_quantization(q, device, params_b)
        need = registry.estimate_memory_bytes(params_b, chosen)
        if notice is None and chosen != quant and need is not None and need <= available:
            quants.append(f"{q} (~{_gb(need)})")
    smaller = sorted(
        ((s.params_b or 0.0, s.label, registry.estimate_memory_bytes(s, quant)) for s in registry.by_kind("chat")
         if s.local and s.params_b),
        reverse=True)
    models = [f"{label} (~{_gb(need)})" for _, label, need in smaller if need is not None and need <= available][:3]
    parts = []
    if quants:
        parts.append("this model fits at " + ", ".join(quants))
    if models:
        parts.append(f"at {quant}, these catalog models fit: " + ", ".join(models))
    if not parts:
        hint = " or 4bit on a CUDA GPU" if device != "cuda" else ""
        return f"Nothing in the catalog fits here at {quant}{hint}; try an API model (openai:, hf:) instead."
    return "What would fit: " + "; ".join(parts) + "."
