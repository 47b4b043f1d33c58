"""What the header shows: Hub reachability, models available locally, loaded models and memory."""

from __future__ import annotations

from dataclasses import dataclass, field

from engines import registry
from engines.cache import free_memory, model_cache
from engines.config import Settings
from engines.gpu import gpu_memory
from engines.loading import hub_reachable


@dataclass
class Health:
    """A snapshot of the app's state."""

    hub_online: bool
    local_models: list[str] = field(default_factory=list)
    loaded: list[dict] = field(default_factory=list)
    used_bytes: int = 0
    budget_bytes: int = 0
    gpu: dict | None = None


def local_models(settings: Settings) -> list[str]:
    """Catalog ids present in WORKBENCH_MODELS_DIR (empty when unset)."""
    if settings.models_dir is None:
        return []
    return [s.id for s in registry.all_specs() if s.local and (settings.models_dir / s.id).is_dir()]


def health(settings: Settings | None = None) -> Health:
    """The current state: Hub probe (cached), local models, cache contents and memory."""
    settings = settings or Settings.current()
    cache = model_cache()
    return Health(hub_online=hub_reachable(), local_models=local_models(settings), loaded=cache.snapshot(),
                  used_bytes=cache.total_bytes(), budget_bytes=cache.budget_bytes, gpu=gpu_memory())


def unload_all() -> int:
    """Unload every cached model; returns how many were unloaded."""
    cache = model_cache()
    count = len(cache)
    cache.clear()
    free_memory()
    return count
