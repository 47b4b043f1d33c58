"""Helpers shared by tabs: engine errors → gr.Error, safe HTML for tokens."""

from __future__ import annotations

import functools
import html
import inspect
import logging
from collections.abc import Callable

import gradio as gr

from engines.errors import WorkbenchError
from engines.redact import redact

log = logging.getLogger("workbench.ui")

# Pastel backgrounds that stay readable in light and dark themes (dark text on them).
PALETTE = ("#fde68a", "#bfdbfe", "#bbf7d0", "#fbcfe8", "#ddd6fe", "#fed7aa", "#a5f3fc", "#e5e7eb")
SPECIAL_BG = "#fca5a5"


def to_ui_error(exc: BaseException) -> gr.Error:
    """A gr.Error for any exception: the engine's message for WorkbenchError, a generic one otherwise."""
    if isinstance(exc, gr.Error):
        return exc
    if isinstance(exc, WorkbenchError):
        return gr.Error(redact(str(exc)), title=exc.title)
    log.error("unexpected error in a UI handler", exc_info=exc)
    return gr.Error(f"Something went wrong ({type(exc).__name__}). The app keeps running; the details are in the "
                    "server log.", title="Unexpected error")


def ui_errors(fn: Callable) -> Callable:
    """Wrap a handler (plain or generator) so no traceback reaches the UI: errors become gr.Error."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def gen_wrapper(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except Exception as exc:
                raise to_ui_error(exc) from None

        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            raise to_ui_error(exc) from None

    return wrapper


def visible_ws(text: str) -> str:
    """Whitespace made visible: space → ·, newline → ↵, tab → →."""
    return text.replace(" ", "·").replace("\n", "↵").replace("\t", "→").replace("\r", "␍")


def esc(text: str) -> str:
    """HTML-escape text (quotes included)."""
    return html.escape(str(text), quote=True)


def token_spans(pieces: list[str], ids: list[int], is_special: list[bool]) -> str:
    """Coloured token spans: each token's text (whitespace visible) with its id beneath, specials in red."""
    out = []
    for n, (piece, tid, special) in enumerate(zip(pieces, ids, is_special, strict=True)):
        bg = SPECIAL_BG if special else PALETTE[n % len(PALETTE)]
        shown = esc(visible_ws(piece)) if piece else "<i title='part of a multi-byte character'>◦</i>"
        out.append(
            f"<span title='id {tid}' style='display:inline-flex;flex-direction:column;align-items:center;"
            f"background:{bg};color:#111;border-radius:4px;margin:1px;padding:0 3px;font-family:monospace;"
            f"line-height:1.2;{'font-weight:bold;' if special else ''}'>"
            f"<span style='white-space:pre'>{shown}</span><small style='opacity:.65'>{tid}</small></span>"
        )
    return "".join(out)
