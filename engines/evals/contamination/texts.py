"""What text of an item the checks look at, and how an item is cut into a first and a second piece.

An item's *full* text is its question followed, on a new line, by its answer (a free-form item's first reference,
a multiple-choice item's right choice, a code item's tests, an open-ended item's first reference if it has one):
the instance as it would appear in a crawled copy of the benchmark. *question* is the question alone.
"""

from __future__ import annotations

import re

from engines import textfiles
from engines.errors import InvalidInput
from engines.evals.testsets import Item

PARTS = ("full", "question")
PART_LABELS = {"full": "question and answer", "question": "question only"}
_WORD = re.compile(r"\S+")


def answer_text(item: Item) -> str:
    """The item's answer as text ("" when it has none).

    Args:
        item: a test item.

    Returns:
        The right choice, the first reference, or the tests of a code item.
    """
    if item.kind == "choice" and item.answer is not None and 0 <= item.answer < len(item.choices):
        return item.choices[item.answer]
    if item.kind == "code":
        return item.tests.strip()
    return item.references[0] if item.references else ""


def item_text(item: Item, part: str = "full") -> str:
    """The text of an item the log-probability and n-gram checks score.

    Args:
        item: a test item.
        part: full (question, a newline, the answer) or question.

    Returns:
        The text.

    Raises:
        InvalidInput: an unknown part.
    """
    if part not in PARTS:
        raise InvalidInput(f"Unknown text part '{part}': use {' or '.join(PARTS)}.")
    answer = answer_text(item) if part == "full" else ""
    return f"{item.question}\n{answer}" if answer else item.question


def split_text(text: str, fraction: float = 0.5) -> tuple[str, str] | None:
    """Cut a text at a word boundary into (first piece, second piece), the first holding ``fraction`` of its words.

    Args:
        text: the instance.
        fraction: share of the words in the first piece (0 < fraction < 1).

    Returns:
        (first, second) with at least one word each, the first without trailing whitespace; None for a text of
        fewer than two words.
    """
    if not 0.0 < float(fraction) < 1.0:
        raise InvalidInput(f"The first piece must hold between 0 and 1 of the words (got {fraction}).")
    words = list(_WORD.finditer(text))
    if len(words) < 2:
        return None
    cut = min(len(words) - 1, max(1, round(len(words) * float(fraction))))
    return text[:words[cut - 1].end()], text[words[cut].start():]


def parse_lines(text: str | None) -> list[str]:
    """Items written one per line (a literal \\n inside a line stands for a line break within the item).

    Args:
        text: the pasted text.

    Returns:
        The non-empty items, stripped.
    """
    out = []
    for line in textfiles.lines(text or ""):
        item = line.strip().replace("\\n", "\n")
        if item.strip():
            out.append(item)
    return out


def format_lines(texts: list[str]) -> str:
    """The inverse of ``parse_lines``: one item per line, line breaks inside an item written \\n."""
    return "\n".join(t.replace("\r", "").strip().replace("\n", "\\n") for t in texts if t.strip())
