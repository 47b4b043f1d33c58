"""Synthetic data tab: describe a dataset and its fields, stream validated rows, download CSV / JSON Lines, or push
the dataset to the Hub (when HF_TOKEN is set)."""

from __future__ import annotations

import re
import time
from dataclasses import asdict

import gradio as gr
import pandas as pd

from engines import notebooks as nbs
from engines import synthetic as syn
from engines.config import Settings
from engines.context import Context, as_context
from engines.errors import InvalidInput
from tabs.common import (
    GPU_EVENT,
    NOTEBOOK_LABEL,
    PALETTE,
    Links,
    esc,
    expensive,
    export_folder,
    notebook_file,
    on,
    status_html,
    ui_errors,
    with_settings,
)
from tabs.kit.pickers import CHAT, default_model, model_picker

FIELD_COLUMNS = ["name", "type", "values (enum)", "min", "max", "description"]
EXAMPLES: dict[str, tuple[str, list[list]]] = {
    "Customers of a SaaS product": (
        "Customers of a project-management SaaS, for testing a churn dashboard. Mixed countries and plans.",
        [["name", "string", "", "", "", "full name of the customer"],
         ["age", "int", "", 18, 90, "age in years"],
         ["country", "string", "", "", "", "country of residence"],
         ["plan", "enum", "free | pro | team", "", "", "subscription plan"],
         ["monthly_spend", "float", "", 0, 500, "USD per month"],
         ["signup_date", "date", "", "2020-01-01", "2025-12-31", "first sign-up"],
         ["churned", "bool", "", "", "", "cancelled in the last 90 days"]]),
    "Support tickets": (
        "Customer support tickets of an online shop, for training a ticket router.",
        [["subject", "string", "", "", "", "one-line subject"],
         ["body", "string", "", "", "", "two or three sentences from the customer"],
         ["category", "enum", "billing | shipping | returns | account | other", "", "", "the right queue"],
         ["priority", "enum", "low | normal | urgent", "", "", ""],
         ["opened", "date", "", "2024-01-01", "2024-12-31", ""]]),
    "Product reviews": (
        "Short product reviews of kitchen appliances with a star rating, for a sentiment classifier.",
        [["product", "string", "", "", "", "appliance name"],
         ["review", "string", "", "", "", "one to three sentences"],
         ["stars", "int", "", 1, 5, "rating"],
         ["verified_purchase", "bool", "", "", "", ""]]),
}
DEFAULT_EXAMPLE = "Customers of a SaaS product"


def _rows_of(table) -> list[list]:
    if table is None:
        return []
    if isinstance(table, pd.DataFrame):
        return table.astype(object).where(table.notna(), None).values.tolist()
    if isinstance(table, dict):
        return list(table.get("data") or [])
    return list(table)


def fields_from_table(table) -> list[dict]:
    """Field dicts from the fields editor (a DataFrame, {"headers", "data"} or a list of rows); blank rows skipped.

    Args:
        table: rows of [name, type, values (enum, separated by | or commas), min, max, description].

    Returns:
        Dicts with Field's keys, for ``engines.synthetic.validate_fields``.
    """
    out = []
    for row in _rows_of(table):
        cells = ["" if c is None else str(c).strip() for c in list(row) + [""] * (6 - len(row))][:6]
        if cells[2] and cells[2].lower() in ("nan", "none"):
            cells[2] = ""
        if not any(cells):
            continue
        name, ftype, values, lo, hi, desc = cells
        out.append({"name": name, "type": ftype or "string",
                    "values": [v.strip() for v in re.split(r"[|,]", values) if v.strip()] or None,
                    "min": lo or None, "max": hi or None, "description": desc})
    return out


def _status(stats: syn.RunStats, running: bool, started: float) -> str:
    if running:
        return status_html("running", f"**{stats.rows:,} / {stats.requested:,} rows** · batch {stats.batches + 1} · "
                                      f"{_n(stats.invalid, 'invalid row')} · {_n(stats.duplicates, 'duplicate')} · "
                                      f"{time.perf_counter() - started:.1f} s")
    state = "done" if stats.stop_reason == "complete" else "warning"
    return status_html(state, f"**{stats.stop_reason}** — {stats.message}")


def summary_html(rows: list[dict], fields: list[syn.Field], stats: syn.RunStats | None = None) -> str:
    """Per-field distribution cards (bars for histograms, enum/bool counts and top text values) as HTML."""
    head = ""
    if stats is not None:
        head = (f"<div style='margin:.3em 0 .6em'><b>{stats.rows:,}</b> rows · <b>{stats.invalid:,}</b> invalid "
                f"(regenerated) · <b>{stats.duplicates:,}</b> duplicate(s) dropped · {stats.coerced:,} coerced · "
                f"{stats.batches} batches</div>")
    cards = [_card(s, i) for i, s in enumerate(syn.summarize(rows, fields))]
    return head + "<div style='display:flex;flex-wrap:wrap;gap:10px'>" + "".join(cards) + "</div>"


def _card(s: syn.FieldSummary, i: int) -> str:
    top = max((n for _, n in s.buckets), default=0) or 1
    color = PALETTE[i % len(PALETTE)]
    bars = "".join(
        f"<div style='display:flex;align-items:center;gap:6px;font-size:.8em;line-height:1.5'>"
        f"<span style='width:42%;overflow:hidden;text-overflow:ellipsis;white-space:nowrap' title='{esc(label)}'>"
        f"{esc(label)}</span><span style='flex:1'><span style='display:inline-block;height:.8em;"
        f"width:{100 * n / top:.0f}%;background:{color};border:1px solid #0002'></span></span>"
        f"<span style='width:3em;text-align:right'>{n}</span></div>"
        for label, n in s.buckets)
    facts = " · ".join(f"{k} {v}" for k, v in s.facts.items())
    title = {"histogram": "histogram", "counts": "counts", "top": "most common"}[s.kind]
    return (f"<div style='flex:1 1 260px;max-width:360px;border:1px solid #8884;border-radius:8px;padding:6px 10px'>"
            f"<div><b>{esc(s.name)}</b> <small>({esc(s.type)}, {title})</small></div>"
            f"<div style='font-size:.75em;opacity:.75;margin-bottom:4px'>{esc(facts)}</div>{bars or '—'}</div>")


def details_markdown(stats: syn.RunStats) -> str:
    """What happened underneath: model, backend, device, timings, tokens, invalid reasons."""
    lines = [f"**Model** `{stats.model}` · **backend** {stats.backend or '—'} · **device** {stats.device or '—'} · "
             f"**quantization** {stats.quantization or '—'}",
             f"**Time** {stats.seconds:.2f} s (model load {stats.load_s:.2f} s) · **generated tokens** "
             f"{stats.tokens:,} ({stats.tokens_per_s:.1f} tok/s) · **batches** {stats.batches} · **max new tokens "
             f"per batch** {stats.max_new_tokens} · **temperature** {stats.temperature}"]
    lines += [f"> {n}" for n in stats.notices]
    if stats.invalid_reasons:
        lines += ["", "| why a row was rejected | rows |", "|---|---|"]
        lines += [f"| {r.replace('|', '/')} | {n} |" for r, n in stats.invalid_reasons.most_common(10)]
    return "\n\n".join(lines[:2]) + "\n\n" + "\n".join(lines[2:])


def _write_files(rows: list[dict], fields: list[syn.Field], description: str) -> list[str]:
    slug = re.sub(r"[^a-z0-9]+", "-", description.lower()).strip("-")[:40] or "dataset"
    folder = export_folder("synthetic")
    csv_path, jsonl_path = folder / f"synthetic-{slug}.csv", folder / f"synthetic-{slug}.jsonl"
    csv_path.write_text(syn.to_csv(rows, fields), encoding="utf-8")
    jsonl_path.write_text(syn.to_jsonl(rows), encoding="utf-8")
    return [str(csv_path), str(jsonl_path)]


def _n(count: int, noun: str) -> str:
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _seed(seed) -> int | None:
    if seed is None or seed == "" or (isinstance(seed, float) and seed != seed) or int(seed) == 0:
        return None  # 0 / empty = a fresh random seed each run
    return int(seed)


@expensive
@ui_errors
def generate_rows(description: str, fields_table, n_rows: float, model: str, temperature: float = 0.8,
                  diversity: bool = True, batch_size: float = 10, max_attempts: float = 5, seed: float | None = None,
                  run: dict | None = None, *, settings=None):
    """Generate a synthetic dataset: validated, unique rows streamed as the model writes them.

    Args:
        description: the dataset's topic and purpose.
        fields_table: the fields, one row each: [name, type (string|int|float|bool|enum|date), enum values separated
            by "|", min, max, description].
        n_rows: how many rows (1 to WORKBENCH_SYNTHETIC_MAX_ROWS, default 1,000).
        model: a catalog id, any Hub id, a local folder, or openai:<name> / hf:<org/name> / ollama:<name>.
        temperature: sampling temperature, 0 to 2.
        diversity: vary the prompt and the seed across batches (recommended).
        batch_size: rows asked for per model call (1 to 50).
        max_attempts: retry budget: stop after this many batches in a row without a new valid row.
        seed: makes the diversity choices reproducible; 0 or empty = random.
        run: the session's holder of the last run (server side).

    Returns:
        The status line, the rows table, the per-field summary (HTML), the CSV and JSON Lines files, details of the
        run, the raw output of the last batch, and a code snippet reproducing a batch.
    """
    fields = syn.validate_fields(fields_from_table(fields_table))
    stats = syn.RunStats()
    columns = [f.name for f in fields]
    rows: list[dict] = []
    rows_iter = syn.stream_rows(description, fields=fields, n_rows=_int(n_rows, "number of rows"), model=model,
                                max_attempts=_int(max_attempts, "retry budget"), temperature=float(temperature),
                                diversity=bool(diversity), batch_size=_int(batch_size, "batch size"),
                                seed=_seed(seed), stats=stats, settings=settings)
    started = time.perf_counter()
    if isinstance(run, dict):
        run.clear()  # a new run replaces the last one (push, Evaluate and Fine-tune use the newest)
    yield {"status": status_html("running", f"Waiting for the first batch from {stats.model or model}…"),
           "rows": pd.DataFrame(columns=columns)}
    try:
        for row in rows_iter:
            rows.append(row)
            yield {"rows": pd.DataFrame(rows, columns=columns), "status": _status(stats, True, started)}
    except syn.NoValidRows:  # show the raw output before the error
        yield {"rows": pd.DataFrame(rows, columns=columns), "details": details_markdown(stats),
               "raw": stats.last_raw or "", "code": syn.code_snippet(stats)}
        raise
    _keep(run, rows, fields, description, stats)
    recipe = nbs.synthetic_recipe(stats, rows)
    yield {"status": _status(stats, False, started), "rows": pd.DataFrame(rows, columns=columns),
           "summary": summary_html(rows, fields, stats), "files": _write_files(rows, fields, description) if rows
           else None, "details": details_markdown(stats), "raw": stats.last_raw, "code": recipe.code,
           "notebook": notebook_file("synthetic", "synthetic-rows", recipe)}


def _keep(run: dict | None, rows: list[dict], fields: list[syn.Field], description: str, stats: syn.RunStats) -> None:
    """Keep the run server side, in the session's holder (push, Evaluate and Fine-tune read it)."""
    if isinstance(run, dict):
        run.update({"rows": rows, "fields": [asdict(f) for f in fields], "description": description,
                    "model": stats.model, "stats": stats})


def _int(value, what: str) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"The {what} must be a whole number.") from None
    if not number.is_integer():
        raise InvalidInput(f"The {what} must be a whole number (got {value}).")
    return int(number)


@ui_errors
def keep_partial(description: str, fields_table, rows_table, model: str, run: dict | None = None):
    """After Stop: keep the rows shown so far (re-checked against the fields), with downloads and the summary.

    Args:
        description: the dataset description.
        fields_table: the fields editor's value.
        rows_table: the rows table as displayed when the run was stopped.
        model: the model reference of the run.
        run: the session's holder of the last run (server side).

    Returns:
        The status line, the summary (HTML) and the files.
    """
    fields = syn.validate_fields(fields_from_table(fields_table))
    records = rows_table.to_dict("records") if isinstance(rows_table, pd.DataFrame) else []
    rows = []
    for record in records:
        try:
            rows.append(syn.validate_row(record, fields)[0])
        except ValueError:
            continue
    if not rows:
        return {"status": status_html("stopped", "no rows yet."), "summary": "", "files": None}
    stats = syn.RunStats(requested=len(rows), rows=len(rows), stop_reason="stopped", model=(model or "").strip())
    _keep(run, rows, fields, description, stats)
    return {"status": status_html("stopped", f"kept the {_n(len(rows), 'row')} generated so far."),
            "summary": summary_html(rows, fields), "files": _write_files(rows, fields, description)}


@ui_errors
def push_dataset(repo_id: str, private: bool = True, state: dict | None = None) -> str:
    """Push the last generated dataset to the Hub (data/train.jsonl and a dataset card). Needs HF_TOKEN.

    Args:
        repo_id: "user/name" or "org/name".
        private: create the dataset repository as private.
        state: the last run (kept by the app for this browser session).

    Returns:
        A Markdown link to the dataset.
    """
    if not state or not state.get("rows"):
        raise InvalidInput("There are no rows to push: generate a dataset first.")
    url = syn.push_to_hub(state["rows"], state["fields"], repo_id=repo_id, description=state["description"],
                          model=state["model"], stats=state.get("stats"), private=bool(private))
    return {"pushed": f"✓ Pushed {len(state['rows']):,} rows to [{esc(url)}]({url})"}


def load_example(name: str):
    """The description and fields of a built-in example."""
    description, fields = EXAMPLES.get(name, EXAMPLES[DEFAULT_EXAMPLE])
    return {"description": description, "fields": pd.DataFrame(fields, columns=FIELD_COLUMNS)}


def build(ctx: Context | Settings | None = None, links: Links | None = None) -> None:
    """Render the Synthetic data tab inside the current Blocks.

    Args:
        ctx: the app's context (``engines.context``), or bare settings.
        links: cross-tab links: this tab offers its last run ("synthetic.run") and two send buttons.
    """
    ctx = as_context(ctx)
    limit = syn.max_rows(ctx.settings)
    example0 = load_example(DEFAULT_EXAMPLE)
    description, fields = example0["description"], example0["fields"]
    with gr.Tab("Synthetic data", id="synthetic"):
        gr.Markdown("Describe a dataset and its fields; the model writes rows in batches as JSON Lines. Every row is "
                    "parsed, coerced to the field types where safe, checked against ranges and enum values; invalid "
                    "rows are regenerated and exact duplicates dropped. Download CSV or JSON Lines.")
        with gr.Row():
            example = gr.Dropdown(list(EXAMPLES), value=DEFAULT_EXAMPLE, label="Start from an example", scale=1)
            desc = gr.Textbox(description, lines=2, label="Dataset description (topic, purpose)", scale=3,
                              elem_id="syn-desc")
        table = gr.Dataframe(fields, headers=FIELD_COLUMNS, datatype="str", interactive=True,
                             label="Fields — type: string | int | float | bool | enum | date; enum values separated "
                                   "by |; min/max for numbers and dates (YYYY-MM-DD)", elem_id="syn-fields")
        with gr.Row():
            model = model_picker("chat", default_model(), choices=CHAT, scale=3,
                                 label="Model (catalog, Hub id, local folder, openai:/hf:/ollama:)",
                                 elem_id="syn-model")
            n_rows = gr.Number(20, precision=0, label=f"Rows (1 to {limit:,})", elem_id="syn-n")
            temperature = gr.Slider(0, 2, value=0.8, step=0.05, label="Temperature")
        with gr.Row():
            diversity = gr.Checkbox(True, label="Diversity: vary prompts and seeds across batches")
            batch_size = gr.Slider(1, syn.MAX_BATCH_SIZE, value=10, step=1, label="Rows per batch")
            attempts = gr.Slider(1, 20, value=5, step=1, label="Retry budget (batches in a row without a new row)")
            seed = gr.Number(0, precision=0, label="Seed (0 = random)")
        with gr.Row():
            go = gr.Button("Generate", variant="primary", elem_id="syn-go")
            stop = gr.Button("Stop", variant="stop", elem_id="syn-stop")
        out = {"status": gr.HTML(elem_id="syn-status"),
               # the example's field names (``fields`` is a DataFrame: iterating it gives its column names)
               "rows": gr.Dataframe(headers=[str(n) for n in fields["name"]] or ["rows appear here"],
                                    label="Rows", interactive=False, max_height=420, wrap=False, elem_id="syn-rows"),
               "files": gr.File(label="Downloads (CSV, JSON Lines)", file_count="multiple", interactive=False,
                                elem_id="syn-files")}
        with gr.Row():
            # shown by the tabs that wire them (Evaluate, Fine-tune build after this tab)
            to_eval = gr.Button("Evaluate on these rows →", size="sm", visible=False, elem_id="syn-to-eval")
            to_tune = gr.Button("Fine-tune on these rows →", size="sm", visible=False, elem_id="syn-to-tune")
        out["summary"] = gr.HTML(elem_id="syn-summary")
        run = gr.State({})  # per session: the last run (rows, fields), never sent to clients
        _push_ui(run)
        with gr.Accordion("Underneath: model, timings, rejected rows, raw output, code", open=False):
            out["details"] = gr.Markdown(elem_id="syn-details")
            out["raw"] = gr.Code(label="Raw output of the last batch", language=None, interactive=False)
            out["code"] = gr.Code(label="Show code: one batch with plain openai / transformers", language="python",
                                  interactive=False)
            out["notebook"] = gr.File(label=NOTEBOOK_LABEL, interactive=False, elem_id="syn-notebook")
        on(example.change, load_example, [example], {"description": desc, "fields": table}, api_name=False)
        event = on(go.click, with_settings(generate_rows, ctx),
                   [desc, table, n_rows, model, temperature, diversity, batch_size, attempts, seed, run], out,
                   api_name="generate_rows", status="status", clear=tuple(k for k in out if k != "status"),
                   running="Starting…", **GPU_EVENT)
        stopped = {k: out[k] for k in ("status", "summary", "files")}
        on(stop.click, keep_partial, [desc, table, out["rows"], model, run], stopped, cancels=[event],
           api_name=False)
    if links is not None:  # the Evaluate and Fine-tune tabs wire these buttons to themselves (they build later)
        links.register("synthetic.run", "synthetic", run)
        links.register("synthetic.to_evaluate", "synthetic", to_eval)
        links.register("synthetic.to_finetune", "synthetic", to_tune)


def _push_ui(state: gr.State) -> None:
    """The push-to-Hub box, rendered only when HF_TOKEN is set."""
    with gr.Accordion("Push to the Hub as a dataset", open=False, visible=syn.hub_push_available(),
                      elem_id="syn-push-box"):
        with gr.Row():
            repo = gr.Textbox(label="Dataset repo id", placeholder="your-name/my-synthetic-dataset", scale=3)
            private = gr.Checkbox(True, label="Private")
            push = gr.Button("Push to the Hub", elem_id="syn-push")
        on(push.click, push_dataset, [repo, private, state], {"pushed": gr.Markdown()}, api_name="push_dataset")
