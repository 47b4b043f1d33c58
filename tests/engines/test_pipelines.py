"""engines.pipelines: every task end to end through run_task on tiny offline models, and the errors users hit."""

from __future__ import annotations

import ast

import numpy as np
import pytest
import tiny_pipelines

from engines import errors
from engines.pipelines import TASKS, code_snippet, load_audio, parse_labels, run_task

QWEN = "Qwen/Qwen2.5-0.5B-Instruct"  # a tiny causal LM through the models dir


@pytest.fixture(scope="session")
def pl_models(tiny, models_dir) -> dict:
    """name → folder of every tiny pipeline model; catalog task defaults linked into the models dir."""
    import tiny_images

    paths = tiny_pipelines.build_all()
    tiny_pipelines.link_standins(paths, models_dir)
    tiny_images.link_into_models_dir(models_dir)
    return paths


@pytest.fixture(scope="session")
def audio_files(tmp_path_factory) -> dict:
    """speech (22.05 kHz wav), long (35 s ogg), corrupt and empty files."""
    return tiny_pipelines.build_audio(tmp_path_factory.mktemp("audio"))


@pytest.fixture()
def catalog(pl_models, models_dir, monkeypatch):
    """Catalog ids resolve to tiny models in this process."""
    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(models_dir))
    return pl_models


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


@pytest.mark.parametrize(("task", "inputs"), [
    ("sentiment-analysis", {}),
    ("zero-shot-classification", {}),
    ("fill-mask", {"text": "Paris is the [MASK] of France."}),
])
def test_label_tasks_on_catalog_defaults(catalog, task, inputs):
    r = run_task(task, {**TASKS[task].example, **inputs})
    assert r.kind == "labels" and r.task == task
    assert r.value and all(isinstance(x["label"], str) and 0.0 <= x["score"] <= 1.0 for x in r.value)
    assert r.device == "cpu" and r.seconds > 0 and r.model == TASKS[task].default_model
    ast.parse(r.code)
    if task == "zero-shot-classification":
        assert sorted(x["label"] for x in r.value) == sorted(TASKS[task].example["labels"])
        assert abs(sum(x["score"] for x in r.value) - 1) < 1e-3


def test_ner_entities_point_into_the_text(catalog):
    text = "John Smith works at Acme Corp in London"
    r = run_task("ner", {"text": text})
    assert r.kind == "entities"
    for e in r.value:
        assert set(e) == {"entity", "word", "start", "end", "score"}
        assert 0 <= e["start"] < e["end"] <= len(text)


def test_long_ner_text_is_read_in_windows(catalog):
    r = run_task("ner", {"text": "John Smith works at Acme Corp in London. " * 40})
    assert r.notice and "windows" in r.notice
    assert max(e["end"] for e in r.value) > 300


def test_question_answering_span_and_windows(catalog):
    context = "Paris is the capital of France. Berlin is the capital of Germany."
    r = run_task("question-answering", {"question": "What is the capital of France?", "context": context})
    a = r.value
    assert r.kind == "answer" and set(a) == {"answer", "score", "start", "end"}
    assert context[a["start"]:a["end"]] == a["answer"] and 0 < a["score"] <= 1
    long = run_task("question-answering", {"question": "capital?", "context": context * 40})
    assert long.details["windows"] > 1 and "windows" in long.notice


def test_summarization_lengths_and_truncation_notice(catalog):
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
def test_translation_pairs_pick_their_model(catalog, tgt):
    r = run_task("translation", {"text": "the house is wonderful", "src_lang": "en", "tgt_lang": tgt})
    assert r.kind == "text" and isinstance(r.value, str)
    assert r.model == f"Helsinki-NLP/opus-mt-en-{tgt}"
    assert "AutoModelForSeq2SeqLM" in r.code


def test_translation_bad_pairs(catalog):
    with pytest.raises(errors.Unsupported, match="Supported pairs: en→fr"):
        run_task("translation", {"text": "hello", "src_lang": "en", "tgt_lang": "ja"})
    with pytest.raises(errors.Unsupported, match="translates en→fr, not en→de"):
        run_task("translation", {"text": "hello", "src_lang": "en", "tgt_lang": "de"},
                 model="Helsinki-NLP/opus-mt-en-fr")
    with pytest.raises(errors.InvalidInput, match="two different languages"):
        run_task("translation", {"text": "hello", "src_lang": "en", "tgt_lang": "en"})


def test_text_generation_and_context_limit(catalog):
    r = run_task("text-generation", {"text": "Hello world", "max_new_tokens": 6}, model=QWEN)
    assert r.kind == "text" and r.value.startswith("Hello world")
    with pytest.raises(errors.ContextTooLong, match="context is 256 tokens"):
        run_task("text-generation", {"text": "word " * 400, "max_new_tokens": 6}, model=QWEN)


def test_embeddings_vector_and_similarity(catalog):
    r = run_task("feature-extraction", {"text": "hello world", "text_pair": "hello there"})
    v = r.value
    assert r.kind == "embedding" and len(v["vector"]) == 32 == r.details["dimensions"]
    assert abs(np.linalg.norm(v["vector"]) - 1) < 1e-4 and -1 <= v["similarity"] <= 1
    same = run_task("feature-extraction", {"text": "hello world", "text_pair": "hello world"})
    assert same.value["similarity"] == pytest.approx(1.0, abs=1e-4)
    assert run_task("feature-extraction", {"text": "solo"}).value["similarity"] is None


def test_speech_recognition_resamples_and_reports_progress(catalog, audio_files):
    seen = []
    r = run_task("automatic-speech-recognition", {"audio": str(audio_files["long"]), "max_new_tokens": 4},
                 on_progress=lambda msg, done=None, total=None: seen.append((msg, done, total)))
    assert r.kind == "text" and isinstance(r.value, str)
    assert r.details["duration_s"] == pytest.approx(35, abs=0.5)
    assert [s["start"] for s in r.details["segments"]] == [0, 30]
    assert any(m.startswith("Loading") for m, _, _ in seen) or r.cached
    assert [d for _, d, t in seen if t] == [0.0, 30.0, pytest.approx(35, abs=0.5)]


def test_audio_decoding_errors(audio_files, monkeypatch):
    assert load_audio(str(audio_files["speech"])).dtype == np.float32  # 22.05 kHz in, 16 kHz out
    with pytest.raises(errors.InvalidInput, match="empty"):
        load_audio(str(audio_files["empty"]))
    with pytest.raises(errors.InvalidInput, match="could not be decoded"):
        load_audio(str(audio_files["corrupt"]))
    monkeypatch.setenv("WORKBENCH_MAX_AUDIO_S", "10")
    with pytest.raises(errors.InvalidInput, match="at most 10 s"):
        run_task("automatic-speech-recognition", {"audio": str(audio_files["long"])})
    with pytest.raises(errors.InvalidInput, match="No audio"):
        run_task("automatic-speech-recognition", {"audio": ""})


def test_text_to_speech_and_text_to_audio(catalog):
    r = run_task("text-to-speech", {"text": "hello world"})
    sr, audio = r.value
    assert r.kind == "audio" and sr == 16000 and audio.ndim == 1 and audio.size > 1000
    m = run_task("text-to-audio", {"text": "soft piano", "duration_s": 0.5, "seed": 7})
    sr, audio = m.value
    assert sr == 32000 and audio.dtype == np.float32 and m.details["seed"] == 7
    assert m.details["max_new_tokens"] == 25  # 0.5 s at 50 frames/s


def test_text_to_image_through_the_image_engine(catalog):
    r = run_task("text-to-image", {"text": "a red square", "seed": 3, "steps": 1, "width": 64, "height": 64},
                 model=str(catalog["flux"]))
    assert r.kind == "image" and r.value.size == (64, 64) and r.details["seed"] == 3
    assert "DiffusionPipeline" in r.code
    ast.parse(r.code)


@pytest.mark.parametrize(("task", "inputs", "error", "match"), [
    ("sentiment-analysis", {"text": "   "}, errors.InvalidInput, "text is empty"),
    ("zero-shot-classification", {"text": "hi", "labels": ""}, errors.InvalidInput, "candidate labels"),
    ("zero-shot-classification", {"text": "hi", "labels": [f"l{i}" for i in range(200)]}, errors.InvalidInput,
     "200 candidate labels"),
    ("question-answering", {"question": "why?", "context": ""}, errors.InvalidInput, "context is empty"),
    ("fill-mask", {"text": "no mask here"}, errors.InvalidInput, "exactly one"),
    ("no-such-task", {"text": "hi"}, errors.InvalidInput, "Unknown task"),
])
def test_bad_input_is_specific(catalog, task, inputs, error, match):
    with pytest.raises(error, match=match):
        run_task(task, inputs)


@pytest.mark.parametrize(("task", "model", "match"), [
    ("ner", QWEN, "Qwen2ForCausalLM: it has no token-classification head"),
    ("summarization", "facebook/bart-large-mnli", "no an encoder-decoder|no an? .*seq2seq|cannot do summarization"),
    ("zero-shot-classification", "distilbert/distilbert-base-uncased-finetuned-sst-2-english", "not an NLI model"),
    ("sentiment-analysis", "openai:gpt-4o-mini", "remote API model"),
])
def test_model_that_does_not_fit_the_task(catalog, task, model, match):
    with pytest.raises(errors.WorkbenchError, match=match):
        run_task(task, TASKS[task].example, model=model)


def test_missing_model_fails_fast_offline(catalog):
    with pytest.raises(errors.HubUnreachable):
        run_task("sentiment-analysis", {"text": "hi"}, model="no-such-org/no-such-model")


def test_labels_parsing():
    assert parse_labels("a, b,,a\nc") == ["a", "b", "c"]
    assert parse_labels(["x", " y "]) == ["x", "y"]


def test_code_snippets_are_valid_python():
    for task, spec in TASKS.items():
        inputs = {**spec.example, "labels": spec.example.get("labels", []), "audio": "a.wav"}
        ast.parse(code_snippet(task, spec.default_model or "org/model", inputs, {"seed": 1}))
