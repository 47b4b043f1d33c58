"""Transcription through an OpenAI-compatible ``/audio/transcriptions`` endpoint, in WAV chunks."""

from __future__ import annotations

from collections.abc import Callable

from engines.audio import SAMPLE_RATE, split_blocks, wav_bytes
from engines.config import Settings
from engines.refs import ModelRef
from engines.speech.transcript import Segment

REMOTE_CHUNK_S = 600.0  # 10 min of 16-bit 16 kHz WAV = 19.2 MB, under the 25 MB API upload limit
ProgressFn = Callable[[float, float], None]


def _language_code(value: str | None) -> str | None:
    if not value:
        return None
    from transformers.models.whisper.tokenization_whisper import LANGUAGES, TO_LANGUAGE_CODE

    value = value.strip().lower()
    return value if value in LANGUAGES else TO_LANGUAGE_CODE.get(value, value)


def _transcribe_remote_block(client, ref: ModelRef, block, extra: dict, verbose: bool):
    """One upload; (response, verbose) where verbose turns False for models that only answer json/text."""
    upload = ("audio.wav", wav_bytes(block), "audio/wav")
    if verbose:
        try:
            return client.audio.transcriptions.create(
                model=ref.name, file=upload, response_format="verbose_json", timestamp_granularities=["segment"],
                **extra), True
        except Exception as exc:  # gpt-4o-*-transcribe accept json/text only
            if "response_format" not in str(exc) and "verbose_json" not in str(exc):
                raise
    return client.audio.transcriptions.create(model=ref.name, response_format="json", file=upload, **extra), False


def run_openai(ref: ModelRef, audio, language: str | None, progress: ProgressFn, *,
               settings: Settings | None = None) -> tuple[list, str | None]:
    """Upload 10-minute WAV chunks to ``/audio/transcriptions``; segments when the model offers verbose_json."""
    from engines.remote import map_remote_error, openai_client

    client = openai_client(ref, settings or Settings.current())
    total, verbose, detected = len(audio) / SAMPLE_RATE, True, None
    segments: list[Segment] = []
    for offset, block in split_blocks(audio, REMOTE_CHUNK_S, search_s=10.0):
        length = len(block) / SAMPLE_RATE
        try:
            resp, verbose = _transcribe_remote_block(client, ref, block, {"language": language} if language else {},
                                                     verbose)
        except Exception as exc:
            raise map_remote_error(exc, ref) from None
        detected = detected or _language_code(getattr(resp, "language", None))
        parts = getattr(resp, "segments", None) if verbose else None
        if parts:
            segments += [Segment(offset + min(float(p.start), length), offset + min(float(p.end), length), p.text)
                         for p in parts]
        else:
            segments.append(Segment(offset, offset + length, str(getattr(resp, "text", resp))))
        progress(offset + length, total)
    return segments, language or detected


