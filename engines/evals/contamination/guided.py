"""Guided vs general completion (Golchin & Surdeanu 2023, "Time Travel in LLMs").

The model gets the first piece of an item and is asked to finish it, once *guided* (told the dataset's name and
split, and to reproduce the instance exactly) and once *general* (the same request without them). ROUGE-L of each
completion against the item's true second piece; a model that has seen the item completes it much more faithfully
when told where it comes from. The set-level test is a paired bootstrap over items of the mean difference
(``engines.evals.stats.paired_bootstrap``).

What is cut: the item's question (their open-QA format: the answer is given as ``ANSWER:``, the question is split);
items without an answer are split as plain instances. The split is at a word boundary, ``fraction`` of the words
in the first piece; questions of fewer than two words are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engines import prompts
from engines.evals.contamination.measures import rouge_l
from engines.evals.contamination.texts import answer_text, split_text
from engines.evals.items import RunConfig, generate
from engines.evals.stats import PairedResult, paired_bootstrap
from engines.evals.testsets import Item
from engines.refs import ModelRef

_ECHOED_LABEL = re.compile(r"^\s*(?:\*\*)?second piece(?:\*\*)?\s*:\s*", re.IGNORECASE)


@dataclass
class Pieces:
    """An item cut for completion: the first piece, the true second piece, and the label shown (may be "")."""

    first: str
    truth: str
    label: str


@dataclass
class Completion:
    """One item's guided and general completions and their ROUGE-L against the true second piece."""

    pieces: Pieces
    guided: str
    general: str
    guided_rouge: float
    general_rouge: float
    guided_prompt: str = ""
    general_prompt: str = ""

    @property
    def difference(self) -> float:
        """Guided minus general ROUGE-L (positive: the dataset name helped)."""
        return self.guided_rouge - self.general_rouge


def pieces(item: Item, fraction: float = 0.5) -> Pieces | None:
    """Cut an item's question into a first and a second piece; its answer (if any) is the label.

    Args:
        item: the item.
        fraction: share of the question's words in the first piece.

    Returns:
        Pieces, or None when the question has fewer than two words.
    """
    cut = split_text(item.question, fraction)
    if cut is None:
        return None
    return Pieces(cut[0], cut[1], answer_text(item))


def _label(label: str) -> tuple[str, str]:
    if not label.strip():
        return "", ""
    return prompts.CONTAM_LABEL_BLOCK.format(label=label.strip()), prompts.CONTAM_LABEL_CLAUSE


def guided_messages(p: Pieces, dataset: str, split: str) -> list[dict]:
    """The guided request: dataset name and split, the label, the first piece (``prompts.CONTAM_GUIDED_USER``)."""
    block, _ = _label(p.label)
    return [{"role": "user", "content": prompts.CONTAM_GUIDED_USER.format(
        split=split.strip() or "test", dataset=dataset.strip(), label_block=block, first_piece=p.first)}]


def general_messages(p: Pieces) -> list[dict]:
    """The general request: the same without the dataset (``prompts.CONTAM_GENERAL_USER``)."""
    block, clause = _label(p.label)
    return [{"role": "user", "content": prompts.CONTAM_GENERAL_USER.format(
        label_clause=clause, label_block=block, first_piece=p.first)}]


def clean_completion(text: str) -> str:
    """The completion without a repeated "SECOND PIECE:" label in front."""
    return _ECHOED_LABEL.sub("", text.strip(), count=1).strip()


def complete(ref: ModelRef, p: Pieces, dataset: str, split: str, config: RunConfig) -> Completion:
    """Ask the model for both completions (greedy, ``config.max_new_tokens``) and score them.

    Args:
        ref: the model.
        p: the item's pieces.
        dataset: the dataset's name as the model may know it (e.g. "GSM8K").
        split: the split (e.g. "test").
        config: decoding settings (temperature 0 is used).

    Returns:
        The Completion.
    """
    guided = generate(ref, guided_messages(p, dataset, split), config)
    general = generate(ref, general_messages(p), config)
    g, n = clean_completion(guided.text), clean_completion(general.text)
    return Completion(p, g, n, rouge_l(g, p.truth), rouge_l(n, p.truth), guided.prompt, general.prompt)


def compare(completions: list[Completion]) -> PairedResult:
    """Paired bootstrap over items of mean guided − general ROUGE-L.

    Args:
        completions: one per item.

    Returns:
        The PairedResult (mean_a: guided, mean_b: general, 95 % interval of the difference, two-sided p).
    """
    return paired_bootstrap([c.guided_rouge for c in completions], [c.general_rouge for c in completions])
