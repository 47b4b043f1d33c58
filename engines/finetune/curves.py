"""Loss curves as a self-contained SVG (no plotting library): the tab shows it live, the model card keeps a copy."""

from __future__ import annotations

import html
import math

TRAIN_COLOUR, EVAL_COLOUR = "#2563eb", "#ea580c"


def series(metrics: list[dict]) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    """(train, held-out) loss points from a run's metrics records, by step (later records win on a repeated step)."""
    train: dict[int, float] = {}
    held: dict[int, float] = {}
    for r in metrics:
        step = int(r.get("step", 0))
        if r.get("kind") == "train" and _finite(r.get("loss")):
            train[step] = float(r["loss"])
        elif r.get("kind") == "eval" and _finite(r.get("eval_loss")):
            held[step] = float(r["eval_loss"])
    return sorted(train.items()), sorted(held.items())


def _finite(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


def loss_svg(metrics: list[dict], *, max_steps: int | None = None, width: int = 640, height: int = 260) -> str:
    """An SVG line chart of train (blue) and held-out (orange) loss against the step.

    Args:
        metrics: the run's metrics records.
        max_steps: the run's length (the x axis spans it, so progress shows); default: the last step logged.
        width: pixels.
        height: pixels.

    Returns:
        ``<svg …>`` text; ``data-points`` holds the number of points drawn.
    """
    train, held = series(metrics)
    points = train + held
    left, right, top, bottom = 52, 12, 14, 34
    w, h = width - left - right, height - top - bottom
    x_max = max([max_steps or 0] + [s for s, _ in points] + [1])
    lows = [v for _, v in points] or [0.0]
    y_lo, y_hi = min(lows), max(lows)
    if y_hi - y_lo < 1e-9:
        y_lo, y_hi = y_lo - 0.5, y_hi + 0.5
    pad = (y_hi - y_lo) * 0.08
    y_lo, y_hi = y_lo - pad, y_hi + pad

    def xy(step: int, value: float) -> tuple[float, float]:
        return left + w * step / x_max, top + h * (1 - (value - y_lo) / (y_hi - y_lo))

    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' class='ft-curve' viewBox='0 0 {width} {height}' "
             f"width='100%' style='max-width:{width}px' data-points='{len(points)}' role='img' "
             f"aria-label='loss curves'>",
             f"<rect x='{left}' y='{top}' width='{w}' height='{h}' fill='none' stroke='#9ca3af' stroke-width='1'/>"]
    parts += _ticks(left, top, w, h, x_max, y_lo, y_hi)
    for pts, colour, dash in ((train, TRAIN_COLOUR, ""), (held, EVAL_COLOUR, " stroke-dasharray='5 3'")):
        if pts:
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(s, v) for s, v in pts))
            parts.append(f"<polyline fill='none' stroke='{colour}' stroke-width='2'{dash} points='{coords}'/>")
            for s, v in pts[-1:] if len(pts) > 40 else pts:
                x, y = xy(s, v)
                parts.append(f"<circle cx='{x:.1f}' cy='{y:.1f}' r='2.5' fill='{colour}'><title>step {s}: "
                             f"{v:.4f}</title></circle>")
    parts.append(_legend(left + w, top, bool(held)))
    if not points:
        parts.append(f"<text x='{left + w / 2}' y='{top + h / 2}' text-anchor='middle' fill='#6b7280' "
                     "font-size='13'>waiting for the first logged step…</text>")
    parts.append("</svg>")
    return "".join(parts)


def _ticks(left: int, top: int, w: int, h: int, x_max: int, y_lo: float, y_hi: float) -> list[str]:
    out = []
    for i in range(5):
        value = y_lo + (y_hi - y_lo) * i / 4
        y = top + h * (1 - i / 4)
        out.append(f"<line x1='{left}' x2='{left + w}' y1='{y:.1f}' y2='{y:.1f}' stroke='#e5e7eb'/>"
                   f"<text x='{left - 6}' y='{y + 4:.1f}' text-anchor='end' font-size='11' fill='#6b7280'>"
                   f"{value:.3g}</text>")
    for i in range(5):
        step = round(x_max * i / 4)
        x = left + w * step / x_max
        out.append(f"<text x='{x:.1f}' y='{top + h + 14}' text-anchor='middle' font-size='11' fill='#6b7280'>"
                   f"{step}</text>")
    out.append(f"<text x='{left + w / 2}' y='{top + h + 28}' text-anchor='middle' font-size='11' "
               f"fill='#6b7280'>step</text>")
    return out


def _legend(right: float, top: int, held: bool) -> str:
    y = top + 16
    items = [(TRAIN_COLOUR, "train loss")] + ([(EVAL_COLOUR, "held-out loss")] if held else [])
    out = []
    for i, (colour, label) in enumerate(items):
        x = right - 110 * (len(items) - i)
        out.append(f"<rect x='{x}' y='{y - 8}' width='14' height='3' fill='{colour}'/>"
                   f"<text x='{x + 18}' y='{y - 4}' font-size='11' fill='#374151'>{html.escape(label)}</text>")
    return "".join(out)
