"""HTML and tables for the Evaluate tab: the test set card, per-model progress, the results matrix, the summary with
its chart, the drill-down of one item, paired comparisons, pairwise judging and the flips between two runs."""

from __future__ import annotations

import math

import pandas as pd

from engines.evals import report
from engines.evals.judge import PairwiseSummary
from engines.evals.runner import ModelProgress, RunEvent
from engines.evals.scoring import LETTERS, METHOD_LABELS
from engines.evals.store import Result, RunInfo
from engines.evals.testsets import KIND_LABELS, RawTable, TestSet
from engines.refs import model_names
from tabs.common import clean_text, esc, status_html

PREVIEW_ROWS = 5
PENDING_BG, UNSCORED_BG, ERROR_BG = "#e5e7eb", "#fde68a", "#d1d5db"
_CARD = "border:1px solid #8884;border-radius:8px;padding:8px 12px;margin:4px 0"
_PRE = ("white-space:pre-wrap;word-break:break-word;font-family:monospace;font-size:.82em;background:#8881;"
        "border-radius:6px;padding:6px 8px;margin:4px 0;max-height:320px;overflow:auto")


def short(model: str) -> str:
    """A short column name for a model reference: a Hub id's last part; a local folder by what it holds
    (``refs.model_names``: an adapter as base + run, ``model`` by its config's name), never by its path."""
    name, _ = model_names(model)
    base, plus, run = name.partition(" + ")  # a fine-tune: base + run
    if ":" not in base.split("/")[0]:
        base = base.rsplit("/", 1)[-1]  # org/name → name
    if plus:
        return (base if len(base) <= 24 else base[:23] + "…") + " + " + (run if len(run) <= 20 else "…" + run[-19:])
    return base if len(base) <= 28 else base[:13] + "…" + base[-14:]


def title(model: str) -> str:
    """Hover text for a model's short name: its full name and where it loads from (no server path)."""
    name, where = model_names(model)
    return f"{name} — {where}" if where and where != name else name


def column_names(models: list[str]) -> list[str]:
    """Unique matrix column names, numbered in run order."""
    return [f"{n}. {short(m)}" for n, m in enumerate(models, start=1)]


def _clip(text: str, n: int) -> str:
    text = " ".join(clean_text(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


# ------------------------------------------------------------------------------------------------ test set


def preview_frame(table: RawTable, rows: int = PREVIEW_ROWS) -> pd.DataFrame:
    """The first rows of a source, every cell as short text (so lists and dicts show as written)."""
    import json

    def cell(v):
        text = json.dumps(v, ensure_ascii=False) if isinstance(v, (list, dict)) else ("" if v is None else str(v))
        return _clip(text, 120)

    return pd.DataFrame([[cell(r.get(c)) for c in table.columns] for r in table.rows[:rows]], columns=table.columns)


def set_html(testset: TestSet) -> str:
    """The loaded set: name, source, size, kinds, hash and mapping."""
    kinds = ", ".join(f"{n} {KIND_LABELS[k]}" for k, n in testset.kinds().items())
    mapping = " · ".join(f"{role} ← <code>{esc(col)}</code>" for role, col in testset.mapping.items())
    return (f"<div class='eval-set' style='{_CARD}'><b>{esc(testset.name)}</b> <small>({esc(testset.source)})"
            f"</small><br><b>{testset.size:,}</b> items: {esc(kinds)} · sha256 <code title='{testset.hash}'>"
            f"{testset.hash[:16]}</code><br><small>{mapping}</small></div>")


# ------------------------------------------------------------------------------------------------ progress


def progress_html(progress: list[ModelProgress]) -> str:
    """One bar per model: items done of total, status, scoring method, and the error that stopped it."""
    colours = {"waiting": "#9ca3af", "running": "#2563eb", "done": "#16a34a", "failed": "#dc2626",
               "stopped": "#6b7280"}
    rows = []
    for p in progress:
        pct = 100 * p.done / p.total if p.total else 0
        methods = ", ".join(METHOD_LABELS.get(m, m) for m in p.methods)
        error = f"<div style='color:#b91c1c;font-size:.85em'>{esc(p.error)}</div>" if p.error else ""
        redo = f" · {p.redo} cut off" if p.redo else ""
        rows.append(
            f"<div class='eval-progress' data-model='{esc(model_names(p.model)[0])}' data-status='{p.status}' "
            f"style='margin:3px 0'><div style='display:flex;gap:8px;align-items:center;font-size:.9em'>"
            f"<span style='flex:0 1 40%;min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap' "
            f"title='{esc(title(p.model))}'><b>{esc(short(p.model))}</b> <small>{esc(methods)}</small></span>"
            f"<span style='flex:1;min-width:60px;background:#8883;border-radius:4px;height:10px'>"
            f"<span style='display:block;height:10px;border-radius:4px;width:{pct:.1f}%;"
            f"background:{colours.get(p.status, '#6b7280')}'></span></span>"
            f"<span style='white-space:nowrap'>{p.done}/{p.total} · {esc(p.status)}{redo}</span></div>{error}</div>")
    return "".join(rows)


def final_status(event: RunEvent) -> str:
    """The status line when a run ends: complete, stopped (resumable) or incomplete (which model failed, why)."""
    failed = [p for p in event.progress if p.status == "failed"]
    done = f"{event.done:,}/{event.run.total:,} results"
    if event.status == "complete":
        return status_html("done", f"Run **{event.run.id}** complete: {done}.")
    if event.status == "stopped":
        return status_html("stopped", f"Run **{event.run.id}** stopped: {done} kept. Resume continues it.")
    why = " ".join(f"{short(p.model)}: {p.error}" for p in failed)
    redo = sum(p.redo for p in event.progress)
    if redo:
        why += (f" {redo} answer(s) were cut off by the server (the stream closed before the answer finished) and "
                "are stored as errors: Resume asks for them again.")
    again = "" if redo and not failed else " Resume continues it."
    return status_html("warning", f"Run **{event.run.id}** incomplete: {done}. {why.strip()}{again}")


# ------------------------------------------------------------------------------------------------ matrix


def score_colour(score: float | None) -> str:
    """Red (0) through amber to green (1), light enough for dark text."""
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return UNSCORED_BG
    hue = 120 * max(0.0, min(1.0, float(score)))
    return f"hsl({hue:.0f}, 75%, 78%)"


def _cell(result: Result | None) -> tuple[str, str]:
    if result is None:
        return "…", PENDING_BG
    if result.error:
        return "error", ERROR_BG
    if result.score is None:
        return "no score", UNSCORED_BG
    value = f"{result.score:.0f}" if result.score in (0, 1) else f"{result.score:.2f}"
    return value, score_colour(result.score)


def matrix(testset: TestSet, models: list[str], results: list[Result], only: set[str] | None = None):
    """The results matrix: a row per item, a column per model (then the question), each cell coloured by its score.

    Args:
        testset: the run's items.
        models: the run's models (column order).
        results: the results so far.
        only: show only these item ids (the "disagree" filter).

    Returns:
        A pandas Styler for ``gr.Dataframe``.
    """
    by = {(r.model, r.item_id): r for r in results}
    cols = column_names(models)
    data, colours = [], []
    for item in testset.items:
        if only is not None and item.id not in only:
            continue
        cells = [_cell(by.get((m, item.id))) for m in models]
        data.append([item.id, *[c[0] for c in cells], _clip(item.question, 70)])
        colours.append(["", *[f"background-color:{c[1]};color:#111" for c in cells], ""])
    frame = pd.DataFrame(data, columns=["item", *cols, "question"])  # scores next to the id, on a phone too
    styles = pd.DataFrame(colours, columns=frame.columns, index=frame.index) if colours else None
    return frame.style.apply(lambda _: styles, axis=None) if styles is not None else frame.style


# ------------------------------------------------------------------------------------------------ summary


def _pct(v: float | None) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}%"


def summary_html(summaries: list[report.ModelSummary]) -> str:
    """The per-model summary table (score with its 95 % interval, method, latency, tokens, cost) and the chart."""
    head = ("<tr><th>model</th><th>score (95 % CI)</th><th>acc_norm</th><th>scored by</th><th>scored</th>"
            "<th>no judge score</th><th>errors</th><th>latency (mean)</th><th>tokens in / out</th><th>cost</th></tr>")
    rows = []
    for s in summaries:
        ci = f"<b>{_pct(s.score.mean)}</b> <small>({_pct(s.score.low)}–{_pct(s.score.high)})</small>" \
            if s.scored else "—"
        latency = "—" if s.latency_mean_s is None else f"{s.latency_mean_s:.3f} s"
        cost = "—" if s.cost_usd is None else f"${s.cost_usd:.4f}"
        flag = " style='color:#b45309;font-weight:bold'" if s.judge_failed else ""
        rows.append(f"<tr><td title='{esc(title(s.model))}'><code>{esc(short(s.model))}</code></td><td>{ci}</td>"
                    f"<td>{_pct(s.acc_norm.mean) if s.acc_norm else '—'}</td><td>{esc(s.method_text)}</td>"
                    f"<td>{s.scored}/{s.results}</td><td{flag}>{s.judge_failed}</td><td>{s.errors}</td>"
                    f"<td>{latency}</td><td>{s.prompt_tokens:,} / {s.completion_tokens:,}</td><td>{cost}</td></tr>")
    table = (f"<div style='overflow-x:auto'><table class='eval-summary' style='width:100%;font-size:.9em'>{head}"
             f"{''.join(rows)}</table></div>")
    warning = report.small_sample_note(summaries)
    notes = [n for n in report.summary_notes(summaries) if n != warning]
    if any(s.judge_failed for s in summaries):
        notes.append("Items where the judge's reply held no readable score are counted apart and left out of the "
                     "mean (never guessed).")
    if any("loglikelihood" in s.methods for s in summaries):
        notes.append("Log-likelihood: score = acc; acc_norm divides each choice's log-likelihood by its length in "
                     "characters (lm-evaluation-harness).")
    note = "".join(f"<div style='font-size:.8em;opacity:.8'>{esc(n)}</div>" for n in notes)
    if warning:
        note += f"<div class='eval-small-sample' style='color:#b45309;font-weight:600'>⚠ {esc(warning)}</div>"
    return table + note + f"<div class='eval-chart' style='max-width:760px'>{report.chart_svg(summaries)}</div>"


def run_html(run: RunInfo) -> str:
    """One line on a stored run."""
    return (f"<div style='font-size:.85em;opacity:.85'>Run <code>{esc(run.id)}</code> · {esc(run.set_name)} "
            f"({run.set_size} items, sha256 <code>{run.set_hash[:12]}</code>) · {run.done}/{run.total} results · "
            f"{esc(run.status)}</div>")


# ------------------------------------------------------------------------------------------------ drill-down


def _result_card(r: Result, item) -> str:
    score = "error" if r.error else ("no score" if r.score is None else f"{r.score:.3g}")
    metrics = " · ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}" for k, v in r.metrics.items())
    tokens = f"{r.prompt_tokens if r.prompt_tokens is not None else '—'} in / " \
             f"{r.completion_tokens if r.completion_tokens is not None else '—'} out"
    parts = [f"<div style='{_CARD};border-left:6px solid {_cell(r)[1]}'><b title='{esc(r.model)}'>"
             f"{esc(short(r.model))}</b> · score <b>{esc(score)}</b> · {esc(METHOD_LABELS.get(r.method, r.method))}"
             f" · {esc(metrics)} · {esc(tokens)} · {r.latency_s:.3f} s"]
    if r.error:
        parts.append(f"<div style='color:#b91c1c'>{esc(r.error)}</div>")
    if r.judge_rationale or r.judge_failed:
        parts.append(f"<div><b>Judge</b> ({esc(r.detail.get('judge', ''))}): "
                     f"{'<b>no score in the reply</b> — ' if r.judge_failed else ''}{esc(r.judge_rationale)}</div>")
    parts.append(f"<details><summary>Prompt as the model read it</summary><div style='{_PRE}'>"
                 f"{esc(clean_text(r.prompt))}</div></details>")
    parts.append(_choices_html(r, item) if r.method == "loglikelihood" else
                 f"<div><b>Output</b></div><div style='{_PRE}'>{esc(clean_text(r.output))}</div>")
    for n, s in enumerate(r.detail.get("samples") or [], start=1):
        verdict = "passed" if s.get("passed") else "failed"
        parts.append(f"<details><summary>Sample {n}: tests {verdict}</summary><div style='{_PRE}'>"
                     f"{esc(s.get('code', ''))}</div><div style='{_PRE}'>{esc(s.get('stderr', ''))}</div></details>")
    return "".join(parts) + "</div>"


def _choices_html(r: Result, item) -> str:
    lls = r.detail.get("loglikelihoods") or []
    delim = r.detail.get("delimiter", "")
    rows = []
    for i, choice in enumerate(item.choices if item else []):
        ll = lls[i] if i < len(lls) else float("nan")
        marks = ("✓ " if item.answer == i else "") + ("← acc " if r.detail.get("pred") == i else "") + \
            ("← acc_norm" if r.detail.get("pred_norm") == i else "")
        rows.append(f"<tr><td>{LETTERS[i]}</td><td><code>{esc(repr(delim + choice))}</code></td><td>{ll:.4f}</td>"
                    f"<td>{ll / max(1, len(choice)):.4f}</td><td>{esc(marks)}</td></tr>")
    return ("<div><b>Choices scored by log-likelihood</b> (sum of log p(choice tokens | prompt))</div>"
            "<table style='font-size:.85em'><tr><th></th><th>continuation</th><th>log-likelihood</th>"
            f"<th>per character</th><th></th></tr>{''.join(rows)}</table>")


def details_html(testset: TestSet, item_id: str, results: list[Result]) -> str:
    """The drill-down of one item: the item, then per model the exact prompt, output, score, judge rationale,
    tokens and latency."""
    item = testset.item(item_id)
    if item is None:
        return f"<div>No item '{esc(item_id)}' in this run's test set.</div>"
    facts = [f"<b>Item {esc(item.id)}</b> · {esc(KIND_LABELS[item.kind])}",
             f"<div style='{_PRE}'>{esc(item.question)}</div>"]
    if item.references:
        facts.append(f"<div><b>Reference</b>: {esc(' | '.join(item.references))}</div>")
    if item.choices:
        facts.append("<div>" + " · ".join(f"<b>{LETTERS[i]}</b>. {esc(c)}{' ✓' if i == item.answer else ''}"
                                          for i, c in enumerate(item.choices)) + "</div>")
    if item.tests:
        facts.append(f"<div><b>Tests</b></div><div style='{_PRE}'>{esc(item.tests)}</div>")
    if item.rubric:
        facts.append(f"<div><b>Rubric</b>: {esc(item.rubric)}</div>")
    cards = [_result_card(r, item) for r in results if r.item_id == item.id]
    return (f"<div class='eval-details' data-item='{esc(item.id)}'><div style='{_CARD}'>{''.join(facts)}</div>"
            f"{''.join(cards) or '<div>No results for this item yet.</div>'}</div>")


# ------------------------------------------------------------------------------------------------ comparisons


def comparison_html(c: report.Comparison, testset: TestSet, disagree_only: bool) -> str:
    """A paired comparison: the test and its numbers, then the items (or only those where the models disagree)."""
    test = "McNemar exact test on pass/fail" if c.result.test == "mcnemar" else "paired bootstrap of the mean gap"
    warning = c.result.warning
    text = report.comparison_text(c).replace(f" · ⚠ {warning}", "") if warning else report.comparison_text(c)
    flag = (f"<div class='eval-small-sample' style='color:#b45309;font-weight:600'>⚠ {esc(warning)}</div>"
            if warning else "")
    head = (f"<div class='eval-comparison' style='{_CARD}'><b>{esc(short(c.model_a))}</b> (A) vs "
            f"<b>{esc(short(c.model_b))}</b> (B): {esc(text)}<br><small>{test} · "
            f"{len(c.disagreements())} item(s) where they disagree</small>{flag}</div>")
    rows = c.disagreements() if disagree_only else c.rows
    questions = {i.id: i.question for i in testset.items}
    body = "".join(f"<tr><td>{esc(i)}</td><td>{esc(_clip(questions.get(i, ''), 80))}</td>"
                   f"<td style='background:{score_colour(a)};color:#111'>{a:.3g}</td>"
                   f"<td style='background:{score_colour(b)};color:#111'>{b:.3g}</td></tr>" for i, a, b in rows)
    return head + (f"<table style='font-size:.85em'><tr><th>item</th><th>question</th><th>A</th><th>B</th></tr>"
                   f"{body}</table>" if rows else "<div>No items to list.</div>")


def pairwise_html(s: PairwiseSummary) -> str:
    """Pairwise judging: wins where both orders agree, ties, position-swap disagreements, unreadable verdicts."""
    agreement = "—" if s.agreement is None else f"{100 * s.agreement:.0f}%"
    unreadable = sum(1 for r in s.rows if r["agree"] is None)
    head = (f"<div class='eval-pairwise' style='{_CARD}'>Judge <code>{esc(s.judge)}</code> · {len(s.rows)}/{s.total}"
            f" items judged in both orders · <b>{esc(short(s.model_a))}</b> wins {s.count('winner', 'a')} · "
            f"<b>{esc(short(s.model_b))}</b> wins {s.count('winner', 'b')} · ties {s.count('winner', 'tie')} · "
            f"orders disagree {s.count('agree', False)} · unreadable {unreadable} · "
            f"<b>agreement between the two orders: {agreement}</b></div>")
    words = {"a": "A", "b": "B", "tie": "tie", None: "?"}
    body = "".join(f"<tr><td>{esc(r['item_id'])}</td><td>{words[r['first']]}</td><td>{words[r['second']]}</td>"
                   f"<td>{'✓' if r['agree'] else ('?' if r['agree'] is None else '✗')}</td>"
                   f"<td>{esc(_clip(r.get('rationale_first', ''), 120))}</td></tr>" for r in s.rows)
    return head + ("<table style='font-size:.85em'><tr><th>item</th><th>A first</th><th>B first</th><th>agree</th>"
                   f"<th>rationale</th></tr>{body}</table>")


def flips_html(flips: list[report.Flip], earlier: RunInfo, later: RunInfo) -> str:
    """Items whose pass/fail changed between an earlier run and this one."""
    warn = "" if earlier.set_hash == later.set_hash else (
        "<div style='color:#b45309'>The two runs used different test sets (their hashes differ): items are "
        "matched by id.</div>")
    head = (f"<div style='{_CARD}'><b>{len(flips)}</b> item(s) flipped between <code>{esc(earlier.id)}</code> and "
            f"<code>{esc(later.id)}</code> (same model, pass ↔ fail at 0.5){warn}</div>")
    body = "".join(f"<tr><td>{esc(short(f.model))}</td><td>{esc(f.item_id)}</td><td>{f.before:.3g}</td>"
                   f"<td>{f.after:.3g}</td><td>{'fixed' if f.after > f.before else 'broke'}</td></tr>"
                   for f in flips)
    return head + ("<table class='eval-flips' style='font-size:.85em'><tr><th>model</th><th>item</th><th>before</th>"
                   f"<th>after</th><th></th></tr>{body}</table>" if flips else "")
