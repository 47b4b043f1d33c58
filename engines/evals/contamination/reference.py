"""The reference set for Min-K%: texts the model certainly has not seen, formatted like the test items.

From pasted lines, a file (CSV / JSON Lines, read as a test set with its columns guessed), a test set stored by the
Evaluate tab, or the test items paraphrased by another model in one click (``paraphrase``, through
``engines.chat.stream_chat``; prompt ``prompts.CONTAM_PARAPHRASE_*``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

from engines import errors, prompts
from engines.evals.contamination.texts import item_text, parse_lines
from engines.evals.items import RunConfig, generate
from engines.evals.testsets import TestSet
from engines.refs import parse_ref

MAX_PARAPHRASE_TOKENS = 512


def from_testset(testset: TestSet, part: str = "full") -> list[str]:
    """The texts of a test set's items, as the checks score them."""
    return [item_text(i, part) for i in testset.items]


def from_file(path: str | Path, name: str | None = None, part: str = "full") -> list[str]:
    """Reference texts from a CSV / JSON Lines file: its rows read as a test set (columns guessed by name, e.g.
    question/answer), each item's text as the checks score it.

    Raises:
        InvalidInput: unreadable file, or no question-like column.
    """
    from engines.evals.sources import read_file
    from engines.evals.testsets import build_testset, guess_mapping

    table = read_file(str(path), name or Path(path).name)
    mapping = guess_mapping(table.columns)
    column = mapping.get("question") or (table.columns[0] if len(table.columns) == 1 else None)
    if column is None:
        raise errors.InvalidInput(f"{table.name}: no column holds the texts; name one 'text' or 'question'.")
    if "answer" not in mapping:  # texts only: every non-empty row is one reference text
        return [t for t in (str(r.get(column) or "").strip() for r in table.rows) if t]
    return from_testset(build_testset(table, mapping), part)


def combine(lines: str | None = None, files: list[tuple[str, str]] | None = None,
            testset: TestSet | None = None, part: str = "full") -> list[str]:
    """All reference texts given: pasted lines, then files, then a stored test set.

    Args:
        lines: one text per line (a literal \\n for a line break inside a text).
        files: (path, shown name) of CSV / JSON Lines files.
        testset: a stored test set of unseen items.
        part: full | question (how a test set's items become texts).

    Returns:
        The texts (may be empty).
    """
    out = parse_lines(lines)
    for path, name in files or []:
        out += from_file(path, name, part)
    if testset is not None:
        out += from_testset(testset, part)
    return out


def paraphrase(texts: list[str], model: str, *, stop: threading.Event | None = None,
               quantization: str = "auto") -> Iterator[tuple[int, str]]:
    """Reword each text with a model (greedy): a reference set of items no model has seen in this form.

    Args:
        texts: the test items' texts.
        model: any model reference (local or API); best a different model from the one checked.
        stop: set it to stop after the current text.
        quantization: for a local model.

    Yields:
        (index, reworded text) per text, in order.

    Raises:
        InvalidInput: no texts, or no model.
    """
    if not texts:
        raise errors.InvalidInput("There are no items to paraphrase: load a test set first.")
    if not (model or "").strip():
        raise errors.InvalidInput("Pick the model that writes the paraphrases.")
    ref = parse_ref(model.strip())
    for i, text in enumerate(texts):
        if stop is not None and stop.is_set():
            return
        approx_tokens = max(32, min(MAX_PARAPHRASE_TOKENS, 2 * len(text.split()) + 32))
        config = RunConfig(max_new_tokens=approx_tokens, temperature=0.0, quantization=quantization)
        messages = [{"role": "system", "content": prompts.CONTAM_PARAPHRASE_SYSTEM},
                    {"role": "user", "content": prompts.CONTAM_PARAPHRASE_USER.format(text=text)}]
        yield i, generate(ref, messages, config).text.strip()
