"""Tiny random diffusers pipelines built offline: a FLUX pipeline (FLUX.1-schnell layout) and a Stable Diffusion one.

Both are built from configs (tokenizers learned from an in-file corpus, no Hub access), saved with
``save_pretrained`` and cached on disk under ``tiny_models.cache_root()``-style folders keyed by a hash of this
file, so a change to a builder rebuilds them. Other tests import ``build_tiny_flux()`` / ``build_tiny_sd()``.
Recipe: ../shared/recipes/tiny-flux/tiny_flux.py (configs modelled on diffusers' own FLUX test components).
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import re
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import tiny_models  # noqa: E402  (same cache layout and build-once helper)

CORPUS = [
    "a painting of a squirrel eating a burger",
    "a photo of a cat sitting on a red chair",
    "an astronaut riding a horse on the moon",
    "a watercolor landscape with mountains and a lake at sunset",
    "a close up portrait of an old man with a beard",
    "a futuristic city skyline at night with neon lights",
    "a bowl of fruit on a wooden table, still life",
    "a small robot reading a book in a library",
    "the quick brown fox jumps over the lazy dog",
    "green trees, blue sky, white clouds, yellow flowers",
    "pixel art of a castle surrounded by water",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz 0123456789 .,;:!?'\"-()[]/&%+=*#@",
]
# Catalog ids a models directory maps to these pipelines (WORKBENCH_MODELS_DIR layout).
IMAGE_STANDINS = {"black-forest-labs/FLUX.1-schnell": "flux", "stabilityai/sd-turbo": "sd"}


def _bytes_to_unicode() -> dict[int, str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs), strict=True))


def _clip_tokenizer_files(dst: Path, num_merges: int = 300) -> Path:
    """CLIP-style byte-level BPE (vocab.json + merges.txt) learned deterministically (lexicographic tie-break)."""
    b2u = _bytes_to_unicode()
    words: collections.Counter = collections.Counter()
    for line in CORPUS:
        for w in re.findall(r"'s|'t|'re|'ve|'m|'ll|'d|[a-z]+|[0-9]|[^\sa-z0-9]+", line.lower()):
            sym = [b2u[b] for b in w.encode("utf-8")]
            sym[-1] += "</w>"
            words[tuple(sym)] += 1
    merges = []
    for _ in range(num_merges):
        pairs: collections.Counter = collections.Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:], strict=False):
                pairs[(a, b)] += c
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        merges.append(best)
        merged: collections.Counter = collections.Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and (w[i], w[i + 1]) == best:
                    out.append(w[i] + w[i + 1])
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            merged[tuple(out)] += c
        words = merged
    base = list(b2u.values())
    vocab: dict[str, int] = {}
    for t in base + [c + "</w>" for c in base] + ["".join(m) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]:
        vocab.setdefault(t, len(vocab))
    dst.mkdir(parents=True, exist_ok=True)
    (dst / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False))
    (dst / "merges.txt").write_text("#version: 0.2\n" + "\n".join(f"{a} {b}" for a, b in merges) + "\n")
    return dst


def _t5_tokenizer(dst: Path):
    """T5-style unigram sentencepiece tokenizer (pad=0, </s>=1, <unk>=2)."""
    import sentencepiece as spm
    from transformers import T5TokenizerFast

    dst.mkdir(parents=True, exist_ok=True)
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS * 5), model_prefix=str(dst / "spiece"), vocab_size=200, model_type="unigram",
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>",
        hard_vocab_limit=False, character_coverage=1.0, num_threads=1, minloglevel=2)
    return T5TokenizerFast.from_pretrained(str(dst), model_max_length=512)


def _clip_text_encoder(tokenizer):
    import torch
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    return CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, hidden_size=32, intermediate_size=37, num_attention_heads=4,
        num_hidden_layers=2, hidden_act="gelu", projection_dim=32, max_position_embeddings=77))


def _vae(sample_size: int = 64):
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(0)
    # 2 levels -> vae_scale_factor 2 (real FLUX/SD: 8), so a 64x64 image is a 32x32 latent
    return AutoencoderKL(sample_size=sample_size, in_channels=3, out_channels=3,
                         down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
                         up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), block_out_channels=(8, 16),
                         layers_per_block=1, latent_channels=4, norm_num_groups=4, use_quant_conv=False,
                         use_post_quant_conv=False, shift_factor=0.0609, scaling_factor=1.5035)


def build_flux_pipeline(out: Path) -> None:
    """Save a tiny random FluxPipeline (schnell-like: no guidance embedding, dynamic shifting) to ``out``."""
    import tempfile

    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTokenizer, T5Config, T5EncoderModel

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = CLIPTokenizer.from_pretrained(str(_clip_tokenizer_files(Path(tmp) / "clip")), model_max_length=77)
        tokenizer_2 = _t5_tokenizer(Path(tmp) / "t5")
    torch.manual_seed(0)
    transformer = FluxTransformer2DModel(
        patch_size=1, in_channels=16, out_channels=None, num_layers=1, num_single_layers=1, attention_head_dim=16,
        num_attention_heads=2, joint_attention_dim=32, pooled_projection_dim=32, guidance_embeds=False,
        axes_dims_rope=[4, 4, 8])
    torch.manual_seed(0)
    text_encoder_2 = T5EncoderModel(T5Config(
        vocab_size=len(tokenizer_2), d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
        relative_attention_num_buckets=8, dropout_rate=0.0, feed_forward_proj="gated-gelu", is_encoder_decoder=True,
        pad_token_id=tokenizer_2.pad_token_id, eos_token_id=tokenizer_2.eos_token_id, decoder_start_token_id=0))
    scheduler = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0, use_dynamic_shifting=True,
                                                base_shift=0.5, max_shift=1.15, base_image_seq_len=256,
                                                max_image_seq_len=4096)
    pipe = FluxPipeline(scheduler=scheduler, text_encoder=_clip_text_encoder(tokenizer), tokenizer=tokenizer,
                        text_encoder_2=text_encoder_2, tokenizer_2=tokenizer_2, transformer=transformer, vae=_vae(),
                        image_encoder=None, feature_extractor=None)
    pipe.save_pretrained(str(out))


def build_sd_pipeline(out: Path) -> None:
    """Save a tiny random StableDiffusionPipeline (SD-Turbo-like Euler scheduler, no safety checker) to ``out``."""
    import tempfile

    import torch
    from diffusers import EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTokenizer

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer = CLIPTokenizer.from_pretrained(str(_clip_tokenizer_files(Path(tmp) / "clip")), model_max_length=77)
    torch.manual_seed(0)
    unet = UNet2DConditionModel(block_out_channels=(8, 16), layers_per_block=1, sample_size=32, in_channels=4,
                                out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
                                norm_num_groups=4, attention_head_dim=4)
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       timestep_spacing="trailing", prediction_type="v_prediction", steps_offset=1)
    pipe = StableDiffusionPipeline(vae=_vae(), text_encoder=_clip_text_encoder(tokenizer), tokenizer=tokenizer,
                                   unet=unet, scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                   requires_safety_checker=False)
    pipe.save_pretrained(str(out))


def _fingerprint() -> str:
    import diffusers
    import transformers

    src = Path(__file__).read_bytes() + f"{diffusers.__version__}/{transformers.__version__}".encode()
    return hashlib.sha256(src).hexdigest()[:12]


def cache_root() -> Path:
    """Where the pipelines live (one folder per builder hash), next to tiny_models' folders."""
    return tiny_models.cache_root().parent / f"images-{_fingerprint()}"


def build_tiny_flux() -> Path:
    """Build (or reuse) the tiny FLUX pipeline; returns its folder (loadable with ``FluxPipeline.from_pretrained``)."""
    return tiny_models._build_once(cache_root(), "tiny-flux", build_flux_pipeline)


def build_tiny_sd() -> Path:
    """Build (or reuse) the tiny Stable Diffusion pipeline; returns its folder."""
    return tiny_models._build_once(cache_root(), "tiny-sd", build_sd_pipeline)


def link_into_models_dir(models_dir: Path) -> Path:
    """Make the catalog's image ids resolve to the tiny pipelines inside a WORKBENCH_MODELS_DIR (symlinks).

    Args:
        models_dir: the models directory (e.g. the ``models_dir`` fixture).

    Returns:
        ``models_dir``.
    """
    built = {"flux": build_tiny_flux(), "sd": build_tiny_sd()}
    return tiny_models.build_models_dir(built, models_dir, IMAGE_STANDINS)


if __name__ == "__main__":
    print(build_tiny_flux())
    print(build_tiny_sd())
