"""Intervals and comparisons at small n (issue 27, item 5): 0/10 showed "0.0 % (0.0–0.0 %)" (the bootstrap collapses)
where the exact interval is 0–31 %; 0 % vs 50 % on 2 held-out items came with no word that nothing can be concluded.
"""

from __future__ import annotations

import pytest
from scipy.stats import binomtest

from engines.evals import report
from engines.evals.stats import MIN_DISCORDANT, clopper_pearson, compare_paired, score_interval, wilson
from engines.evals.store import Result


def test_zero_of_ten_has_an_upper_bound_near_31_percent():
    ci = score_interval([0.0] * 10)
    assert (ci.mean, ci.low, ci.n, ci.method) == (0.0, 0.0, 10, "exact")
    assert ci.high == pytest.approx(0.3085, abs=1e-4)  # Clopper–Pearson
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    full = score_interval([1] * 10)
    assert full.high == 1.0 and full.low == pytest.approx(1 - 0.3085, abs=1e-4)


@pytest.mark.parametrize(("k", "n"), [(0, 1), (1, 2), (3, 17), (50, 100), (999, 1000), (4000, 10000)])
def test_clopper_pearson_matches_scipy(k, n):
    exact = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    assert clopper_pearson(k, n) == pytest.approx((exact.low, exact.high), abs=1e-9)
    wilson_ref = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert wilson(k, n) == pytest.approx((wilson_ref.low, wilson_ref.high), abs=1e-9)


def test_graded_scores_keep_the_bootstrap():
    ci = score_interval([0.2, 0.5, 0.9, 0.7])
    assert ci.method == "bootstrap" and ci.low < ci.mean < ci.high


def _results(model: str, scores: list[float]) -> list[Result]:
    return [Result(model=model, item_id=f"q{i}", kind="qa", method="exact", score=s) for i, s in enumerate(scores)]


def test_two_items_zero_vs_fifty_percent_warns_that_nothing_can_be_concluded():
    results = _results("base", [0.0, 0.0]) + _results("tuned", [1.0, 0.0])
    summaries = report.summarize(results, ["base", "tuned"])
    assert summaries[0].score.high == pytest.approx(0.8419, abs=1e-4)  # 0 of 2: exact upper bound 84 %
    note = report.small_sample_note(summaries)
    assert "Only 2 scored item(s)" in note and "can be significant" in note
    comparison = report.compare(results, "base", "tuned")
    assert comparison.result.warning and f"fewer than {MIN_DISCORDANT} disagreements" in comparison.result.warning
    assert "disagree on 1 of 2" in report.comparison_text(comparison)


def test_enough_disagreements_give_no_warning():
    a, b = [1.0] * 6 + [0.0] * 4, [0.0] * 6 + [0.0] * 4
    assert compare_paired(a, b).p_value < 0.05 and compare_paired(a, b).warning == ""
    assert compare_paired(a[:5] + [0.0], b[:5] + [0.0]).warning  # 5 disagreements: p = 0.0625 at best
    summaries = report.summarize(_results("x", a) + _results("y", b), ["x", "y"])
    assert report.small_sample_note(summaries) == ""


def test_the_views_show_the_warning():
    from tabs.evaluate import view

    results = _results("base", [0.0, 0.0]) + _results("tuned", [1.0, 0.0])
    summary = view.summary_html(report.summarize(results, ["base", "tuned"]))
    assert "eval-small-sample" in summary and "Only 2 scored item(s)" in summary
    assert "0.0%</b> <small>(0.0%–84.2%)" in summary
    testset = type("T", (), {"items": []})()
    html = view.comparison_html(report.compare(results, "base", "tuned"), testset, False)
    assert "eval-small-sample" in html and "McNemar" in html and "reach p &lt; 0.05 with fewer than 6" in html
