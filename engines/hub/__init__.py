"""The Hub tab's engine: search models, datasets and Spaces on the Hugging Face Hub and read their details.

Modules:
    client: endpoint, token, timeouts, offline detection, typed errors, the short TTL cache (``call``, ``cached``).
    search: ``search_models`` / ``search_datasets`` / ``search_spaces`` (HfApi.list_*), one row type each.
    models: ``model_detail`` (facts, card, safetensors parameters and dtypes, files, memory fit), ``space_detail``.
    datasets: ``dataset_detail`` and ``dataset_rows`` through the dataset viewer API.
    cards: README front matter + first section.
    local: ``local_models``: what still loads when the Hub is unreachable.

Configuration: ``HF_ENDPOINT`` (the Hub), ``WORKBENCH_DATASETS_SERVER_URL`` (the dataset viewer),
``WORKBENCH_HUB_TIMEOUT_S`` (per call, default 15), ``WORKBENCH_HUB_CACHE_S`` (answers reused, default 120),
``HF_TOKEN`` (gated and private repositories; never shown), ``HF_HUB_OFFLINE`` (no Hub call at all).
"""

from __future__ import annotations

from engines.hub.cards import CardSummary, card_summary, first_section, plain_markdown, summarize
from engines.hub.client import (
    HubAccessDenied,
    HubError,
    HubNotFound,
    HubRateLimited,
    TTLCache,
    call,
    clear_cache,
    endpoint,
    map_error,
    offline,
    reachable,
    repo_url,
    timeout_s,
    viewer_endpoint,
)
from engines.hub.datasets import (
    DatasetDetail,
    RowsPage,
    SplitInfo,
    dataset_detail,
    dataset_rows,
    feature_type,
)
from engines.hub.local import LocalModel, local_models
from engines.hub.models import (
    MEMORY_QUANTS,
    PIPELINE_TASKS,
    MemoryFit,
    ModelDetail,
    RepoFacts,
    SpaceDetail,
    capabilities,
    check_id,
    memory_fit,
    model_detail,
    space_detail,
)
from engines.hub.search import (
    DATASET_SIZES,
    DATASET_TASKS,
    GATED,
    LIBRARIES,
    MODEL_TASKS,
    SDKS,
    SORTS,
    SPACE_SORTS,
    DatasetRow,
    ModelRow,
    SearchResult,
    SpaceRow,
    params_filter,
    search_datasets,
    search_models,
    search_spaces,
)

__all__ = [
    "DATASET_SIZES", "DATASET_TASKS", "GATED", "LIBRARIES", "MEMORY_QUANTS", "MODEL_TASKS", "PIPELINE_TASKS", "SDKS",
    "SORTS", "SPACE_SORTS", "CardSummary", "DatasetDetail", "DatasetRow", "HubAccessDenied", "HubError",
    "HubNotFound", "HubRateLimited", "LocalModel", "MemoryFit", "ModelDetail", "ModelRow", "RepoFacts", "RowsPage",
    "SearchResult", "SpaceDetail", "SpaceRow", "SplitInfo", "TTLCache", "call", "capabilities", "card_summary",
    "check_id", "clear_cache", "dataset_detail", "dataset_rows", "endpoint", "feature_type", "first_section",
    "local_models", "map_error", "memory_fit", "model_detail", "offline", "params_filter", "plain_markdown",
    "reachable", "repo_url", "search_datasets", "search_models", "search_spaces", "space_detail", "summarize",
    "timeout_s", "viewer_endpoint",
]
