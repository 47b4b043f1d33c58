"""Compare → The facts that decide: the facts table per model (each with its source) and the Chinchilla
calculator."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from engines import registry
from engines.errors import InvalidInput
from engines.local_facts import local_facts_row
from tabs.common import CHEAP_EVENT, ModelBox, on, ui_errors
from tabs.compare import view

FACT_COLUMNS = ["model", "weights", "release", "knowledge cutoff", "params (B)", "active params (B)",
                "training tokens (T)", "tokens/param", "× Chinchilla", "context", "license", "gated", "$/1M in",
                "$/1M out", "memory 4-bit (GB)", "memory bf16 (GB)", "architecture", "dtype", "source"]


def _link(url: str | None, text: str) -> str:
    return f"[{text}]({url})" if url else ""


def _fact_rows(ids: list[str]) -> list[dict]:
    rows = []
    for model_id in ids:
        spec = registry.get(model_id.partition("@")[0].strip())
        if spec is None:  # a local folder or a downloaded Hub id tells its own facts (config.json, weights)
            local = local_facts_row(model_id.partition("@")[0].strip())
            rows.append(local or {"model": view.short_name(model_id), "weights": "not in the catalog: facts unknown"})
            continue
        row = registry.facts_row(spec)
        row["model"] = f"{spec.label} ({spec.id})"
        row["gated"] = "yes" if spec.gated else "no"
        links = [_link(spec.source, "card"), _link(spec.price_source, "pricing")]
        row["source"] = " · ".join(x for x in links if x)
        rows.append(row)
    return rows


@ui_errors
def model_facts(models: list[str], scope: str = "all"):
    """The facts that decide a choice, per model, each with its source link; and the Chinchilla check.

    Args:
        models: the models chosen for side by side (used when scope is "chosen").
        scope: "chosen" for those models only, "all" for every chat and code model in the catalog.

    Returns:
        The facts table and a chart of training tokens per parameter (Chinchilla-optimal is about 20).
    """
    if str(scope).lower().startswith("chosen"):
        ids = [m for m in (models or []) if m and m.strip()]
        if not ids:
            raise InvalidInput("No model is chosen in Side by side: pick some, or show the whole catalog.")
    else:
        ids = [s.id for s in registry.all_specs() if s.kind in ("chat", "code")]
    table = pd.DataFrame(_fact_rows(list(dict.fromkeys(ids))), columns=FACT_COLUMNS)
    chart = table.dropna(subset=["tokens/param"])[["model", "tokens/param"]]
    chart = chart.assign(model=[m.split(" (")[0] for m in chart["model"]])
    return {"table": table, "chart": chart}


@ui_errors
def chinchilla_calc(params_b: float | None, tokens_t: float | None, flops: float | None) -> str:
    """Training compute arithmetic: C ≈ 6·N·D FLOPs, tokens per parameter, and the Chinchilla-optimal split.

    Args:
        params_b: N, parameters in billions (0 or empty = solve for it).
        tokens_t: D, training tokens in trillions (0 or empty = solve for it).
        flops: C, training compute in FLOPs, e.g. 1e24 (0 or empty = solve for it).

    Returns:
        A Markdown summary of N, D, C, D/N and the compute-optimal N and D for the same compute.
    """
    try:
        r = registry.chinchilla(params=(params_b or 0) * 1e9, tokens=(tokens_t or 0) * 1e12, flops=flops or 0)
    except ValueError as exc:
        text = str(exc) if "positive" not in str(exc) else "give at least one positive number: parameters, " \
            "training tokens or FLOPs"
        raise InvalidInput(text[0].upper() + text[1:] + ".") from None
    n = view.number
    ratio = r.tokens_per_param / registry.CHINCHILLA_TOKENS_PER_PARAM
    verdict = ("about compute-optimal" if 0.7 <= ratio <= 1.5 else
               f"over-trained ×{n(ratio, '.1f')} (cheaper to serve, more training compute than optimal)" if ratio > 1
               else f"under-trained (×{n(ratio, '.2f')}: more tokens would help more than more parameters)")
    return {"result": f"| | value |\n|---|---|\n| parameters N | {n(r.params / 1e9)} B |\n"
            f"| training tokens D | {n(r.tokens / 1e12)} T |\n| compute C = 6·N·D | {n(r.flops, '.3g')} FLOPs |\n"
            f"| tokens per parameter D/N | {n(r.tokens_per_param, ',.1f')} (rule of thumb ≈ 20: {verdict}) |\n"
            f"| rule of thumb (20 tokens/param): D for this N | {n(r.optimal_tokens_for_params / 1e12)} T |\n"
            f"| rule of thumb: N, D for this C | {n(r.optimal_params_for_flops / 1e9)} B params, "
            f"{n(r.optimal_tokens_for_flops / 1e12)} T tokens |\n"
            f"| the paper's estimate (fit to its Table 3): N, D for this C | {n(r.paper_params_for_flops / 1e9)} B "
            f"params, {n(r.paper_tokens_for_flops / 1e12)} T tokens |\n"
            f"| the paper's fitted loss L(N, D) (Approach 3) | {n(r.predicted_loss, '.3f')} nats/token |\n\n"
            "The rule of thumb is the paper's result rounded to a constant ratio; its own estimate grows slowly with "
            f"compute (N ∝ C^{registry.CHINCHILLA_A:.3f}). Source: Hoffmann et al. 2022, "
            f"[Training Compute-Optimal LLMs]({registry.CHINCHILLA_SOURCE})."}



def facts_panel(models: ModelBox) -> None:
    with gr.Tab("The facts that decide", id="compare-facts"):
        gr.Markdown(
            "How to compare LLMs before running them: **open or closed** weights (can you self-host, fine-tune, "
            "inspect?), **release date and knowledge cutoff** (what it can know), **parameters** (quality and "
            "memory), **training tokens** (more tokens per parameter than the Chinchilla-optimal ~20 buys a "
            "smaller, cheaper-to-serve model), **context length**, **license** and **gating**, **price** per 1M "
            "tokens for APIs, and the **memory** it needs at each precision. Every fact links its source; blanks "
            "are unpublished, never guessed.")
        scope = gr.Radio([("all chat & code models", "all"), ("the models chosen in Side by side", "chosen")],
                         value="all", label="Show", elem_id="facts-scope")
        initial = model_facts([], "all")
        types = ["markdown" if c in ("model", "source") else "str" for c in FACT_COLUMNS]
        widths = [240 if c == "model" else 130 if c in ("source", "license") else 96 for c in FACT_COLUMNS]
        facts = {"table": gr.Dataframe(initial["table"], datatype=types, interactive=False, wrap=True,
                                       column_widths=widths, pinned_columns=1, label="Facts", elem_id="facts-table",
                                       max_height=520),
                 "chart": gr.BarPlot(initial["chart"], x="model", y="tokens/param", y_lim=[0, None],
                                     x_label_angle=-40, height=380, elem_id="facts-chart",
                                     title="Training tokens per parameter (Chinchilla-optimal ≈ 20)")}
        on(scope.change, model_facts, [models, scope], facts, api_name="model_facts", **CHEAP_EVENT)
        gr.Markdown("### Chinchilla calculator\nGive any one or two of N, D, C; the rest follows from C ≈ 6·N·D.")
        with gr.Row():
            params_b = gr.Number(8.0, label="Parameters N (billions)", minimum=0, elem_id="chin-n")
            tokens_t = gr.Number(15.0, label="Training tokens D (trillions)", minimum=0, elem_id="chin-d")
            flops = gr.Number(0, label="Compute C (FLOPs, e.g. 1e24)", minimum=0, elem_id="chin-c")
            calc = gr.Button("Calculate", elem_id="chin-go")
        on(calc.click, chinchilla_calc, [params_b, tokens_t, flops], {"result": gr.Markdown(elem_id="chin-out")},
           api_name="chinchilla", **CHEAP_EVENT)

