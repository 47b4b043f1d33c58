"""Scoring a model's output against an item: normalised exact match, contains, regex, numeric (GSM8K-style), the
letter of a multiple-choice answer, the code block of a code answer, and the parsing of a judge's verdict.

Every function here is pure (no model, no I/O), so each is tested against hand-computed cases.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from dataclasses import dataclass

from engines import textfiles
from engines.errors import InvalidInput

METHODS = ("exact", "contains", "regex", "numeric", "judge")
METHOD_LABELS = {"exact": "exact match (normalised)", "contains": "contains the reference", "regex": "regex",
                 "numeric": "numeric (final number, with tolerance)", "judge": "LLM judge",
                 "loglikelihood": "log-likelihood (acc / acc_norm)", "letter": "generated letter",
                 "pass@k": "pass@k in the sandbox", "rubric": "LLM judge with a rubric"}
LETTERS = string.ascii_uppercase
_ARTICLES = re.compile(r"\b(a|an|the)\b")
JUDGE_MAX = 10


def normalize(text: str) -> str:
    """SQuAD-style normalisation: Unicode NFKC, lower case, punctuation and the articles a/an/the removed,
    whitespace collapsed.

    Args:
        text: any text.

    Returns:
        The normalised text ("The Eiffel  Tower!" → "eiffel tower").
    """
    text = unicodedata.normalize("NFKC", str(text)).lower()
    text = "".join(" " if unicodedata.category(c).startswith("P") or c in string.punctuation else c for c in text)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(output: str, references: list[str]) -> bool:
    """Normalised output equals a normalised reference."""
    out = normalize(output)
    return any(out == normalize(r) for r in references)


def contains(output: str, references: list[str]) -> bool:
    """A normalised reference appears in the normalised output as whole words ("4" is not found in "14")."""
    out = f" {normalize(output)} "
    return any(normalize(r) and f" {normalize(r)} " in out for r in references)


def compile_pattern(pattern: str) -> re.Pattern:
    """A reference used as a regular expression (case-insensitive).

    Raises:
        InvalidInput: the pattern does not compile.
    """
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise InvalidInput(f"The reference {pattern!r} is not a valid regular expression: {exc}.") from None


def regex_match(output: str, patterns: list[str]) -> bool:
    """A reference pattern is found anywhere in the output (``re.search``, case-insensitive)."""
    return any(compile_pattern(p).search(output) for p in patterns)


_NUMBER = r"[-−]?\$?\s?(?:\d[\d,]*(?:\.\d+)?|\.\d+)"
_FINAL = (re.compile(r"####\s*(" + _NUMBER + ")"),
          re.compile(r"answer\s*(?:is|:)?\s*[:=]?\s*\**\s*(" + _NUMBER + ")", re.IGNORECASE))
_ANY_NUMBER = re.compile(_NUMBER)


def parse_number(text: str) -> float | None:
    """A number written with optional sign, $, thousands commas and decimals ("-$1,234.5" → -1234.5)."""
    cleaned = text.replace("−", "-").replace("$", "").replace(",", "").replace(" ", "")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def final_number(text: str) -> float | None:
    """The answer number of a worked solution, GSM8K-style: after "####", else after "the answer is", else the
    last number in the text.

    Args:
        text: a model's output or a reference solution.

    Returns:
        The number, or None when the text holds none.
    """
    for pattern in _FINAL:
        found = pattern.findall(text)
        if found:
            return parse_number(found[-1])
    numbers = _ANY_NUMBER.findall(text)
    return parse_number(numbers[-1]) if numbers else None


def numeric_match(output: str, references: list[str], tolerance: float = 1e-6) -> bool:
    """The output's final number equals a reference's within ``tolerance`` (absolute, or relative to the
    reference, whichever is larger)."""
    got = final_number(output)
    if got is None:
        return False
    for ref in references:
        want = final_number(ref)
        if want is not None and math.isclose(got, want, rel_tol=tolerance, abs_tol=tolerance):
            return True
    return False


def check_numeric_references(references: list[str], where: str) -> None:
    """Refuse numeric scoring of an item whose reference holds no number.

    Raises:
        InvalidInput: naming the item.
    """
    if not any(final_number(r) is not None for r in references):
        raise InvalidInput(f"{where}: the reference {references[0]!r} holds no number, so numeric scoring can't "
                           "check it. Pick another scoring method or fix the reference.")


def score_text(method: str, output: str, references: list[str], tolerance: float = 1e-6) -> bool:
    """Pass/fail of a free-form answer by a rule-based method.

    Args:
        method: exact | contains | regex | numeric.
        output: the model's answer.
        references: acceptable reference answers (patterns for regex).
        tolerance: numeric only.

    Returns:
        True when the answer passes.
    """
    if method == "exact":
        return exact_match(output, references)
    if method == "contains":
        return contains(output, references)
    if method == "regex":
        return regex_match(output, references)
    if method == "numeric":
        return numeric_match(output, references, tolerance)
    raise InvalidInput(f"Unknown scoring method '{method}': use one of exact, contains, regex, numeric, judge.")


# ------------------------------------------------------------------------------------------- multiple choice

_LETTER_PATTERNS = (
    r"answer\s*(?:is|:)\s*\(?\**\s*([A-Z])\b",
    r"^\s*\(?\**([A-Z])\**\)?\s*(?:[.:)\-]|$)",
    r"\(([A-Z])\)",
    r"\b([A-Z])\b",
)


def choice_letter(output: str, n_choices: int, choices: list[str] | None = None) -> int | None:
    """The choice a generated answer picks: a letter ("B", "(B)", "Answer: B", "B. Paris"), else an answer that is
    exactly one choice's text (normalised).

    Args:
        output: the model's answer.
        n_choices: how many choices the item has (letters beyond them are ignored).
        choices: the choice texts, for the fallback.

    Returns:
        The 0-based choice index, or None when the answer names no choice.
    """
    valid = set(LETTERS[:n_choices])
    for pattern in _LETTER_PATTERNS:
        flags = re.MULTILINE | (re.IGNORECASE if pattern.startswith("answer") else 0)
        for match in re.finditer(pattern, output, flags):
            letter = match.group(1).upper()
            if letter in valid:
                return LETTERS.index(letter)
    if choices:
        out = normalize(output)
        hits = [i for i, c in enumerate(choices) if normalize(c) == out]
        if len(hits) == 1:
            return hits[0]
    return None


def argmax_first(values: list[float]) -> int:
    """Index of the largest value, the first one on a tie (numpy's argmax, as lm-eval uses)."""
    best = 0
    for i, v in enumerate(values):
        if v > values[best]:
            best = i
    return best


def acc_and_norm(loglikelihoods: list[float], choices: list[str], gold: int) -> tuple[float, float, int, int]:
    """lm-evaluation-harness's ``acc`` and ``acc_norm`` for one item.

    ``acc``: the choice with the highest log-likelihood is the gold one. ``acc_norm``: the same after dividing each
    log-likelihood by its choice's length in characters (``len(choice)``, the choice text without the delimiter).

    Args:
        loglikelihoods: per choice, sum log p(choice tokens | prompt).
        choices: the choice texts.
        gold: the index of the right choice.

    Returns:
        (acc, acc_norm, predicted index, predicted index after normalisation).
    """
    pred = argmax_first(loglikelihoods)
    pred_norm = argmax_first([ll / float(len(c)) if len(c) else ll for ll, c in zip(loglikelihoods, choices,
                                                                                      strict=True)])
    return float(pred == gold), float(pred_norm == gold), pred, pred_norm


# ------------------------------------------------------------------------------------------------------- code

_FENCE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL | re.IGNORECASE)


def extract_code(output: str) -> str:
    """The Python code in a model's answer: the first fenced block (```python … ```), else the whole answer."""
    match = _FENCE.search(output)
    return (match.group(1) if match else output).strip("\n")


# ------------------------------------------------------------------------------------------------------ judge


@dataclass
class Verdict:
    """A judge's answer: a score in [0, 1] (None when the judge gave none) and its one-line rationale."""

    score: float | None
    rationale: str
    raw: str


_SCORE = re.compile(r"\bscore\b\s*(?:\(0-10\))?\s*[:=]\s*\**\s*(-?\d+(?:\.\d+)?)\s*(?:/\s*(\d+))?", re.IGNORECASE)
_RATIONALE = re.compile(r"\b(?:rationale|reason|explanation)\b\s*[:=]\s*(.+)", re.IGNORECASE)


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def parse_verdict(raw: str, scale: int = JUDGE_MAX) -> Verdict:
    """Read "Score: N" (0..scale, or "N/scale") and "Rationale: …" from a judge's reply, or the same keys as JSON.

    Garbage, a missing score or one out of range gives ``score=None`` (counted and shown by the caller; never
    guessed).

    Args:
        raw: the judge model's reply.
        scale: the top of the score scale.

    Returns:
        Verdict with the score divided by ``scale``.
    """
    text = str(raw or "")
    score, rationale = _json_verdict(text)
    if score is None:
        match = _SCORE.search(text)
        if match:
            denominator = float(match.group(2)) if match.group(2) else float(scale)
            score = float(match.group(1)) * scale / denominator if denominator else None
    if rationale is None:
        found = _RATIONALE.search(text)
        rationale = found.group(1) if found else ""
    if score is None or not 0 <= score <= scale:
        return Verdict(None, _one_line(rationale or text), text)
    return Verdict(score / scale, _one_line(rationale), text)


def _json_verdict(text: str) -> tuple[float | None, str | None]:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        return None, None
    try:
        data = textfiles.loads(text[start:end + 1])  # never a RecursionError on a judge's "{[[[[…"
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    value = data.get("score")
    score = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    reason = data.get("rationale") or data.get("reason")
    return score, str(reason) if reason is not None else None


_WINNER = re.compile(r"\bwinner\b\s*[:=]\s*\**\s*(A|B|tie)\b", re.IGNORECASE)


def parse_pairwise(raw: str) -> tuple[str | None, str]:
    """Read "Winner: A | B | tie" and the rationale from a pairwise judge's reply.

    Returns:
        ("A" | "B" | "tie" | None when unreadable, one-line rationale).
    """
    text = str(raw or "")
    match = _WINNER.search(text)
    found = _RATIONALE.search(text)
    rationale = _one_line(found.group(1) if found else text)
    if not match:
        return None, rationale
    word = match.group(1)
    return ("tie" if word.lower() == "tie" else word.upper()), rationale
