"""Compare models, part 2: benchmarks and leaderboards, model internals, and the next-token view.

``build_panels()`` renders three sub-tabs inside the current ``gr.Tabs`` (the Compare tab calls it). Adapters only:
the engines are ``engines.benchmarks``, ``engines.internals`` and ``engines.next_token.next_token_table``.
"""

from __future__ import annotations

import math
import secrets

import gradio as gr
import pandas as pd

from engines import backends, benchmarks, registry
from engines import internals as inner
from engines import notebooks as nbs
from engines.config import Settings
from engines.errors import InvalidInput
from engines.next_token import NEXT_TOKEN_MAX_STEPS, NEXT_TOKEN_MAX_TOP_K, TokenStep, next_token_table
from engines.quant import QUANTIZATIONS
from tabs.charts import grouped_bars
from tabs.common import (
    GPU_EVENT,
    NOTEBOOK_LABEL,
    Later,
    Links,
    esc,
    expensive,
    notebook_file,
    on,
    status_html,
    ui_errors,
    visible_ws,
    with_settings,
)
from tabs.kit.pickers import model_picker
from tabs.numbers import number

_LABELS = {s.id: s.label for s in registry.all_specs()}
CODE_AND_CHAT = ("chat", "code")
# next tokens need log-probabilities: the local models, and the API chat models whose backend returns them
NEXT = {"where": lambda s: s.local or (s.kind == "chat" and backends.capabilities(s.id).next_token),
        "local_first": True}
SOURCE_CHOICES = [("Config only — meta device, nothing downloaded but config.json", "config"),
                  ("Load the weights — real tensors (uses memory)", "weights")]
EXAMPLE_PROMPT = "The capital of France is"
FORMAT_CHOICES = [("Raw text — continue it as written", "raw"), ("Chat template — as the chat sends it", "chat")]


def _label(model: str) -> str:
    return _LABELS.get(model) or model.rstrip("/").rsplit("/", 1)[-1]


def _gb(n: int | None) -> str:
    if not n or number(n) == "—":
        return "—"
    if n >= 2**30:
        return number(n / 2**30, ".2f", " GB")
    return number(n / 2**20, ".2f", " MB") if n >= 2**20 else number(n / 2**10, ".1f", " KB")


def _count(n: int) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return number(n / size, ".2f", unit)
    return number(n, "g")


def _selection(models) -> list[str]:
    if isinstance(models, str):
        models = [models]
    return [m for m in (models or []) if m and m.strip()]


# ------------------------------------------------------------------------------------ benchmarks


@ui_errors
def benchmark_scores(models: list[str]):
    """Published benchmark scores of catalog models, each with its source link and date (blank = unpublished).

    Args:
        models: catalog ids, e.g. ["meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen2-7B-Instruct"].

    Returns:
        The status line, the score table (one row per model, one column per benchmark), the sources (one row per
        score: setting, link, date), and the chart (grouped by benchmark, coloured by model).
    """
    chosen = _selection(models)
    columns, rows = benchmarks.score_matrix(chosen)
    wide = pd.DataFrame(rows, columns=columns)
    scored = [c for c in columns[1:] if wide[c].notna().any()]
    wide = wide[["model", *scored]] if scored else wide[["model"]]
    scores = benchmarks.scores_for(chosen)
    sources = pd.DataFrame([{"model": _label(s.model), "benchmark": benchmarks.BENCHMARKS[s.benchmark].name,
                             "score": s.value, "setting": s.setting, "date": s.date, "source": s.source}
                            for s in scores], columns=["model", "benchmark", "score", "setting", "date", "source"])
    groups: dict[str, dict[str, float]] = {}
    for sc in scores:
        if benchmarks.BENCHMARKS[sc.benchmark].unit == "%":
            groups.setdefault(benchmarks.BENCHMARKS[sc.benchmark].name, {})[_label(sc.model)] = sc.value
    chart = grouped_bars(groups, unit="%", maximum=100, title="Published scores (%)")
    if not scores:
        status = status_html("warning", "No published scores on file for these models: the table stays blank "
                                        "rather than guess.")
    else:
        status = status_html("done", f"{len(scores)} published score(s) for {len(chosen)} model(s).")
    return {"status": status, "table": wide, "sources": sources, "chart": chart}


def _glossary_markdown() -> str:
    limits = "\n".join(f"- **{name}.** {text}" for name, text in benchmarks.LIMITS)
    boards = "\n".join(f"- [{b.name}]({b.url}) — {b.ranks}" for b in benchmarks.LEADERBOARDS)
    return f"### Limits of benchmarks\n{limits}\n\n### Leaderboards\n{boards}"


def _benchmarks_panel() -> None:
    with gr.Tab("Benchmarks & leaderboards", id="compare-bench"):
        gr.Markdown("What the common benchmarks measure, how, and what they can't tell you; then the scores the "
                    "model cards publish for the models you choose (each with its link and date). A blank cell means "
                    "unpublished, never zero. Settings (shots, chain of thought, harness) differ between sources.")
        with gr.Accordion("Glossary: 16 benchmarks in one table", open=False):
            gr.Dataframe(pd.DataFrame(benchmarks.glossary_rows()), interactive=False, wrap=True,
                         elem_id="bench-glossary", max_height=480, column_widths=["9%", "25%", "9%", "14%", "30%",
                                                                                   "13%"])
        defaults = [m for m in benchmarks.models_with_scores() if benchmarks.scored_id(m) == m]  # no served twins
        with gr.Row():
            models = model_picker(CODE_AND_CHAT, defaults, multiselect=True, label="Models",
                                 elem_id="bench-models", scale=4)
            go = gr.Button("Show published scores", variant="primary", elem_id="bench-go", scale=1)
        out = {"status": gr.HTML(elem_id="bench-status"),
               "table": gr.Dataframe(pd.DataFrame(columns=["model"]), label="Scores (click a header to sort)",
                                     interactive=False, wrap=False, pinned_columns=1, elem_id="bench-table"),
               "chart": gr.HTML(elem_id="bench-chart")}
        with gr.Accordion("Sources: setting, date and link of every score", open=False):
            out["sources"] = gr.Dataframe(pd.DataFrame(columns=["model", "benchmark", "score", "setting", "date",
                                                                "source"]),
                                          interactive=False, wrap=True, elem_id="bench-sources")
        gr.Markdown(_glossary_markdown(), elem_id="bench-notes")
        on(go.click, benchmark_scores, [models], out, api_name="benchmark_scores", status="status",
           clear=("table", "chart", "sources"), running="Looking up published scores…")


# ------------------------------------------------------------------------------------ internals


def _summary(r: inner.ModelInternals) -> str:
    where = ("built on the **meta device** from `config.json` alone: no weight was downloaded or allocated"
             if not r.loaded_weights else f"weights loaded on **{r.device}**")
    notice = f"\n\n> {esc(r.notice)}" if r.notice else ""
    return (f"**{esc(r.model)}** · `{r.architecture}` · **{r.total_params:,}** parameters ({_count(r.total_params)}) "
            f"· weights **{_gb(r.memory_bytes)}** at **{r.quantization}** · {where} · {r.seconds:.2f} s"
            f"\n\nAt other precisions: " + " · ".join(f"{q} {_gb(b)}" for q, b in r.memory_at.items())
            + " (Linear layers quantized; embeddings, norms and the LM head stay in bf16)." + notice)


def _layers_frame(r: inner.ModelInternals) -> pd.DataFrame:
    return pd.DataFrame([{"module": row.name, "class": row.module, "type": row.kind, "params": row.params,
                          "shape": row.shape, "dtype": row.dtype, "quantization": row.quantization,
                          "bytes": row.bytes, "tied to": row.tied_to or ""} for row in r.layers])


@expensive
@ui_errors
def model_internals(model: str, source: str = "config", quantization: str = "auto", *,
                    settings: Settings | None = None):
    """Module tree, parameters by layer type, dtype and quantization per layer, memory and config facts of a model.

    Args:
        model: Hub id (only config.json is read with source "config") or a local folder.
        source: "config" (meta device: no weights downloaded or allocated) or "weights" (load the model).
        quantization: auto | 4bit | 8bit | bf16 | fp16 | fp32; with "config" a preview of how it would load.

    Returns:
        The status line, a summary, parameters by type (table and chart), config facts, per-layer table, module
        tree, code.
    """
    if not (model or "").strip():
        raise InvalidInput("Choose a model: a catalog id, any Hub id, or a local folder.")
    r = inner.inspect_model(model.strip(), source=source or "config", quantization=quantization or "auto",
                            settings=settings)
    kinds = pd.DataFrame([{"layer type": k, "params": n, "share": f"{100 * n / max(1, r.total_params):.1f}%"}
                          for k, n in r.by_kind.items() if n], columns=["layer type", "params", "share"])
    facts = pd.DataFrame([{"fact": k, "value": str(v)} for k, v in r.config], columns=["fact", "value"])
    return {"status": status_html("warning" if r.notice else "done", f"Inspected in {r.seconds:.2f} s."),
            "summary": _summary(r), "kinds": kinds, "chart": kinds[["layer type", "params"]], "facts": facts,
            "layers": _layers_frame(r), "tree": r.module_tree, "code": inner.code_snippet(model.strip(), r.source)}


def _internals_panel(settings: Settings | None = None) -> None:
    with gr.Tab("Model internals", id="compare-internals"):
        gr.Markdown("Look inside a model: the module tree, where its parameters sit (embeddings, attention, MLP, "
                    "norms, LM head), each layer's dtype and quantization, its memory, and the config facts that "
                    "matter. **Config only** builds the model on the meta device from `config.json`, so even a 70B "
                    "model can be inspected on a laptop; pick 4bit to see which layers bitsandbytes would quantize.")
        with gr.Row():
            model = model_picker(CODE_AND_CHAT, registry.default_for("chat", "cuda"), choices={"remote": False},
                                label="Model (catalog, any Hub id, or a local folder)", elem_id="int-model", scale=3)
            source = gr.Radio(SOURCE_CHOICES, value="config", label="Source", elem_id="int-source", scale=3)
            quant = gr.Dropdown(list(QUANTIZATIONS), value="auto", label="Quantization", elem_id="int-quant", scale=1)
        go = gr.Button("Inspect", variant="primary", elem_id="int-go")
        out = {"status": gr.HTML(elem_id="int-status"), "summary": gr.Markdown(elem_id="int-summary")}
        with gr.Row():
            out["kinds"] = gr.Dataframe(pd.DataFrame(columns=["layer type", "params", "share"]),
                                        label="Parameters by layer type", interactive=False, elem_id="int-kinds",
                                        scale=2)
            out["chart"] = gr.BarPlot(pd.DataFrame({"layer type": [], "params": []}), x="layer type", y="params",
                                      title="Parameters by layer type", elem_id="int-chart", scale=3, height=260,
                                      sort=list(inner.KINDS), x_label_angle=-30)
        out["facts"] = gr.Dataframe(pd.DataFrame(columns=["fact", "value"]), label="Config facts", interactive=False,
                                    elem_id="int-facts", max_height=420)
        out["layers"] = gr.Dataframe(pd.DataFrame(columns=["module", "class", "type", "params", "shape", "dtype",
                                                           "quantization", "bytes", "tied to"]),
                                     label="Every layer: dtype and quantization", interactive=False, wrap=False,
                                     pinned_columns=1, elem_id="int-layers", max_height=420)
        with gr.Accordion("Module tree (print(model))", open=False):
            out["tree"] = gr.Code(language=None, label="Module tree", elem_id="int-tree", max_lines=40)
        with gr.Accordion("Show code (plain transformers)", open=False):
            out["code"] = gr.Code(language="python", label="Reproduce", elem_id="int-code")
        on(go.click, with_settings(model_internals, settings), [model, source, quant], out,
           api_name="model_internals", status="status", clear=tuple(k for k in out if k != "status"),
           running="Building the model…", **GPU_EVENT)


# ------------------------------------------------------------------------------------ next-token view


def _prob_colour(p: float) -> str:
    """Red (unlikely) through amber to green (likely), readable with dark text."""
    return f"hsl({int(120 * max(0.0, min(1.0, p)))}, 75%, 78%)"


def _shown(text: str) -> str:
    return esc(visible_ws(text)) if text else "∅"


def _chip(row: TokenStep) -> str:
    rank = row.rank if row.rank is not None else "beyond the top-k"
    lines = [f"step {row.step} · rank {rank}"] + [
        f"{'▶' if c.token == row.token else '·'} {visible_ws(c.token)}  {100 * c.prob:.2f}%" for c in row.candidates]
    return (f"<span class='nt-chip' title='{esc(chr(10).join(lines))}' style='display:inline-flex;"
            f"flex-direction:column;align-items:center;background:{_prob_colour(row.prob)};color:#111;"
            "border-radius:4px;margin:1px;padding:0 4px;font-family:monospace;line-height:1.2'>"
            f"<span style='white-space:pre'>{_shown(row.token)}</span>"
            f"<small style='opacity:.7'>{100 * row.prob:.1f}%</small></span>")


def _visual(rows: list[TokenStep]) -> str:
    seen = _seen(rows[0]) if rows and rows[0].prompt_text is not None else ""
    legend = ("<div style='font-size:.85em;margin-bottom:.3em'>Each generated token, coloured by the probability "
              "the model gave it: " + "".join(f"<span style='background:{_prob_colour(p)};color:#111;padding:0 6px;"
                                              f"border-radius:3px;margin-left:3px'>{int(p * 100)}%</span>"
                                              for p in (0.05, 0.25, 0.5, 0.75, 1.0))
              + " — hover a token for its top-k candidates.</div>")
    return seen + legend + "<div id='nt-chips' style='line-height:2.2'>" + "".join(_chip(r) for r in rows) + "</div>"


def _row_dict(row: TokenStep, top_k: int) -> dict:
    out = {"step": row.step, "chosen": visible_ws(row.token), "p(chosen)": round(row.prob, 4),
           "rank": row.rank if row.rank is not None else f">{top_k}"}
    for i in range(top_k):
        c = row.candidates[i] if i < len(row.candidates) else None
        out[f"#{i + 1}"] = f"{visible_ws(c.token)} ({100 * c.prob:.1f}%)" if c else ""
    out["top-k mass"] = round(sum(c.prob for c in row.candidates), 4)
    out["entropy (bits)"] = round(row.entropy_bits, 2) if row.entropy_bits is not None else None
    out["ms"] = round(1000 * row.seconds, 1)
    return out


def plural(n: int, word: str) -> str:
    """"1 token", "2 tokens"."""
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def _status(rows: list[TokenStep], done: bool, notice: str | None) -> str:
    if not rows:
        return status_html("running", "Loading the model and reading the prompt…")
    last = rows[-1]
    avg = sum(r.seconds for r in rows) / len(rows)
    mean_p = sum(r.prob for r in rows) / len(rows)
    perplexity = math.exp(-sum(r.logprob for r in rows) / len(rows))
    how = f" ({last.finish_reason})" if done else " so far"
    text = (f"**{plural(len(rows), 'token')}**{how} · {1000 * avg:.0f} ms/token · mean p(chosen) {mean_p:.2f} · "
            f"perplexity of this output {perplexity:.2f} · {last.backend} on {last.device}")
    if notice:
        text += f". Note: {notice}"
    return status_html(("warning" if notice else "done") if done else "running", text)


@expensive
@ui_errors
def next_tokens(model: str, system: str | None = None, prompt: str | None = None, steps: int = 12, top_k: int = 5,
                temperature: float = 0.0, prompt_format: str = "raw", *, settings: Settings | None = None):
    """Generate step by step and show, for each token, the top-k candidates with their probabilities.

    Args:
        model: a local model (catalog id, Hub id or folder) or an openai: model (uses the API's logprobs).
        system: optional system prompt.
        prompt: the user message.
        steps: tokens to generate (1-256).
        top_k: candidates shown per step (1-20).
        temperature: 0 = greedy (argmax); above 0 samples from softmax(logits / temperature).
        prompt_format: "raw" = the model continues the prompt as written (a sentence to complete); "chat" = the
            prompt is wrapped in the model's chat template, as the chat sends it (API models always are).

    Returns:
        Streams the status line, the coloured tokens (HTML, headed by the exact text the model read), the step
        table and a code snippet.
    """
    if not (model or "").strip():
        raise InvalidInput("Choose a model.")
    settings = settings or Settings.from_env()
    messages = ([{"role": "system", "content": system.strip()}] if (system or "").strip() else [])
    messages.append({"role": "user", "content": prompt or ""})
    steps, top_k, fmt = int(steps), int(top_k), (prompt_format or "raw").strip().lower()
    # a sampled run draws with a seed chosen here, so its notebook can make the same draws
    seed = secrets.randbelow(2**31) if float(temperature) > 0 else None
    rows: list[TokenStep] = []
    notice = None
    yield {"status": _status(rows, False, None)}
    for row in next_token_table(model.strip(), messages, steps=steps, top_k=top_k, temperature=float(temperature),
                                seed=seed, prompt_format=fmt, settings=settings):
        rows.append(row)
        notice = notice or row.notice
        # rendered only for the updates that go out (a fast model's steps are coalesced to ~20 updates a second)
        yield {"visual": Later(lambda shown=tuple(rows): _visual(list(shown))),
               "table": Later(lambda shown=tuple(rows): pd.DataFrame([_row_dict(r, top_k) for r in shown])),
               "status": _status(rows, False, notice)}
    if not rows:
        yield {"status": status_html("warning", "The model produced no token.")}
        return
    # the code box and the notebook: one recipe, from what the run used (its quantization, the prompt format read)
    recipe = nbs.next_token_recipe(model.strip(), messages, rows, steps=steps, top_k=top_k,
                                   temperature=float(temperature), seed=seed,
                                   quantization=_ran_quantization(model.strip(), settings),
                                   prompt_format=rows[0].prompt_format)
    yield {"visual": _visual(rows), "table": pd.DataFrame([_row_dict(r, top_k) for r in rows]),
           "status": _status(rows, True, notice), "code": recipe.code,
           "notebook": notebook_file("next-token", "next-token-view", recipe)}


def _seen(row: TokenStep) -> str:
    """The exact text the model read, special tokens included (an API model: the messages it was sent), as HTML."""
    how = "raw text, no chat template" if row.prompt_format == "raw" else "wrapped in the chat template"
    count = f", {plural(row.prompt_tokens, 'token')}" if row.prompt_tokens else ""
    return (f"<details open id='nt-seen' style='margin-bottom:.4em'><summary style='font-size:.85em'>The exact text "
            f"the model read ({how}{count})</summary><pre style='white-space:pre-wrap;word-break:break-word;"
            f"font-size:.85em;background:#8881;border-radius:6px;padding:4px 8px;margin:2px 0'>"
            f"{esc(row.prompt_text or '')}</pre></details>")


def _ran_quantization(model: str, settings: Settings | None = None) -> str:
    """The quantization a local model ran with here (what the notebook loads it at)."""
    from engines.quant import resolve_quantization

    if ":" in model.split("/")[0]:
        return "n/a"  # an API model
    spec = registry.get(model)
    return resolve_quantization("auto", (settings or Settings.from_env()).device, spec.params_b if spec else None)[0]


def _default_next_model(settings: Settings | None = None) -> str:
    return registry.default_for("chat", (settings or Settings.from_env()).device)


def _next_token_panel(settings: Settings | None = None) -> None:
    with gr.Tab("Next-token view", id="compare-nexttoken"):
        gr.Markdown("What the model is thinking: at each step the model scores every token in its vocabulary; the "
                    "softmax of those scores (divided by the temperature) is a probability distribution. See the "
                    "top-k candidates, the one chosen, and how sure the model was. At temperature 0 the most likely "
                    "token is always chosen — with the chat template, exactly what the chat generates. API models "
                    "show the server's `logprobs` where it returns them.")
        with gr.Row():
            model = model_picker(CODE_AND_CHAT, _default_next_model(settings), choices=NEXT,
                                label="Model", elem_id="nt-model", scale=3)
            steps = gr.Slider(1, NEXT_TOKEN_MAX_STEPS, value=12, step=1, label="Steps", elem_id="nt-steps", scale=1)
            top_k = gr.Slider(1, NEXT_TOKEN_MAX_TOP_K, value=5, step=1, label="Top-k", elem_id="nt-topk", scale=1)
            temperature = gr.Slider(0, 2, value=0, step=0.05, label="Temperature", elem_id="nt-temp", scale=1)
        fmt = gr.Radio(FORMAT_CHOICES, value="raw", label="Prompt format", elem_id="nt-format",
                       info="Raw text: the model continues your words (a sentence to complete). Chat template: your "
                            "words become a user turn and the model answers as in the chat (what an instruct model "
                            "expects). The text the model really read is shown below.")
        system = gr.Textbox("", label="System prompt (optional)", lines=1, max_length=100_000, elem_id="nt-system")
        prompt = gr.Textbox(EXAMPLE_PROMPT, label="Prompt", lines=2, max_length=200_000, elem_id="nt-prompt")
        with gr.Row():
            go = gr.Button("Generate step by step", variant="primary", elem_id="nt-go")
            stop = gr.Button("Stop", variant="stop", elem_id="nt-stop")
        out = {"status": gr.HTML(elem_id="nt-status"), "visual": gr.HTML(elem_id="nt-visual"),
               "table": gr.Dataframe(pd.DataFrame(columns=["step", "chosen", "p(chosen)", "rank"]),
                                     label="Step by step (top-k candidates with probabilities)", interactive=False,
                                     wrap=False, pinned_columns=2, elem_id="nt-table", max_height=480)}
        with gr.Accordion("Show code and notebook (plain transformers / openai)", open=False):
            out["code"] = gr.Code(language="python", label="Reproduce", elem_id="nt-code")
            out["notebook"] = gr.File(label=NOTEBOOK_LABEL, interactive=False, elem_id="nt-notebook")
        inputs = [model, system, prompt, steps, top_k, temperature, fmt]
        event = on(go.click, with_settings(next_tokens, settings), inputs, out, api_name="next_tokens",
                   status="status", clear=("visual", "table", "code", "notebook"),
                   running="Loading the model and reading the prompt…", **GPU_EVENT)
        on(stop.click, None, None, None, cancels=[event], api_name=False)


def build_panels(settings: Settings | None = None, links: Links | None = None) -> None:
    """Render the three part-2 panels as sub-tabs inside the current ``gr.Tabs`` (the Compare tab's).

    Args:
        settings: deployment settings (read once by the app).
        links: cross-tab targets (none here yet).
    """
    _benchmarks_panel()
    _internals_panel(settings)
    _next_token_panel(settings)
