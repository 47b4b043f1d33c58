"""Tokenizers engine: tokens with offsets, special flags, decode, info, chat templates, comparisons."""

from __future__ import annotations

import pytest

from engines import errors
from engines import tokenizers as tk


@pytest.fixture(scope="module")
def llama(tiny):
    return str(tiny["tok-llama"])


def test_tokenize_shapes_and_specials(llama):
    t = tk.tokenize(llama, "Hello world! Ünïcødé 🚀")
    assert t.count == len(t.ids) == len(t.tokens) == len(t.offsets) == len(t.is_special) == len(t.pieces)
    assert t.is_special[0] and not any(t.is_special[1:])  # BOS from the post-processor
    assert "".join(t.pieces[1:]) == "Hello world! Ünïcødé 🚀"  # multi-byte characters shown once
    assert t.chars == 22 and t.words == 4 and t.chars_per_token == pytest.approx(22 / t.count)
    plain = tk.tokenize(llama, "Hello world! Ünïcødé 🚀", add_special_tokens=False)
    assert plain.count == t.count - 1 and plain.ids == t.ids[1:]


def test_decode_round_trip_and_validation(llama):
    t = tk.tokenize(llama, "round trip, please")
    assert tk.decode(llama, t.ids) == "<|begin_of_text|>round trip, please"
    assert tk.round_trip(llama, "round trip, please") == (True, None)
    size = tk.tokenizer_info(llama).vocab_size
    with pytest.raises(errors.InvalidInput, match=f"ids go from 0 to {size - 1}"):
        tk.decode(llama, [1, size])
    with pytest.raises(errors.InvalidInput, match="not an integer"):
        tk.decode(llama, [1, "2"])
    with pytest.raises(errors.InvalidInput, match="at least one"):
        tk.decode(llama, [])


@pytest.mark.parametrize(("text", "ids"), [("1, 2, 3", [1, 2, 3]), ("[4 5\n6]", [4, 5, 6]), (" 7 ", [7])])
def test_parse_ids(text, ids):
    assert tk.parse_ids(text) == ids


@pytest.mark.parametrize(("text", "message"), [("", "No token ids"), ("1, x, -3", "'x' \\(item 2\\)"),
                                               ("1 -3", "negative"), ("1.5", "not an integer")])
def test_parse_ids_errors(text, message):
    with pytest.raises(errors.InvalidInput, match=message):
        tk.parse_ids(text)


def test_round_trip_failure_reported(tiny):
    bert = str(tiny["tok-bert"])  # lower-cases: cannot round-trip capitals
    ok, first = tk.round_trip(bert, "Hello")
    assert ok is False and first == 0


def test_info_special_tokens(tiny):
    info = tk.tokenizer_info(str(tiny["tok-gemma"]))
    tokens = {token for _, token, _ in info.special_tokens}
    assert {"<bos>", "<end_of_turn>", "<start_of_turn>"} <= tokens
    assert info.vocab_size == 1000 and info.model_max_length == 256 and info.has_chat_template and info.is_fast


def test_render_chat_and_overhead(llama):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    text = tk.render_chat(llama, messages)
    assert text.startswith("<|begin_of_text|><|start_header_id|>system")
    assert text.endswith("assistant<|end_header_id|>\n\n")
    detail = tk.render_chat_detail(llama, messages, add_generation_prompt=False)
    assert detail.overhead_tokens > 0 and detail.content_tokens + detail.overhead_tokens == len(detail.ids)
    assert not detail.text.endswith("assistant<|end_header_id|>\n\n") and detail.notice is None


def test_render_chat_gemma_folds_system(tiny):
    detail = tk.render_chat_detail(str(tiny["tok-gemma"]), [{"role": "system", "content": "S"},
                                                            {"role": "user", "content": "U"}])
    assert "user\nS\n\nU" in detail.text and "no system role" in detail.notice


def test_render_chat_without_template(tiny):
    with pytest.raises(errors.Unsupported, match="no chat template"):
        tk.render_chat(str(tiny["tok-bert"]), [{"role": "user", "content": "hi"}])


def test_limits_and_remote(llama, monkeypatch):
    with pytest.raises(errors.InvalidInput, match="empty"):
        tk.tokenize(llama, "")
    monkeypatch.setenv("WORKBENCH_MAX_INPUT_CHARS", "10")
    with pytest.raises(errors.InvalidInput, match="limit is 10"):
        tk.tokenize(llama, "x" * 11)
    with pytest.raises(errors.Unsupported, match="API model"):
        tk.tokenize("openai:gpt-4o", "hi")


def test_compare_keeps_going_when_one_fails(tiny, llama):
    rows = tk.compare([llama, str(tiny["tok-bert"]), "../nope"], "Hello world")
    assert rows[0].count > 0 and rows[0].round_trip is True
    assert rows[1].round_trip is False
    assert rows[2].error and "'..'" in rows[2].error
