"""Evaluate tab: your own private test set, up to six models side by side, scored per item, with a drill-down,
per-model intervals, paired significance tests, pairwise judging, stored runs (resume, reopen, flips) and downloads.

Adapters only: the work is in ``engines.evals``; HTML and tables in ``tabs.evaluate.view``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import gradio as gr

from engines import evals
from engines.config import Settings
from engines.context import Context, as_context
from engines.errors import InvalidInput
from engines.evals import report
from engines.evals.runner import ModelProgress
from engines.evals.sources import EXAMPLES, example_names
from engines.evals.store import RunStore
from engines.evals.testsets import KINDS, ROLE_LABELS, RawTable, max_items
from tabs import common
from tabs.common import GPU_EVENT, Links, ModelBox, expensive, export_folder, on, status_html, ui_errors, with_settings
from tabs.evaluate import layout, view
from tabs.evaluate.contamination import build_panel as build_contamination_panel
from tabs.evaluate.reading import (  # noqa: F401  (the reading handlers, re-exported)
    STREAM_EVERY_S,
    _blank,
    _run_and_set,
    _store,
    compare_models,
    compare_runs,
    item_details,
    judge_pairwise,
    list_runs,
    select_item,
)
from tabs.glue import from_synthetic

SOURCES = [("Example set", "example"), ("Upload CSV / JSON Lines", "upload"), ("Dataset (Hub id or local folder)",
           "dataset"), ("Synthetic data tab", "synthetic")]
MAPPED = ("question", "answer", "choices", "tests", "rubric", "id", "kind")


def column_box(label: str, elem_id: str) -> ModelBox:
    """A column picker: the loaded table's columns in the UI, any column name (free text) over the API and MCP.

    A ModelBox (a free string in the API schema), described as a column; not a subclass: Gradio builds a template
    component's config from its parent's signature.
    """
    box = ModelBox([("(not mapped)", "")], value="", label=label, min_width=150, elem_id=elem_id)
    box._value_description = "a column name of the loaded table (empty = not mapped)"
    return box


# ----------------------------------------------------------------------------------------------- test sets


def _read(source: str, example, file, dataset, config, split, rows, synthetic, settings) -> RawTable:
    if source == "example":
        return evals.read_example(_blank(example) or "short-qa")
    if source == "upload":
        path = file if isinstance(file, str) else getattr(file, "name", None) or (file or {}).get("path")
        if not path:
            raise InvalidInput("Upload a CSV or JSON Lines file first.")
        return evals.read_file(path, Path(getattr(file, "orig_name", None) or path).name)
    if source == "dataset":
        return evals.read_dataset(_blank(dataset) or "", _blank(config), _blank(split), int(rows) if rows else None,
                                  settings)
    if source == "synthetic":
        data = synthetic or {}
        return evals.read_synthetic(data.get("rows") or [], data.get("fields"), data.get("name") or "Synthetic data",
                                    source=data.get("source"))
    raise InvalidInput(f"Unknown source '{source}': use example, upload, dataset or synthetic.")


@ui_errors
def load_test_set(source: str, example: str | None = None, file=None, dataset: str | None = None,
                  config: str | None = None, split: str | None = None, rows: float | None = None,
                  synthetic: dict | None = None, question_column: str | None = None, answer_column: str | None = None,
                  choices_column: str | None = None, tests_column: str | None = None,
                  rubric_column: str | None = None, id_column: str | None = None, kind_column: str | None = None,
                  kind: str | None = None, *, settings: Settings | None = None):
    """Load a test set, map its columns and validate it; the set is stored and named by its hash (the set id).

    Args:
        source: where the rows come from: example, upload, dataset or synthetic.
        example: example set key (short-qa or multiple-choice) when source is example.
        file: the uploaded .csv or .jsonl file when source is upload.
        dataset: Hub dataset id (org/name) or local dataset folder when source is dataset.
        config: dataset configuration (subset) name, if it has several.
        split: dataset split (default: test, else validation, else train).
        rows: how many rows to take from the start of the dataset (0 or empty: as many as allowed).
        synthetic: rows sent by another tab, {"rows": [...], "fields": [...], "name"?, "source"?: where from}.
        question_column: column holding the question or task (all mapping columns empty = guess from names).
        answer_column: column holding the reference answer, or the right choice (text, letter or 0-based index).
        choices_column: column holding the list of choices, or several columns joined by commas (A,B,C,D).
        tests_column: column holding assert-style Python tests (code items).
        rubric_column: column holding the grading rubric (open-ended items).
        id_column: column holding a unique item id (default: the row number).
        kind_column: column holding each row's kind (freeform, choice, code or rubric).
        kind: item kind for every row: auto, freeform, choice, code or rubric.

    Returns:
        The status line, the first rows, the set card, the set id and the column mapping.
    """
    table = _read(source, example, file, dataset, config, split, rows, synthetic, settings)
    given = dict(zip(MAPPED, (question_column, answer_column, choices_column, tests_column, rubric_column,
                              id_column, kind_column), strict=True))
    given = {k: v.strip() for k, v in given.items() if _blank(v)}
    mapping = given or evals.guess_mapping(table.columns)
    choices = [("(not mapped)", ""), *[(c, c) for c in table.columns]]
    boxes = {f"map_{role}": gr.update(choices=choices, value=mapping.get(role, "")) for role in MAPPED}
    yield {"preview": view.preview_frame(table), **boxes, "card": "", "set_id": ""}
    testset = evals.build_testset(table, mapping, kind=_blank(kind) or "auto", limit=max_items(settings))
    set_id = _store(None, settings).save_testset(testset)
    yield {"card": view.set_html(testset), "set_id": set_id, **{f"map_{r}": mapping.get(r, "") for r in MAPPED},
           "set_status": status_html("warning" if table.notices else "done",
                                     " ".join([f"{testset.size:,} items loaded from {testset.source}.",
                                               *table.notices]))}


def synthetic_payload(state: dict | None) -> dict:
    """What the Synthetic data tab sends to this tab ("Evaluate on these rows"): its last run's rows and field names.

    Args:
        state: the Synthetic data tab's run state ({"rows", "fields", "description", ...}).

    Returns:
        {"rows": [...], "fields": [names], "name": ...} for the "evaluate.rows" target.
    """
    state = state or {}
    fields = [f.get("name") if isinstance(f, dict) else getattr(f, "name", f) for f in state.get("fields") or []]
    name = (state.get("description") or "Synthetic data").strip()[:80]
    return {"rows": list(state.get("rows") or []), "fields": fields, "name": f"Synthetic: {name}"}


# ----------------------------------------------------------------------------------------------- running


def _config(method, judge, choice_method, max_new_tokens, temperature, system_prompt, samples, k,
            tolerance) -> evals.RunConfig:
    return evals.RunConfig(method=_blank(method) or "exact", judge=_blank(judge) or "",
                           choice_method=_blank(choice_method) or "auto",
                           max_new_tokens=max_new_tokens if max_new_tokens is not None else 256,
                           temperature=float(temperature or 0.0), system_prompt=system_prompt or "",
                           samples=samples if samples is not None else 1, k=k if k is not None else 1,
                           tolerance=float(tolerance) if tolerance not in (None, "") else 1e-6)


def _pickers(run) -> dict:
    """The compare pickers offer the run's models (a generator's last update must carry plain values: Gradio drops
    the value of an earlier ``gr.update`` from a streamed result, so the choices go first)."""
    pick = [(view.short(m), m) for m in run.models]
    return {"model_a": gr.update(choices=pick), "model_b": gr.update(choices=pick)}


def _results_view(run, testset, results, summaries=None) -> dict:
    summaries = summaries if summaries is not None else report.summarize(results, run.models)
    return {"summary": view.summary_html(summaries) + view.run_html(run),
            "matrix": view.matrix(testset, run.models, results), "run_id": run.id,
            "model_a": run.models[0], "model_b": run.models[1 if len(run.models) > 1 else 0],
            "files": report.write_downloads(export_folder("eval"), run, testset, results, summaries)}


def _stream(events, store: RunStore):
    """Engine RunEvents as tab updates, then the results; coalesced (at most one every STREAM_EVERY_S, the matrix
    rendered only for those that go out: Later) by ``common.coalesce``."""
    results, testset, event = [], None, None
    try:
        for event in events:
            if testset is None:
                testset = store.load_testset(event.run.set_hash)
                results = store.results(event.run.id)
                yield {"run_id": event.run.id, "progress": view.progress_html(event.progress),
                       "matrix": view.matrix(testset, event.run.models, results), common.URGENT: True}
            results.extend(event.new)
            if event.status == "running":
                yield {"progress": view.progress_html(event.progress),  # the matrix: of the results when shown
                       "matrix": common.Later(functools.partial(view.matrix, testset, event.run.models, results)),
                       "status": status_html("running", f"{event.current or 'Starting…'} · {event.done:,}/"
                                                        f"{event.run.total:,} results")}
    finally:
        events.close()  # Stop closes this generator: the engine stops its requests and marks the run stopped
    run = store.get_run(event.run.id)
    results = store.results(run.id)  # as stored: a result that replaced a cut-off answer counts once
    yield {**_pickers(run), common.URGENT: True}
    yield {**_results_view(run, testset, results), "progress": view.progress_html(event.progress),
           "status": view.final_status(event), common.URGENT: True}


@expensive
@ui_errors
def run_evaluation(set_id: str, models: list[str], method: str | None = None, judge: str | None = None,
                   choice_method: str | None = None, max_new_tokens: float | None = None,
                   temperature: float | None = None, system_prompt: str | None = None, samples: float | None = None,
                   k: float | None = None, tolerance: float | None = None, run_name: str | None = None,
                   request: gr.Request | None = None, *, settings: Settings | None = None):
    """Evaluate 1 to 6 models on a loaded test set with the same decoding settings; results stream into the matrix.

    Args:
        set_id: the set id (hash) returned by load_test_set.
        models: model references: catalog ids, Hub ids, local folders, or openai:/hf:/ollama: names.
        method: free-form scoring: exact, contains, regex, numeric or judge.
        judge: judge model reference (needed for open-ended items and the judge method).
        choice_method: multiple choice: auto (log-likelihood for local models, letter for API models) or letter.
        max_new_tokens: the most tokens each answer may have.
        temperature: sampling temperature, 0 (greedy) to 2.
        system_prompt: a system message sent to every model (optional).
        samples: code items: samples per item (n of pass@k).
        k: code items: the k of pass@k (at most samples).
        tolerance: numeric scoring: allowed difference (absolute, or relative to the reference).
        run_name: a name for this run.

    Returns:
        The status line, progress per model, the results matrix, the summary, the run id, the downloads and the
        two models to compare.
    """
    testset = _store(None, settings).load_testset(_blank(set_id) or "")
    if testset is None:
        raise InvalidInput("Load a test set first (its set id was not found).")
    config = _config(method, judge, choice_method, max_new_tokens, temperature, system_prompt, samples, k, tolerance)
    store = _store(request, settings)
    events = evals.start_run(testset, models or [], config, name=_blank(run_name) or "", store=store,
                             settings=settings)
    yield from common.coalesce(_stream(events, store), STREAM_EVERY_S)


@expensive
@ui_errors
def resume_evaluation(run_id: str, request: gr.Request | None = None, *, settings: Settings | None = None):
    """Continue a stopped or interrupted run: only items without a stored result are evaluated.

    Args:
        run_id: the run's id.

    Returns:
        The same outputs as run_evaluation.
    """
    store = _store(request, settings)
    events = evals.resume_run(_blank(run_id) or "", store=store, settings=settings)
    yield from common.coalesce(_stream(events, store), STREAM_EVERY_S)


@ui_errors
def stop_note(run_id: str | None = None, request: gr.Request | None = None, *, settings: Settings | None = None):
    """The status after Stop: how many results were kept."""
    try:
        run = _store(request, settings).get_run(_blank(run_id) or "")
    except InvalidInput:
        return {"status": status_html("stopped", "Stopped before the first result.")}
    return {"status": status_html("stopped", f"Run **{run.id}** stopped: {run.done:,}/{run.total:,} results kept. "
                                             "Resume continues it.")}


@ui_errors
def get_results(run_id: str, request: gr.Request | None = None, *, settings: Settings | None = None):
    """Fetch a stored run: the matrix, the summary per model, the downloads and every result as JSON.

    Args:
        run_id: the run's id ("latest" for your newest run).

    Returns:
        The status line, progress, the matrix, the summary, the run id, the downloads, the models to compare and the
        results (JSON: run, summary and one row per model and item).
    """
    store, run, testset = _run_and_set(run_id, request, settings)
    results = store.results(run.id)
    summaries = report.summarize(results, run.models)
    progress = [ModelProgress(m, run.set_size, sum(1 for r in results if r.model == m and not r.retry),
                              "done" if run.status == "complete" else run.status,
                              redo=sum(1 for r in results if r.model == m and r.retry)) for m in run.models]
    yield _pickers(run)
    yield {**_results_view(run, testset, results, summaries), "progress": view.progress_html(progress),
            "status": status_html("done", f"Opened run **{run.id}** ({run.status})."),
           "results": report.results_json(run, summaries, results, testset)}


def _copy(value):
    return {"run_id": value} if value else {}


# ----------------------------------------------------------------------------------------------- layout


def _set_section(settings: Settings, links: Links | None) -> dict:
    with gr.Group():
        with gr.Row():
            source = gr.Radio(SOURCES, value="example", label="Test set from", elem_id="eval-source", scale=3,
                              min_width=300)
            example = gr.Dropdown(example_names(), value=next(iter(EXAMPLES)), label="Example set",
                                  elem_id="eval-example", scale=2, min_width=260)
        with gr.Row(equal_height=False):
            file = gr.File(label="CSV or JSON Lines file", file_types=[".csv", ".jsonl", ".json"], height=140,
                           scale=2, min_width=220, elem_id="eval-file")
            with gr.Column(scale=3, min_width=260):
                dataset = gr.Textbox(label="Dataset: Hub id or local folder",
                                     placeholder="org/name or /path/to/folder", elem_id="eval-dataset")
                with gr.Row():
                    config = gr.Textbox(label="Config", placeholder="(optional)", min_width=100)
                    split = gr.Textbox(label="Split", placeholder="test", min_width=100)
                    rows = gr.Number(0, precision=0, minimum=0, maximum=max_items(settings),
                                     label="First N rows (0: all)", min_width=100)
        synthetic = gr.JSON(visible=False, elem_id="eval-synthetic")
        load = gr.Button("Load test set", variant="primary", elem_id="eval-load")
    out = {"set_status": gr.HTML(elem_id="eval-set-status")}
    with gr.Accordion("Columns: which is which", open=True, elem_id="eval-mapping"):
        out["preview"] = gr.Dataframe(headers=["load a test set to see its columns"],
                                      label="First rows", interactive=False, max_height=260, wrap=True,
                                      elem_id="eval-preview")
        with gr.Row():
            for role in MAPPED:
                out[f"map_{role}"] = column_box(ROLE_LABELS[role], f"eval-map-{role}")
        with gr.Row():
            kind = gr.Dropdown(["auto", *KINDS], value="auto", label="Item kind (auto: from the mapped columns)")
            apply = gr.Button("Apply mapping", elem_id="eval-apply")
    out["card"] = gr.HTML(elem_id="eval-set")
    out["set_id"] = gr.Textbox(label="Set id (sha256)", interactive=False, elem_id="eval-set-id")
    sources = [source, example, file, dataset, config, split, rows, synthetic]
    run = {"status": "set_status", "clear": ("card", "set_id"), "running": "Loading…"}
    load_set = with_settings(load_test_set, settings)
    on(load.click, load_set, sources, out, api_name=False, **run)
    on(apply.click, load_set, [*sources, *[out[f"map_{r}"] for r in MAPPED], kind], out,
       api_name="load_test_set", **run)
    incoming = gr.State(None)  # rows another tab sent (Synthetic data, Fine-tune's held-out split), server side

    def received_rows(event) -> None:
        on(event.success, with_settings(_from_synthetic, settings), [incoming], {**out, "source": source},
           api_name=False, **run)

    def received_dataset(event) -> None:  # a Hub dataset id (the Hub tab): shown as the source, loaded on click
        on(event.success, lambda: {"source": "dataset"}, None, {"source": source}, api_name=False, queue=False)

    if links is not None:
        links.register("evaluate.rows", "evaluate", incoming, on_receive=received_rows)
        links.register("evaluate.dataset", "evaluate", dataset, on_receive=received_dataset)
        links.register("evaluate.dataset_config", "evaluate", config)
        links.register("evaluate.dataset_split", "evaluate", split)
        links.send(from_synthetic("evaluate.rows", synthetic_payload))
    return out


def _from_synthetic(synthetic: dict | None, *, settings: Settings | None = None):
    if not synthetic:
        return
    yield {"source": "synthetic"}
    yield from load_test_set("synthetic", synthetic=synthetic, settings=settings)


def build(ctx: Context | Settings | None = None, links: Links | None = None) -> None:
    """Render the Evaluate tab inside the current Blocks.

    Args:
        ctx: the app's context (``engines.context``), or bare settings.
        links: cross-tab targets; this tab receives rows as "evaluate.rows", a Hub dataset id as "evaluate.dataset"
            (+ "_config", "_split") and models as "evaluate.models".
    """
    ctx = as_context(ctx)
    settings = ctx.settings
    bind = functools.partial(with_settings, ctx=settings)  # each handler reads the app's settings
    with gr.Tab("Evaluate", id="evaluate"):
        gr.Markdown("Evaluate models on **your own** test set: free-form answers, multiple choice (log-likelihood "
                    "for local models, the letter for API models), code with tests run in the sandbox (pass@k), "
                    "open-ended tasks graded by a judge model. Runs are stored: reopen, resume, compare.")
        loaded = _set_section(settings, links)
        ui = layout.run_section(settings, links, loaded["set_id"])
        out = ui["out"]
        r = layout.read_section(out)
        build_contamination_panel(settings, links, set_id=loaded["set_id"])  # issue 18
        run_out = {k: out[k] for k in ("status", "progress", "matrix", "summary", "run_id", "files", "model_a",
                                       "model_b")}
        running = {"status": "status", "clear": ("progress", "matrix", "summary", "files"), "running": "Starting…"}
        run_evt = on(ui["go"].click, bind(run_evaluation), ui["inputs"], run_out, api_name="run_evaluation", **running,
                     **GPU_EVENT)
        resume_evt = on(ui["resume"].click, bind(resume_evaluation), [out["run_id"]], run_out,
                        api_name="resume_evaluation", **running, **GPU_EVENT)
        on(ui["stop"].click, bind(stop_note), [out["run_id"]], {"status": out["status"]}, api_name=False,
           cancels=[run_evt, resume_evt])
        opened = {**run_out, "results": out["results"]}
        on(r["open"].click, bind(get_results), [out["run_id"]], opened, api_name="get_results")
        on(r["refresh"].click, bind(list_runs), [], {"runs": out["runs"]}, api_name=False)
        on(out["runs"].input, _copy, [out["runs"]], {"run_id": out["run_id"]}, api_name=False)
        shown = {"details": r["details"], "item_id": r["item_id"]}
        on(r["show"].click, bind(item_details), [out["run_id"], r["item_id"]], shown, api_name="item_details")
        on(out["matrix"].select, bind(select_item), [out["run_id"]], shown, api_name=False)
        on(r["cmp"].click, bind(compare_models), [out["run_id"], out["model_a"], out["model_b"], r["disagree"]],
           {"comparison": r["comparison"], "matrix": out["matrix"]}, api_name="compare_models")
        on(r["pair"].click, bind(judge_pairwise), [out["run_id"], out["model_a"], out["model_b"], ui["judge"]],
           {"pairwise": r["pairwise"]}, api_name="judge_pairwise", **GPU_EVENT)
        on(r["flips_btn"].click, bind(compare_runs), [out["run_id"], r["earlier"]], {"flips": r["flips"]},
           api_name="compare_runs")

