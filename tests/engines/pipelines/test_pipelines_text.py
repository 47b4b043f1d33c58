"""engines.pipelines.text: every text task end to end through run_task on tiny offline models."""

from __future__ import annotations

import ast

import numpy as np
import pytest
from tiny_pipelines import catalog, pl_models  # noqa: F401  (fixtures)

from engines import errors
from engines.pipelines import TASKS, run_task

QWEN = "Qwen/Qwen2.5-0.5B-Instruct"  # a tiny causal LM through the models dir



@pytest.mark.parametrize(("task", "inputs"), [
    ("sentiment-analysis", {}),
    ("zero-shot-classification", {}),
    ("fill-mask", {"text": "Paris is the [MASK] of France."}),
])
def test_label_tasks_on_catalog_defaults(catalog, task, inputs):  # noqa: F811
    r = run_task(task, {**TASKS[task].example, **inputs})
    assert r.kind == "labels" and r.task == task
    assert r.value and all(isinstance(x["label"], str) and 0.0 <= x["score"] <= 1.0 for x in r.value)
    assert r.device == "cpu" and r.seconds > 0 and r.model == TASKS[task].default_model
    ast.parse(r.code)
    if task == "zero-shot-classification":
        assert sorted(x["label"] for x in r.value) == sorted(TASKS[task].example["labels"])
        assert abs(sum(x["score"] for x in r.value) - 1) < 1e-3


def test_ner_entities_point_into_the_text(catalog):  # noqa: F811
    text = "John Smith works at Acme Corp in London"
    r = run_task("ner", {"text": text})
    assert r.kind == "entities"
    for e in r.value:
        assert set(e) == {"entity", "word", "start", "end", "score"}
        assert 0 <= e["start"] < e["end"] <= len(text)


def test_long_ner_text_is_read_in_windows(catalog):  # noqa: F811
    r = run_task("ner", {"text": "John Smith works at Acme Corp in London. " * 40})
    assert r.notice and "windows" in r.notice
    assert max(e["end"] for e in r.value) > 300


def test_question_answering_span_and_windows(catalog):  # noqa: F811
    context = "Paris is the capital of France. Berlin is the capital of Germany."
    r = run_task("question-answering", {"question": "What is the capital of France?", "context": context})
    a = r.value
    assert r.kind == "answer" and set(a) == {"answer", "score", "start", "end"}
    assert context[a["start"]:a["end"]] == a["answer"] and 0 < a["score"] <= 1
    long = run_task("question-answering", {"question": "capital?", "context": context * 40})
    assert long.details["windows"] > 1 and "windows" in long.notice


def test_summarization_lengths_and_truncation_notice(catalog):  # noqa: F811
    r = run_task("summarization", {"text": "Paris is the capital of France. " * 5, "min_length": 2,
                                   "max_length": 8})
    assert r.kind == "text" and isinstance(r.value, str) and r.notice is None
    assert r.details["max_new_tokens"] == 8
    long = run_task("summarization", {"text": "Paris is the capital of France. " * 60, "min_length": 0,
                                      "max_length": 5})
    assert "reads at most 128" in long.notice
    with pytest.raises(errors.InvalidInput, match="min_length"):
        run_task("summarization", {"text": "hi", "min_length": 20, "max_length": 5})


@pytest.mark.parametrize("tgt", ["fr", "de", "es"])
def test_translation_pairs_pick_their_model(catalog, tgt):  # noqa: F811
    r = run_task("translation", {"text": "the house is wonderful", "src_lang": "en", "tgt_lang": tgt})
    assert r.kind == "text" and isinstance(r.value, str)
    assert r.model == f"Helsinki-NLP/opus-mt-en-{tgt}"
    assert "AutoModelForSeq2SeqLM" in r.code


def test_text_generation_and_context_limit(catalog):  # noqa: F811
    r = run_task("text-generation", {"text": "Hello world", "max_new_tokens": 6}, model=QWEN)
    assert r.kind == "text" and r.value.startswith("Hello world")
    with pytest.raises(errors.ContextTooLong, match="context is 256 tokens"):
        run_task("text-generation", {"text": "word " * 400, "max_new_tokens": 6}, model=QWEN)


def test_embeddings_vector_and_similarity(catalog):  # noqa: F811
    r = run_task("feature-extraction", {"text": "hello world", "text_pair": "hello there"})
    v = r.value
    assert r.kind == "embedding" and len(v["vector"]) == 32 == r.details["dimensions"]
    assert abs(np.linalg.norm(v["vector"]) - 1) < 1e-4 and -1 <= v["similarity"] <= 1
    same = run_task("feature-extraction", {"text": "hello world", "text_pair": "hello world"})
    assert same.value["similarity"] == pytest.approx(1.0, abs=1e-4)
    assert run_task("feature-extraction", {"text": "solo"}).value["similarity"] is None

