"""The measures behind the checks, in plain Python: AUROC by the Mann–Whitney U, ROUGE-L, token edit distance.

* ``mann_whitney``: AUROC = U / (n₁ n₂), U counting the (member, non-member) pairs where the member scores higher,
  ties counted half; the one-sided p-value (members score higher) by the normal approximation with the tie
  correction and a continuity correction, as ``scipy.stats.mannwhitneyu(..., alternative="greater",
  method="asymptotic")``.
* ``rouge_l``: the F-measure of the longest common subsequence of tokens, as Google's ``rouge_score`` computes
  ROUGE-L without stemming: lowercase, every run of characters other than a–z and 0–9 becomes a space, split.
* ``edit_distance``: Levenshtein distance over tokens (words and single punctuation marks).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_ROUGE_TOKEN = re.compile(r"[^a-z0-9]+")
_EDIT_TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass
class RankTest:
    """Members against non-members: AUROC, the U statistic and the one-sided p-value (members score higher)."""

    auroc: float
    u: float
    p_value: float
    n_members: int
    n_nonmembers: int


def _midranks(values: list[float]) -> tuple[list[float], list[int]]:
    """1-based ranks with ties given their average rank, and the size of every tie group."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    groups = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for n in range(i, j + 1):
            ranks[order[n]] = (i + j) / 2 + 1
        groups.append(j - i + 1)
        i = j + 1
    return ranks, groups


def mann_whitney(members: list[float], nonmembers: list[float]) -> RankTest:
    """AUROC of a score separating members (e.g. the test set) from non-members (a reference set of unseen items).

    Args:
        members: scores of the items suspected seen (higher = more likely seen).
        nonmembers: scores of items certainly unseen.

    Returns:
        RankTest; NaN AUROC and p = 1 when either side is empty.
    """
    x = [float(v) for v in members if v is not None and not math.isnan(v)]
    y = [float(v) for v in nonmembers if v is not None and not math.isnan(v)]
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        return RankTest(float("nan"), float("nan"), 1.0, n1, n2)
    ranks, groups = _midranks(x + y)
    u = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    n = n1 + n2
    ties = sum(t ** 3 - t for t in groups)
    var = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))) if n > 1 else 0.0
    if var <= 0:
        p = 1.0
    else:
        z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(var)
        p = 0.5 * math.erfc(z / math.sqrt(2))
    return RankTest(u / (n1 * n2), u, min(1.0, max(0.0, p)), n1, n2)


def rouge_tokens(text: str) -> list[str]:
    """``rouge_score``'s default tokenisation (no stemming): lowercase, non-alphanumerics as spaces, split."""
    return _ROUGE_TOKEN.sub(" ", text.lower()).split()


def lcs_length(a: list[str], b: list[str]) -> int:
    """Length of the longest common subsequence of two token lists (O(len(a)·len(b)) time, O(len(b)) memory)."""
    if not a or not b:
        return 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, start=1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(candidate: str, reference: str) -> float:
    """ROUGE-L F-measure of a candidate against a reference: 2PR / (P + R) with P = LCS/|candidate|,
    R = LCS/|reference| over ``rouge_tokens``.

    Args:
        candidate: the generated text.
        reference: the true text.

    Returns:
        A score in [0, 1] (0 when either has no token).
    """
    cand, ref = rouge_tokens(candidate), rouge_tokens(reference)
    lcs = lcs_length(cand, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(cand), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


def edit_tokens(text: str) -> list[str]:
    """Tokens for the edit distance: words (runs of letters, digits, _) and single punctuation marks."""
    return _EDIT_TOKEN.findall(text)


def edit_distance(a: list[str], b: list[str]) -> int:
    """Levenshtein distance between two token lists (insertions, deletions, substitutions cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def normalised_distance(a: str, b: str) -> float:
    """Token edit distance divided by the longer text's token count (0 = identical, 1 = nothing in common)."""
    ta, tb = edit_tokens(a), edit_tokens(b)
    longest = max(len(ta), len(tb))
    return edit_distance(ta, tb) / longest if longest else 0.0
