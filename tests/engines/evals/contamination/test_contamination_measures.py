"""engines.evals.contamination.measures: AUROC by the Mann–Whitney U (hand-computed cases and scipy), ROUGE-L
(hand-computed LCS F-measures), token edit distance; texts.split_text / parse_lines."""

from __future__ import annotations

import math
import random

import pytest

from engines.errors import InvalidInput
from engines.evals.contamination.measures import (
    edit_distance,
    edit_tokens,
    lcs_length,
    mann_whitney,
    normalised_distance,
    rouge_l,
    rouge_tokens,
)
from engines.evals.contamination.texts import format_lines, parse_lines, split_text


def test_auroc_hand_computed_cases():
    assert mann_whitney([3, 4, 5], [0, 1, 2]).auroc == 1.0  # perfect separation
    assert mann_whitney([0, 1, 2], [3, 4, 5]).auroc == 0.0
    # pairs (x > y): 2>1 yes, 2>3 no, 4>1 yes, 4>3 yes → 3 of 4
    assert mann_whitney([2, 4], [1, 3]).auroc == 0.75
    # ties count half: (1 vs 1) = 0.5, (1 vs 0) = 1, (2 vs 1) = 1, (2 vs 0) = 1 → 3.5 / 4
    result = mann_whitney([1, 2], [1, 0])
    assert result.auroc == 0.875 and result.u == 3.5 and (result.n_members, result.n_nonmembers) == (2, 2)
    assert mann_whitney([1, 1, 1], [1, 1]).auroc == 0.5 and mann_whitney([1, 1, 1], [1, 1]).p_value == 1.0


def test_auroc_equals_the_pair_count_definition_and_scipy():
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(3)
    for _ in range(30):
        x = [round(rng.gauss(0.5, 1), 1) for _ in range(rng.randint(2, 40))]  # rounded: plenty of ties
        y = [round(rng.gauss(0, 1), 1) for _ in range(rng.randint(2, 40))]
        pairs = sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in x for b in y)
        result = mann_whitney(x, y)
        assert result.auroc == pytest.approx(pairs / (len(x) * len(y)), abs=1e-12)
        ref = stats.mannwhitneyu(x, y, alternative="greater", method="asymptotic", use_continuity=True)
        assert result.u == pytest.approx(ref.statistic) and result.p_value == pytest.approx(ref.pvalue, rel=1e-9)


def test_auroc_empty_side_and_missing_values():
    assert math.isnan(mann_whitney([], [1.0]).auroc) and mann_whitney([1.0], []).p_value == 1.0
    assert mann_whitney([2.0, None, float("nan")], [1.0]).auroc == 1.0  # unscored items are left out


def test_rouge_l_hand_computed():
    # LCS("the cat sat on the mat", "the cat is on the mat") = the cat on the mat = 5; P = R = 5/6
    assert rouge_l("the cat sat on the mat", "the cat is on the mat") == pytest.approx(5 / 6)
    # candidate 3 tokens, reference 6, LCS 3: P = 1, R = 0.5, F = 2·0.5/1.5
    assert rouge_l("the cat mat", "the cat sat on the mat") == pytest.approx(2 / 3)
    assert rouge_l("The CAT, sat!", "the cat sat") == 1.0  # rouge_score's tokenisation: case and punctuation go
    assert rouge_l("", "anything") == 0.0 and rouge_l("dog", "cat") == 0.0
    assert rouge_tokens("Hello, World-2!") == ["hello", "world", "2"]
    assert lcs_length(list("ABCBDAB"), list("BDCABA")) == 4  # the textbook case


def test_edit_distance():
    assert edit_distance(list("kitten"), list("sitting")) == 3
    assert edit_distance([], ["a", "b"]) == 2 and edit_distance(["a"], ["a"]) == 0
    assert edit_tokens("Paris, France.") == ["Paris", ",", "France", "."]
    assert normalised_distance("a b c d", "a b x d") == 0.25 and normalised_distance("", "") == 0.0
    assert normalised_distance("same words", "same words") == 0.0 and normalised_distance("a", "b c") == 1.0


def test_split_text_at_word_boundaries():
    assert split_text("one two three four", 0.5) == ("one two", "three four")
    assert split_text("What is the capital\nof France?", 0.5) == ("What is the", "capital\nof France?")
    assert split_text("a b", 0.9) == ("a", "b")  # at least one word on each side
    assert split_text("single", 0.5) is None
    with pytest.raises(InvalidInput):
        split_text("a b c", 1.0)


def test_reference_lines_round_trip():
    texts = ["What is 2 + 2?\n4", "A plain line"]
    assert parse_lines(format_lines(texts)) == texts
    assert parse_lines("  first \n\n second\\nline \n") == ["first", "second\nline"]
