"""The arena leaderboard: a Bradley–Terry maximum-likelihood fit of every vote, with bootstrap 95 % intervals.

The model (as LMSYS / LMArena fit it): model ``i`` beats model ``j`` with probability
``1 / (1 + 10 ** ((R_j - R_i) / 400))``. The ratings ``R`` maximise the likelihood of all votes at once, so they
depend on which votes were cast, never on the order they came in (online Elo does: shuffling the same votes moved
its ratings by ~100 points).

Choices, documented:
- **ties** count as half a win for each side (LMSYS's ``compute_mle_elo`` does the same by weighting wins 2 and
  ties 1); **"both bad"** counts as a tie by default (LMSYS's "tie (bothbad)"), or is dropped with
  ``both_bad="drop"`` (the vote is then still counted in the row's ``votes`` but not fitted).
- **anchor**: the mean rating of the models in the fit is 1000 (the likelihood only fixes differences).
  Groups of models that never met each other are each centred on 1000: their relative rating is unknown.
- **ridge**: a tiny L2 penalty (``RIDGE`` on the log-likelihood, in natural-log units) keeps a model that won (or
  lost) every vote finite; the maximum-likelihood rating of such a model is infinite. On ordinary data it moves
  ratings by well under 0.1 points.
- **determined**: the maximum-likelihood ratings exist only where the "beat" graph (an edge i → j when i won
  against j at least once, a tie counting both ways) is strongly connected (Zermelo 1929; Ford 1957). The largest
  strongly connected group of models (the most votes breaking a tie in size) is the one whose ratings the data
  identify; the ratings are anchored on it (its mean is 1000). Every other model — one that won or lost every vote,
  only ever beat (or lost to) the group, or never met it — is marked not determined (``LeaderRow.determined``) with
  the reason: its number is an artefact of the ridge (a model that won 6 of 6 showed "2064 (1992–2079)").
- **fit**: Newton's method with step halving on the (convex) penalised negative log-likelihood, many bootstrap
  rounds solved together as one batch.
- **intervals**: each bootstrap round draws as many battles as were cast, with replacement (a multinomial over the
  distinct (A, B, outcome) cells, which is the same distribution and does not depend on vote order), refits, and
  takes the 2.5th and 97.5th percentiles of each model's rating. A model absent from a round is left out of it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from engines import errors
from engines.arena.votes import OUTCOMES, Vote

SCALE = 400.0  # a 400-point gap means 10:1 odds
BASE = 10.0
ANCHOR = 1000.0  # the mean rating
RIDGE = 1e-4
BOOTSTRAP_ROUNDS = 1000
METHOD = "Bradley–Terry, bootstrap 95 % CI"
BOTH_BAD_POLICIES = ("tie", "drop")
_POINTS = SCALE / math.log(BASE)  # rating points per natural-log unit of strength
_BATCH_CELLS = 2_000_000  # rounds × models² solved at once (memory bound of the batched fit)

# online Elo, kept as a labelled comparison view only
ELO_K = 32.0
ELO_BASE = 1000.0
ELO_SCALE = SCALE
_SCORE = {"a": 1.0, "b": 0.0, "tie": 0.5, "both_bad": 0.5}


@dataclass
class LeaderRow:
    """One model on the arena leaderboard.

    Attributes:
        model: the model reference.
        rating: its Bradley–Terry rating (400-point logistic scale, base 10; the mean of all models is 1000).
        ci_low: the 2.5th percentile of its rating over the bootstrap rounds.
        ci_high: the 97.5th percentile.
        votes: votes it took part in (all outcomes).
        wins, losses, ties, both_bad: how those votes went for it.
        note: why the rating is not yet determined by the data ("" when it is): a model that won (or lost) every
            fitted vote has an infinite maximum-likelihood rating; the one shown is held finite by the ridge.
        determined: whether the data identify the rating (the model is in the main strongly connected group of
            the comparison graph); when False, show ``note`` instead of ``rating`` and its interval.
    """

    model: str
    rating: float
    ci_low: float
    ci_high: float
    votes: int = 0
    wins: int = 0
    losses: int = 0
    ties: int = 0
    both_bad: int = 0
    note: str = ""
    extra: dict = field(default_factory=dict)
    determined: bool = True


@dataclass(frozen=True)
class _Tally:
    """The votes reduced to counts of distinct (A, B, outcome) cells, models sorted by name."""

    models: list[str]
    a: np.ndarray  # model index of A, per cell
    b: np.ndarray  # model index of B, per cell
    share_a: np.ndarray  # the share of a win A gets: 1, 0 or 0.5
    counts: np.ndarray  # votes per cell


def _tally(votes: Iterable[Vote], both_bad: str) -> _Tally:
    if both_bad not in BOTH_BAD_POLICIES:
        raise errors.InvalidInput(f"Unknown both_bad policy '{both_bad}'. Choose one of: "
                                  f"{', '.join(BOTH_BAD_POLICIES)}.")
    cells: Counter = Counter()
    models: set[str] = set()
    for v in votes:
        if v.outcome not in OUTCOMES:
            raise errors.InvalidInput(f"Unknown vote '{v.outcome}'. Votes are one of: {', '.join(OUTCOMES)}.")
        if not v.model_a or not v.model_b or v.model_a == v.model_b:
            raise errors.InvalidInput("A vote needs two different models.")
        models.update((v.model_a, v.model_b))
        if not (v.outcome == "both_bad" and both_bad == "drop"):
            cells[(v.model_a, v.model_b, _SCORE[v.outcome])] += 1
    names = sorted(models)
    index = {m: i for i, m in enumerate(names)}
    keys = sorted(cells)
    return _Tally(models=names,
                  a=np.array([index[k[0]] for k in keys], dtype=np.int64),
                  b=np.array([index[k[1]] for k in keys], dtype=np.int64),
                  share_a=np.array([k[2] for k in keys], dtype=float),
                  counts=np.array([cells[k] for k in keys], dtype=float))


def _wins(tally: _Tally, counts: np.ndarray) -> np.ndarray:
    """``W[r, i, j]``: the (half-)wins of model i over model j in round r, from per-cell counts of shape (R, cells)."""
    n = len(tally.models)
    flat = np.zeros((counts.shape[0], n * n))
    np.add.at(flat, (slice(None), tally.a * n + tally.b), counts * tally.share_a)
    np.add.at(flat, (slice(None), tally.b * n + tally.a), counts * (1.0 - tally.share_a))
    return flat.reshape(-1, n, n)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _loss(wins: np.ndarray, theta: np.ndarray, ridge: float) -> np.ndarray:
    """The penalised negative log-likelihood of each round (natural-log strengths ``theta``)."""
    diff = theta[:, :, None] - theta[:, None, :]
    return (wins * np.logaddexp(0.0, -diff)).sum(axis=(1, 2)) + 0.5 * ridge * (theta**2).sum(axis=1)


def _newton_step(wins: np.ndarray, theta: np.ndarray, ridge: float) -> np.ndarray:
    """The Newton direction of every round: solve ``H · step = gradient``."""
    p = _sigmoid(theta[:, :, None] - theta[:, None, :])  # p[r, i, j] = P(i beats j)
    grad = (wins.swapaxes(1, 2) * p).sum(axis=2) - (wins * (1.0 - p)).sum(axis=2) + ridge * theta
    weight = (wins + wins.swapaxes(1, 2)) * p * (1.0 - p)
    hessian = -weight
    n = theta.shape[1]
    hessian[:, np.arange(n), np.arange(n)] = weight.sum(axis=2) + ridge
    return np.linalg.solve(hessian, grad[..., None])[..., 0]


def _fit(wins: np.ndarray, ridge: float, *, tol: float = 1e-9, max_iter: int = 100) -> np.ndarray:
    """Strengths (natural-log units) that minimise ``_loss`` in every round: damped Newton, halving the step until
    the loss does not grow (the loss is convex, so this converges from zero)."""
    theta = np.zeros(wins.shape[:2])
    loss = _loss(wins, theta, ridge)
    for _ in range(max_iter):
        step = _newton_step(wins, theta, ridge)
        scale = np.ones(len(theta))
        for _ in range(60):
            trial = theta - scale[:, None] * step
            trial_loss = _loss(wins, trial, ridge)
            worse = trial_loss > loss + 1e-12 * np.abs(loss)
            if not worse.any():
                break
            scale = np.where(worse, scale / 2, scale)
        theta, loss = trial, trial_loss
        moved = scale[:, None] * step
        # only differences matter: along the all-equal direction the Hessian is just the tiny ridge, which turns
        # rounding noise in the gradient into steps of ~1e-10 that never shrink (and are removed by the anchor)
        if np.max(np.abs(moved - moved.mean(axis=1, keepdims=True)), initial=0.0) < tol:
            break
    return theta


def _ratings(wins: np.ndarray, ridge: float) -> np.ndarray:
    """Ratings of every round, anchored so that the models present in a round average ``ANCHOR``; NaN where a
    model has no vote in that round."""
    theta = _fit(wins, ridge)
    present = (wins + wins.swapaxes(1, 2)).sum(axis=2) > 0
    theta = np.where(present, theta, np.nan)
    mean = np.nanmean(np.where(present.any(axis=1, keepdims=True), theta, 0.0), axis=1, keepdims=True)
    return ANCHOR + _POINTS * (theta - mean)


def bradley_terry(votes: list[Vote], *, both_bad: str = "tie", ridge: float = RIDGE) -> dict[str, float]:
    """Bradley–Terry maximum-likelihood ratings of every model in ``votes`` (see the module docstring).

    Args:
        votes: the votes, in any order (the result does not depend on it).
        both_bad: "tie" (count "both bad" as a tie) or "drop" (leave it out of the fit).
        ridge: the L2 penalty that keeps undefeated (or never-winning) models finite.

    Returns:
        model → rating (mean 1000). A model whose only votes were dropped gets NaN.
    """
    tally = _tally(votes, both_bad)
    if not tally.models:
        return {}
    ratings = _ratings(_wins(tally, tally.counts[None, :]), ridge)[0]
    return {m: float(r) for m, r in zip(tally.models, ratings, strict=True)}


def bootstrap_ratings(votes: list[Vote], *, rounds: int = BOOTSTRAP_ROUNDS, seed: int = 0, both_bad: str = "tie",
                      ridge: float = RIDGE) -> tuple[list[str], np.ndarray]:
    """Refit the ratings on ``rounds`` resamples of the votes (as many battles, drawn with replacement).

    Args:
        votes: the votes, in any order.
        rounds: bootstrap rounds.
        seed: the resampling seed (same votes + seed = same samples, whatever the vote order).
        both_bad: as in ``bradley_terry``.
        ridge: as in ``bradley_terry``.

    Returns:
        (models sorted by name, an array of shape (rounds, models) of ratings; NaN where a model was not drawn).
    """
    tally = _tally(votes, both_bad)
    total = int(tally.counts.sum())
    if not tally.models or total == 0 or rounds <= 0:
        return tally.models, np.full((max(rounds, 0), len(tally.models)), np.nan)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(total, tally.counts / total, size=rounds).astype(float)
    batch = max(1, _BATCH_CELLS // max(1, len(tally.models) ** 2))
    samples = [_ratings(_wins(tally, draws[i:i + batch]), ridge) for i in range(0, rounds, batch)]
    return tally.models, np.concatenate(samples)


def leaderboard(votes: list[Vote], *, rounds: int = BOOTSTRAP_ROUNDS, seed: int = 0, both_bad: str = "tie",
                ridge: float = RIDGE) -> list[LeaderRow]:
    """The arena leaderboard: Bradley–Terry ratings with bootstrap 95 % confidence intervals.

    Args:
        votes: every vote, in any order (ratings and intervals do not depend on it).
        rounds: bootstrap rounds.
        seed: the resampling seed (same votes + seed = same intervals).
        both_bad: "tie" (default) or "drop": how a "both bad" vote enters the fit.
        ridge: the L2 penalty that keeps a model with only wins (or only losses) finite.

    Returns:
        One row per model, best first (ties in rating broken by name).

    Raises:
        InvalidInput: a vote with an unknown outcome or without two different models.
    """
    votes = list(votes)
    if not votes:
        return []
    main, linked = _main_group(_tally(votes, both_bad))
    ratings = bradley_terry(votes, both_bad=both_bad, ridge=ridge)
    models, samples = bootstrap_ratings(votes, rounds=rounds, seed=seed, both_bad=both_bad, ridge=ridge)
    if main:  # anchor on the models the data identify, so a runaway undetermined rating doesn't shift them
        ratings = _reanchor(ratings, main)
        columns = [models.index(m) for m in main]
        with np.errstate(invalid="ignore"):
            shift = np.nanmean(samples[:, columns], axis=1, keepdims=True) - ANCHOR
        samples = samples - np.nan_to_num(shift)
    rows = {}
    for i, model in enumerate(models):
        column = samples[:, i][~np.isnan(samples[:, i])]
        low, high = np.percentile(column, [2.5, 97.5]) if len(column) else (ratings[model], ratings[model])
        rows[model] = LeaderRow(model=model, rating=ratings[model], ci_low=float(low), ci_high=float(high))
    _count_outcomes(rows, votes)
    for row in rows.values():
        row.note = _note(row, both_bad, main, linked)
        row.determined = row.model in main
    return sorted(rows.values(), key=lambda r: (-_finite(r.rating), r.model))


def _reanchor(ratings: dict[str, float], main: set[str]) -> dict[str, float]:
    shift = float(np.mean([ratings[m] for m in main])) - ANCHOR
    return {m: r - shift for m, r in ratings.items()}


def _closure(edges: np.ndarray) -> np.ndarray:
    """Reachability (``edges`` plus the diagonal, closed transitively by repeated squaring)."""
    n = len(edges)
    reach = edges | np.eye(n, dtype=bool)
    for _ in range(max(1, math.ceil(math.log2(n)))):
        reach = reach | ((reach.astype(np.int64) @ reach.astype(np.int64)) > 0)
    return reach


def _main_group(tally: _Tally) -> tuple[set[str], set[str]]:
    """(the models whose ratings the votes identify, the models that met them directly or through others).

    The first is the largest strongly connected group of the "beat" graph (most fitted votes, then names, break a tie
    in size); both are empty when no group has two models."""
    n = len(tally.models)
    if n < 2 or not len(tally.counts):
        return set(), set()
    wins = _wins(tally, tally.counts[None, :])[0]
    reach = _closure(wins > 0)
    fitted = (wins + wins.T).sum(axis=1)
    groups = {frozenset(np.flatnonzero(reach[i] & reach[:, i]).tolist()) for i in range(n)}
    best = max(groups, key=lambda g: (len(g), sum(fitted[i] for i in g), [-i for i in sorted(g)]))
    if len(best) < 2:
        return set(), set()
    met = _closure((wins + wins.T) > 0)[next(iter(best))]
    return {tally.models[i] for i in best}, {tally.models[i] for i in np.flatnonzero(met)}


def _finite(x: float) -> float:
    return x if math.isfinite(x) else -math.inf


def _count_outcomes(rows: dict[str, LeaderRow], votes: list[Vote]) -> None:
    for v in votes:
        a, b = rows[v.model_a], rows[v.model_b]
        a.votes += 1
        b.votes += 1
        if v.outcome == "a":
            a.wins, b.losses = a.wins + 1, b.losses + 1
        elif v.outcome == "b":
            b.wins, a.losses = b.wins + 1, a.losses + 1
        elif v.outcome == "tie":
            a.ties, b.ties = a.ties + 1, b.ties + 1
        else:
            a.both_bad, b.both_bad = a.both_bad + 1, b.both_bad + 1


def _note(row: LeaderRow, both_bad: str, main: set[str], linked: set[str]) -> str:
    """Why the rating is not determined ("" when it is)."""
    if row.model in main:
        return ""
    even = row.ties + (row.both_bad if both_bad == "tie" else 0)
    if row.wins + row.losses + even == 0:
        return "no fitted votes: rating not determined"
    if row.losses == 0 and even == 0:
        return "won every vote: rating not determined yet"
    if row.wins == 0 and even == 0:
        return "lost every vote: rating not determined yet"
    if not main:
        return "no model has both won and lost yet: rating not determined yet"
    if row.model not in linked:
        return "never compared with the main group of models: rating not determined"
    return "only beat, or only lost to, the models it met: rating not determined yet"


def elo_ratings(votes: Iterable[Vote], *, k: float = ELO_K, base: float = ELO_BASE,
                scale: float = ELO_SCALE) -> dict[str, float]:
    """Online Elo over votes in order — a labelled comparison view, not the leaderboard's method.

    Online Elo depends on vote order and K (shuffling the same votes moves ratings by ~100 points at K=32); the
    leaderboard uses ``bradley_terry`` instead. Expected score ``1 / (1 + 10 ** ((Rb - Ra) / scale))``, update
    ``k × (S − E)``.

    Args:
        votes: the votes, oldest first. A tie and "both bad" score 0.5 each.
        k: the update step.
        base: every model's starting rating.
        scale: the logistic scale (400: a 400-point gap means 10:1 odds).

    Returns:
        model → online Elo rating.
    """
    ratings: dict[str, float] = {}
    for v in votes:
        ra, rb = ratings.get(v.model_a, base), ratings.get(v.model_b, base)
        expected_a = 1.0 / (1.0 + 10 ** ((rb - ra) / scale))
        score_a = _SCORE[v.outcome]
        ratings[v.model_a] = ra + k * (score_a - expected_a)
        ratings[v.model_b] = rb + k * ((1.0 - score_a) - (1.0 - expected_a))
    return ratings
