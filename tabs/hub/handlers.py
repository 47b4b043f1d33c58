"""Hub tab: search models, datasets and Spaces on the Hugging Face Hub, open one, and send it to the tab that uses
it (Pipelines, Tokenizers, Compare, Minutes, Images, Evaluate) through ``tabs.common.Links``.

Targets this tab sends to (registered by the receiving tabs; a target not registered gets no button):
``pipelines.model`` (+ ``pipelines.task``), ``tokenizers.tokenizers``, ``compare.models``, ``minutes.asr``,
``images.model``, ``evaluate.models``, and for a dataset ``evaluate.dataset`` (+ ``evaluate.dataset_config``,
``evaluate.dataset_split``). A multiselect target gets the id added to its selection; others are replaced. The sends
are declared as ``Link``s and wired once every tab is built, so the build order does not matter.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import gradio as gr

from engines import errors, hub
from engines.config import Settings
from engines.context import Context, as_context
from tabs.common import ChoiceBox, Link, Links, ModelBox, on, status_html, with_settings
from tabs.hub import view


def Suggestions(choices=None, value=None, *, description: str = "free text", **kwargs) -> ChoiceBox:  # noqa: N802
    """A ChoiceBox (suggestions, free text over the API and MCP) whose schema describes the value."""
    box = ChoiceBox(choices, value, **kwargs)
    box._value_description = description
    return box


@dataclass(frozen=True)
class Send:
    """A button that sends the opened item to another tab's target."""

    label: str
    target: str
    needs: str | None = None  # a model capability (engines.hub.capabilities); None = always
    extra: dict[str, str] = field(default_factory=dict)  # companion target → field of the opened item


MODEL_SENDS = (
    Send("Pipelines", "pipelines.model", "pipeline", {"pipelines.task": "pipeline_task"}),
    Send("Tokenizers", "tokenizers.tokenizers", "tokenizer"),
    Send("Compare", "compare.models", "chat"),
    Send("Minutes (speech)", "minutes.asr", "speech"),
    Send("Images", "images.model", "image"),
    Send("Evaluate", "evaluate.models", "chat"),
)
DATASET_SENDS = (
    Send("Use as a test set (Evaluate)", "evaluate.dataset", None,
         {"evaluate.dataset_config": "config", "evaluate.dataset_split": "split"}),
)
GATED_CHOICES = list(hub.GATED)
_ANY = ""


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _offline(exc: errors.WorkbenchError, outputs: dict, settings: Settings | None) -> dict:
    """The offline state: the reason in the status, the models available locally in place of results."""
    local = hub.local_models(settings)
    text = f"{exc} Showing the {_plural(len(local), 'model')} available locally."
    return {"status": status_html("warning", text), **outputs(local)}


def _offline_search(exc: errors.WorkbenchError, word: str, table) -> dict:
    """Offline, a dataset or Space search has nothing local to show: say so (the local list is of models only)."""
    return {"status": status_html("warning", f"{exc} {word} cannot be searched offline."), "table": table}


def _searched(result: hub.SearchResult, word: str) -> str:
    n = len(result.rows)
    if not n:
        return status_html("done", f"No {word}s match: widen the filters or change the words.")
    return status_html("done", f"{_plural(n, word)}{' (from the cache)' if result.cached else ''}. Select a row "
                               "to open it.")


# ------------------------------------------------------------------------------------------------ handlers


def hub_search_models(text: str | None = None, task: str | None = None, library: str | None = None,
                      author: str | None = None, gated: str | None = None, min_params_b: float | None = None,
                      max_params_b: float | None = None, sort: str | None = None, *,
                      settings: Settings | None = None) -> dict:
    """Search models on the Hugging Face Hub: by words, task, library, author, gating and size.

    Args:
        text: words the model id contains, e.g. "llama"; empty = any model.
        task: a Hub pipeline tag, e.g. "text-generation", "automatic-speech-recognition"; empty = any task.
        library: e.g. "transformers", "diffusers", "gguf", "sentence-transformers"; empty = any library.
        author: a user or organisation, e.g. "Qwen"; empty = anyone.
        gated: "any", "gated" (license to accept first) or "not gated".
        min_params_b: at least this many billion parameters (e.g. 1); empty or 0 = no minimum.
        max_params_b: at most this many billion parameters (e.g. 8); empty or 0 = no maximum.
        sort: "downloads", "likes", "trending", "created" or "updated" (most first).

    Returns:
        The status line and the results (id, task, parameters, downloads, likes, license, gated, last update); when
        the Hub is unreachable, the models available locally instead.
    """
    try:
        result = hub.search_models(text, task=task or None, library=library or None, author=author or None,
                                   gated=gated or None, min_params_b=min_params_b or None,
                                   max_params_b=max_params_b or None, sort=sort or "downloads", settings=settings)
    except errors.HubUnreachable as exc:
        return _offline(exc, lambda local: {"table": view.local_frame(local)}, settings)
    return {"status": _searched(result, "model"), "table": view.models_frame(result.rows)}


def hub_search_datasets(text: str | None = None, task: str | None = None, size: str | None = None,
                        sort: str | None = None, *, settings: Settings | None = None) -> dict:
    """Search datasets on the Hugging Face Hub: by words, task category and size.

    Args:
        text: words the dataset id contains, e.g. "squad"; empty = any dataset.
        task: a task category, e.g. "text-classification", "question-answering"; empty = any.
        size: a size category, e.g. "1K<n<10K", "10K<n<100K"; empty = any size.
        sort: "downloads", "likes", "trending", "created" or "updated" (most first).

    Returns:
        The status line and the results (id, tasks, size, downloads, likes, license, gated, last update).
    """
    try:
        result = hub.search_datasets(text, task=task or None, size=size or None, sort=sort or "downloads",
                                     settings=settings)
    except errors.HubUnreachable as exc:
        return _offline_search(exc, "Datasets", view.datasets_frame([]))
    return {"status": _searched(result, "dataset"), "table": view.datasets_frame(result.rows)}


def hub_search_spaces(text: str | None = None, sdk: str | None = None, sort: str | None = None, *,
                      settings: Settings | None = None) -> dict:
    """Search Spaces (hosted demos) on the Hugging Face Hub: by words and SDK.

    Args:
        text: words the Space id contains, e.g. "chat"; empty = any Space.
        sdk: "gradio", "docker", "static" or "streamlit"; empty = any SDK.
        sort: "likes", "trending", "created" or "updated" (most first).

    Returns:
        The status line and the results (id, SDK, hardware, state, likes, last update).
    """
    try:
        result = hub.search_spaces(text, sdk=sdk or None, sort=sort or "likes", settings=settings)
    except errors.HubUnreachable as exc:
        return _offline_search(exc, "Spaces", view.spaces_frame([]))
    return {"status": _searched(result, "Space"), "table": view.spaces_frame(result.rows)}


def hub_model(model: str | None = None, *, settings: Settings | None = None) -> dict:
    """Open one model of the Hub: card summary, license, gating, downloads, parameters and dtypes (read from the
    safetensors headers, no weight downloaded), files and sizes, and the memory at 4-bit / 8-bit / bf16 against
    what is free on this machine.

    Args:
        model: the model's Hub id, e.g. "Qwen/Qwen2.5-0.5B-Instruct".

    Returns:
        The status line, the facts (HTML) and the card's first section (Markdown).
    """
    try:
        d = hub.model_detail(model or "", settings=settings)
    except errors.HubUnreachable as exc:
        local = hub.local_models(settings)
        return {"status": status_html("warning", str(exc)), "facts": view.offline_html(str(exc), local), "card": "",
                "opened": None}
    fits = [view.QUANT_LABELS[m.quantization] for m in d.memory if m.fits and m.runs_here]
    said = f"fits here at {', '.join(fits)}" if fits else "does not fit here" if d.params else "size unknown"
    opened = {"id": d.id, "pipeline_task": d.pipeline_task, "capabilities": list(d.capabilities)}
    return {"status": status_html("warning" if d.notes else "done", f"Opened {d.id}: {said}."),
            "facts": view.model_html(d), "card": view.card_markdown(d.card), "opened": opened}


def hub_dataset(dataset: str | None = None, config: str | None = None, split: str | None = None, *,
                settings: Settings | None = None) -> dict:
    """Open one dataset of the Hub: card, license, splits with row counts, features (column types) and the first
    rows, through the dataset viewer (nothing is downloaded).

    Args:
        dataset: the dataset's Hub id, e.g. "rajpurkar/squad".
        config: the config (subset) to show; empty = the first.
        split: the split to show; empty = the first of that config.

    Returns:
        The status line, the facts (HTML), the card's first section, the first rows and the page line (which
        config and split they are from).
    """
    try:
        d = hub.dataset_detail(dataset or "", config=config or None, split=split or None, settings=settings)
    except errors.HubUnreachable as exc:
        local = hub.local_models(settings)
        return {"status": status_html("warning", str(exc)), "facts": view.offline_html(str(exc), local),
                "card": "", "rows": view.rows_frame(None), "page": "", "opened": None}
    page = d.page
    configs = list(dict.fromkeys(s.config for s in d.splits))
    splits = [s.split for s in d.splits if page is None or s.config == page.config]
    opened = {"id": d.id, "config": page.config if page else None, "split": page.split if page else None,
              "offset": 0, "total": page.total if page else None, "configs": configs, "splits": splits}
    said = f"Opened {d.id}: {_plural(len(d.splits), 'split')}." if not d.viewer_error else d.viewer_error
    return {"status": status_html("warning" if d.viewer_error else "done", said), "facts": view.dataset_html(d),
            "card": view.card_markdown(d.card), "rows": view.rows_frame(page), "page": view.page_text(page),
            "opened": opened}


def hub_dataset_rows(dataset: str | None = None, config: str | None = None, split: str | None = None,
                     offset: float | None = None, *, settings: Settings | None = None) -> dict:
    """A page of rows of one dataset split, through the dataset viewer (10 rows from ``offset``).

    Args:
        dataset: the dataset's Hub id.
        config: the config (subset), e.g. "default".
        split: the split, e.g. "train".
        offset: the first row to show (0-based); empty = 0.

    Returns:
        The status line, the rows and the page line.
    """
    page = hub.dataset_rows(dataset or "", config=config or "", split=split or "", offset=int(offset or 0),
                            settings=settings)
    opened = {"id": (dataset or "").strip(), "config": page.config, "split": page.split, "offset": page.offset,
              "total": page.total}
    text = view.page_text(page) or f"No rows at offset {page.offset:,} (the split has {page.total or 0:,})."
    return {"status": status_html("done", text), "rows": view.rows_frame(page), "page": text, "opened": opened}


def hub_space(space: str | None = None, *, settings: Settings | None = None) -> dict:
    """Open one Space of the Hub: SDK and version, hardware, running state, links, the models it uses.

    Args:
        space: the Space's Hub id, e.g. "gradio/hello_world".

    Returns:
        The status line and the facts (HTML).
    """
    try:
        d = hub.space_detail(space or "", settings=settings)
    except errors.HubUnreachable as exc:
        return {"status": status_html("warning", str(exc)), "facts": view.offline_html(str(exc), [])}
    return {"status": status_html("done", f"Opened {d.id} ({d.sdk or 'unknown SDK'}, "
                                          f"{(d.stage or 'unknown state').lower()})."), "facts": view.space_html(d)}


def _split_choices(config: gr.Component, split: gr.Component):
    """After a dataset opens: its configs and splits as the pickers' choices (outside the API's outputs)."""

    def update(opened: dict | None) -> dict:
        if not opened or not opened.get("configs"):
            return {}
        return {config: gr.update(choices=opened["configs"], value=opened["config"]),
                split: gr.update(choices=opened["splits"], value=opened["split"])}

    return update


def _step(opened: dict | None, direction: int, settings: Settings | None = None) -> dict:
    if not opened or not opened.get("config"):
        raise errors.InvalidInput("Open a dataset first.")
    offset = max(0, int(opened.get("offset") or 0) + direction * hub.datasets.DEFAULT_PAGE)
    total = opened.get("total")
    if total is not None and offset >= total:
        offset = opened.get("offset") or 0
    return hub_dataset_rows(opened["id"], opened["config"], opened["split"], offset, settings=settings)


def _picked(evt: gr.SelectData) -> str:
    row = getattr(evt, "row_value", None) or []
    return str(row[0]) if row else gr.skip()


# ------------------------------------------------------------------------------------------------ sending


def _merge(current, value: str, limit: int | None) -> list[str]:
    chosen = [v for v in (current if isinstance(current, list) else [current] if current else []) if v != value]
    chosen.append(value)
    return chosen[-limit:] if limit else chosen


def _payload(spec: Send, links: Links):
    """What a send button puts into ``spec.target`` (and its companion targets): the opened item's id, moved last in
    a multiselect target (at most its ``max_choices``), and the companion fields the item has."""

    def payload(opened: dict | None, current=None) -> dict:
        if not opened or not opened.get("id"):
            return {}
        component = links.get(spec.target)[1]
        multi = bool(getattr(component, "multiselect", False))
        value = _merge(current, opened["id"], getattr(component, "max_choices", None)) if multi else opened["id"]
        return {spec.target: value, **{key: opened[name] for key, name in spec.extra.items()
                                        if opened.get(name) is not None}}

    return payload


def _wire_sends(sends: tuple[Send, ...], links: Links | None, opened: gr.State) -> list[tuple[Send, gr.Button]]:
    """One hidden button per send, each declared as a ``Link`` (wired once every tab is built, where its target is
    registered); a send's button shows once an item that it fits is opened (``_show_sends``)."""
    if links is None:
        return []
    out = []
    for spec in sends:
        button = gr.Button(f"→ {spec.label}", size="sm", visible=False, scale=0,
                           min_width=max(120, 9 * len(spec.label)),
                           elem_id="hub-send-" + spec.target.replace(".", "-"))
        links.send(Link("hub", button, (spec.target,), (opened, spec.target), _payload(spec, links),
                        extras=tuple(spec.extra)))
        out.append((spec, button))
    return out


def _show_sends(sends: list[tuple[Send, gr.Button]], links: Links | None = None):
    """Show the buttons of the sends that fit the opened item (and whose target is in the app, given ``links``)."""

    def show(opened: dict | None) -> dict:
        caps = set((opened or {}).get("capabilities") or ())
        return {button: gr.update(visible=bool(opened) and (spec.needs is None or spec.needs in caps)
                                  and (links is None or links.get(spec.target) is not None))
                for spec, button in sends}

    return show


def picked_dataset(table: gr.Dataframe, box: gr.Component, config: gr.Component, split: gr.Component):
    """The event that opens the dataset of a selected row (its id goes into ``box``, config and split are reset)."""

    def pick(evt: gr.SelectData):
        return _picked(evt), "", ""

    return on(table.select, pick, None, [box, config, split], api_name=False).then


def _detail_row(label: str, elem: str):
    """The facts (HTML) beside the card's first section (Markdown); stacked on a phone."""
    with gr.Row(equal_height=False):
        facts = gr.HTML(elem_id=f"hub-{elem}-facts", min_width=320)
        with gr.Column(scale=1, min_width=320):
            card = gr.Markdown(label=label, elem_id=f"hub-{elem}-card", sanitize_html=True)
    return facts, card


# ------------------------------------------------------------------------------------------------ layout

# Pixel widths: on a phone the table scrolls sideways instead of squeezing headers into single letters.
MODEL_WIDTHS = [250, 190, 85, 115, 75, 120, 125, 115]
DATASET_WIDTHS = [250, 190, 120, 115, 75, 110, 85, 115]
SPACE_WIDTHS = [280, 95, 130, 110, 75, 115]


def _results(columns: list[str], widths: list[str], elem: str) -> gr.Dataframe:
    import pandas as pd

    return gr.Dataframe(pd.DataFrame(columns=columns), interactive=False, wrap=False, column_widths=widths,
                        max_height=420, elem_id=f"hub-{elem}-table", label="Results (select a row to open it)")


def _models_tab(links: Links | None, settings: Settings) -> None:
    search, open_model = with_settings(hub_search_models, settings), with_settings(hub_model, settings)
    with gr.Tab("Models", id="hub-models"):
        with gr.Row():
            text = gr.Textbox(label="Search models", placeholder="llama, qwen, whisper…", max_length=200, scale=3,
                              elem_id="hub-m-text")
            task = Suggestions([("any", _ANY), *hub.MODEL_TASKS], value=_ANY, label="Task", scale=2,
                               description="a Hub pipeline tag, e.g. text-generation", elem_id="hub-m-task")
            library = Suggestions([("any", _ANY), *hub.LIBRARIES], value=_ANY, label="Library", scale=1,
                                  description="a library, e.g. transformers", elem_id="hub-m-library")
            author = gr.Textbox(label="Author", placeholder="Qwen, google…", max_length=100, scale=1)
        with gr.Row():
            gated = gr.Dropdown(GATED_CHOICES, value="any", label="Gated", min_width=120)
            low = gr.Number(None, label="Min params (B)", minimum=0, maximum=100_000, min_width=120)
            high = gr.Number(None, label="Max params (B)", minimum=0, maximum=100_000, min_width=120)
            sort = gr.Dropdown(list(hub.SORTS), value="downloads", label="Sort by", min_width=120)
            go = gr.Button("Search", variant="primary", elem_id="hub-m-go", min_width=120)
        found = {"status": gr.HTML(elem_id="hub-m-status"),
                 "table": _results(view.MODEL_COLUMNS, MODEL_WIDTHS, "m")}
        inputs = [text, task, library, author, gated, low, high, sort]
        run = {"status": "status", "clear": ("table",), "running": "Searching the Hub…"}
        on(go.click, search, inputs, found, api_name="hub_search_models", **run)
        on(text.submit, search, inputs, found, api_name=False, **run)
        with gr.Row():
            model = ModelBox([], label="Model id", scale=4, elem_id="hub-m-id")
            open_ = gr.Button("Open model", elem_id="hub-m-open", scale=1, min_width=120)
        opened = gr.State(None)
        detail = {"status": gr.HTML(elem_id="hub-m-detail-status"), "opened": opened}
        with gr.Row():
            wired = _wire_sends(MODEL_SENDS, links, opened)
        detail["facts"], detail["card"] = _detail_row("Model card (first section)", "m")
        run = {"status": "status", "clear": ("facts", "card", "opened"), "running": "Reading the model…"}
        show = _show_sends(wired, links)
        buttons = [b for _, b in wired]
        opening = on(open_.click, open_model, [model], detail, api_name="hub_model", **run)
        on(opening.then, show, opened, buttons, api_name=False)
        picked = on(found["table"].select, _picked, None, model, api_name=False)
        on(on(picked.then, open_model, [model], detail, api_name=False, **run).then, show, opened, buttons,
           api_name=False)


def _datasets_tab(links: Links | None, settings: Settings) -> None:
    search, open_dataset = with_settings(hub_search_datasets, settings), with_settings(hub_dataset, settings)
    with gr.Tab("Datasets", id="hub-datasets"):
        with gr.Row():
            text = gr.Textbox(label="Search datasets", placeholder="squad, gsm8k, reviews…", max_length=200,
                              scale=3, elem_id="hub-d-text")
            task = Suggestions([("any", _ANY), *hub.DATASET_TASKS], value=_ANY, label="Task category", scale=2,
                               description="a task category, e.g. question-answering", elem_id="hub-d-task")
            size = Suggestions([("any", _ANY), *hub.DATASET_SIZES], value=_ANY, label="Size", scale=1,
                               description="a size category, e.g. 1K<n<10K")
            sort = gr.Dropdown(list(hub.SORTS), value="downloads", label="Sort by", scale=1, min_width=120)
            go = gr.Button("Search", variant="primary", elem_id="hub-d-go", scale=1, min_width=120)
        found = {"status": gr.HTML(elem_id="hub-d-status"),
                 "table": _results(view.DATASET_COLUMNS, DATASET_WIDTHS, "d")}
        run = {"status": "status", "clear": ("table",), "running": "Searching the Hub…"}
        on(go.click, search, [text, task, size, sort], found, api_name="hub_search_datasets", **run)
        on(text.submit, search, [text, task, size, sort], found, api_name=False, **run)
        with gr.Row():
            dataset = gr.Textbox(label="Dataset id", placeholder="org/name", max_length=200, scale=3,
                                 elem_id="hub-d-id")
            config = Suggestions([], label="Config", description="a config (subset) name", scale=1,
                                 elem_id="hub-d-config")
            split = Suggestions([], label="Split", description="a split name, e.g. train", scale=1,
                                elem_id="hub-d-split")
            open_ = gr.Button("Open dataset", elem_id="hub-d-open", scale=1, min_width=120)
        opened = gr.State(None)
        status = gr.HTML(elem_id="hub-d-detail-status")
        with gr.Row():
            wired = _wire_sends(DATASET_SENDS, links, opened)
        facts, card = _detail_row("Dataset card (first section)", "d")
        rows = gr.Dataframe(headers=["open a dataset to see its rows"], interactive=False, wrap=True, max_height=420,
                            label="Rows", elem_id="hub-d-rows")
        page = gr.HTML(elem_id="hub-d-page")
        with gr.Row(equal_height=False):
            prev = gr.Button("◀ Previous", size="sm", scale=0, min_width=110, elem_id="hub-d-prev")
            nxt = gr.Button("Next ▶", size="sm", scale=0, min_width=110, elem_id="hub-d-next")
            offset = gr.Number(0, label="From row", minimum=0, maximum=10**12, precision=0, scale=0, min_width=130)
            jump = gr.Button("Show rows", size="sm", scale=0, min_width=110, elem_id="hub-d-jump")
        detail = {"status": status, "facts": facts, "card": card, "rows": rows, "page": page, "opened": opened}
        run = {"status": "status", "clear": ("facts", "card", "rows", "page", "opened"),
               "running": "Reading the dataset…"}
        buttons = [b for _, b in wired]
        show, choices = _show_sends(wired, links), _split_choices(config, split)
        picked = picked_dataset(found["table"], dataset, config, split)
        for event, api_name in ((open_.click, "hub_dataset"), (picked, False)):
            opening = on(event, open_dataset, [dataset, config, split], detail, api_name=api_name, **run)
            shown = on(opening.then, show, opened, buttons, api_name=False)
            on(shown.then, choices, opened, [config, split], api_name=False)
        on(dataset.input, None, None, [config, split], js="() => ['', '']")  # another dataset: its own splits
        paged = {"status": status, "rows": rows, "page": page, "opened": opened}
        run = {"status": "status", "running": "Reading rows…"}
        on(jump.click, with_settings(hub_dataset_rows, settings), [dataset, config, split, offset], paged,
           api_name="hub_dataset_rows", **run)
        on(prev.click, lambda o: _step(o, -1, settings), [opened], paged, api_name=False, **run)
        on(nxt.click, lambda o: _step(o, 1, settings), [opened], paged, api_name=False, **run)


def _spaces_tab(settings: Settings) -> None:
    search, open_space = with_settings(hub_search_spaces, settings), with_settings(hub_space, settings)
    with gr.Tab("Spaces", id="hub-spaces"):
        with gr.Row():
            text = gr.Textbox(label="Search Spaces", placeholder="chat, whisper, leaderboard…", max_length=200,
                              scale=3, elem_id="hub-s-text")
            sdk = Suggestions([("any", _ANY), *hub.SDKS], value=_ANY, label="SDK", scale=1,
                              description="gradio, docker, static or streamlit")
            sort = gr.Dropdown(list(hub.SPACE_SORTS), value="likes", label="Sort by", scale=1, min_width=120)
            go = gr.Button("Search", variant="primary", elem_id="hub-s-go", scale=1, min_width=120)
        found = {"status": gr.HTML(elem_id="hub-s-status"),
                 "table": _results(view.SPACE_COLUMNS, SPACE_WIDTHS, "s")}
        run = {"status": "status", "clear": ("table",), "running": "Searching the Hub…"}
        on(go.click, search, [text, sdk, sort], found, api_name="hub_search_spaces", **run)
        on(text.submit, search, [text, sdk, sort], found, api_name=False, **run)
        with gr.Row():
            space = gr.Textbox(label="Space id", placeholder="org/name", max_length=200, scale=4, elem_id="hub-s-id")
            open_ = gr.Button("Open Space", elem_id="hub-s-open", scale=1, min_width=120)
        detail = {"status": gr.HTML(elem_id="hub-s-detail-status"), "facts": gr.HTML(elem_id="hub-s-facts")}
        run = {"status": "status", "clear": ("facts",), "running": "Reading the Space…"}
        on(open_.click, open_space, [space], detail, api_name="hub_space", **run)
        picked = on(found["table"].select, _picked, None, space, api_name=False)
        on(picked.then, open_space, [space], detail, api_name=False, **run)


def build(ctx: Context | Settings | None = None, links: Links | None = None) -> None:
    """Render the Hub tab inside the current Blocks.

    Args:
        ctx: the app's context (``engines.context``), or bare settings.
        links: cross-tab targets this tab sends to (see the module docstring), in any build order.
    """
    ctx = as_context(ctx)
    with gr.Tab("Hub", id="hub"):
        gr.Markdown("Browse the **Hugging Face Hub**: search models, datasets and Spaces, open one to see its card, "
                    "license, size, files and whether it fits this machine, then send it to the tab that uses it. "
                    "Set `HF_TOKEN` for gated and private repositories (it is never shown).")
        with gr.Tabs():
            _models_tab(links, ctx.settings)
            _datasets_tab(links, ctx.settings)
            _spaces_tab(ctx.settings)
