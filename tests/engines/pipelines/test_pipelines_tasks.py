"""engines.pipelines.tasks: the task table (the contract other code reads) and task look-ups."""

from __future__ import annotations

import pytest

from engines import errors
from engines.pipelines import TASKS, get_spec, task_models, task_names, translation_pairs


def test_task_table_matches_the_contract():
    expected = {"sentiment-analysis", "zero-shot-classification", "ner", "question-answering", "summarization",
                "translation", "text-generation", "fill-mask", "feature-extraction", "automatic-speech-recognition",
                "text-to-speech", "text-to-audio", "text-to-image"}
    assert set(TASKS) == expected
    allowed_inputs = {"text", "text_pair", "labels", "question", "context", "src_lang", "tgt_lang", "audio"}
    for name, spec in TASKS.items():
        assert spec.name == name and spec.default_model, name
        assert set(spec.inputs) <= allowed_inputs
        assert isinstance(spec.example, dict)


def test_aliases_and_lookups():
    assert get_spec("asr").name == "automatic-speech-recognition" and get_spec("Text_Classification").name == \
        "sentiment-analysis"
    with pytest.raises(errors.InvalidInput, match="Unknown task"):
        get_spec("no-such-task")
    assert task_names() == list(TASKS)
    assert task_models("automatic-speech-recognition")[0] == TASKS["automatic-speech-recognition"].default_model
    assert ("en", "fr", "Helsinki-NLP/opus-mt-en-fr") in translation_pairs()


def test_package_re_exports_what_callers_import():
    import engines.pipelines as pl

    for name in ("TASKS", "TaskSpec", "TaskResult", "run_task", "code_snippet", "load_audio", "parse_labels",
                 "task_models", "translation_pairs", "LANGUAGES", "_best_span", "_load"):
        assert hasattr(pl, name), name
