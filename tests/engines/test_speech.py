"""engines.speech: transcribe() on a tiny Whisper (transformers and its CTranslate2 conversion), English-only
Whisper, the OpenAI transcription API (fake server), bad audio, well-formed SRT/VTT exports, and the snippets."""

from __future__ import annotations

import random
import re
import shutil
import subprocess

import pytest
from tiny_minutes import minutes_fx  # noqa: F401  (session fixture)

from engines import errors, speech
from engines.speech import BadAudio, Segment, Transcript


@pytest.fixture(scope="module")
def audio(minutes_fx):  # noqa: F811
    return minutes_fx["audio"]


def _check_transcript(t: Transcript, duration: float) -> None:
    assert isinstance(t, Transcript) and isinstance(t.text, str)
    assert abs(t.duration_s - duration) < 0.3
    assert t.segments and all(isinstance(s, Segment) for s in t.segments)
    assert all(0.0 <= s.start <= s.end <= t.duration_s + 1e-6 for s in t.segments)
    assert [s.start for s in t.segments] == sorted(s.start for s in t.segments)
    assert t.seconds > 0 and t.realtime_factor == pytest.approx(t.duration_s / t.seconds)
    assert t.language is None or re.fullmatch(r"[a-z]{2,3}", t.language)


def test_transformers_long_audio_is_chunked_with_progress(minutes_fx, audio, fresh_cache):  # noqa: F811
    calls = []
    t = speech.transcribe(audio / "long.wav", model=str(minutes_fx["whisper"]),
                          on_progress=lambda done, total: calls.append((done, total)))
    _check_transcript(t, 35.5)
    assert t.backend == "transformers" and t.device == "cpu" and t.source["dtype"] == "float32"
    assert len(speech.split_blocks([0.0] * int(35.5 * 16000), 30.0)) == 2  # two 30 s windows
    done = [d for d, _ in calls]
    assert done == sorted(done) and done[0] == 0.0 and done[-1] == pytest.approx(t.duration_s)
    assert any(0 < d < t.duration_s for d in done)  # reported between windows
    assert {total for _, total in calls} == {t.duration_s}
    again = speech.transcribe(audio / "short.wav", model=str(minutes_fx["whisper"]), language="English")
    assert again.cache_hit and again.language == "en"


def test_resampled_stereo_mp3_and_chosen_language(minutes_fx, audio):  # noqa: F811
    t = speech.transcribe(audio / "stereo44k.mp3", model=str(minutes_fx["whisper"]), language="fr")
    _check_transcript(t, 3.1)
    assert t.language == "fr" and t.source["sample_rate"] == 44100 and t.source["channels"] == 2


def test_faster_whisper_on_converted_tiny_model(minutes_fx, audio):  # noqa: F811
    if "whisper-ct2" not in minutes_fx:
        pytest.skip("faster-whisper / ctranslate2 not installed")
    calls = []
    t = speech.transcribe(audio / "stereo44k.mp3", model=str(minutes_fx["whisper-ct2"]),
                          on_progress=lambda done, total: calls.append(done))
    _check_transcript(t, 3.1)
    assert t.backend == "faster-whisper" and t.source["dtype"] == "int8"
    assert calls[-1] == pytest.approx(t.duration_s)


def test_ct2_model_without_faster_whisper(minutes_fx, monkeypatch):  # noqa: F811
    monkeypatch.setattr(speech.backends, "has_faster_whisper", lambda: False)
    if "whisper-ct2" in minutes_fx:
        with pytest.raises(errors.Unsupported, match="faster-whisper"):
            speech.plan_backend(str(minutes_fx["whisper-ct2"]))
    plan = speech.plan_backend("Systran/faster-whisper-small")  # the catalog entry falls back to its twin
    assert plan.backend == "transformers" and plan.ref.name == "openai/whisper-small"
    assert "not installed" in plan.notice


def test_openai_transcription_api(remote_env, audio):
    t = speech.transcribe(audio / "short.wav", model="openai:whisper-1")
    assert t.backend == "openai" and t.device == "remote" and t.language == "en"
    assert t.segments[0].text == "fake transcript" and t.duration_s == pytest.approx(3.1, abs=0.3)
    form = [r for r in remote_env.requests if r["path"].endswith("/audio/transcriptions")][-1]["form"]
    assert form["model"] == "whisper-1" and form["response_format"] == "verbose_json"
    assert form["file"]["size"] > 90_000  # 16 kHz mono 16-bit WAV of ~3 s


def test_remote_chunks_and_offsets(remote_env, audio, monkeypatch):
    monkeypatch.setattr(speech.openai_api, "REMOTE_CHUNK_S", 10.0)
    before = len(remote_env.requests)
    t = speech.transcribe(audio / "long.wav", model="openai:whisper-1")
    uploads = [r["form"]["file"]["size"] for r in remote_env.requests[before:]]
    assert 4 <= len(uploads) <= 8 and max(uploads) <= 10 * 32_000 + 100  # 35.5 s in ≤10 s WAV uploads
    starts = [s.start for s in t.segments]
    assert starts[0] == 0.0 and all(b > a for a, b in zip(starts, starts[1:], strict=False)) and starts[-1] > 20


def test_remote_kinds_without_transcription():
    with pytest.raises(errors.Unsupported, match="openai:"):
        speech.plan_backend("ollama:whisper")


@pytest.mark.parametrize("kind", ["empty", "random", "truncated-wav", "truncated-mp3", "tiny", "no-audio",
                                  "missing"])
def test_bad_audio_gets_a_specific_error(kind, audio, tmp_path):
    path = tmp_path / f"{kind}.bin"
    expected = {"empty": "empty", "random": "not a recognised", "truncated-wav": "truncated",
                "truncated-mp3": "truncated", "tiny": "too short", "no-audio": "no audio track",
                "missing": "No audio file"}[kind]
    if kind == "random":
        path.write_bytes(random.Random(0).randbytes(20_000))
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated-wav":
        path.write_bytes((audio / "long.wav").read_bytes()[:30_000])
    elif kind == "truncated-mp3":
        path.write_bytes((audio / "stereo44k.mp3").read_bytes()[:20_000])
    elif kind == "tiny":
        subprocess.run(["sox", str(audio / "short.wav"), str(path.with_suffix(".wav")), "trim", "0", "0.05"],
                       check=True)
        path = path.with_suffix(".wav")
    elif kind == "no-audio":
        path = path.with_suffix(".png")
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=red:s=32x32", "-frames:v", "1",
                        str(path)], check=True)
    with pytest.raises(BadAudio, match=expected):
        speech.transcribe(path, model="openai:whisper-1")  # checks run before any model is touched


def test_over_long_audio_rejected_by_header_and_by_decoded_length(audio, tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_MAX_AUDIO_HOURS", str(10 / 3600))  # a 10 s limit
    with pytest.raises(BadAudio, match="limit"):
        speech.transcribe(audio / "long.wav", model="openai:whisper-1")
    # a header that claims less than the data holds: the decoded length wins
    lying = tmp_path / "lying.wav"
    data = bytearray((audio / "long.wav").read_bytes())
    data[40:44] = (16000 * 2 * 5).to_bytes(4, "little")  # data chunk "5 s"
    lying.write_bytes(bytes(data))
    info = speech.probe_audio(lying, speech.AudioLimits.from_env())
    assert info.header_duration_s is not None and info.header_duration_s <= 10
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(lying), "-f", "f32le", "-"], capture_output=True).stdout
    if len(raw) / 4 / 16000 > 10:  # this ffmpeg reads past the declared size
        with pytest.raises(BadAudio, match="whatever its header says"):
            speech.transcribe(lying, model="openai:whisper-1")


def test_size_cap(audio, monkeypatch):
    monkeypatch.setenv("WORKBENCH_MAX_AUDIO_MB", "0.01")
    with pytest.raises(BadAudio, match="WORKBENCH_MAX_AUDIO_MB"):
        speech.transcribe(audio / "short.wav", model="openai:whisper-1")


def test_bad_references_and_languages():
    with pytest.raises(errors.InvalidModelRef):
        speech.plan_backend("https://example.com/whisper")
    with pytest.raises(errors.InvalidInput, match="language"):
        speech.normalize_language("klingon")
    assert speech.normalize_language("auto") is None and speech.normalize_language("German") == "de"


SEGMENTS = [Segment(0.0, 1.5, "Hello --> world"), Segment(61.25, 3725.004, "Second\n\nline <b>&"),
            Segment(3725.5, 3726.0, "  ")]


def test_srt_and_vtt_are_well_formed():
    t = Transcript(text="", segments=SEGMENTS, duration_s=3726.0, language="en")
    srt = t.to_srt()
    cues = srt.strip().split("\n\n")
    assert len(cues) == 2  # the blank segment is dropped
    for n, cue in enumerate(cues, 1):
        lines = cue.split("\n")
        assert lines[0] == str(n)
        assert re.fullmatch(r"\d\d:\d\d:\d\d,\d{3} --> \d\d:\d\d:\d\d,\d{3}", lines[1])
        assert all(line.strip() for line in lines[2:])
    assert "00:01:01,250 --> 01:02:05,004" in srt and "-->" not in cues[0].split("\n", 2)[2]
    vtt = t.to_vtt()
    assert vtt.startswith("WEBVTT\n\n")
    blocks = vtt.strip().split("\n\n")[1:]
    assert len(blocks) == 2
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3} --> \d\d:\d\d:\d\d\.\d{3}", b.split("\n")[0]) for b in blocks)
    assert "&lt;b" in vtt and "&amp;" in vtt and "<b" not in vtt
    lines = t.timestamped_text().split("\n")
    assert lines[0] == "[00:00:00] Hello --> world" and lines[1] == "[00:01:01] Second"


def test_quiet_point_cuts():
    import numpy as np

    audio = np.ones(16000 * 70, dtype=np.float32)
    audio[16000 * 29: 16000 * 29 + 320] = 0.0  # a silence 1 s before the 30 s limit
    blocks = speech.split_blocks(audio, 30.0)
    assert blocks[1][0] == pytest.approx(29.0, abs=0.03)
    assert sum(len(b) for _, b in blocks) == len(audio) and all(len(b) <= 30 * 16000 for _, b in blocks)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")
def test_secrets_not_passed_to_ffmpeg(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value-123456")
    assert "OPENAI_API_KEY" not in speech._child_env() and set(speech._child_env()) == {"PATH", "LANG", "HOME"}


# ------------------------------------------------------------------------------------------ English-only Whisper


def test_english_only_whisper_transcribes(minutes_fx, audio):  # noqa: F811
    """Regression: task=/language= were always passed to generate (refused for English-only models), and the
    fallback retried with the input dict the pipeline had consumed ("dict needs to contain a raw key")."""
    model = str(minutes_fx["whisper-en"])
    t = speech.transcribe(audio / "short.wav", model=model)
    _check_transcript(t, 3.1)
    assert t.language == "en" and t.source["multilingual"] is False
    again = speech.transcribe(audio / "long.wav", model=model, language="English")  # two windows, English asked
    _check_transcript(again, 35.5)
    with pytest.raises(errors.InvalidInput, match="English-only .* cannot transcribe 'fr'"):
        speech.transcribe(audio / "short.wav", model=model, language="fr")


def test_english_only_ctranslate2_refuses_another_language(minutes_fx, audio):  # noqa: F811
    if "whisper-ct2" not in minutes_fx:
        pytest.skip("faster-whisper / ctranslate2 not installed")
    # CTranslate2 reads a vocabulary under 51865 tokens as English-only: the tiny conversion is one
    t = speech.transcribe(audio / "short.wav", model=str(minutes_fx["whisper-ct2"]), language="en")
    assert t.backend == "faster-whisper" and t.source["multilingual"] is False
    with pytest.raises(errors.InvalidInput, match="English-only"):
        speech.transcribe(audio / "short.wav", model=str(minutes_fx["whisper-ct2"]), language="de")


def test_generation_settings_follow_the_model(minutes_fx):  # noqa: F811
    from transformers import WhisperForConditionalGeneration

    multi = WhisperForConditionalGeneration.from_pretrained(minutes_fx["whisper"])
    english = WhisperForConditionalGeneration.from_pretrained(minutes_fx["whisper-en"])
    assert speech.takes_language(multi) and not speech.takes_language(english)
    assert speech.generate_kwargs(multi, "fr", 8) == {"num_beams": 1, "do_sample": False, "max_new_tokens": 8,
                                                      "task": "transcribe", "language": "fr"}
    assert speech.generate_kwargs(english, "en") == {"num_beams": 1, "do_sample": False}


class _ConsumingPipe:
    """Pops its input keys like transformers' ASR pipeline; the first call fails as a model without timestamps."""

    def __init__(self, model):
        self.model, self.seen = model, []

    def __call__(self, inputs, return_timestamps=False, **kwargs):
        self.seen.append(sorted(inputs))
        if "raw" not in inputs:
            raise ValueError("the dict needs to contain a \"raw\" key")
        inputs.pop("raw"), inputs.pop("sampling_rate")
        if return_timestamps:
            raise ValueError("no timestamp tokens")
        return {"text": " words"}


def test_a_retry_never_reuses_the_consumed_input(minutes_fx):  # noqa: F811
    import numpy as np
    from transformers import WhisperForConditionalGeneration

    pipe = _ConsumingPipe(WhisperForConditionalGeneration.from_pretrained(minutes_fx["whisper-en"]))
    segments = speech.run_hf_block(np.zeros(16000, dtype=np.float32), 1, pipe, "en")
    assert pipe.seen == [["raw", "sampling_rate"], ["raw", "sampling_rate"]]
    assert [(s.start, s.end, s.text) for s in segments] == [(0.0, 1.0, " words")]


def test_ct2_folder_without_tokenizer_is_refused_before_any_download(minutes_fx, tmp_path):  # noqa: F811
    if "whisper-ct2" not in minutes_fx:
        pytest.skip("faster-whisper / ctranslate2 not installed")
    folder = tmp_path / "ct2-no-tokenizer"
    shutil.copytree(minutes_fx["whisper-ct2"], folder)
    (folder / "tokenizer.json").unlink()
    with pytest.raises(errors.Unsupported, match="tokenizer.json"):
        speech.load_asr(speech.plan_backend(str(folder)))


# ------------------------------------------------------------------------------------------------ snippets


def test_snippets_reproduce_each_backend():
    import ast

    from engines.snippets.speech import minutes_code, transcribe_code

    hf = transcribe_code("openai/whisper-small", "transformers", language="fr")
    assert 'pipeline("automatic-speech-recognition"' in hf and '"language": "fr", "task": "transcribe"' in hf
    en = transcribe_code("org/whisper-tiny.en", "transformers", language="en", multilingual=False)
    assert '"language"' not in en and "English-only" in en
    ct2 = transcribe_code("Systran/faster-whisper-small", "faster-whisper", dtype="int8", language="de")
    assert "compute_type='int8'" in ct2 and 'language="de"' in ct2
    api = transcribe_code("openai:whisper-1", "openai")
    assert "from openai import OpenAI" in api and "model='whisper-1'" in api and "sk-" not in api
    for model in ("openai:gpt-4o-mini", "hf:org/name", "ollama:llama3", "HuggingFaceTB/SmolLM2-360M-Instruct"):
        code = minutes_code(model, 256)
        assert "MINUTES_USER.format(transcript=transcript)" in code and "__TRANSCRIPT__" not in code
        ast.parse(code)
    assert "router.huggingface.co" in minutes_code("hf:org/name") and "HF_TOKEN" in minutes_code("hf:org/name")
    for code in (hf, en, ct2, api):
        ast.parse(code)
