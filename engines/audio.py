"""Audio input and output in one place: the limits, ffprobe, ffmpeg decoding to 16 kHz mono float32, and the
conversions the speech and pipelines engines share (mono float32 from any model output, 16-bit PCM, WAV bytes).

Every speech path (the Minutes tab, the Pipelines speech-to-text task, the API, MCP) reads audio through
``probe_audio`` + ``decode_audio`` under one ``AudioLimits``. ffmpeg and ffprobe run with ``child_env()``: PATH and a
locale, never the server's secrets. The decoded length is trusted over the file header.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engines import errors
from engines.config import Settings
from engines.redact import redact

SAMPLE_RATE = 16_000  # what Whisper (and every speech model here) reads
MIN_DURATION_S = 0.1


class BadAudio(errors.InvalidInput):
    """The file is not usable audio: empty, not audio, truncated, too short or too long."""

    title = "Unusable audio"


@dataclass(frozen=True)
class AudioLimits:
    """The limits on audio input, one set for every speech path.

    From the deployment's settings (``from_settings``; ``from_env`` reads them now): ``WORKBENCH_MAX_AUDIO_MB``
    (largest upload, default 1024 MB), ``WORKBENCH_MAX_AUDIO_HOURS`` (longest recording, default 4 h, measured by
    decoding) and ``WORKBENCH_FFPROBE_TIMEOUT_S`` (time allowed to read a file's header, default 15 s).
    """

    max_bytes: int = 1024 * 2**20
    max_duration_s: float = 4 * 3600.0
    probe_timeout_s: float = 15.0

    @classmethod
    def from_settings(cls, settings: Settings) -> AudioLimits:
        """Limits of a deployment (each the default where its variable is unset, malformed or not positive).

        Returns:
            An AudioLimits.
        """
        return cls(max_bytes=int(settings.max_audio_mb * 2**20), max_duration_s=settings.max_audio_hours * 3600.0,
                   probe_timeout_s=settings.ffprobe_timeout_s)

    @classmethod
    def from_env(cls) -> AudioLimits:
        """Limits from the environment, read now (``from_settings(Settings.current())``).

        Returns:
            An AudioLimits.
        """
        return cls.from_settings(Settings.current())


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


def clock(seconds: float) -> str:
    """``hh:mm:ss`` for a number of seconds."""
    s = int(max(0.0, seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


def child_env() -> dict[str, str]:
    """The environment ffmpeg and ffprobe run with: PATH and a locale only (they need no secrets).

    Returns:
        A new dict.
    """
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": "/tmp"}


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise errors.Unsupported(f"{tool} is not installed; it reads and decodes audio here. Install ffmpeg "
                                 "(apt-get install ffmpeg, or add it to packages.txt on a Space).")
    return path


def _check_file(path: Path, limits: AudioLimits) -> int:
    if not path.is_file():
        raise BadAudio("No audio file was given (or it is no longer on the server). Upload or record again.")
    size = path.stat().st_size
    if size == 0:
        raise BadAudio("The audio file is empty (0 bytes). Upload the recording again.")
    if size > limits.max_bytes:
        raise BadAudio(f"The file is {size / 2**20:.0f} MB; the limit here is {limits.max_bytes / 2**20:.0f} MB "
                       "(WORKBENCH_MAX_AUDIO_MB). Compress it (e.g. to 64 kb/s MP3 or Opus) or split it.")
    return size


def _ffprobe(path: Path, limits: AudioLimits) -> subprocess.CompletedProcess:
    cmd = [_need("ffprobe"), "-v", "warning", "-show_entries",
           "format=format_name,duration:stream=codec_type,codec_name,sample_rate,channels,duration",
           "-of", "json", str(path)]
    try:
        return subprocess.run(cmd, capture_output=True, timeout=limits.probe_timeout_s, env=child_env(),
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise BadAudio(f"Reading the file's header took more than {limits.probe_timeout_s:.0f} s: it is probably "
                       "damaged. Re-export it as WAV, MP3 or M4A (WORKBENCH_FFPROBE_TIMEOUT_S).") from None


def probe_audio(path: str | Path, limits: AudioLimits | None = None) -> AudioInfo:
    """Check a file's size and ask ffprobe (under a time limit) for its audio stream, before any decoding.

    Args:
        path: an audio or video file.
        limits: the limits to apply (default: ``AudioLimits.from_env()``).

    Returns:
        The file's AudioInfo.

    Raises:
        BadAudio: missing, empty, over the size cap, unreadable, without an audio stream, or too long by its header.
        Unsupported: ffprobe is not installed.
    """
    path, limits = Path(path), limits or AudioLimits.from_env()
    size = _check_file(path, limits)
    proc = _ffprobe(path, limits)
    info = json.loads(proc.stdout or b"{}") if proc.returncode == 0 else {}
    streams = [s for s in info.get("streams", []) if s.get("codec_type") == "audio"]
    fmt = info.get("format", {})
    if not fmt or not info.get("streams"):
        raise BadAudio("The file could not be decoded: it is not a recognised audio or video format (ffprobe could "
                       "not read it). Upload WAV, MP3, M4A, OGG, FLAC, WebM or a video with sound.")
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


def _ffmpeg_decode(path: Path, info: AudioInfo, limits: AudioLimits) -> subprocess.CompletedProcess:
    cap_s = limits.max_duration_s + 1.0
    cmd = [_need("ffmpeg"), "-nostdin", "-v", "error", "-i", str(path), "-t", f"{cap_s:.3f}", "-map", "0:a:0",
           "-vn", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "f32le", "-"]
    timeout = 120.0 + (info.header_duration_s or limits.max_duration_s) / 20.0
    try:
        return subprocess.run(cmd, capture_output=True, timeout=timeout, env=child_env(), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise BadAudio(f"Decoding took more than {timeout:.0f} s; the file is probably damaged.") from None


def decode_audio(path: str | Path, info: AudioInfo, limits: AudioLimits | None = None):
    """Decode to 16 kHz mono float32 with ffmpeg (resampling and down-mixing included), reading at most
    ``max_duration_s`` + 1 s.

    Args:
        path: the file ``info`` describes.
        info: what ``probe_audio`` returned for it.
        limits: the limits to apply (default: ``AudioLimits.from_env()``).

    Returns:
        A 1-D numpy float32 array at ``SAMPLE_RATE``.

    Raises:
        BadAudio: nothing decodable, shorter than 0.1 s, truncated (much shorter than its header), or too long.
    """
    import numpy as np

    path, limits = Path(path), limits or AudioLimits.from_env()
    proc = _ffmpeg_decode(path, info, limits)
    audio = np.frombuffer(proc.stdout[: len(proc.stdout) // 4 * 4], dtype=np.float32)
    decoded_s = len(audio) / SAMPLE_RATE
    declared = _wav_declared_s(path) if "wav" in info.format_name else None
    declared = declared or (None if info.header_estimated else info.header_duration_s)
    # decoding stops at the limit + 1 s: over the limit is "too long", never "truncated"
    if decoded_s > limits.max_duration_s:
        raise BadAudio(f"The recording is longer than the limit of {clock(limits.max_duration_s)} "
                       "(WORKBENCH_MAX_AUDIO_HOURS), whatever its header says. Split it into parts.")
    if declared and decoded_s < declared * 0.9 - 0.5:
        raise BadAudio(f"The file looks truncated: its header says {declared:.1f} s but only {decoded_s:.1f} s "
                       "could be decoded. Upload the complete recording.")
    if decoded_s < MIN_DURATION_S:
        lines = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = redact(lines[-1][:200]) if lines else "no audio samples"
        raise BadAudio(f"The recording is too short to transcribe ({decoded_s:.2f} s; at least {MIN_DURATION_S} s "
                       f"is needed). Decoder said: {detail}")
    return audio


def load_audio(path: str | Path, limits: AudioLimits | None = None):
    """Probe then decode a file: ``decode_audio(path, probe_audio(path, limits), limits)``.

    Args:
        path: an audio or video file.
        limits: the limits to apply (default: ``AudioLimits.from_env()``).

    Returns:
        A 1-D numpy float32 array at 16 kHz.

    Raises:
        BadAudio: see ``probe_audio`` and ``decode_audio``.
    """
    limits = limits or AudioLimits.from_env()
    return decode_audio(path, probe_audio(path, limits), limits)


def split_blocks(audio, block_s: float, search_s: float = 2.0) -> list[tuple[float, Any]]:
    """Cut audio into blocks of at most ``block_s`` seconds, each cut at the quietest 20 ms in the last
    ``search_s`` seconds before the limit (so words are rarely split).

    Args:
        audio: 16 kHz samples.
        block_s: the longest block, in seconds.
        search_s: how far before the limit to look for a quiet point.

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


def mono_float32(samples):
    """Any model's audio output as a 1-D float32 array: squeezed, (channels, samples) averaged to mono.

    Args:
        samples: an array-like of samples (1-D, or channels first).

    Returns:
        A 1-D numpy float32 array (possibly empty).
    """
    import numpy as np

    audio = np.asarray(samples, dtype=np.float32).squeeze()
    if audio.ndim > 1:
        audio = audio.mean(axis=0)
    return audio.reshape(-1)


def pcm16(samples):
    """Float samples in [-1, 1] as 16-bit PCM (clipped), for players and WAV files.

    Returns:
        A numpy int16 array.
    """
    import numpy as np

    return (np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0) * 32767).astype("<i2")


def wav_bytes(samples, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Mono float samples as the bytes of a 16-bit PCM WAV file.

    Args:
        samples: 1-D float samples in [-1, 1].
        sample_rate: their rate in Hz.

    Returns:
        The WAV file's bytes.
    """
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm16(samples).tobytes())
    return buf.getvalue()
