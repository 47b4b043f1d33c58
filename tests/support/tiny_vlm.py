"""A tiny random image-text-to-text model (LLaVA: a 2-layer CLIP vision tower + a 2-layer Llama), built offline.

The Llama-3-style tokenizer of ``tiny_models`` gets an ``<image>`` token, and the processor a chat template that
takes content lists (``{"type": "image"}`` parts become ``<image>``, which the processor expands to one token per
image patch). A 32×32 CLIP image processor with 8-pixel patches: 16 image tokens per image. Cached on disk next to
the other tiny models, keyed by a hash of this file and of ``tiny_models``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import tiny_models

VLM_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' }}"
    "{% if message['content'] is string %}{{ message['content'] | trim }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}{{ '<image>' }}"
    "{% elif part['type'] == 'text' %}{{ part['text'] | trim }}{% endif %}{% endfor %}{% endif %}"
    "{{ '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
IMAGE_TOKENS = 16  # (32 / 8) ** 2 patches, the CLS feature dropped ("default" strategy)


def build_llava(out: Path, tokenizer_dir: Path) -> None:
    """A random-weight LlavaForConditionalGeneration saved with its LlavaProcessor."""
    import torch
    from transformers import (
        AutoTokenizer,
        CLIPImageProcessor,
        CLIPVisionConfig,
        GenerationConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
    )

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    tok.add_tokens(["<image>"], special_tokens=True)
    image_id = tok.convert_tokens_to_ids("<image>")
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                              image_size=32, patch_size=8, projection_dim=32)
    text = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                       bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                       tie_word_embeddings=True)
    config = LlavaConfig(vision_config=vision, text_config=text, image_token_index=image_id,
                         projector_hidden_act="gelu", vision_feature_layer=-1,
                         vision_feature_select_strategy="default")
    model = LlavaForConditionalGeneration(config)
    model.generation_config = GenerationConfig(bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                               pad_token_id=tok.pad_token_id)
    images = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = LlavaProcessor(image_processor=images, tokenizer=tok, patch_size=8, image_token="<image>",
                               vision_feature_select_strategy="default", num_additional_image_tokens=1,
                               chat_template=VLM_TEMPLATE)
    model.save_pretrained(out)
    processor.save_pretrained(out)


def build_tiny_vlm() -> Path:
    """Build (or reuse) the tiny LLaVA; returns its folder."""
    paths = tiny_models.build_all()
    digest = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:8]
    return tiny_models._build_once(tiny_models.cache_root(), f"vlm-llava-{digest}",
                                   lambda out: build_llava(out, paths["tok-llama"]))
