"""Bench: ``generate_image`` vs calling the same diffusers pipeline directly with the same arguments.

Runs on the tiny FLUX pipeline (built offline, see tests/tiny_images.py), alternating ours and the baseline so
both see the same machine load; prints ``name: ratio (ours … vs baseline …)`` with medians. Ratio ≤ 1.05 means the
wrapper (validation, load plan, cache lookup, prompt-length check, per-step timing callback) adds nothing
measurable. ``python bench/bench_images.py [--rounds N]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "support")]

import tiny_images  # noqa: E402  (sets HF_HUB_OFFLINE=1)


def bench(name: str, model: str, size: int, steps: int, rounds: int) -> None:
    import numpy as np
    import torch

    from engines import images as im

    prompt = "a watercolor landscape with mountains and a lake at sunset"
    first = im.generate_image(prompt, model=model, seed=0, width=size, height=size, num_inference_steps=steps)
    ref, plan, flux = im.plan_for(model)
    loaded, hit, _ = im.load_pipeline(ref, plan, flux)
    assert hit, "the baseline must call the very pipeline object the engine uses"
    kwargs = im.call_kwargs(loaded, ref, prompt, steps, size, size)

    def baseline(seed: int):
        return loaded.pipe(**kwargs, generator=torch.Generator("cpu").manual_seed(seed)).images[0]

    assert np.array_equal(np.asarray(baseline(0)), np.asarray(first.image)), "same arguments, same image"
    ours_ms, base_ms = [], []
    for i in range(rounds):
        for fn, out in ((lambda s: im.generate_image(prompt, model=model, seed=s, width=size, height=size,
                                                     num_inference_steps=steps, on_step=lambda a, b: None),
                         ours_ms), (baseline, base_ms))[:: 1 if i % 2 else -1]:
            t = time.perf_counter()
            fn(i)
            out.append((time.perf_counter() - t) * 1000)
    ours, base = statistics.median(ours_ms), statistics.median(base_ms)
    print(f"{name}: {ours / base:.2f} (ours {ours:.1f} ms vs baseline {base:.1f} ms)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 = least noise on a shared CPU)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    flux, sd = str(tiny_images.build_tiny_flux()), str(tiny_images.build_tiny_sd())
    bench("generate_image flux 128px 4 steps", flux, 128, 4, args.rounds)
    bench("generate_image sd 128px 4 steps", sd, 128, 4, args.rounds)


if __name__ == "__main__":
    main()
