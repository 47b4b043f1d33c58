"""Formatting for the Fine-tune tab: the data preview (loss tokens highlighted), the plan, the live run panel."""

from __future__ import annotations

import time

from engines import finetune as ft
from tabs.common import esc, visible_ws
from tabs.numbers import number

LOSS_BG, PROMPT_BG, CUT_BG = "#bbf7d0", "#e5e7eb", "#fecaca"


def _gb(n: float | None) -> str:
    if not n:
        return "—"
    return f"{n / 2**30:.2f} GB" if n >= 2**28 else f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n / 2**10:.0f} KB"


def _n(n: int | None) -> str:
    if n is None:
        return "—"
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return number(n / size, ".3g", unit)
    return number(n, "g")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m" if seconds >= 3600 else \
        f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


# ----------------------------------------------------------------------------------------------- data


def preview_html(examples: list[dict]) -> str:
    """The first examples as the model sees them: green tokens carry loss (the reply), grey ones are context, red
    ones fall past the max length and are cut.

    Args:
        examples: ``engines.finetune.preview`` output.
    """
    legend = (f"<div style='font-size:.85em;margin-bottom:6px'><span style='background:{LOSS_BG};color:#111;"
              f"padding:0 4px;border-radius:3px'>carries loss</span> <span style='background:{PROMPT_BG};"
              f"color:#111;padding:0 4px;border-radius:3px'>context (no loss)</span> <span style='background:"
              f"{CUT_BG};color:#111;padding:0 4px;border-radius:3px'>past max length (cut)</span></div>")
    cards = []
    for i, ex in enumerate(examples, 1):
        spans = []
        for n, (piece, loss) in enumerate(zip(ex["pieces"], ex["loss"], strict=True)):
            bg = CUT_BG if n >= ex["max_length"] else LOSS_BG if loss else PROMPT_BG
            shown = esc(visible_ws(piece)) or "◦"
            spans.append(f"<span class='ft-tok' data-loss='{int(loss)}' style='display:inline-block;background:{bg};"
                         f"color:#111;border-radius:3px;margin:1px;padding:0 2px;font-family:monospace;"
                         f"white-space:pre;max-width:100%;overflow-wrap:anywhere'>"
                         f"{shown}</span>")
        carried = sum(ex["loss"][: ex["max_length"]])
        cards.append(f"<div class='ft-example' style='border:1px solid #8884;border-radius:8px;padding:6px 8px;"
                     f"margin-bottom:8px;line-height:1.9'><div style='font-size:.8em;opacity:.75'>example {i} · "
                     f"{ex['tokens']} tokens · {carried} carry loss</div>{''.join(spans)}</div>")
    return "<div id='ft-preview-body'>" + legend + "".join(cards) + "</div>"


def data_summary(prep: ft.Prepared) -> str:
    """One paragraph: where the data came from, the split, lengths, and every notice."""
    d = prep.dataset
    cols = ", ".join(f"{k} ← {v}" for k, v in d.columns.items())
    lines = [f"**{len(d.examples):,} examples** ({esc(d.source)}; {d.form}: {esc(cols)}) → **{len(prep.train):,} "
             f"train / {len(prep.heldout):,} held out** (seed {prep.hyper.seed}) · longest {prep.lengths.longest:,} "
             f"tokens, 95% within {prep.lengths.p95:,}"]
    lines += [f"> ⚠ {esc(n)}" for n in prep.notices]
    return "\n\n".join(lines)


def plan_html(prep: ft.Prepared) -> str:
    """Trainable parameters and their share, the run's length, and the memory estimate by part."""
    est, steps = prep.estimate, prep.steps
    share = f"{100 * est.share:.3g}%"
    parts = "".join(f"<tr><td>{esc(k)}</td><td style='text-align:right'>{_gb(v)}</td></tr>"
                    for k, v in est.parts.items())
    available = f" of {_gb(est.available_bytes)} available" if est.available_bytes else ""
    targets = esc(", ".join(est.targets)) if est.targets else "all weights"
    return (f"<div class='ft-plan'><div style='font-size:1.05em'><b>{est.trainable:,}</b> trainable parameters of "
            f"{est.total:,} (<b>{share}</b>) · {ft.METHOD_LABELS[est.method]} on a {esc(prep.quantization)} base "
            f"({esc(prep.device.upper())})</div><div style='font-size:.9em;opacity:.85'>targets: {targets} · "
            f"{steps['total_steps']:,} steps · checkpoint every {steps['save_steps']} · held-out loss every "
            f"{steps['eval_steps'] or '—'}</div><table style='font-size:.85em;margin-top:4px'>{parts}<tr><td><b>total "
            f"(rough)</b></td><td style='text-align:right'><b>{_gb(est.memory_bytes)}</b>{available}</td></tr>"
            "</table></div>")


def why_markdown(why: dict[str, str]) -> str:
    """The one-line reason for each suggested setting."""
    return "\n".join(f"- **{k.replace('_', ' ')}** — {esc(v)}" for k, v in why.items())


# ----------------------------------------------------------------------------------------------- a run


def status_line(view: ft.RunView) -> tuple[str, str]:
    """(state for ``status_html``, sentence) of a run."""
    s = view.status
    step, total = s.get("step", 0), s.get("max_steps") or view.spec.total_steps
    if view.state in ("starting", "running", "stopping"):
        if view.state == "running":
            loss = f" · loss **{s['loss']:.4f}**" if isinstance(s.get("loss"), float) else ""
            return "running", f"Training {view.id}: step {step} of {total}{loss} · ETA {_duration(s.get('eta_s'))}"
        return "running", view.message or "Starting…"
    state = {"done": "done", "stopped": "stopped"}.get(view.state, "failed")
    return state, view.message or view.state


def run_html(view: ft.RunView | None) -> str:
    """The live panel: loss curves and the numbers (step, losses, steps/s, tokens/s, ETA, memory)."""
    if view is None:
        return "<div class='ft-run' data-state='none'>No run yet: check the data, then start one.</div>"
    # a resumed worker starts a new status file: until it logs again, the numbers come from the last records
    s = {**_last_logged(view.metrics), **{k: v for k, v in view.status.items() if v is not None}}
    total = s.get("max_steps") or view.spec.total_steps
    svg = ft.loss_svg(view.metrics, max_steps=total)
    facts = [("step", f"{s.get('step', 0)} / {total}"), ("train loss", _f(s.get("loss"))),
             ("held-out loss", _f(s.get("eval_loss"))), ("steps/s", _f(s.get("steps_per_s"), 3)),
             ("tokens/s", _f(s.get("tokens_per_s"), 4)), ("ETA", _duration(s.get("eta_s")) if view.live else "—"),
             ("memory", _gb(s.get("memory_bytes"))),
             ("trainable", f"{_n(s.get('trainable'))} of {_n(s.get('total'))}" if s.get("trainable") else "—"),
             ("checkpoint", f"step {view.checkpoint_step}" if view.checkpoint_step else "—")]
    cells = "".join(f"<div style='min-width:105px'><div style='font-size:.75em;opacity:.7'>{k}</div>"
                    f"<div class='ft-{k.replace(' ', '-').replace('/', '-')}' style='font-weight:600'>{esc(v)}</div>"
                    "</div>" for k, v in facts)
    return (f"<div class='ft-run' data-run='{esc(view.id)}' data-state='{view.state}' data-step='{s.get('step', 0)}' "
            f"data-points='{len(view.metrics)}'>{svg}<div style='display:flex;flex-wrap:wrap;gap:10px;"
            f"margin-top:6px'>{cells}</div></div>")


def _last_logged(metrics: list[dict]) -> dict:
    """The newest train numbers (loss, steps/s, tokens/s, memory) and held-out loss in the run's metrics."""
    train = next((m for m in reversed(metrics) if m.get("kind") == "train"), {})
    held = next((m for m in reversed(metrics) if m.get("kind") == "eval"), {})
    keys = ("loss", "steps_per_s", "tokens_per_s", "memory_bytes")
    return {**{k: train[k] for k in keys if train.get(k) is not None},
            **({"eval_loss": held["eval_loss"]} if held.get("eval_loss") is not None else {})}


def _f(value, digits: int = 4) -> str:
    return f"{value:.{digits}g}" if isinstance(value, int | float) else "—"


def run_choices(views: list[ft.RunView]) -> list[tuple[str, str]]:
    """(label, run id) for the run picker, newest first."""
    return [(v.label(), v.id) for v in views]


def runs_table(views: list[ft.RunView]) -> list[dict]:
    """Runs as plain records (for the API's run list)."""
    return [{"id": v.id, "state": v.state, "base": v.spec.base, "method": v.spec.hyper.method,
             "step": v.status.get("step", 0), "max_steps": v.status.get("max_steps") or v.spec.total_steps,
             "loss": v.status.get("loss"), "eval_loss": v.status.get("eval_loss"),
             "tuned": v.tuned is not None} for v in views]


def outputs_markdown(view: ft.RunView) -> str:
    """Where the tuned model is, and how to use it."""
    if view.tuned is None:
        return ("The adapter is saved with a model card when the run finishes." if view.state != "failed" else
                "No model was saved: the run failed.")
    kind = "merged model" if view.merged else "adapter" if view.adapter else "fine-tuned model"
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(view.status.get("updated", time.time())))
    return (f"✓ The {kind} of **{esc(view.id)}** is saved in the app's data directory ({when}), with a model card. "
            "It is a model reference like any other: open it in Compare next to the base, or evaluate both on the "
            "held-out split.")
