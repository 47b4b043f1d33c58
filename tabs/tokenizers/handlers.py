"""Tokenizers tab: tokens coloured with ids, counts side by side, decode, special tokens, chat templates."""

from __future__ import annotations

import json

import gradio as gr
import pandas as pd

from engines import notebooks as nbs
from engines import prompts, registry
from engines import tokenizers as tk
from engines.config import Settings
from engines.context import Context, as_context
from engines.errors import InvalidInput, WorkbenchError
from tabs.common import (
    CHEAP_EVENT,
    NOTEBOOK_LABEL,
    Links,
    ModelBox,
    esc,
    notebook_file,
    on,
    status_html,
    token_spans,
    ui_errors,
    with_settings,
)
from tabs.inputs import load_json

EXAMPLE_TEXT = ("Tokenizers split text into pieces a model reads as integer ids.\n"
                "def greet(name):\n    return f\"Hello, {name}!\"  # code, too\n"
                "Ünïcødé, emoji 🚀 and numbers like 1234567 split differently in every vocabulary.")
PRESETS = [(f"{label} ({hub_id})", hub_id) for label, hub_id in registry.TOKENIZER_PRESETS]
_LABELS = {hub_id: label for label, hub_id in registry.TOKENIZER_PRESETS}


def _name(ref: str) -> str:
    return _LABELS.get(ref, ref.rstrip("/").rsplit("/", 1)[-1] if ref.startswith(("/", ".", "~")) else ref)


def _selection(tokenizers) -> list[str]:
    if isinstance(tokenizers, str):
        tokenizers = [tokenizers]
    chosen = [t.strip() for t in (tokenizers or []) if t and t.strip()]
    if not chosen:
        raise InvalidInput("Choose at least one tokenizer (a preset, a Hub id, or a local folder).")
    return list(dict.fromkeys(chosen))


def _block(name: str, t: tk.Tokenization, ok: bool | None, first_diff: int | None, limit: int) -> str:
    shown = min(t.count, limit)
    trip = "✓ round-trips" if ok else f"✗ decode(encode(text)) differs at character {first_diff}"
    note = f" — showing the first {shown:,} of {t.count:,} tokens" if t.count > limit else ""
    head = (f"<div style='margin:.6em 0 .2em'><b>{esc(name)}</b>: {t.count:,} tokens · "
            f"{t.chars_per_token:.2f} chars/token · {t.words_per_token:.2f} words/token · "
            f"{esc(trip)}{esc(note)}</div>")
    spans = token_spans(t.pieces[:limit], t.ids[:limit], t.is_special[:limit])
    return head + f"<div style='line-height:2.1'>{spans}</div>"


@ui_errors
def tokenize_texts(tokenizers: list[str], text: str, add_special_tokens: bool = True, *,
                   settings: Settings | None = None):
    """Tokenize a text with one or more tokenizers and compare their token counts.

    Args:
        tokenizers: tokenizer references: catalog ids (e.g. "meta-llama/Llama-3.1-8B-Instruct"), any Hub id, or a
            local folder where allowed.
        text: the text to tokenize (counted in full; at most WORKBENCH_MAX_INPUT_CHARS characters).
        add_special_tokens: add BOS/EOS and the like, as the model sees a plain prompt.

    Returns:
        The status line, the coloured tokens (HTML), the comparison table, the chart data, and the ids per tokenizer.
    """
    settings = settings or Settings.from_env()
    chosen = _selection(tokenizers)
    tk.check_text(text or "", settings=settings)
    limit = settings.max_display_tokens
    blocks, rows, raw, failures = [], [], {}, []
    for ref in chosen:
        name = _name(ref)
        try:
            t = tk.tokenize(ref, text, add_special_tokens=bool(add_special_tokens), settings=settings)
            ok, diff = tk.round_trip(ref, text, t.text_ids, settings=settings)
            vocab = tk.tokenizer_info(ref, settings=settings).vocab_size
        except WorkbenchError as exc:
            failures.append((name, exc))
            blocks.append(f"<div style='margin:.6em 0;color:#b91c1c'><b>{esc(name)}</b>: {esc(exc)}</div>")
            continue
        blocks.append(_block(name, t, ok, diff, limit))
        rows.append({"tokenizer": name, "tokens": t.count, "chars/token": round(t.chars_per_token, 2),
                     "words/token": round(t.words_per_token, 2), "round-trip": "✓" if ok else "✗",
                     "vocab size": vocab})
        raw[name] = {"count": t.count, "ids": t.ids[:limit], "tokens": t.tokens[:limit],
                     "truncated": t.count > limit}
    if not rows:
        raise failures[0][1]
    for name, exc in failures:
        gr.Warning(f"{name}: {exc}")
    table = pd.DataFrame(rows)
    done = f"{len(rows)} tokenizer(s), {len(text or ''):,} characters."
    state = "warning" if failures else "done"
    status = done + (f" {len(failures)} could not load: {', '.join(n for n, _ in failures)}." if failures else "")
    ids = {ref: raw[_name(ref)]["ids"] for ref in chosen if _name(ref) in raw}
    recipe = nbs.tokenizers_recipe(list(ids), text, add_special_tokens=bool(add_special_tokens), ids=ids)
    return {"status": status_html(state, status), "tokens": "".join(blocks), "table": table,
            "chart": table[["tokenizer", "tokens"]], "raw": raw,
            "code": recipe.code, "notebook": notebook_file("tokenizers", "tokenize", recipe)}


@ui_errors
def decode_ids(tokenizer: str, ids: str, *, settings: Settings | None = None) -> str:
    """Decode a list of token ids back to text (special tokens kept).

    Args:
        tokenizer: tokenizer reference (catalog id, Hub id, or local folder where allowed).
        ids: token ids separated by commas or spaces, e.g. "9906, 1917".

    Returns:
        The decoded text.
    """
    return {"text": tk.decode(_selection(tokenizer)[0], tk.parse_ids(ids), settings=settings)}


@ui_errors
def tokenizer_facts(tokenizers: list[str], *, settings: Settings | None = None):
    """Vocabulary size, model max length and special tokens of each tokenizer.

    Args:
        tokenizers: tokenizer references.

    Returns:
        A summary table and a table of special tokens.
    """
    summary, specials = [], []
    for ref in _selection(tokenizers):
        info = tk.tokenizer_info(ref, settings=settings)
        name = _name(ref)
        summary.append({"tokenizer": name, "class": info.class_name, "vocab size": info.vocab_size,
                        "base vocab": info.base_vocab_size, "model max length": info.model_max_length or "—",
                        "chat template": "yes" if info.has_chat_template else "no",
                        "fast (Rust)": "yes" if info.is_fast else "no"})
        specials += [{"tokenizer": name, "role": role, "token": token, "id": tid}
                     for role, token, tid in info.special_tokens]
    return {"summary": pd.DataFrame(summary),
            "specials": pd.DataFrame(specials, columns=["tokenizer", "role", "token", "id"])}


def parse_messages(messages_json: str) -> list[dict]:
    """Parse the chat editor's JSON into a list of messages, with a specific error when malformed."""
    try:
        messages = load_json(messages_json, "The messages")
    except InvalidInput as exc:
        raise InvalidInput(f"{exc} Expected a list like [{{\"role\": \"user\", \"content\": \"Hi\"}}].") from None
    if isinstance(messages, dict):
        messages = [messages]
    return messages


@ui_errors
def render_chats(tokenizers: list[str], messages_json: str, add_generation_prompt: bool = True, *,
                 settings: Settings | None = None):
    """Render a chat through each tokenizer's chat template, with special tokens highlighted.

    Args:
        tokenizers: tokenizer references.
        messages_json: a JSON list of {"role": "system"|"user"|"assistant", "content": "..."} messages.
        add_generation_prompt: end with the tokens that open the assistant's turn.

    Returns:
        The rendered prompts (HTML) and a table of template token overhead.
    """
    messages = parse_messages(messages_json)
    blocks, rows, failures = [], [], []
    for ref in _selection(tokenizers):
        name = _name(ref)
        try:
            r = tk.render_chat_detail(ref, messages, bool(add_generation_prompt), settings=settings)
        except WorkbenchError as exc:
            failures.append(exc)
            blocks.append(f"<div style='margin:.6em 0;color:#b91c1c'><b>{esc(name)}</b>: {esc(exc)}</div>")
            continue
        note = f"<div style='color:#92400e'>{esc(r.notice)}</div>" if r.notice else ""
        blocks.append(f"<div style='margin:.6em 0 .2em'><b>{esc(name)}</b>: {len(r.ids)} tokens "
                      f"({r.overhead_tokens} of them template overhead)</div>{note}"
                      f"<div style='line-height:2.1'>{token_spans(r.pieces, r.ids, r.is_special)}</div>"
                      f"<pre style='white-space:pre-wrap;font-size:.85em'>{esc(r.text)}</pre>")
        rows.append({"tokenizer": name, "prompt tokens": len(r.ids), "content tokens": r.content_tokens,
                     "template overhead": r.overhead_tokens})
    if not rows:
        raise failures[0]
    for exc in failures:
        gr.Warning(str(exc))
    return {"rendered": "".join(blocks), "overhead": pd.DataFrame(rows)}


def build(ctx: Context | Settings | None = None, links: Links | None = None) -> None:
    """Render the Tokenizers tab inside the current Blocks.

    Args:
        ctx: the app's context (its settings reach every handler), or bare settings.
        links: cross-tab targets; this tab receives tokenizer ids as "tokenizers.tokenizers".
    """
    ctx = as_context(ctx)
    with gr.Tab("Tokenizers", id="tokenizers"):
        gr.Markdown("See how each model's tokenizer splits your text: tokens with their ids (whitespace shown as "
                    "`·` `↵`), counts side by side, special tokens and chat templates. Pick presets, type any Hub "
                    "id, or a local folder.")
        choices = ModelBox(PRESETS, value=[PRESETS[0][1], PRESETS[1][1]], multiselect=True, label="Tokenizers",
                           elem_id="tok-choices")
        text = gr.Textbox(EXAMPLE_TEXT, lines=5, max_lines=20, label="Text", elem_id="tok-text")
        with gr.Row():
            special = gr.Checkbox(True, label="Add special tokens (BOS/EOS) as for a plain prompt")
            go = gr.Button("Tokenize", variant="primary", elem_id="tok-go")
        out = {"status": gr.HTML(elem_id="tok-status"), "tokens": gr.HTML(elem_id="tok-tokens")}
        with gr.Row():
            out["table"] = gr.Dataframe(headers=["tokenizer", "tokens", "chars/token", "words/token", "round-trip",
                                                 "vocab size"], label="Comparison", interactive=False,
                                        elem_id="tok-table", scale=3, wrap=False)
            out["chart"] = gr.BarPlot(x="tokenizer", y="tokens", title="Token count", y_lim=[0, None], scale=2,
                                      elem_id="tok-chart")
        with gr.Accordion("Raw ids (JSON)", open=False):
            out["raw"] = gr.JSON(label="ids per tokenizer")
        with gr.Accordion("Show code and notebook", open=False):
            out["code"] = gr.Code(language="python", label="Reproduce with plain transformers", elem_id="tok-code")
            out["notebook"] = gr.File(label=NOTEBOOK_LABEL, interactive=False, elem_id="tok-notebook")
        run = {"status": "status", "clear": ("tokens", "table", "chart", "raw", "code", "notebook"),
               "running": "Tokenizing…", **CHEAP_EVENT}
        tokenize = with_settings(tokenize_texts, ctx)
        on(go.click, tokenize, [choices, text, special], out, api_name="tokenize", **run)
        on(text.submit, tokenize, [choices, text, special], out, api_name=False, **run)
        if links is not None:
            links.register("tokenizers.tokenizers", "tokenizers", choices)

        with gr.Accordion("Decode ids", open=False):
            with gr.Row():
                dec_tok = ModelBox(PRESETS, value=PRESETS[0][1], label="Tokenizer", elem_id="dec-tok")
                dec_ids = gr.Textbox(label="Token ids", placeholder="9906, 1917, 0", elem_id="dec-ids")
            dec_go = gr.Button("Decode", elem_id="dec-go")
            dec_out = gr.Textbox(label="Decoded text", interactive=False, elem_id="dec-out")
            on(dec_go.click, with_settings(decode_ids, ctx), [dec_tok, dec_ids], {"text": dec_out}, api_name="decode",
               **CHEAP_EVENT)

        with gr.Accordion("Vocabulary and special tokens", open=False):
            facts_go = gr.Button("Show vocabulary facts", elem_id="facts-go")
            facts = {"summary": gr.Dataframe(headers=["tokenizer", "class", "vocab size", "base vocab",
                                                      "model max length", "chat template", "fast (Rust)"],
                                             label="Vocabulary", interactive=False, wrap=False),
                     "specials": gr.Dataframe(headers=["tokenizer", "role", "token", "id"], label="Special tokens",
                                              interactive=False)}
            on(facts_go.click, with_settings(tokenizer_facts, ctx), [choices], facts, api_name="tokenizer_info",
               **CHEAP_EVENT)

        with gr.Accordion("Chat template", open=False):
            messages = gr.Code(json.dumps(prompts.EXAMPLE_CHAT, indent=2, ensure_ascii=False), language="json",
                               label="Messages (JSON)", elem_id="chat-json")
            gen_prompt = gr.Checkbox(True, label="add_generation_prompt (open the assistant's turn)")
            chat_go = gr.Button("Render chat template", elem_id="chat-go")
            chat = {"rendered": gr.HTML(elem_id="chat-out"),
                    "overhead": gr.Dataframe(headers=["tokenizer", "prompt tokens", "content tokens",
                                                      "template overhead"], label="Template overhead",
                                             interactive=False)}
            on(chat_go.click, with_settings(render_chats, ctx), [choices, messages, gen_prompt], chat,
               api_name="render_chat", **CHEAP_EVENT)
