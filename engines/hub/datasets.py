"""Dataset details through the Hub API and the dataset viewer API (``/splits``, ``/size``, ``/first-rows``,
``/rows`` on ``WORKBENCH_DATASETS_SERVER_URL``, default https://datasets-server.huggingface.co): splits with row
counts, features, and the rows page by page, without downloading the dataset."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engines import errors
from engines.config import Settings
from engines.hub import client
from engines.hub.cards import card_summary
from engines.hub.models import RepoFacts, check_id
from engines.hub.search import date, gated_text, license_of, tag_values

MAX_PAGE = 100  # the viewer's own limit for /rows
DEFAULT_PAGE = 10


@dataclass(frozen=True)
class SplitInfo:
    """One split of one config, with its row count when the viewer knows it."""

    config: str
    split: str
    rows: int | None = None


@dataclass
class RowsPage:
    """A page of rows of one split."""

    config: str
    split: str
    offset: int
    rows: list[dict] = field(default_factory=list)
    features: list[tuple[str, str]] = field(default_factory=list)  # (column, type)
    total: int | None = None


@dataclass
class DatasetDetail(RepoFacts):
    """Everything the Hub tab shows about one dataset."""

    tasks: tuple[str, ...] = ()
    size: str | None = None
    splits: list[SplitInfo] = field(default_factory=list)
    page: RowsPage | None = None
    viewer_error: str | None = None  # why splits or rows are missing (the viewer has no view of it, ...)


def feature_type(spec: Any) -> str:
    """A readable type for a dataset-viewer feature (``{"dtype": "string", "_type": "Value"}`` → "string")."""
    if isinstance(spec, list):
        return f"list[{feature_type(spec[0]) if spec else '?'}]"
    if not isinstance(spec, dict):
        return str(spec)
    kind = spec.get("_type")
    if kind == "Value":
        return str(spec.get("dtype", "?"))
    if kind == "ClassLabel":
        names = spec.get("names") or []
        shown = ", ".join(map(str, names[:6])) + (", …" if len(names) > 6 else "")
        return f"class({shown})"
    if kind in ("Sequence", "List", "LargeList"):
        return f"list[{feature_type(spec.get('feature'))}]"
    if kind:
        return str(kind)
    return "{" + ", ".join(f"{k}: {feature_type(v)}" for k, v in list(spec.items())[:8]) + "}"


def _viewer(path: str, params: dict[str, Any], settings: Settings | None = None) -> dict:
    from huggingface_hub import get_session
    from huggingface_hub.utils import build_hf_headers, hf_raise_for_status

    response = get_session().get(f"{client.viewer_endpoint(settings)}{path}", params=params,
                                 headers=build_hf_headers(token=client.token(), library_name="llm-workbench"),
                                 timeout=client.timeout_s())
    hf_raise_for_status(response)
    return response.json()


def _viewer_call(path: str, dataset_id: str, settings: Settings | None = None, **params) -> dict:
    return client.call(lambda: _viewer(path, {"dataset": dataset_id, **params}, settings),
                       url=client.viewer_endpoint(settings), what=f"the dataset viewer's {path.strip('/')} of "
                       f"{dataset_id}", kind="dataset", repo_id=dataset_id, settings=settings)


def _page(body: dict, config: str, split: str, offset: int, length: int, total: int | None) -> RowsPage:
    features = [(str(f.get("name")), feature_type(f.get("type"))) for f in body.get("features") or ()]
    rows = [r.get("row", {}) for r in (body.get("rows") or ())][:length]
    return RowsPage(config=config, split=split, offset=offset, rows=rows, features=features,
                    total=body.get("num_rows_total", total))


def _check_page(offset: int | None, length: int | None) -> tuple[int, int]:
    offset = int(offset or 0)
    length = DEFAULT_PAGE if length is None else int(length)
    if offset < 0:
        raise errors.InvalidInput(f"The row offset can't be negative (got {offset}).")
    if not 1 <= length <= MAX_PAGE:
        raise errors.InvalidInput(f"Ask for 1 to {MAX_PAGE} rows per page (got {length}).")
    return offset, length


def dataset_rows(dataset_id: str, *, config: str, split: str, offset: int | None = 0,
                 length: int | None = DEFAULT_PAGE, settings: Settings | None = None) -> RowsPage:
    """One page of rows through the viewer's ``/rows`` (cached briefly).

    Args:
        dataset_id: the dataset id (org/name).
        config: the config (subset), e.g. "default".
        split: the split, e.g. "train".
        offset: the first row (0-based).
        length: rows per page (1–100).
        settings: the deployment's settings (read from the environment when None).

    Returns:
        A RowsPage (``total`` = the split's row count).

    Raises:
        InvalidInput: a malformed id, offset or length; HubNotFound (no such split) and the other Hub errors.
    """
    dataset_id = check_id(dataset_id, "dataset")
    offset, length = _check_page(offset, length)
    config, split = (config or "").strip(), (split or "").strip()
    if not config or not split:
        raise errors.InvalidInput("Choose a config and a split (open the dataset first to see them).")

    def fetch() -> RowsPage:
        body = _viewer_call("/rows", dataset_id, settings, config=config, split=split, offset=offset,
                            length=length)
        return _page(body, config, split, offset, length, None)

    page, _ = client.cached(("rows", dataset_id, config, split, offset, length), fetch, settings)
    return page


def _splits(dataset_id: str, settings: Settings | None = None) -> list[SplitInfo]:
    body = _viewer_call("/splits", dataset_id, settings)
    splits = [SplitInfo(str(s["config"]), str(s["split"])) for s in body.get("splits") or ()]
    try:
        sizes = _viewer_call("/size", dataset_id, settings).get("size", {}).get("splits") or ()
    except (errors.HubUnreachable, client.HubRateLimited):
        raise
    except errors.WorkbenchError:  # sizes are a bonus: the splits stand without them
        return splits
    counts = {(s.get("config"), s.get("split")): s.get("num_rows") for s in sizes}
    return [SplitInfo(s.config, s.split, counts.get((s.config, s.split))) for s in splits]


def _first_rows(dataset_id: str, split: SplitInfo, length: int, settings: Settings | None = None) -> RowsPage:
    body = _viewer_call("/first-rows", dataset_id, settings, config=split.config, split=split.split)
    return _page(body, split.config, split.split, 0, length, split.rows)


def _choose(splits: list[SplitInfo], config: str | None, split: str | None) -> SplitInfo:
    for s in splits:
        if (not config or s.config == config) and (not split or s.split == split):
            return s
    wanted = "/".join(x for x in (config, split) if x)
    have = ", ".join(f"{s.config}/{s.split}" for s in splits[:12])
    raise errors.InvalidInput(f"This dataset has no split '{wanted}'. It has: {have}.")


def dataset_detail(dataset_id: str, *, config: str | None = None, split: str | None = None,
                   length: int | None = DEFAULT_PAGE, settings: Settings | None = None) -> DatasetDetail:
    """Facts, card summary, splits, features and the first rows of one dataset (cached briefly).

    Args:
        dataset_id: the dataset id (org/name).
        config: the config to show (default: the first).
        split: the split to show (default: the first of that config).
        length: how many first rows (1–100).
        settings: the deployment's settings (read from the environment when None).

    Returns:
        A DatasetDetail; ``viewer_error`` says why splits or rows are missing when the viewer has none.
    """
    dataset_id = check_id(dataset_id, "dataset")
    _, length = _check_page(0, length)
    config, split = (config or "").strip() or None, (split or "").strip() or None

    def fetch() -> DatasetDetail:
        info = client.call(lambda: client.api().dataset_info(dataset_id, timeout=client.timeout_s()),
                           what=dataset_id, kind="dataset", repo_id=dataset_id, settings=settings)
        card = getattr(info, "card_data", None)
        sizes = tag_values(info.tags, "size_categories")
        detail = DatasetDetail(
            id=info.id, url=client.repo_url(info.id, "dataset"), license=license_of(info),
            gated=gated_text(info.gated), private=bool(info.private), downloads=info.downloads, likes=info.likes,
            updated=date(info.last_modified or info.created_at), tasks=tag_values(info.tags, "task_categories"),
            size=sizes[0] if sizes else None,
            card=card_summary(info.id, "dataset", card.to_dict() if card is not None else None))
        _add_viewer(detail, config, split, length, settings)
        return detail

    detail, _ = client.cached(("dataset", dataset_id, config, split, length), fetch, settings)
    return detail


def _add_viewer(detail: DatasetDetail, config: str | None, split: str | None, length: int,
                settings: Settings | None = None) -> None:
    try:
        detail.splits = _splits(detail.id, settings)
        if not detail.splits:
            detail.viewer_error = "The dataset viewer lists no splits for this dataset yet."
            return
        detail.page = _first_rows(detail.id, _choose(detail.splits, config, split), length, settings)
    except (errors.HubUnreachable, client.HubRateLimited, errors.InvalidInput):
        raise
    except errors.WorkbenchError as exc:
        detail.viewer_error = f"The dataset viewer has no rows for it: {exc}"
