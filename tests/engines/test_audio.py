"""engines.audio: the one set of audio limits, ffprobe + ffmpeg decoding to 16 kHz mono float32, the child
environment, and the output conversions (mono float32, 16-bit PCM, WAV bytes)."""

from __future__ import annotations

import io
import random
import shutil
import subprocess
import wave

import numpy as np
import pytest

from engines import audio, errors
from engines.audio import AudioLimits, BadAudio

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
                                reason="needs ffmpeg")


def _tone(path, seconds: float, rate: int = 44100, channels: int = 2, codec: list[str] | None = None):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"sine=frequency=440:duration={seconds}:sample_rate={rate}", "-ac", str(channels),
                    *(codec or []), str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("engines-audio")
    return {"stereo": _tone(folder / "stereo44k.wav", 2.0), "ogg": _tone(folder / "long.ogg", 12.0, 48000, 1,
                                                                        ["-c:a", "libopus", "-b:a", "16k"])}


def test_limits_defaults_and_environment(monkeypatch):
    for var in ("WORKBENCH_MAX_AUDIO_MB", "WORKBENCH_MAX_AUDIO_HOURS", "WORKBENCH_FFPROBE_TIMEOUT_S"):
        monkeypatch.delenv(var, raising=False)
    assert AudioLimits.from_env() == AudioLimits(max_bytes=1024 * 2**20, max_duration_s=4 * 3600.0,
                                                 probe_timeout_s=15.0)
    monkeypatch.setenv("WORKBENCH_MAX_AUDIO_MB", "2.5")
    monkeypatch.setenv("WORKBENCH_MAX_AUDIO_HOURS", "0.5")
    monkeypatch.setenv("WORKBENCH_FFPROBE_TIMEOUT_S", "3")
    assert AudioLimits.from_env() == AudioLimits(max_bytes=int(2.5 * 2**20), max_duration_s=1800.0,
                                                 probe_timeout_s=3.0)
    for bad in ("lots", "-1", "0", "nan", "inf"):  # malformed or not positive: the default
        monkeypatch.setenv("WORKBENCH_MAX_AUDIO_HOURS", bad)
        assert AudioLimits.from_env().max_duration_s == 4 * 3600.0


def test_decode_resamples_and_downmixes(files):
    info = audio.probe_audio(files["stereo"])
    assert (info.sample_rate, info.channels, info.codec) == (44100, 2, "pcm_s16le")
    assert info.header_duration_s == pytest.approx(2.0, abs=0.05) and "wav" in info.format_name
    samples = audio.decode_audio(files["stereo"], info)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert len(samples) == pytest.approx(2.0 * audio.SAMPLE_RATE, abs=200)
    assert 0.1 < float(np.abs(samples).max()) < 0.2  # lavfi sine: amplitude 1/8, kept through the down-mix
    ogg = audio.load_audio(files["ogg"])
    assert len(ogg) / audio.SAMPLE_RATE == pytest.approx(12.0, abs=0.1)


@pytest.mark.parametrize(("make", "match"), [
    (lambda p: p.write_bytes(b""), "empty"),
    (lambda p: p.write_bytes(random.Random(0).randbytes(20_000)), "could not be decoded: it is not a recognised"),
    (None, "No audio file"),
])
def test_unusable_files(tmp_path, make, match):
    path = tmp_path / "upload.bin"
    if make is not None:
        make(path)
    with pytest.raises(BadAudio, match=match):
        audio.load_audio(path)
    assert issubclass(BadAudio, errors.InvalidInput)


def test_size_and_duration_limits(files):
    with pytest.raises(BadAudio, match="WORKBENCH_MAX_AUDIO_MB"):
        audio.probe_audio(files["stereo"], AudioLimits(max_bytes=1000))
    with pytest.raises(BadAudio, match="WORKBENCH_MAX_AUDIO_HOURS"):  # by its header
        audio.probe_audio(files["ogg"], AudioLimits(max_duration_s=5.0))
    info = audio.probe_audio(files["ogg"])
    with pytest.raises(BadAudio, match="whatever its header says"):  # by the decoded length
        audio.decode_audio(files["ogg"], info, AudioLimits(max_duration_s=5.0))


def test_missing_ffmpeg_is_a_clear_error(files, monkeypatch):
    monkeypatch.setattr(audio.shutil, "which", lambda tool: None)
    with pytest.raises(errors.Unsupported, match="apt-get install ffmpeg"):
        audio.load_audio(files["stereo"])


def test_child_environment_holds_no_secret(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value-123456")
    monkeypatch.setenv("HF_TOKEN", "hf_secret")
    env = audio.child_env()
    assert set(env) == {"PATH", "LANG", "HOME"} and "sk-secret" not in str(env) and "hf_secret" not in str(env)


def test_output_conversions():
    stereo = np.stack([np.full(100, 0.5), np.full(100, -0.1)]).astype(np.float64)[None]  # (1, 2, 100)
    mono = audio.mono_float32(stereo)
    assert mono.shape == (100,) and mono.dtype == np.float32 and mono[0] == pytest.approx(0.2)
    assert audio.mono_float32([]).size == 0
    pcm = audio.pcm16([2.0, -2.0, 0.5])
    assert pcm.dtype == np.int16 and list(pcm) == [32767, -32767, 16383]
    data = audio.wav_bytes(np.zeros(1600, dtype=np.float32), 8000)
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (1, 2, 8000, 1600)


def test_quiet_point_cuts_cover_everything():
    samples = np.ones(16000 * 65, dtype=np.float32)
    samples[16000 * 29: 16000 * 29 + 320] = 0.0
    blocks = audio.split_blocks(samples, 30.0)
    assert blocks[1][0] == pytest.approx(29.0, abs=0.03) and sum(len(b) for _, b in blocks) == len(samples)


def test_speech_and_pipelines_read_audio_here():
    import engines.pipelines as pl
    from engines import speech

    assert speech.AudioLimits is AudioLimits and speech.decode_audio is audio.decode_audio
    assert speech.probe_audio is audio.probe_audio and pl.load_audio is audio.load_audio
    assert speech._child_env is audio.child_env
