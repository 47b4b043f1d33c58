"""Fixture builders for the Minutes tab: a tiny random Whisper (transformers), the same weights converted to
CTranslate2 for faster-whisper, and short speech made by espeak-ng. Built offline, cached on disk like
tiny_models.py (folder keyed by a hash of this file). Tiny Whisper writes gibberish: assert shapes, not prose.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import tiny_models  # noqa: F401  (offline environment before transformers is imported)


def _fingerprint() -> str:
    import transformers

    src = Path(__file__).read_bytes() + transformers.__version__.encode()
    return hashlib.sha256(src).hexdigest()[:12]


def cache_root() -> Path:
    """Where the Minutes fixtures live (next to tiny_models' folder)."""
    return tiny_models.cache_root().parent / f"minutes-{_fingerprint()}"


def build_whisper_tokenizer():
    """GPT-2-style byte-level BPE plus Whisper's special and timestamp tokens, in Whisper's order."""
    from transformers import WhisperTokenizer
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    bpe = json.loads(tiny_models._bpe([], 1000).to_str())["model"]
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in bpe["merges"]]
    tok = WhisperTokenizer(vocab=bpe["vocab"], merges=merges, pad_token="<|endoftext|>")
    specials = (["<|startoftranscript|>"] + [f"<|{c}|>" for c in LANGUAGES]
                + ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>",
                   "<|notimestamps|>"])
    tok.add_special_tokens({"additional_special_tokens": specials})
    tok.add_tokens([f"<|{i * 0.02:.2f}|>" for i in range(1501)])
    tok.set_prefix_tokens()
    return tok


def build_whisper(out: Path, multilingual: bool = True) -> None:
    """A random-weight Whisper with a complete generation config (language, task, timestamps).

    ``multilingual=False`` builds an English-only one, configured as every ``*.en`` checkpoint is:
    ``is_multilingual: false`` and no language or task table (transformers then refuses ``task=``/``language=``).
    """
    import torch
    from transformers import (
        GenerationConfig,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
    )
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    torch.manual_seed(0)
    tok = build_whisper_tokenizer()
    WhisperProcessor(feature_extractor=WhisperFeatureExtractor(feature_size=80), tokenizer=tok).save_pretrained(out)
    tid = tok.convert_tokens_to_ids
    eot, sot = tid("<|endoftext|>"), tid("<|startoftranscript|>")
    cfg = WhisperConfig(vocab_size=len(tok), num_mel_bins=80, d_model=64, encoder_layers=1, decoder_layers=1,
                        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=128,
                        decoder_ffn_dim=128, max_source_positions=1500, max_target_positions=448,
                        pad_token_id=eot, bos_token_id=eot, eos_token_id=eot, decoder_start_token_id=sot)
    model = WhisperForConditionalGeneration(cfg)
    tables = {"lang_to_id": {f"<|{c}|>": tid(f"<|{c}|>") for c in LANGUAGES},
              "task_to_id": {"transcribe": tid("<|transcribe|>"), "translate": tid("<|translate|>")}}
    model.generation_config = GenerationConfig(
        decoder_start_token_id=sot, bos_token_id=eot, eos_token_id=eot, pad_token_id=eot, is_multilingual=multilingual,
        no_timestamps_token_id=tid("<|notimestamps|>"), prev_sot_token_id=tid("<|startofprev|>"),
        begin_suppress_tokens=[tid("Ġ"), eot], suppress_tokens=[], max_initial_timestamp_index=50,
        return_timestamps=False, alignment_heads=[[0, 0], [0, 1]], max_length=40,  # short gibberish: fast tests
        **(tables if multilingual else {}))
    model.save_pretrained(out)
    tok.save_pretrained(out)  # tokenizer.json too: faster-whisper reads it


def convert_ct2(whisper_dir: Path, out: Path) -> None:
    """The same weights converted with ctranslate2's converter (int8), plus the files faster-whisper reads."""
    exe = Path(sys.executable).with_name("ct2-transformers-converter")
    cmd = [str(exe) if exe.exists() else "ct2-transformers-converter", "--model", str(whisper_dir),
           "--output_dir", str(out), "--quantization", "int8", "--copy_files", "tokenizer.json", "--force"]
    subprocess.run(cmd, check=True, capture_output=True)
    proc_cfg = whisper_dir / "processor_config.json"
    pre = whisper_dir / "preprocessor_config.json"
    if pre.exists():
        shutil.copy(pre, out / "preprocessor_config.json")
    elif proc_cfg.exists():
        data = json.loads(proc_cfg.read_text())
        (out / "preprocessor_config.json").write_text(json.dumps(data.get("feature_extractor", data)))


def espeak(text: str, out: Path, voice: str = "en-us", speed: int = 190) -> Path:
    """Speech for ``text`` as 16 kHz mono 16-bit WAV (espeak-ng writes 22.05 kHz; sox resamples)."""
    raw = out.with_suffix(".22k.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)], check=True)
    raw.unlink()
    return out


def build_audio(out: Path) -> None:
    """short.wav (~3 s), stereo44k.mp3 (the same speech at 44.1 kHz stereo MP3), long.wav (~35 s)."""
    short = espeak("Hello everyone. Alice will send the report by Friday.", out / "short.wav")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(short), "-ar", "44100", "-ac", "2",
                    str(out / "stereo44k.mp3")], check=True)
    text = " ".join(f"Item {i}. Bob will review the budget and Carol will book the room." for i in range(10))
    espeak(text, out / "long.wav", speed=200)


def build_long_lm(src: Path, out: Path, positions: int = 1024) -> None:
    """The tiny Llama with a longer context window (rotary positions need no new weights)."""
    for f in src.iterdir():
        if f.is_file() and f.name != ".complete":
            shutil.copy(f, out / f.name)
    cfg = json.loads((out / "config.json").read_text())
    cfg["max_position_embeddings"] = positions
    (out / "config.json").write_text(json.dumps(cfg, indent=2))
    tok_cfg = json.loads((out / "tokenizer_config.json").read_text())
    tok_cfg["model_max_length"] = positions
    (out / "tokenizer_config.json").write_text(json.dumps(tok_cfg, indent=2))


LOOP_LINE = "- Bob will review the budget.\n"  # what lm-loop writes over and over


def build_loop_lm(src: Path, out: Path) -> None:
    """A scripted tiny Llama that repeats ``LOOP_LINE`` forever, whatever the prompt: the layers add nothing to the
    residual, each token of the line embeds as its own basis vector and the (untied) head maps it to the next token
    of the line; every other token maps to the line's first token. A model that loops, as small real ones do."""
    import torch
    from transformers import AutoConfig, AutoTokenizer, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(src)
    cycle = tok(LOOP_LINE, add_special_tokens=False)["input_ids"]
    assert len(set(cycle)) == len(cycle), "the loop line needs distinct tokens"
    cfg = AutoConfig.from_pretrained(src)
    cfg.tie_word_embeddings = False
    model = LlamaForCausalLM(cfg).eval()
    d, other = cfg.hidden_size, cfg.hidden_size - 1
    with torch.no_grad():
        for layer in model.model.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        emb, head = model.model.embed_tokens.weight, model.lm_head.weight
        emb.zero_()
        emb[:, other] = 1.0
        head.zero_()
        for i, token in enumerate(cycle):
            emb[token] = torch.nn.functional.one_hot(torch.tensor(i), d).float()
            head[cycle[(i + 1) % len(cycle)], i] = 10.0
        head[cycle[0], other] = 10.0
    model.save_pretrained(out)
    tok.save_pretrained(out)


def build_all() -> dict[str, Path]:
    """Build (or reuse) the Minutes fixtures. Returns name → path."""
    root = cache_root()
    whisper = tiny_models._build_once(root, "whisper-tiny", build_whisper)
    whisper_en = tiny_models._build_once(root, "whisper-tiny-en", lambda o: build_whisper(o, multilingual=False))
    lm = tiny_models.build_all()["lm-llama"]
    paths = {"whisper": whisper, "whisper-en": whisper_en,
             "audio": tiny_models._build_once(root, "audio", build_audio),
             "lm-long": tiny_models._build_once(root, "lm-llama-1k", lambda o: build_long_lm(lm, o))}
    paths["lm-loop"] = tiny_models._build_once(root, "lm-loop", lambda o: build_loop_lm(paths["lm-long"], o))
    try:
        import ctranslate2  # noqa: F401

        paths["whisper-ct2"] = tiny_models._build_once(root, "whisper-tiny-ct2", lambda o: convert_ct2(whisper, o))
    except ImportError:  # faster-whisper is optional: its tests skip
        pass
    return paths




SAMPLE_PATH = Path(__file__).resolve().parents[2] / "assets" / "minutes" / "sample_meeting.mp3"
SAMPLE_MEETING = (
    ("en-us+f3", "Good morning everyone. This is the weekly product meeting, on Monday the third of March, in the "
                 "Lisbon office. Alice, Bob and Carol are here."),
    ("en-gb", "The beta release is almost ready. Two bugs remain on the login page. I will fix them by Wednesday."),
    ("en-us+f4", "Customers keep asking for a spreadsheet export. I suggest a CSV download in the next sprint."),
    ("en-us+f3", "Agreed. Carol, please write the specification by Friday. Bob, after the fixes, update the "
                 "release notes."),
    ("en-gb", "Will do. Do we move the launch date?"),
    ("en-us+f3", "No. The launch stays on March the twentieth. Thank you all, the meeting is closed."),
)


def make_sample_meeting(out: Path) -> Path:
    """The bundled sample recording (assets/minutes/sample_meeting.mp3): a short synthetic meeting, three voices,
    mono 16 kHz MP3 at 32 kb/s. Run ``python tests/support/tiny_minutes.py --sample`` to remake it."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        parts = []
        for i, (voice, text) in enumerate(SAMPLE_MEETING):
            wav = espeak(text, Path(tmp) / f"{i}.wav", voice=voice, speed=165)
            padded = Path(tmp) / f"{i}p.wav"
            subprocess.run(["sox", str(wav), str(padded), "pad", "0", "0.6"], check=True)
            parts.append(str(padded))
        joined = Path(tmp) / "meeting.wav"
        subprocess.run(["sox", *parts, str(joined)], check=True)
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(joined), "-ac", "1", "-ar", "16000", "-b:a", "32k",
                        "-metadata", "title=LLM Workbench sample meeting (synthetic)", str(out)], check=True)
    return out


if __name__ == "__main__":
    if "--sample" in sys.argv:
        print(make_sample_meeting(SAMPLE_PATH))
    else:
        for key, value in build_all().items():
            print(f"{key}: {value}")


# ------------------------------------------------------------------------------------- pytest fixtures
# Import it into a test module (``from tiny_minutes import minutes_fx``) to use it. Nothing is linked into
# the shared models dir: other tabs' tests rely on which catalog ids are (not) on disk.

try:
    import pytest
except ImportError:  # the builders above work without pytest
    pytest = None

if pytest is not None:

    @pytest.fixture(scope="session")
    def minutes_fx() -> dict[str, Path]:
        """name → path: whisper, whisper-en (English-only), whisper-ct2 (when ctranslate2 is installed), lm-long,
        audio (folder)."""
        return build_all()


# Well-formed minutes, as a scripted model writes them (engine and tab tests).
MINUTES_MD = """## Summary
**Attendees:** Alice, Bob, Carol · **Date:** 3 March · **Location:** Lisbon

## Discussion points
- Beta release

## Takeaways
- Launch stays on 20 March

## Action items
| # | Action | Owner | Due | Source |
|---|--------|-------|-----|--------|
| 1 | Fix the two login bugs | Bob | Wednesday | [00:00:09] |
| 2 | Write the CSV export spec, "v1" | Carol | Friday | [00:00:21] |
"""
