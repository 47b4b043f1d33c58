"""The audio tasks. Speech to text runs ``engines.speech.transcribe`` (the Minutes tab's engine: one decoder, one
set of audio limits, English-only Whisper handled there); text to speech and text to audio run transformers'
``text-to-audio`` pipeline, their output made mono float32 by ``engines.audio``."""

from __future__ import annotations

from typing import Any

from engines import errors, speech
from engines.audio import mono_float32
from engines.gpu import gpu
from engines.pipelines.load import LoadedTask
from engines.pipelines.tasks import TASKS, ProgressFn, TaskResult
from engines.pipelines.validate import parse_seed
from engines.snippets.speech import transcribe_code

MAX_GENERATED_S = 30.0  # text-to-audio: the longest sound a request may ask for


def run_speech(inputs: dict, model: str | None, progress: ProgressFn, settings=None) -> TaskResult:
    """Transcribe ``inputs["audio"]`` with ``engines.speech.transcribe``, as the Minutes tab does.

    Args:
        inputs: validated inputs: audio (a path), language (ISO code or None), max_new_tokens (or None).
        model: any reference ``transcribe`` takes; None = the task's default model.
        progress: ``progress(message, done, total)``.

    Returns:
        A TaskResult of kind "text" whose details hold the segments, duration, language and backend.
    """
    spec = TASKS["automatic-speech-recognition"]
    chosen = (model or "").strip() or spec.default_model
    progress(f"Loading {chosen} if needed and decoding the audio…")

    def report(done: float, total: float) -> None:
        progress(f"Transcribing {done:.0f} / {total:.0f} s", done, total)

    t = speech.transcribe(inputs["audio"], model=chosen, on_progress=report, language=inputs.get("language"),
                          max_new_tokens=inputs.get("max_new_tokens"), settings=settings)
    segments = [{"start": round(s.start, 2), "end": round(s.end, 2), "text": s.text} for s in t.segments]
    details = {"duration_s": round(t.duration_s, 2), "segments": segments, "language": t.language,
               "backend": t.backend, "dtype": t.source.get("dtype", ""), "decode_s": round(t.decode_s, 3),
               "multilingual": t.source.get("multilingual", True), "max_new_tokens": inputs.get("max_new_tokens"),
               "device": t.device, "decode_language": t.source.get("decode_language", t.language)}
    code = transcribe_code(t.source.get("ref", chosen), t.backend, device=t.device, dtype=details["dtype"],
                           language=details["decode_language"], multilingual=details["multilingual"],
                           audio_file="audio.wav", max_new_tokens=details["max_new_tokens"])
    run_s = max(t.seconds - t.load_s, 1e-6)
    return TaskResult(kind=spec.kind, value=t.text, seconds=run_s, task=spec.name, model=t.model, device=t.device,
                      load_s=t.load_s, cache_hit=t.cache_hit, notice=" ".join(t.notices) or None, code=code,
                      details=details)


def _audio_out(out: dict) -> tuple[int, Any]:
    audio = mono_float32(out["audio"])  # (channels, samples) → mono for the player
    if audio.size == 0:
        raise errors.InvalidInput("The model produced no audio for this text (no character it can pronounce?).")
    return int(out["sampling_rate"]), audio


@gpu(duration=60)
def _run_tts(lt: LoadedTask, inputs: dict, progress: ProgressFn, settings=None):
    kwargs: dict[str, Any] = {}
    if getattr(lt.model.config, "model_type", "") == "speecht5":
        import torch

        dim = getattr(lt.model.config, "speaker_embedding_dim", 512)
        kwargs["forward_params"] = {"speaker_embeddings": torch.zeros(1, dim)}
    sr, audio = _audio_out(lt.pipe(inputs["text"], **kwargs))
    return (sr, audio), None, {"sampling_rate": sr, "duration_s": round(audio.size / sr, 2)}


@gpu(duration=120)
def _run_text_to_audio(lt: LoadedTask, inputs: dict, progress: ProgressFn, settings=None):
    import torch

    duration = float(inputs.get("duration_s") or 5.0)
    if not 0.5 <= duration <= MAX_GENERATED_S:
        raise errors.InvalidInput(f"duration_s must be between 0.5 and {MAX_GENERATED_S:.0f} seconds.")
    seed = parse_seed(inputs.get("seed"))
    torch.manual_seed(seed)
    kwargs: dict[str, Any] = {}
    frame_rate = lt.extra.get("frame_rate")
    if frame_rate:
        kwargs["forward_params"] = {"max_new_tokens": max(1, int(duration * frame_rate)), "do_sample": True}
    sr, audio = _audio_out(lt.pipe(inputs["text"], **kwargs))
    return (sr, audio), None, {"sampling_rate": sr, "duration_s": round(audio.size / sr, 2), "seed": seed,
                               **kwargs.get("forward_params", {})}


RUNNERS = {"text-to-speech": _run_tts, "text-to-audio": _run_text_to_audio}
