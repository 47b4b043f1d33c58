"""The Pipelines tab through its API (gradio_client against the served app): every task family, errors, load."""

from __future__ import annotations

import pytest
import tiny_pipelines
from gradio_client import handle_file
from gradio_client.exceptions import AppError

QWEN = "Qwen/Qwen2.5-0.5B-Instruct"


@pytest.fixture(scope="session")
def audio(tmp_path_factory) -> dict:
    """speech / long / corrupt / empty audio files."""
    return tiny_pipelines.build_audio(tmp_path_factory.mktemp("tab-audio"))


def test_classify_sentiment_with_default_model(client, served):
    status, scores, entities, info, code, raw, notebook = client.predict(
        "sentiment-analysis", "", "I love it", "", False, 5, api_name="/pipeline_classify")
    assert "data-state='done'" in status and "Sentiment analysis" in status
    assert {c["label"] for c in scores["confidences"]} == {"NEGATIVE", "POSITIVE"}
    assert entities is None
    assert "**Device** cpu" in info and "**Run**" in info
    assert 'pipeline("sentiment-analysis"' in code
    assert raw["model"] == "distilbert/distilbert-base-uncased-finetuned-sst-2-english" and raw["run_s"] > 0
    assert notebook.endswith(".ipynb")


def test_classify_zero_shot_fill_mask_and_ner(client, served):
    _, scores, *_ = client.predict("zero-shot-classification", "", "the match", "sports, politics", True, 5,
                                api_name="/pipeline_classify")
    assert {c["label"] for c in scores["confidences"]} == {"sports", "politics"}
    _, scores, *_ = client.predict("fill-mask", "", "Paris is the [MASK] of France.", "", False, 3,
                                api_name="/pipeline_classify")
    assert len(scores["confidences"]) == 3
    text = "John Smith works at Acme Corp in London"
    _, _, entities, _, code, raw, _ = client.predict("ner", "", text, "", False, 5, api_name="/pipeline_classify")
    assert isinstance(entities, list) and "".join(e["token"] for e in entities) == text
    assert raw["result"] and 'aggregation_strategy="simple"' in code


def test_answer_highlighted_in_context(client, served):
    context = "Paris is the capital of France. Berlin is the capital of Germany."
    _, highlighted, info, code, raw, _ = client.predict("", "What is the capital of France?", context,
                                                     api_name="/pipeline_answer")
    assert "".join(e["token"] for e in highlighted) == context
    labels = [e["class_or_confidence"] for e in highlighted if e["class_or_confidence"]]
    assert len(labels) == 1 and labels[0].startswith("answer · score")
    assert raw["result"]["answer"] == context[raw["result"]["start"]:raw["result"]["end"]]
    assert "AutoModelForQuestionAnswering" in code


@pytest.mark.parametrize(("task", "model", "pair"), [
    ("summarization", "", "en-fr"),
    ("translation", "", "en-de"),
    ("text-generation", QWEN, "en-fr"),
])
def test_text_family(client, served, task, model, pair):
    _, out, info, code, raw, _ = client.predict(task, model, "Paris is the capital of France.", pair, 0, 8, 6, 0.0,
                                          api_name="/pipeline_text")
    assert isinstance(out, str) and raw["task"] == task
    if task == "translation":
        assert raw["model"] == "Helsinki-NLP/opus-mt-en-de"


def test_embeddings(client, served):
    _, html, info, code, raw, _ = client.predict("", "hello world", "hello world", api_name="/pipeline_embed")
    assert "1.000" in html and "Vector size: <b>32</b>" in html
    assert len(raw["result"]["vector"]) == 32


def test_transcribe_upload(client, served, audio):
    _, text, info, code, raw, _ = client.predict(handle_file(str(audio["speech"])), "", "en",
                                              api_name="/pipeline_transcribe")
    assert isinstance(text, str) and raw["details"]["language"] == "en"
    starts = [s["start"] for s in raw["details"]["segments"]]  # Whisper's own timestamps (the Minutes engine)
    assert starts == sorted(starts) and 0 <= starts[0] < raw["details"]["duration_s"]


def test_generate_speech_and_music(client, served):
    _, wav, info, code, raw, _ = client.predict("text-to-speech", "", "hello world", 5, -1, api_name="/pipeline_audio")
    assert wav.endswith(".wav") and raw["result"]["sampling_rate"] == 16000
    _, wav, info, code, raw, _ = client.predict("text-to-audio", "", "soft piano", 0.5, 11, api_name="/pipeline_audio")
    assert raw["result"]["sampling_rate"] == 32000 and raw["details"]["seed"] == 11


def test_generate_image(client, served):
    _, path, info, code, raw, _ = client.predict(str(served["flux"]), "a red square", 5, 1, 64, 64,
                                           api_name="/pipeline_image")
    from PIL import Image

    assert Image.open(path).size == (64, 64) and raw["result"]["seed"] == 5


@pytest.mark.parametrize(("api", "args", "match"), [
    ("/pipeline_classify", ("sentiment-analysis", "", "", "", False, 5), "text is empty"),
    ("/pipeline_classify", ("zero-shot-classification", "", "hi", "", False, 5), "candidate labels"),
    ("/pipeline_classify", ("zero-shot-classification", "", "hi", ",".join(f"l{i}" for i in range(200)), False, 5),
     "200 candidate labels"),
    ("/pipeline_classify", ("ner", QWEN, "John lives in Paris", "", False, 5), "no token-classification head"),
    ("/pipeline_classify", ("summarization", "", "hi", "", False, 5), "not in the list of choices"),
    ("/pipeline_answer", ("", "Why?", ""), "context is empty"),
    ("/pipeline_text", ("translation", "", "hello", "en-ja", 0, 8, 6, 0.0), "Supported pairs"),
    ("/pipeline_text", ("text-generation", QWEN, "word " * 400, "en-fr", 0, 8, 6, 0.0), "context is 256 tokens"),
])
def test_bad_input_gives_a_clear_error(client, served, api, args, match):
    with pytest.raises(AppError, match=match) as info:
        client.predict(*args, api_name=api)
    assert "Traceback" not in str(info.value)


@pytest.mark.parametrize(("name", "match"), [("corrupt", "could not be decoded"), ("empty", "empty")])
def test_bad_audio_gives_a_clear_error(client, served, audio, name, match):
    with pytest.raises(AppError, match=match):
        client.predict(handle_file(str(audio[name])), "", "", api_name="/pipeline_transcribe")


def test_twenty_concurrent_requests_all_answer(client, served):
    """20 requests at once: each gets an answer or a clear 'queue is full' error; none hangs."""
    client.predict("sentiment-analysis", "", "warm up", "", False, 5, api_name="/pipeline_classify")
    jobs = [client.submit("sentiment-analysis", "", f"request {i}: I love it", "", False, 5,
                          api_name="/pipeline_classify") for i in range(20)]
    answered, busy = 0, 0
    for job in jobs:
        try:
            _, scores, *_ = job.result(timeout=300)
            assert len(scores["confidences"]) == 2
            answered += 1
        except AppError as exc:  # a full queue is a clear error, not a hang
            assert "queue" in str(exc).lower() or "busy" in str(exc).lower()
            busy += 1
    assert answered + busy == 20 and answered >= 1  # every job answered within its (generous) wait
    client.predict("sentiment-analysis", "", "still serving", "", False, 5, api_name="/pipeline_classify")
