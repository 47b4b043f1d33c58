"""Charts drawn as plain HTML: grouped horizontal bars whose labels never overlap (they wrap beside the bars) and
that read the same on a phone. For the few charts where Gradio's plots stack or crowd their labels."""

from __future__ import annotations

from tabs.common import PALETTE, esc

# Darker than the token palette: bars need contrast against a white or dark page.
SERIES_COLOURS = ("#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#06b6d4", "#84cc16", "#ec4899")


def grouped_bars(groups: dict[str, dict[str, float]], *, unit: str = "", maximum: float | None = None,
                 title: str = "") -> str:
    """Horizontal bars grouped by ``groups`` keys, one bar per series (coloured by series, with a legend).

    Args:
        groups: group label → {series label → value}; missing series are left out of that group.
        unit: appended to each value label (e.g. "%").
        maximum: the value of a full-width bar (default: the largest value).
        title: a heading above the chart.

    Returns:
        HTML.
    """
    series = list(dict.fromkeys(s for values in groups.values() for s in values))
    if not series:
        return "<div class='wb-chart' style='opacity:.7'>Nothing to chart yet.</div>"
    colour = {s: SERIES_COLOURS[i % len(SERIES_COLOURS)] for i, s in enumerate(series)}
    top = maximum or max((v for values in groups.values() for v in values.values()), default=1.0) or 1.0
    legend = "".join(f"<span style='margin-right:12px;white-space:nowrap'><span style='display:inline-block;"
                     f"width:10px;height:10px;border-radius:2px;background:{colour[s]};margin-right:4px'></span>"
                     f"{esc(s)}</span>" for s in series)
    rows = []
    for group, values in groups.items():
        bars = "".join(
            f"<div style='display:flex;align-items:center;gap:6px;margin:1px 0'>"
            f"<div style='flex:1;min-width:0'><div title='{esc(s)}: {v:g}{esc(unit)}' style='height:12px;"
            f"border-radius:2px;background:{colour[s]};width:{max(0.5, 100 * v / top):.1f}%'></div></div>"
            f"<span style='font-size:.8em;min-width:3.5em;text-align:right'>{v:g}{esc(unit)}</span></div>"
            for s, v in values.items())
        rows.append(f"<div style='display:grid;grid-template-columns:minmax(90px,28%) 1fr;gap:8px;"
                    f"align-items:center;padding:4px 0;border-bottom:1px solid {PALETTE[-1]}'>"
                    f"<div style='font-size:.85em;overflow-wrap:anywhere'>{esc(group)}</div><div>{bars}</div></div>")
    head = f"<div style='font-weight:600;margin-bottom:4px'>{esc(title)}</div>" if title else ""
    return (f"<div class='wb-chart'>{head}<div style='font-size:.85em;margin-bottom:6px'>{legend}</div>"
            f"{''.join(rows)}</div>")
