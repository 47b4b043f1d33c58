"""The statistics of an evaluation: pass@k, bootstrap intervals, McNemar's exact test, the paired bootstrap.

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
    """A mean with its 95 % bootstrap interval."""

    mean: float
    low: float
    high: float
    n: int


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
