"""HTML and tables for the Evaluate tab's Contamination panel: the verdict cards (with what each method measures,
how to read it and its limits), the Min-K% distributions of the test and reference sets, the per-item table, and
one item's drill-down (its 13-gram spans marked, lowest tokens, completions, samples)."""

from __future__ import annotations

import math

import pandas as pd

from engines.evals.contamination import verdicts
from engines.evals.contamination.report import SIGNALS, Report, Row
from tabs.common import clean_text, esc

VERDICT_STYLE = {verdicts.NO: "#15803d", verdicts.WEAK: "#b45309", verdicts.STRONG: "#b91c1c",
                 verdicts.NOT_RATED: "#6b7280", "not run": "#6b7280"}
METHOD_SIGNALS = {"min_k": ("min_k", "min_k_pp"), "guided": ("guided_rouge", "general_rouge", "guided_gain"),
                  "sampling": ("peak", "distance", "flagged"), "ngrams": ("ngram_overlap", "dirty")}
_CARD = "border:1px solid #8884;border-radius:8px;padding:8px 12px;margin:6px 0"
_PRE = ("white-space:pre-wrap;word-break:break-word;font-family:monospace;font-size:.82em;background:#8881;"
        "border-radius:6px;padding:6px 8px;margin:4px 0;max-height:260px;overflow:auto")
_MARK = "background:#fca5a5;color:#111;border-radius:3px;padding:0 1px"
THRESHOLD_TEXT = {
    "min_k": "strong: AUROC ≥ 0.75 and p < 0.01 · weak: AUROC ≥ 0.60 and p < 0.05 (one-sided Mann–Whitney) · "
             "needs a reference set",
    "guided": "strong: guided − general ROUGE-L ≥ 0.10 and p < 0.01 · weak: difference > 0 and p < 0.05 "
              "(paired bootstrap)",
    "sampling": "strong: ≥ 50 % of items flagged · weak: ≥ 20 % (flag: peakedness > ξ)",
    "ngrams": "strong: ≥ 10 % of checked items share an n-gram with the corpus · weak: any item",
}


def clip(text: str, n: int = 90) -> str:
    """One line of at most n characters."""
    text = " ".join(clean_text(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _pill(verdict: str) -> str:
    colour = VERDICT_STYLE.get(verdict, "#6b7280")
    return (f"<span class='contam-verdict' data-verdict='{esc(verdict)}' style='background:{colour};color:#fff;"
            f"border-radius:4px;padding:1px 8px;font-size:.85em;white-space:nowrap'>{esc(verdict)}</span>")


def method_card(method: str, summary=None) -> str:
    """One method: its verdict and headline (when run), notes, and what it measures / how to read it / limits."""
    info = verdicts.INFO[method]
    head = f"<b>{esc(info['label'])}</b> "
    body = ""
    if summary is not None:
        head += _pill(summary.verdict)
        body = f"<div>{esc(summary.headline)}</div>"
        body += "".join(f"<div style='font-size:.85em;color:#b45309'>{esc(n)}</div>" for n in summary.notes)
    about = (f"<details><summary style='font-size:.85em;cursor:pointer'>What it measures · how to read it · "
             f"limits</summary><div style='font-size:.85em'><p><b>Measures:</b> {esc(info['measures'])}</p>"
             f"<p><b>Read:</b> {esc(info['read'])}</p><p><b>Limits:</b> {esc(info['limits'])}</p>"
             f"<p><b>Verdict thresholds:</b> {esc(THRESHOLD_TEXT[method])}</p></div></details>")
    return f"<div class='contam-card' data-method='{method}' style='{_CARD}'>{head}{body}{about}</div>"


def summary_html(report: Report) -> str:
    """The verdict cards of the methods that ran, and a line on the run."""
    cards = "".join(method_card(m, report.summaries.get(m)) for m in verdicts.INFO if m in report.summaries)
    line = (f"<div style='font-size:.85em;opacity:.85'>Report <code>{esc(report.id)}</code> · "
            f"{esc(report.model or 'no model')} · {esc(report.set_name)} ({report.set_size} items, sha256 "
            f"<code>{report.set_hash[:12]}</code>) · {esc(report.status)}</div>")
    return ("<div style='font-size:.85em;margin-bottom:4px'>These are <b>signals, never proof</b>: each method has "
            "known blind spots and false alarms (open a card's details).</div>" + cards + line)


def methods_html() -> str:
    """Every method's card before a run (what it measures, how to read it, limits)."""
    return "".join(method_card(m) for m in verdicts.INFO)


def _bins(values: list[float], low: float, high: float, n: int) -> list[int]:
    counts = [0] * n
    for v in values:
        counts[min(n - 1, int((v - low) / (high - low) * n)) if high > low else 0] += 1
    return counts


def distribution_svg(report: Report, key: str = "min_k_pp", n_bins: int = 20) -> str:
    """Histograms of a Min-K% score over the test items and the reference texts (shares of each set)."""
    test = [r.signals[key] for r in report.test_rows() if isinstance(r.signals.get(key), (int, float))]
    ref = [r.signals[key] for r in report.reference_rows() if isinstance(r.signals.get(key), (int, float))]
    if not test:
        return ""
    low, high = min(test + ref), max(test + ref)
    width, height, pad = 560, 180, 30
    series = [(test, "#2563eb", "test set"), (ref, "#f97316", "reference (unseen)")]
    shares = [[c / len(v) for c in _bins(v, low, high, n_bins)] if v else [] for v, _, _ in series]
    top = max(max(s) for s in shares if s) or 1.0
    bar = (width - 2 * pad) / n_bins
    parts = []
    for (_, colour, _), share in zip(series, shares, strict=True):
        for i, s in enumerate(share):
            h = (height - 2 * pad) * s / top
            parts.append(f"<rect x='{pad + i * bar:.1f}' y='{height - pad - h:.1f}' width='{bar - 1:.1f}' "
                         f"height='{h:.1f}' fill='{colour}' fill-opacity='0.55'/>")
    legend = "".join(f"<rect x='{pad + 170 * i}' y='6' width='10' height='10' fill='{c}'/><text "
                     f"x='{pad + 14 + 170 * i}' y='15' font-size='11'>{esc(label)} ({len(v)})</text>"
                     for i, (v, c, label) in enumerate(series) if v)
    name = SIGNALS[key]
    axis = (f"<text x='{pad}' y='{height - 8}' font-size='11'>{low:.3g}</text><text x='{width - pad}' "
            f"y='{height - 8}' font-size='11' text-anchor='end'>{high:.3g}</text><text x='{width / 2}' "
            f"y='{height - 8}' font-size='11' text-anchor='middle'>{esc(name)} (higher = more familiar)</text>")
    return (f"<svg class='contam-chart' viewBox='0 0 {width} {height}' width='100%' role='img' "
            f"aria-label='{esc(name)} distributions' style='max-width:{width}px'>{legend}{''.join(parts)}{axis}"
            f"<line x1='{pad}' y1='{height - pad}' x2='{width - pad}' y2='{height - pad}' stroke='#888'/></svg>")


def chart_html(report: Report) -> str:
    """The distribution chart of Min-K%++ (else Min-K%), when Min-K% ran."""
    if "min_k" not in report.summaries:
        return ""
    key = "min_k_pp" if any(r.signals.get("min_k_pp") is not None for r in report.rows) else "min_k"
    return distribution_svg(report, key)


def _value(v):
    if v is None:
        return math.nan
    if isinstance(v, bool):
        return "yes" if v else "no"
    return round(float(v), 4)


def table(report: Report) -> pd.DataFrame:
    """One row per item and reference text, a column per signal of the methods run (sortable: numbers stay
    numbers; an item a method could not score is empty)."""
    def ran(method: str) -> bool:
        summary = report.summaries.get(method)
        if summary is not None and summary.verdict != "not run":
            return True
        return any(r.signals.get(k) is not None for r in report.rows for k in METHOD_SIGNALS[method])

    keys = [k for m in METHOD_SIGNALS if ran(m) for k in METHOD_SIGNALS[m]]
    n = report.options.get("n", 13)
    titles = [SIGNALS[k].replace("13-gram", f"{n}-gram") for k in keys]
    rows = [[r.id, r.set, *(_value(r.signals.get(k)) for k in keys), clip(r.text)] for r in report.rows]
    return pd.DataFrame(rows, columns=["item", "set", *titles, "text"])


def marked(text: str, spans: list) -> str:
    """The text, escaped, with the given character spans marked."""
    out, at = [], 0
    for start, end in sorted((int(a), int(b)) for a, b in spans or []):
        if start < at:
            continue
        out.append(esc(clean_text(text[at:start])))
        out.append(f"<mark class='contam-span' style='{_MARK}'>{esc(clean_text(text[start:end]))}</mark>")
        at = end
    out.append(esc(clean_text(text[at:])))
    return "".join(out)


def _fmt(v) -> str:
    return "—" if v is None else ("yes" if v is True else "no" if v is False else f"{v:.4g}")


def _min_k_part(row: Row) -> str:
    lowest = row.detail.get("lowest") or []
    chips = " ".join(f"<code title='log p = {lp:.3f}'>{esc(clean_text(t))}</code> <small>{lp:.2f}</small>"
                     for t, lp in lowest)
    return (f"<p><b>Min-K%</b> {_fmt(row.signals.get('min_k'))} · <b>Min-K%++</b> "
            f"{_fmt(row.signals.get('min_k_pp'))} · {row.detail.get('tokens', '?')} tokens"
            f"{' (cut to the window)' if row.detail.get('truncated') else ''}</p>"
            f"<div style='font-size:.85em'>Least likely tokens: {chips}</div>")


def _guided_part(row: Row) -> str:
    if "guided" not in row.detail:
        return f"<p><b>Guided completion:</b> {esc(row.detail.get('guided_note', 'not run'))}</p>"
    return (f"<p><b>Guided vs general completion</b> (ROUGE-L {_fmt(row.signals.get('guided_rouge'))} vs "
            f"{_fmt(row.signals.get('general_rouge'))})</p><div style='font-size:.85em'>First piece:</div>"
            f"<div style='{_PRE}'>{esc(row.detail['first_piece'])}</div><div style='font-size:.85em'>True second "
            f"piece:</div><div style='{_PRE}'>{esc(row.detail['true_piece'])}</div><div style='font-size:.85em'>"
            f"Guided (told the dataset):</div><div style='{_PRE}'>{esc(row.detail['guided'])}</div>"
            f"<div style='font-size:.85em'>General:</div><div style='{_PRE}'>{esc(row.detail['general'])}</div>")


def _sampling_part(row: Row) -> str:
    if "greedy" not in row.detail:
        return f"<p><b>Sampling:</b> {esc(row.detail.get('sampling_note', 'not run'))}</p>"
    samples = "".join(f"<li><small>distance {d:.2f}</small> {esc(clip(s, 200))}</li>"
                      for s, d in zip(row.detail["samples"], row.detail["distances"], strict=False))
    return (f"<p><b>Sampling peakedness</b> {_fmt(row.signals.get('peak'))} (flagged: "
            f"{_fmt(row.signals.get('flagged'))})</p><div style='font-size:.85em'>Greedy answer:</div>"
            f"<div style='{_PRE}'>{esc(row.detail['greedy'])}</div><ol style='font-size:.85em'>{samples}</ol>")


def details_html(report: Report, item_id: str) -> str:
    """One item's (or reference text's) drill-down: the text with overlapping n-grams marked, and each method's
    details."""
    row = report.row(item_id) or report.row(item_id, "reference")
    if row is None:
        return f"<div style='{_CARD}'>No item '{esc(item_id)}' in report {esc(report.id)}.</div>"
    parts = [f"<div class='contam-details' style='{_CARD}'><b>{esc(row.id)}</b> <small>({esc(row.set)})</small>",
             f"<div class='contam-text' style='{_PRE}'>{marked(row.text, row.detail.get('ngram_spans'))}</div>"]
    if "ngram_count" in row.detail:
        docs = ", ".join(row.detail.get("ngram_documents") or []) or "none"
        parts.append(f"<p><b>N-gram overlap</b> {row.detail['ngram_matched']} of {row.detail['ngram_count']} "
                     f"n-grams found (marked) · documents: {esc(docs)}</p>")
    if "lowest" in row.detail:
        parts.append(_min_k_part(row))
    if row.set == "test" and "guided" in report.summaries:
        parts.append(_guided_part(row))
    if row.set == "test" and "sampling" in report.summaries:
        parts.append(_sampling_part(row))
    return "".join(parts) + "</div>"
