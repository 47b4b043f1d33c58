"""Running a local Whisper: transformers (30 s windows, batched on a GPU) and faster-whisper (CTranslate2)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engines.audio import SAMPLE_RATE, split_blocks
from engines.gpu import gpu
from engines.speech.backends import LoadedAsr, takes_language
from engines.speech.transcript import Segment

WINDOW_S = 30.0  # Whisper's receptive field
# faster-whisper's default re-decodes a failed window by sampling at rising temperatures, from a generator that
# can't be re-seeded per call (thread-local in CTranslate2): the same audio gave different words run to run. Greedy
# only, as the transformers path decodes: reproducible, and what the run's notebook writes too.
CT2_TEMPERATURE = 0.0
ProgressFn = Callable[[float, float], None]
_LANG_TOKEN_PREFIX, _LANG_TOKEN_SUFFIX = "<|", "|>"


def _detect_language_hf(pipe, audio) -> str | None:
    """Whisper's language guess on the first 30 s (one pass of the encoder + one decoder step)."""
    import torch

    model, fe, tok = pipe.model, pipe.feature_extractor, pipe.tokenizer
    if not takes_language(model):
        return "en"  # English-only
    feats = fe(audio[: int(WINDOW_S * SAMPLE_RATE)], sampling_rate=SAMPLE_RATE, return_tensors="pt").input_features
    with torch.inference_mode():
        ids = model.detect_language(input_features=feats.to(model.device, model.dtype))
    token = tok.convert_ids_to_tokens(int(ids.reshape(-1)[0]))
    return token.removeprefix(_LANG_TOKEN_PREFIX).removesuffix(_LANG_TOKEN_SUFFIX) if token else None


def generate_kwargs(model: Any, language: str | None, max_new_tokens: int | None = None) -> dict[str, Any]:
    """Greedy generation settings for a transformers Whisper; ``task``/``language`` only where the model takes them.

    Args:
        model: the loaded Whisper model.
        language: an ISO code, or None.
        max_new_tokens: a cap on tokens per 30 s window, or None for the model's own.

    Returns:
        The ``generate_kwargs`` of the ASR pipeline.
    """
    # greedy, like faster-whisper's beam_size=1 below (transformers 5 may default Whisper to beam search)
    kwargs: dict[str, Any] = {"num_beams": 1, "do_sample": False}
    if max_new_tokens:
        kwargs["max_new_tokens"] = int(max_new_tokens)
    if takes_language(model):
        kwargs["task"] = "transcribe"
        if language:
            kwargs["language"] = language
    return kwargs


def _pipe_input(audio) -> dict:
    # a fresh dict per call: the ASR pipeline pops "raw" and "sampling_rate" from the dict it is given
    return {"raw": audio, "sampling_rate": SAMPLE_RATE}


def _block_seconds(audio, batch_size: int, *args, **kwargs) -> int:
    return int(min(600, 20 + len(audio) / SAMPLE_RATE / 8))


@gpu(duration=_block_seconds)
def run_hf_block(audio, batch_size: int, pipe, language: str | None, max_new_tokens: int | None = None
                 ) -> list[Segment]:
    """Transcribe one block (30 s windows, batched) with a transformers pipeline; times relative to the block.

    Args:
        audio: 16 kHz samples.
        batch_size: 30 s windows decoded at once.
        pipe: a transformers ASR pipeline on a Whisper model.
        language: an ISO code or None (ignored by English-only models).
        max_new_tokens: a cap on tokens per window, or None.

    Returns:
        The block's segments.
    """
    kwargs = generate_kwargs(pipe.model, language, max_new_tokens)
    length = len(audio) / SAMPLE_RATE
    # one window needs no chunking; longer blocks are cut into 30 s windows (with stride) and batched
    chunking = {"chunk_length_s": WINDOW_S, "batch_size": batch_size, "ignore_warning": True} \
        if length > WINDOW_S else {}
    try:
        out = pipe(_pipe_input(audio), return_timestamps=True, generate_kwargs=kwargs, **chunking)
    except (ValueError, KeyError, TypeError, AttributeError):  # a model without timestamp tokens
        out = pipe(_pipe_input(audio), generate_kwargs=kwargs, **chunking)
        return [Segment(0.0, length, str(out.get("text", "")))]
    segments = []
    for chunk in out.get("chunks") or [{"timestamp": (0.0, length), "text": out.get("text", "")}]:
        start, end = (tuple(chunk.get("timestamp") or ()) + (None, None))[:2]
        start = min(max(0.0, float(start or 0.0)), length)
        segments.append(Segment(start, min(length, float(end)) if end is not None else length, chunk["text"]))
    return segments


def run_transformers(loaded: LoadedAsr, audio, language: str | None, progress: ProgressFn,
                     max_new_tokens: int | None = None) -> tuple[list, str | None]:
    """Transcribe with a transformers Whisper in blocks (one 30 s window on CPU, 16 batched on CUDA).

    Returns:
        (segments, language: the one given, else the detected one; "en" for English-only models)
    """
    pipe, total = loaded.runner, len(audio) / SAMPLE_RATE
    language = language or _detect_language_hf(pipe, audio)
    batch = 16 if loaded.device == "cuda" else 1
    segments: list[Segment] = []
    for offset, block in split_blocks(audio, WINDOW_S * batch):
        for seg in run_hf_block(block, batch, pipe, language, max_new_tokens):
            segments.append(Segment(seg.start + offset, seg.end + offset, seg.text))
        progress(offset + len(block) / SAMPLE_RATE, total)
    return segments, language


def _ct2_seconds(loaded, audio, *args, **kwargs) -> int:
    return int(min(900, 30 + len(audio) / SAMPLE_RATE / 10))


@gpu(duration=_ct2_seconds)
def run_ct2(loaded: LoadedAsr, audio, language: str | None, progress: ProgressFn, max_new_tokens: int | None = None
            ) -> tuple[list, str | None]:
    """Transcribe with faster-whisper (greedy, no VAD, like the transformers path); segments stream as decoded."""
    total = len(audio) / SAMPLE_RATE
    pieces, info = loaded.runner.transcribe(audio, language=language if loaded.multilingual else None,
                                            task="transcribe", beam_size=1, temperature=CT2_TEMPERATURE,
                                            vad_filter=False, max_new_tokens=max_new_tokens or None)
    segments = []
    for piece in pieces:
        segments.append(Segment(float(piece.start), float(piece.end), piece.text))
        progress(min(float(piece.end), total), total)
    return segments, getattr(info, "language", None) or language


