"""Compare models tab: side-by-side streaming with measured speed and memory, the facts that decide a choice
(with the Chinchilla check), and a blind arena with a Bradley–Terry leaderboard (bootstrap 95 % intervals).

Sub-tabs live in ``build()``; "Compare, part 2" (benchmarks, model internals, next-token view) adds its own
sub-tabs there.
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import gradio as gr
import pandas as pd

from engines import arena, prompts, registry
from engines.config import Settings
from engines.errors import InvalidInput
from engines.quant import QUANTIZATIONS
from tabs import compare_extra
from tabs.common import GPU_EVENT, Links, ModelBox, esc, expensive, ui_errors

COLS = arena.MAX_COLUMNS
CHAT_CHOICES = [(f"{s.label} — {s.id}", s.id) for s in registry.by_kind("chat")]
_LABELS = {s.id: s.label for s in registry.all_specs()}
EXAMPLE_PROMPT = "Explain in three sentences why the sky is blue."
STATUS_STYLE = {"waiting": "#6b7280", "loading": "#92400e", "streaming": "#1d4ed8", "done": "#15803d",
                "error": "#b91c1c", "refused": "#b91c1c", "stopped": "#6b7280"}


# ------------------------------------------------------------------------------------------------ helpers


def _short(label: str) -> str:
    model, _, quant = label.partition(" @ ")
    name = _LABELS.get(model) or model.rstrip("/").rsplit("/", 1)[-1]
    return f"{name} @ {quant}" if quant else name


def _messages(system: str, prompt: str) -> list[dict]:
    messages = [{"role": "system", "content": system.strip()}] if (system or "").strip() else []
    return [*messages, {"role": "user", "content": prompt or ""}]


def _num(value: float | None, fmt: str, unit: str = "") -> str:
    return "—" if value is None else f"{value:{fmt}}{unit}"


def _gb(n: int | None) -> str:
    if not n:
        return "—"
    return f"{n / 2**30:.2f} GB" if n >= 2**30 else f"{n / 2**20:.1f} MB"


def _header_html(col: arena.ColumnState) -> str:
    model = col.model
    spec = registry.get(model)
    facts = ""
    if spec is not None:
        bits = [f"{spec.params_b:g}B params" if spec.params_b else None,
                f"{spec.context:,} ctx" if spec.context else None, spec.license,
                "gated" if spec.gated else None]
        facts = (f"<div style='font-size:.8em;opacity:.75'>{esc(' · '.join(b for b in bits if b))} · "
                 f"<a href='{esc(spec.source)}' target='_blank' rel='noopener'>card</a></div>")
    return f"<div><b>{col.index + 1}. {esc(_short(col.label))}</b>{facts}</div>"


def _metrics_html(col: arena.ColumnState) -> str:
    """The numbers under one column: live while it streams, exact once it ends."""
    s = col.stats
    color = STATUS_STYLE.get(col.status, "#6b7280")
    badge = (f"<span style='background:{color};color:#fff;border-radius:4px;padding:0 6px;font-size:.8em'>"
             f"{esc(col.status)}</span> <span style='opacity:.7;font-size:.85em'>{col.elapsed_s:.1f} s</span>")
    if s is not None:
        rows = [("TTFT", f"{s.ttft_s:.3f} s"), ("tokens/s", f"{s.tokens_per_s:.1f}"), ("tokens", f"{s.tokens}"),
                ("load", f"{s.load_s:.2f} s" + (" (cached)" if s.cache_hit else "")),
                ("memory", _gb(s.memory_bytes)), ("peak GPU", _gb(s.peak_gpu_bytes)),
                ("quantization", s.quantization), ("device", s.device), ("backend", s.backend)]
    else:
        fit = col.fit
        rows = [("first text", _num(col.live_ttft_s, ".2f", " s")), ("tokens/s", _num(col.live_tokens_per_s, ".1f")),
                ("chunks", str(col.chunks)),
                ("estimate", _gb(fit.needed_bytes) if fit else "—"),
                ("quantization", fit.quantization if fit else col.quantization),
                ("device", fit.device if fit else "—")]
    cells = "".join(f"<span style='opacity:.65'>{esc(k)}</span><span>{esc(v)}</span>" for k, v in rows)
    out = (f"<div>{badge}</div><div style='display:grid;grid-template-columns:max-content 1fr;gap:1px 12px;"
           f"font-size:.85em;margin-top:4px'>{cells}</div>")
    if col.notice:
        out += f"<div style='color:#92400e;font-size:.85em'>{esc(col.notice)}</div>"
    if col.error:
        out += f"<div style='color:#b91c1c;font-size:.9em'><b>{esc(col.error_title or 'Error')}:</b> " \
               f"{esc(col.error)}</div>"
    return out


def _status(cols: list[arena.ColumnState], final: bool) -> str:
    done = sum(c.finished for c in cols)
    elapsed = max((c.elapsed_s for c in cols), default=0.0)
    device = Settings.from_env().device_name
    if not final:
        return f"Running {len(cols)} model(s) on {device}: {done} of {len(cols)} finished · {elapsed:.1f} s"
    ok = [c for c in cols if c.stats is not None]
    stopped = sum(c.status == "stopped" for c in cols)
    head = f"**Stopped** after {elapsed:.1f} s" if stopped else f"**Done** in {elapsed:.1f} s"
    text = f"{head} on {device}: {len(ok)} of {len(cols)} finished" + (
        f", {stopped} stopped (their text so far stays)." if stopped else ".")
    if ok:
        fast = max(ok, key=lambda c: c.stats.tokens_per_s)
        first = min(ok, key=lambda c: c.stats.ttft_s)
        text += (f" Fastest: **{esc(_short(fast.label))}** ({fast.stats.tokens_per_s:.1f} tokens/s); first token "
                 f"soonest: **{esc(_short(first.label))}** ({first.stats.ttft_s:.3f} s).")
    return text


def _column_outputs(cols: list[arena.ColumnState]) -> list:
    visible = [gr.Column(visible=i < len(cols)) for i in range(COLS)]
    pad = [None] * (COLS - len(cols))
    headers = [_header_html(c) for c in cols] + [""] * len(pad)
    texts = [c.text for c in cols] + [""] * len(pad)
    metrics = [_metrics_html(c) for c in cols] + [""] * len(pad)
    return [*visible, *headers, *texts, *metrics]


def _csv(rows: list[dict]) -> str:
    path = Path(tempfile.mkdtemp(prefix="compare-")) / "compare-results.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return str(path)


def _code(cols: list[arena.ColumnState], messages: list[dict], max_new_tokens: int, temperature: float) -> str:
    parts = []
    for c in cols:
        quant = c.stats.quantization if c.stats else (c.fit.quantization if c.fit else "fp32")
        snippet = arena.code_snippet(c.model, messages, quantization=quant, max_new_tokens=max_new_tokens,
                                     temperature=temperature)
        parts.append(f"# ---- column {c.index + 1}: {c.label} ----\n{snippet}")
    return "\n\n".join(parts)


def _final_outputs(cols: list[arena.ColumnState], messages: list[dict], max_new_tokens: int,
                   temperature: float) -> list:
    rows = arena.results_rows(cols)
    ok = [c for c in cols if c.stats is not None]
    tps = pd.DataFrame({"model": [_short(c.label) for c in ok], "tokens/s": [c.stats.tokens_per_s for c in ok]})
    ttft = pd.DataFrame({"model": [_short(c.label) for c in ok], "TTFT (s)": [c.stats.ttft_s for c in ok]})
    return [_status(cols, True), *_column_outputs(cols), tps, ttft, pd.DataFrame(rows), _csv(rows),
            _code(cols, messages, max_new_tokens, temperature)]


# ------------------------------------------------------------------------------------------- side by side


@expensive
@ui_errors
def compare_models(models: list[str], system: str, prompt: str, max_new_tokens: int = 128,
                   temperature: float = 0.0, quantization: str = "auto", memory_check: bool = True,
                   run: threading.Event | None = None):
    """Run 1 to 4 models on the same prompt at once; every column streams, with its measured numbers.

    Args:
        models: model references: catalog ids (e.g. "Qwen/Qwen2.5-0.5B-Instruct"), any Hub id, a local folder where
            allowed, or openai:<name>, hf:<org/name>, ollama:<name>. End one with "@4bit", "@bf16", ... to give
            that column its own quantization (the same model twice at two quantizations shows what 4-bit costs).
        system: the system prompt ("" for none).
        prompt: the user prompt.
        max_new_tokens: upper bound on generated tokens per model.
        temperature: 0 = greedy; above 0 samples.
        quantization: auto | 4bit | 8bit | bf16 | fp16 | fp32, for columns without their own "@" suffix.
        memory_check: refuse, before loading, models whose memory estimate exceeds what is free.
        run: the session's previous stop flag (kept server side; replaced by a new one).

    Returns:
        The status line; per column its visibility, header, text and metrics; a tokens/s chart, a TTFT chart, the
        results table, its CSV file, code reproducing each column, and this run's stop flag.
    """
    entries = arena.parse_entries(models, quantization)
    messages = _messages(system, prompt)
    max_new_tokens, temperature = int(max_new_tokens), float(temperature)
    stop = threading.Event()
    final: list[arena.ColumnState] = []
    skip = [gr.skip()] * 5
    for cols in arena.stream_compare(entries, messages, max_new_tokens=max_new_tokens, temperature=temperature,
                                     memory_check=bool(memory_check), stop=stop):
        final = cols
        yield [_status(cols, False), *_column_outputs(cols), *skip, stop]
    yield [*_final_outputs(final, messages, max_new_tokens, temperature), stop]


def quantization_duel(model: str, first: str, second: str) -> list[str]:
    """The model list for "same model, two quantizations"."""
    model = (model or "").strip()
    if not model:
        raise gr.Error("Choose a model first.")
    if first == second:
        raise gr.Error("Choose two different quantizations.")
    return [f"{model}@{first}", f"{model}@{second}"]


def stop_run(run: threading.Event | None) -> None:
    """Stop the session's running comparison: every column stops at its next token (a load under way finishes)."""
    if run is not None:
        run.set()


# ---------------------------------------------------------------------------------------------------- facts

FACT_COLUMNS = ["model", "weights", "release", "knowledge cutoff", "params (B)", "active params (B)",
                "training tokens (T)", "tokens/param", "× Chinchilla", "context", "license", "gated", "$/1M in",
                "$/1M out", "memory 4-bit (GB)", "memory bf16 (GB)", "source"]


def _link(url: str | None, text: str) -> str:
    return f"[{text}]({url})" if url else ""


def _fact_rows(ids: list[str]) -> list[dict]:
    rows = []
    for model_id in ids:
        spec = registry.get(model_id.partition("@")[0].strip())
        if spec is None:
            rows.append({"model": model_id, "weights": "not in the catalog: facts unknown"})
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
    return table, chart


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
    except ValueError:
        raise InvalidInput("Give at least one positive number: parameters, training tokens or FLOPs.") from None
    ratio = r.tokens_per_param / registry.CHINCHILLA_TOKENS_PER_PARAM
    verdict = ("about compute-optimal" if 0.7 <= ratio <= 1.5 else
               f"over-trained ×{ratio:.1f} (cheaper to serve, more training compute than optimal)" if ratio > 1
               else f"under-trained (×{ratio:.2f}: more tokens would help more than more parameters)")
    return (f"| | value |\n|---|---|\n| parameters N | {r.params / 1e9:,.3g} B |\n"
            f"| training tokens D | {r.tokens / 1e12:,.3g} T |\n| compute C = 6·N·D | {r.flops:.3g} FLOPs |\n"
            f"| tokens per parameter D/N | {r.tokens_per_param:,.1f} (rule of thumb ≈ 20: {verdict}) |\n"
            f"| rule of thumb (20 tokens/param): D for this N | {r.optimal_tokens_for_params / 1e12:,.3g} T |\n"
            f"| rule of thumb: N, D for this C | {r.optimal_params_for_flops / 1e9:,.3g} B params, "
            f"{r.optimal_tokens_for_flops / 1e12:,.3g} T tokens |\n"
            f"| the paper's estimate (fit to its Table 3): N, D for this C | {r.paper_params_for_flops / 1e9:,.3g} B "
            f"params, {r.paper_tokens_for_flops / 1e12:,.3g} T tokens |\n"
            f"| the paper's fitted loss L(N, D) (Approach 3) | {r.predicted_loss:.3f} nats/token |\n\n"
            "The rule of thumb is the paper's result rounded to a constant ratio; its own estimate grows slowly with "
            f"compute (N ∝ C^{registry.CHINCHILLA_A:.3f}). Source: Hoffmann et al. 2022, "
            f"[Training Compute-Optimal LLMs]({registry.CHINCHILLA_SOURCE}).")


# ---------------------------------------------------------------------------------------------------- arena

VOTE_LABELS = {"A is better": "a", "B is better": "b", "Tie": "tie", "Both bad": "both_bad"}


def _vote_buttons(enabled: bool) -> list:
    return [gr.Button(interactive=enabled) for _ in VOTE_LABELS]


def _arena_text(col: arena.ColumnState) -> str:
    if col.error:
        return f"⚠ {col.error_title or 'Error'}: {col.error}"
    return col.text


@expensive
@ui_errors
def arena_battle(pool: list[str], prompt: str, max_new_tokens: int = 128, match: dict | None = None):
    """Blind arena: two models drawn from the pool answer the same prompt anonymously, streaming side by side.

    Args:
        pool: the models the pair is drawn from (at least two).
        prompt: the user prompt both models answer.
        max_new_tokens: upper bound on generated tokens per model.
        match: the session's previous match (kept server side; ignored).

    Returns:
        Answer A, answer B, the status line, the four vote buttons and the new match (names hidden until a vote).
    """
    a, b = arena.pick_pair(pool or [])
    messages = _messages(prompts.DEFAULT_SYSTEM, prompt)
    entries = [arena.Entry(a), arena.Entry(b)]
    cols: list[arena.ColumnState] = []
    waiting = "Two anonymous models are answering… vote when both are done."
    for cols in arena.stream_compare(entries, messages, max_new_tokens=int(max_new_tokens)):
        yield [_arena_text(cols[0]), _arena_text(cols[1]), waiting, *_vote_buttons(False), None]
    ok = all(c.status == "done" for c in cols)
    new = {"id": arena.new_match_id(), "a": a, "b": b, "voted": False, "ok": ok,
           "stats": [arena.results_rows([c])[0] for c in cols]}
    status = ("Both answered. Which is better? Vote to reveal the names." if ok else
              "A model failed, so this match can't be voted on (names stay hidden). Start a new one.")
    yield [_arena_text(cols[0]), _arena_text(cols[1]), status, *_vote_buttons(ok), new]


@ui_errors
def arena_vote(choice: str, match: dict | None):
    """Vote on the current arena match, then reveal which model was A and which was B.

    Args:
        choice: "a", "b", "tie" or "both_bad" (or a vote button's label).
        match: the session's current match (kept server side).

    Returns:
        The reveal text, the updated leaderboard, its caption, the four vote buttons and the match.
    """
    outcome = VOTE_LABELS.get(choice, (choice or "").strip().lower())
    if not match:
        raise InvalidInput("There is no match to vote on: ask two anonymous models first.")
    if match.get("voted"):
        raise InvalidInput("This match already has your vote: start a new one.")
    if not match.get("ok"):
        raise InvalidInput("A model failed in this match, so it can't be voted on: start a new one.")
    store = arena.ArenaStore()
    # one vote per match is enforced by the database (two simultaneous clicks both pass the check above)
    vote_id = store.record_vote(match["a"], match["b"], outcome, match_id=match.get("id") or arena.new_match_id())
    match = {**match, "voted": True}
    said = {"a": "A is better", "b": "B is better", "tie": "a tie", "both_bad": "both bad"}[outcome]
    lines = [f"**Vote #{vote_id} saved** ({said})."]
    for side, stats in zip(("A", "B"), match["stats"], strict=True):
        lines.append(f"- **{side}** was **{esc(_short(match[side.lower()]))}** (`{esc(match[side.lower()])}`): "
                     f"{stats['tokens']} tokens, {stats['tokens_per_s']} tokens/s, TTFT {stats['ttft_s']} s, "
                     f"{stats['device']} {stats['quantization']}")
    board, caption = arena_leaderboard()
    return ["\n".join(lines), board, caption, *_vote_buttons(False), match]


MIN_VOTES_FOR_CI = 5  # below this the bootstrap has too little to resample
LEADER_COLUMNS = ["rank", "model", "rating", "95% CI", "votes", "wins", "losses", "ties", "both bad", "note"]


def _arena_row(rank: int, row: arena.LeaderRow) -> dict:
    """One leaderboard line: the rating with its 95 % interval (or why there is none yet)."""
    enough = row.votes >= MIN_VOTES_FOR_CI
    return {"rank": rank, "model": row.model, "rating": round(row.rating),
            "95% CI": f"{row.ci_low:.0f} – {row.ci_high:.0f}" if enough else "too few votes",
            "votes": row.votes, "wins": row.wins, "losses": row.losses, "ties": row.ties, "both bad": row.both_bad,
            "note": row.note}


def arena_caption(described: str) -> str:
    """The leaderboard's caption: where votes are (no server path) and how the ratings are computed."""
    return (f"{described}. **{arena.METHOD}**: ratings are the Bradley–Terry maximum-likelihood fit of all votes "
            f"(logistic, {arena.SCALE:g} points = {arena.BASE:g}:1 odds, mean {arena.ANCHOR:g}; as LMArena), so "
            "they do not depend on vote order. A tie or \"both bad\" counts half a win each. The interval comes "
            f"from {arena.BOOTSTRAP_ROUNDS} bootstrap resamples of the votes; overlapping intervals mean the order "
            "is not settled yet.")


@ui_errors
def arena_leaderboard():
    """The arena leaderboard from every stored vote: Bradley–Terry ratings with bootstrap 95% confidence intervals.

    Returns:
        The leaderboard table (rank, model, rating, 95% CI, votes, wins, losses, ties, both bad, note) and a
        caption (how many votes, how the ratings are computed).
    """
    store = arena.ArenaStore()
    votes = store.votes()
    rows = [_arena_row(i + 1, r) for i, r in enumerate(arena.leaderboard(votes))]
    return pd.DataFrame(rows, columns=LEADER_COLUMNS), arena_caption(store.describe(len(votes)))


# ---------------------------------------------------------------------------------------------------- layout


def _side_by_side(defaults: list[str]) -> gr.Dropdown:
    with gr.Tab("Side by side", id="compare-side"):
        with gr.Row():
            models = ModelBox(CHAT_CHOICES, value=defaults, multiselect=True,
                                 max_choices=COLS, label=f"Models (1–{COLS}; type any Hub id, a local folder, "
                                 "openai:<name>, hf:<org/name>, ollama:<name>; add @4bit to one to set its "
                                 "quantization)", elem_id="cmp-models", scale=4)
            quant = gr.Dropdown(list(QUANTIZATIONS), value="auto", label="Quantization", elem_id="cmp-quant",
                                scale=1)
        with gr.Accordion("Same model, two quantizations (what does 4-bit cost?)", open=False):
            with gr.Row():
                duel_model = ModelBox(CHAT_CHOICES, value=defaults[0] if defaults else None, label="Model",
                                     scale=3)
                duel_a = gr.Dropdown(list(QUANTIZATIONS[1:]), value="4bit", label="First", scale=1)
                duel_b = gr.Dropdown(list(QUANTIZATIONS[1:]), value="bf16", label="Second", scale=1)
                duel_go = gr.Button("Use as the two columns", scale=1)
        system = gr.Textbox(prompts.DEFAULT_SYSTEM, label="System prompt", lines=1, elem_id="cmp-system")
        prompt = gr.Textbox(EXAMPLE_PROMPT, label="Prompt", lines=3, elem_id="cmp-prompt")
        with gr.Row():
            max_tokens = gr.Slider(1, 2048, value=128, step=1, label="Max new tokens", elem_id="cmp-max")
            temperature = gr.Slider(0.0, 2.0, value=0.0, step=0.05, label="Temperature (0 = greedy)")
            memory_check = gr.Checkbox(True, label="Refuse models that don't fit in memory (checked before loading)")
        with gr.Row():
            run = gr.Button("Run side by side", variant="primary", elem_id="cmp-run")
            stop = gr.Button("Stop", variant="stop", elem_id="cmp-stop")
        status = gr.Markdown(elem_id="cmp-status")
        columns, headers, texts, metrics = [], [], [], []
        with gr.Row(equal_height=False):
            for i in range(COLS):
                with gr.Column(visible=i < max(2, len(defaults)), min_width=220) as col:
                    headers.append(gr.HTML(elem_id=f"cmp-head-{i}"))
                    texts.append(gr.Textbox(label="Output", lines=10, max_lines=24, interactive=False,
                                            elem_id=f"cmp-out-{i}"))
                    metrics.append(gr.HTML(elem_id=f"cmp-metrics-{i}"))
                columns.append(col)
        with gr.Row():
            tps_chart = gr.BarPlot(x="model", y="tokens/s", title="Tokens per second (higher is better)",
                                   y_lim=[0, None], elem_id="cmp-tps")
            ttft_chart = gr.BarPlot(x="model", y="TTFT (s)", title="Time to first token (lower is better)",
                                    y_lim=[0, None], elem_id="cmp-ttft")
        with gr.Row():
            table = gr.Dataframe(label="Results", interactive=False, elem_id="cmp-table", scale=5)
            csv = gr.File(label="Results (CSV)", elem_id="cmp-csv", scale=1)
        with gr.Accordion("Show code (plain transformers / openai)", open=False):
            code = gr.Code(language="python", label="Reproduce each column", elem_id="cmp-code")
        run_flag = gr.State(None)
        outputs = [status, *columns, *headers, *texts, *metrics, tps_chart, ttft_chart, table, csv, code, run_flag]
        inputs = [models, system, prompt, max_tokens, temperature, quant, memory_check, run_flag]
        run.click(compare_models, inputs, outputs, api_name="compare", **GPU_EVENT)
        prompt.submit(compare_models, inputs, outputs, api_name=False, **GPU_EVENT)
        # Stop sets the run's flag instead of cancelling the event: the run then ends normally, with the partial
        # texts, metrics and table (Gradio's cancel of a generator mid-step can surface as a bare "Error")
        stop.click(stop_run, run_flag, None, api_name=False)
        duel_go.click(quantization_duel, [duel_model, duel_a, duel_b], models, api_name=False)
    return models


def _facts(models: gr.Dropdown) -> None:
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
        initial, initial_chart = model_facts([], "all")
        types = ["markdown" if c in ("model", "source") else "str" for c in FACT_COLUMNS]
        table = gr.Dataframe(initial, datatype=types, interactive=False, wrap=True, label="Facts",
                             elem_id="facts-table", max_height=520)
        chart = gr.BarPlot(initial_chart, x="model", y="tokens/param", y_lim=[0, None],
                           title="Training tokens per parameter (Chinchilla-optimal ≈ 20)", elem_id="facts-chart")
        scope.change(model_facts, [models, scope], [table, chart], api_name="model_facts")
        gr.Markdown("### Chinchilla calculator\nGive any one or two of N, D, C; the rest follows from C ≈ 6·N·D.")
        with gr.Row():
            params_b = gr.Number(8.0, label="Parameters N (billions)", elem_id="chin-n")
            tokens_t = gr.Number(15.0, label="Training tokens D (trillions)", elem_id="chin-d")
            flops = gr.Number(0, label="Compute C (FLOPs, e.g. 1e24)", elem_id="chin-c")
            calc = gr.Button("Calculate", elem_id="chin-go")
        result = gr.Markdown(elem_id="chin-out")
        calc.click(chinchilla_calc, [params_b, tokens_t, flops], result, api_name="chinchilla")


def _arena(defaults: list[str]) -> None:
    with gr.Tab("Blind arena", id="compare-arena") as tab:
        gr.Markdown("Two models drawn from the pool answer the same prompt **anonymously**. Vote for the better "
                    "answer; the names are revealed after the vote. Votes are kept (one per match) and feed the "
                    f"leaderboard ({arena.METHOD}).")
        with gr.Row():
            pool = ModelBox(CHAT_CHOICES, value=defaults, multiselect=True,
                               label="Pool (at least two models)", elem_id="arena-pool", scale=3)
            max_tokens = gr.Slider(1, 1024, value=128, step=1, label="Max new tokens", scale=1)
        prompt = gr.Textbox(EXAMPLE_PROMPT, label="Prompt", lines=2, elem_id="arena-prompt")
        go = gr.Button("Ask two anonymous models", variant="primary", elem_id="arena-go")
        match = gr.State(None)
        with gr.Row():
            out_a = gr.Textbox(label="Model A", lines=8, max_lines=20, interactive=False, elem_id="arena-a")
            out_b = gr.Textbox(label="Model B", lines=8, max_lines=20, interactive=False, elem_id="arena-b")
        status = gr.Markdown(elem_id="arena-status")
        with gr.Row():
            buttons = [gr.Button(label, interactive=False, elem_id=f"arena-vote-{key}")
                       for label, key in VOTE_LABELS.items()]
        reveal = gr.Markdown(elem_id="arena-reveal")
        gr.Markdown("### Leaderboard")
        board = gr.Dataframe(pd.DataFrame(columns=LEADER_COLUMNS), interactive=False,
                             label=f"Leaderboard ({arena.METHOD})", elem_id="arena-board")
        caption = gr.Markdown()
        refresh = gr.Button("Refresh leaderboard", size="sm")
        go.click(arena_battle, [pool, prompt, max_tokens, match], [out_a, out_b, status, *buttons, match],
                 api_name="arena_battle", **GPU_EVENT)
        for i, button in enumerate(buttons):
            button.click(arena_vote, [button, match], [reveal, board, caption, *buttons, match],
                         api_name="arena_vote" if i == 0 else False)
        refresh.click(arena_leaderboard, None, [board, caption], api_name="arena_leaderboard")
        tab.select(arena_leaderboard, None, [board, caption], api_name=False)


def build(settings: Settings | None = None, links: Links | None = None) -> None:
    """Render the Compare tab inside the current Blocks."""
    defaults = arena.default_models(Settings.from_env())
    with gr.Tab("Compare models", id="compare"):
        gr.Markdown("Pick an LLM the way an engineer should: run candidates **side by side** on your prompt "
                    "(speed, memory, quantization, device, all measured), check **the facts that decide** "
                    "(license, context, training data, price, memory), and judge quality **blind**.")
        with gr.Tabs(elem_id="compare-subtabs"):
            models = _side_by_side(defaults)
            _facts(models)
            _arena(defaults)
            compare_extra.build_panels()
