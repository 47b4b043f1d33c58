"""The app's one context: built once by ``app.build_demo`` and handed to every tab, whose handlers pass
``ctx.settings`` to engines instead of each engine reading the environment again.

Engines take ``settings: Settings | None = None`` (a library caller may leave it out: ``Settings.current()`` is read
then), so the context is for the app; nothing here imports torch or gradio.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from engines.cache import ModelCache, model_cache
from engines.config import Settings


def default_exports_dir() -> Path:
    """Where every tab writes its download files: one app-owned folder under the system temp dir."""
    return Path(tempfile.gettempdir()) / "workbench-exports"


@dataclass
class Context:
    """What the app's handlers share: the deployment's settings (read once), the model cache, where the app saves
    (``data_dir``) and the managed exports folder (``tabs.common.export_folder`` makes one fresh folder per run in
    it)."""

    settings: Settings
    cache: ModelCache = field(repr=False)
    data_dir: Path
    exports_dir: Path

    @classmethod
    def build(cls, settings: Settings | None = None) -> Context:
        """The context of one app (``settings``: read from the environment when None)."""
        settings = settings or Settings.current()
        return cls(settings=settings, cache=model_cache(settings), data_dir=Path(settings.data_dir),
                   exports_dir=default_exports_dir())


def as_context(value: Context | Settings | None) -> Context:
    """A Context from what a tab's ``build`` was given: a Context, a bare Settings (older callers, tests) or None."""
    if isinstance(value, Context):
        return value
    return Context.build(value)
