"""Fine-tune tab: LoRA / QLoRA / full supervised fine-tuning of an open model with peft + trl, trained in a separate
worker process, followed live (curves, steps/s, tokens/s, ETA, memory), then compared and evaluated against its base.

Adapters only: the work is in ``engines.finetune``; HTML in ``tabs.finetune.view``.
"""

from __future__ import annotations

import functools

import gradio as gr

from engines import finetune as ft
from engines import notebooks as nbs
from engines.config import Settings
from engines.context import Context, as_context
from engines.errors import InvalidInput, WorkbenchError
from tabs.common import (
    GPU_EVENT,
    Link,
    Links,
    expensive,
    notebook_file,
    on,
    status_html,
    with_settings,
)
from tabs.finetune import layout, view
from tabs.finetune.request import RunRequest
from tabs.glue import from_synthetic


def _blank(value) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def _dataset(source, file, dataset, split, prompt_column, completion_column, messages_column, target_field,
             synthetic, settings: Settings | None = None) -> ft.Dataset:
    mapping = {"prompt_column": _blank(prompt_column), "completion_column": _blank(completion_column),
               "messages_column": _blank(messages_column), "settings": settings}
    if source == "upload":
        path = _file_path(file)
        if not path:
            raise InvalidInput("Upload a JSON Lines or CSV file first (or choose another data source).")
        name = str(path).replace("\\", "/").rsplit("/", 1)[-1]
        notices: list[str] = []  # e.g. which encoding a file that is not UTF-8 was read with
        data = ft.examples_from_rows(ft.read_file(path, notices), source=f"upload: {name}", **mapping)
        data.notices[:0] = notices
        return data
    if source == "dataset":
        rows = ft.read_hub(dataset or "", _blank(split) or "train", settings)
        return ft.examples_from_rows(rows, source=f"dataset: {(dataset or '').strip()} ({_blank(split) or 'train'})",
                                     **mapping)
    if source == "synthetic":
        data = synthetic or {}
        return ft.from_synthetic(data.get("rows") or [], data.get("fields") or [], target=_blank(target_field),
                                 description=data.get("description") or "")
    raise InvalidInput(f"Unknown data source '{source}': use upload, dataset or synthetic.")


def _hyper(method, rank, alpha, dropout, target_modules, learning_rate, epochs, batch_size, grad_accum, max_length,
           grad_checkpointing, max_steps, seed) -> ft.Hyper:
    values = {"rank": rank, "alpha": alpha, "dropout": dropout, "learning_rate": learning_rate, "epochs": epochs,
              "batch_size": batch_size, "grad_accum": grad_accum, "max_length": max_length, "max_steps": max_steps,
              "seed": seed}
    clean = {k: v for k, v in values.items() if v is not None}
    return ft.Hyper.from_dict({**ft.Hyper().to_dict(), **clean, "method": _blank(method) or "lora",
                               "target_modules": ft.spec.parse_modules(target_modules),
                               "grad_checkpointing": bool(grad_checkpointing)})


def _file_path(file) -> str | None:
    return file if isinstance(file, str) else getattr(file, "name", None) or (file or {}).get("path")


def _prepare(request: RunRequest, settings: Settings | None = None) -> tuple[ft.Prepared, str]:
    """The run prepared from the form's request, and its check handle. Check keeps it server-side under the handle
    (a digest of the request and the uploaded file's bytes); Start with the same request finds it there, so the data
    is read and tokenized once, not again (the run started from it drops it)."""
    values = {name: getattr(request, name) for name in RunRequest.names() if name != "file"}
    upload = _file_path(request.file) if request.source == "upload" and request.file else None
    key = ft.checks.handle(values, files=(upload,) if upload else ())

    def make() -> ft.Prepared:
        data, hyper = _dataset(*request.data_args(), settings), _hyper(*request.hyper_args())
        share = 0.1 if request.heldout_share is None else float(request.heldout_share)
        return ft.prepare((request.model or "").strip(), data, hyper, heldout_share=share, settings=settings)

    return ft.checks.prepared(key, make), key


# ----------------------------------------------------------------------------------------------- handlers


def finetune_defaults(model: str, method: str | None = None, *, settings: Settings | None = None):
    """Suggest hyperparameters for a base model on this hardware, each with a one-line reason.

    Args:
        model: the base model: a catalog id, any Hub id (org/name) or a local model folder.
        method: lora, qlora or full (empty = the suggestion for this model and hardware).

    Returns:
        The suggested settings and why each was chosen.
    """
    settings = settings or Settings.from_env()
    facts = ft.inspect_model((model or "").strip(), settings)
    suggested = ft.defaults(facts, settings.device)
    proposed = ft.Hyper.from_dict(suggested.hyper.to_dict())
    h = proposed if _blank(method) in (None, "lora", "qlora") else ft.plan.full_defaults(proposed)
    if _blank(method) in ("lora", "qlora"):
        h.method = method
    # the suggestion's reasons hold for the values it chose; the explanation follows the boxes from here on
    kept = {k: r for k, r in suggested.why.items() if getattr(suggested.hyper, k) == getattr(h, k)}
    proposal = {"hyper": h.to_dict(), "why": kept}
    return {"method": h.method, "rank": h.rank, "alpha": h.alpha, "dropout": h.dropout,
            "target_modules": ", ".join(h.target_modules), "learning_rate": h.learning_rate, "epochs": h.epochs,
            "batch_size": h.batch_size, "grad_accum": h.grad_accum, "max_length": h.max_length,
            "grad_checkpointing": h.grad_checkpointing, "suggested": proposal,
            "why": view.why_markdown(ft.explain_hyper(h, proposal)),
            "status": status_html("done", f"Suggested settings for {facts.ref.display} "
                                          f"({facts.params_b:.3g}B parameters, {facts.architecture}).")}


def explain_settings(method, rank, alpha, dropout, target_modules, learning_rate, epochs, batch_size, grad_accum,
                     max_length, grad_checkpointing, suggested=None):
    """The explanation beside the hyperparameters, from the values in the boxes now (kept as is while a box holds
    something that isn't a setting yet)."""
    try:
        h = _hyper(method, rank, alpha, dropout, target_modules, learning_rate, epochs, batch_size, grad_accum,
                   max_length, grad_checkpointing, None, None)
        return {"why": view.why_markdown(ft.explain_hyper(h, suggested))}
    except (WorkbenchError, TypeError, ValueError):
        return {"why": gr.update()}


# the Args of finetune_check and finetune_start (the same parameters): one copy, formatted into both docstrings
RUN_ARGS = """Args:
        model: the base model: a catalog id, any Hub id (org/name) or a local model folder.
        source: where the data comes from: upload, dataset or synthetic.
        file: the .jsonl / .json / .csv file when source is upload (a messages column, or prompt + completion).
        dataset: a Hub dataset id (org/name) or a local dataset folder when source is dataset.
        split: the dataset split to read (default train).
        prompt_column: the column holding the prompt (empty: recognised by name).
        completion_column: the column holding the reply to learn (empty: recognised by name).
        messages_column: the column holding whole conversations; the last assistant message is learnt.
        target_field: for synthetic data, the field the model learns to write (default: the last field).
        heldout_share: share of examples held out for evaluation, 0 to 0.5 (default 0.1).
        method: lora, qlora (4-bit base, CUDA) or full.
        rank: LoRA rank (adapter width).
        alpha: LoRA alpha (scale of the adapter's update).
        dropout: LoRA dropout.
        target_modules: layer names to adapt, comma separated (empty: every linear layer of attention and MLP).
        learning_rate: peak learning rate.
        epochs: passes over the training data.
        batch_size: examples per step.
        grad_accum: steps accumulated before each optimizer update.
        max_length: tokens per example; longer examples are cut.
        grad_checkpointing: recompute activations in the backward pass (less memory, slower).
        max_steps: stop after this many optimizer steps (0 or empty: as many as the epochs take).
        seed: seed of the split, the data order and the adapter's initialisation.
        synthetic: rows sent by the Synthetic data tab, {"rows": [...], "fields": [...], "description": "..."}.
"""


def finetune_check(model: str, source: str, file=None, dataset: str | None = None, split: str | None = None,
                   prompt_column: str | None = None, completion_column: str | None = None,
                   messages_column: str | None = None, target_field: str | None = None,
                   heldout_share: float | None = None, method: str | None = None, rank: float | None = None,
                   alpha: float | None = None, dropout: float | None = None, target_modules: str | None = None,
                   learning_rate: float | None = None, epochs: float | None = None, batch_size: float | None = None,
                   grad_accum: float | None = None, max_length: float | None = None,
                   grad_checkpointing: bool | None = None, max_steps: float | None = None, seed: float | None = None,
                   synthetic: dict | None = None, *, settings: Settings | None = None):
    """Check a fine-tuning run without starting it: the data as the model sees it, the split, trainable parameters.

    {args}
    Returns:
        The status line (naming the check's handle: a Start with the same parameters reuses the prepared data instead
        of tokenizing it again), the first examples with the tokens that carry loss highlighted, the data summary,
        the plan.
    """
    prep, handle = _prepare(RunRequest.of(locals()), settings)
    return {"preview": view.preview_html(ft.preview(prep)), "summary": view.data_summary(prep),
            "plan": view.plan_html(prep),
            "status": status_html("warning" if prep.notices else "done",
                                  f"Ready: {len(prep.train):,} training examples, {prep.steps['total_steps']:,} "
                                  f"steps, {prep.estimate.trainable:,} trainable parameters. Check {handle}: "
                                  "Start with these settings reuses it.")}


finetune_check.__doc__ = finetune_check.__doc__.format(args=RUN_ARGS)


@expensive
def finetune_start(model: str, source: str, file=None, dataset: str | None = None, split: str | None = None,
                   prompt_column: str | None = None, completion_column: str | None = None,
                   messages_column: str | None = None, target_field: str | None = None,
                   heldout_share: float | None = None, method: str | None = None, rank: float | None = None,
                   alpha: float | None = None, dropout: float | None = None, target_modules: str | None = None,
                   learning_rate: float | None = None, epochs: float | None = None, batch_size: float | None = None,
                   grad_accum: float | None = None, max_length: float | None = None,
                   grad_checkpointing: bool | None = None, max_steps: float | None = None, seed: float | None = None,
                   synthetic: dict | None = None, *, settings: Settings | None = None):
    """Start a fine-tuning run in a separate worker process; follow it with finetune_status.

    {args}
    Returns:
        The run id (in the run picker), the status line and the live panel.
    """
    request = RunRequest.of(locals())
    ft.check_training_slot(settings)  # before the checks: a Start while a run trains is refused at once (and at start)
    prep, handle = _prepare(request, settings)  # what Check prepared with these parameters, else prepared now
    yield {"preview": view.preview_html(ft.preview(prep)), "summary": view.data_summary(prep),
           "plan": view.plan_html(prep)}
    run = ft.start_run(prep, settings)
    ft.checks.take(handle)  # started: a later Start prepares again (a refused one kept it for the next try)
    yield {**_run_updates(run), "run": run.id}


finetune_start.__doc__ = finetune_start.__doc__.format(args=RUN_ARGS)


def _run_updates(run: ft.RunView | None, links: Links | None = None) -> dict:
    if run is None:
        return {"panel": view.run_html(None), "timer": gr.Timer(active=False)}
    state, text = view.status_line(run)
    done = run.tuned is not None
    # the refresh goes on while the worker's process lives, whatever its last word (it stops only once it is gone)
    following = run.live or run.process_alive
    # the code box and the notebook: one recipe (its data cell, read from the run's files, only once it is done)
    recipe = nbs.finetune_recipe(run, with_data=done) if run.spec.base else None
    return {"status": status_html(state, text), "panel": view.run_html(run), "timer": gr.Timer(active=following),
            "outputs": view.outputs_markdown(run), "code": recipe.code if recipe else "",
            "notebook": notebook_file("finetune", f"finetune-{run.id}", recipe) if recipe and done else None,
            "stop": gr.update(interactive=run.live), "resume": gr.update(interactive=run.resumable),
            "merge": gr.update(interactive=done and run.adapter is not None),
            "to_compare": gr.update(interactive=done), "to_evaluate": gr.update(interactive=done)}


def finetune_status(run_id: str, *, settings: Settings | None = None):
    """The state of a fine-tuning run: step, losses, steps/s, tokens/s, ETA, memory, and its curves.

    Args:
        run_id: the run id (finetune_runs lists them).

    Returns:
        The status line, the live panel (loss curves and numbers), where the tuned model is, and the code.
    """
    return _run_updates(ft.read_run(run_id, settings))


def finetune_stop(run_id: str, *, settings: Settings | None = None):
    """Stop a run: it saves a checkpoint at the end of the current step, and can be resumed from it.

    Args:
        run_id: the run id (finetune_runs lists them).

    Returns:
        The status line and the live panel.
    """
    run = ft.stop_run(run_id, settings)
    return {**_run_updates(run), "status": status_html("running", run.message), "timer": gr.Timer(active=True)}


@expensive
def finetune_resume(run_id: str, *, settings: Settings | None = None):
    """Resume a stopped, failed or crashed run from its last checkpoint, with the same data in the same order.

    Args:
        run_id: the run id (finetune_runs lists them).

    Returns:
        The status line and the live panel.
    """
    return {**_run_updates(ft.resume_run(run_id, settings)), "timer": gr.Timer(active=True)}


def finetune_runs(*, settings: Settings | None = None):
    """List the fine-tuning runs saved in the app's data directory, newest first.

    Returns:
        The runs (id, state, base model, method, step, losses, whether a tuned model is saved).
    """
    return {"runs": view.runs_table(ft.list_runs(settings))}


def _picker(run_id: str | None, *, settings: Settings | None = None):
    """The run picker's choices, read from disk, keeping the picked run."""
    return gr.update(choices=view.run_choices(ft.list_runs(settings)), value=_blank(run_id))


def finetune_merge(run_id: str, *, settings: Settings | None = None):
    """Merge a finished run's LoRA adapter into its base model and save the whole model (a standalone folder).

    Args:
        run_id: the run id (finetune_runs lists them).

    Returns:
        The status line and where the merged model is.
    """
    ft.merge_run(run_id, settings)
    run = ft.read_run(run_id, settings)
    return {**_run_updates(run), "status": status_html("done", f"Merged: {run.id} now has a standalone model.")}


def finetune_push(run_id: str, repo_id: str, private: bool = True, merged: bool = False, *,
                  settings: Settings | None = None):
    """Push a finished run's adapter (or its merged model) to a Hub model repository with its card. Needs HF_TOKEN.

    Args:
        run_id: the run id (finetune_runs lists them).
        repo_id: the model repository, user/name or org/name.
        private: create the repository as private.
        merged: push the merged model instead of the adapter (merge first).

    Returns:
        A link to the model.
    """
    url = ft.push_run(run_id, repo_id, private=bool(private), merged=bool(merged), settings=settings)
    return {"pushed": f"✓ Pushed to [{url}]({url})"}


def follow(run_id: str | None, *, settings: Settings | None = None):
    """Timer tick: refresh the followed run (the newest run when none is picked, e.g. after a page reload)."""
    try:
        runs = ft.list_runs(settings) if not _blank(run_id) else None
        run = ft.read_run(run_id, settings) if _blank(run_id) else (runs[0] if runs else None)
    except WorkbenchError:
        return {"timer": gr.Timer(active=False)}
    updates = _run_updates(run)
    if runs is not None and run is not None:
        updates["run"] = gr.update(choices=view.run_choices(runs), value=run.id)
    return updates


def synthetic_payload(state: dict | None) -> dict | None:
    """What the Synthetic data tab sends here: its last run's rows, fields and description (JSON-ready).

    Args:
        state: the Synthetic data tab's run state ({"rows", "fields", "description", ...}).
    """
    if not state or not state.get("rows"):
        return None
    return {"rows": state["rows"], "fields": [f if isinstance(f, str | dict) else getattr(f, "name", str(f))
                                             for f in state.get("fields") or []],
            "description": state.get("description") or ""}


def _from_synthetic(synthetic: dict | None):
    if not synthetic:
        return {}
    n = len(synthetic.get("rows") or [])
    return {"source": "synthetic", "status": status_html("done", f"{n:,} rows received from the Synthetic data tab: "
                                                                 "check the data, then start a run.")}


def _take_rows(payload: dict | None) -> dict:
    """Rows another tab sent: they become this tab's synthetic source (the value the run reads)."""
    return {"synthetic": payload, **_from_synthetic(payload)} if payload else {}


def _sender(targets: dict[str, callable], settings: Settings | None = None):
    """A send of a finished run to other tabs' targets: each target's value is ``targets[name](run)``."""

    def send(run_id: str) -> dict:
        run = ft.read_run(run_id, settings)
        if run.tuned is None:
            raise InvalidInput("This run has no tuned model yet: wait until it is done.")
        return {name: make(run) for name, make in targets.items()}

    return send


def _models(run: ft.RunView) -> list[str]:
    return [run.spec.base, str(run.tuned)]


def _heldout(run: ft.RunView) -> dict:
    rows = ft.heldout_pairs(run)
    if not rows:
        raise InvalidInput("This run has no held-out split (held-out share 0): start a run with one to evaluate.")
    return {"rows": rows, "fields": ["question", "answer"], "name": f"held-out split of {run.id}",
            "source": "Fine-tune tab: examples held out of training"}


# ----------------------------------------------------------------------------------------------- layout


def build(ctx: Context | Settings | None = None, links: Links | None = None) -> None:
    """Render the Fine-tune tab inside the current Blocks.

    Args:
        ctx: the app's context (``engines.context``), or bare settings.
        links: cross-tab targets; this tab registers "finetune.dataset" (Synthetic data rows) and sends tuned models
            to "compare.models", "evaluate.models" and its held-out split to "evaluate.rows" when registered.
    """
    ctx = as_context(ctx)
    settings = ctx.settings
    with gr.Tab("Fine-tune", id="finetune"):
        gr.Markdown("Teach an open model your task: **LoRA** (small adapters on a frozen base), **QLoRA** (the same "
                    "on a 4-bit base, CUDA) or **full** fine-tuning, with trl's `SFTTrainer` and the loss on the "
                    "reply tokens only. Training runs in its own process: the app keeps serving, and a run survives a "
                    "page reload. Then put the tuned model next to its base in Compare, or score both on the held-out "
                    "split in Evaluate." + ("\n\n**This is a ZeroGPU Space: training needs a dedicated GPU, so runs "
                                            "are refused here.**" if settings.zero_gpu else ""))
        c = layout.inputs()
        out = layout.outputs(settings)
        _wire(c, out, links, settings)


def _wire(c: dict, out: dict, links: Links | None, settings: Settings | None = None) -> None:
    inputs, bind = RunRequest.inputs(c), functools.partial(with_settings, ctx=settings)
    shown = {k: out[k] for k in ("status", "preview", "summary", "plan")}
    live = {k: out[k] for k in ("status", "panel", "timer", "outputs", "code", "notebook", "stop", "resume", "merge",
                                "to_compare", "to_evaluate")}
    hyper = {k: c[k] for k in ("method", "rank", "alpha", "dropout", "target_modules", "learning_rate", "epochs",
                               "batch_size", "grad_accum", "max_length", "grad_checkpointing", "why")}
    on(c["suggest"].click, bind(finetune_defaults), [c["model"], c["method"]],
       {**hyper, "suggested": c["suggested"], "status": out["status"]}, api_name="finetune_defaults", status="status",
       running="Reading the model's config…")
    shown_hyper = [c[k] for k in ft.explain.EXPLAINED]
    on(functools.partial(gr.on, [box.change for box in shown_hyper]), explain_settings,
       [*shown_hyper, c["suggested"]], {"why": c["why"]}, api_name=False, show_progress="hidden")
    on(out["check"].click, bind(finetune_check), inputs, shown, api_name="finetune_check", status="status",
       clear=("preview", "plan"), running="Tokenizing the data…")
    started = on(out["start"].click, bind(finetune_start), inputs, {**shown, **live, "run": out["run"]},
                 api_name="finetune_start", status="status", clear=("preview", "plan"), running="Checking the run…",
                 **GPU_EVENT)
    on(started.then, bind(_picker), [out["run"]], [out["run"]], api_name=False)
    on(out["run"].input, bind(finetune_status), [out["run"]], live, api_name="finetune_status", status="status")
    on(out["stop"].click, bind(finetune_stop), [out["run"]], live, api_name="finetune_stop", status="status",
       running="Asking the worker to stop…")
    on(out["resume"].click, bind(finetune_resume), [out["run"]], live, api_name="finetune_resume", status="status",
       running="Resuming…")
    listed = on(out["refresh"].click, bind(finetune_runs), [], {"runs": out["runs"]}, api_name="finetune_runs")
    on(listed.then, bind(_picker), [out["run"]], [out["run"]], api_name=False)
    on(out["merge"].click, bind(finetune_merge), [out["run"]], live, api_name="finetune_merge", status="status",
       running="Merging the adapter into the base (a worker process)…")
    on(out["push"].click, bind(finetune_push), [out["run"], out["repo"], out["private"], out["push_merged"]],
       {"pushed": out["pushed"]}, api_name="finetune_push")
    on(out["timer"].tick, bind(follow), [out["run"]], {**live, "run": out["run"]}, api_name=False,
       show_progress="hidden")
    incoming = gr.State(None)  # rows sent by the Synthetic data tab, server side (hidden components fire no events)

    def received(event) -> None:
        on(event.success, _take_rows, [incoming], {"synthetic": c["synthetic"], "source": c["source"],
                                                   "status": out["status"]}, api_name=False)

    if links is not None:
        links.register("finetune.dataset", "finetune", incoming, on_receive=received)
        links.send(from_synthetic("finetune.dataset", synthetic_payload))
    _link_buttons(links, out, settings)


def _link_buttons(links: Links | None, out: dict, settings: Settings | None = None) -> None:
    """The run's sends to Compare and Evaluate (declared here, wired once every tab is built; a button whose tab is
    not in the app is hidden)."""
    for button, targets in ((out["to_compare"], {"compare.models": _models}),
                            (out["to_evaluate"], {"evaluate.models": _models, "evaluate.rows": _heldout})):
        if links is None:
            button.visible = False
            continue
        links.send(Link("finetune", button, tuple(targets), (out["run"],), _sender(targets, settings)))
