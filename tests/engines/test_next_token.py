"""engines.next_token: what a token shows when it is only part of a character (bytes, never mojibake)."""

from __future__ import annotations

from engines.next_token import api_token_text, readable, token_text


def test_readable_keeps_text_and_shows_partial_characters_as_bytes():
    assert readable("café".encode()) == "café"
    assert readable(" 日".encode()[:2]) == " <0xE6>"
    assert readable(b"\xc3") == "<0xC3>"


def test_byte_level_tokens_show_bytes_not_mojibake(tiny):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny["tok-llama"])  # byte-level BPE, as Llama 3 / Qwen / GPT-2
    ids = tok("日本 café", add_special_tokens=False)["input_ids"]
    shown = [token_text(tok, i) for i in ids]
    assert not any("\ufffd" in s or "Ã" in s or "æ" in s for s in shown), shown
    joined = "".join(shown)
    assert "caf" in joined and ("<0x" in joined or "日" in joined)


def test_api_tokens_use_their_bytes():
    assert api_token_text("Ã", [0xC3]) == "<0xC3>"
    assert api_token_text("é", list("é".encode())) == "é"
    assert api_token_text("hello", None) == "hello"
