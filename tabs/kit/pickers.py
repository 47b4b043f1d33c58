"""The one model picker: every tab's catalog dropdown is ``model_picker`` (a ``ModelBox`` of ``model_choices``), so
the choices are picked by kind with the same few filters and labelled the same way ("Label (id)") everywhere.

Pickers that are not catalog choices stay plain ``ModelBox``es: the Hub tab's id box, Evaluate's run columns,
Fine-tune's run picker; the Tokenizers presets and Pipelines' per-task lists come from their own engines.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from engines import registry
from engines.config import Settings
from engines.registry.spec import ModelSpec
from tabs.components import ModelBox

# The chat models a tab runs with: the open ones this machine runs well (small ones without CUDA), then the API ones.
CHAT = {"small_on_cpu": True, "local_first": True}


def label(spec: ModelSpec) -> str:
    """How a catalog model reads in every picker."""
    return f"{spec.label} ({spec.id})"


def model_choices(kinds: str | Iterable[str] = "chat", *, local: bool = True, remote: bool = True,
                  small_on_cpu: bool = False, small_first: bool = False, local_first: bool = False,
                  where: Callable[[ModelSpec], bool] | None = None,
                  device: str | None = None) -> list[tuple[str, str]]:
    """(label, id) of the catalog models of ``kinds``, in catalog order unless asked otherwise.

    Args:
        kinds: a model kind ("chat", "code", "image", "asr"...) or several.
        local: include the open models (run on this machine).
        remote: include the API models (openai:, hf:...).
        small_on_cpu: without CUDA, only the CPU-friendly open models (an Apple laptop counts as a CPU).
        small_first: open models by size (the CPU-friendly first without CUDA).
        local_first: the open models before the API models.
        where: a further filter on the catalog entry.
        device: "cuda", "mps" or "cpu"; default this machine's (``Settings.from_env().device``).
    """
    wanted = {kinds} if isinstance(kinds, str) else set(kinds)
    cpu = (small_on_cpu or small_first) and (device or Settings.from_env().device) != "cuda"
    specs = [s for s in registry.all_specs() if s.kind in wanted and (local if s.local else remote)
             and not (small_on_cpu and cpu and s.local and not s.cpu_friendly) and (where is None or where(s))]
    if small_first:
        specs.sort(key=lambda s: (not s.cpu_friendly, s.params_b or 0) if cpu else (s.params_b or 0))
    if local_first:
        specs.sort(key=lambda s: not s.local)
    return [(label(s), s.id) for s in specs]


def default_model(role: str = "chat", device: str | None = None) -> str:
    """The catalog model a picker starts with for ``role`` on this machine (``registry.default_for``)."""
    return registry.default_for(role, device or Settings.from_env().device)


def model_picker(kinds: str | Iterable[str] = "chat", value=None, *, choices: dict | None = None,
                 extra: Iterable[tuple[str, str]] = (), **box) -> ModelBox:
    """The model picker: a ``ModelBox`` (any allowed model reference over the API and MCP) offering
    ``model_choices(kinds, **choices)`` and then ``extra`` (label, id) pairs.

    Args:
        kinds: the catalog kinds offered.
        value: the starting model (a list when ``multiselect=True``); see ``default_model``.
        choices: keyword arguments for ``model_choices`` (``local``, ``small_on_cpu``...).
        extra: more (label, id) choices after the catalog's (an Ollama model...).
        **box: ``ModelBox`` keyword arguments (label, multiselect, elem_id...).
    """
    return ModelBox([*model_choices(kinds, **(choices or {})), *extra], value=value, **box)
