"""Search the Hub: models, datasets and Spaces through ``HfApi.list_models`` / ``list_datasets`` / ``list_spaces``,
with the facts that matter at a glance in each row."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engines import errors
from engines.config import Settings
from engines.hub import client

MAX_RESULTS = 100
DEFAULT_RESULTS = 30
MAX_TEXT = 200
# UI name → huggingface_hub's sort key (ModelSort_T / DatasetSort_T / SpaceSort_T in huggingface_hub 2.4)
SORTS = {"downloads": "downloads", "likes": "likes", "trending": "trending_score", "created": "created_at",
         "updated": "last_modified"}
SPACE_SORTS = {k: v for k, v in SORTS.items() if k != "downloads"}  # Spaces have no download count
GATED = {"any": None, "gated": True, "not gated": False}
# Hub pipeline tags (the task filter on huggingface.co/models), most used first
MODEL_TASKS = (
    "text-generation", "text-classification", "token-classification", "question-answering", "summarization",
    "translation", "fill-mask", "feature-extraction", "sentence-similarity", "zero-shot-classification",
    "automatic-speech-recognition", "text-to-speech", "text-to-audio", "text-to-image", "image-text-to-text",
    "image-classification", "object-detection", "image-to-text", "text-ranking", "any-to-any",
)
LIBRARIES = ("transformers", "diffusers", "sentence-transformers", "peft", "gguf", "safetensors", "mlx", "onnx",
             "timm", "transformers.js", "ctranslate2", "llama.cpp")
DATASET_TASKS = ("text-classification", "question-answering", "text-generation", "summarization", "translation",
                 "token-classification", "automatic-speech-recognition", "image-classification",
                 "multiple-choice", "table-question-answering")
DATASET_SIZES = ("n<1K", "1K<n<10K", "10K<n<100K", "100K<n<1M", "1M<n<10M", "10M<n<100M", "100M<n<1B", "n>1T")
SDKS = ("gradio", "docker", "static", "streamlit")
MODEL_EXPAND = ["author", "pipeline_tag", "library_name", "downloads", "likes", "gated", "private", "lastModified",
                "createdAt", "safetensors", "tags", "trendingScore"]
DATASET_EXPAND = ["author", "downloads", "likes", "gated", "private", "lastModified", "createdAt", "tags",
                  "trendingScore"]
SPACE_EXPAND = ["author", "likes", "sdk", "lastModified", "createdAt", "runtime", "tags", "trendingScore", "private"]
_WORD = re.compile(r"^[\w.\-+/ <>:]{1,100}$")


@dataclass(frozen=True)
class ModelRow:
    """One model in a result list (None = the Hub did not say)."""

    id: str
    task: str | None = None
    library: str | None = None
    params: int | None = None
    downloads: int | None = None
    likes: int | None = None
    license: str | None = None
    gated: str = "no"  # "no" | "auto" | "manual"
    private: bool = False
    updated: str | None = None  # YYYY-MM-DD


@dataclass(frozen=True)
class DatasetRow:
    """One dataset in a result list."""

    id: str
    tasks: tuple[str, ...] = ()
    size: str | None = None  # the Hub's size category, e.g. "10K<n<100K"
    downloads: int | None = None
    likes: int | None = None
    license: str | None = None
    gated: str = "no"
    updated: str | None = None


@dataclass(frozen=True)
class SpaceRow:
    """One Space in a result list."""

    id: str
    sdk: str | None = None
    hardware: str | None = None
    stage: str | None = None
    likes: int | None = None
    updated: str | None = None


@dataclass
class SearchResult:
    """What a search returns: the rows, whether they came from the short cache, and the query as sent."""

    kind: str  # "model" | "dataset" | "space"
    rows: list = field(default_factory=list)
    cached: bool = False
    query: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------------ helpers


def date(value: datetime | str | None) -> str | None:
    """An ISO date (YYYY-MM-DD) from a datetime or a string."""
    if value is None:
        return None
    return value.date().isoformat() if isinstance(value, datetime) else str(value)[:10]


def gated_text(value: Any) -> str:
    """The Hub's ``gated`` field as "no", "auto" or "manual"."""
    return "no" if value in (None, False, "false", "False") else str(value) if value in ("auto", "manual") else "yes"


def tag_values(tags: list[str] | None, prefix: str) -> tuple[str, ...]:
    """Values of ``prefix:value`` tags (e.g. "license", "task_categories")."""
    return tuple(t.split(":", 1)[1] for t in tags or () if t.startswith(prefix + ":"))


def license_of(info: Any) -> str | None:
    """A repository's license: its card's ``license`` field, else its ``license:`` tag."""
    card = getattr(info, "card_data", None)
    value = getattr(card, "license", None) if card is not None else None
    if isinstance(value, list):
        value = ", ".join(map(str, value))
    return value or next(iter(tag_values(getattr(info, "tags", None), "license")), None)


def _text(value: str | None, name: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > MAX_TEXT:
        raise errors.InvalidInput(f"The {name} is {len(value)} characters long; at most {MAX_TEXT} are searched.")
    return value


def _word(value: str | None, name: str) -> str | None:
    value = _text(value, name)
    if value is not None and not _WORD.match(value):
        raise errors.InvalidInput(f"'{value[:40]}' is not a valid {name}: letters, digits and - _ . / only.")
    return value


def _sort(value: str | None, allowed: dict[str, str], default: str) -> str:
    key = (value or default).strip().lower().replace("_", " ")
    key = {"trending score": "trending", "created at": "created", "last modified": "updated"}.get(key, key)
    if key not in allowed:
        raise errors.InvalidInput(f"Unknown sort '{value}'. Choose one of: {', '.join(allowed)}.")
    return allowed[key]


def _limit(value: int | None) -> int:
    n = DEFAULT_RESULTS if value is None else int(value)
    if not 1 <= n <= MAX_RESULTS:
        raise errors.InvalidInput(f"Ask for 1 to {MAX_RESULTS} results (got {n}).")
    return n


def _gated(value: str | bool | None) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    key = value.strip().lower() or "any"
    if key not in GATED:
        raise errors.InvalidInput(f"Unknown gated filter '{value}'. Choose one of: {', '.join(GATED)}.")
    return GATED[key]


def _size(b: float) -> str:
    return f"{b * 1000:g}M" if b < 1 else f"{b:g}B"


def params_filter(min_b: float | None, max_b: float | None) -> str | None:
    """The Hub's ``num_parameters`` range ("min:1B,max:8B") from bounds in billions (None = open)."""
    bounds = [(name, v) for name, v in (("min", min_b), ("max", max_b)) if v not in (None, "")]
    for name, v in bounds:
        if float(v) < 0:
            raise errors.InvalidInput(f"The {name}imum parameter count can't be negative (got {v}).")
    if min_b not in (None, "") and max_b not in (None, "") and float(min_b) > float(max_b):
        raise errors.InvalidInput(f"The parameter range is empty: min {min_b}B is above max {max_b}B.")
    return ",".join(f"{name}:{_size(float(v))}" for name, v in bounds) or None


def _query(**kwargs) -> dict[str, Any]:
    return {k: v for k, v in kwargs.items() if v not in (None, "", [])}


# ------------------------------------------------------------------------------------------------ searches


def _model_row(info: Any) -> ModelRow:
    st = getattr(info, "safetensors", None)
    return ModelRow(id=info.id, task=info.pipeline_tag, library=info.library_name,
                    params=int(st.total) if st is not None and st.total else None, downloads=info.downloads,
                    likes=info.likes, license=license_of(info), gated=gated_text(info.gated),
                    private=bool(info.private), updated=date(info.last_modified or info.created_at))


def search_models(text: str | None = None, *, task: str | None = None, library: str | None = None,
                  author: str | None = None, gated: str | bool | None = None, min_params_b: float | None = None,
                  max_params_b: float | None = None, sort: str | None = "downloads",
                  limit: int | None = None, settings: Settings | None = None) -> SearchResult:
    """Search models on the Hub.

    Args:
        text: words the model id contains (None = any).
        task: a pipeline tag, e.g. "text-generation".
        library: e.g. "transformers", "diffusers", "gguf".
        author: a user or organisation, e.g. "Qwen".
        gated: "gated", "not gated" or "any" (or True / False / None).
        min_params_b: at least this many billion parameters.
        max_params_b: at most this many billion parameters.
        sort: downloads, likes, trending, created or updated (always most first).
        limit: how many results (1–100, default 30).
        settings: the deployment's settings (read from the environment when None).

    Returns:
        A SearchResult of ModelRow.

    Raises:
        InvalidInput: a malformed filter; HubUnreachable and the other Hub errors of ``client.call``.
    """
    query = _query(search=_text(text, "search text"), pipeline_tag=_word(task, "task"),
                   filter=_word(library, "library"), author=_word(author, "author"), gated=_gated(gated),
                   num_parameters=params_filter(min_params_b, max_params_b), sort=_sort(sort, SORTS, "downloads"),
                   limit=_limit(limit))

    def fetch() -> list[ModelRow]:
        infos = client.call(lambda: list(client.api().list_models(**query, expand=MODEL_EXPAND)),
                            what="the model list", settings=settings)
        return [_model_row(i) for i in infos]

    rows, hit = client.cached(("models", tuple(sorted(query.items()))), fetch, settings)
    return SearchResult("model", rows, hit, query)


def _dataset_row(info: Any) -> DatasetRow:
    sizes = tag_values(info.tags, "size_categories")
    return DatasetRow(id=info.id, tasks=tag_values(info.tags, "task_categories"), size=sizes[0] if sizes else None,
                      downloads=info.downloads, likes=info.likes, license=license_of(info),
                      gated=gated_text(info.gated), updated=date(info.last_modified or info.created_at))


def search_datasets(text: str | None = None, *, task: str | None = None, size: str | None = None,
                    author: str | None = None, sort: str | None = "downloads",
                    limit: int | None = None, settings: Settings | None = None) -> SearchResult:
    """Search datasets on the Hub.

    Args:
        text: words the dataset id contains.
        task: a task category, e.g. "text-classification".
        size: a size category, e.g. "1K<n<10K".
        author: a user or organisation.
        sort: downloads, likes, trending, created or updated.
        limit: how many results (1–100, default 30).
        settings: the deployment's settings (read from the environment when None).

    Returns:
        A SearchResult of DatasetRow.
    """
    query = _query(search=_text(text, "search text"), task_categories=_word(task, "task category"),
                   size_categories=_word(size, "size category"), author=_word(author, "author"),
                   sort=_sort(sort, SORTS, "downloads"), limit=_limit(limit))

    def fetch() -> list[DatasetRow]:
        infos = client.call(lambda: list(client.api().list_datasets(**query, expand=DATASET_EXPAND)),
                            what="the dataset list", kind="dataset", settings=settings)
        return [_dataset_row(i) for i in infos]

    rows, hit = client.cached(("datasets", tuple(sorted(query.items()))), fetch, settings)
    return SearchResult("dataset", rows, hit, query)


def _space_row(info: Any) -> SpaceRow:
    runtime = getattr(info, "runtime", None)
    hardware = (runtime.hardware or runtime.requested_hardware) if runtime is not None else None
    return SpaceRow(id=info.id, sdk=info.sdk, hardware=hardware, stage=runtime.stage if runtime else None,
                    likes=info.likes, updated=date(info.last_modified or info.created_at))


def search_spaces(text: str | None = None, *, sdk: str | None = None, author: str | None = None,
                  sort: str | None = "likes", limit: int | None = None,
                  settings: Settings | None = None) -> SearchResult:
    """Search Spaces on the Hub.

    Args:
        text: words the Space id contains.
        sdk: gradio, docker, static or streamlit (Spaces are tagged with their SDK).
        author: a user or organisation.
        sort: likes, trending, created or updated.
        limit: how many results (1–100, default 30).
        settings: the deployment's settings (read from the environment when None).

    Returns:
        A SearchResult of SpaceRow.
    """
    sdk = _word(sdk, "SDK")
    query = _query(search=_text(text, "search text"), filter=sdk.lower() if sdk else None,
                   author=_word(author, "author"), sort=_sort(sort, SPACE_SORTS, "likes"), limit=_limit(limit))

    def fetch() -> list[SpaceRow]:
        infos = client.call(lambda: list(client.api().list_spaces(**query, expand=SPACE_EXPAND)),
                            what="the Space list", kind="space", settings=settings)
        rows = [_space_row(i) for i in infos]
        return [r for r in rows if not sdk or r.sdk is None or r.sdk == sdk.lower()]

    rows, hit = client.cached(("spaces", tuple(sorted(query.items()))), fetch, settings)
    return SearchResult("space", rows, hit, query)
