"""Per-field distributions of a generated dataset: histograms for numbers and dates, counts for enums and bools,
the most common values for text."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from engines import errors
from engines.synthetic.fields import Field
from engines.synthetic.limits import MAX_BINS


@dataclass
class FieldSummary:
    """The distribution of one field: ``buckets`` are (label, count) pairs; ``facts`` min/max/mean/unique..."""

    name: str
    type: str
    kind: str  # histogram | counts | top
    buckets: list[tuple[str, int]]
    facts: dict[str, Any]


def summarize(rows: list[dict], fields: list[Field], bins: int = 10) -> list[FieldSummary]:
    """Per-field distributions: histograms for numbers and dates, counts for enums and bools, top values for text.

    Args:
        rows: validated rows.
        fields: their fields.
        bins: histogram bins for numbers and dates (1 to ``MAX_BINS``).

    Returns:
        One FieldSummary per field, in field order.

    Raises:
        InvalidInput: bins out of range.
    """
    if not isinstance(bins, int) or isinstance(bins, bool) or not 1 <= bins <= MAX_BINS:
        raise errors.InvalidInput(f"The number of histogram bins must be between 1 and {MAX_BINS}.")
    out = []
    for f in fields:
        values = [r[f.name] for r in rows if r.get(f.name) is not None]
        if f.type in ("int", "float"):
            out.append(_numeric_summary(f, values, bins))
        elif f.type == "date":
            out.append(_date_summary(f, values, bins))
        elif f.type in ("enum", "bool"):
            options = f.values if f.type == "enum" else [True, False]
            counts = Counter(values)
            out.append(FieldSummary(f.name, f.type, "counts", [(_label(v), counts[v]) for v in options],
                                    {"distinct": len(counts)}))
        else:
            counts = Counter(values)
            mean_len = sum(len(v) for v in values) / len(values) if values else 0.0
            out.append(FieldSummary(f.name, f.type, "top", [(v, n) for v, n in counts.most_common(5)],
                                    {"distinct": len(counts), "mean length": round(mean_len, 1)}))
    return out


def _label(v: Any) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def _histogram(values: list[float], bins: int, integer: bool) -> list[tuple[float, float, int]]:
    lo, hi = min(values), max(values)
    if integer and hi - lo + 1 <= bins:
        counts = Counter(values)
        return [(v, v, counts[v]) for v in range(int(lo), int(hi) + 1)]
    if lo == hi:
        return [(lo, hi, len(values))]
    width = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / width))] += 1
    return [(lo + i * width, lo + (i + 1) * width, c) for i, c in enumerate(counts)]


def _numeric_summary(f: Field, values: list, bins: int) -> FieldSummary:
    if not values:
        return FieldSummary(f.name, f.type, "histogram", [], {})
    hist = _histogram(values, bins, f.type == "int")
    fmt = (lambda x: f"{x:,.0f}") if f.type == "int" else (lambda x: f"{x:,.3g}")
    buckets = [(fmt(a) if a == b else f"{fmt(a)}–{fmt(b)}", c) for a, b, c in hist]
    facts = {"min": min(values), "max": max(values), "mean": round(sum(values) / len(values), 3),
             "distinct": len(set(values))}
    return FieldSummary(f.name, f.type, "histogram", buckets, facts)


def _date_summary(f: Field, values: list, bins: int) -> FieldSummary:
    if not values:
        return FieldSummary(f.name, f.type, "histogram", [], {})
    ordinals = [date.fromisoformat(v).toordinal() for v in values]
    hist = _histogram(ordinals, bins, True)
    buckets = [(date.fromordinal(int(a)).isoformat() if a == b else
                f"{date.fromordinal(int(a)).isoformat()}–{date.fromordinal(int(b)).isoformat()}", c)
               for a, b, c in hist]
    return FieldSummary(f.name, f.type, "histogram", buckets,
                        {"min": min(values), "max": max(values), "distinct": len(set(values))})
