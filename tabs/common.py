"""Helpers shared by tabs: engine errors → gr.Error, the run-state mechanism, cross-tab links, safe HTML for tokens.
The model picker (ModelBox) and ChoiceBox live in ``tabs.components``, the cross-tab ``Links`` in ``tabs.kit.links``;
all are re-exported here."""

from __future__ import annotations

import errno
import functools
import html
import inspect
import logging
import threading
from collections.abc import Callable
from pathlib import Path

import gradio as gr

from engines.backends.types import Recipe
from engines.config import using_settings
from engines.errors import WorkbenchError
from engines.redact import redact
from tabs.components import ChoiceBox, ModelBox  # noqa: F401  (re-exported: every tab imports them from here)
from tabs.kit.links import Link, Links  # noqa: F401  (re-exported: cross-tab links live in the kit)
from tabs.streams import STREAM_MIN_INTERVAL_S, URGENT, Later, coalesce  # noqa: F401  (re-exported: tabs stream with them)

log = logging.getLogger("workbench.ui")

# Pastel backgrounds that stay readable in light and dark themes (dark text on them).
PALETTE = ("#fde68a", "#bfdbfe", "#bbf7d0", "#fbcfe8", "#ddd6fe", "#fed7aa", "#a5f3fc", "#e5e7eb")
SPECIAL_BG = "#fca5a5"


def to_ui_error(exc: BaseException) -> gr.Error:
    """A gr.Error for any exception: the engine's message for WorkbenchError, a generic one otherwise."""
    if isinstance(exc, gr.Error):
        return exc
    if isinstance(exc, WorkbenchError):
        return gr.Error(toast_text(redact(str(exc))), title=exc.title, print_exception=False)  # a user error
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


def clean_text(text: str) -> str:
    """Text safe to show: control characters (other than newline and tab) become spaces."""
    return "".join(c if c in "\n\t" or c.isprintable() else " " for c in str(text))


def toast_text(text: str) -> str:
    """A message for a toast: toasts render HTML, so "<name>" in a help message would vanish; angle brackets
    become ‹ › (readable in the browser and over the API alike) and control characters become spaces."""
    return clean_text(text).replace("<", "‹").replace(">", "›")


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
# Sandboxed programs (up to minutes of CPU each) share one slot: by default each run event would run two at once
# (three such events: six CPU-bound jobs on the cores that answer cheap events, each disturbing the others' timings).
SANDBOX_EVENT = {"concurrency_id": "sandbox", "concurrency_limit": 1}
# CPU-only events of milliseconds (tokenizers, facts, status) get more slots than the default two: a crowd calling
# one of them queued behind its own two slots (tokenize waited 16-22 s with 30 clients); short, so 8 can't starve
# anything (Gradio runs at most 40 events at once in all).
CHEAP_EVENT = {"concurrency_limit": 8}


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


def limiter_from_env(settings) -> RateLimiter | None:
    """The app's one rate limiter: ``settings.rate_limit`` (WORKBENCH_RATE_LIMIT=N/SECONDS; off locally by default,
    20/600 on a Space)."""
    raw = settings.rate_limit or ("20/600" if settings.on_space else "")
    if raw.lower() in ("", "0", "off", "none"):
        return None
    try:
        count, _, window = raw.partition("/")
        return RateLimiter(int(count), float(window or 60))
    except ValueError:
        log.warning("ignoring malformed WORKBENCH_RATE_LIMIT=%r (expected N/SECONDS)", raw)
        return None


def with_settings(fn: Callable, ctx) -> Callable:
    """``fn`` (a handler with a keyword ``settings``) given the app's settings on every call: ``ctx`` is the app's
    ``engines.context.Context`` (or a bare Settings). The signature Gradio, the API and MCP see, the docstring and
    the kind of callable stay those of ``fn``, without ``settings``. The call runs with the settings bound
    (``engines.config.using_settings``), so an engine reached without ``settings=`` reads them too
    (``Settings.current()``), not the environment again."""
    settings = getattr(ctx, "settings", ctx)
    sig = inspect.signature(fn)
    shown = sig.replace(parameters=[p for name, p in sig.parameters.items() if name != "settings"])
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            # each step runs with the settings bound (Gradio runs the steps of a stream in different threads), and
            # closing this stream (a cancelled event) closes the handler's at once
            steps = fn(*args, settings=settings, **kwargs)
            try:
                while True:
                    with using_settings(settings):
                        try:
                            update = next(steps)
                        except StopIteration as done:
                            return done.value
                    yield update
            finally:
                with using_settings(settings):
                    steps.close()
    else:

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with using_settings(settings):
                return fn(*args, settings=settings, **kwargs)

    wrapper.__signature__ = shown
    return wrapper


def user_of(request) -> str | None:
    """The logged-in user name behind a request (a ``gr.Request``), or None where no login is required: what
    user-owned things (evaluation runs, arena matches) are keyed on."""
    return getattr(request, "username", None) or None


def expensive(fn: Callable) -> Callable:
    """Mark a handler as expensive: it counts against the session's one rate limit (all expensive events of a
    session share it; ``tabs.server.WorkbenchBlocks`` enforces it before the handler runs)."""
    fn._workbench_expensive = True
    return fn


# ----------------------------------------------------------------------------------------------- downloads

EXPORTS_MAX_AGE_S = 3600.0  # download folders older than this are deleted when a new one is made
EXPORTS_SWEEP_S = 60.0  # ... by a sweep at most this often (each reads the whole folder)


def exports_root() -> Path:
    """Where every tab writes its download files: one app-owned folder under the system temp dir
    (``engines.context.Context.exports_dir``)."""
    from engines.context import default_exports_dir

    return default_exports_dir()


def export_folder(kind: str, max_age_s: float = EXPORTS_MAX_AGE_S) -> Path:
    """A fresh folder for one run's download files; folders older than ``max_age_s`` are deleted first.

    Gradio copies a returned file into its own cache to serve it (that cache is bounded by ``delete_cache`` on the
    app), so a run's folder is needed only until its files are served: nothing piles up, whatever the traffic.
    """
    import shutil
    import tempfile
    import time

    root = exports_root()
    root.mkdir(parents=True, exist_ok=True)
    now = time.time()
    if _sweep_due(root / ".swept", now):  # a sweep reads every folder: at most one a minute, not one per call
        for old in root.iterdir():
            try:
                if old.name != ".swept" and now - old.stat().st_mtime > max_age_s:
                    shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)
            except OSError:  # another request removed it first
                continue
    return Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=root))


def _sweep_due(marker: Path, now: float, every_s: float = EXPORTS_SWEEP_S) -> bool:
    """True (and the marker touched) when the last sweep of the exports folder is over ``every_s`` seconds old."""
    try:
        if now - marker.stat().st_mtime < every_s:
            return False
    except OSError:  # no sweep yet
        pass
    try:
        marker.touch()
    except OSError:
        pass
    return True


def write_exports(kind: str, files: dict[str, str]) -> list[str]:
    """Write text download files into a fresh export folder (never a path the user chose).

    Returns:
        Their paths, in order.
    """
    folder = export_folder(kind)
    paths = []
    for name, content in files.items():
        path = folder / name
        path.write_text(content, encoding="utf-8")
        paths.append(str(path))
    return paths


def notebook_file(kind: str, name: str, build: Callable | Recipe, *args, **kwargs) -> str | None:
    """Write a run's notebook for download: ``build`` is the run's recipe (``engines.backends.Recipe``, the one its
    code box shows), or an ``engines.notebooks`` builder called with ``*args, **kwargs``. A notebook that can't be
    built is logged and left out: it never fails the run it describes."""
    from engines import notebooks

    try:
        nb = notebooks.build_notebook(build) if isinstance(build, Recipe) else build(*args, **kwargs)
        return str(notebooks.write_notebook(nb, export_folder(kind), name))
    except Exception:  # noqa: BLE001  (a bug in a notebook builder must not cost the user their result)
        log.exception("could not build the %s notebook", kind)
        return None


NOTEBOOK_LABEL = "Notebook (.ipynb): reproduces this run on a notebook box (Colab: Runtime → GPU where stated)"


# ----------------------------------------------------------------------------------------------- run state

STATE_STYLE = {  # state → (label, colour): one look for every tab's status line
    "idle": ("", "#6b7280"), "running": ("Running", "#1d4ed8"), "done": ("Done", "#15803d"),
    "warning": ("Done, with warnings", "#b45309"), "failed": ("Failed", "#b91c1c"), "stopped": ("Stopped", "#6b7280"),
}


def status_html(state: str, text: str = "") -> str:
    """The status line of a run: a coloured state pill and a sentence (escaped; ``**bold**`` kept)."""
    label, colour = STATE_STYLE[state]
    body = esc(clean_text(text))
    while body.count("**") >= 2:
        body = body.replace("**", "<b>", 1).replace("**", "</b>", 1)
    pill = (f"<span style='background:{colour};color:#fff;border-radius:4px;padding:1px 8px;font-size:.85em;"
            f"margin-right:6px'>{label}</span>") if label else ""
    return f"<div class='run-status' data-state='{state}'>{pill}{body}</div>"


def run_stop_flag(holder) -> threading.Event:
    """This run's stop flag: the one ``on(..., stop_flag=holder)`` put in the session's holder (a ``gr.State`` dict)
    before the run's first update went out, else a new one, put there. Stop sets ``holder["stop"]``."""
    stop = holder.get("stop") if isinstance(holder, dict) else None
    if not isinstance(stop, threading.Event):
        stop = threading.Event()
        if isinstance(holder, dict):
            holder["stop"] = stop
    return stop


def run_state(status: gr.Component, clear: tuple[gr.Component, ...] = (), running: str = "Working…",
              stop_flag: int | None = None) -> Callable:
    """The one run-state mechanism: wrap a handler that yields (or returns) dicts of component updates.

    At the start of a run the status shows *running* and every component in ``clear`` is emptied, so no result of
    an earlier run stays next to a new one; an error replaces the status line with *failed* and the reason (and
    shows the error toast); a run whose handler never set the status ends *done*. ``ui_errors`` is applied.

    Args:
        status: the tab's status component (gr.HTML), updated with ``status_html``.
        clear: result components emptied when a run starts.
        running: the status text while the run starts.
        stop_flag: the position of the input holding the session's run holder (a ``gr.State`` dict): a new stop flag
            goes there before "running" goes out (``run_stop_flag``). The handler made its own when its body
            began, a step later: a Stop pressed as soon as the page showed "Running" set the last run's flag,
            and the new run went on to its end.
    """

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if stop_flag is not None and stop_flag < len(args) and isinstance(args[stop_flag], dict):
                args[stop_flag]["stop"] = threading.Event()
            yield {status: status_html("running", running), **{c: None for c in clear}}
            said = False
            try:
                for update in (fn(*args, **kwargs) if inspect.isgeneratorfunction(fn) else [fn(*args, **kwargs)]):
                    said = said or (isinstance(update, dict) and status in update)
                    yield update
            except Exception as exc:
                error = to_ui_error(exc)
                yield {status: status_html("failed", error.message if isinstance(error.message, str) else "")}
                raise error from None
            if not said:
                yield {status: status_html("done")}

        return wrapper

    return decorate


def named(fn: Callable, outputs: dict[str, gr.Component]) -> Callable:
    """Wrap a handler that returns (or yields) dicts keyed by output *names* into one Gradio understands (keyed by
    component). Names not in a dict leave their component unchanged; signature, docstring and kind are kept. A
    stream's ``URGENT`` marker stays for ``on()``'s coalescer (a plain result's is dropped)."""

    def convert(update):
        if not isinstance(update, dict):
            raise TypeError(f"{fn.__name__} must return a dict keyed by output names, got {type(update).__name__}")
        unknown = set(update) - set(outputs) - {URGENT}
        if unknown:
            raise KeyError(f"{fn.__name__} returned unknown outputs {sorted(unknown)}")
        return {(k if k == URGENT else outputs[k]): v for k, v in update.items()}

    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            for update in fn(*args, **kwargs):
                yield convert(update)
    else:

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            out = convert(fn(*args, **kwargs))
            out.pop(URGENT, None)
            return out

    return wrapper


def on(event: Callable, fn: Callable | None, inputs, outputs: dict[str, gr.Component] | list | gr.Component | None,
       *, status: str | None = None, clear: tuple[str, ...] = (), running: str = "Working…",
       stop_flag: gr.State | None = None, **kwargs):
    """Register ``fn`` on ``event`` (e.g. ``button.click``): ``fn`` returns or yields dicts keyed by the names of
    ``outputs``; a stream's updates are coalesced (``coalesce``).

    With ``status`` (the name of the status output) the run-state mechanism applies (``run_state``): ``clear``
    names the results emptied when a run starts, and Gradio's progress and error marks go on the status line only
    (not on every output); ``stop_flag`` (an input: the session's run holder) gets the run's stop flag before the
    run shows "running" (``run_stop_flag``). Either way errors become the app's own messages (``ui_errors``). Other
    keyword arguments go to the event.

    This is the one way tabs register events (tests/app/test_events.py checks it). ``outputs`` may also be what
    Gradio takes (a component, a list, None): ``fn`` (or None, for a ``js``-only event) then returns what Gradio
    expects, with errors still turned into the app's messages.
    """
    if not isinstance(outputs, dict):
        if status is not None or clear:
            raise TypeError("status and clear name outputs: pass the outputs as a dict")
        return event(None if fn is None else ui_errors(fn), inputs, outputs, **kwargs)
    handler = named(fn, outputs)
    if status is not None:
        index = None if stop_flag is None else list(inputs).index(stop_flag)
        handler = run_state(outputs[status], tuple(outputs[c] for c in clear), running, index)(handler)
        kwargs.setdefault("show_progress_on", outputs[status])
    else:
        handler = ui_errors(handler)  # no status line: the error still reaches the user as the app's own message
    if inspect.isgeneratorfunction(handler):
        inner, urgent = handler, frozenset([outputs[status]] if status is not None else [])
        for_api = kwargs.get("api_name") is not False  # a page-only event's last update needn't hold every output

        @functools.wraps(inner)
        def handler(*args, **kw):
            yield from coalesce(inner(*args, **kw), urgent=urgent, complete_last=for_api)

    return event(handler, inputs, list(outputs.values()), **kwargs)
