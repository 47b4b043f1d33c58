"""engines.evals.stats: pass@k against its closed form, McNemar's exact test against scipy, the bootstrap interval's
coverage on a simulated case, and the paired bootstrap."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest

from engines.errors import InvalidInput
from engines.evals.stats import bootstrap_ci, compare_paired, mcnemar_p, paired_bootstrap, pass_at_k


def closed_form(n: int, c: int, k: int) -> float:
    """pass@k = 1 - C(n - c, k) / C(n, k) (Chen et al. 2021, eq. 1), in exact integers."""
    return 1 - math.comb(n - c, k) / math.comb(n, k)


@pytest.mark.parametrize("n", [1, 2, 5, 10, 20, 50])
def test_pass_at_k_matches_the_closed_form(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            assert pass_at_k(n, c, k) == pytest.approx(closed_form(n, c, k), abs=1e-12), (n, c, k)


def test_pass_at_k_hand_cases():
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)  # pass@1 is the pass rate
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2) = 1 - 3/6
    assert pass_at_k(5, 0, 5) == 0.0 and pass_at_k(5, 5, 1) == 1.0
    assert pass_at_k(5, 2, 4) == 1.0  # n - c < k: every draw of 4 includes a pass


@pytest.mark.parametrize(("n", "c", "k"), [(0, 0, 1), (5, 6, 1), (5, 2, 0), (5, 2, 6), (5, -1, 1), (5.0, 2, 1)])
def test_pass_at_k_rejects_bad_counts(n, c, k):
    with pytest.raises(InvalidInput):
        pass_at_k(n, c, k)


def test_mcnemar_matches_scipy_binomtest():
    rng = np.random.default_rng(1)
    for only_a in range(0, 16):
        for only_b in range(0, 16):
            both = int(rng.integers(0, 5))
            a = [True] * only_a + [False] * only_b + [True] * both + [False] * 3
            b = [False] * only_a + [True] * only_b + [True] * both + [False] * 3
            expected = 1.0 if only_a + only_b == 0 else binomtest(only_a, only_a + only_b, 0.5).pvalue
            assert mcnemar_p(a, b) == pytest.approx(expected, rel=1e-12, abs=1e-15), (only_a, only_b)


def test_mcnemar_large_and_symmetric():
    a = [True] * 300 + [False] * 250
    b = [False] * 300 + [True] * 250
    assert mcnemar_p(a, b) == pytest.approx(binomtest(250, 550, 0.5).pvalue, rel=1e-9)
    assert mcnemar_p(a, b) == mcnemar_p(b, a)
    with pytest.raises(InvalidInput, match="paired"):
        mcnemar_p([True], [True, False])


def test_bootstrap_interval_covers_the_true_mean_about_95_percent_of_the_time():
    rng = np.random.default_rng(7)
    p, trials, hits = 0.7, 300, 0
    for t in range(trials):
        scores = (rng.random(80) < p).astype(float).tolist()
        ci = bootstrap_ci(scores, samples=1000, seed=t)
        hits += ci.low <= p <= ci.high
    coverage = hits / trials
    assert 0.90 <= coverage <= 0.985, coverage  # nominal 95 %; percentile intervals run a little narrow


def test_bootstrap_interval_basics():
    ci = bootstrap_ci([1, 1, 0, 1, 0, 1, 1, 1])
    assert ci.mean == pytest.approx(0.75) and ci.low <= 0.75 <= ci.high and ci.n == 8
    assert bootstrap_ci([1, 1, 0]) == bootstrap_ci([1, 1, 0])  # seeded: reproducible
    assert bootstrap_ci([0.5] * 10).low == pytest.approx(0.5)
    assert math.isnan(bootstrap_ci([]).mean)


def test_paired_bootstrap_sees_a_real_gap_and_no_gap():
    rng = np.random.default_rng(3)
    base = rng.random(200)
    better = np.clip(base + 0.1 + rng.normal(0, 0.02, 200), 0, 1)
    r = paired_bootstrap(better.tolist(), base.tolist())
    assert r.diff > 0.08 and r.low > 0 and r.p_value < 0.01
    same = paired_bootstrap(base.tolist(), base.tolist())
    assert same.diff == 0 and same.p_value == 1.0


def test_compare_paired_picks_the_test():
    assert compare_paired([1, 0, 1], [0, 0, 1]).test == "mcnemar"
    r = compare_paired([1, 0, 1, 1], [0, 0, 1, 0])
    assert (r.only_a, r.only_b, r.n) == (2, 0, 4) and r.p_value == pytest.approx(0.5)
    assert compare_paired([0.5, 1.0], [0.2, 0.9]).test == "paired bootstrap"
