"""Min-K% Prob and Min-K%++ on tiny models: equal to a direct implementation from the logits (float64) to 1e-5 on
three families, batched equal to one at a time, the lowest-⌊k·n⌋ rule, bad k, texts longer than the window; and on
a tiny model fine-tuned here (plain torch, a few optimizer steps on half of a synthetic set) Min-K%++ separates the
seen half from the unseen half (AUROC ≥ 0.8)."""

from __future__ import annotations

import random

import pytest

from engines.errors import InvalidInput
from engines.evals.contamination import mann_whitney, min_k_plus_plus, min_k_prob, min_k_scores
from engines.evals.contamination.mink import lowest_mean
from engines.evals.logprobs import load_local_lm

TEXTS = ["The quick brown fox jumps over the lazy dog, again and again.", "hello world",
         "def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)", "Ünïcödé and emoji 🙂 in one line."]
WORDS = ("river stone lamp violet engine quiet harbor mint carpet orbit willow candle marble pepper tunnel silver "
         "meadow rocket velvet anchor cobalt ember falcon garnet hollow island jasper kettle lantern maple nectar "
         "onyx pilot quartz raven saddle timber umber vessel walnut yonder zephyr amber bramble cedar dune").split()


def direct(lm, text: str, k: float) -> tuple[float, float]:
    """Both scores written out from the logits, in float64, as the authors' reference code computes them."""
    import torch

    tok = lm.tokenizer
    ids = [tok.bos_token_id] + tok(text, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = lm.model(torch.tensor([ids[:-1]])).logits[0].double()
    log_probs = logits.log_softmax(-1)
    probs = log_probs.exp()
    token = log_probs.gather(-1, torch.tensor(ids[1:])[:, None]).squeeze(-1)
    mu = (probs * log_probs).sum(-1)
    sigma = ((probs * log_probs.square()).sum(-1) - mu.square()).sqrt()
    n = max(1, int(len(token) * k))
    return token.sort().values[:n].mean().item(), ((token - mu) / sigma).sort().values[:n].mean().item()


@pytest.mark.parametrize("family", ["lm-llama", "lm-qwen2", "lm-gemma"])
def test_equal_a_direct_implementation_from_logits(tiny, family):
    model = str(tiny[family])
    lm = load_local_lm(model)
    for k in (0.2, 0.5, 1.0):
        for text in TEXTS:
            want_mk, want_pp = direct(lm, text, k)
            # fp32: the engine's batched forward and this one sum in another order (Gemma's scaled embeddings and
            # soft-capped logits missed abs=1e-5 by 2.5e-6 at a value of 1.34), so a relative 2e-5 is allowed too
            assert min_k_prob(model, text, k=k) == pytest.approx(want_mk, abs=1e-5, rel=2e-5)
            assert min_k_plus_plus(model, text, k=k) == pytest.approx(want_pp, abs=1e-5, rel=2e-5)


def test_batched_equals_one_at_a_time(tiny):
    model = str(tiny["lm-qwen2"])
    rng = random.Random(1)
    texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 30))) for _ in range(20)] + [TEXTS[0]] * 2
    one = min_k_scores(model, texts, batch_size=1)
    many = min_k_scores(model, texts, batch_size=7)
    for a, b in zip(one, many, strict=True):
        assert a.min_k == pytest.approx(b.min_k, abs=1e-5) and a.min_k_pp == pytest.approx(b.min_k_pp, abs=1e-5)
        assert a.tokens == b.tokens and [t for t, _ in a.lowest] == [t for t, _ in b.lowest]
    only_mk = min_k_scores(model, texts, plus_plus=False)  # the Evaluate tab's primitive (score_pairs)
    assert [s.min_k for s in only_mk] == pytest.approx([s.min_k for s in one], abs=1e-5)
    assert all(s.min_k_pp is None for s in only_mk)


def test_lowest_k_rule_and_bad_k():
    values = [-5.0, -1.0, -3.0, -2.0, -4.0, -0.5, -0.1, -6.0, -7.0, -8.0]
    assert lowest_mean(values, 0.2) == -7.5  # the lowest ⌊0.2·10⌋ = 2: -8, -7
    assert lowest_mean(values, 0.3) == -7.0  # ⌊3.0000000000000004⌋ = 3 (floating point tolerated)
    assert lowest_mean(values, 0.05) == -8.0  # at least one
    assert lowest_mean(values, 1.0) == pytest.approx(sum(values) / 10)
    for bad in (0, -0.1, 1.5, "x", float("nan")):
        with pytest.raises(InvalidInput):
            lowest_mean(values, bad)
    with pytest.raises(InvalidInput, match="for 20 %, write 0.2"):
        lowest_mean(values, 20)


def test_text_longer_than_the_window_scores_its_start(tiny):
    model = str(tiny["lm-llama"])
    lm = load_local_lm(model)
    window = lm.model.config.max_position_embeddings
    long_text = " ".join(["marble"] * (window * 2))
    score = min_k_scores(model, [long_text])[0]
    assert score.truncated and score.tokens == window
    with pytest.raises(InvalidInput, match="empty"):
        min_k_prob(model, "   ")


def _fine_tune(src, texts: list[str], out, steps: int = 20) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(src)
    model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32)
    torch.manual_seed(0)
    rows = [[tok.bos_token_id] + tok(t, add_special_tokens=False)["input_ids"] for t in texts]
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), tok.pad_token_id or 0)
    mask = torch.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, : len(row)], mask[i, : len(row)] = torch.tensor(row), 1
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        model(input_ids=ids, attention_mask=mask, labels=ids.masked_fill(mask == 0, -100)).loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(out)
    tok.save_pretrained(out)


def test_min_k_plus_plus_separates_seen_from_unseen_after_fine_tuning(tiny, tmp_path):
    rng = random.Random(7)
    sentences = [" ".join(rng.choice(WORDS) for _ in range(12)) + "." for _ in range(24)]
    seen = sentences[:12]  # the other 12 stay unseen
    _fine_tune(tiny["lm-llama"], seen, tmp_path / "tuned")
    before = min_k_scores(str(tiny["lm-llama"]), sentences)
    after = min_k_scores(str(tmp_path / "tuned"), sentences)
    base = mann_whitney([s.min_k_pp for s in before[:12]], [s.min_k_pp for s in before[12:]])
    tuned = mann_whitney([s.min_k_pp for s in after[:12]], [s.min_k_pp for s in after[12:]])
    assert tuned.auroc >= 0.8 and tuned.p_value < 0.01, tuned
    assert tuned.auroc > base.auroc  # the random model did not separate them before
