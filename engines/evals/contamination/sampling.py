"""Sampling peakedness (CDD, Dong et al. 2024, "Generalization or Memorization"): sample N answers at a temperature
above 0 and the greedy one; a memorised item's samples collapse onto the greedy answer.

Per sample: the token edit distance to the greedy answer, divided by the longer of the two (``measures``: words and
single punctuation marks). Peakedness = the share of samples within α of the greedy answer (the paper's Peak(α):
edit distance ≤ α·length). An item is flagged when its peakedness exceeds ξ; with the paper's α = 0.05 and
ξ = 0.01 that is: at least one sample (near) identical to the greedy answer. Short answers ("Paris", "B") are
peaked whether or not the item was seen: read the flag with the answer length beside it.

The prompt is the item as the Evaluate tab asks it (``engines.evals.items.messages_for``; multiple choice as
"Question: …\\nAnswer:", so the model writes an answer, not a letter).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace

from engines.evals.contamination.measures import edit_tokens, normalised_distance
from engines.evals.items import RunConfig, generate, messages_for
from engines.evals.testsets import Item
from engines.refs import ModelRef

DEFAULT_SAMPLES = 10
DEFAULT_TEMPERATURE = 0.8
DEFAULT_ALPHA = 0.05
DEFAULT_XI = 0.01


@dataclass
class Peakedness:
    """One item's greedy answer, its samples and how concentrated they are."""

    greedy: str
    samples: list[str] = field(default_factory=list)
    distances: list[float] = field(default_factory=list)
    peak: float = 0.0
    flagged: bool = False

    @property
    def mean_distance(self) -> float | None:
        """Mean normalised edit distance of the samples to the greedy answer."""
        return sum(self.distances) / len(self.distances) if self.distances else None

    @property
    def answer_tokens(self) -> int:
        """Tokens in the greedy answer (short answers are peaked anyway)."""
        return len(edit_tokens(self.greedy))


def peakedness(greedy: str, samples: list[str], *, alpha: float = DEFAULT_ALPHA,
               xi: float = DEFAULT_XI) -> Peakedness:
    """Distances of samples to the greedy answer, the share within α and the flag (share > ξ).

    Args:
        greedy: the temperature-0 answer.
        samples: answers sampled at a temperature above 0.
        alpha: the distance within which a sample counts as the greedy answer (0–1).
        xi: the share of such samples above which the item is flagged.

    Returns:
        Peakedness.
    """
    distances = [normalised_distance(s, greedy) for s in samples]
    peak = sum(1 for d in distances if d <= alpha) / len(distances) if distances else 0.0
    return Peakedness(greedy, list(samples), distances, peak, peak > xi)


def sample_item(ref: ModelRef, item: Item, config: RunConfig, *, samples: int = DEFAULT_SAMPLES,
                temperature: float = DEFAULT_TEMPERATURE, alpha: float = DEFAULT_ALPHA, xi: float = DEFAULT_XI,
                stop: threading.Event | None = None) -> Peakedness:
    """The greedy answer and ``samples`` sampled ones for one item, and their peakedness.

    Args:
        ref: the model.
        item: the item.
        config: decoding settings (max_new_tokens, quantization).
        samples: how many sampled answers.
        temperature: their temperature (> 0).
        alpha: see ``peakedness``.
        xi: see ``peakedness``.
        stop: set it to stop between samples (the samples drawn so far count).

    Returns:
        Peakedness.
    """
    messages = messages_for(item, RunConfig())
    greedy = generate(ref, messages, replace(config, temperature=0.0)).text.strip()
    drawn = []
    hot = replace(config, temperature=float(temperature))
    for _ in range(int(samples)):
        if stop is not None and stop.is_set():
            break
        drawn.append(generate(ref, messages, hot).text.strip())
    return peakedness(greedy, drawn, alpha=alpha, xi=xi)
