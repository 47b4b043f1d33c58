"""Tiny random models built offline from configs (tokenizers with chat templates, 7 causal LM families).

Built once and cached on disk under ``$WORKBENCH_TEST_MODELS`` (default ``~/.cache/llm-workbench/tiny``), in a
folder keyed by a hash of this file, so a change to a builder rebuilds everything. Tiny models write gibberish:
tests assert on shapes, types, streaming and errors, never on prose.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

_TEXT = """
The quick brown fox jumps over the lazy dog. Hello world! How are you today?
I love this movie, it was wonderful and great. I hate this film, it was terrible and bad.
Paris is the capital of France. Berlin is the capital of Germany. John Smith works at Acme Corp in London.
The user asked the assistant a question and the assistant answered politely.
def fib(n): return n if n < 2 else fib(n - 1) + fib(n - 2)  # code, too: for i in range(10): print(i)
Numbers 0 1 2 3 4 5 6 7 8 9 10 100 1000 and punctuation , . ; : ! ? ' " ( ) [ ] { } < > / \\ | - _ = + * & ^ %
$ # @ ~ `
"""

LLAMA3_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim "
    "+ '<|eot_id|>' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
GEMMA_TEMPLATE = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}{% for message in messages %}{% set role = 'model' if message['role'] == 'assistant' "
    "else message['role'] %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)
LLAMA_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
                  "<|pad|>", "<unk>"]
GEMMA_SPECIALS = ["<bos>", "<eos>", "<pad>", "<unk>", "<start_of_turn>", "<end_of_turn>"]

CAUSAL_ARCHS = {
    "llama": ("LlamaConfig", "LlamaForCausalLM", {}),
    "phi3": ("Phi3Config", "Phi3ForCausalLM", {}),
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM", {}),
    "gemma": ("GemmaConfig", "GemmaForCausalLM", {"head_dim": 16}),
    "gemma2": ("Gemma2Config", "Gemma2ForCausalLM", {"head_dim": 16, "sliding_window": 64}),
    "starcoder2": ("Starcoder2Config", "Starcoder2ForCausalLM", {}),
    "mixtral": ("MixtralConfig", "MixtralForCausalLM", {"num_local_experts": 4, "num_experts_per_tok": 2}),
}
GEMMA_STYLE = {"gemma", "gemma2"}

# Catalog ids a test models directory maps to tiny models (WORKBENCH_MODELS_DIR layout: <dir>/<org>/<name>).
CATALOG_STANDINS = {
    "meta-llama/Llama-3.1-8B-Instruct": "lm-llama",
    "microsoft/Phi-3-mini-4k-instruct": "lm-phi3",
    "Qwen/Qwen2-7B-Instruct": "lm-qwen2",
    "Qwen/Qwen2.5-0.5B-Instruct": "lm-qwen2",
    "google/gemma-2-2b-it": "lm-gemma2",
    "bigcode/starcoder2-3b": "lm-starcoder2",
    "mistralai/Mixtral-8x7B-Instruct-v0.1": "lm-mixtral",
    "mistralai/Mistral-7B-Instruct-v0.3": "lm-llama",
    "openai-community/gpt2": "tok-bert",
}


def _corpus() -> list[str]:
    import json
    import re
    import textwrap

    return [_TEXT] * 20 + [m.__doc__ or "" for m in (json, re, textwrap)]


def _bpe(specials: list[str], vocab_size: int = 1000):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(_corpus(), trainer=trainer)
    return tok


def build_llama_tokenizer(out: Path):
    """Llama-3-style byte-level BPE with special tokens, BOS added on encode, and a chat template."""
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    tok = _bpe(LLAMA_SPECIALS)
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.TemplateProcessing(single="<|begin_of_text|> $A",
                                                       pair="<|begin_of_text|> $A <|begin_of_text|> $B",
                                                       special_tokens=[("<|begin_of_text|>", bos)])
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>",
                                 pad_token="<|pad|>", unk_token="<unk>", model_max_length=256,
                                 additional_special_tokens=["<|end_of_text|>", "<|start_header_id|>",
                                                            "<|end_header_id|>"])
    hf.chat_template = LLAMA3_TEMPLATE
    hf.save_pretrained(out)
    return hf


def build_gemma_tokenizer(out: Path):
    """Gemma-style tokenizer whose chat template rejects a system role."""
    from tokenizers import processors
    from transformers import PreTrainedTokenizerFast

    tok = _bpe(GEMMA_SPECIALS)
    bos = tok.token_to_id("<bos>")
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A", pair="<bos> $A <bos> $B",
                                                       special_tokens=[("<bos>", bos)])
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<end_of_turn>",
                                 pad_token="<pad>", unk_token="<unk>", model_max_length=256,
                                 additional_special_tokens=["<eos>", "<start_of_turn>"])
    hf.chat_template = GEMMA_TEMPLATE
    hf.save_pretrained(out)
    return hf


def build_bert_tokenizer(out: Path):
    """WordPiece tokenizer without a chat template (a base-model tokenizer)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(_corpus(), trainers.WordPieceTrainer(vocab_size=600, special_tokens=specials,
                                                                  show_progress=False))
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                       special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    hf = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", sep_token="[SEP]", pad_token="[PAD]",
                                 cls_token="[CLS]", mask_token="[MASK]", model_max_length=512)
    hf.save_pretrained(out)
    return hf


def build_causal_lm(arch: str, out: Path, tokenizer_dir: Path) -> None:
    """A random-weight causal LM of one family, saved with its tokenizer and a generation config."""
    import torch
    import transformers
    from transformers import AutoTokenizer, GenerationConfig

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    cfg_name, model_name, extra = CAUSAL_ARCHS[arch]
    base = dict(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
                tie_word_embeddings=True)
    model = getattr(transformers, model_name)(getattr(transformers, cfg_name)(**{**base, **extra}))
    model.generation_config = GenerationConfig(bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                               pad_token_id=tok.pad_token_id)
    model.save_pretrained(out)
    tok.save_pretrained(out)


def _fingerprint() -> str:
    import tokenizers
    import transformers

    src = Path(__file__).read_bytes() + f"{transformers.__version__}/{tokenizers.__version__}".encode()
    return hashlib.sha256(src).hexdigest()[:12]


def cache_root() -> Path:
    """Where built models live (one folder per builder hash)."""
    base = Path(os.environ.get("WORKBENCH_TEST_MODELS") or Path.home() / ".cache" / "llm-workbench" / "tiny")
    return base / _fingerprint()


def _build_once(root: Path, name: str, build) -> Path:
    final = root / name
    if (final / ".complete").exists():
        return final
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    build(tmp)
    (tmp / ".complete").write_text("ok")
    try:
        tmp.rename(final)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def build_all() -> dict[str, Path]:
    """Build (or reuse) every tiny model. Returns name → folder."""
    root = cache_root()
    paths = {
        "tok-llama": _build_once(root, "tok-llama", build_llama_tokenizer),
        "tok-gemma": _build_once(root, "tok-gemma", build_gemma_tokenizer),
        "tok-bert": _build_once(root, "tok-bert", build_bert_tokenizer),
    }
    for arch in CAUSAL_ARCHS:
        tok_dir = paths["tok-gemma" if arch in GEMMA_STYLE else "tok-llama"]
        paths[f"lm-{arch}"] = _build_once(root, f"lm-{arch}",
                                          lambda out, a=arch, t=tok_dir: build_causal_lm(a, out, t))
    return paths


def build_models_dir(paths: dict[str, Path], target: Path, standins: dict[str, str] = CATALOG_STANDINS) -> Path:
    """A WORKBENCH_MODELS_DIR whose catalog ids point at tiny models (symlinks; an existing link is kept).

    Args:
        paths: name → folder of built tiny models.
        target: the models directory.
        standins: catalog id → name in ``paths``.
    """
    for hub_id, name in standins.items():
        link = target / hub_id
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists() and not link.is_symlink():
            try:
                link.symlink_to(paths[name], target_is_directory=True)
            except FileExistsError:  # linked meanwhile by another fixture
                pass
    return target


if __name__ == "__main__":
    for key, value in build_all().items():
        print(f"{key}: {value}")
