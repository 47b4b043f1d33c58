"""The columns of a comparison: model references with their quantization, and the models a comparison starts with."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engines import errors, registry
from engines.backends.registry import is_local
from engines.config import Settings
from engines.quant import QUANTIZATIONS
from engines.refs import parse_ref

MAX_COLUMNS = 4

@dataclass(frozen=True)
class Entry:
    """One column of a comparison: a model reference and the quantization asked for it."""

    model: str
    quantization: str = "auto"

    @property
    def label(self) -> str:
        """How the column is titled: the model, plus the quantization when one was chosen."""
        return self.model if self.quantization == "auto" else f"{self.model} @ {self.quantization}"


def parse_entries(models: Iterable[str] | str, quantization: str = "auto") -> list[Entry]:
    """Turn the user's model choices into column entries.

    A choice may end in ``@<quantization>`` (``meta-llama/Llama-3.1-8B-Instruct@4bit``) to override the shared
    quantization for that column, which is how "same model, two quantizations" is asked for.

    Args:
        models: model references (catalog ids, Hub ids, local folders, openai:/hf:/ollama: names).
        quantization: the quantization for columns without their own ``@`` suffix.

    Returns:
        Between 1 and MAX_COLUMNS entries, duplicates removed, in the order given.

    Raises:
        InvalidInput: no model, too many, or an unknown quantization.
    """
    if isinstance(models, str):
        models = [models]
    quantization = (quantization or "auto").strip().lower()
    if quantization not in QUANTIZATIONS:
        raise errors.InvalidInput(f"Unknown quantization '{quantization}'. Choose one of: {', '.join(QUANTIZATIONS)}.")
    entries: list[Entry] = []
    for raw in models or []:
        text = (raw or "").strip()
        if not text:
            continue
        model, sep, quant = text.rpartition("@")
        if sep and quant.strip().lower() in QUANTIZATIONS and model.strip():
            entry = Entry(model.strip(), quant.strip().lower())
        else:
            entry = Entry(text, quantization)
        if entry not in entries:
            entries.append(entry)
    if not entries:
        raise errors.InvalidInput("Choose at least one model to run (2 to 4 to compare them side by side).")
    if len(entries) > MAX_COLUMNS:
        raise errors.InvalidInput(f"Compare at most {MAX_COLUMNS} models at once ({len(entries)} chosen).")
    return entries


def available_locally(model: str, settings: Settings | None = None) -> bool:
    """Whether a model can load without a download (a local folder, WORKBENCH_MODELS_DIR, or the HF cache)."""
    settings = settings or Settings.current()
    try:
        ref = parse_ref(model, settings)
    except errors.WorkbenchError:
        return False
    if not is_local(ref, settings):
        return False
    if ref.path is not None:
        return True
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(ref.name, "config.json"), str)
    except Exception:  # an id the cache helper rejects is simply not cached
        return False


def default_models(settings: Settings | None = None, n: int = 2) -> list[str]:
    """The catalog chat models a comparison starts with: ones already on disk first (CPU-friendly ones first on a
    machine without CUDA), then the hardware's default picks.

    Args:
        settings: deployment settings.
        n: how many.

    Returns:
        ``n`` catalog ids.
    """
    settings = settings or Settings.current()
    specs = [s for s in registry.by_kind("chat") if s.local]
    if settings.device != "cuda":
        specs.sort(key=lambda s: not s.cpu_friendly)
    fallback = [registry.default_for("chat", settings.device), registry.default_for("chat_alt", settings.device)]
    local = [s.id for s in specs if available_locally(s.id, settings)]
    return list(dict.fromkeys(local + fallback))[:n]

