"""The Evaluate tab's Contamination panel: has this model seen my test set? Min-K% / Min-K%++ against a reference
set of unseen items, guided vs general completion, sampling peakedness and 13-gram overlap with a corpus, each as a
signal with its caveats, never as proof.

Adapters only: the work is in ``engines.evals.contamination``; HTML and tables in ``tabs.evaluate.contamination_view``.
``build_panel`` renders inside the Evaluate tab.
"""

from __future__ import annotations

import functools
from pathlib import Path

import gradio as gr

from engines.config import Settings
from engines.errors import InvalidInput
from engines.evals.contamination import CheckOptions, Corpus, load, paraphrase, run_checks, to_csv
from engines.evals.contamination.reference import combine, from_testset
from engines.evals.contamination.texts import PART_LABELS, format_lines
from engines.evals.store import RunStore
from engines.localpaths import local_path
from tabs.common import (
    GPU_EVENT,
    URGENT,
    Later,
    Links,
    coalesce,
    expensive,
    export_folder,
    on,
    status_html,
    ui_errors,
    with_settings,
)
from tabs.evaluate import contamination_view as view
from tabs.kit.pickers import CHAT, default_model, model_picker

METHOD_CHOICES = [("Min-K% / Min-K%++ (log-probabilities)", "min_k"), ("Guided vs general completion", "guided"),
                  ("Sampling peakedness (CDD)", "sampling"), ("N-gram overlap with a corpus", "ngrams")]
STREAM_EVERY_S = 0.5  # the per-item table re-renders at most twice a second while a run goes


def _blank(value) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def _or(value, default):
    return default if value is None or (isinstance(value, str) and not value.strip()) else value


def _text(value, name: str) -> str:
    """A text input as a string ("" for None); anything else is refused with the field's name."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be text (got {type(value).__name__}).")
    return value


def _methods(value) -> list[str]:
    """The checks asked for: a list of method names (one name alone is accepted)."""
    if value is None or value == []:
        return ["min_k"]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(m, str) for m in items):
        raise InvalidInput("methods must be a list of check names: min_k, guided, sampling, ngrams.")
    return list(items)


def _testset(set_id: str | None, what: str = "test set"):
    text = _blank(set_id)
    if text is None:
        raise InvalidInput(f"Give the {what}'s id: load it with 'Load test set' above, then its set id appears.")
    testset = RunStore.default().load_testset(text)
    if testset is None:
        raise InvalidInput(f"No {what} with id {text[:16]}… here: load it with 'Load test set' above first.")
    return testset


def _files(files) -> list[tuple[str, str]]:
    """(path, shown name) of uploaded files (Gradio keeps the original name as the file's name)."""
    if files is not None and not isinstance(files, str | dict | list | tuple):
        raise InvalidInput(f"Expected uploaded files, got {type(files).__name__}.")
    out = []
    for f in ([files] if isinstance(files, str | dict) else files or []):
        path = f.get("path") if isinstance(f, dict) else f if isinstance(f, str) else getattr(f, "name", None)
        if path:
            out.append((str(path), Path(getattr(f, "orig_name", None) or path).name))
    return out


def _corpus(text, files, folder, settings: Settings | None = None) -> Corpus | None:
    folder = _blank(folder)
    settings = settings or Settings.from_env()
    if folder is not None and not settings.allow_local_models:
        raise InvalidInput("Reading a folder on the server is off on this deployment (WORKBENCH_ALLOW_LOCAL_MODELS): "
                           "upload the corpus files instead.")
    corpus = Corpus(text=text or "", files=[(name, Path(path)) for path, name in _files(files)],
                    folder=local_path(folder, what="corpus folder", settings=settings) if folder else None)
    return None if corpus.empty() else corpus


def _downloads(report) -> list[str]:
    where = export_folder("contamination")  # the managed exports folder: old ones age out
    csv_path, json_path = where / f"contamination-{report.id}.csv", where / f"contamination-{report.id}.json"
    csv_path.write_text(to_csv(report), encoding="utf-8")
    json_path.write_text(report.to_json(), encoding="utf-8")
    return [str(csv_path), str(json_path)]


def _verdicts_line(report) -> str:
    return " · ".join(f"{view.verdicts.INFO[m]['label']}: **{s.verdict}**" for m, s in report.summaries.items())


def _result(report) -> dict:
    return {"summary": view.summary_html(report), "chart": view.chart_html(report), "table": view.table(report),
            "files": _downloads(report), "report_id": report.id}


def _updates(events):
    event, stage = None, ""
    try:
        for event in events:
            count = f" · {event.done:,}/{event.total:,}" if event.total else ""
            yield {"status": status_html("running", f"{event.stage}{count}"),
                   "table": Later(functools.partial(view.table, event.report)),  # rendered only when it goes out
                   **({"report_id": event.report.id} if event.stage == "Starting" else {}),
                   **({URGENT: True} if event.stage != stage else {})}  # a new stage is shown at once
            stage = event.stage
    finally:
        events.close()  # Stop closes this generator: the engine stops and stores what it has
    report = event.report
    state = "done" if report.status == "complete" else "stopped"
    yield {**_result(report), "status": status_html(state, f"Report **{report.id}** {report.status}: "
                                                          f"{_verdicts_line(report)}"), URGENT: True}


def _stream(events):
    """The check's updates, at most one every STREAM_EVERY_S (``tabs.common.coalesce``, as the evaluation's)."""
    return coalesce(_updates(events), STREAM_EVERY_S)


@expensive
@ui_errors
def contamination_run(set_id: str, model: str | None = None, methods: list[str] | None = None,
                      k: float | None = None, part: str | None = None, reference_text: str | None = None,
                      reference_files: list | None = None, reference_set_id: str | None = None,
                      dataset: str | None = None, split: str | None = None, fraction: float | None = None,
                      max_new_tokens: float | None = None, samples: float | None = None,
                      temperature: float | None = None, alpha: float | None = None, xi: float | None = None,
                      corpus_text: str | None = None, corpus_files: list | None = None,
                      corpus_folder: str | None = None, n: float | None = None, *, settings: Settings | None = None):
    """Check whether a model has seen a test set: Min-K% / Min-K%++ against a reference set, guided vs general
    completion, sampling peakedness and n-gram overlap with a corpus; signals with their caveats, never proof.

    Args:
        set_id: the test set id (sha256) returned by load_test_set.
        model: the model to check (local for Min-K%; API models run guided completion and sampling).
        methods: checks to run, any of min_k, guided, sampling, ngrams (default min_k).
        k: Min-K%: the fraction of least likely tokens averaged, 0 to 1 (default 0.2).
        part: text scored by Min-K% and n-grams: full (question and answer) or question (default full).
        reference_text: Min-K% reference set of items the model cannot have seen, one per line (\\n for a line
            break inside one).
        reference_files: Min-K% reference items as CSV or JSON Lines files (question/answer or text columns).
        reference_set_id: Min-K% reference items as a test set id loaded earlier.
        dataset: guided completion: the dataset's name as the model may know it (e.g. GSM8K).
        split: guided completion: the split (default test).
        fraction: guided completion: share of the question's words shown as the first piece (default 0.5).
        max_new_tokens: guided completion and sampling: the most tokens per answer (default 64).
        samples: sampling: answers sampled per item (default 10).
        temperature: sampling: their temperature, above 0 (default 0.8).
        alpha: sampling: normalised edit distance within which a sample counts as the greedy answer (default 0.05).
        xi: sampling: share of such samples above which an item is flagged (default 0.01).
        corpus_text: n-gram overlap: corpus text pasted.
        corpus_files: n-gram overlap: corpus files (.txt, .md, .jsonl with a text field, .json).
        corpus_folder: n-gram overlap: a folder of such files on the server (where local files are allowed).
        n: n-gram overlap: words per n-gram (default 13, as GPT-3).

    Returns:
        The status line, the verdict per method, the Min-K% distributions, the per-item table, the report id and
        the downloads (CSV, JSON).
    """
    settings = settings or Settings.from_env()
    testset = _testset(set_id)
    d = CheckOptions()
    options = CheckOptions(methods=_methods(methods), k=_or(k, d.k), part=_or(part, d.part),
                           dataset=_text(dataset, "dataset"), split=_or(_text(split, "split"), d.split),
                           fraction=_or(fraction, d.fraction),
                           max_new_tokens=_or(max_new_tokens, d.max_new_tokens), samples=_or(samples, d.samples),
                           temperature=_or(temperature, d.temperature), alpha=_or(alpha, d.alpha), xi=_or(xi, d.xi),
                           n=_or(n, d.n))
    ref_set = _testset(reference_set_id, "reference set") if _blank(reference_set_id) else None
    reference = combine(_text(reference_text, "reference_text"), _files(reference_files), ref_set, options.part) \
        if "min_k" in options.methods else []
    corpus = _corpus(_text(corpus_text, "corpus_text"), corpus_files, corpus_folder, settings)
    yield from _stream(run_checks(testset, _text(model, "model"), options, reference=reference, corpus=corpus,
                                  settings=settings))


@expensive
@ui_errors
def contamination_paraphrase(set_id: str, model: str, part: str | None = None):
    """Write a reference set for Min-K%: the test items reworded by a model (one per line), to compare against.

    Args:
        set_id: the test set id (sha256) returned by load_test_set.
        model: the model that writes the paraphrases (best another model than the one checked).
        part: what is reworded: full (question and answer) or question (default full).

    Returns:
        The status line and the reference texts, one per line.
    """
    texts = from_testset(_testset(set_id), _or(part, "full"))
    done: list[str] = []
    for i, text in paraphrase(texts, _text(model, "model")):
        done.append(text)
        yield {"reference_text": format_lines(done),
               "status": status_html("running", f"Paraphrasing · {i + 1}/{len(texts)}")}
    yield {"reference_text": format_lines(done),
           "status": status_html("done", f"{len(done)} paraphrases written: they are the reference set now.")}


@ui_errors
def contamination_report(report_id: str):
    """Open a stored contamination report: verdicts, distributions, per-item table and downloads.

    Args:
        report_id: the report id shown after a run.

    Returns:
        The status line, the verdict per method, the Min-K% distributions, the per-item table, the report id and
        the downloads.
    """
    report = load(_blank(report_id) or "")
    return {**_result(report), "status": status_html("done", f"Report **{report.id}** ({report.status}): "
                                                             f"{_verdicts_line(report)}")}


@ui_errors
def contamination_item(report_id: str, item_id: str):
    """One item's contamination details: its text with overlapping n-grams marked, its least likely tokens, the
    completions and the samples.

    Args:
        report_id: the report id shown after a run.
        item_id: the item's id (first column of the table; reference texts are ref-1, ref-2, ...).

    Returns:
        The details (HTML) and the item id.
    """
    item = _blank(item_id) or ""
    return {"details": view.details_html(load(_blank(report_id) or ""), item), "item_id": item}


@ui_errors
def _select_item(report_id: str, event: gr.SelectData):
    row = getattr(event, "row_value", None) or []
    return contamination_item(report_id, str(row[0]) if row else "")


@ui_errors
def _stopped(report_id: str | None = None):
    shown = f" The items finished so far are in report **{report_id}** (Open report)." if _blank(report_id) else ""
    return {"status": status_html("stopped", f"Stopped.{shown}")}


def _copy(value):
    return {"set_id": value} if value else {}


# ----------------------------------------------------------------------------------------------- layout


def _reference_section(settings: Settings, ui: dict) -> None:
    with gr.Accordion("Min-K%: the reference set (items the model cannot have seen)", open=True):
        gr.Markdown("Min-K% scores mean little alone: compare them with items the model **certainly has not seen**, "
                    "formatted like yours: items written after its release, or your items reworded by another "
                    "model (one click below). The AUROC between the two sets is the headline.")
        with gr.Row():
            ui["k"] = gr.Slider(0.05, 1.0, value=0.2, step=0.05, label="k: share of least likely tokens averaged",
                                elem_id="contam-k")
            ui["part"] = gr.Radio([(label, key) for key, label in PART_LABELS.items()], value="full",
                                  label="Text scored (Min-K%, n-grams)", elem_id="contam-part")
        ui["reference_text"] = gr.Textbox(label="Reference items, one per line (write \\n for a line break inside "
                                                "one)", lines=4, max_lines=12, elem_id="contam-reference")
        with gr.Row():
            ui["reference_files"] = gr.File(label="…or CSV / JSON Lines files", file_count="multiple",
                                            file_types=[".csv", ".jsonl", ".json"], height=140,
                                            elem_id="contam-reference-files")
            ui["reference_set_id"] = gr.Textbox(label="…or a test set id loaded earlier", elem_id="contam-ref-id")
        with gr.Row():
            ui["para_model"] = model_picker("chat", None, choices=CHAT, label="Paraphrase the items with (another "
                                            "model than the one checked)", elem_id="contam-para-model", scale=3)
            ui["para"] = gr.Button("Paraphrase the items → reference set", elem_id="contam-paraphrase", scale=1)


def _method_sections(settings: Settings, ui: dict) -> None:
    with gr.Accordion("Guided vs general completion", open=False):
        with gr.Row():
            ui["dataset"] = gr.Textbox(label="Dataset name as the model may know it", placeholder="e.g. GSM8K",
                                       elem_id="contam-dataset")
            ui["split"] = gr.Textbox("test", label="Split", elem_id="contam-split")
            ui["fraction"] = gr.Slider(0.1, 0.9, value=0.5, step=0.05, label="First piece: share of the question")
            top = min(512, settings.max_new_tokens)
            ui["max_new_tokens"] = gr.Slider(8, top, value=min(64, top), step=8,
                                             label="Max new tokens (completions and samples)")
    with gr.Accordion("Sampling peakedness (CDD)", open=False):
        with gr.Row():
            ui["samples"] = gr.Slider(1, 50, value=10, step=1, label="Samples per item (N)")
            ui["temperature"] = gr.Slider(0.05, 2.0, value=0.8, step=0.05, label="Temperature")
            ui["alpha"] = gr.Slider(0.0, 0.5, value=0.05, step=0.01, label="α: distance counted as the same answer")
            ui["xi"] = gr.Slider(0.0, 0.9, value=0.01, step=0.01, label="ξ: flag when the share within α exceeds")
    with gr.Accordion("N-gram overlap: a corpus you have (e.g. a training set)", open=False):
        ui["corpus_text"] = gr.Textbox(label="Corpus text", lines=3, max_lines=10, elem_id="contam-corpus")
        with gr.Row():
            ui["corpus_files"] = gr.File(label="Corpus files (.txt, .md, .jsonl with a text field, .json)",
                                         file_count="multiple", file_types=[".txt", ".md", ".jsonl", ".json"],
                                         height=140, elem_id="contam-corpus-files")
            ui["corpus_folder"] = gr.Textbox(label="Folder on the server", visible=settings.allow_local_models,
                                             placeholder="/path/to/corpus", elem_id="contam-corpus-folder")
            ui["n"] = gr.Slider(5, 20, value=13, step=1, label="n (words per n-gram; GPT-3: 13)",
                                elem_id="contam-n")


def _outputs() -> dict:
    out = {"status": gr.HTML(elem_id="contam-status"),
           "summary": gr.HTML(view.methods_html(), elem_id="contam-summary"),
           "chart": gr.HTML(elem_id="contam-chart"),
           "table": gr.Dataframe(headers=["item", "set", "text"],
                                 label="Per item: every signal (click a header to sort, a row for details)",
                                 interactive=False, max_height=420, wrap=False, elem_id="contam-table")}
    with gr.Row():
        out["report_id"] = gr.Textbox(label="Report id", elem_id="contam-report-id", scale=2)
        out["files"] = gr.File(label="Downloads: per-item CSV, report JSON", file_count="multiple",
                               interactive=False, elem_id="contam-files", scale=3)
    return out


def build_panel(settings: Settings | None = None, links: Links | None = None,
                set_id: gr.Component | None = None) -> None:
    """Render the Contamination panel (an accordion) inside the current Blocks, i.e. inside the Evaluate tab.

    Args:
        settings: deployment settings.
        links: cross-tab targets (unused for now; kept for the tabs' common signature).
        set_id: the Evaluate tab's set id box; the panel's set id follows it.
    """
    settings = settings or Settings.from_env()
    ui: dict = {}
    with gr.Accordion("Contamination: has this model seen my test set?", open=False, elem_id="contam"):
        gr.Markdown("Published detection methods run on the loaded test set, each shown as a **signal** with its "
                    "caveats, never as proof. Min-K% needs per-token log-probabilities (a local model, or a server "
                    "that echoes them); the other checks also run on API models.")
        with gr.Row():
            ui["set_id"] = gr.Textbox(label="Test set id (from Load test set above)", elem_id="contam-set-id",
                                      scale=2)
            ui["model"] = model_picker("chat", default_model(), choices=CHAT, label="Model to check",
                                       elem_id="contam-model", scale=2)
        ui["methods"] = gr.CheckboxGroup(METHOD_CHOICES, value=["min_k"], label="Checks", elem_id="contam-methods")
        _reference_section(settings, ui)
        _method_sections(settings, ui)
        with gr.Row():
            go = gr.Button("Run checks", variant="primary", elem_id="contam-run")
            stop = gr.Button("Stop", variant="stop", elem_id="contam-stop")
            open_btn = gr.Button("Open report", elem_id="contam-open")
        out = _outputs()
        with gr.Row():
            item_id = gr.Textbox(label="Item id", elem_id="contam-item-id", scale=3)
            show = gr.Button("Show item", scale=0, min_width=110, elem_id="contam-show")
        details = gr.HTML(elem_id="contam-details")
    _wire(ui, out, go, stop, open_btn, item_id, show, details, set_id, settings)


def _wire(ui, out, go, stop, open_btn, item_id, show, details, set_id, settings=None) -> None:
    names = ["set_id", "model", "methods", "k", "part", "reference_text", "reference_files", "reference_set_id",
             "dataset", "split", "fraction", "max_new_tokens", "samples", "temperature", "alpha", "xi",
             "corpus_text", "corpus_files", "corpus_folder", "n"]
    shown = {k: out[k] for k in ("status", "summary", "chart", "table", "report_id", "files")}
    run_evt = on(go.click, with_settings(contamination_run, settings), [ui[k] for k in names], shown,
                 api_name="contamination_run", status="status", clear=("chart", "table", "files", "report_id"),
                 running="Starting…", **GPU_EVENT)
    para_evt = on(ui["para"].click, contamination_paraphrase, [ui["set_id"], ui["para_model"], ui["part"]],
                  {"status": out["status"], "reference_text": ui["reference_text"]},
                  api_name="contamination_paraphrase", status="status", running="Paraphrasing…", **GPU_EVENT)
    on(stop.click, _stopped, [out["report_id"]], {"status": out["status"]}, api_name=False,
       cancels=[run_evt, para_evt])
    on(open_btn.click, contamination_report, [out["report_id"]], shown, api_name="contamination_report",
       status="status", running="Opening…")
    item_out = {"details": details, "item_id": item_id}
    on(show.click, contamination_item, [out["report_id"], item_id], item_out, api_name="contamination_item")
    on(out["table"].select, _select_item, [out["report_id"]], item_out, api_name=False)
    if set_id is not None:
        on(set_id.change, _copy, [set_id], {"set_id": ui["set_id"]}, api_name=False)
