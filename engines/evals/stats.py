"""The statistics of an evaluation: pass@k, score intervals, McNemar's exact test, the paired bootstrap.

A pass/fail score gets the exact Clopper–Pearson interval (the percentile bootstrap collapses at small n: 0 of 10
gave "0.0 % (0.0–0.0 %)" where the exact interval is 0–31 %); a graded score gets the bootstrap. Below
``MIN_DISCORDANT`` items on which two models disagree, McNemar's exact test can't reach p < 0.05 whatever they
are: the comparison says so (``small_sample_warning``).

Pure Python and NumPy (no scipy at run time); seeded, so the same scores give the same interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from engines.errors import InvalidInput

BOOTSTRAP_SAMPLES = 2000
SEED = 20210707  # fixed: the same scores always give the same interval
ALPHA = 0.05
# the fewest discordant pairs with which McNemar's exact test can reach p < 0.05: 2 × 0.5**6 = 0.031 (5: 0.0625)
MIN_DISCORDANT = next(n for n in range(1, 64) if 2 * 0.5**n < ALPHA)
SMALL_GRADED = 10  # fewer paired graded items than this: the paired bootstrap's interval is unreliable


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator (Chen et al. 2021): 1 - C(n - c, k) / C(n, k).

    Args:
        n: samples generated for the task.
        c: samples that passed the tests.
        k: the k of pass@k (1 ≤ k ≤ n).

    Returns:
        The probability that at least one of k samples drawn without replacement from the n passes.

    Raises:
        InvalidInput: counts out of range.
    """
    if not (isinstance(n, int) and isinstance(c, int) and isinstance(k, int)):
        raise InvalidInput("pass@k needs whole numbers n, c and k.")
    if n < 1 or not 0 <= c <= n or not 1 <= k <= n:
        raise InvalidInput(f"pass@k needs 1 ≤ k ≤ n and 0 ≤ c ≤ n (got n={n}, c={c}, k={k}).")
    if n - c < k:
        return 1.0
    # the numerically stable product form of Chen et al.: prod_{i=n-c+1}^{n} (1 - k / i)
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def mcnemar_p(a: list[bool], b: list[bool]) -> float:
    """McNemar's exact test on paired pass/fail results: the two-sided binomial p-value of the discordant pairs.

    Args:
        a: pass/fail of model A per item.
        b: pass/fail of model B on the same items, in the same order.

    Returns:
        The exact two-sided p-value (1.0 when no pair disagrees).

    Raises:
        InvalidInput: the lists differ in length.
    """
    if len(a) != len(b):
        raise InvalidInput(f"McNemar's test needs paired results: {len(a)} vs {len(b)} items.")
    only_a = sum(1 for x, y in zip(a, b, strict=True) if bool(x) and not bool(y))
    only_b = sum(1 for x, y in zip(a, b, strict=True) if bool(y) and not bool(x))
    n = only_a + only_b
    if n == 0:
        return 1.0
    low = min(only_a, only_b)
    # exact: 2 * P(X <= low) for X ~ Binomial(n, 1/2), capped at 1 (exact integers, then one division)
    tail = Fraction(sum(math.comb(n, i) for i in range(low + 1)), 2**n)
    return float(min(Fraction(1), 2 * tail))


@dataclass
class Interval:
    """A mean with its 95 % interval; ``method``: "exact" (Clopper–Pearson, pass/fail scores) or "bootstrap"."""

    mean: float
    low: float
    high: float
    n: int
    method: str = "bootstrap"


def _binom_cdf(k: int, n: int, p: float, log_comb: np.ndarray) -> float:
    """P(X ≤ k) for X ~ Binomial(n, p), summed in log space (stable for any n)."""
    if p <= 0.0:
        return 1.0
    if p >= 1.0:
        return 1.0 if k >= n else 0.0
    i = np.arange(k + 1)
    terms = log_comb[: k + 1] + i * math.log(p) + (n - i) * math.log1p(-p)
    top = terms.max()
    return float(min(1.0, math.exp(top) * np.exp(terms - top).sum()))


def clopper_pearson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper–Pearson) interval of a binomial proportion: it covers the true rate at least
    ``confidence`` of the time, at any n (0 of 10 → 0 to 0.3085).

    Args:
        k: successes.
        n: trials (0 gives NaNs).
        confidence: coverage.

    Returns:
        (low, high).
    """
    if n <= 0:
        return float("nan"), float("nan")
    if not 0 <= k <= n:
        raise InvalidInput(f"An interval needs 0 ≤ successes ≤ trials (got {k} of {n}).")
    alpha = (1 - confidence) / 2
    log_comb = np.array([math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) for i in range(n + 1)])

    def solve(target, k_cdf: int, increasing: bool) -> float:
        lo, hi = 0.0, 1.0
        for _ in range(100):  # bisection on p: the binomial CDF is monotone in p
            mid = (lo + hi) / 2
            value = _binom_cdf(k_cdf, n, mid, log_comb)
            if (value > target) == increasing:
                hi = mid
            else:
                lo = mid
        return (lo + hi) / 2

    # low: P(X ≥ k | p) = alpha, i.e. 1 - P(X ≤ k - 1 | p) = alpha; high: P(X ≤ k | p) = alpha
    low = 0.0 if k == 0 else solve(1 - alpha, k - 1, increasing=False)
    high = 1.0 if k == n else solve(alpha, k, increasing=False)
    return low, high


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion (0 of 10 → 0 to 0.2775).

    Args:
        k: successes.
        n: trials (0 gives NaNs).
        confidence: coverage (0.95 → z = 1.96).
    """
    if n <= 0:
        return float("nan"), float("nan")
    z = _z(confidence)
    phat = k / n
    centre = (phat + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(phat * (1 - phat) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (0.0 if k == 0 else max(0.0, centre - half)), (1.0 if k == n else min(1.0, centre + half))


def _z(confidence: float) -> float:
    """The two-sided normal quantile (bisection on erf: no scipy)."""
    target, lo, hi = confidence, 0.0, 10.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if math.erf(mid / math.sqrt(2)) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def score_interval(scores: list[float], *, confidence: float = 0.95) -> Interval:
    """The interval of a model's mean score: exact (Clopper–Pearson) for pass/fail scores, else the bootstrap.

    Args:
        scores: per-item scores (0/1 or graded in [0, 1]).
        confidence: coverage.

    Returns:
        Interval(mean, low, high, n, method).
    """
    if scores and is_binary(scores):
        k, n = sum(1 for v in scores if v), len(scores)
        low, high = clopper_pearson(k, n, confidence)
        return Interval(k / n, low, high, n, "exact")
    return bootstrap_ci(scores, confidence=confidence)


def bootstrap_ci(scores: list[float], *, confidence: float = 0.95, samples: int = BOOTSTRAP_SAMPLES,
                 seed: int = SEED) -> Interval:
    """Percentile bootstrap interval of the mean.

    Args:
        scores: per-item scores (0/1 or graded in [0, 1]).
        confidence: coverage of the interval.
        samples: bootstrap resamples.
        seed: random seed (fixed by default: reproducible).

    Returns:
        Interval(mean, low, high, n); an empty list gives NaNs.
    """
    values = np.asarray(scores, dtype=float)
    if values.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(samples, values.size))].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return Interval(float(values.mean()), float(low), float(high), int(values.size))


@dataclass
class PairedResult:
    """Model A against model B on the same items."""

    test: str  # "mcnemar" | "paired bootstrap"
    n: int
    mean_a: float
    mean_b: float
    diff: float  # mean_a - mean_b
    low: float  # 95 % interval of the difference (paired bootstrap), NaN for McNemar
    high: float
    p_value: float
    only_a: int = 0  # McNemar: items A passed and B failed
    only_b: int = 0

    @property
    def warning(self) -> str:
        """Why this comparison can't show a difference, or "" (see ``small_sample_warning``)."""
        return small_sample_warning(self)


def small_sample_warning(r: PairedResult) -> str:
    """A sentence when the sample is too small for the test to show a difference, else "".

    McNemar's exact test looks only at the items where the two models disagree: with fewer than
    ``MIN_DISCORDANT`` (6) of them, even all going one way gives p ≥ 0.0625, so no difference can be significant at
    0.05 (0 % vs 50 % on 2 items said nothing). The paired bootstrap of fewer than ``SMALL_GRADED`` items has too
    few distinct resamples for its interval to mean much."""
    if r.n == 0:
        return ""
    if r.test == "mcnemar":
        discordant = r.only_a + r.only_b
        if discordant < MIN_DISCORDANT:
            return (f"Too few items to tell these models apart: they disagree on {discordant} of {r.n} item(s), and "
                    f"McNemar's exact test can't reach p < {ALPHA:g} with fewer than {MIN_DISCORDANT} disagreements "
                    "(even if all go one way). Score more items before reading a difference into this.")
        return ""
    if r.n < SMALL_GRADED:
        return (f"Only {r.n} paired item(s): the bootstrap interval of the gap is unreliable below {SMALL_GRADED} "
                "items. Score more items before reading a difference into this.")
    return ""


def is_binary(values: list[float]) -> bool:
    """True when every score is 0 or 1 (pass/fail)."""
    return all(v in (0, 1, 0.0, 1.0, True, False) for v in values)


def paired_bootstrap(a: list[float], b: list[float], *, samples: int = BOOTSTRAP_SAMPLES,
                     seed: int = SEED) -> PairedResult:
    """Paired bootstrap of the mean difference A - B, resampling items (both models' scores together).

    Args:
        a: per-item scores of model A.
        b: per-item scores of model B on the same items.
        samples: bootstrap resamples.
        seed: random seed.

    Returns:
        PairedResult with the 95 % interval of the difference and a two-sided p-value (twice the share of resampled
        differences on the far side of zero, capped at 1).
    """
    if len(a) != len(b):
        raise InvalidInput(f"A paired comparison needs the same items: {len(a)} vs {len(b)}.")
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.size == 0:
        return PairedResult("paired bootstrap", 0, *(float("nan"),) * 5, 1.0)
    d = x - y
    rng = np.random.default_rng(seed)
    diffs = d[rng.integers(0, d.size, size=(samples, d.size))].mean(axis=1)
    low, high = np.quantile(diffs, [0.025, 0.975])
    if np.all(d == 0):
        p = 1.0
    else:
        p = float(min(1.0, 2 * min(np.mean(diffs <= 0), np.mean(diffs >= 0))))
    return PairedResult("paired bootstrap", int(d.size), float(x.mean()), float(y.mean()), float(d.mean()),
                        float(low), float(high), p)


def compare_paired(a: list[float], b: list[float]) -> PairedResult:
    """McNemar's exact test when both score lists are pass/fail, else the paired bootstrap.

    Args:
        a: per-item scores of model A.
        b: per-item scores of model B on the same items.

    Returns:
        PairedResult.
    """
    if is_binary(a) and is_binary(b):
        pa, pb = [bool(v) for v in a], [bool(v) for v in b]
        n = len(pa)
        only_a = sum(1 for x, y in zip(pa, pb, strict=True) if x and not y)
        only_b = sum(1 for x, y in zip(pa, pb, strict=True) if y and not x)
        mean_a, mean_b = (sum(pa) / n, sum(pb) / n) if n else (float("nan"), float("nan"))
        return PairedResult("mcnemar", n, mean_a, mean_b, mean_a - mean_b, float("nan"), float("nan"),
                            mcnemar_p(pa, pb), only_a, only_b)
    return paired_bootstrap(a, b)
