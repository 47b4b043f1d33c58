"""What still works when the Hub is unreachable: the models available on this machine."""

from __future__ import annotations

from dataclasses import dataclass

from engines.config import Settings


@dataclass(frozen=True)
class LocalModel:
    """A model that loads without the Hub."""

    id: str
    where: str  # "models dir" | "HF cache"
    size_bytes: int | None = None


def local_models(settings: Settings | None = None) -> list[LocalModel]:
    """Catalog models in WORKBENCH_MODELS_DIR (``engines.health.local_models``), then the models in the
    huggingface_hub cache (a disk scan; nothing is contacted).

    Returns:
        The models, each once (the models dir wins).
    """
    from engines.health import local_models as in_models_dir

    settings = settings or Settings.current()
    out = [LocalModel(m, "models dir") for m in in_models_dir(settings)]
    seen = {m.id for m in out}
    try:
        from huggingface_hub import scan_cache_dir

        repos = sorted(scan_cache_dir().repos, key=lambda r: r.repo_id.lower())
    except Exception:  # no cache yet, or an unreadable one: nothing more to list
        repos = []
    for repo in repos:
        if repo.repo_type == "model" and repo.repo_id not in seen:
            out.append(LocalModel(repo.repo_id, "HF cache", int(repo.size_on_disk)))
            seen.add(repo.repo_id)
    return out
