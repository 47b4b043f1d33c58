"""Compare models tab: side-by-side streaming with measured speed and memory, the facts that decide a choice
(with the Chinchilla check), and a blind arena with a Bradley–Terry leaderboard (bootstrap 95 % intervals).

Sub-tabs live in ``build()``; "Compare, part 2" (benchmarks, model internals, next-token view) adds its own
sub-tabs there. Formatting lives in ``tabs.compare.view``.
"""

from __future__ import annotations

import threading

import gradio as gr
import pandas as pd

from engines import arena, prompts, registry, textfiles
from engines import notebooks as nbs
from engines.backends.types import Recipe
from engines.config import Settings
from engines.context import Context, as_context
from engines.errors import InvalidInput
from engines.local_facts import local_facts_row
from engines.quant import QUANTIZATIONS
from tabs.common import (
    CHEAP_EVENT,
    GPU_EVENT,
    NOTEBOOK_LABEL,
    Links,
    ModelBox,
    esc,
    expensive,
    export_folder,
    notebook_file,
    on,
    status_html,
    ui_errors,
    user_of,
    with_settings,
)
from tabs.compare import extra as compare_extra
from tabs.compare import view
from tabs.kit.pickers import model_picker

COLS = arena.MAX_COLUMNS
EXAMPLE_PROMPT = "Explain in three sentences why the sky is blue."


def _messages(system: str | None, prompt: str | None) -> list[dict]:
    messages = [{"role": "system", "content": system.strip()}] if (system or "").strip() else []
    return [*messages, {"role": "user", "content": prompt or ""}]


# ------------------------------------------------------------------------------------------- side by side


def _columns(cols: list[arena.ColumnState]) -> dict:
    out = {}
    for i in range(COLS):
        col = cols[i] if i < len(cols) else None
        out[f"col{i}"] = gr.Column(visible=col is not None)
        out[f"head{i}"] = view.header_html(col) if col else ""
        out[f"text{i}"] = col.text if col else ""
        out[f"metrics{i}"] = view.metrics_html(col) if col else ""
    return out


def _csv(rows: list[dict]) -> str:
    path = export_folder("compare") / "compare-results.csv"
    safe = [{k: textfiles.csv_cell(v) for k, v in row.items()} for row in rows]  # no cell runs as a formula
    pd.DataFrame(safe).to_csv(path, index=False)
    return str(path)


def _recipes(cols: list[arena.ColumnState], messages: list[dict], max_new_tokens: int,
             temperature: float) -> list[tuple[arena.ColumnState, Recipe]]:
    """One recipe per column from what it ran (a column that failed before its stats: the quantization it was fitted
    with): the code box and the column's notebook both come from it."""
    return [(c, nbs.chat_recipe(c.model, messages, max_new_tokens=max_new_tokens, temperature=temperature, text=c.text,
                                quantization=c.stats.quantization if c.stats else (c.fit.quantization if c.fit
                                                                                   else "fp32"), stats=c.stats))
            for c in cols]


def _final(cols: list[arena.ColumnState], messages: list[dict], max_new_tokens: int, temperature: float,
           device: str, sequential: bool = False) -> dict:
    rows = arena.results_rows(cols)
    recipes = _recipes(cols, messages, max_new_tokens, temperature)
    return {"status": view.run_status(cols, True, device, sequential), **_columns(cols),
            "tps": view.chart_frame(cols, "tokens/s", lambda s: s.tokens_per_s),
            "ttft": view.chart_frame(cols, "TTFT (s)", lambda s: s.ttft_s),
            "table": view.results_table(rows, cols), "csv": _csv(rows),
            "code": view.recipes_code(recipes), "notebooks": _notebooks(recipes)}


def _notebooks(recipes: list[tuple[arena.ColumnState, Recipe]]):
    """One notebook per finished column, reproducing its generation."""
    files = [notebook_file("compare", f"column-{c.index + 1}-{view.short_name(c.model)}", r)
             for c, r in recipes if c.stats]
    return [f for f in files if f] or None


@expensive
@ui_errors
def compare_models(models: list[str], system: str | None = None, prompt: str | None = None,
                   max_new_tokens: int = 128, temperature: float = 0.0, quantization: str = "auto",
                   memory_check: bool = True, sequential: bool = False, run: dict | None = None, *, settings=None):
    """Run 1 to 4 models on the same prompt; every column streams, with its measured numbers.

    Args:
        models: model references: catalog ids (e.g. "Qwen/Qwen2.5-0.5B-Instruct"), any Hub id, a local folder where
            allowed, or openai:<name>, hf:<org/name>, ollama:<name>. End one with "@4bit", "@bf16", ... to give
            that column its own quantization (the same model twice at two quantizations shows what 4-bit costs).
        system: the system prompt (empty for none).
        prompt: the user prompt.
        max_new_tokens: upper bound on generated tokens per model.
        temperature: 0 = greedy; above 0 samples.
        quantization: auto | 4bit | 8bit | bf16 | fp16 | fp32, for columns without their own "@" suffix.
        memory_check: refuse, before loading, models whose memory estimate exceeds what is free.
        sequential: run the columns one at a time (each alone on the CPU/GPU: speeds that compare fairly) instead
            of all at once (they share the hardware, so each one's speed is lowered by the others).
        run: the session's run holder (server side): Stop sets the stop flag this run puts there.

    Returns:
        The status line; per column its visibility, header, text and metrics; a tokens/s chart, a TTFT chart, the
        results table, its CSV file and code reproducing each column.
    """
    entries = arena.parse_entries(models, quantization)
    messages = _messages(system, prompt)
    max_new_tokens, temperature, sequential = int(max_new_tokens), float(temperature), bool(sequential)
    stop = threading.Event()
    if isinstance(run, dict):
        run["stop"] = stop
    device = (settings := settings or Settings.from_env()).device_name
    final: list[arena.ColumnState] = []
    for cols in arena.stream_compare(entries, messages, max_new_tokens=max_new_tokens, temperature=temperature,
                                     memory_check=bool(memory_check), stop=stop, sequential=sequential,
                                     settings=settings):
        final = cols
        yield {"status": view.run_status(cols, False, device, sequential), **_columns(cols)}
    yield _final(final, messages, max_new_tokens, temperature, device, sequential)


def quantization_duel(model: str, first: str, second: str) -> dict:
    """The model list for "same model, two quantizations"."""
    model = (model or "").strip()
    if not model:
        raise gr.Error("Choose a model first.")
    if first == second:
        raise gr.Error("Choose two different quantizations.")
    return {"models": [f"{model}@{first}", f"{model}@{second}"]}


def stop_run(run: dict | None) -> None:
    """Stop the session's running comparison: every column stops at its next token (a load under way finishes)."""
    stop = (run or {}).get("stop")
    if stop is not None:
        stop.set()


# ---------------------------------------------------------------------------------------------------- facts

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


# ---------------------------------------------------------------------------------------------------- arena

VOTE_LABELS = {"A is better": "a", "B is better": "b", "Tie": "tie", "Both bad": "both_bad"}


def _vote_buttons(enabled: bool) -> dict:
    return {f"vote{i}": gr.Button(interactive=enabled) for i in range(len(VOTE_LABELS))}


def _arena_text(col: arena.ColumnState) -> str:
    if col.error:
        return f"⚠ {col.error_title or 'Error'}: {col.error}"
    return col.text


@expensive
@ui_errors
def arena_battle(pool: list[str], prompt: str | None = None, max_new_tokens: int = 128,
                 request: gr.Request | None = None):
    """Blind arena: two models drawn from the pool answer the same prompt anonymously, streaming side by side.

    Args:
        pool: the models the pair is drawn from (at least two model references).
        prompt: the user prompt both models answer.
        max_new_tokens: upper bound on generated tokens per model.

    Returns:
        The status line, answer A, answer B, the vote reveal (cleared), the four vote buttons and the match id to
        vote with (arena_vote); the names stay on the server until the vote.
    """
    a, b = arena.pick_pair(pool or [])
    messages = _messages(prompts.DEFAULT_SYSTEM, prompt)
    cols: list[arena.ColumnState] = []
    waiting = status_html("running", "Two anonymous models are answering… vote when both are done.")
    for cols in arena.stream_compare([arena.Entry(a), arena.Entry(b)], messages, max_new_tokens=int(max_new_tokens)):
        yield {"status": waiting, "a": _arena_text(cols[0]), "b": _arena_text(cols[1]), **_vote_buttons(False),
               "match_id": ""}  # a new battle ends the old match: it can't be voted on from here any more
    ok = all(c.status == "done" for c in cols)
    match_id = (arena.ArenaStore().open_match(a, b, [arena.results_rows([c])[0] for c in cols], owner=user_of(request))
                if ok else "")
    status = (status_html("done", "Both answered. Which is better? Vote to reveal the names.") if ok else
              status_html("failed", "A model failed, so this match can't be voted on (names stay hidden). Start a "
                                    "new one."))
    yield {"status": status, "a": _arena_text(cols[0]), "b": _arena_text(cols[1]), **_vote_buttons(ok),
           "match_id": match_id}


@ui_errors
def arena_vote(choice: str | None = None, match_id: str | None = None, request: gr.Request | None = None):
    """Vote on an arena match, then reveal which model was A and which was B.

    Args:
        choice: "a", "b", "tie" or "both_bad" (or a vote button's label).
        match_id: the match id arena_battle returned (one vote per match, within a day).

    Returns:
        The reveal text, the updated leaderboard, its caption and the four vote buttons.
    """
    outcome = VOTE_LABELS.get(choice, (choice or "").strip().lower())
    if outcome not in VOTE_LABELS.values():
        raise InvalidInput(f"Vote with one of: {', '.join(VOTE_LABELS.values())}.")
    store = arena.ArenaStore()
    match = store.get_match((match_id or "").strip()) if match_id else None
    # a match belongs to whoever asked for it (with logins on, another user can't vote on it even with its id)
    if match is None or match.get("owner") != user_of(request):
        raise InvalidInput("There is no match to vote on with this match id: ask two anonymous models first "
                           "(arena_battle returns the match id), and vote within a day.")
    # one vote per match is enforced by the database (two simultaneous clicks both pass the check above)
    vote_id = store.record_vote(match["a"], match["b"], outcome, match_id=match["id"])
    said = {"a": "A is better", "b": "B is better", "tie": "a tie", "both_bad": "both bad"}[outcome]
    lines = [f"**Vote #{vote_id} saved** ({said})."]
    for side, stats in zip(("A", "B"), match["stats"], strict=True):
        model = match[side.lower()]
        lines.append(f"- **{side}** was <b title='{esc(view.name_title(model))}'>{esc(view.short_name(model))}</b> "
                     f"(`{esc(view.model_names(model)[0])}`): "
                     f"{stats['tokens']} tokens, {stats['tokens_per_s']} tokens/s, TTFT {stats['ttft_s']} s, "
                     f"{stats['device']} {stats['quantization']}")
    return {"reveal": "\n".join(lines), **arena_leaderboard(), **_vote_buttons(False)}


@ui_errors
def arena_leaderboard():
    """The arena leaderboard from every stored vote: Bradley–Terry ratings with bootstrap 95% confidence intervals.

    Returns:
        The leaderboard table (rank, model, rating, 95% CI, votes, wins, losses, ties, both bad, note) and a
        caption (how many votes, how the ratings are computed).
    """
    store = arena.ArenaStore()
    votes = store.votes()
    rows = [view.arena_row(i + 1, r) for i, r in enumerate(arena.leaderboard(votes))]
    return {"board": pd.DataFrame(rows, columns=view.LEADER_COLUMNS),
            "caption": view.arena_caption(store.describe(len(votes)))}


# ---------------------------------------------------------------------------------------------------- layout


def _side_by_side(defaults: list[str], settings: Settings | None = None) -> ModelBox:
    with gr.Tab("Side by side", id="compare-side"):
        with gr.Row():
            models = model_picker("chat", defaults, multiselect=True, max_choices=COLS,
                              label=f"Models (1–{COLS}; type any Hub id, a local folder, openai:<name>, "
                                    "hf:<org/name>, ollama:<name>; add @4bit to one to set its quantization)",
                              elem_id="cmp-models", scale=4)
            quant = gr.Dropdown(list(QUANTIZATIONS), value="auto", label="Quantization", elem_id="cmp-quant",
                                scale=1, min_width=120)
        with gr.Accordion("Same model, two quantizations (what does 4-bit cost?)", open=False):
            with gr.Row():
                duel_model = model_picker("chat", defaults[0] if defaults else None, label="Model", scale=3)
                duel_a = gr.Dropdown(list(QUANTIZATIONS[1:]), value="4bit", label="First", scale=1, min_width=100)
                duel_b = gr.Dropdown(list(QUANTIZATIONS[1:]), value="bf16", label="Second", scale=1, min_width=100)
                duel_go = gr.Button("Use as the two columns", scale=1)
        system = gr.Textbox(prompts.DEFAULT_SYSTEM, label="System prompt", lines=1, max_length=100_000,
                            elem_id="cmp-system")
        prompt = gr.Textbox(EXAMPLE_PROMPT, label="Prompt", lines=3, max_length=200_000, elem_id="cmp-prompt")
        with gr.Row():
            max_tokens = gr.Slider(1, 2048, value=128, step=1, label="Max new tokens", elem_id="cmp-max")
            temperature = gr.Slider(0.0, 2.0, value=0.0, step=0.05, label="Temperature (0 = greedy)")
            memory_check = gr.Checkbox(True, label="Refuse models that don't fit in memory (checked before loading)")
            sequential = gr.Checkbox(False, label="Run columns one at a time (fair speed numbers)",
                                     info="Off: columns run at the same time and share the CPU/GPU, so each one's "
                                          "tokens/s and TTFT are lowered by the others and no fastest is named.",
                                     elem_id="cmp-sequential")
        with gr.Row():
            run = gr.Button("Run side by side", variant="primary", elem_id="cmp-run")
            stop = gr.Button("Stop", variant="stop", elem_id="cmp-stop")
        out = {"status": gr.HTML(elem_id="cmp-status")}
        with gr.Row(equal_height=False):
            for i in range(COLS):
                with gr.Column(visible=i < max(2, len(defaults)), min_width=220) as out[f"col{i}"]:
                    out[f"head{i}"] = gr.HTML(elem_id=f"cmp-head-{i}")
                    out[f"text{i}"] = gr.Textbox(label="Output", lines=10, max_lines=24, interactive=False,
                                                 elem_id=f"cmp-out-{i}")
                    out[f"metrics{i}"] = gr.HTML(elem_id=f"cmp-metrics-{i}")
        with gr.Row():
            out["tps"] = gr.BarPlot(pd.DataFrame({"model": [], "tokens/s": []}), x="model", y="tokens/s",
                                    title="Tokens per second (higher is better)", y_lim=[0, None], x_label_angle=-30,
                                    elem_id="cmp-tps")
            out["ttft"] = gr.BarPlot(pd.DataFrame({"model": [], "TTFT (s)": []}), x="model", y="TTFT (s)",
                                     title="Time to first token (lower is better)", y_lim=[0, None],
                                     x_label_angle=-30, elem_id="cmp-ttft")
        with gr.Row():
            out["table"] = gr.Dataframe(pd.DataFrame(columns=list(view.RESULT_COLUMNS.values())), label="Results",
                                        interactive=False, wrap=False, pinned_columns=1, elem_id="cmp-table", scale=5)
            out["csv"] = gr.File(label="All results (CSV)", elem_id="cmp-csv", scale=1, min_width=160)
        with gr.Accordion("Show code and notebooks (plain transformers / openai)", open=False):
            out["code"] = gr.Code(language="python", label="Reproduce each column", elem_id="cmp-code")
            out["notebooks"] = gr.File(label=NOTEBOOK_LABEL, file_count="multiple", interactive=False,
                                       elem_id="cmp-notebooks")
        holder = gr.State({})  # per session: this run's stop flag (never sent to clients)
        inputs = [models, system, prompt, max_tokens, temperature, quant, memory_check, sequential, holder]
        clear = tuple(k for k in out if k != "status" and not k.startswith("col"))
        run_state = {"status": "status", "clear": clear, "running": "Starting the models…", **GPU_EVENT}
        on(run.click, handler := with_settings(compare_models, settings), inputs, out, api_name="compare", **run_state)
        on(prompt.submit, handler, inputs, out, api_name=False, **run_state)
        # Stop sets the run's flag instead of cancelling the event: the run then ends normally, with the partial
        # texts, metrics and table (Gradio's cancel of a generator mid-step can surface as a bare "Error")
        on(stop.click, stop_run, holder, None, api_name=False, queue=False)
        on(duel_go.click, quantization_duel, [duel_model, duel_a, duel_b], {"models": models}, api_name=False)
    return models


def _facts(models: ModelBox) -> None:
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


def _arena(defaults: list[str]) -> None:
    with gr.Tab("Blind arena", id="compare-arena") as tab:
        gr.Markdown("Two models drawn from the pool answer the same prompt **anonymously**. Vote for the better "
                    "answer; the names are revealed after the vote. Votes are kept (one per match) and feed the "
                    f"leaderboard ({arena.METHOD}).")
        with gr.Row():
            pool = model_picker("chat", defaults, multiselect=True, label="Pool (at least two models)",
                            elem_id="arena-pool", scale=3)
            max_tokens = gr.Slider(1, 1024, value=128, step=1, label="Max new tokens", scale=1)
        prompt = gr.Textbox(EXAMPLE_PROMPT, label="Prompt", lines=2, max_length=200_000, elem_id="arena-prompt")
        go = gr.Button("Ask two anonymous models", variant="primary", elem_id="arena-go")
        # the match waiting for its vote: only its id reaches the browser; the names stay on the server
        match = gr.Textbox(visible=False, elem_id="arena-match")
        battle = {"status": gr.HTML(elem_id="arena-status")}
        with gr.Row():
            battle["a"] = gr.Textbox(label="Model A", lines=8, max_lines=20, interactive=False, elem_id="arena-a")
            battle["b"] = gr.Textbox(label="Model B", lines=8, max_lines=20, interactive=False, elem_id="arena-b")
        with gr.Row():
            buttons = [gr.Button(label, interactive=False, elem_id=f"arena-vote-{key}")
                       for label, key in VOTE_LABELS.items()]
        voted = {f"vote{i}": b for i, b in enumerate(buttons)}
        voted["reveal"] = battle["reveal"] = gr.Markdown(elem_id="arena-reveal")
        battle.update({k: v for k, v in voted.items() if k.startswith("vote")})
        battle["match_id"] = match  # last: the API's outputs keep their order (status, A, B, reveal, match id)
        gr.Markdown("### Leaderboard")
        board = {"board": gr.Dataframe(pd.DataFrame(columns=view.LEADER_COLUMNS), interactive=False, wrap=False,
                                       label=f"Leaderboard ({arena.METHOD})", elem_id="arena-board"),
                 "caption": gr.Markdown()}
        refresh = gr.Button("Refresh leaderboard", size="sm")
        on(go.click, arena_battle, [pool, prompt, max_tokens], battle, api_name="arena_battle",
           status="status", clear=("a", "b", "reveal"), running="Drawing two models…", **GPU_EVENT)
        for button in buttons:
            on(button.click, arena_vote, [button, match], {**voted, **board}, api_name=False)
        # the API / MCP tool: explicit inputs (a button's label is no API parameter)
        choice = gr.Radio(list(VOTE_LABELS.values()), visible=False, label="Vote")
        on(gr.Button(visible=False).click, arena_vote, [choice, match], {**voted, **board}, api_name="arena_vote")
        on(refresh.click, arena_leaderboard, None, board, api_name="arena_leaderboard")
        on(tab.select, arena_leaderboard, None, board, api_name=False)


def build(ctx: Context | Settings | None = None, links: Links | None = None) -> None:
    """Render the Compare tab inside the current Blocks.

    Args:
        ctx: the app's context (``engines.context``), or bare settings.
        links: cross-tab targets; this tab receives model lists as "compare.models".
    """
    settings = as_context(ctx).settings
    defaults = arena.default_models(settings)
    with gr.Tab("Compare models", id="compare"):
        gr.Markdown("Pick an LLM the way an engineer should: run candidates **side by side** on your prompt "
                    "(speed, memory, quantization, device, all measured), check **the facts that decide** "
                    "(license, context, training data, price, memory), and judge quality **blind**.")
        with gr.Tabs(elem_id="compare-subtabs"):
            models = _side_by_side(defaults, settings)
            _facts(models)
            _arena(defaults)
            compare_extra.build_panels(settings, links)
    if links is not None:
        links.register("compare.models", "compare", models)
