"""The one stream coalescer of every tab: a handler's stream of dict updates, merged so the page (and the server's
one event loop, which every other call waits on) gets at most one update per ``STREAM_MIN_INTERVAL_S``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import gradio as gr

STREAM_MIN_INTERVAL_S = 0.05  # streams coalesce UI updates to at most ~20 per second


URGENT = "__urgent__"  # a key in a stream's update: it goes out at once (the key itself is never sent)


class Later:
    """A value of a streamed update computed only when the update goes out: an expensive render (a results matrix)
    that a newer update would replace before it is shown is never rendered."""

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


def _ready(update: dict) -> dict:
    return {k: v.make() if isinstance(v, Later) else v for k, v in update.items()}


def coalesce(updates, min_interval_s: float = STREAM_MIN_INTERVAL_S, urgent: frozenset = frozenset(),
             complete_last: bool = True):
    """Merge a stream of dict updates so at most one goes out per ``min_interval_s`` (later values win per key).

    Nothing is lost: the last update carries every key's newest value (what an API client receives); an update
    that moves an ``urgent`` key (the status line) to a new stage, such as "Loading the model…" after "Reading the
    prompt…", or that carries the ``URGENT`` key, goes out at once, so it is never held back behind the slow step
    that follows it. A status that only counts on ("12 tokens so far", then "13 tokens so far") is not a new stage:
    it is coalesced like any output. When the source fails, the updates it held back go out before the error (the
    page shows what the handler showed last). ``Later`` values are computed only when their update goes out.
    Without this, a fast stream (1,000+ tokens into a Markdown box) sends an update per token and the browser stops
    responding. ``complete_last=False`` (an event hidden from the API: only a page reads it, and it has every value
    already) sends only what was held back at the end: a complete last update went out after the one that said
    "done" and set an input the user may have typed into since (Chat's message box: the next question was wiped).
    """
    try:
        yield from _coalesced(updates, min_interval_s, urgent, complete_last)
    finally:
        getattr(updates, "close", lambda: None)()  # a stopped stream stops its source (its finally runs now)


_PLAIN = (str, int, float, bool, bytes, type(None), tuple, list, dict)
_FIGURES = re.compile(r"\d+")
_PLURAL = re.compile(r"(?<=\w)s\b")


def _same(a: Any, b: Any) -> bool:
    """Whether an output's new value is the one already sent (plain values, and component updates by their
    arguments: ``gr.Column(visible=True)`` again); anything else (a frame, an array) counts as changed."""
    if type(a) is not type(b):
        return False
    if isinstance(a, gr.blocks.Block):
        a, b = a.constructor_args, b.constructor_args
    elif not isinstance(a, _PLAIN):
        return False
    try:
        return (a == b) is True
    except Exception:  # noqa: BLE001  (a container holding a frame or an array: "ambiguous truth value")
        return False


def _stage(value: Any) -> Any:
    """What makes a status a new stage: its words, without figures or plurals ("1 token so far" and "2 tokens so far"
    are one stage); a status that is not text: itself."""
    return _PLURAL.sub("", _FIGURES.sub("#", value)) if isinstance(value, str) else value


def _new_stage(update: dict, sent: dict, urgent: frozenset) -> bool:
    """Whether ``update`` moves an urgent output to a stage other than the one last sent. Every step of a stream
    used to reset its status line ("12 tokens so far · 35 ms/token"), and every such update went out at once: the
    Next-token view sent one update per token, ~40 a second, each postprocessed on the event loop."""
    for key in urgent.intersection(update):
        if key not in sent:
            return True
        new, old = _stage(update[key]), _stage(sent[key])
        if not (isinstance(new, str) and isinstance(old, str) and new == old):
            return True
    return False


def _changed(update: dict, sent: dict) -> dict:
    """``update`` without the outputs whose value is the one sent last (the page keeps what it shows); ``sent``
    learns the rest. A streaming run resent every column's header, metrics and visibility at each token: work for
    the server's one event loop, which every other call waits on, for nothing the user sees."""
    out = {k: v for k, v in update.items() if not (k in sent and _same(v, sent[k]))}
    sent.update(out)
    return out


def _coalesced(updates, min_interval_s: float, urgent: frozenset, complete_last: bool = True):
    import time

    pending: dict = {}
    latest: dict = {}  # every output's newest value: the last update carries them all
    sent: dict = {}  # each output's value as last sent
    complete = False  # whether the update sent last held every output's newest value (what the last must hold)
    last = float("-inf")  # the first update goes out at once (monotonic() counts from boot: it may be < the interval)
    try:
        for update in updates:
            if not isinstance(update, dict):
                if pending:
                    yield _ready(pending)
                    pending = {}
                sent.clear()  # a non-dict update (Gradio's own form) may have set any output
                complete = False
                yield update
                continue
            now_please = URGENT in update
            update = {k: v for k, v in update.items() if k != URGENT} if now_please else update
            pending.update(update)
            latest.update(update)
            now = time.monotonic()
            if now_please or now - last >= min_interval_s or _new_stage(update, sent, urgent):
                out = _changed(_ready(pending), sent)
                if out:
                    complete = out.keys() == latest.keys()
                    yield out
                pending, last = {}, now
    except Exception:
        out = _changed(_ready(pending), sent) if pending else {}
        if out:  # held back by the interval: what the handler showed last goes out before its error
            yield out
        raise
    if not complete_last:
        out = _changed(_ready(pending), sent) if pending else {}
        if out:
            yield out
    elif latest and (pending or not complete):
        # an API client gets only the last update: it must hold every output, not "unchanged" placeholders (a
        # handler's one result, already sent whole, is not sent again: its tables and files postprocessed twice)
        yield _ready(latest)
