"""Contamination checks: Min-K% (and Min-K%++) over N items, batched against one item at a time, on the same model.

Prints (higher is better):
  mink_batched_speedup: Min-K% of N texts, 16 per forward pass (the Evaluate tab's log-prob primitive) against one
      text per forward pass
  minkpp_batched_speedup: the same for Min-K%++ (its pass also reduces the full next-token distribution)
The scores of the batched runs are checked equal to one at a time before any number is printed.
"""

from __future__ import annotations

import random
import time

from common import bench_lm_dir, median

N_ITEMS = 16
ROUNDS = 3
BATCH = 16
WORDS = ("the model reads a question about capitals rivers planets numbers code colours animals and answers with "
         "one of several choices some short others long enough to span many tokens").split()


def _texts(seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 60))) for _ in range(N_ITEMS)]


def _timed(model: str, texts: list[str], batch_size: int, plus_plus: bool):
    from engines.evals.contamination import min_k_scores

    start = time.perf_counter()
    scores = min_k_scores(model, texts, batch_size=batch_size, plus_plus=plus_plus)
    return time.perf_counter() - start, scores


def _same(a, b) -> None:
    for x, y in zip(a, b, strict=True):
        assert abs(x.min_k - y.min_k) < 1e-3, (x.min_k, y.min_k)
        assert (x.min_k_pp is None) == (y.min_k_pp is None)
        assert x.min_k_pp is None or abs(x.min_k_pp - y.min_k_pp) < 1e-3, (x.min_k_pp, y.min_k_pp)


def line(name: str, batched: float, one: float) -> None:
    """``name: speed-up (batched … s vs one at a time … s)``."""
    print(f"{name}: {one / batched:.2f} (batched {batched:.3f} s vs one at a time {one:.3f} s, {N_ITEMS} items)",
          flush=True)


def main() -> None:
    import torch

    from engines.evals.logprobs import load_local_lm

    torch.manual_seed(0)
    model = str(bench_lm_dir())
    load_local_lm(model, "auto")  # load once: the timings are scoring only
    texts = _texts()
    for plus_plus, name in ((False, "mink_batched_speedup"), (True, "minkpp_batched_speedup")):
        _timed(model, texts[:4], BATCH, plus_plus)  # warm up
        one, batched = [], []
        for _ in range(ROUNDS):  # interleaved, so drift in machine load hits both alike
            t1, a = _timed(model, texts, 1, plus_plus)
            tb, b = _timed(model, texts, BATCH, plus_plus)
            _same(a, b)
            one.append(t1)
            batched.append(tb)
        line(name, median(batched), median(one))


if __name__ == "__main__":
    main()
