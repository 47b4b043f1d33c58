"""The one place a model reference meets its backend: registration, resolution, capability questions.

Import-light: the backend modules import their libraries (torch, openai) only inside their methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from engines import errors
from engines.backends.types import CAPABILITY_LABELS, Capabilities

if TYPE_CHECKING:
    from engines.backends.base import Backend
    from engines.config import Settings
    from engines.refs import ModelRef

_BACKENDS: list[Backend] = []


def register(backend: Backend) -> Backend:
    """Add a backend (a later one with the same name replaces the earlier)."""
    _BACKENDS[:] = [b for b in _BACKENDS if b.name != backend.name] + [backend]
    return backend


def backends() -> list[Backend]:
    """Every registered backend, the built-in ones first."""
    # imported every time (a no-op after the first): importing one of them alone (e.g. openai_compat for a snippet's
    # limit_param) used to leave _BACKENDS non-empty without the other, so local models had "no backend"
    from engines.backends import transformers_local, openai_compat  # noqa: F401,I001  (they register themselves)
    return list(_BACKENDS)


def remote_prefixes(settings: Settings | None = None) -> tuple[str, ...]:
    """Every reference prefix a backend serves (``openai``, ``hf``, ``ollama`` and WORKBENCH_ENDPOINTS' names)."""
    from engines.backends.endpoints import BUILTIN

    settings = _settings(settings)
    return BUILTIN + tuple(name for name, _ in settings.endpoints)


def split_prefix(model: str, settings: Settings | None = None) -> tuple[str | None, str]:
    """(prefix, name) of a reference as typed: the prefix when a backend serves it, else (None, model)."""
    prefix, sep, name = (model or "").strip().partition(":")
    if sep and prefix.lower() in remote_prefixes(settings):
        return prefix.lower(), name.strip()
    return None, model


@dataclass(frozen=True)
class Resolved:
    """A parsed reference with its backend."""

    backend: Backend
    ref: ModelRef
    settings: Settings  # the settings it was resolved with (never re-read)

    @property
    def capabilities(self) -> Capabilities:
        return self.backend.capabilities(self.ref, self.settings)


def resolve(model: str | ModelRef, settings: Settings | None = None) -> Resolved:
    """Parse ``model`` (if a string) and find its backend.

    Raises:
        InvalidModelRef / ModelNotAllowed / ModelNotFound: from ``parse_ref``.
        InvalidModelRef: no backend serves the reference.
    """
    from engines.refs import ModelRef, parse_ref

    settings = _settings(settings)
    ref = model if isinstance(model, ModelRef) else parse_ref(model, settings)
    for backend in backends():
        if backend.serves(ref, settings):
            return Resolved(backend, ref, settings)
    raise errors.InvalidModelRef(f"No backend runs '{ref.raw}'. Known prefixes: "
                                 f"{', '.join(p + ':' for p in remote_prefixes(settings))}.")


def backend_for(model: str | ModelRef, settings: Settings | None = None) -> Backend:
    """The backend that runs ``model``."""
    return resolve(model, settings).backend


def capabilities(model: str | ModelRef, settings: Settings | None = None) -> Capabilities:
    """What the backend of ``model`` can do for it."""
    settings = _settings(settings)
    found = resolve(model, settings)
    return found.backend.capabilities(found.ref, settings)


def is_local(model: str | ModelRef, settings: Settings | None = None) -> bool:
    """Whether ``model``'s backend runs it in this process (weights, tokenizer, memory are here): a property of the
    backend, so no model file is read (building the app's lists stays free of transformers)."""
    settings = _settings(settings)
    return resolve(model, settings).backend.capabilities(None, settings).local


def runs_locally(model: str, settings: Settings | None = None) -> bool:
    """Whether a reference runs in this process (no parsing beyond its prefix: safe for catalog ids and lists)."""
    return split_prefix(model, settings)[0] is None


def which_can(capability: str) -> list[str]:
    """Names of the backends that offer ``capability`` for a typical model."""
    settings = _settings(None)
    return [b.name for b in backends() if getattr(b.capabilities(None, settings), capability, False)]


def require(model: str | ModelRef, capability: str, *, feature: str, settings: Settings | None = None) -> Resolved:
    """Resolve ``model`` and check it has ``capability``.

    Raises:
        Unsupported: it hasn't; the message names the feature, the capability and the backends that have it.
    """
    settings = _settings(settings)
    found = resolve(model, settings)
    if not getattr(found.backend.capabilities(found.ref, settings), capability):
        raise found.backend.missing(found.ref, capability, feature)
    return found


def describe() -> list[dict]:
    """Each backend with its prefixes and capability flags (README / status)."""
    settings = _settings(None)
    return [{"backend": b.name, "prefixes": [p + ":" for p in b.prefixes] or ["Hub id", "local folder"],
             "capabilities": [CAPABILITY_LABELS[c] for c in b.capabilities(None, settings).names()]}
            for b in backends()]


def _settings(settings: Settings | None) -> Settings:
    if settings is not None:
        return settings
    from engines.config import Settings

    return Settings.current()
