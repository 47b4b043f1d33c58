"""Tiny models that cannot chat, laid out as real downloads are: a sentence embedder (``BertModel``) saved in a
folder called ``model`` with the ``_name_or_path`` its real config carries, and a tiny Whisper (the Minutes one).

Built offline once, cached next to the other tiny models (keyed by a hash of this file and the builders it uses).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import tiny_minutes
import tiny_models

EMBEDDER_NAME = "sentence-transformers/all-MiniLM-L6-v2"  # what the real checkpoint's config.json says


def _fingerprint() -> str:
    src = Path(__file__).read_bytes() + Path(tiny_models.__file__).read_bytes()
    return hashlib.sha256(src).hexdigest()[:12]


def build_embedder(out: Path) -> None:
    """A random BertModel (no LM head) with a WordPiece tokenizer, saved at ``out``."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    tok = tiny_models.build_bert_tokenizer(out)
    config = BertConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, pad_token_id=tok.pad_token_id)
    BertModel(config).save_pretrained(out)
    data = json.loads((out / "config.json").read_text())
    data["_name_or_path"] = EMBEDDER_NAME
    (out / "config.json").write_text(json.dumps(data, indent=2))


def build_all() -> dict[str, Path]:
    """name → folder: ``embedder`` (…/minilm/model) and ``whisper`` (a tiny multilingual Whisper)."""
    root = tiny_models.cache_root().parent / f"nonchat-{_fingerprint()}"
    holder = root / "minilm"
    embedder = tiny_models._build_once(holder, "model", build_embedder)
    return {"embedder": embedder, "whisper": tiny_minutes.build_all()["whisper"]}


# ---- pytest fixtures (import into a test module: ``from tiny_nonchat import nonchat``)

try:
    import pytest
except ImportError:  # the builders above work without pytest
    pytest = None

if pytest is not None:

    @pytest.fixture(scope="session")
    def nonchat() -> dict[str, Path]:
        """Folders of the tiny non-chat models (``embedder``, ``whisper``)."""
        return build_all()
