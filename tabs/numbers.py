"""Numbers for display, safe for any float: unknown, infinite or NaN values show as "—", and a fixed-point format
switches to three significant digits past 1e15, so a huge value (a Hub card's 1e308) never prints "inf B" or
hundreds of digits."""

from __future__ import annotations

import math

HUGE = 1e15


def number(value: float | None, fmt: str = ",.3g", unit: str = "") -> str:
    """``value`` formatted with ``fmt`` followed by ``unit``; "—" when it is None, infinite or NaN."""
    try:
        value = float(value) if value is not None else None
    except (TypeError, ValueError):
        return "—"
    if value is None or not math.isfinite(value):
        return "—"
    if abs(value) >= HUGE and fmt[-1:] in ("f", "d", "%"):
        fmt = ".3g"
    return f"{value:{fmt}}{unit}"
