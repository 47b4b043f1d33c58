"""Model references: parse and validate before anything is downloaded or loaded.

A reference is one of: a Hub id ``org/name``; a local directory (where allowed); ``openai:<name>``;
``hf:<org/name>``; ``ollama:<name>``. See DESIGN.md, "Model references".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from engines import registry
from engines.config import Settings
from engines.errors import InvalidModelRef, ModelNotAllowed, ModelNotFound
from engines.localpaths import local_path

_PREFIX = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_HUB_ID = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9_.\-]{0,95}/)?[A-Za-z0-9][A-Za-z0-9_.\-]{0,95}$")
_REMOTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]{0,199}$")
_URL = re.compile(r"^[a-z][a-z0-9+.\-]*://|^www\.", re.IGNORECASE)


@dataclass(frozen=True)
class ModelRef:
    """A validated model reference.

    Attributes:
        raw: the reference as given (stripped).
        kind: "hub" | "local" | a backend prefix ("openai", "hf", "ollama", a WORKBENCH_ENDPOINTS name): ask
            ``engines.backends`` what the model can do, never this field.
        name: Hub id, local path, or the remote model name (prefix removed).
        path: local directory to load from (a local reference, or a Hub id found in WORKBENCH_MODELS_DIR).
    """

    raw: str
    kind: str
    name: str
    path: Path | None = None

    @property
    def target(self) -> str:
        """What to pass to ``from_pretrained``: the local directory if there is one, else the Hub id."""
        return str(self.path) if self.path is not None else self.name

    @property
    def spec(self) -> registry.ModelSpec | None:
        """The catalog entry, if any."""
        return registry.get(self.raw) or (registry.get(self.name) if self.kind == "hub" else None)

    @property
    def display(self) -> str:
        """A short name for the UI: ``display_name`` (a local folder by what it holds, never its path)."""
        return display_name(self)


# Folder names that say nothing about the model in them (what fine-tuning and downloads call their folders).
_GENERIC = re.compile(r"^(?:model|models|adapter|merged|final|output|outputs|weights|snapshot|checkpoint(?:-\d+)?|"
                      r"[0-9a-f]{40})$", re.IGNORECASE)


def _read_json(path: Path) -> dict:
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _named(source: str) -> str:
    """A model named in a config (``_name_or_path``, ``base_model_name_or_path``): a Hub id as is, a path as its
    folder's last part (never a server path)."""
    source = (source or "").strip().rstrip("/\\")
    if not source:
        return ""
    if _looks_local(source) or "\\" in source or source.count("/") > 1:
        return re.split(r"[\\/]", source)[-1]
    return source


def _local_name(path: Path) -> str:
    run = path.parent if (path.parent / "run.json").is_file() else None  # a fine-tuning run's output
    base = _named(_read_json(run / "run.json").get("base_display", "")) if run is not None else ""
    if (path / "adapter_config.json").is_file():
        base = base or _named(_read_json(path / "adapter_config.json").get("base_model_name_or_path", ""))
        run_name = run.name if run is not None else path.name
        return f"{base} + {run_name}" if base else run_name
    if run is not None:
        base = base or _named(_read_json(path / "config.json").get("_name_or_path", ""))
        return f"{base} + {run.name} ({path.name})" if base else f"{run.name} ({path.name})"
    if path.parent.name == "snapshots" and path.parent.parent.name.startswith("models--"):  # the HF cache
        return path.parent.parent.name[len("models--"):].replace("--", "/")
    if _GENERIC.match(path.name):
        named = _named(_read_json(path / "config.json").get("_name_or_path", ""))
        if named and not _GENERIC.match(named):
            return named
        return f"{path.parent.name}/{path.name}" if path.parent.name else path.name
    return path.name


def display_name(ref: ModelRef) -> str:
    """How the UI names a model: a Hub id or remote name as given; a local folder by what it holds (an adapter as
    base model + run name, a generic folder such as ``model`` by its config's ``_name_or_path``), never by a path.

    Args:
        ref: a parsed reference.

    Returns:
        A short name (use ``display_title`` for the hover text that says where it is).
    """
    if ref.kind != "local" or ref.path is None:
        return ref.raw
    return _local_name(ref.path)


def display_title(ref: ModelRef, settings: Settings | None = None) -> str:
    """Hover text for a model's name: where it loads from, without a server path (a folder under
    WORKBENCH_MODELS_DIR relative to it, another folder as its last two parts)."""
    if ref.kind != "local" or ref.path is None:
        return ref.raw if ref.path is None else f"{ref.raw} (from the models folder)"
    settings = settings or Settings.current()
    root = settings.models_dir.resolve() if settings.models_dir is not None else None
    if root is not None and ref.path.is_relative_to(root):
        return f"models folder: {ref.path.relative_to(root).as_posix()}"
    tail = "/".join(ref.path.parts[-2:])
    return f"local folder: …/{tail}"


def model_names(model: str, settings: Settings | None = None) -> tuple[str, str]:
    """(display name, hover text) of a model reference as typed; an invalid one is named as given.

    Args:
        model: a reference (catalog id, Hub id, folder, openai:/hf:/ollama: name).
        settings: deployment settings.
    """
    try:
        ref = parse_ref(model, settings)
    except Exception:  # named as given: its error shows where it runs
        text = (model or "").strip()
        return (re.split(r"[\\/]", text.rstrip("/\\"))[-1] if _looks_local(text) else text), ""
    return display_name(ref), display_title(ref, settings)


def _looks_local(text: str) -> bool:
    return text.startswith(("/", "./", "../", "~", ".\\")) or bool(re.match(r"^[A-Za-z]:[\\/]", text))


def parse_ref(model: str, settings: Settings | None = None) -> ModelRef:
    """Validate a model reference against the syntax rules and the deployment's policy.

    Args:
        model: the reference typed or chosen by the user.
        settings: deployment settings (default: ``Settings.current()``).

    Returns:
        The parsed ModelRef.

    Raises:
        InvalidModelRef: empty, a URL, ``..`` in it, or not a valid id.
        ModelNotAllowed: a local path where local models are off, or an id outside the catalog where custom
            models are off.
        ModelNotFound: a local path that is not a directory.
    """
    settings = settings or Settings.current()
    text = (model or "").strip()
    if not text:
        raise InvalidModelRef("No model given: choose one from the list or type a Hub id like org/name.")
    if len(text) > 4096:
        raise InvalidModelRef("That model reference is too long to be a Hub id or a path.")
    if _URL.search(text):
        raise InvalidModelRef(
            f"'{_clip(text)}' is a URL. Give a Hub id like 'org/name' (not its web address), or a local folder."
        )
    if any(part == ".." for part in re.split(r"[\\/]", text)):
        raise InvalidModelRef(f"'{_clip(text)}' contains '..': relative parent paths are not accepted.")
    from engines.backends.registry import remote_prefixes

    prefix, sep, rest = text.partition(":")
    known = remote_prefixes(settings)
    if sep and prefix.lower() in known:
        return _remote_ref(text, prefix.lower(), rest.strip(), settings)
    if _looks_local(text) or (Path(text).is_dir() and not _HUB_ID.match(text)):
        return _local_ref(text, settings)
    if sep and _PREFIX.match(prefix.lower()) and rest.strip():
        raise InvalidModelRef(f"'{_clip(text)}': no backend serves the prefix '{prefix}:'. Known prefixes: "
                              f"{', '.join(p + ':' for p in known)} (name more OpenAI-compatible servers in "
                              "WORKBENCH_ENDPOINTS, e.g. vllm=http://host:8000/v1).")
    if not _HUB_ID.match(text):
        raise InvalidModelRef(
            f"'{_clip(text)}' is not a valid model reference. Use a Hub id like 'Qwen/Qwen2.5-0.5B-Instruct', "
            "a local folder (where allowed), or openai:<name>, hf:<org/name>, ollama:<name>."
        )
    if registry.get(text) is None and not settings.allow_custom_models:
        raise ModelNotAllowed(
            f"'{text}' is not in this app's catalog, and this deployment only runs catalog models. "
            "Pick one from the list (or run the app yourself to use any Hub id)."
        )
    return ModelRef(raw=text, kind="hub", name=text, path=_in_models_dir(text, settings))


def _remote_ref(text: str, prefix: str, name: str, settings: Settings) -> ModelRef:
    if not name or not _REMOTE_NAME.match(name) or ".." in name:
        raise InvalidModelRef(
            f"'{_clip(text)}' needs a model name after '{prefix}:', e.g. {prefix}:{_example(prefix)}.")
    if prefix == "hf" and not _HUB_ID.match(name):
        raise InvalidModelRef(f"'{_clip(text)}': after 'hf:' give a Hub id like org/name.")
    canonical = f"{prefix}:{name}"
    if registry.get(canonical) is None and not settings.allow_custom_models:
        raise ModelNotAllowed(
            f"'{canonical}' is not in this app's catalog, and this deployment only runs catalog models.")
    return ModelRef(raw=canonical, kind=prefix, name=name)


def _local_ref(text: str, settings: Settings) -> ModelRef:
    if not settings.allow_local_models:
        raise ModelNotAllowed(
            "Local model folders are disabled on this deployment (WORKBENCH_ALLOW_LOCAL_MODELS=0). Use a Hub id."
        )
    path = local_path(text, settings, "model folder")
    if not path.is_dir():
        raise ModelNotFound(f"No folder at '{_clip(text)}'. Give the folder that holds config.json / tokenizer files.")
    return ModelRef(raw=text, kind="local", name=str(path.resolve()), path=path.resolve())


def _in_models_dir(hub_id: str, settings: Settings) -> Path | None:
    if settings.models_dir is None:
        return None
    candidate = settings.models_dir / hub_id
    return candidate if candidate.is_dir() else None


def _example(prefix: str) -> str:
    return {"openai": "gpt-4o-mini", "hf": "meta-llama/Llama-3.1-8B-Instruct", "ollama": "llama3.2"}.get(
        prefix, "my-model")


def _clip(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
