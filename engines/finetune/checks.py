"""Checked runs kept server-side for a while, so Start reuses what Check prepared: the data is read, rendered and
tokenized once, not once per button.

A check is keyed by a digest of what was asked (the model, every data and hyperparameter value, and the bytes of an
uploaded file): the same request gets the same handle, so Start — whose parameters are Check's, unchanged — finds
the prepared run under it. A changed value or file is a different handle (prepared again). Entries expire after
``TTL_S`` and at most ``MAX_KEPT`` are held (each holds a tokenizer and the examples).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

TTL_S = 15 * 60.0
MAX_KEPT = 8
_LOCK = threading.Lock()
_KEPT: OrderedDict[str, tuple[float, Any]] = OrderedDict()


def _file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return f"unreadable:{path}"
    return h.hexdigest()


def handle(request: dict, files: tuple[str | Path | None, ...] = ()) -> str:
    """The handle of a run request: a digest of its values and of the content of its files.

    Args:
        request: every value the run is prepared from (JSON-serialisable; non-JSON values are stringified).
        files: uploaded files the request reads (their bytes count, not their temporary paths).

    Returns:
        A short hex id, the same for the same request.
    """
    body = json.dumps({"request": request, "files": [_file_digest(f) for f in files if f]}, sort_keys=True,
                      default=str, ensure_ascii=False)
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:24]


def _expire(now: float) -> None:
    for key in [k for k, (at, _) in _KEPT.items() if now - at > TTL_S]:
        del _KEPT[key]
    while len(_KEPT) > MAX_KEPT:
        _KEPT.popitem(last=False)


def keep(key: str, prepared: Any) -> str:
    """Hold ``prepared`` under ``key`` for ``TTL_S`` seconds; returns the key."""
    with _LOCK:
        now = time.monotonic()
        _KEPT[key] = (now, prepared)
        _KEPT.move_to_end(key)
        _expire(now)
    return key


def take(key: str) -> Any | None:
    """The prepared run held under ``key`` (removed: a run starts from it once), or None."""
    with _LOCK:
        _expire(time.monotonic())
        found = _KEPT.pop(key, None)
    return found[1] if found else None


def peek(key: str) -> Any | None:
    """The prepared run held under ``key`` (kept), or None."""
    with _LOCK:
        _expire(time.monotonic())
        found = _KEPT.get(key)
    return found[1] if found else None


def prepared(key: str, make: Callable[[], Any]) -> Any:
    """The run prepared under ``key``, made with ``make()`` and kept when none is held.

    Args:
        key: ``handle(...)`` of the request.
        make: prepares the run (reads and tokenizes the data); an error is raised, nothing kept.
    """
    found = peek(key)
    if found is not None:
        return found
    made = make()
    keep(key, made)
    return made


def forget_all() -> None:
    """Drop every held check (tests; a settings change)."""
    with _LOCK:
        _KEPT.clear()
