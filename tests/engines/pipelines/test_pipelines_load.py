"""engines.pipelines.load: a model without the task's head is refused; a missing model fails fast offline."""

from __future__ import annotations

import pytest
from tiny_pipelines import catalog, pl_models  # noqa: F401  (fixtures)

from engines import errors
from engines.pipelines import TASKS, run_task

QWEN = "Qwen/Qwen2.5-0.5B-Instruct"  # a tiny causal LM through the models dir


@pytest.mark.parametrize(("task", "model", "match"), [
    ("ner", QWEN, "Qwen2ForCausalLM: it has no token-classification head"),
    ("summarization", "facebook/bart-large-mnli", "no an encoder-decoder|no an? .*seq2seq|cannot do summarization"),
    ("zero-shot-classification", "distilbert/distilbert-base-uncased-finetuned-sst-2-english", "not an NLI model"),
    ("sentiment-analysis", "openai:gpt-4o-mini", "remote API model"),
])
def test_model_that_does_not_fit_the_task(catalog, task, model, match):  # noqa: F811
    with pytest.raises(errors.WorkbenchError, match=match):
        run_task(task, TASKS[task].example, model=model)


def test_missing_model_fails_fast_offline(catalog):  # noqa: F811
    with pytest.raises(errors.HubUnreachable):
        run_task("sentiment-analysis", {"text": "hi"}, model="no-such-org/no-such-model")


def test_second_run_hits_the_cache(catalog):  # noqa: F811
    first = run_task("sentiment-analysis", {"text": "I love it"})
    again = run_task("sentiment-analysis", {"text": "I love it"})
    assert again.cached and again.value == first.value
