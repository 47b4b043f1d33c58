"""Fine-tune tab layout: the data and hyperparameter inputs and the run panel (components only; ``handlers`` wires
them)."""

from __future__ import annotations

import gradio as gr

from engines import finetune as ft
from engines.config import Settings
from tabs.common import NOTEBOOK_LABEL, ModelBox, status_html
from tabs.finetune import view
from tabs.kit.pickers import default_model, model_picker

SOURCES = [("Upload JSON Lines / CSV", "upload"), ("Dataset (Hub id or local folder)", "dataset"),
           ("Synthetic data tab (last run)", "synthetic")]
METHOD_CHOICES = [(label, key) for key, label in ft.METHOD_LABELS.items()]
FOLLOW_EVERY_S = 1.5


def run_box(**kwargs) -> ModelBox:
    """The run picker: runs on disk in the UI, any run id (free text) over the API and MCP.

    A ModelBox, not a subclass of it: Gradio reads a template component's config from its direct base's signature,
    so a subclass of ModelBox would lose its label.
    """
    box = ModelBox([], value=None, **kwargs)
    box._value_description = "a fine-tuning run id, as finetune_runs lists them"
    return box



def inputs() -> dict:
    c: dict = {}
    with gr.Row():
        c["model"] = model_picker(("chat", "code"), default_model(), choices={"remote": False, "small_first": True},
                                  label="Base model (catalog, Hub id or local folder)", scale=3, elem_id="ft-model")
        c["suggest"] = gr.Button("Suggest settings", scale=1, elem_id="ft-suggest")
    with gr.Group():
        c["source"] = gr.Radio(SOURCES, value="upload", label="Training data from", elem_id="ft-source")
        with gr.Row():
            c["file"] = gr.File(label="JSON Lines / CSV: a messages column, or prompt + completion columns",
                                file_types=[".jsonl", ".json", ".csv"], height=90, elem_id="ft-file")
            c["dataset"] = gr.Textbox(label="Dataset: Hub id or local folder", placeholder="org/name or /path",
                                      elem_id="ft-dataset")
            c["split"] = gr.Textbox(label="Split", placeholder="train", max_length=100)
        with gr.Accordion("Columns (empty: recognised by name)", open=False):
            with gr.Row():
                c["prompt_column"] = gr.Textbox(label="Prompt column", placeholder="prompt", max_length=200)
                c["completion_column"] = gr.Textbox(label="Completion column", placeholder="completion",
                                                    max_length=200)
                c["messages_column"] = gr.Textbox(label="Messages column", placeholder="messages", max_length=200)
                c["target_field"] = gr.Textbox(label="Synthetic data: field to learn", placeholder="(last field)",
                                               max_length=200)
        c["synthetic"] = gr.JSON(visible=False, elem_id="ft-synthetic")
        c["heldout_share"] = gr.Slider(0, 0.5, value=0.1, step=0.05, label="Held-out share (seeded split)")
    hyper_inputs(c)
    return c


def hyper_inputs(c: dict) -> None:
    d = ft.Hyper()
    with gr.Accordion("Method and hyperparameters", open=True):
        c["method"] = gr.Radio(METHOD_CHOICES, value=d.method, label="Method", elem_id="ft-method",
                               info="LoRA: adapters on a frozen base. QLoRA: the same on a 4-bit base (CUDA). Full: "
                                    "every weight (needs ~16 bytes per parameter).")
        with gr.Row():
            c["rank"] = gr.Number(d.rank, precision=0, minimum=1, maximum=1024, label="LoRA rank",
                                  info="adapter width: 8-64; higher learns more, trains more", elem_id="ft-rank")
            c["alpha"] = gr.Number(d.alpha, precision=0, minimum=1, maximum=4096, label="LoRA alpha",
                                   info="update scale; usually 2 × rank")
            c["dropout"] = gr.Number(d.dropout, minimum=0, maximum=0.9, label="LoRA dropout",
                                     info="regularises the adapter; 0.05 is typical")
            c["target_modules"] = gr.Textbox("", label="Target modules", placeholder="(every linear layer)",
                                             info="layers to adapt, comma separated", max_length=1000,
                                             elem_id="ft-targets")
        with gr.Row():
            c["learning_rate"] = gr.Number(d.learning_rate, minimum=1e-8, maximum=1, label="Learning rate",
                                           info="2e-4 for LoRA, ~2e-5 for full fine-tuning", elem_id="ft-lr")
            c["epochs"] = gr.Number(d.epochs, minimum=0.01, maximum=100, label="Epochs",
                                    info="passes over the data: 1-3")
            c["batch_size"] = gr.Number(d.batch_size, precision=0, minimum=1, maximum=1024, label="Batch size",
                                        info="examples per step (memory grows with it)")
            c["grad_accum"] = gr.Number(d.grad_accum, precision=0, minimum=1, maximum=1024,
                                        label="Gradient accumulation", info="steps per update: a bigger batch, free")
        with gr.Row():
            c["max_length"] = gr.Number(d.max_length, precision=0, minimum=8, maximum=131072, label="Max length",
                                        info="tokens per example; longer ones are cut", elem_id="ft-max-length")
            c["max_steps"] = gr.Number(0, precision=0, minimum=0, maximum=1_000_000, label="Max steps",
                                       info="0: as many as the epochs take", elem_id="ft-max-steps")
            c["seed"] = gr.Number(d.seed, precision=0, minimum=0, maximum=2**32 - 1, label="Seed",
                                  info="split, data order and adapter init")
            c["grad_checkpointing"] = gr.Checkbox(d.grad_checkpointing, label="Gradient checkpointing",
                                                  info="less memory, ~30% slower")
        c["why"] = gr.Markdown(view.why_markdown(ft.explain_hyper(d)), elem_id="ft-why")
        c["suggested"] = gr.State(None)  # what Suggest proposed, with its reasons


def outputs(settings: Settings) -> dict:
    out: dict = {}
    with gr.Row():
        out["check"] = gr.Button("Check data and plan", elem_id="ft-check")
        out["start"] = gr.Button("Start training", variant="primary", elem_id="ft-start",
                                 interactive=not settings.zero_gpu)
    out["status"] = gr.HTML(status_html("idle"), elem_id="ft-status")
    with gr.Accordion("The data as the model sees it", open=True):
        out["summary"] = gr.Markdown(elem_id="ft-summary")
        out["plan"] = gr.HTML(elem_id="ft-plan")
        out["preview"] = gr.HTML(elem_id="ft-preview")
    with gr.Row():
        out["run"] = run_box(label="Run", scale=4, elem_id="ft-run")
        out["refresh"] = gr.Button("↻ Runs", scale=0, min_width=90, elem_id="ft-refresh")
        out["stop"] = gr.Button("Stop", variant="stop", scale=0, min_width=90, interactive=False, elem_id="ft-stop")
        out["resume"] = gr.Button("Resume", scale=0, min_width=100, interactive=False, elem_id="ft-resume")
    out["panel"] = gr.HTML(view.run_html(None), elem_id="ft-panel")
    out["timer"] = gr.Timer(FOLLOW_EVERY_S, active=True)
    out["outputs"] = gr.Markdown(elem_id="ft-outputs")
    with gr.Row():
        out["merge"] = gr.Button("Merge and save", interactive=False, elem_id="ft-merge")
        out["to_compare"] = gr.Button("Open in Compare: base vs tuned", interactive=False, elem_id="ft-to-compare")
        out["to_evaluate"] = gr.Button("Evaluate on the held-out split", interactive=False,
                                       elem_id="ft-to-evaluate")
    with gr.Accordion("Push to the Hub", open=False, visible=ft.hub_push_available(), elem_id="ft-push-box"):
        with gr.Row():
            out["repo"] = gr.Textbox(label="Model repo id", placeholder="your-name/my-tuned-model", scale=3)
            out["private"] = gr.Checkbox(True, label="Private")
            out["push_merged"] = gr.Checkbox(False, label="Push the merged model")
            out["push"] = gr.Button("Push", elem_id="ft-push")
        out["pushed"] = gr.Markdown()
    with gr.Accordion("All runs, and the code", open=False):
        out["runs"] = gr.JSON(label="Runs", elem_id="ft-runs")
        out["code"] = gr.Code(label="Show code: this run with plain peft + trl", language="python",
                              interactive=False, elem_id="ft-code")
        out["notebook"] = gr.File(label=NOTEBOOK_LABEL + " — ready when the run is done", interactive=False,
                                  elem_id="ft-notebook")
    return out
