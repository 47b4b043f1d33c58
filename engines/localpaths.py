"""Local paths a user may name (model folders, dataset folders, corpus folders), checked in one place.

Where several people can reach the server (``Settings.restrict_paths``: logins on, not on loopback, or a Space),
a path must lie inside the deployment's roots: ``WORKBENCH_MODELS_DIR``, the data dir and Gradio's uploads folder
(symlinks resolved; ``~`` refused), so no one reads the server's own files through a "dataset" or a "model".
Elsewhere (your own machine) any folder works, ``~`` included.
"""

from __future__ import annotations

from pathlib import Path

from engines.config import Settings
from engines.errors import ModelNotAllowed


def local_roots(settings: Settings) -> list[Path]:
    """The folders local paths must lie in where paths are restricted (those that are configured)."""
    roots = [settings.models_dir, settings.data_dir, settings.uploads_dir]
    return [Path(r) for r in roots if r is not None]


def local_path(text: str, settings: Settings | None = None, what: str = "folder") -> Path:
    """The path ``text`` names, allowed by the deployment's policy (not checked for existence).

    Args:
        text: the path as the user typed it.
        settings: deployment settings (default: ``Settings.current()``).
        what: what the path is for, in messages ("model folder", "dataset folder", …).

    Raises:
        ModelNotAllowed: paths are restricted and ``text`` starts with ``~`` or lies outside every root.
    """
    settings = settings or Settings.current()
    text = (text or "").strip()
    if not settings.restrict_paths:
        return Path(text).expanduser()
    roots = local_roots(settings)
    named = ", ".join(str(r) for r in roots) or "(none configured: set WORKBENCH_MODELS_DIR)"
    if text.startswith("~"):
        raise ModelNotAllowed(f"'~' paths are not accepted on this server: give a {what} inside {named}.")
    path = Path(text)
    resolved = (path if path.is_absolute() else Path.cwd() / path).resolve()
    for root in roots:
        if resolved.is_relative_to(root.resolve()):
            return resolved
    raise ModelNotAllowed(f"This server reads local {what}s only inside {named}: '{path.name or text}' is not "
                          "there. Put it there, or use a Hub id (or upload the files).")
