"""Bench: transcribe()'s real-time factor vs calling faster-whisper directly and vs the plain transformers
pipeline, on the same audio and the same weights (the tiny offline Whisper of the tests and its CTranslate2
conversion; pass --whisper DIR --ct2 DIR to use real checkpoints). Runs interleaved; medians reported.

    python bench/bench_minutes.py [--repeat 5] [--minutes 2]

Prints ``name: ratio (ours … s vs baseline … s)``; ratio = baseline time / our time (≥ 0.95: at most 5% slower).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "support")]

import tiny_minutes  # noqa: E402  (offline environment first)

from engines import audio as audio_io  # noqa: E402
from engines import speech  # noqa: E402


def make_audio(minutes: float, folder: Path) -> Path:
    """The bundled sample meeting repeated to about ``minutes`` minutes (16 kHz mono WAV)."""
    sample = tiny_minutes.SAMPLE_PATH
    copies = max(1, round(minutes * 60 / 41))
    out = folder / "bench.wav"
    inputs = []
    for _ in range(copies):
        inputs += ["-i", str(sample)]
    graph = "".join(f"[{i}:a]" for i in range(copies)) + f"concat=n={copies}:v=0:a=1[a]"
    subprocess.run(["ffmpeg", "-v", "error", "-y", *inputs, "-filter_complex", graph, "-map", "[a]", "-ac", "1",
                    "-ar", "16000", str(out)], check=True)
    return out


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bench_ct2(ct2_dir: Path, audio: Path, repeat: int) -> tuple[float, float]:
    import ctranslate2
    from faster_whisper import WhisperModel
    from faster_whisper.audio import decode_audio

    # the engine's settings: int8, one thread per core, greedy, no VAD. A random-weight model triggers Whisper's
    # temperature fallback (sampling), so both sides get the same seed and the same samples: the same work.
    direct = WhisperModel(str(ct2_dir), device="cpu", compute_type="int8", cpu_threads=os.cpu_count() or 0)
    samples = audio_io.load_audio(audio)  # the engine's decoder (engines.audio), outside the timings

    def baseline():
        decode_audio(str(audio))  # what a direct caller pays to read the file (PyAV)
        ctranslate2.set_random_seed(0)
        segments, _ = direct.transcribe(samples, beam_size=1, vad_filter=False)
        list(segments)

    def ours():
        ctranslate2.set_random_seed(0)
        speech.transcribe(audio, model=str(ct2_dir))

    ours()  # load both once, outside the timings
    baseline()
    pairs = [(timed(ours), timed(baseline)) for _ in range(repeat)]
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def bench_transformers(whisper_dir: Path, audio: Path, repeat: int) -> tuple[float, float]:
    from transformers import pipeline

    asr = pipeline("automatic-speech-recognition", model=str(whisper_dir), device="cpu")

    def baseline():
        asr(str(audio), chunk_length_s=30, batch_size=1, return_timestamps=True, ignore_warning=True,
            generate_kwargs={"task": "transcribe", "num_beams": 1})

    def ours():
        speech.transcribe(audio, model=str(whisper_dir))

    ours()
    baseline()
    pairs = [(timed(ours), timed(baseline)) for _ in range(repeat)]
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--minutes", type=float, default=2.0, help="length of the bench audio")
    parser.add_argument("--whisper", type=Path, help="a transformers Whisper folder (default: the tiny one)")
    parser.add_argument("--ct2", type=Path, help="its CTranslate2 conversion (default: the tiny one)")
    args = parser.parse_args()
    fx = tiny_minutes.build_all()
    whisper, ct2 = args.whisper or fx["whisper"], args.ct2 or fx.get("whisper-ct2")
    with tempfile.TemporaryDirectory() as tmp:
        audio = make_audio(args.minutes, Path(tmp))
        with wave.open(str(audio)) as w:
            seconds = w.getnframes() / w.getframerate()
        print(f"audio: {seconds:.1f} s; weights: {whisper.name} / {ct2.name if ct2 else '-'}")
        if ct2 is not None:
            ours, base = bench_ct2(ct2, audio, args.repeat)
            print(f"transcribe_vs_faster_whisper: {base / ours:.2f} (ours {ours:.3f} s vs baseline {base:.3f} s; "
                  f"RTF ×{seconds / ours:.1f} vs ×{seconds / base:.1f})")
        else:
            print("transcribe_vs_faster_whisper: skipped (faster-whisper not installed)")
        ours, base = bench_transformers(whisper, audio, args.repeat)
        print(f"transcribe_vs_transformers_pipeline: {base / ours:.2f} (ours {ours:.3f} s vs baseline {base:.3f} s; "
              f"RTF ×{seconds / ours:.1f} vs ×{seconds / base:.1f})")


if __name__ == "__main__":
    main()
