"""Multiple-choice log-likelihood scoring: the Evaluate engine against a plain transformers loop on the same model.

Prints (ratios are throughput, items per second: higher is better for ours):
  ll_engine_vs_plain_loop: the engine one sequence per forward pass (batch 1) / a plain loop doing the same work
      (tokenise as lm-eval does, one forward pass per choice, log-softmax, gather, sum); target ≥ 0.9, i.e. at most
      10 % overhead for the tokenisation, grouping and bookkeeping
  ll_engine_batched_vs_plain_loop: the engine batched (16 sequences per pass) / the same plain loop
  ll_batched_vs_one_at_a_time: the engine batched / the engine at batch 1 (the speed-up batching brings)
The scores of every variant are checked equal to the plain loop's before any number is printed.
"""

from __future__ import annotations

import random
import time

from common import bench_lm_dir, median, report

N_ITEMS = 16
ROUNDS = 3
WORDS = ("the model reads a question about capitals rivers planets numbers code colours animals and answers with "
         "one of several choices some short others long enough to span many tokens").split()


def _items(seed: int = 0) -> list[tuple[str, list[str]]]:
    rng = random.Random(seed)
    items = []
    for _ in range(N_ITEMS):
        question = " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 30)))
        choices = [" " + " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 8))) for _ in range(4)]
        items.append((f"Question: {question}\nAnswer:", choices))
    return items


def _plain_loop(model, tok, items) -> list[list[float]]:
    """What one would write by hand with transformers: one forward pass per (context, choice)."""
    import torch

    out = []
    with torch.inference_mode():
        for context, choices in items:
            lls = []
            for choice in choices:
                whole = tok(context + choice, add_special_tokens=False)["input_ids"]
                n_ctx = len(tok(context, add_special_tokens=False)["input_ids"])
                logits = model(torch.tensor([whole[:-1]])).logits[0].float().log_softmax(-1)
                lls.append(sum(logits[n_ctx - 1 + j, t].item() for j, t in enumerate(whole[n_ctx:])))
            out.append(lls)
    return out


def _engine(lm, items, batch_size: int) -> list[list[float]]:
    from engines.evals.logprobs import score_requests

    requests = [(context, choice) for context, choices in items for choice in choices]
    scores = score_requests(lm, requests, batch_size=batch_size)
    return [[s.total for s in scores[i * 4:(i + 1) * 4]] for i in range(len(items))]


def _timed(fn, *args) -> tuple[float, list]:
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def _same(a: list[list[float]], b: list[list[float]]) -> None:
    worst = max(abs(x - y) for ra, rb in zip(a, b, strict=True) for x, y in zip(ra, rb, strict=True))
    assert worst < 1e-3, f"scores differ by {worst}"


def main() -> None:
    import torch

    from engines.evals.logprobs import load_local_lm

    torch.manual_seed(0)
    lm = load_local_lm(str(bench_lm_dir()), "fp32")
    items = _items()
    reference = _plain_loop(lm.model, lm.tokenizer, items[:4])  # warm up every path once
    _same(reference, _engine(lm, items[:4], 1))
    _same(reference, _engine(lm, items[:4], 16))
    plain, one, batched = [], [], []
    for _ in range(ROUNDS):  # interleaved, so drift in machine load hits every variant alike
        t, base_scores = _timed(_plain_loop, lm.model, lm.tokenizer, items)
        plain.append(t)
        t, scores = _timed(_engine, lm, items, 1)
        _same(base_scores, scores)
        one.append(t)
        t, scores = _timed(_engine, lm, items, 16)
        _same(base_scores, scores)
        batched.append(t)
    rate = {name: N_ITEMS / median(times) for name, times in (("plain", plain), ("one", one), ("batched", batched))}
    report("ll_engine_vs_plain_loop", rate["one"], rate["plain"], "items/s")
    report("ll_engine_batched_vs_plain_loop", rate["batched"], rate["plain"], "items/s")
    report("ll_batched_vs_one_at_a_time", rate["batched"], rate["one"], "items/s")


if __name__ == "__main__":
    main()
