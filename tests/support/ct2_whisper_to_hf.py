"""Convert a CTranslate2 / faster-whisper Whisper model dir (model.bin, config.json, tokenizer.json)
back into a Hugging Face transformers Whisper dir (WhisperForConditionalGeneration + processor),
fully offline.  This is the inverse of ctranslate2.converters.TransformersConverter's WhisperLoader:

  ct2 self_attention.linear_0 = cat(q, k, v)   -> q_proj, k_proj (no bias), v_proj
  ct2 attention.linear_0 / linear_1 = q / cat(k, v) (cross-attention) -> encoder_attn.*
  ct2 *.layer_norm gamma/beta -> weight/bias, ffn.linear_0/1 -> fc1/fc2, projection tied to embeddings

Usage:
  python ct2_whisper_to_hf.py CT2_DIR OUT_DIR [--dtype float32|float16]
Needs: numpy, torch, transformers (>=4.40; tested 5.24.0), safetensors. No ctranslate2 needed.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from ct2_reader import read_ct2  # noqa: E402


def _n_layers(v, side):
    import re
    return len({k.split("/")[1] for k in v if re.match(rf"{side}/layer_\d+/", k)})


def convert(ct2_dir, out_dir, dtype="float32"):
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )

    ct2_dir, out_dir = Path(ct2_dir), Path(out_dir)
    m = read_ct2(ct2_dir / "model.bin")
    assert m["spec"] == "WhisperSpec", m["spec"]
    V = m["variables"]
    for alias, target in m["aliases"].items():
        V[alias] = V[target]
    cfg_ct2 = json.loads((ct2_dir / "config.json").read_text())
    tok_json = json.loads((ct2_dir / "tokenizer.json").read_text())
    special = {t["content"]: t["id"] for t in tok_json["added_tokens"]}

    vocab_size, d_model = V["decoder/embeddings/weight"].shape
    enc_layers, dec_layers = _n_layers(V, "encoder"), _n_layers(V, "decoder")
    enc_heads, dec_heads = int(V["encoder/num_heads"][0]), int(V["decoder/num_heads"][0])
    ffn = V["encoder/layer_0/ffn/linear_0/weight"].shape[0]
    n_mels = V["encoder/conv1/weight"].shape[1]
    eot = special["<|endoftext|>"]
    sot = special["<|startoftranscript|>"]
    notimestamps = special["<|notimestamps|>"]
    multilingual = vocab_size >= 51865

    config = WhisperConfig(
        vocab_size=vocab_size, num_mel_bins=n_mels, d_model=d_model,
        encoder_layers=enc_layers, decoder_layers=dec_layers,
        encoder_attention_heads=enc_heads, decoder_attention_heads=dec_heads,
        encoder_ffn_dim=ffn, decoder_ffn_dim=V["decoder/layer_0/ffn/linear_0/weight"].shape[0],
        max_source_positions=V["encoder/position_encodings/encodings"].shape[0],
        max_target_positions=V["decoder/position_encodings/encodings"].shape[0],
        pad_token_id=eot, bos_token_id=eot, eos_token_id=eot, decoder_start_token_id=sot,
        tie_word_embeddings=True, scale_embedding=False, activation_function="gelu",
    )

    sd = {}

    def put(name, arr):
        sd[name] = torch.from_numpy(np.ascontiguousarray(arr).astype(np.float32))

    def ln(dst, src):
        put(f"{dst}.weight", V[f"{src}/gamma"])
        put(f"{dst}.bias", V[f"{src}/beta"])

    def lin(dst, src, bias=True):
        put(f"{dst}.weight", V[f"{src}/weight"])
        if bias:
            put(f"{dst}.bias", V[f"{src}/bias"])

    def self_attn(dst, src):
        w, b = V[f"{src}/linear_0/weight"], V[f"{src}/linear_0/bias"]
        q, k, v = np.split(w, 3, axis=0)
        qb, _kb, vb = np.split(b, 3)  # k_proj has no bias in Whisper (ct2 stores zeros)
        put(f"{dst}.q_proj.weight", q)
        put(f"{dst}.q_proj.bias", qb)
        put(f"{dst}.k_proj.weight", k)
        put(f"{dst}.v_proj.weight", v)
        put(f"{dst}.v_proj.bias", vb)
        lin(f"{dst}.out_proj", f"{src}/linear_1")

    def cross_attn(dst, src):
        lin(f"{dst}.q_proj", f"{src}/linear_0")
        w, b = V[f"{src}/linear_1/weight"], V[f"{src}/linear_1/bias"]
        k, v = np.split(w, 2, axis=0)
        _kb, vb = np.split(b, 2)
        put(f"{dst}.k_proj.weight", k)
        put(f"{dst}.v_proj.weight", v)
        put(f"{dst}.v_proj.bias", vb)
        lin(f"{dst}.out_proj", f"{src}/linear_2")

    e, d = "model.encoder", "model.decoder"
    lin(f"{e}.conv1", "encoder/conv1")
    lin(f"{e}.conv2", "encoder/conv2")
    put(f"{e}.embed_positions.weight", V["encoder/position_encodings/encodings"])
    ln(f"{e}.layer_norm", "encoder/layer_norm")
    for i in range(enc_layers):
        s, t = f"encoder/layer_{i}", f"{e}.layers.{i}"
        self_attn(f"{t}.self_attn", f"{s}/self_attention")
        ln(f"{t}.self_attn_layer_norm", f"{s}/self_attention/layer_norm")
        lin(f"{t}.fc1", f"{s}/ffn/linear_0")
        lin(f"{t}.fc2", f"{s}/ffn/linear_1")
        ln(f"{t}.final_layer_norm", f"{s}/ffn/layer_norm")
    put(f"{d}.embed_tokens.weight", V["decoder/embeddings/weight"])
    put(f"{d}.embed_positions.weight", V["decoder/position_encodings/encodings"])
    ln(f"{d}.layer_norm", "decoder/layer_norm")
    for i in range(dec_layers):
        s, t = f"decoder/layer_{i}", f"{d}.layers.{i}"
        self_attn(f"{t}.self_attn", f"{s}/self_attention")
        ln(f"{t}.self_attn_layer_norm", f"{s}/self_attention/layer_norm")
        cross_attn(f"{t}.encoder_attn", f"{s}/attention")
        ln(f"{t}.encoder_attn_layer_norm", f"{s}/attention/layer_norm")
        lin(f"{t}.fc1", f"{s}/ffn/linear_0")
        lin(f"{t}.fc2", f"{s}/ffn/linear_1")
        ln(f"{t}.final_layer_norm", f"{s}/ffn/layer_norm")

    model = WhisperForConditionalGeneration(config)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    # k_proj biases don't exist; proj_out is tied to embed_tokens
    missing = [k for k in missing if not k.endswith("proj_out.weight")]
    assert not missing and not unexpected, (missing, unexpected)
    model.tie_weights()
    model = model.to(getattr(torch, dtype)).eval()

    # generation config (what openai/whisper-* ship in generation_config.json)
    lang_to_id = {t: i for t, i in special.items()
                  if i in set(cfg_ct2.get("lang_ids", [])) and t.startswith("<|") and len(t) <= 9}
    gen = GenerationConfig(
        decoder_start_token_id=sot, bos_token_id=eot, eos_token_id=eot, pad_token_id=eot,
        max_length=config.max_target_positions, no_timestamps_token_id=notimestamps,
        suppress_tokens=cfg_ct2["suppress_ids"], begin_suppress_tokens=cfg_ct2["suppress_ids_begin"],
        alignment_heads=cfg_ct2.get("alignment_heads"), is_multilingual=multilingual,
        max_initial_timestamp_index=50, prev_sot_token_id=special.get("<|startofprev|>"),
        return_timestamps=False,
    )
    if multilingual:
        gen.lang_to_id = lang_to_id
        gen.task_to_id = {"transcribe": special["<|transcribe|>"], "translate": special["<|translate|>"]}
    # no forced_decoder_ids: transformers builds <|sot|><|lang|><|task|><|notimestamps|> itself
    model.generation_config = gen

    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)

    # tokenizer: the ct2 dir carries HF's tokenizer.json; add the 1501 timestamp tokens like
    # openai/whisper-* do, so len(tokenizer) == vocab_size
    tmp = out_dir / "_tok"
    tmp.mkdir(exist_ok=True)
    (tmp / "tokenizer.json").write_text((ct2_dir / "tokenizer.json").read_text())
    (tmp / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "WhisperTokenizer", "model_max_length": 1024,
        "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>", "errors": "replace", "add_prefix_space": False}))
    tok = WhisperTokenizer.from_pretrained(str(tmp))
    n_ts = vocab_size - len(tok)
    if n_ts > 0:
        tok.add_tokens([f"<|{i * 0.02:.2f}|>" for i in range(n_ts)])
    fe = WhisperFeatureExtractor(feature_size=n_mels, sampling_rate=16000, hop_length=160,
                                 chunk_length=30, n_fft=400)
    WhisperProcessor(feature_extractor=fe, tokenizer=tok).save_pretrained(out_dir)
    for f in tmp.iterdir():
        f.unlink()
    tmp.rmdir()
    return config


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("ct2_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--dtype", default="float32")
    a = ap.parse_args()
    c = convert(a.ct2_dir, a.out_dir, a.dtype)
    print("converted:", c.d_model, c.encoder_layers, c.decoder_layers, c.vocab_size)
