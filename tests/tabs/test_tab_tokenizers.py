"""The Tokenizers tab through its API (gradio_client against the served app)."""

from __future__ import annotations

import json

import pytest
from gradio_client.exceptions import AppError

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"  # resolves to a tiny tokenizer through the models dir
GEMMA = "google/gemma-2-2b-it"


def test_tokenize_compares_tokenizers(client):
    status, html, table, chart, raw, code, notebook = client.predict([LLAMA, GEMMA], "Hello world, hello tokens!",
                                                                     True, api_name="/tokenize")
    assert "AutoTokenizer" in code and notebook.endswith(".ipynb")
    assert "data-state='done'" in status and "2 tokenizer(s)" in status
    assert "tokens" in html and "round-trips" in html
    rows = table["data"]
    assert [r[0] for r in rows] == ["Llama 3.1", "Gemma"]
    assert all(r[1] > 3 for r in rows)
    assert raw["Llama 3.1"]["count"] == rows[0][1] == len(raw["Llama 3.1"]["ids"])


def test_large_input_counted_in_full_display_truncated(client):
    text = ("The quick brown fox jumps over the lazy dog. " * 23000)[:1_000_000]
    _, html, table, _, raw, *_ = client.predict([LLAMA], text, False, api_name="/tokenize")
    count = table["data"][0][1]
    assert count > 100_000
    assert raw["Llama 3.1"]["truncated"] is True and len(raw["Llama 3.1"]["ids"]) == 2000
    assert f"showing the first 2,000 of {count:,} tokens" in html


@pytest.mark.parametrize(("args", "message"), [
    (([LLAMA], "", True), "text is empty"),
    (([], "hi", True), "at least one tokenizer"),
    ((["https://huggingface.co/gpt2"], "hi", True), "is a URL"),
    ((["../../etc"], "hi", True), "'..'"),
    ((["no-such-org/no-such-model"], "hi", True), "cannot be reached"),
    ((["bad id with spaces"], "hi", True), "not a valid model reference"),
])
def test_tokenize_bad_input_is_specific(client, args, message):
    with pytest.raises(AppError, match=message) as info:
        client.predict(*args, api_name="/tokenize")
    assert "Traceback" not in str(info.value)


def test_decode_round_trip_and_bad_ids(client):
    _, _, _, _, raw, *_ = client.predict([LLAMA], "Hello world", True, api_name="/tokenize")
    ids = raw["Llama 3.1"]["ids"]
    text = client.predict(LLAMA, ", ".join(map(str, ids)), api_name="/decode")
    assert text.endswith("Hello world")
    with pytest.raises(AppError, match="'x' \\(item 2\\) is not an integer"):
        client.predict(LLAMA, "1, x, -3", api_name="/decode")
    with pytest.raises(AppError, match="-3 \\(item 2\\) is negative"):
        client.predict(LLAMA, "1, -3", api_name="/decode")
    with pytest.raises(AppError, match="out of range"):
        client.predict(LLAMA, "1, 999999", api_name="/decode")


def test_tokenizer_info_lists_special_tokens(client):
    summary, specials = client.predict([LLAMA, GEMMA], api_name="/tokenizer_info")
    assert [r[0] for r in summary["data"]] == ["Llama 3.1", "Gemma"]
    tokens = {r[2] for r in specials["data"]}
    assert {"<|begin_of_text|>", "<|eot_id|>", "<start_of_turn>"} <= tokens


def test_render_chat_folds_system_for_gemma(client):
    messages = json.dumps([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
    html, overhead = client.predict([LLAMA, GEMMA], messages, True, api_name="/render_chat")
    assert "&lt;|start_header_id|&gt;" in html and "&lt;start_of_turn&gt;" in html
    assert "folded into the first user message" in html
    rows = {r[0]: r for r in overhead["data"]}
    assert rows["Llama 3.1"][3] > 0 and rows["Gemma"][3] > 0


@pytest.mark.parametrize(("messages", "message"), [
    ("[{\"role\": \"user\", \"content\": ", "not valid JSON"),
    ("[{\"role\": \"robot\", \"content\": \"hi\"}]", "role 'robot'"),
    ("[{\"role\": \"user\"}]", "\"role\" and \"content\""),
    ("[]", "non-empty list"),
])
def test_render_chat_bad_json(client, messages, message):
    with pytest.raises(AppError, match=message):
        client.predict([LLAMA], messages, True, api_name="/render_chat")


def test_app_keeps_serving_after_errors(client):
    for _ in range(3):
        with pytest.raises(AppError):
            client.predict(["../x"], "hi", True, api_name="/tokenize")
    _, _, table, *_ = client.predict([LLAMA], "still alive", True, api_name="/tokenize")
    assert table["data"][0][1] > 0
