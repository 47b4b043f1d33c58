"""Speech to text: ``transcribe()`` any length of audio with Whisper through faster-whisper, transformers or an
OpenAI-compatible API, with timestamped segments, progress, and SRT/VTT/TXT exports.

Audio is checked before any heavy work (size cap, ffprobe under a time limit, duration bounds) and decoded once
by ffmpeg to 16 kHz mono float32 (no torchaudio needed); the decoded length is trusted over the header.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import subprocess
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines import errors, registry
from engines.cache import CacheKey, model_cache
from engines.config import Settings
from engines.gpu import gpu
from engines.loading import hub_kwargs, map_load_error
from engines.redact import redact
from engines.refs import ModelRef, parse_ref

SAMPLE_RATE = 16_000
WINDOW_S = 30.0  # Whisper's receptive field
REMOTE_CHUNK_S = 600.0  # 10 min of 16-bit 16 kHz WAV = 19.2 MB, under the 25 MB API upload limit
MIN_DURATION_S = 0.1
ProgressFn = Callable[[float, float], None]


class BadAudio(errors.InvalidInput):
    """The file is not usable audio: empty, not audio, truncated, too short or too long."""

    title = "Unusable audio"


@dataclass(frozen=True)
class AudioLimits:
    """Input limits, read from the environment (WORKBENCH_MAX_AUDIO_MB, WORKBENCH_MAX_AUDIO_HOURS,
    WORKBENCH_FFPROBE_TIMEOUT_S)."""

    max_bytes: int = 1024 * 2**20
    max_duration_s: float = 4 * 3600.0
    probe_timeout_s: float = 15.0

    @classmethod
    def from_env(cls) -> AudioLimits:
        """Limits from the environment, defaults where unset or malformed."""

        def num(name: str, default: float) -> float:
            try:
                value = float(os.environ.get(name, "") or default)
            except ValueError:
                return default
            return value if value > 0 else default

        return cls(max_bytes=int(num("WORKBENCH_MAX_AUDIO_MB", 1024) * 2**20),
                   max_duration_s=num("WORKBENCH_MAX_AUDIO_HOURS", 4.0) * 3600.0,
                   probe_timeout_s=num("WORKBENCH_FFPROBE_TIMEOUT_S", 15.0))


@dataclass
class Segment:
    """A piece of the transcript; ``start``/``end`` in seconds from the start of the recording."""

    start: float
    end: float
    text: str


@dataclass
class Transcript:
    """What ``transcribe`` returns. ``seconds`` is the processing time (decode + load + inference)."""

    text: str
    segments: list[Segment]
    duration_s: float
    language: str | None
    model: str = ""
    backend: str = ""
    device: str = ""
    seconds: float = 0.0
    load_s: float = 0.0
    decode_s: float = 0.0
    cache_hit: bool = False
    notices: list[str] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def realtime_factor(self) -> float:
        """Audio seconds per processing second (higher is faster; 10 = ten times faster than real time)."""
        return self.duration_s / self.seconds if self.seconds > 0 else 0.0

    def timestamped_text(self) -> str:
        """One ``[hh:mm:ss] text`` line per segment (what the minutes prompt reads)."""
        return "\n".join(f"[{clock(s.start)}] {s.text.strip()}" for s in self.segments if s.text.strip())

    def to_srt(self) -> str:
        """SubRip subtitles: numbered cues, ``hh:mm:ss,mmm --> hh:mm:ss,mmm``, blank line between cues."""
        cues = [s for s in self.segments if s.text.strip()]
        return "".join(f"{i}\n{stamp(s.start, ',')} --> {stamp(max(s.end, s.start), ',')}\n{_cue(s.text)}\n\n"
                       for i, s in enumerate(cues, 1))

    def to_vtt(self) -> str:
        """WebVTT subtitles: ``WEBVTT`` header, ``hh:mm:ss.mmm --> hh:mm:ss.mmm`` cues."""
        cues = [s for s in self.segments if s.text.strip()]
        body = "".join(f"{stamp(s.start, '.')} --> {stamp(max(s.end, s.start), '.')}\n{_cue(s.text, vtt=True)}\n\n"
                       for s in cues)
        return "WEBVTT\n\n" + body

    def to_txt(self) -> str:
        """Plain text with a timestamp per segment."""
        return self.timestamped_text() + "\n"


def clock(seconds: float) -> str:
    """``hh:mm:ss`` for a number of seconds."""
    s = int(max(0.0, seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def stamp(seconds: float, sep: str) -> str:
    """``hh:mm:ss<sep>mmm`` (SRT uses ``,``, WebVTT ``.``)."""
    ms = int(round(max(0.0, seconds) * 1000))
    return f"{ms // 3_600_000:02d}:{ms % 3_600_000 // 60_000:02d}:{ms % 60_000 // 1000:02d}{sep}{ms % 1000:03d}"


def _cue(text: str, vtt: bool = False) -> str:
    # a blank line would end the cue early; "-->" inside a cue breaks VTT parsers
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()] or ["…"]
    out = "\n".join(lines).replace("-->", "→")
    return out.replace("&", "&amp;").replace("<", "&lt;") if vtt else out


# ------------------------------------------------------------------------------------------- audio input


@dataclass(frozen=True)
class AudioInfo:
    """What ffprobe says about a file, before decoding."""

    size: int
    format_name: str
    codec: str
    sample_rate: int | None
    channels: int | None
    header_duration_s: float | None
    header_estimated: bool = False  # ffprobe guessed the duration from the bitrate: not evidence of truncation


def _child_env() -> dict[str, str]:
    # ffmpeg needs no secrets: give it PATH and a locale only
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": "/tmp"}


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise errors.Unsupported(f"{tool} is not installed; it reads and decodes audio here. Install ffmpeg "
                                 "(apt-get install ffmpeg, or add it to packages.txt on a Space).")
    return path


def probe_audio(path: Path, limits: AudioLimits) -> AudioInfo:
    """Check a file's size and ask ffprobe (under a time limit) for its audio stream.

    Raises:
        BadAudio: missing, empty, over the size cap, unreadable, without an audio stream, or too long by its header.
    """
    if not path.is_file():
        raise BadAudio("No audio file was given (or it is no longer on the server). Upload or record again.")
    size = path.stat().st_size
    if size == 0:
        raise BadAudio("The audio file is empty (0 bytes). Upload the recording again.")
    if size > limits.max_bytes:
        raise BadAudio(f"The file is {size / 2**20:.0f} MB; the limit here is {limits.max_bytes / 2**20:.0f} MB "
                       "(WORKBENCH_MAX_AUDIO_MB). Compress it (e.g. to 64 kb/s MP3 or Opus) or split it.")
    cmd = [_need("ffprobe"), "-v", "warning", "-show_entries",
           "format=format_name,duration:stream=codec_type,codec_name,sample_rate,channels,duration",
           "-of", "json", str(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=limits.probe_timeout_s, env=_child_env(),
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise BadAudio(f"Reading the file's header took more than {limits.probe_timeout_s:.0f} s: it is probably "
                       "damaged. Re-export it as WAV, MP3 or M4A.") from None
    info = json.loads(proc.stdout or b"{}") if proc.returncode == 0 else {}
    streams = [s for s in info.get("streams", []) if s.get("codec_type") == "audio"]
    fmt = info.get("format", {})
    if not fmt or not info.get("streams"):
        raise BadAudio("This file is not a recognised audio or video format (ffprobe could not read it). "
                       "Upload WAV, MP3, M4A, OGG, FLAC, WebM or a video with sound.")
    if not streams:
        raise BadAudio("This file has no audio track. Upload a recording with sound.")
    stream = streams[0]
    header = _float(stream.get("duration")) or _float(fmt.get("duration"))
    estimated = b"estimating duration from bitrate" in proc.stderr.lower()
    if header is not None and not estimated and header > limits.max_duration_s:
        raise BadAudio(f"The recording is {clock(header)} long; the limit here is {clock(limits.max_duration_s)} "
                       "(WORKBENCH_MAX_AUDIO_HOURS). Split it into parts.")
    return AudioInfo(size=size, format_name=str(fmt.get("format_name", "")), codec=str(stream.get("codec_name", "")),
                     sample_rate=int(_float(stream.get("sample_rate")) or 0) or None,
                     channels=stream.get("channels"), header_duration_s=header, header_estimated=estimated)


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _wav_declared_s(path: Path) -> float | None:
    """Duration a WAV header declares (ffprobe estimates WAV duration from the file size, hiding truncation)."""
    try:
        with wave.open(str(path)) as w:
            frames, rate, width = w.getnframes(), w.getframerate(), w.getsampwidth() * w.getnchannels()
    except Exception:  # not a PCM WAV: ffprobe's duration is the best we have
        return None
    if frames >= 0xFFFFFFF0 // max(1, width):  # a streamed WAV whose writer never knew the size
        return None
    return frames / rate if rate else None


def decode_audio(path: Path, info: AudioInfo, limits: AudioLimits):
    """Decode to 16 kHz mono float32 with ffmpeg, reading at most ``max_duration_s`` + 1 s.

    Returns:
        A 1-D numpy float32 array.

    Raises:
        BadAudio: nothing decodable, shorter than 0.1 s, truncated (much shorter than its header), or too long.
    """
    import numpy as np

    cap_s = limits.max_duration_s + 1.0
    cmd = [_need("ffmpeg"), "-nostdin", "-v", "error", "-i", str(path), "-t", f"{cap_s:.3f}", "-map", "0:a:0",
           "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"]
    timeout = 120.0 + (info.header_duration_s or limits.max_duration_s) / 20.0
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, env=_child_env(), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise BadAudio(f"Decoding took more than {timeout:.0f} s; the file is probably damaged.") from None
    audio = np.frombuffer(proc.stdout[: len(proc.stdout) // 4 * 4], dtype=np.float32)
    decoded_s = len(audio) / SAMPLE_RATE
    declared = _wav_declared_s(path) if "wav" in info.format_name else None
    declared = declared or (None if info.header_estimated else info.header_duration_s)
    if declared and decoded_s < declared * 0.9 - 0.5:
        raise BadAudio(f"The file looks truncated: its header says {declared:.1f} s but only {decoded_s:.1f} s "
                       "could be decoded. Upload the complete recording.")
    if decoded_s < MIN_DURATION_S:
        detail = redact(proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:][0][:200]) \
            if proc.stderr.strip() else "no audio samples"
        raise BadAudio(f"The recording is too short to transcribe ({decoded_s:.2f} s; at least {MIN_DURATION_S} s "
                       f"is needed). Decoder said: {detail}")
    if decoded_s > limits.max_duration_s:
        raise BadAudio(f"The recording is longer than the limit of {clock(limits.max_duration_s)} "
                       "(WORKBENCH_MAX_AUDIO_HOURS), whatever its header says. Split it into parts.")
    return audio


def split_blocks(audio, block_s: float, search_s: float = 2.0) -> list[tuple[float, Any]]:
    """Cut audio into blocks of at most ``block_s`` seconds, each cut at the quietest 20 ms in the last
    ``search_s`` seconds before the limit (so words are rarely split).

    Returns:
        (offset_s, samples) pairs covering the whole input in order.
    """
    import numpy as np

    n, size, frame = len(audio), max(1, int(block_s * SAMPLE_RATE)), SAMPLE_RATE // 50
    blocks, start = [], 0
    while start < n:
        end = min(n, start + size)
        if end < n:
            lo = max(start + size // 2, end - int(search_s * SAMPLE_RATE))
            k = (end - lo) // frame
            if k > 1:
                energy = (np.asarray(audio[lo:lo + k * frame], dtype=np.float32).reshape(k, frame) ** 2).mean(axis=1)
                end = lo + int(energy.argmin()) * frame + frame // 2
        blocks.append((start / SAMPLE_RATE, audio[start:end]))
        start = end
    return blocks


# ---------------------------------------------------------------------------------------------- backends


@dataclass(frozen=True)
class AsrPlan:
    """Which backend runs a reference, and why (``notice`` when the choice differs from the request)."""

    ref: ModelRef
    backend: str  # "openai" | "faster-whisper" | "transformers"
    notice: str | None = None


def default_model(settings: Settings | None = None) -> str:
    """The default speech model: Whisper large-v3 turbo on a GPU, faster-whisper small on CPU (which runs as
    transformers Whisper small, with a notice, when faster-whisper is not installed)."""
    settings = settings or Settings.from_env()
    return registry.default_for("asr", settings.device)


def has_faster_whisper() -> bool:
    """Whether the optional faster-whisper package (CTranslate2) can be imported."""
    import importlib.util

    return importlib.util.find_spec("faster_whisper") is not None


def is_ctranslate2(ref: ModelRef) -> bool:
    """A CTranslate2 conversion (``model.bin``, no transformers weights), by its files or its catalog facts."""
    if ref.path is not None:
        return (ref.path / "model.bin").is_file() and not any(ref.path.glob("*.safetensors"))
    spec = ref.spec
    return bool(spec and spec.extra.get("ctranslate2"))


def plan_backend(model: str | None, settings: Settings | None = None) -> AsrPlan:
    """Validate the reference and choose the backend, before any audio is read.

    Raises:
        InvalidModelRef, ModelNotAllowed: a bad reference. Unsupported: a remote kind without transcription, or a
            local CTranslate2 folder without faster-whisper installed.
    """
    settings = settings or Settings.from_env()
    ref = parse_ref(model or default_model(settings), settings)
    if ref.kind == "openai":
        return AsrPlan(ref, "openai")
    if ref.is_remote:
        raise errors.Unsupported(f"'{ref.raw}': transcription is available through openai: models (e.g. "
                                 "openai:whisper-1) or a local Whisper, not through hf: or ollama:.")
    if not is_ctranslate2(ref):
        return AsrPlan(ref, "transformers")
    if has_faster_whisper():
        return AsrPlan(ref, "faster-whisper")
    twin = ref.name.replace("Systran/faster-whisper-", "openai/whisper-")
    if ref.kind == "hub" and twin != ref.name and registry.get(twin):
        return AsrPlan(parse_ref(twin, settings), "transformers",
                       f"faster-whisper is not installed, so '{ref.name}' ran as '{twin}' with transformers "
                       "(same model; pip install faster-whisper for faster CPU transcription).")
    raise errors.Unsupported(f"'{ref.display}' is a CTranslate2 model: it needs faster-whisper (pip install "
                             "faster-whisper), or pick a transformers Whisper such as openai/whisper-small.")


def normalize_language(language: str | None) -> str | None:
    """An ISO code from a code or an English name ("fr", "French"); None / "" / "auto" = detect.

    Raises:
        InvalidInput: a language Whisper does not know.
    """
    text = (language or "").strip().lower()
    if text in ("", "auto", "detect", "none"):
        return None
    from transformers.models.whisper.tokenization_whisper import LANGUAGES, TO_LANGUAGE_CODE

    code = text if text in LANGUAGES else TO_LANGUAGE_CODE.get(text)
    if code is None:
        raise errors.InvalidInput(f"Whisper does not know the language '{language}'. Use an ISO code such as en, "
                                  "fr, de, es, or leave it on auto.")
    return code


@dataclass
class LoadedAsr:
    """A loaded local speech model and how it runs."""

    runner: Any  # a transformers pipeline or a faster_whisper.WhisperModel
    backend: str
    device: str
    dtype: str
    footprint_bytes: int

    def get_memory_footprint(self) -> int:
        """Bytes the weights hold (for the cache budget)."""
        return self.footprint_bytes


def _load_transformers(ref: ModelRef, device: str) -> LoadedAsr:
    import torch
    from transformers import AutoModelForSpeechSeq2Seq, AutoProcessor, pipeline

    dtype = torch.float16 if device == "cuda" else torch.float32
    try:
        model = AutoModelForSpeechSeq2Seq.from_pretrained(ref.target, dtype=dtype, attn_implementation="sdpa",
                                                          trust_remote_code=False, **hub_kwargs(ref))
        processor = AutoProcessor.from_pretrained(ref.target, trust_remote_code=False, **hub_kwargs(ref))
    except Exception as exc:
        raise map_load_error(exc, ref) from exc
    model.to(device).eval()
    pipe = pipeline("automatic-speech-recognition", model=model, tokenizer=processor.tokenizer,
                    feature_extractor=processor.feature_extractor, device=model.device, ignore_warning=True)
    return LoadedAsr(pipe, "transformers", device, str(dtype).removeprefix("torch."),
                     int(model.get_memory_footprint()))


def _load_ct2(ref: ModelRef, device: str) -> LoadedAsr:
    from faster_whisper import WhisperModel

    compute = "float16" if device == "cuda" else "int8"
    try:
        model = WhisperModel(ref.target, device="cuda" if device == "cuda" else "cpu", compute_type=compute,
                             cpu_threads=os.cpu_count() or 0, local_files_only=bool(hub_kwargs(ref)))
    except Exception as exc:
        raise map_load_error(exc, ref) from exc
    folder = Path(getattr(model, "model_path", "") or ref.target)
    size = sum(f.stat().st_size for f in folder.glob("model.bin")) if folder.is_dir() else 0
    return LoadedAsr(model, "faster-whisper", device, compute, size)


def load_asr(plan: AsrPlan) -> tuple[LoadedAsr, bool, float]:
    """Load (or fetch from the cache) the local model of a plan.

    Returns:
        (loaded, cache_hit, seconds)
    """
    from engines.gpu import torch_device

    if plan.backend == "faster-whisper":
        import ctranslate2

        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        loader = _load_ct2
    else:
        device = torch_device()
        device = "cpu" if device == "mps" else device  # Whisper fp16 on MPS is unreliable; CPU is safe
        loader = _load_transformers
    result = model_cache().get_with_info(CacheKey("asr", plan.ref.target, plan.backend, device),
                                         lambda: loader(plan.ref, device))
    return result.value, result.hit, result.seconds


# ------------------------------------------------------------------------------------------------ running

_LANG_TOKEN_PREFIX, _LANG_TOKEN_SUFFIX = "<|", "|>"


def _detect_language_hf(pipe, audio) -> str | None:
    """Whisper's language guess on the first 30 s (one pass of the encoder + one decoder step)."""
    import torch

    model, fe, tok = pipe.model, pipe.feature_extractor, pipe.tokenizer
    if not getattr(model.generation_config, "is_multilingual", False):
        return "en"
    feats = fe(audio[: int(WINDOW_S * SAMPLE_RATE)], sampling_rate=SAMPLE_RATE, return_tensors="pt").input_features
    with torch.inference_mode():
        ids = model.detect_language(input_features=feats.to(model.device, model.dtype))
    token = tok.convert_ids_to_tokens(int(ids.reshape(-1)[0]))
    return token.removeprefix(_LANG_TOKEN_PREFIX).removesuffix(_LANG_TOKEN_SUFFIX) if token else None


def _block_seconds(audio, batch_size: int, *args) -> int:
    return int(min(600, 20 + len(audio) / SAMPLE_RATE / 8))


@gpu(duration=_block_seconds)
def run_hf_block(audio, batch_size: int, pipe, language: str | None) -> list[Segment]:
    """Transcribe one block (30 s windows, batched) with a transformers pipeline; times relative to the block."""
    # greedy, like faster-whisper's beam_size=1 below (transformers 5 may default Whisper to beam search)
    kwargs: dict[str, Any] = {"task": "transcribe", "num_beams": 1, "do_sample": False}
    if language:
        kwargs["language"] = language
    inputs = {"raw": audio, "sampling_rate": SAMPLE_RATE}
    length = len(audio) / SAMPLE_RATE
    # one window needs no chunking; longer blocks are cut into 30 s windows (with stride) and batched
    chunking = {"chunk_length_s": WINDOW_S, "batch_size": batch_size, "ignore_warning": True} \
        if length > WINDOW_S else {}
    try:
        out = pipe(inputs, return_timestamps=True, generate_kwargs=kwargs, **chunking)
    except (ValueError, KeyError, TypeError, AttributeError):  # a model without timestamp tokens
        out = pipe(inputs, generate_kwargs=kwargs, **chunking)
        return [Segment(0.0, length, str(out.get("text", "")))]
    segments = []
    for chunk in out.get("chunks") or [{"timestamp": (0.0, length), "text": out.get("text", "")}]:
        start, end = (tuple(chunk.get("timestamp") or ()) + (None, None))[:2]
        start = min(max(0.0, float(start or 0.0)), length)
        segments.append(Segment(start, min(length, float(end)) if end is not None else length, chunk["text"]))
    return segments


def _run_transformers(loaded: LoadedAsr, audio, language: str | None, progress: ProgressFn) -> tuple[list, str]:
    pipe, total = loaded.runner, len(audio) / SAMPLE_RATE
    language = language or _detect_language_hf(pipe, audio)
    batch = 16 if loaded.device == "cuda" else 1
    segments: list[Segment] = []
    for offset, block in split_blocks(audio, WINDOW_S * batch):
        for seg in run_hf_block(block, batch, pipe, language):
            segments.append(Segment(seg.start + offset, seg.end + offset, seg.text))
        progress(offset + len(block) / SAMPLE_RATE, total)
    return segments, language


def _ct2_seconds(loaded, audio, *args) -> int:
    return int(min(900, 30 + len(audio) / SAMPLE_RATE / 10))


@gpu(duration=_ct2_seconds)
def run_ct2(loaded: LoadedAsr, audio, language: str | None, progress: ProgressFn) -> tuple[list, str | None]:
    """Transcribe with faster-whisper (greedy, no VAD, like the transformers path); segments stream as decoded."""
    total = len(audio) / SAMPLE_RATE
    pieces, info = loaded.runner.transcribe(audio, language=language, task="transcribe", beam_size=1,
                                            vad_filter=False)
    segments = []
    for piece in pieces:
        segments.append(Segment(float(piece.start), float(piece.end), piece.text))
        progress(min(float(piece.end), total), total)
    return segments, getattr(info, "language", None) or language


def _wav_bytes(samples) -> bytes:
    import numpy as np

    pcm = (np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0) * 32767).astype("<i2").tobytes()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(pcm)
    return buf.getvalue()


def _language_code(value: str | None) -> str | None:
    if not value:
        return None
    from transformers.models.whisper.tokenization_whisper import LANGUAGES, TO_LANGUAGE_CODE

    value = value.strip().lower()
    return value if value in LANGUAGES else TO_LANGUAGE_CODE.get(value, value)


def _run_openai(ref: ModelRef, audio, language: str | None, progress: ProgressFn) -> tuple[list, str | None]:
    """Upload 10-minute WAV chunks to ``/audio/transcriptions``; segments when the model offers verbose_json."""
    from engines.remote import map_remote_error, openai_client

    client = openai_client(ref, Settings.from_env())
    total, verbose, detected = len(audio) / SAMPLE_RATE, True, None
    segments: list[Segment] = []
    for offset, block in split_blocks(audio, REMOTE_CHUNK_S, search_s=10.0):
        length = len(block) / SAMPLE_RATE
        extra = {"language": language} if language else {}
        try:
            if verbose:
                try:
                    resp = client.audio.transcriptions.create(
                        model=ref.name, file=("audio.wav", _wav_bytes(block), "audio/wav"),
                        response_format="verbose_json", timestamp_granularities=["segment"], **extra)
                except Exception as exc:  # gpt-4o-*-transcribe accept json/text only
                    if "response_format" not in str(exc) and "verbose_json" not in str(exc):
                        raise
                    verbose = False
            if not verbose:
                resp = client.audio.transcriptions.create(model=ref.name, response_format="json", **extra,
                                                          file=("audio.wav", _wav_bytes(block), "audio/wav"))
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


def _clean(segments: list[Segment], total: float) -> list[Segment]:
    out = []
    for seg in sorted(segments, key=lambda s: s.start):
        text = " ".join(seg.text.split())
        if text:
            start = min(round(max(0.0, seg.start), 3), total)
            out.append(Segment(start, min(round(max(seg.end, start), 3), total), text))
    return out


def transcribe(audio: str | Path, *, model: str | None = None, on_progress: ProgressFn | None = None,
               language: str | None = None) -> Transcript:
    """Transcribe a recording of any length (chunked), with timestamped segments.

    Args:
        audio: path to an audio or video file (WAV, MP3, M4A, OGG, FLAC, WebM, MP4, ...).
        model: a Whisper reference: Hub id or local folder (transformers or CTranslate2), or ``openai:whisper-1``
            / ``openai:gpt-4o-mini-transcribe``. None = the default for this hardware.
        on_progress: called as ``on_progress(done_s, total_s)`` while audio is transcribed.
        language: ISO code or English name; None = detect.

    Returns:
        A Transcript: text, segments (seconds), duration, language, backend, device and timings.

    Raises:
        BadAudio: empty, not audio, truncated, shorter than 0.1 s or longer than the limit (checked first).
        WorkbenchError: the model can't be loaded or the API call fails.
    """
    start = time.perf_counter()
    limits = AudioLimits.from_env()
    plan = plan_backend(model)
    lang = normalize_language(language)
    info = probe_audio(Path(audio), limits)
    samples = decode_audio(Path(audio), info, limits)
    decode_s = time.perf_counter() - start
    total = len(samples) / SAMPLE_RATE
    progress = on_progress or (lambda done, whole: None)
    progress(0.0, total)
    load_s, hit, device, dtype = 0.0, False, "remote", "n/a"
    if plan.backend == "openai":
        segments, detected = _run_openai(plan.ref, samples, lang, progress)
    else:
        loaded, hit, load_s = load_asr(plan)
        device, dtype = loaded.device, loaded.dtype
        runner = run_ct2 if plan.backend == "faster-whisper" else _run_transformers
        try:
            segments, detected = runner(loaded, samples, lang, progress)
        except errors.WorkbenchError:
            raise
        except Exception as exc:
            raise _asr_error(exc) from None
    segments = _clean(segments, total)
    progress(total, total)
    return Transcript(text=" ".join(s.text for s in segments), segments=segments, duration_s=total,
                      language=detected, model=plan.ref.display, backend=plan.backend, device=device,
                      seconds=time.perf_counter() - start, load_s=load_s, decode_s=decode_s, cache_hit=hit,
                      notices=[plan.notice] if plan.notice else [],
                      source={"ref": plan.ref.raw, "dtype": dtype, "file": info.format_name, "codec": info.codec,
                              "sample_rate": info.sample_rate, "channels": info.channels})


def _asr_error(exc: BaseException) -> errors.WorkbenchError:
    if "out of memory" in str(exc).lower() or type(exc).__name__ == "OutOfMemoryError":
        from engines.cache import free_memory

        free_memory()
        return errors.OutOfMemory("Transcription ran out of memory. Pick a smaller Whisper or close other models.")
    return errors.WorkbenchError(f"Transcription failed: {type(exc).__name__}: {redact(str(exc))[:300]}")
