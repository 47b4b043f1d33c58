"""Helpers shared by tabs: engine errors → gr.Error, safe HTML for tokens."""

from __future__ import annotations

import errno
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
        return gr.Error(redact(str(exc)), title=exc.title, print_exception=False)  # a user error, not a bug
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        log.error("disk full while writing: %s", exc)
        return gr.Error("The server's disk is full, so a file could not be written. Nothing else was lost: free some "
                        "space (or ask the admin to) and try again.", title="Disk full", print_exception=False)
    log.error("unexpected error in a UI handler", exc_info=exc)
    return gr.Error(f"Something went wrong ({type(exc).__name__}). The app keeps running; the details are in the "
                    "server log.", title="Unexpected error", print_exception=False)  # logged above, redacted


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


# Events that run a model share one queue slot group, so they never oversubscribe the GPU (or the CPU cores);
# cheap events (tokenizers, tables) keep the default concurrency and stay responsive.
GPU_EVENT = {"concurrency_id": "gpu", "concurrency_limit": 1}


class RateLimiter:
    """At most ``max_events`` expensive events per session in a sliding window of ``window_s`` seconds."""

    def __init__(self, max_events: int, window_s: float):
        import threading

        self.max_events, self.window_s = max_events, window_s
        self._events: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def check(self, session: str) -> None:
        """Record one event for ``session``; raise gr.Error when over the limit."""
        import time

        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._events.get(session, []) if now - t < self.window_s]
            if len(recent) >= self.max_events:
                wait = int(self.window_s - (now - recent[0])) + 1
                self._events[session] = recent
                raise gr.Error(f"Rate limit: at most {self.max_events} runs per {int(self.window_s)} s on this "
                               f"deployment. Try again in {wait} s.", title="Slow down")
            recent.append(now)
            self._events[session] = recent
            if len(self._events) > 10_000:  # forget idle sessions
                self._events = {k: v for k, v in self._events.items() if v and now - v[-1] < self.window_s}


def _limiter_from_env() -> RateLimiter | None:
    import os

    from engines.config import Settings

    raw = os.environ.get("WORKBENCH_RATE_LIMIT", "").strip() or ("20/600" if Settings.from_env().on_space else "")
    if raw.lower() in ("", "0", "off", "none"):
        return None
    try:
        count, _, window = raw.partition("/")
        return RateLimiter(int(count), float(window or 60))
    except ValueError:
        log.warning("ignoring malformed WORKBENCH_RATE_LIMIT=%r (expected N/SECONDS)", raw)
        return None


def expensive(fn: Callable) -> Callable:
    """Mark a handler as expensive: per-session rate limit (WORKBENCH_RATE_LIMIT=N/SECONDS; off locally by default,
    20/600 on a public Space). Gradio passes the request through an added trailing ``request`` parameter."""
    limiter = _limiter_from_env()
    if limiter is None:
        return fn
    sig = inspect.signature(fn)
    n = len(sig.parameters)

    def split(args, kwargs):
        request = kwargs.pop("request", None)
        if len(args) > n:
            request, args = args[n], args[:n]
        session = getattr(request, "session_hash", None)
        host = getattr(getattr(request, "client", None), "host", None)
        limiter.check(session or host or "anonymous")
        return args, kwargs

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            args, kwargs = split(args, kwargs)
            yield from fn(*args, **kwargs)
    else:

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            args, kwargs = split(args, kwargs)
            return fn(*args, **kwargs)

    request_param = inspect.Parameter("request", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                                      annotation=gr.Request)
    wrapper.__signature__ = sig.replace(parameters=[*sig.parameters.values(), request_param])
    wrapper.__annotations__ = {**getattr(fn, "__annotations__", {}), "request": gr.Request}
    del wrapper.__wrapped__  # gradio must see the new signature, not the wrapped one
    return wrapper
