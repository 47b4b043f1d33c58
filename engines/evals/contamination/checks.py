"""Running the contamination checks on a test set and one model: the chosen methods in turn (n-gram overlap first:
it needs no model), every item's signals filled in as they come, progress after each step, Stop, and a stored
report (``report``) with a verdict per method (``verdicts``).

A method the model cannot run (Min-K% on an API server without prompt log-probabilities) is reported as not run,
with the reason, and the other methods still run. An item a method cannot score (a prompt longer than the
model's window, a question of one word) gets no value for that signal and a note; nothing is guessed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from engines import errors
from engines.config import Settings
from engines.evals.contamination import guided as guiding
from engines.evals.contamination import mink, ngrams, sampling, verdicts
from engines.evals.contamination.measures import mann_whitney
from engines.evals.contamination.report import Report, Row, Summary, save
from engines.evals.contamination.texts import PARTS, item_text
from engines.evals.items import RunConfig
from engines.evals.testsets import Item, TestSet
from engines.refs import parse_ref

METHODS = ("ngrams", "min_k", "guided", "sampling")  # run order: the cheapest first
MODEL_METHODS = ("min_k", "guided", "sampling")
NEAR_VERBATIM = 0.9  # guided ROUGE-L at or above which a completion counts as near-verbatim
PROGRESS_EVERY_S = 0.25
SAMPLE_CHARS = 600  # characters of each sampled answer kept in the report


@dataclass
class CheckOptions:
    """What to run and how (defaults: the papers' settings where they fit a CPU)."""

    methods: list[str] = field(default_factory=lambda: ["min_k"])
    k: float = mink.DEFAULT_K  # Min-K%: the fraction of tokens averaged
    part: str = "full"  # text scored by Min-K% and n-grams: full (question + answer) | question
    dataset: str = ""  # guided completion: the dataset's name
    split: str = "test"
    fraction: float = 0.5  # guided completion: share of the question given as the first piece
    max_new_tokens: int = 64
    samples: int = sampling.DEFAULT_SAMPLES
    temperature: float = sampling.DEFAULT_TEMPERATURE
    alpha: float = sampling.DEFAULT_ALPHA
    xi: float = sampling.DEFAULT_XI
    n: int = ngrams.DEFAULT_N
    batch_size: int = 16
    quantization: str = "auto"


@dataclass
class CheckEvent:
    """Progress of a run: the report so far, the stage, items done of the stage's total, the run status."""

    report: Report
    stage: str
    done: int = 0
    total: int = 0
    status: str = "running"  # running | complete | stopped


def _number(value, name: str, low: float, high: float, *, whole: bool = False, open_low: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise errors.InvalidInput(f"{name} must be a number (got {value!r}).") from None
    if whole and not number.is_integer():
        raise errors.InvalidInput(f"{name} must be a whole number (got {value}).")
    if number != number or number > high or number < low or (open_low and number == low):
        bound = f"above {low:g}" if open_low else f"at least {low:g}"
        raise errors.InvalidInput(f"{name} must be {bound} and at most {high:g} (got {value}).")
    return int(number) if whole else number


def validate(options: CheckOptions, model: str, corpus: ngrams.Corpus | None,
             settings: Settings | None = None) -> CheckOptions:
    """Check the options before anything is loaded or called; returns them cleaned.

    Raises:
        InvalidInput: no method, an unknown method, no model for a model method, no dataset name for guided
            completion, no corpus for n-gram overlap, a number out of range.
    """
    settings = settings or Settings.current()
    methods = [m for m in METHODS if m in (options.methods or [])]
    unknown = sorted(set(options.methods or []) - set(METHODS))
    if unknown:
        raise errors.InvalidInput(f"Unknown check '{unknown[0]}': use {', '.join(METHODS)}.")
    if not methods:
        raise errors.InvalidInput("Pick at least one check to run.")
    if set(methods) & set(MODEL_METHODS) and not (model or "").strip():
        raise errors.InvalidInput("Pick the model to check (n-gram overlap alone needs none).")
    if "guided" in methods and not options.dataset.strip():
        raise errors.InvalidInput("Guided completion needs the dataset's name as the model may know it (e.g. GSM8K).")
    if "ngrams" in methods and (corpus is None or corpus.empty()):
        raise errors.InvalidInput("N-gram overlap needs a corpus: paste text, upload files or name a local folder.")
    if options.part not in PARTS:
        raise errors.InvalidInput(f"Unknown text part '{options.part}': use {' or '.join(PARTS)}.")
    options.methods = methods
    options.k = mink.check_k(options.k)
    options.fraction = _number(options.fraction, "The first piece's share", 0.05, 0.95)
    options.max_new_tokens = _number(options.max_new_tokens, "Max new tokens", 1, settings.max_new_tokens, whole=True)
    options.samples = _number(options.samples, "Samples", 1, 100, whole=True)
    options.temperature = _number(options.temperature, "Sampling temperature", 0, 2, open_low=True)
    options.alpha = _number(options.alpha, "α", 0, 1)
    options.xi = _number(options.xi, "ξ", 0, 1)
    options.n = _number(options.n, "n of the n-grams", 1, 50, whole=True)
    options.batch_size = _number(options.batch_size, "Batch size", 1, 256, whole=True)
    return options


@dataclass
class _Run:
    report: Report
    items: list[Item]
    model: str
    options: CheckOptions
    corpus: ngrams.Corpus | None
    stop: threading.Event

    def event(self, stage: str, done: int, total: int) -> CheckEvent:
        return CheckEvent(self.report, stage, done, total)

    @property
    def config(self) -> RunConfig:
        return RunConfig(max_new_tokens=self.options.max_new_tokens, temperature=0.0,
                         quantization=self.options.quantization)


def run_checks(testset: TestSet, model: str, options: CheckOptions | None = None, *,
               reference: list[str] | None = None, corpus: ngrams.Corpus | None = None,
               stop: threading.Event | None = None, settings: Settings | None = None) -> Iterator[CheckEvent]:
    """Run the chosen contamination checks; a generator of CheckEvents (close it, or set ``stop``, to stop).

    Args:
        testset: the items to check.
        model: the model reference (may be "" when only n-gram overlap runs).
        options: methods and their settings.
        reference: texts certainly unseen by the model (Min-K%'s comparison set), scored like the items.
        corpus: the corpus for n-gram overlap.
        stop: set it to stop after the current step.
        settings: deployment settings.

    Yields:
        CheckEvents; the last one has status complete or stopped. The report is saved when the run ends, however
        it ends.
    """
    options = validate(options or CheckOptions(), model, corpus, settings)
    model = parse_ref(model.strip(), settings).raw if (model or "").strip() else ""
    report = Report.new(model=model, set_name=testset.name, set_hash=testset.hash, set_size=testset.size,
                        options=asdict(options))
    report.rows = [Row(i.id, "test", item_text(i, options.part)) for i in testset.items]
    report.rows += [Row(f"ref-{n}", "reference", t) for n, t in enumerate(reference or [], start=1) if t.strip()]
    run = _Run(report, testset.items, model, options, corpus, stop or threading.Event())
    try:
        yield run.event("Starting", 0, testset.size)
        for method in options.methods:
            if run.stop.is_set():
                break
            try:
                yield from STAGES[method](run)
            except errors.WorkbenchError as exc:
                report.summaries[method] = Summary(method, "not run", "Not run.", notes=[str(exc)])
                yield run.event(f"{verdicts.INFO[method]['label']}: not run", 0, 0)
        report.status = "stopped" if run.stop.is_set() else "complete"
    finally:
        if report.status == "running":
            report.status = "stopped"
        run.stop.set()
        save(report, settings)
    yield CheckEvent(report, "Done", testset.size, testset.size, report.status)


# ----------------------------------------------------------------------------------------------- n-grams


def _ngrams(run: _Run) -> Iterator[CheckEvent]:
    rows = run.report.test_rows()
    index = ngrams.OverlapIndex([r.text for r in rows], run.options.n)
    shown = 0.0
    for name, lines in ngrams.documents(run.corpus):
        if run.stop.is_set():
            break
        index.scan(name, lines, run.stop)
        if time.monotonic() - shown >= PROGRESS_EVERY_S:
            shown = time.monotonic()
            yield run.event(f"N-gram overlap: {index.documents:,} documents, {index.words:,} words scanned", 0, 0)
    for row, found in zip(rows, index.results(), strict=True):
        row.signals.update(ngram_overlap=found.ratio, dirty=found.dirty)
        row.detail.update(ngram_count=found.ngrams, ngram_matched=found.matched, ngram_spans=found.spans,
                          ngram_documents=found.documents)
    run.report.summaries["ngrams"] = _ngram_summary(rows, index, run.options.n, run.stop.is_set())
    yield run.event("N-gram overlap: done", len(rows), len(rows))


def _ngram_summary(rows: list[Row], index: ngrams.OverlapIndex, n: int, stopped: bool) -> Summary:
    checked = [r for r in rows if r.signals.get("dirty") is not None]
    dirty = [r for r in checked if r.signals["dirty"]]
    share = len(dirty) / len(checked) if checked else 0.0
    notes = []
    if len(checked) < len(rows):
        notes.append(f"{len(rows) - len(checked)} item(s) have fewer than {n} words: not checked.")
    if stopped:
        notes.append("Stopped before the whole corpus was scanned: overlaps in the rest are not counted.")
    headline = (f"{len(dirty)} of {len(checked)} checked items ({share:.0%}) share a {n}-gram with the corpus "
                f"({index.documents:,} document{'' if index.documents == 1 else 's'}, {index.words:,} words "
                "scanned).")
    numbers = {"dirty": len(dirty), "checked": len(checked), "dirty_share": share, "documents": index.documents,
               "words": index.words, "n": n}
    return Summary("ngrams", verdicts.share_verdict("ngrams", share, len(checked)), headline, numbers, notes)


# ----------------------------------------------------------------------------------------------- Min-K%


def _min_k(run: _Run) -> Iterator[CheckEvent]:
    rows = run.report.rows
    o = run.options
    done = 0
    for step in mink.iter_scores(run.model, [r.text for r in rows], k=o.k, batch_size=o.batch_size,
                                 quantization=o.quantization, stop=run.stop):
        for i, score in step:
            rows[i].signals.update(min_k=score.min_k, min_k_pp=score.min_k_pp)
            rows[i].detail.update(tokens=score.tokens, lowest=score.lowest, truncated=score.truncated,
                                  approximate=score.approximate)
        done += len(step)
        yield run.event("Min-K%: scoring items and reference texts", done, len(rows))
    run.report.summaries["min_k"] = _min_k_summary(run.report, o.k)
    yield run.event("Min-K%: done", done, len(rows))


def _min_k_summary(report: Report, k: float) -> Summary:
    test, ref = report.test_rows(), report.reference_rows()
    numbers: dict = {"k": k, "n_test": len(test), "n_reference": len(ref)}
    for key in ("min_k", "min_k_pp"):
        a = [r.signals[key] for r in test if r.signals.get(key) is not None]
        b = [r.signals[key] for r in ref if r.signals.get(key) is not None]
        numbers[f"mean_{key}_test"] = sum(a) / len(a) if a else None
        numbers[f"mean_{key}_reference"] = sum(b) / len(b) if b else None
        if b:
            test_result = mann_whitney(a, b)
            numbers[f"auroc_{key}"], numbers[f"p_{key}"] = test_result.auroc, test_result.p_value
    notes = []
    if any(r.detail.get("approximate") for r in test):
        notes.append("Min-K%++ is approximate: μ and σ come from the server's top alternatives only.")
    truncated = sum(1 for r in report.rows if r.detail.get("truncated"))
    if truncated:
        notes.append(f"{truncated} text(s) longer than the model's window: only their start was scored.")
    if not ref:
        notes.append("No reference set: mark items the model cannot have seen (written after its release, or the "
                     "same items paraphrased) to get an AUROC and a verdict.")
        return Summary("min_k", verdicts.NOT_RATED, f"Scores per item (k = {k:g}); no reference set to compare "
                                                    "with.", numbers, notes)
    key = "min_k_pp" if numbers.get("auroc_min_k_pp") is not None else "min_k"
    auroc, p = numbers[f"auroc_{key}"], numbers[f"p_{key}"]
    verdict = verdicts.rank_verdict(auroc, p, len(test), len(ref))
    headline = (f"AUROC test vs reference: Min-K%++ {numbers.get('auroc_min_k_pp', float('nan')):.2f} "
                f"(p = {numbers.get('p_min_k_pp', 1.0):.2g}), Min-K% {numbers['auroc_min_k']:.2f} "
                f"(p = {numbers['p_min_k']:.2g}); {len(test)} items vs {len(ref)} reference texts, k = {k:g}.")
    return Summary("min_k", verdict, headline, numbers, notes)


# ----------------------------------------------------------------------------------------------- guided


def _guided(run: _Run) -> Iterator[CheckEvent]:
    ref = parse_ref(run.model)
    rows = {r.id: r for r in run.report.test_rows()}
    done, completions = 0, []
    for item in run.items:
        if run.stop.is_set():
            break
        row = rows[item.id]
        cut = guiding.pieces(item, run.options.fraction)
        if cut is None:
            row.detail["guided_note"] = "The question has fewer than two words: nothing to complete."
        else:
            try:
                c = guiding.complete(ref, cut, run.options.dataset, run.options.split, run.config)
            except errors.ContextTooLong as exc:
                row.detail["guided_note"] = str(exc)
            else:
                completions.append(c)
                row.signals.update(guided_rouge=c.guided_rouge, general_rouge=c.general_rouge,
                                   guided_gain=c.difference)
                row.detail.update(first_piece=cut.first, true_piece=cut.truth, label=cut.label, guided=c.guided,
                                  general=c.general, guided_prompt=c.guided_prompt)
        done += 1
        yield run.event("Guided vs general completion", done, len(run.items))
    run.report.summaries["guided"] = _guided_summary(completions, run.options, run.stop.is_set())
    yield run.event("Guided vs general completion: done", done, len(run.items))


def _guided_summary(completions: list[guiding.Completion], o: CheckOptions, stopped: bool) -> Summary:
    if not completions:
        return Summary("guided", verdicts.NOT_RATED, "No item could be completed.")
    result = guiding.compare(completions)
    near = sum(1 for c in completions if c.guided_rouge >= NEAR_VERBATIM)
    numbers = {"n": result.n, "guided": result.mean_a, "general": result.mean_b, "difference": result.diff,
               "ci_low": result.low, "ci_high": result.high, "p": result.p_value, "near_verbatim": near,
               "dataset": o.dataset, "split": o.split}
    headline = (f"Mean ROUGE-L guided {result.mean_a:.3f} vs general {result.mean_b:.3f}: difference "
                f"{result.diff:+.3f} (95 % CI {result.low:+.3f} to {result.high:+.3f}, paired bootstrap "
                f"p = {result.p_value:.2g}, {result.n} items); {near} near-verbatim guided completion(s) "
                f"(ROUGE-L ≥ {NEAR_VERBATIM}).")
    notes = ["Stopped early: the summary covers the items completed so far."] if stopped else []
    return Summary("guided", verdicts.guided_verdict(result.diff, result.p_value, result.n), headline, numbers,
                   notes)


# ----------------------------------------------------------------------------------------------- sampling


def _sampling(run: _Run) -> Iterator[CheckEvent]:
    ref = parse_ref(run.model)
    rows = {r.id: r for r in run.report.test_rows()}
    o = run.options
    done, found = 0, []
    for item in run.items:
        if run.stop.is_set():
            break
        row = rows[item.id]
        try:
            peak = sampling.sample_item(ref, item, run.config, samples=o.samples, temperature=o.temperature,
                                        alpha=o.alpha, xi=o.xi, stop=run.stop)
        except errors.ContextTooLong as exc:
            row.detail["sampling_note"] = str(exc)
        else:
            found.append(peak)
            row.signals.update(peak=peak.peak, distance=peak.mean_distance, flagged=peak.flagged)
            row.detail.update(greedy=peak.greedy[:SAMPLE_CHARS], samples=[s[:SAMPLE_CHARS] for s in peak.samples],
                              distances=peak.distances, answer_tokens=peak.answer_tokens)
        done += 1
        yield run.event(f"Sampling peakedness ({o.samples} samples per item)", done, len(run.items))
    run.report.summaries["sampling"] = _sampling_summary(found, o, run.stop.is_set())
    yield run.event("Sampling peakedness: done", done, len(run.items))


def _sampling_summary(found: list[sampling.Peakedness], o: CheckOptions, stopped: bool) -> Summary:
    if not found:
        return Summary("sampling", verdicts.NOT_RATED, "No item could be sampled.")
    flagged = sum(1 for p in found if p.flagged)
    share = flagged / len(found)
    lengths = sorted(p.answer_tokens for p in found)
    median = lengths[len(lengths) // 2]
    numbers = {"flagged": flagged, "n": len(found), "flagged_share": share, "alpha": o.alpha, "xi": o.xi,
               "samples": o.samples, "temperature": o.temperature, "median_answer_tokens": median}
    headline = (f"{flagged} of {len(found)} items ({share:.0%}) flagged: more than ξ = {o.xi:g} of {o.samples} "
                f"samples at temperature {o.temperature:g} within α = {o.alpha:g} of the greedy answer.")
    notes = []
    if median < 5:
        notes.append(f"The answers are short (median {median} tokens): short answers are peaked without any "
                     "contamination, so read this signal with care.")
    if stopped:
        notes.append("Stopped early: the summary covers the items sampled so far.")
    return Summary("sampling", verdicts.share_verdict("sampling", share, len(found)), headline, numbers, notes)


STAGES = {"ngrams": _ngrams, "min_k": _min_k, "guided": _guided, "sampling": _sampling}
