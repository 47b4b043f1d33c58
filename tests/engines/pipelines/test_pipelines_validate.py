"""engines.pipelines.validate: inputs are checked, with a specific message, before any model loads."""

from __future__ import annotations

import pytest
from tiny_pipelines import catalog, pl_models  # noqa: F401  (fixtures)

from engines import errors
from engines.config import Settings
from engines.pipelines import TASKS, parse_labels, run_task
from engines.pipelines.validate import parse_seed, validate


@pytest.mark.parametrize(("task", "inputs", "error", "match"), [
    ("sentiment-analysis", {"text": "   "}, errors.InvalidInput, "text is empty"),
    ("zero-shot-classification", {"text": "hi", "labels": ""}, errors.InvalidInput, "candidate labels"),
    ("zero-shot-classification", {"text": "hi", "labels": [f"l{i}" for i in range(200)]}, errors.InvalidInput,
     "200 candidate labels"),
    ("question-answering", {"question": "why?", "context": ""}, errors.InvalidInput, "context is empty"),
    ("fill-mask", {"text": "no mask here"}, errors.InvalidInput, "exactly one"),
    ("no-such-task", {"text": "hi"}, errors.InvalidInput, "Unknown task"),
])
def test_bad_input_is_specific(catalog, task, inputs, error, match):  # noqa: F811
    with pytest.raises(error, match=match):
        run_task(task, inputs)


def test_translation_bad_pairs(catalog):  # noqa: F811
    with pytest.raises(errors.Unsupported, match="Supported pairs: en→fr"):
        run_task("translation", {"text": "hello", "src_lang": "en", "tgt_lang": "ja"})
    with pytest.raises(errors.Unsupported, match="translates en→fr, not en→de"):
        run_task("translation", {"text": "hello", "src_lang": "en", "tgt_lang": "de"},
                 model="Helsinki-NLP/opus-mt-en-fr")
    with pytest.raises(errors.InvalidInput, match="two different languages"):
        run_task("translation", {"text": "hello", "src_lang": "en", "tgt_lang": "en"})


def test_labels_parsing():
    assert parse_labels("a, b,,a\nc") == ["a", "b", "c"]
    assert parse_labels(["x", " y "]) == ["x", "y"]


def test_speech_inputs_are_normalised():
    spec, settings = TASKS["automatic-speech-recognition"], Settings.from_env()
    inputs = {"audio": {"path": "/tmp/a.wav"}, "language": "  ", "max_new_tokens": "9999"}
    validate(spec, inputs, settings)
    assert inputs == {"audio": "/tmp/a.wav", "language": None, "max_new_tokens": 440}
    unset = {"audio": "/tmp/a.wav"}
    validate(spec, unset, settings)
    assert unset["max_new_tokens"] is None  # the model's own limit, as in the Minutes tab
    with pytest.raises(errors.InvalidInput, match="No audio"):
        validate(spec, {"audio": ""}, settings)
    with pytest.raises(errors.InvalidInput, match="whole number"):
        validate(spec, {"audio": "/tmp/a.wav", "max_new_tokens": "many"}, settings)


def test_seeds():
    assert parse_seed(7) == 7 and 0 <= parse_seed(None) < 2**32 and 0 <= parse_seed(-1) < 2**32
    with pytest.raises(errors.InvalidInput, match="whole number"):
        parse_seed("x")
    with pytest.raises(errors.InvalidInput, match="between"):
        parse_seed(2**33)
