"""Canned programs and model replies for the code converter tests (a small Python program and C++ answers)."""

from __future__ import annotations

PYTHON = '''import time

start = time.perf_counter()
total = 0
for i in range(300_000):
    total += (i * i) % 7
print(f"total = {total}")
print(f"Elapsed: {time.perf_counter() - start:.4f} s")
'''

CPP_OK = '''#include <chrono>
#include <cstdio>

int main() {
    auto start = std::chrono::steady_clock::now();
    long long total = 0;
    for (long long i = 0; i < 300000; ++i) total += (i * i) % 7;
    std::printf("total = %lld\\n", total);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("Elapsed: %.4f s\\n", s);
    return 0;
}
'''

CPP_BROKEN = CPP_OK.replace("long long total = 0;", "long long total = 0")  # missing semicolon
CPP_WRONG = CPP_OK.replace("% 7", "% 5")  # compiles, prints a different total

# How models really answer: prose around a fence, and open models' end-of-turn tokens.
REPLY_OK = f"Here is an optimized C++17 version:\n\n```cpp\n{CPP_OK}```\n\nIt uses 64-bit integers.<|im_end|>"
REPLY_BARE = CPP_OK + "<|im_end|>"
REPLY_BROKEN = f"```c++\n{CPP_BROKEN}```"
REPLY_WRONG = f"```cpp\n{CPP_WRONG}```<|endoftext|>"
REPLY_PROSE_ONLY = "I cannot convert this program, sorry."


def tiny_coder(tiny: dict, target):
    """The tiny Qwen2 with a 4096-token window (rotary positions: only the config changes), so the full conversion
    prompt fits. ``tiny`` is the session's tiny-model dict, ``target`` a fresh folder."""
    import json
    import shutil
    from pathlib import Path

    target = Path(target) / "tiny-coder"
    if not target.exists():
        shutil.copytree(tiny["lm-qwen2"], target, symlinks=False)
        config = json.loads((target / "config.json").read_text())
        config["max_position_embeddings"] = 4096
        (target / "config.json").write_text(json.dumps(config, indent=2))
    return target
