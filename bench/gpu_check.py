"""One prepared check of the CUDA paths, run on a lent GPU machine (not part of the test suite).

    python bench/gpu_check.py [ASSETS_DIR]

ASSETS_DIR holds tiny models built offline on the dev machine (tiny FLUX, tiny Whisper) and speech.npy; the
~1.1B-parameter LLM is built here from a config. Sections are independent: one failing does not stop the others.
Prints ratio lines like the other benches, plus facts (versions, memory, plans).
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "support")]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
ASSETS = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / ".devcheck")
MESSAGES = [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": "Tell me a story."}]


def section(fn):
    print(f"\n=== {fn.__name__}", flush=True)
    start = time.perf_counter()
    try:
        fn()
    except Exception:
        traceback.print_exc()
        print(f"FAILED {fn.__name__}")
    print(f"--- {fn.__name__}: {time.perf_counter() - start:.1f} s", flush=True)


def env():
    import torch
    import transformers

    print("torch", torch.__version__, "cuda", torch.version.cuda, "device", torch.cuda.get_device_name(0))
    print("transformers", transformers.__version__)
    import bitsandbytes
    import diffusers

    print("bitsandbytes", bitsandbytes.__version__, "diffusers", diffusers.__version__)
    from engines.config import Settings

    print("settings:", Settings.from_env().describe())


def build_llm(out: Path) -> Path:
    import torch
    from transformers import AutoTokenizer, GenerationConfig, LlamaConfig, LlamaForCausalLM

    if (out / "config.json").exists():
        return out
    tok = AutoTokenizer.from_pretrained(ASSETS / "tok-llama")
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
                      num_attention_heads=32, num_key_value_heads=4, max_position_embeddings=4096,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    # vocab is tiny here, so add layers' worth of params: 22 layers x 46M = ~1.0B
    with torch.device("cuda"):
        model = LlamaForCausalLM(cfg).to(torch.bfloat16)
    model.generation_config = GenerationConfig(bos_token_id=tok.bos_token_id, eos_token_id=None,
                                               pad_token_id=tok.pad_token_id)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    del model
    torch.cuda.empty_cache()
    return out


def llm_4bit():
    import torch

    from engines.chat import stream_chat
    from engines.loading import load_causal_lm
    from engines.refs import parse_ref

    path = build_llm(Path("/tmp/llm-1b"))
    ref = parse_ref(str(path))
    results = {}
    for quant in ("auto", "bf16"):
        torch.cuda.reset_peak_memory_stats()
        lm, hit, seconds, notice = load_causal_lm(ref, quant)
        last = None
        for chunk in stream_chat(str(path), MESSAGES, max_new_tokens=128, quantization=quant):
            last = chunk.stats or last
        print(f"{quant}: loaded as {lm.quantization} on {lm.device} in {seconds:.1f} s, {lm.params / 1e9:.2f}B params,"
              f" footprint {lm.footprint_bytes / 2**30:.2f} GiB, notice={notice!r}; {last.tokens} tokens at "
              f"{last.tokens_per_s:.1f} tok/s, ttft {last.ttft_s * 1000:.0f} ms, peak GPU "
              f"{(last.peak_gpu_bytes or 0) / 2**30:.2f} GiB")
        print("4-bit layer types:", sorted({type(m).__name__ for m in lm.model.modules() if "Linear" in
                                            type(m).__name__}))
        results[lm.quantization] = lm.footprint_bytes
    if "4bit" in results and "bf16" in results:
        print(f"memory_4bit_vs_bf16: {results['4bit'] / results['bf16']:.3f} "
              f"(ours {results['4bit'] / 2**30:.2f} GiB vs baseline {results['bf16'] / 2**30:.2f} GiB)")
    # streaming vs raw generate on the GPU (bf16)
    lm, *_ = load_causal_lm(ref, "bf16")
    text = lm.tokenizer.apply_chat_template(MESSAGES, tokenize=False, add_generation_prompt=True)
    ids = lm.tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"].to("cuda")
    raw, ours = [], []
    for _ in range(3):
        torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.inference_mode():
            out = lm.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=128,
                                    do_sample=False, temperature=None, top_p=None, top_k=None)
        raw.append((out.shape[1] - ids.shape[1]) / (time.perf_counter() - start))
        start = time.perf_counter()
        stats = None
        for chunk in stream_chat(str(path), MESSAGES, max_new_tokens=128, quantization="bf16"):
            stats = chunk.stats or stats
        ours.append(stats.tokens / (time.perf_counter() - start))
    print(f"gpu_stream_tokens_per_s: {max(ours) / max(raw):.3f} (ours {max(ours):.1f} tok/s vs baseline "
          f"{max(raw):.1f} tok/s)")


def flux():
    import torch

    from engines import images

    tiny = ASSETS / "tiny-flux"
    a = images.generate_image("a lighthouse in a storm", model=str(tiny), seed=7, num_inference_steps=2, width=64,
                              height=64)
    b = images.generate_image("a lighthouse in a storm", model=str(tiny), seed=7, num_inference_steps=2, width=64,
                              height=64)
    print("tiny FLUX on", a.__dict__.get("device", "?"), "plan:", getattr(a, "plan", None), "seconds", a.seconds)
    print("same seed identical on CUDA:", list(a.image.getdata()) == list(b.image.getdata()))
    gpu = torch.cuda.get_device_properties(0).total_memory
    flux_b = {"transformer": 11.9, "text_encoder_2": 4.76, "text_encoder": 0.12, "vae": 0.08}
    for gib in (gpu / 2**30, 24, 16, 8):
        plan = images.plan_load("cuda", flux_b, gpu_bytes=int(gib * 2**30), flux=True)
        print(f"FLUX.1-schnell plan on {gib:.0f} GiB: {plan.label} — {plan.reason}")
    # the 4-bit path of the transformer + T5 through diffusers' quantization config, for real on CUDA
    from engines.refs import parse_ref

    ref = parse_ref(str(tiny))
    plan = images.LoadPlan("cuda", "bf16", ("transformer", "text_encoder_2"))
    loaded, _, seconds = images.load_pipeline(ref, plan, True)
    kinds = sorted({type(m).__name__ for m in loaded.pipe.transformer.modules() if "Linear" in type(m).__name__})
    kwargs = images.call_kwargs(loaded, ref, "a lighthouse", 2, 64, 64)
    image = loaded.pipe(**kwargs, generator=torch.Generator("cuda").manual_seed(1)).images[0]
    print(f"4-bit FLUX transformer loaded in {seconds:.1f} s, layer types {kinds}, image {image.size}")
    offload = images.LoadPlan("cuda", "bf16", (), "model")
    loaded, _, _ = images.load_pipeline(ref, offload, True)
    image = loaded.pipe(**kwargs, generator=torch.Generator("cpu").manual_seed(1)).images[0]
    print("model CPU offload ran:", image.size)


def whisper():
    import numpy as np
    import torch

    from engines import speech

    speech_clip = np.load(ASSETS / "speech.npy").astype("float32")
    audio = np.concatenate([speech_clip] * max(1, int(300 * 16000 / len(speech_clip))))[: 300 * 16000]
    plan = speech.plan_backend(str(ASSETS / "tiny-whisper"))
    loaded, _, seconds = speech.load_asr(plan)
    print(f"whisper loaded on {loaded.device} in {seconds:.1f} s, dtype {loaded.runner.model.dtype}")
    timings = {}
    for batch in (16, 1):
        torch.cuda.synchronize()
        start = time.perf_counter()
        segments = []
        for _offset, block in speech.split_blocks(audio, speech.WINDOW_S * batch):
            segments += speech.run_hf_block(block, batch, loaded.runner, "en")
        torch.cuda.synchronize()
        timings[batch] = time.perf_counter() - start
        print(f"batch {batch}: {len(segments)} segments for {len(audio) / 16000:.0f} s of audio in "
              f"{timings[batch]:.2f} s")
    print(f"whisper_batched_speedup: {timings[1] / timings[16]:.2f} (ours {timings[16]:.2f} s batched vs "
          f"baseline {timings[1]:.2f} s unbatched)")


if __name__ == "__main__":
    for fn in (env, llm_4bit, flux, whisper):
        section(fn)
