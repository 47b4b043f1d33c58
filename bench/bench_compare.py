"""Side by side vs one after the other: running N models at once costs no more than running them alone.

Prints:
  side_by_side_local: wall time of 2 local LMs side by side (stream_compare) / the sum of each run alone through
      stream_chat (target ≤ 1.1: the interleaving adds no hidden overhead; CPU-bound columns share the cores)
  side_by_side_remote: 3 remote columns (fake OpenAI-compatible server) side by side / the sum alone (I/O-bound
      columns overlap, so this is well below 1)
  merge_overhead: one local column through stream_compare / the same run through stream_chat (target ≤ 1.05)
"""

from __future__ import annotations

import time
from pathlib import Path

from common import bench_lm_dir, median, report

N_TOKENS = 64
ROUNDS = 3
MESSAGES = [{"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "Write a short story about a lighthouse keeper and a storm."}]


def _alone(models: list[str]) -> float:
    from engines.chat import stream_chat

    start = time.perf_counter()
    for model in models:
        for _ in stream_chat(model, MESSAGES, max_new_tokens=N_TOKENS):
            pass
    return time.perf_counter() - start


def _side_by_side(models: list[str]) -> float:
    from engines import arena

    start = time.perf_counter()
    cols: list = []
    for cols in arena.stream_compare(arena.parse_entries(models), MESSAGES, max_new_tokens=N_TOKENS):  # noqa: B007
        pass
    assert all(c.status == "done" for c in cols), [(c.model, c.error) for c in cols]
    return time.perf_counter() - start


def _pair(models: list[str]) -> tuple[float, float]:
    ours, base = [], []
    for _ in range(ROUNDS):  # alternate, so drift in machine load hits both alike
        base.append(_alone(models))
        ours.append(_side_by_side(models))
    return median(ours), median(base)


def main() -> None:
    import importlib.util
    import os

    from fake_openai import FakeOpenAI

    model_dir = bench_lm_dir()
    twin = model_dir.parent / "bench-llama-30m-twin"  # a second reference to the same weights (loaded once)
    if not twin.exists():
        twin.symlink_to(model_dir, target_is_directory=True)
    local = [str(model_dir), str(Path(twin))]
    _alone(local)  # load and warm up
    ours, base = _pair(local)
    report("side_by_side_local", ours * 1000, base * 1000, "ms")
    one_ours, one_base = _pair(local[:1])
    report("merge_overhead", one_ours * 1000, one_base * 1000, "ms")

    if importlib.util.find_spec("openai") is None:
        print("side_by_side_remote: skipped (the openai package is not installed)")
        return
    with FakeOpenAI(api_key="bench-key", chunk_delay=0.01) as server:
        os.environ.update(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="bench-key")
        words = " ".join(f"w{i}" for i in range(N_TOKENS))
        remote = [f"openai:bench-{i}" for i in range(3)]
        for model in remote:
            server.script(model.partition(":")[2], words)
        _alone(remote)
        ours, base = _pair(remote)
        report("side_by_side_remote", ours * 1000, base * 1000, "ms")


if __name__ == "__main__":
    main()
