"""stream_chat vs raw model.generate on the same model and settings; cache hit vs first load.

Prints:
  stream_tokens_per_s: ratio of stream_chat tokens/s to raw generate tokens/s (target ≥ 0.95)
  ttft_overhead: stream_chat time to first token vs a raw 1-token generate (target: overhead ≤ 50 ms)
  cache_hit_vs_first_load: a cache hit's cost relative to a first load (target ≤ 0.01)
"""

from __future__ import annotations

import time

from common import bench_lm_dir, median, report

N_TOKENS = 64
ROUNDS = 9
MESSAGES = [{"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "Write a short story about a lighthouse keeper and a storm."}]


def main() -> None:
    import torch

    from engines.cache import model_cache
    from engines.chat import stream_chat
    from engines.loading import load_causal_lm
    from engines.refs import parse_ref

    torch.manual_seed(0)
    model_dir = str(bench_lm_dir())
    ref = parse_ref(model_dir)

    start = time.perf_counter()
    lm, hit, _, _ = load_causal_lm(ref, "auto")
    first_load = time.perf_counter() - start
    hits = []
    for _ in range(20):
        start = time.perf_counter()
        load_causal_lm(ref, "auto")
        hits.append(time.perf_counter() - start)
    report("cache_hit_vs_first_load", median(hits), first_load)

    ids = lm.tokenizer.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True)
    input_ids = lm.tokenizer(ids, add_special_tokens=False, return_tensors="pt")["input_ids"]
    raw_kwargs = dict(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), do_sample=False,
                      pad_token_id=lm.tokenizer.pad_token_id, temperature=None, top_p=None, top_k=None)

    def raw_generate(n: int) -> tuple[float, int]:
        start = time.perf_counter()
        with torch.inference_mode():
            out = lm.model.generate(**raw_kwargs, max_new_tokens=n)
        return time.perf_counter() - start, out.shape[1] - input_ids.shape[1]

    def ours() -> tuple[float, float, int]:
        start = time.perf_counter()
        first = None
        stats = None
        for chunk in stream_chat(model_dir, MESSAGES, max_new_tokens=N_TOKENS):
            if first is None and chunk.text:
                first = time.perf_counter() - start
            stats = chunk.stats or stats
        return time.perf_counter() - start, first, stats.tokens

    raw_generate(4), ours()  # warm-up (kernels, caches)
    raw_tps, our_tps, raw_ttft, our_ttft = [], [], [], []
    for _ in range(ROUNDS):  # interleaved, so background load hits both alike
        seconds, tokens = raw_generate(N_TOKENS)
        raw_tps.append(tokens / seconds)
        total, first, tokens = ours()
        our_tps.append(tokens / total)
        raw_ttft.append(raw_generate(1)[0])
        our_ttft.append(first)
    report("stream_tokens_per_s", median(our_tps), median(raw_tps), unit="tok/s")
    overhead_ms = (median(our_ttft) - median(raw_ttft)) * 1000
    report("ttft", median(our_ttft), median(raw_ttft))
    print(f"ttft_overhead_ms: {overhead_ms:.1f} (target ≤ 50)")
    print(f"model: {lm.params / 1e6:.1f}M params, {N_TOKENS} new tokens, {torch.get_num_threads()} threads, "
          f"cache entries: {len(model_cache())}")


if __name__ == "__main__":
    main()
