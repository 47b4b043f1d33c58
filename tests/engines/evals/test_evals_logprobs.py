"""engines.evals.logprobs: lm-evaluation-harness tokenisation of (context, continuation), log-likelihoods equal to a
direct forward pass on tiny models of three families, batching equal to one at a time, one forward pass per choice
set of one-token choices, truncation, and acc / acc_norm from those log-likelihoods."""

from __future__ import annotations

import random

import pytest

from engines.errors import Unsupported
from engines.evals import choice_logprobs, encode_pair, logprobs, score_pairs
from engines.evals.items import RunConfig, evaluate_choices_ll
from engines.evals.logprobs import load_local_lm
from engines.evals.scoring import argmax_first
from engines.evals.testsets import Item
from engines.refs import parse_ref

PROMPT = "Question: Which city is the capital of France?\nAnswer:"
CHOICES = [" Paris", " Berlin", " the capital of Germany is Berlin", " 42", "!"]


def direct_loglikelihood(lm, context: str, continuation: str) -> float:
    """lm-eval's recipe written out by hand: move the context's trailing whitespace to the continuation, encode the
    context and the whole text without special tokens, one unbatched forward pass, sum the continuation's log-probs."""
    import torch

    spaces = len(context) - len(context.rstrip())
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    tok = lm.tokenizer
    whole = tok(context + continuation, add_special_tokens=False)["input_ids"]
    ctx = tok(context, add_special_tokens=False)["input_ids"]
    cont = whole[len(ctx):]
    with torch.no_grad():
        logits = lm.model(torch.tensor([whole[:-1]])).logits[0].float().log_softmax(-1)
    return sum(logits[len(ctx) - 1 + j, t].item() for j, t in enumerate(cont))


@pytest.mark.parametrize("family", ["lm-llama", "lm-qwen2", "lm-gemma"])
def test_choice_logprobs_equal_a_direct_forward_pass(tiny, family):
    model = str(tiny[family])
    lls = choice_logprobs(model, PROMPT, CHOICES)
    lm = load_local_lm(model)
    assert lls == pytest.approx([direct_loglikelihood(lm, PROMPT, c) for c in CHOICES], abs=1e-4)
    assert all(ll < 0 for ll in lls)


def test_encode_pair_moves_trailing_whitespace_like_lm_eval(tiny):
    tok = load_local_lm(str(tiny["lm-llama"])).tokenizer
    assert encode_pair(tok, "Answer: ", "Paris") == encode_pair(tok, "Answer:", " Paris")
    ctx, cont = encode_pair(tok, "Answer:\n\n", "Paris")
    assert tok.decode(cont) == "\n\nParis" and tok.decode(ctx) == "Answer:"
    whole = tok("Answer: Paris", add_special_tokens=False)["input_ids"]
    ctx, cont = encode_pair(tok, "Answer:", " Paris")
    assert ctx + cont == whole  # the continuation is the tail of the whole encoding
    assert encode_pair(tok, "", "Paris") == ([tok.bos_token_id], tok("Paris", add_special_tokens=False)["input_ids"])
    assert tok.bos_token_id not in ctx  # no special tokens added (lm-eval's default)


def test_batched_equals_one_at_a_time(tiny):
    lm = load_local_lm(str(tiny["lm-qwen2"]))
    rng = random.Random(0)
    vocab = lm.model.config.vocab_size
    pairs = [([rng.randrange(vocab) for _ in range(rng.randint(1, 40))],
              [rng.randrange(vocab) for _ in range(rng.randint(1, 6))]) for _ in range(40)]
    one = score_pairs(lm.model, pairs, batch_size=1)
    for batch in (3, 16, 64):
        many = score_pairs(lm.model, pairs, batch_size=batch)
        for a, b in zip(one, many, strict=True):
            assert a.logprobs == pytest.approx(b.logprobs, abs=1e-4) and a.greedy == b.greedy
            assert a.tokens == b.tokens


def test_full_logits_fallback_gives_the_same_scores(tiny, monkeypatch):
    lm = load_local_lm(str(tiny["lm-llama"]))
    pairs = [([5, 6, 7, 8], [9, 10]), ([5, 6], [7]), ([11] * 30, [12, 13, 14])]
    kept = score_pairs(lm.model, pairs, batch_size=4)
    monkeypatch.setattr(logprobs, "_supports_logits_to_keep", lambda model: False)
    full = score_pairs(lm.model, pairs, batch_size=4)
    for a, b in zip(kept, full, strict=True):
        assert a.logprobs == pytest.approx(b.logprobs, abs=1e-5)


def test_one_token_choices_share_one_forward_pass(tiny, monkeypatch):
    lm = load_local_lm(str(tiny["lm-llama"]))
    rows: list[int] = []
    real = logprobs._forward

    def counting(model, inputs, targets, pad):
        rows.append(len(inputs))
        return real(model, inputs, targets, pad)

    monkeypatch.setattr(logprobs, "_forward", counting)
    context = [20, 21, 22, 23]
    scores = score_pairs(lm.model, [(context, [t]) for t in (30, 31, 32, 33)], batch_size=16)
    assert rows == [1]  # four choices, one input row
    assert len({tuple(s.tokens) for s in scores}) == 4
    rows.clear()
    score_pairs(lm.model, [(context, [30, 31]), (context, [32, 33, 34])], batch_size=16)
    assert rows == [2]  # multi-token choices: one padded batch for the choice set


def test_context_longer_than_the_window_is_truncated_on_the_left(tiny):
    lm = load_local_lm(str(tiny["lm-llama"]))
    window = logprobs.max_length(lm.model)
    long_ctx = list(range(10, 10 + window + 50))
    score = score_pairs(lm.model, [(long_ctx, [5, 6])])[0]
    short = score_pairs(lm.model, [(long_ctx[-(window - 1):], [5, 6])])[0]
    assert score.truncated and not short.truncated
    assert score.logprobs == pytest.approx(short.logprobs, abs=1e-4)


def test_api_models_without_prompt_logprobs_are_refused():  # api.openai.com (no OPENAI_BASE_URL): no echo
    with pytest.raises(Unsupported, match="needs log-probabilities, which 'openai:gpt-4o-mini'"):
        choice_logprobs("openai:gpt-4o-mini", "Q", [" A"])


def test_acc_and_acc_norm_on_a_tiny_model_equal_a_direct_computation(tiny):
    model = str(tiny["lm-llama"])
    ref = parse_ref(model)
    lm = load_local_lm(model)
    items = [Item(id=str(n), kind="choice", question=q, choices=c, answer=a) for n, (q, c, a) in enumerate([
        ("Which is a mammal?", ["Shark", "Dolphin", "A trout from the river", "Octopus"], 1),
        ("2 + 2 =", ["4", "22", "five minus one"], 0),
        ("Pick the colour", ["red", "the colour of the sky on a clear day", "green"], 2),
    ])]
    results = evaluate_choices_ll(ref, lm, items, RunConfig(batch_size=5))
    for item, result in zip(items, results, strict=True):
        context = result.detail["context"]  # the chat template, rendered with the generation prompt
        assert result.detail["delimiter"] == ""  # lm-eval with a chat template: no target delimiter
        lls = [direct_loglikelihood(lm, context, choice) for choice in item.choices]
        assert result.detail["loglikelihoods"] == pytest.approx(lls, abs=1e-4)
        acc = float(argmax_first(lls) == item.answer)
        acc_norm = float(argmax_first([ll / len(c) for ll, c in zip(lls, item.choices, strict=True)]) == item.answer)
        assert result.metrics == {"acc": acc, "acc_norm": acc_norm} and result.score == acc
        assert result.method == "loglikelihood" and context.startswith("<|begin_of_text|>")
