"""Looking models up in the catalog: by id, by kind, by pipeline task, and the per-device default of each role."""

from __future__ import annotations

from engines.registry.catalog import _BY_ID, _DEVICE_FREE_ROLES, CATALOG, DEFAULTS
from engines.registry.spec import ModelSpec


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
