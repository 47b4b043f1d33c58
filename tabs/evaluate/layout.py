"""Evaluate tab layout: the run settings and the results-reading sections (components only; ``handlers`` wires
them)."""

from __future__ import annotations

import gradio as gr

from engines.config import Settings
from engines.evals.runner import MAX_MODELS
from engines.evals.scoring import METHOD_LABELS, METHODS
from tabs.common import Links, ModelBox
from tabs.kit.pickers import CHAT, default_model, model_picker


def run_section(settings: Settings, links: Links | None, set_id: gr.Textbox) -> dict:
    """The models, scoring and decoding settings and the run buttons; the results matrix and summary (unwired)."""
    with gr.Group():
        models = model_picker("chat", [default_model()], choices=CHAT, multiselect=True, max_choices=MAX_MODELS,
                              label=f"Models (1 to {MAX_MODELS}: catalog, Hub id, local folder, openai:/hf:/ollama:)",
                              elem_id="eval-models")
        with gr.Row():
            method = gr.Dropdown([(METHOD_LABELS[m], m) for m in METHODS], value="contains",
                                 label="Free-form scoring", elem_id="eval-method")
            choice_method = gr.Radio([("log-likelihood where possible", "auto"), ("generated letter", "letter")],
                                     value="auto", label="Multiple choice", elem_id="eval-choice-method")
            judge = model_picker("chat", None, choices=CHAT, label="Judge model (open-ended items, judge scoring)",
                                 elem_id="eval-judge")
        with gr.Accordion("Decoding and scoring settings (the same for every model)", open=False):
            with gr.Row():
                max_new = gr.Slider(1, settings.max_new_tokens, value=min(256, settings.max_new_tokens), step=1,
                                    label="Max new tokens")
                temperature = gr.Slider(0, 2, value=0, step=0.05, label="Temperature")
                samples = gr.Slider(1, 20, value=1, step=1, label="Code: samples per item (n)")
                k = gr.Slider(1, 20, value=1, step=1, label="Code: k of pass@k")
            with gr.Row():
                system = gr.Textbox(label="System prompt (optional)", lines=1, scale=3)
                tolerance = gr.Number(1e-6, label="Numeric tolerance")
                name = gr.Textbox(label="Run name (optional)", elem_id="eval-run-name")
        with gr.Row():
            go = gr.Button("Run evaluation", variant="primary", elem_id="eval-run")
            stop = gr.Button("Stop", variant="stop", elem_id="eval-stop")
            resume = gr.Button("Resume run", elem_id="eval-resume")
    out = {"status": gr.HTML(elem_id="eval-status"), "progress": gr.HTML(elem_id="eval-progress"),
           "matrix": gr.Dataframe(headers=["item", "question"],
                                  label="Results: a row per item, a column per model (click a row for details)",
                                  interactive=False, max_height=520, wrap=False, elem_id="eval-matrix"),
           "summary": gr.HTML(elem_id="eval-summary")}
    if links is not None:
        links.register("evaluate.models", "evaluate", models)
    inputs = [set_id, models, method, judge, choice_method, max_new, temperature, system, samples, k, tolerance, name]
    return {"out": out, "inputs": inputs, "go": go, "stop": stop, "resume": resume, "judge": judge}


def read_section(results: dict) -> dict:
    """Reopen a stored run, downloads, the drill-down and the comparisons (unwired); adds the shared components to
    ``results``, returns the rest."""
    with gr.Row():
        results["run_id"] = gr.Textbox(label="Run id", elem_id="eval-run-id", scale=2)
        results["runs"] = gr.Dropdown([], label="Earlier runs", elem_id="eval-runs", scale=4)
        refresh = gr.Button("↻ Runs", size="sm", scale=0, min_width=90, elem_id="eval-refresh")
        open_btn = gr.Button("Open run", scale=0, min_width=110, elem_id="eval-open")
    results["files"] = gr.File(label="Downloads: per-item CSV and JSON Lines, Markdown report, chart",
                               file_count="multiple", interactive=False, elem_id="eval-files")
    with gr.Accordion("Drill-down: one item, every model", open=True):
        with gr.Row():
            item_id = gr.Textbox(label="Item id", elem_id="eval-item-id", scale=3)
            show = gr.Button("Show item", scale=0, min_width=110, elem_id="eval-show")
        details = gr.HTML(elem_id="eval-details")
    with gr.Accordion("Compare two models", open=False, elem_id="eval-compare-box"):
        with gr.Row():
            results["model_a"] = ModelBox([], label="Model A", elem_id="eval-model-a")
            results["model_b"] = ModelBox([], label="Model B", elem_id="eval-model-b")
            disagree = gr.Checkbox(False, label="Only items where they disagree", elem_id="eval-disagree")
        with gr.Row():
            cmp_btn = gr.Button("Compare (McNemar / paired bootstrap)", elem_id="eval-compare")
            pair_btn = gr.Button("Judge pairwise (both orders)", elem_id="eval-pairwise-go")
        comparison, pairwise = gr.HTML(elem_id="eval-comparison"), gr.HTML(elem_id="eval-pairwise")
    with gr.Accordion("Compare with an earlier run: items that flipped", open=False):
        with gr.Row():
            earlier = gr.Textbox(label="Earlier run id", elem_id="eval-earlier", scale=3)
            flips_btn = gr.Button("List flips", scale=0, min_width=110, elem_id="eval-flips-go")
        flips = gr.HTML(elem_id="eval-flips")
    with gr.Accordion("Results as JSON", open=False):
        results["results"] = gr.JSON(label="run, summary and per-item rows")
    return {"refresh": refresh, "open": open_btn, "item_id": item_id, "show": show, "details": details,
            "disagree": disagree, "cmp": cmp_btn, "pair": pair_btn, "comparison": comparison, "pairwise": pairwise,
            "earlier": earlier, "flips_btn": flips_btn, "flips": flips}
