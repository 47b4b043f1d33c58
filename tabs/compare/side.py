"""Compare → Side by side: 1 to 4 models stream on the same prompt, each column with its measured numbers; a
follow-up continues every column's own conversation (``turns``)."""

from __future__ import annotations

import gradio as gr
import pandas as pd

from engines import arena, prompts, textfiles
from engines import notebooks as nbs
from engines.backends.types import Recipe
from engines.config import Settings
from engines.errors import InvalidInput
from engines.quant import QUANTIZATIONS
from tabs.common import (
    GPU_EVENT,
    NOTEBOOK_LABEL,
    ModelBox,
    expensive,
    export_folder,
    notebook_file,
    on,
    run_stop_flag,
    ui_errors,
    with_settings,
)
from tabs.compare import turns, view
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


def _recipes(cols: list[arena.ColumnState], sent: list[list[dict]], max_new_tokens: int,
             temperature: float) -> list[tuple[arena.ColumnState, Recipe]]:
    """One recipe per column from what it ran (a column that failed before its stats: the quantization it was fitted
    with), with what its model was sent (after a follow-up: its whole conversation): the code box and the column's
    notebook both come from it."""
    return [(c, nbs.chat_recipe(c.model, sent[c.index], max_new_tokens=max_new_tokens, temperature=temperature,
                                text=c.text, stats=c.stats,
                                quantization=c.stats.quantization if c.stats else (c.fit.quantization if c.fit
                                                                                   else "fp32")))
            for c in cols]


def _final(cols: list[arena.ColumnState], sent: list[list[dict]], max_new_tokens: int, temperature: float,
           device: str, sequential: bool = False) -> dict:
    """The run's last update. ``sent``: what each column's model was sent (its conversation and this turn)."""
    rows = arena.results_rows(cols)
    recipes = _recipes(cols, sent, max_new_tokens, temperature)
    return {"status": view.run_status(cols, True, device, sequential), **_columns(cols),
            "tps": view.chart_frame(cols, "tokens/s", lambda s: s.tokens_per_s),
            "ttft": view.chart_frame(cols, "TTFT (s)", lambda s: s.ttft_s),
            "table": view.results_table(rows, cols), "csv": _csv(rows),
            "code": view.recipes_code(recipes), "notebooks": _notebooks(recipes)}


def _notebooks(recipes: list[tuple[arena.ColumnState, Recipe]]):
    """One notebook per finished column, reproducing its generation (its whole conversation after a follow-up)."""
    files = [notebook_file("compare", f"column-{c.index + 1}-{view.short_name(c.model)}", r)
             for c, r in recipes if c.stats]
    return [f for f in files if f] or None


def _layout(conversation: bool, columns: int = 0, followup: bool = False) -> dict:
    """Which view each column shows: its single answer (a first turn) or its conversation (after a follow-up)."""
    out = {"followup_row": gr.Row(visible=followup)}
    for i in range(COLS):
        out[f"convbox{i}"] = gr.Column(visible=conversation and i < columns)
        out[f"textbox{i}"] = gr.Column(visible=not conversation)
    return out


def _conversations(histories: list[list[dict]], notes: list[list[str]], pending: str | None = None,
                   cols: list[arena.ColumnState] | None = None) -> dict:
    out = {}
    for i in range(COLS):
        if i >= len(histories):
            out[f"conv{i}"] = []
            continue
        answer = None
        if cols is not None:
            col = cols[i]
            answer = f"⚠ {col.error_title or 'Error'}: {col.error}" if col.error else col.text
        out[f"conv{i}"] = turns.chat_messages(histories[i], notes[i], pending, answer)
    return out


def _dropped_note(status: str, dropped: int) -> str:
    if not dropped:
        return status
    return (status + f"<div class='run-note'>The {dropped} oldest turn(s) were dropped from every column's "
            "conversation to stay within this server's input limit (WORKBENCH_MAX_INPUT_CHARS).</div>")


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
    stop = run_stop_flag(run)
    device = (settings := settings or Settings.from_env()).device_name
    final: list[arena.ColumnState] = []
    first = {**_layout(False), "convo": {}}  # a new run is a new conversation
    for cols in arena.stream_compare(entries, messages, max_new_tokens=max_new_tokens, temperature=temperature,
                                     memory_check=bool(memory_check), stop=stop, sequential=sequential,
                                     settings=settings):
        final = cols
        yield {"status": view.run_status(cols, False, device, sequential), **_columns(cols), **first}
        first = {}
    n = len(entries)
    histories, notes = turns.advance([[] for _ in entries], [[] for _ in entries], [messages] * n, final)
    dropped = turns.bound(histories, notes, settings)
    out = _final(final, [messages] * n, max_new_tokens, temperature, device, sequential)
    out["status"] = _dropped_note(out["status"], dropped)
    answered = any(histories)
    yield {**out, **_layout(False, n, answered),
           "convo": _convo(entries, histories, notes) if answered else {}}


def _convo(entries: list[arena.Entry], histories: list[list[dict]], notes: list[list[str]]) -> dict:
    """The session's conversation (server side): the columns and each one's own history."""
    return {"entries": [(e.model, e.quantization) for e in entries], "histories": histories, "notes": notes}


def _continue(entries: list[arena.Entry], histories: list[list[dict]], notes: list[list[str]], prompt: str | None,
              max_new_tokens: int, temperature: float, memory_check: bool, sequential: bool, run: dict | None,
              settings: Settings | None = None):
    """One follow-up turn: each column continues its own conversation. Yields updates; the last one carries
    ``"_turn"``: (the conversations after the turn, their notes)."""
    if not (prompt or "").strip():
        raise InvalidInput("Write a follow-up message first.")
    turn = [{"role": "user", "content": prompt}]
    max_new_tokens, temperature, sequential = int(max_new_tokens), float(temperature), bool(sequential)
    stop = run_stop_flag(run)
    device = (settings := settings or Settings.from_env()).device_name
    final: list[arena.ColumnState] = []
    for cols in arena.stream_compare(entries, turn, max_new_tokens=max_new_tokens, temperature=temperature,
                                     memory_check=bool(memory_check), stop=stop, sequential=sequential,
                                     histories=histories, settings=settings):
        final = cols
        yield {"status": view.run_status(cols, False, device, sequential), **_columns(cols),
               **_conversations(histories, notes, prompt, cols)}
    new_h, new_n = turns.advance(histories, notes, [turn] * len(entries), final)
    dropped = turns.bound(new_h, new_n, settings)
    out = _final(final, [h + turn for h in histories], max_new_tokens, temperature, device, sequential)
    out["status"] = _dropped_note(out["status"], dropped)
    yield {**out, **_conversations(new_h, new_n), "_turn": (new_h, new_n)}


@expensive
@ui_errors
def followup_turn(prompt: str | None, max_new_tokens: int = 128, temperature: float = 0.0, memory_check: bool = True,
                  sequential: bool = False, run: dict | None = None, convo: dict | None = None, *, settings=None):
    """The Follow-up button: continue the session's conversation (its columns, each with its own history)."""
    if not isinstance(convo, dict) or not convo.get("histories"):
        raise InvalidInput("There is no conversation to continue: run side by side first.")
    entries = [arena.Entry(model, quant) for model, quant in convo["entries"]]
    shown = _layout(True, len(entries), True)  # once the turn starts, each column shows its conversation
    for update in _continue(entries, convo["histories"], convo["notes"], prompt, max_new_tokens, temperature,
                            memory_check, sequential, run, settings):
        if "_turn" in update:
            histories, notes = update.pop("_turn")
            update.update(convo=_convo(entries, histories, notes), followup="")
        yield {**update, **shown}


@expensive
@ui_errors
def compare_followup(models: list[str], prompt: str | None = None, histories: list | str | None = None,
                     max_new_tokens: int = 128, temperature: float = 0.0, quantization: str = "auto",
                     memory_check: bool = True, sequential: bool = False, run: dict | None = None, *,
                     settings=None):
    """A follow-up in side by side: each model continues its own conversation with one more user message (what
    one model answered is never sent to another).

    Args:
        models: the same model references as the conversation's first turn, in the same order (see compare).
        prompt: the follow-up user message.
        histories: each model's conversation so far, one list per model of {"role", "content"} messages (system,
            user, assistant; text only), as the last compare_followup call returned. [] starts a new conversation
            (a first turn without a system prompt). After a compare call, build it per column i as
            [{"role": "system", ...}, {"role": "user", "content": prompt}, {"role": "assistant", "content": text_i}].
        max_new_tokens: upper bound on generated tokens per model.
        temperature: 0 = greedy; above 0 samples.
        quantization: auto | 4bit | 8bit | bf16 | fp16 | fp32, for models without their own "@" suffix.
        memory_check: refuse, before loading, models whose memory estimate exceeds what is free.
        sequential: run the columns one at a time (speeds that compare fairly) instead of all at once.
        run: the session's run holder (server side): Stop sets the stop flag this run puts there.

    Returns:
        What compare returns (status; per column its header, latest answer and metrics; the charts, the results
        table, its CSV, code and notebooks), then each column's conversation as a chat, then the histories to send
        with the next follow-up (a model that failed this turn keeps its conversation as it was; the oldest turns
        are dropped if they outgrow this server's input limit, which the status line says).
    """
    entries = arena.parse_entries(models, quantization)
    conversations = turns.check_histories(histories, len(entries))
    for update in _continue(entries, conversations, [[] for _ in entries], prompt, max_new_tokens, temperature,
                            memory_check, sequential, run, settings):
        if "_turn" in update:
            update["histories"] = update.pop("_turn")[0]
        yield update


def new_conversation() -> dict:
    """The New conversation button: forget the session's conversation and clear the columns."""
    out = {"convo": {}, "status": "", **_layout(False)}
    for i in range(COLS):
        out.update({f"text{i}": "", f"metrics{i}": "", f"conv{i}": []})
    return out


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
        layout, conv = {}, {}  # per column: its single answer (first turn) or its conversation (after a follow-up)
        with gr.Row(equal_height=False):
            for i in range(COLS):
                with gr.Column(visible=i < max(2, len(defaults)), min_width=220) as out[f"col{i}"]:
                    out[f"head{i}"] = gr.HTML(elem_id=f"cmp-head-{i}")
                    with gr.Column(visible=False, min_width=0) as layout[f"convbox{i}"]:
                        conv[f"conv{i}"] = gr.Chatbot(label="Conversation", height=360, elem_id=f"cmp-conv-{i}",
                                                      buttons=["copy", "copy_all"])
                    with gr.Column(min_width=0) as layout[f"textbox{i}"]:
                        out[f"text{i}"] = gr.Textbox(label="Output", lines=10, max_lines=24, interactive=False,
                                                     elem_id=f"cmp-out-{i}")
                    out[f"metrics{i}"] = gr.HTML(elem_id=f"cmp-metrics-{i}")
        with gr.Row(visible=False, equal_height=True, elem_id="cmp-followup-row") as layout["followup_row"]:
            followup = gr.Textbox(label="Follow-up (each column continues its own conversation)", lines=2,
                                  max_length=200_000, scale=4, min_width=220, elem_id="cmp-followup",
                                  placeholder="Ask the same models a follow-up…")
            with gr.Column(scale=1, min_width=160):
                send = gr.Button("Send follow-up", variant="primary", elem_id="cmp-followup-send")
                fresh = gr.Button("New conversation", elem_id="cmp-new-conversation")
        with gr.Row():
            out["tps"] = gr.BarPlot(pd.DataFrame({"model": [], "tokens/s": []}), x="model", y="tokens/s",
                                    title="Tokens per second (higher is better)", y_lim=[0, None], x_label_angle=-30,
                                    elem_id="cmp-tps")
            out["ttft"] = gr.BarPlot(pd.DataFrame({"model": [], "TTFT (s)": []}), x="model", y="TTFT (s)",
                                     title="Time to first token (lower is better)", y_lim=[0, None],
                                     x_label_angle=-30, elem_id="cmp-ttft")
        with gr.Row():
            out["table"] = gr.Dataframe(pd.DataFrame(columns=list(view.RESULT_COLUMNS.values())), label="Results",
                                        interactive=False, wrap=False, pinned_columns=1, elem_id="cmp-table",
                                        scale=5)
            out["csv"] = gr.File(label="All results (CSV)", elem_id="cmp-csv", scale=1, min_width=160)
        with gr.Accordion("Show code and notebooks (plain transformers / openai)", open=False):
            out["code"] = gr.Code(language="python", label="Reproduce each column", elem_id="cmp-code")
            out["notebooks"] = gr.File(label=NOTEBOOK_LABEL, file_count="multiple", interactive=False,
                                       elem_id="cmp-notebooks")
        holder = gr.State({})  # per session: this run's stop flag (never sent to clients)
        convo = gr.State({})  # per session: the columns' conversations (bounded: see turns.bound)
        inputs = [models, system, prompt, max_tokens, temperature, quant, memory_check, sequential, holder]
        clear = tuple(k for k in out if k != "status" and not k.startswith("col"))
        run_state = {"status": "status", "clear": clear, "running": "Starting the models…", "stop_flag": holder,
                     **GPU_EVENT}
        first = {**out, **layout, "convo": convo}
        on(run.click, handler := with_settings(compare_models, settings), inputs, first, api_name="compare",
           **run_state)
        on(prompt.submit, handler, inputs, first, api_name=False, **run_state)
        turn_state = {**run_state, "clear": tuple(k for k in clear if not k[-1].isdigit()),
                      "running": "Sending the follow-up…"}
        more = [followup, max_tokens, temperature, memory_check, sequential, holder, convo]
        turn_out = {**out, **layout, **conv, "convo": convo, "followup": followup}
        for event in (send.click, followup.submit):
            on(event, with_settings(followup_turn, settings), more, turn_out, api_name=False, **turn_state)
        # the API / MCP tool: the histories travel with the call (a session's state is not an API parameter)
        histories = gr.JSON(visible=False, label="Histories")
        on(gr.Button(visible=False).click, with_settings(compare_followup, settings),
           [models, followup, histories, max_tokens, temperature, quant, memory_check, sequential, holder],
           {**out, **conv, "histories": histories}, api_name="compare_followup", **turn_state)
        on(fresh.click, new_conversation, None, {**out, **layout, **conv, "convo": convo}, api_name=False,
           queue=False)
        # Stop sets the run's flag instead of cancelling the event: the run then ends normally, with the partial
        # texts, metrics and table (Gradio's cancel of a generator mid-step can surface as a bare "Error")
        on(stop.click, stop_run, holder, None, api_name=False, queue=False)
        on(duel_go.click, quantization_duel, [duel_model, duel_a, duel_b], {"models": models}, api_name=False)
    return models

