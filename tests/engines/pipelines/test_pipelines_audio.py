"""engines.pipelines.audio: speech to text is the Minutes tab's engine (engines.speech.transcribe, one decoder, one
set of limits), English-only Whisper included; text to speech and text to audio on tiny models."""

from __future__ import annotations

import numpy as np
import pytest
from tiny_minutes import minutes_fx  # noqa: F401  (fixture)
from tiny_pipelines import audio_files, catalog, pl_models  # noqa: F401  (fixtures)

from engines import errors, speech
from engines.pipelines import load_audio, run_task

ASR = "automatic-speech-recognition"


def test_speech_recognition_resamples_and_reports_progress(catalog, audio_files):  # noqa: F811
    seen = []
    r = run_task(ASR, {"audio": str(audio_files["long"]), "max_new_tokens": 4},
                 on_progress=lambda msg, done=None, total=None: seen.append((msg, done, total)))
    assert r.kind == "text" and isinstance(r.value, str) and r.task == ASR
    assert r.details["duration_s"] == pytest.approx(35, abs=0.5) and r.details["backend"] == "transformers"
    starts = [s["start"] for s in r.details["segments"]]
    assert starts == sorted(starts) and all(0 <= s <= 35.5 for s in starts)
    assert seen[0][0].startswith("Loading")
    done = [d for _, d, t in seen if t]
    assert done[0] == 0.0 and done[-1] == pytest.approx(35, abs=0.5) and done == sorted(done)
    assert any(25 <= d <= 31 for d in done)  # reported after the first 30 s window
    assert "pipeline(\"automatic-speech-recognition\"" in r.code and r.seconds > 0


def test_speech_to_text_calls_the_minutes_engine(catalog, audio_files, monkeypatch):  # noqa: F811
    calls = []
    real = speech.transcribe

    def spy(audio, **kwargs):
        calls.append((audio, kwargs))
        return real(audio, **kwargs)

    monkeypatch.setattr(speech, "transcribe", spy)
    r = run_task(ASR, {"audio": str(audio_files["speech"]), "language": "en"})
    assert len(calls) == 1 and calls[0][1]["language"] == "en" and calls[0][1]["model"] == "openai/whisper-tiny"
    direct = real(str(audio_files["speech"]), model="openai/whisper-tiny", language="en")
    assert r.value == direct.text and r.details["language"] == "en" == direct.language
    assert [s["text"] for s in r.details["segments"]] == [s.text for s in direct.segments]


def test_english_only_whisper_transcribes(minutes_fx, audio_files):  # noqa: F811
    """Regression: an English-only Whisper (is_multilingual=False) was given task=/language= and failed."""
    model = str(minutes_fx["whisper-en"])
    r = run_task(ASR, {"audio": str(audio_files["speech"])}, model=model)
    assert isinstance(r.value, str) and r.details["language"] == "en" and r.details["multilingual"] is False
    assert '"language"' not in r.code and "English-only" in r.code
    assert run_task(ASR, {"audio": str(audio_files["speech"]), "language": "en"}, model=model).cached
    with pytest.raises(errors.InvalidInput, match="English-only"):
        run_task(ASR, {"audio": str(audio_files["speech"]), "language": "fr"}, model=model)


def test_audio_decoding_errors(audio_files, monkeypatch):  # noqa: F811
    assert load_audio(str(audio_files["speech"])).dtype == np.float32  # 22.05 kHz in, 16 kHz out
    with pytest.raises(errors.InvalidInput, match="empty"):
        load_audio(str(audio_files["empty"]))
    with pytest.raises(errors.InvalidInput, match="could not be decoded"):
        load_audio(str(audio_files["corrupt"]))
    monkeypatch.setenv("WORKBENCH_MAX_AUDIO_HOURS", str(10 / 3600))  # the one set of limits: 10 s
    with pytest.raises(speech.BadAudio, match="WORKBENCH_MAX_AUDIO_HOURS"):
        run_task(ASR, {"audio": str(audio_files["long"])})
    with pytest.raises(errors.InvalidInput, match="No audio"):
        run_task(ASR, {"audio": ""})


def test_text_to_speech_and_text_to_audio(catalog):  # noqa: F811
    r = run_task("text-to-speech", {"text": "hello world"})
    sr, audio = r.value
    assert r.kind == "audio" and sr == 16000 and audio.ndim == 1 and audio.size > 1000
    m = run_task("text-to-audio", {"text": "soft piano", "duration_s": 0.5, "seed": 7})
    sr, audio = m.value
    assert sr == 32000 and audio.dtype == np.float32 and m.details["seed"] == 7
    assert m.details["max_new_tokens"] == 25  # 0.5 s at 50 frames/s
    with pytest.raises(errors.InvalidInput, match="between 0.5 and 30"):
        run_task("text-to-audio", {"text": "soft piano", "duration_s": 60})
