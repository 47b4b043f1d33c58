"""What a run says: per-model summaries (score with a 95 % bootstrap interval, latency, tokens, cost), the paired
comparison of two models, the items that flipped between two runs, and the downloads (CSV, JSON Lines, a Markdown
report with the summary table and a chart)."""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from engines import registry, textfiles
from engines.evals.scoring import METHOD_LABELS
from engines.evals.stats import MIN_DISCORDANT, Interval, PairedResult, compare_paired, score_interval
from engines.evals.store import Result, RunInfo
from engines.evals.testsets import TestSet


@dataclass
class ModelSummary:
    """One model's numbers over a run."""

    model: str
    methods: list[str]
    results: int
    scored: int
    judge_failed: int
    errors: int
    score: Interval
    acc_norm: Interval | None
    latency_mean_s: float | None
    latency_median_s: float | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None

    @property
    def method_text(self) -> str:
        """Which method scored this model's items, in words."""
        return ", ".join(METHOD_LABELS.get(m, m) for m in self.methods) or "—"


def cost_usd(model: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """Dollars for the tokens at the catalog's prices (``engines.registry``); None when the model is not priced."""
    spec = registry.get(model)
    if spec is None or spec.price_in is None:
        return None
    return prompt_tokens / 1e6 * spec.price_in + completion_tokens / 1e6 * (spec.price_out or 0.0)


def summarize(results: list[Result], models: list[str]) -> list[ModelSummary]:
    """Per-model summaries, in the order of ``models``.

    Args:
        results: a run's results.
        models: the run's models.

    Returns:
        One ModelSummary per model; the interval is over the scored items (unscored ones are counted apart).
    """
    out = []
    for model in models:
        mine = [r for r in results if r.model == model]
        scored = [r.score for r in mine if r.score is not None]
        norms = [r.metrics["acc_norm"] for r in mine if "acc_norm" in r.metrics]
        latencies = [r.latency_s for r in mine if not r.error]
        p_tok = sum(r.prompt_tokens or 0 for r in mine)
        c_tok = sum(r.completion_tokens or 0 for r in mine)
        out.append(ModelSummary(
            model=model, methods=sorted({r.method for r in mine if r.method}), results=len(mine),
            scored=len(scored), judge_failed=sum(1 for r in mine if r.judge_failed),
            errors=sum(1 for r in mine if r.error), score=score_interval(scored),
            acc_norm=score_interval(norms) if norms else None,
            latency_mean_s=statistics.fmean(latencies) if latencies else None,
            latency_median_s=statistics.median(latencies) if latencies else None,
            prompt_tokens=p_tok, completion_tokens=c_tok, cost_usd=cost_usd(model, p_tok, c_tok)))
    return out


@dataclass
class Comparison:
    """Two models on the items both scored: the test and the per-item scores."""

    model_a: str
    model_b: str
    result: PairedResult
    rows: list[tuple[str, float, float]]  # (item id, score a, score b)

    def disagreements(self) -> list[tuple[str, float, float]]:
        """Items where the two models' scores differ."""
        return [r for r in self.rows if r[1] != r[2]]


def compare(results: list[Result], model_a: str, model_b: str) -> Comparison:
    """Paired comparison: McNemar's exact test for pass/fail scores, a paired bootstrap for graded ones.

    Args:
        results: a run's results.
        model_a: one model of the run.
        model_b: another.

    Returns:
        The Comparison over the items both models scored.
    """
    a = {r.item_id: r.score for r in results if r.model == model_a and r.score is not None}
    b = {r.item_id: r.score for r in results if r.model == model_b and r.score is not None}
    order = [r.item_id for r in results if r.model == model_a and r.item_id in b and r.item_id in a]
    rows = [(i, float(a[i]), float(b[i])) for i in dict.fromkeys(order)]
    return Comparison(model_a, model_b, compare_paired([r[1] for r in rows], [r[2] for r in rows]), rows)


@dataclass
class Flip:
    """An item whose pass/fail changed for a model between an earlier run and this one."""

    model: str
    item_id: str
    before: float
    after: float


def flips(earlier: list[Result], later: list[Result]) -> list[Flip]:
    """Items that flipped (pass ↔ fail, threshold 0.5) for the same model between two runs, by item id.

    Args:
        earlier: the earlier run's results.
        later: this run's results.

    Returns:
        The flips, in this run's order.
    """
    before = {(r.model, r.item_id): r for r in earlier if r.score is not None}
    out = []
    for r in later:
        old = before.get((r.model, r.item_id))
        if old is not None and r.score is not None and old.passed != r.passed:
            out.append(Flip(r.model, r.item_id, float(old.score), float(r.score)))
    return out


# ------------------------------------------------------------------------------------------------ exports

EXPORT_COLUMNS = ("model", "item_id", "kind", "question", "method", "score", "acc", "acc_norm", "pass@1",
                  "output", "judge_rationale", "judge_failed", "prompt_tokens", "completion_tokens", "latency_s",
                  "error")


def ordered(results: list[Result], testset: TestSet | None) -> list[Result]:
    """Results in the test set's item order (models in the order they ran), not in the order they finished."""
    if testset is None:
        return list(results)
    position = {item.id: n for n, item in enumerate(testset.items)}
    models = list(dict.fromkeys(r.model for r in results))
    return sorted(results, key=lambda r: (position.get(r.item_id, len(position)), models.index(r.model)))


def flat_rows(results: list[Result], testset: TestSet | None) -> list[dict]:
    """One flat dict per result (the CSV columns), in item order."""
    questions = {i.id: i.question for i in testset.items} if testset else {}
    rows = []
    for r in ordered(results, testset):
        row = {"model": r.model, "item_id": r.item_id, "kind": r.kind, "question": questions.get(r.item_id, ""),
               "method": r.method, "score": r.score, "acc": r.metrics.get("acc"),
               "acc_norm": r.metrics.get("acc_norm"), "pass@1": r.metrics.get("pass@1"), "output": r.output,
               "judge_rationale": r.judge_rationale, "judge_failed": r.judge_failed,
               "prompt_tokens": r.prompt_tokens, "completion_tokens": r.completion_tokens,
               "latency_s": round(r.latency_s, 4), "error": r.error}
        rows.append(row)
    return rows


def to_csv(results: list[Result], testset: TestSet | None = None) -> str:
    """Per-item results as CSV."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(EXPORT_COLUMNS), lineterminator="\n")
    writer.writeheader()
    for row in flat_rows(results, testset):
        writer.writerow({k: "" if v is None else textfiles.csv_cell(v) for k, v in row.items()})
    return buf.getvalue()


def to_jsonl(results: list[Result], testset: TestSet | None = None) -> str:
    """Per-item results as JSON Lines (item order): every field of each result, with the item's question."""
    questions = {i.id: i.question for i in testset.items} if testset else {}
    return "".join(json.dumps({**asdict(r), "question": questions.get(r.item_id, "")}, ensure_ascii=False) + "\n"
                   for r in ordered(results, testset))


def _pct(value: float | None) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{100 * value:.1f}"


def _money(value: float | None) -> str:
    return "—" if value is None else f"${value:.4f}"


def summary_table(summaries: list[ModelSummary]) -> str:
    """The summary as a Markdown table."""
    lines = ["| model | method | score % (95 % CI) | acc_norm % | scored | no judge score | errors | latency s "
             "(mean) | tokens in / out | cost |", "|---|---|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        ci = f"{_pct(s.score.mean)} ({_pct(s.score.low)}–{_pct(s.score.high)})" if s.scored else "—"
        latency = "—" if s.latency_mean_s is None else f"{s.latency_mean_s:.3f}"
        lines.append(f"| `{s.model}` | {s.method_text} | {ci} | {_pct(s.acc_norm.mean) if s.acc_norm else '—'} | "
                     f"{s.scored}/{s.results} | {s.judge_failed} | {s.errors} | {latency} | "
                     f"{s.prompt_tokens:,} / {s.completion_tokens:,} | {_money(s.cost_usd)} |")
    return "\n".join(lines)


def text_chart(summaries: list[ModelSummary], width: int = 40) -> str:
    """A bar chart in text (renders in any Markdown viewer): score and its interval per model."""
    name_w = max((len(s.model) for s in summaries), default=5)
    lines = []
    for s in summaries:
        mean = 0.0 if not s.scored else s.score.mean
        bar = "█" * round(mean * width)
        ci = f"  [{_pct(s.score.low)}–{_pct(s.score.high)}]" if s.scored else ""
        lines.append(f"{s.model.ljust(name_w)} │{bar.ljust(width)}│ {_pct(mean if s.scored else None)}%{ci}")
    return "\n".join(lines)


def chart_svg(summaries: list[ModelSummary]) -> str:
    """A horizontal bar chart (SVG) of each model's score with its 95 % interval as a whisker."""
    row, left, width = 34, 230, 420
    height = 30 + row * max(1, len(summaries))
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 {left + width + 70} {height}' "
             f"width='100%' role='img' aria-label='score per model' font-family='sans-serif' font-size='12'>"]
    for tick in range(0, 101, 25):
        x = left + width * tick / 100
        parts.append(f"<line x1='{x}' y1='8' x2='{x}' y2='{height - 14}' stroke='#8884'/>"
                     f"<text x='{x}' y='{height - 2}' text-anchor='middle' fill='#888'>{tick}%</text>")
    palette = ("#3b82f6", "#f59e0b", "#10b981", "#ec4899", "#8b5cf6", "#ef4444")
    for n, s in enumerate(summaries):
        y = 12 + n * row
        label = s.model if len(s.model) <= 34 else "…" + s.model[-33:]
        parts.append(f"<text x='{left - 8}' y='{y + 15}' text-anchor='end' fill='currentColor'>"
                     f"{_xml(label)}</text>")
        if not s.scored:
            parts.append(f"<text x='{left + 4}' y='{y + 15}' fill='#888'>no scored items</text>")
            continue
        w = width * s.score.mean
        lo, hi = left + width * s.score.low, left + width * s.score.high
        parts.append(f"<rect x='{left}' y='{y + 3}' width='{w:.1f}' height='18' rx='3' "
                     f"fill='{palette[n % len(palette)]}'/>"
                     f"<line x1='{lo:.1f}' y1='{y + 12}' x2='{hi:.1f}' y2='{y + 12}' stroke='#111' stroke-width='2'/>"
                     f"<line x1='{lo:.1f}' y1='{y + 6}' x2='{lo:.1f}' y2='{y + 18}' stroke='#111' stroke-width='2'/>"
                     f"<line x1='{hi:.1f}' y1='{y + 6}' x2='{hi:.1f}' y2='{y + 18}' stroke='#111' stroke-width='2'/>"
                     f"<text x='{left + width + 8}' y='{y + 15}' fill='currentColor'>{_pct(s.score.mean)}%</text>")
    parts.append("</svg>")
    return "".join(parts)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;")


def markdown_report(run: RunInfo, summaries: list[ModelSummary], chart_file: str | None = None,
                    comparisons: list[Comparison] | None = None) -> str:
    """The run as a Markdown report: what was evaluated, the summary table, the chart, paired comparisons.

    Args:
        run: the stored run.
        summaries: ``summarize`` of its results.
        chart_file: the SVG chart's file name, linked beside the text chart.
        comparisons: paired comparisons to include.

    Returns:
        Markdown text.
    """
    cfg = run.config
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.created))
    lines = [f"# Evaluation report: {run.name or run.set_name}", "",
             f"- **Run** `{run.id}` · {when} · status **{run.status}** · {run.done}/{run.total} results",
             f"- **Test set** {run.set_name} · {run.set_size} items · sha256 `{run.set_hash}`",
             f"- **Decoding** max new tokens {cfg.get('max_new_tokens')} · temperature {cfg.get('temperature')} · "
             f"free-form scoring {cfg.get('method')} · judge {cfg.get('judge') or '—'}",
             "", "## Summary", "", summary_table(summaries), *[f"\n{n}" for n in summary_notes(summaries)], "",
             "## Chart", "",
             "```text", text_chart(summaries), "```"]
    if chart_file:
        lines += ["", f"![score per model]({chart_file})"]
    for c in comparisons or []:
        lines += ["", f"## `{c.model_a}` vs `{c.model_b}`", "", comparison_text(c)]
    return "\n".join(lines) + "\n"


def comparison_text(c: Comparison) -> str:
    """One paragraph on a paired comparison."""
    r = c.result
    if r.n == 0:
        return "No item was scored for both models."
    warning = f" · ⚠ {r.warning}" if r.warning else ""
    if r.test == "mcnemar":
        return (f"{r.n} paired items · {_pct(r.mean_a)}% vs {_pct(r.mean_b)}% · only A right: {r.only_a}, only B "
                f"right: {r.only_b} · McNemar exact p = {r.p_value:.4g}{warning}")
    return (f"{r.n} paired items · mean {r.mean_a:.3f} vs {r.mean_b:.3f} · difference {r.diff:+.3f} (95 % CI "
            f"{r.low:+.3f} to {r.high:+.3f}) · paired bootstrap p ≈ {r.p_value:.3g}{warning}")


def summary_notes(summaries: list[ModelSummary]) -> list[str]:
    """How the summary's intervals are computed, then ``small_sample_note`` when it applies."""
    notes = ["95 % intervals: exact (Clopper–Pearson) for pass/fail scores, bootstrap for graded ones."] \
        if any(s.scored for s in summaries) else []
    return notes + [n for n in [small_sample_note(summaries)] if n]


def small_sample_note(summaries: list[ModelSummary]) -> str:
    """A warning when the models were scored on too few items for any difference between two of them to be
    significant (McNemar's exact test needs ``MIN_DISCORDANT`` items on which they disagree), else ""."""
    scored = [s for s in summaries if s.scored]
    few = min((s.scored for s in scored), default=0)
    if len(scored) < 2 or few >= MIN_DISCORDANT:
        return ""
    return (f"Only {few} scored item(s): no difference between two models can be significant (McNemar's exact "
            f"test needs at least {MIN_DISCORDANT} items on which they disagree to reach p < 0.05). Score more items "
            "before comparing.")


def results_json(run: RunInfo, summaries: list[ModelSummary], results: list[Result], testset: TestSet | None) -> dict:
    """A stored run as plain JSON: the run, the summary per model and one flat row per (model, item)."""
    return {"run": {"id": run.id, "name": run.name, "status": run.status, "models": run.models,
                    "set_name": run.set_name, "set_hash": run.set_hash, "set_size": run.set_size,
                    "config": run.config, "done": run.done, "total": run.total},
            "summary": [{"model": s.model, "method": s.method_text, "score": s.score.mean, "ci_low": s.score.low,
                         "ci_high": s.score.high, "scored": s.scored, "judge_failed": s.judge_failed,
                         "errors": s.errors, "acc_norm": s.acc_norm.mean if s.acc_norm else None,
                         "latency_mean_s": s.latency_mean_s, "prompt_tokens": s.prompt_tokens,
                         "completion_tokens": s.completion_tokens, "cost_usd": s.cost_usd} for s in summaries],
            "results": flat_rows(results, testset)}


def write_downloads(folder: Path, run: RunInfo, testset: TestSet | None, results: list[Result],
                    summaries: list[ModelSummary]) -> list[str]:
    """Write the downloads of a run into ``folder``: per-item CSV and JSON Lines, the Markdown report (each other
    model compared with the first) and its SVG chart.

    Returns:
        The four paths (CSV, JSON Lines, report, chart).
    """
    stem = f"eval-{run.id}"
    paths = [folder / f"{stem}{suffix}" for suffix in (".csv", ".jsonl", "-report.md", "-chart.svg")]
    comparisons = [compare(results, run.models[0], m) for m in run.models[1:]]
    texts = (to_csv(results, testset), to_jsonl(results, testset),
             markdown_report(run, summaries, paths[3].name, comparisons), chart_svg(summaries))
    for path, text in zip(paths, texts, strict=True):
        path.write_text(text, encoding="utf-8")
    return [str(p) for p in paths]
