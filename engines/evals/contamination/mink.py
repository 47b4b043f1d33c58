"""Min-K% Prob (Shi et al. 2023) and Min-K%++ (Zhang et al. 2024): how unusually likely the model finds the least
likely tokens of a text. Text the model was trained on has fewer very unlikely tokens.

* Min-K% Prob: the mean of the lowest k fraction of the text's token log-probabilities (natural log).
* Min-K%++: the same over each token's log-probability normalised by the model's own next-token distribution at
  that position: (log p(x_t) − μ_t) / σ_t with μ_t = Σ_v p(v) log p(v) and σ_t² = Σ_v p(v) (log p(v))² − μ_t².

Both: higher = more likely seen. The lowest ⌊k·n⌋ of n token scores are averaged (at least one), as the authors'
reference code does (``int(len(scores) * k)``). Token scores come from ``tokens`` (local models; API servers that
echo prompt log-probabilities).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from engines import errors
from engines.evals.contamination import tokens as token_scoring
from engines.evals.logprobs import DEFAULT_BATCH_SIZE, load_local_lm
from engines.refs import parse_ref

DEFAULT_K = 0.2
SHOWN_TOKENS = 12  # lowest tokens kept per item for the drill-down
ITEMS_PER_STEP = 32  # texts scored between two progress reports


@dataclass
class MinKScore:
    """One text's Min-K% and Min-K%++ (None when not computed), with what they were computed from."""

    min_k: float
    min_k_pp: float | None
    tokens: int
    lowest: list[tuple[str, float]] = field(default_factory=list)  # the lowest tokens: (text, log p)
    truncated: bool = False
    approximate: bool = False  # Min-K%++ from an API server's top-N alternatives


def check_k(k: float) -> float:
    """k as a fraction in (0, 1]; a percentage above 1 (e.g. 20) is refused with the fix."""
    try:
        value = float(k)
    except (TypeError, ValueError):
        raise errors.InvalidInput(f"k must be a number between 0 and 1 (got {k!r}).") from None
    if not 0.0 < value <= 1.0 or math.isnan(value):
        hint = f" (for {value:g} %, write {value / 100:g})" if 1.0 < value <= 100.0 else ""
        raise errors.InvalidInput(f"k is the fraction of tokens averaged: between 0 and 1{hint}.")
    return value


def lowest_mean(values: list[float], k: float = DEFAULT_K) -> float:
    """Mean of the lowest ⌊k·n⌋ values (at least one).

    Args:
        values: per-token scores.
        k: the fraction averaged (0 < k ≤ 1).

    Returns:
        The mean (NaN for no values).
    """
    k = check_k(k)
    if not values:
        return float("nan")
    n = max(1, int(len(values) * k + 1e-9))
    return float(sum(sorted(values)[:n]) / n)


def from_tokens(scores: token_scoring.TokenScores, k: float) -> MinKScore:
    """Min-K% (and Min-K%++ where μ, σ are known) of one text's token scores."""
    pp = lowest_mean(scores.normalised(), k) if scores.mu is not None else None
    lowest = sorted(zip(scores.pieces, scores.logprobs, strict=False), key=lambda x: x[1])[:SHOWN_TOKENS]
    return MinKScore(lowest_mean(scores.logprobs, k), pp, len(scores.logprobs), lowest, scores.truncated,
                     scores.approximate)


def iter_scores(model: str, texts: list[str], *, k: float = DEFAULT_K, plus_plus: bool = True,
                batch_size: int = DEFAULT_BATCH_SIZE, quantization: str = "auto",
                stop: threading.Event | None = None) -> Iterator[list[tuple[int, MinKScore]]]:
    """Min-K% (and Min-K%++) of many texts, batched; yields each step's (index, score) pairs.

    Args:
        model: a local model reference, or an API model whose server echoes prompt log-probabilities.
        texts: the texts.
        k: the fraction of tokens averaged.
        plus_plus: compute Min-K%++ too (one pass gives both).
        batch_size: sequences per forward pass.
        quantization: auto | 4bit | 8bit | bf16 | fp16 | fp32 (local models).
        stop: set it to stop after the current step.

    Yields:
        Lists of (text index, MinKScore), ``ITEMS_PER_STEP`` texts at a time (one at a time for API models).

    Raises:
        Unsupported: an API server that cannot score a given text.
    """
    k = check_k(k)
    from engines.backends.registry import is_local

    ref = parse_ref(model)
    if not is_local(ref):  # asked for explicitly: any served model is tried (a server without the echo says so)
        for i, text in enumerate(texts):
            if stop is not None and stop.is_set():
                return
            scores = token_scoring.remote_token_scores(ref, text)
            yield [(i, from_tokens(scores if plus_plus else _without_mu(scores), k))]
        return
    lm = load_local_lm(model, quantization)
    for start in range(0, len(texts), ITEMS_PER_STEP):
        if stop is not None and stop.is_set():
            return
        chunk = texts[start:start + ITEMS_PER_STEP]
        scored = token_scoring.local_token_scores(lm, chunk, batch_size=batch_size, distribution=plus_plus)
        yield [(start + j, from_tokens(s, k)) for j, s in enumerate(scored)]


def _without_mu(scores: token_scoring.TokenScores) -> token_scoring.TokenScores:
    scores.mu = scores.sigma = None
    return scores


def min_k_scores(model: str, texts: list[str], *, k: float = DEFAULT_K, plus_plus: bool = True,
                 batch_size: int = DEFAULT_BATCH_SIZE, quantization: str = "auto") -> list[MinKScore]:
    """Min-K% (and Min-K%++) of many texts, batched.

    Args:
        model: a local model reference (or an API model whose server echoes prompt log-probabilities).
        texts: the texts.
        k: the fraction of tokens averaged.
        plus_plus: compute Min-K%++ too.
        batch_size: sequences per forward pass (1 = one at a time).
        quantization: auto | 4bit | 8bit | bf16 | fp16 | fp32.

    Returns:
        One MinKScore per text, in order.
    """
    out: list[MinKScore | None] = [None] * len(texts)
    for step in iter_scores(model, texts, k=k, plus_plus=plus_plus, batch_size=batch_size,
                            quantization=quantization):
        for i, score in step:
            out[i] = score
    return out  # type: ignore[return-value]


def min_k_prob(model: str, text: str, *, k: float = DEFAULT_K) -> float:
    """Min-K% Prob (Shi et al. 2023): the mean of the lowest k fraction of the text's token log-probabilities.

    Args:
        model: a local model reference (or an API model whose server echoes prompt log-probabilities).
        text: the text.
        k: the fraction of tokens averaged (default 0.2).

    Returns:
        The score (natural log; higher = more likely seen in training).
    """
    return min_k_scores(model, [text], k=k, plus_plus=False)[0].min_k


def min_k_plus_plus(model: str, text: str, *, k: float = DEFAULT_K) -> float:
    """Min-K%++ (Zhang et al. 2024): the mean of the lowest k fraction of (log p(x_t) − μ_t) / σ_t, μ_t and σ_t the
    mean and standard deviation of log p under the model's next-token distribution at position t.

    Args:
        model: a local model reference (an API model: μ, σ only approximated from the server's top alternatives).
        text: the text.
        k: the fraction of tokens averaged (default 0.2).

    Returns:
        The score (higher = more likely seen in training).
    """
    score = min_k_scores(model, [text], k=k, plus_plus=True)[0].min_k_pp
    return float("nan") if score is None else score
