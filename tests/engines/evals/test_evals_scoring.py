"""engines.evals.scoring: normalisation, rule-based scores, multiple-choice letters, code blocks and judge verdicts,
each against hand-computed cases (garbage included)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engines.errors import InvalidInput
from engines.evals import scoring


@pytest.mark.parametrize(("text", "expected"), [
    ("The Eiffel  Tower!", "eiffel tower"),
    ("  An apple, a day. ", "apple day"),
    ("Paris.", "paris"),
    ("ＡＢＣ", "abc"),  # full-width letters fold (NFKC)
    ("«Guillemets» and — dashes", "guillemets and dashes"),
    ("theory", "theory"),  # "the" only as a whole word
    ("", ""),
])
def test_normalize(text, expected):
    assert scoring.normalize(text) == expected


def test_exact_and_contains_use_the_normalised_text():
    assert scoring.exact_match("  paris. ", ["Paris"])
    assert not scoring.exact_match("Paris, France", ["Paris"])
    assert scoring.exact_match("eight", ["8", "eight"])
    assert scoring.contains("The capital is Paris, of course.", ["paris"])
    assert not scoring.contains("It has 14 legs", ["4"])  # whole words only
    assert scoring.contains("It has 4 legs", ["4"])
    assert not scoring.contains("anything", [""])


def test_regex_is_searched_case_insensitively_and_bad_patterns_are_named():
    assert scoring.regex_match("The answer: 1969.", [r"\b19\d\d\b"])
    assert scoring.regex_match("PARIS", ["^paris$"])
    assert not scoring.regex_match("Berlin", ["^paris$"])
    with pytest.raises(InvalidInput, match="not a valid regular expression"):
        scoring.compile_pattern("([unclosed")


@pytest.mark.parametrize(("text", "number"), [
    ("Natalia sold 48/2 = 24 clips in May.\n#### 72", 72.0),
    ("So the answer is 1,234.5 dollars, not 12.", 1234.5),
    ("First 3, then 5, finally 8", 8.0),
    ("The answer is $-7", -7.0),
    ("It costs −3 (minus three)", -3.0),
    ("answer: .5", 0.5),
    ("no digits here", None),
])
def test_final_number_gsm8k_style(text, number):
    assert scoring.final_number(text) == number


def test_numeric_match_with_tolerance():
    assert scoring.numeric_match("... so 0.3 in total", ["0.30000000000000004"])
    assert scoring.numeric_match("#### 100", ["The solution is 99.9"], tolerance=0.1)  # 0.1 absolute
    assert not scoring.numeric_match("#### 100", ["99.9"], tolerance=1e-6)
    assert scoring.numeric_match("1000000", ["1,000,100"], tolerance=1e-3)  # relative to the reference
    assert not scoring.numeric_match("no number", ["5"])
    with pytest.raises(InvalidInput, match="holds no number"):
        scoring.check_numeric_references(["five"], "Item 3")


@pytest.mark.parametrize(("output", "expected"), [
    ("B", 1), ("(C)", 2), ("Answer: D", 3), ("The answer is (A).", 0), ("b. Dolphin", None), ("B. Dolphin", 1),
    ("I think D.", 3), ("E", None), ("", None), ("answer is b", 1), ("Dolphin", 1), ("**C**", 2),
])
def test_choice_letter(output, expected):
    assert scoring.choice_letter(output, 4, ["Shark", "Dolphin", "Trout", "Octopus"]) == expected


def test_acc_and_norm_follow_lm_eval():
    # raw argmax picks the long choice; per character the short one wins
    lls, choices = [-4.0, -6.0], ["ab", "abcdefgh"]
    assert scoring.acc_and_norm(lls, choices, 0) == (1.0, 0.0, 0, 1)
    assert scoring.acc_and_norm([-1.0, -1.0], ["x", "y"], 1) == (0.0, 0.0, 0, 0)  # ties: the first, as np.argmax


def test_extract_code():
    answer = "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```\nDone."
    assert scoring.extract_code(answer) == "def add(a, b):\n    return a + b"
    assert scoring.extract_code("```\nx = 1\n```") == "x = 1"
    assert scoring.extract_code("def f(): pass") == "def f(): pass"
    assert scoring.extract_code("```py\nunclosed = True") == "unclosed = True"


@pytest.mark.parametrize(("raw", "score", "rationale"), [
    ("Score: 8\nRationale: Correct and complete.", 0.8, "Correct and complete."),
    ("**Score:** 10/10\nReason: perfect", 1.0, "perfect"),
    ("score = 3 / 5\nexplanation: half right", 0.6, "half right"),
    ('{"score": 7, "rationale": "good"}', 0.7, "good"),
    ("Score: 0\nRationale: wrong", 0.0, "wrong"),
])
def test_parse_verdict(raw, score, rationale):
    verdict = scoring.parse_verdict(raw)
    assert verdict.score == pytest.approx(score) and verdict.rationale == rationale


@pytest.mark.parametrize("raw", ["", "I cannot grade this.", "Score: eleven", "Score: 11", "Score: -2",
                                 "}{ not json at all ]]", '{"score": "high"}', "Rationale: fine but no score",
                                 '{"score": true}'])
def test_parse_verdict_garbage_gives_no_score(raw):
    assert scoring.parse_verdict(raw).score is None


@given(st.text(max_size=300))
def test_parse_verdict_never_raises_and_stays_in_range(raw):
    verdict = scoring.parse_verdict(raw)
    assert verdict.score is None or 0.0 <= verdict.score <= 1.0
    assert "\n" not in verdict.rationale


@pytest.mark.parametrize(("raw", "winner"), [
    ("Winner: A\nRationale: clearer", "A"), ("winner = b", "B"), ("Winner: tie\nRationale: same", "tie"),
    ("Both are fine.", None), ("Winner: C", None), ("", None),
])
def test_parse_pairwise(raw, winner):
    assert scoring.parse_pairwise(raw)[0] == winner
