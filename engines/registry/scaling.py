"""Chinchilla scaling arithmetic (Hoffmann et al. 2022): tokens per parameter, C = 6·N·D, the paper's
compute-optimal estimate (Approach 1, Table 3) and fitted loss (Approach 3)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from engines.registry.spec import ModelSpec


def chinchilla_ratio(spec: ModelSpec) -> float | None:
    """Pretraining tokens per parameter (Chinchilla-optimal is ~20).

    Args:
        spec: a catalog entry.

    Returns:
        The ratio, or None when the token count or the parameter count is unpublished.
    """
    if not spec.training_tokens_t or not spec.params_b:
        return None
    return spec.training_tokens_t * 1e12 / (spec.params_b * 1e9)


# The rule of thumb: compute-optimal training uses ~20 tokens per parameter (Hoffmann et al. 2022, rounded).
CHINCHILLA_TOKENS_PER_PARAM = 20.0
MAX_COUNT = 1e30  # parameters or tokens: far past any model, and their product stays a finite float
CHINCHILLA_SOURCE = "https://arxiv.org/abs/2203.15556"
# The paper's own compute-optimal estimate (Approach 1, its Table 3): N_opt = G · C^a, D_opt = C / (6 · N_opt).
# The paper reports a = 0.50 and prints the table, not G; a and G are the least-squares fit of log N on log C over
# Table 3's nine rows (every row reproduced within 0.3 % in N).
CHINCHILLA_A = 0.4981
CHINCHILLA_G = 0.09916
# Table 3 of the paper: (parameters, FLOPs, tokens) — what the fit above reproduces (tests check it).
CHINCHILLA_TABLE3 = (
    (400e6, 1.92e19, 8.0e9), (1e9, 1.21e20, 20.2e9), (10e9, 1.23e22, 205.1e9), (67e9, 5.76e23, 1.5e12),
    (175e9, 3.85e24, 3.7e12), (280e9, 9.90e24, 5.9e12), (520e9, 3.43e25, 11.0e12), (1e12, 1.27e26, 21.2e12),
    (10e12, 1.30e28, 216.2e12),
)
# Approach 3's fitted parametric loss L(N, D) = E + A / N^alpha + B / D^beta (nats per token on MassiveText).
CHINCHILLA_LOSS = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}


def chinchilla_optimal(flops: float) -> tuple[float, float]:
    """The paper's compute-optimal (parameters, tokens) for a training budget of ``flops`` (Approach 1, Table 3).

    Args:
        flops: training compute C in FLOPs (> 0).

    Returns:
        (N_opt, D_opt) with C = 6 · N_opt · D_opt.
    """
    n = CHINCHILLA_G * float(flops) ** CHINCHILLA_A
    return n, float(flops) / (6 * n)


def chinchilla_loss(params: float, tokens: float) -> float:
    """The paper's fitted loss L(N, D) (Approach 3) for N parameters trained on D tokens."""
    k = CHINCHILLA_LOSS
    return k["E"] + k["A"] / params ** k["alpha"] + k["B"] / tokens ** k["beta"]


@dataclass(frozen=True)
class ChinchillaResult:
    """Training compute arithmetic: N parameters, D tokens, C ≈ 6·N·D FLOPs, and the compute-optimal split for the
    same C twice: by the 20-tokens-per-parameter rule of thumb, and by the paper's fitted estimate (Table 3)."""

    params: float
    tokens: float
    flops: float
    tokens_per_param: float
    optimal_tokens_for_params: float  # rule of thumb: 20 · N
    optimal_params_for_flops: float  # rule of thumb: sqrt(C / 120)
    optimal_tokens_for_flops: float
    paper_params_for_flops: float = 0.0  # the paper's estimate (Approach 1)
    paper_tokens_for_flops: float = 0.0
    predicted_loss: float | None = None  # the paper's Approach 3 loss at (N, D)


def chinchilla(params: float | None = None, tokens: float | None = None,
               flops: float | None = None) -> ChinchillaResult:
    """Solve C = 6·N·D from what is given, and the compute-optimal N and D for the same compute, both by the rule of
    thumb (D = 20·N) and by the paper's fitted estimate (``chinchilla_optimal``).

    Given N and D: C follows. Given one of them and C: the other follows. Given only C: the rule-of-thumb optimal N
    and D. Given only N: D = 20·N. Given only D: N = D / 20. (All three given: C is recomputed from N and D.)

    Args:
        params: N, parameters (a count, not billions).
        tokens: D, training tokens (a count).
        flops: C, training FLOPs.

    Returns:
        The filled-in numbers.

    Raises:
        ValueError: nothing positive given, a negative or non-finite number, or N or D outside 1 … ``MAX_COUNT``
            (the message says which).
    """
    n, d, c = ((float(x) if x else 0.0) for x in (params, tokens, flops))
    if not all(map(math.isfinite, (n, d, c))):
        raise ValueError("give finite numbers (not infinity or NaN)")
    if min(n, d, c) < 0 or not (n or d or c):
        raise ValueError("give at least one positive number: parameters, tokens or FLOPs")
    r = CHINCHILLA_TOKENS_PER_PARAM
    if n and d:
        c = 6 * n * d
    elif n and c:
        d = c / (6 * n)
    elif d and c:
        n = c / (6 * d)
    elif c:
        n = (c / (6 * r)) ** 0.5
        d = r * n
    elif n:
        d = r * n
        c = 6 * n * d
    else:
        n = d / r
        c = 6 * n * d
    if not all(math.isfinite(x) and 1 <= x <= MAX_COUNT for x in (n, d)) or not math.isfinite(c):
        raise ValueError(f"the numbers are out of range: parameters and tokens must come out between 1 and "
                         f"{MAX_COUNT:.0e} (here N = {n:.3g}, D = {d:.3g}, C = {c:.3g})")
    n_opt = (c / (6 * r)) ** 0.5
    paper_n, paper_d = chinchilla_optimal(c)
    return ChinchillaResult(params=n, tokens=d, flops=c, tokens_per_param=d / n, optimal_tokens_for_params=r * n,
                            optimal_params_for_flops=n_opt, optimal_tokens_for_flops=r * n_opt,
                            paper_params_for_flops=paper_n, paper_tokens_for_flops=paper_d,
                            predicted_loss=chinchilla_loss(n, d))
