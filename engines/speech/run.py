"""``transcribe``: validate the reference, read the audio (engines.audio), run the plan, clean the segments."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engines import errors
from engines.audio import SAMPLE_RATE, AudioLimits, decode_audio, probe_audio
from engines.config import Settings
from engines.redact import redact
from engines.speech.backends import API_ASR, AsrPlan, check_language, load_asr, normalize_language, plan_backend
from engines.speech.local import run_ct2, run_transformers
from engines.speech.openai_api import run_openai
from engines.speech.transcript import Segment, Transcript

ProgressFn = Callable[[float, float], None]


def _clean(segments: list[Segment], total: float) -> list[Segment]:
    out = []
    for seg in sorted(segments, key=lambda s: s.start):
        text = " ".join(seg.text.split())
        if text:
            start = min(round(max(0.0, seg.start), 3), total)
            out.append(Segment(start, min(round(max(seg.end, start), 3), total), text))
    return out


@dataclass
class _Run:
    """What running a plan produced, before cleaning."""

    segments: list[Segment]
    language: str | None
    load_s: float = 0.0
    cache_hit: bool = False
    device: str = "remote"
    dtype: str = "n/a"
    multilingual: bool = True


def _run_plan(plan: AsrPlan, samples, language: str | None, progress: ProgressFn,
              max_new_tokens: int | None, settings: Settings | None = None) -> _Run:
    if plan.backend == API_ASR:
        return _Run(*run_openai(plan.ref, samples, language, progress, settings=settings))
    loaded, hit, load_s = load_asr(plan)
    check_language(loaded, language, plan.ref.display)
    runner = run_ct2 if plan.backend == "faster-whisper" else run_transformers
    try:
        segments, detected = runner(loaded, samples, language, progress, max_new_tokens)
    except errors.WorkbenchError:
        raise
    except Exception as exc:
        raise _asr_error(exc) from None
    return _Run(segments, detected, load_s, hit, loaded.device, loaded.dtype, loaded.multilingual)


def transcribe(audio: str | Path, *, model: str | None = None, on_progress: ProgressFn | None = None,
               language: str | None = None, max_new_tokens: int | None = None,
               settings: Settings | None = None) -> Transcript:
    """Transcribe a recording of any length (chunked), with timestamped segments.

    Args:
        audio: path to an audio or video file (WAV, MP3, M4A, OGG, FLAC, WebM, MP4, ...).
        model: a Whisper reference: Hub id or local folder (transformers or CTranslate2), or ``openai:whisper-1``
            / ``openai:gpt-4o-mini-transcribe``. None = the default for this hardware.
        on_progress: called as ``on_progress(done_s, total_s)`` while audio is transcribed.
        language: ISO code or English name; None = detect (English-only models: English).
        max_new_tokens: local models only: a cap on the tokens written per 30 s window (None = the model's own).
        settings: the deployment's settings (read from the environment when None).

    Returns:
        A Transcript: text, segments (seconds), duration, language, backend, device and timings.

    Raises:
        BadAudio: empty, not audio, truncated, shorter than 0.1 s or longer than the limit (checked first).
        InvalidInput: a language the model cannot transcribe (e.g. French on an English-only ``*.en`` model).
        WorkbenchError: the model can't be loaded or the API call fails.
    """
    start = time.perf_counter()
    settings = settings or Settings.current()
    limits = AudioLimits.from_settings(settings)
    plan = plan_backend(model, settings)
    lang = normalize_language(language)
    info = probe_audio(Path(audio), limits)
    samples = decode_audio(Path(audio), info, limits)
    decode_s = time.perf_counter() - start
    total = len(samples) / SAMPLE_RATE
    progress = on_progress or (lambda done, whole: None)
    progress(0.0, total)
    run = _run_plan(plan, samples, lang, progress, max_new_tokens, settings)
    segments = _clean(run.segments, total)
    progress(total, total)
    return Transcript(text=" ".join(s.text for s in segments), segments=segments, duration_s=total,
                      language=run.language, model=plan.ref.display, backend=plan.backend, device=run.device,
                      seconds=time.perf_counter() - start, load_s=run.load_s, decode_s=decode_s,
                      cache_hit=run.cache_hit, notices=[plan.notice] if plan.notice else [],
                      source={"ref": plan.ref.raw, "dtype": run.dtype, "file": info.format_name, "codec": info.codec,
                              "sample_rate": info.sample_rate, "channels": info.channels,
                              "multilingual": run.multilingual, "max_new_tokens": max_new_tokens,
                              # the language the backend was given (transformers: the one detected first)
                              "decode_language": run.language if plan.backend == "transformers" else lang})


def _asr_error(exc: BaseException) -> errors.WorkbenchError:
    if "out of memory" in str(exc).lower() or type(exc).__name__ == "OutOfMemoryError":
        from engines.cache import free_memory

        free_memory()
        return errors.OutOfMemory("Transcription ran out of memory. Pick a smaller Whisper or close other models.")
    return errors.WorkbenchError(f"Transcription failed: {type(exc).__name__}: {redact(str(exc))[:300]}")
