"""Snippets for speech to text (Minutes tab, Pipelines speech-to-text task) and for the minutes call."""

from __future__ import annotations

import json

from engines import prompts
from engines.snippets.chat import chat_code
from engines.snippets.common import client_setup, remote_kind

_TRANSCRIPT = "__TRANSCRIPT__"


def transcribe_code(model: str, backend: str, *, device: str = "cpu", dtype: str = "float32",
                    language: str | None = None, multilingual: bool = True, audio_file: str = "meeting.mp3",
                    max_new_tokens: int | None = None) -> str:
    """Plain faster-whisper / transformers / openai code that reproduces a transcription.

    Greedy, no VAD, the language the run used; the segments end up in ``segments`` (start, end, text) and the
    transcript in ``text``, whitespace-normalised and joined as the app's ``Transcript.text``.

    Args:
        model: the model reference as the user gave it (a Hub id, a folder, or ``openai:<name>``).
        backend: "faster-whisper", "transformers" or "openai" (``Transcript.backend``).
        device: where it ran ("cpu", "cuda").
        dtype: the weights' type as run ("float32", "float16", "int8").
        language: the ISO code used, or None (detect).
        multilingual: False for English-only models (``*.en``): they take no ``task``/``language``.
        audio_file: the file name the snippet reads.
        max_new_tokens: the run's cap on tokens per 30 s window (local models), or None.

    Returns:
        A self-contained Python snippet.
    """
    lang = json.dumps(language) if language and multilingual else "None"
    kind, name = remote_kind(model)
    if backend == "openai" or kind is not None:
        extra = f", language={json.dumps(language)}" if language else ""
        return (client_setup(kind or "openai") +
                f"\nwith open({audio_file!r}, 'rb') as f:  # the API takes up to 25 MB per request\n"
                f"    result = client.audio.transcriptions.create(model={name!r}, file=f{extra},\n"
                "        response_format='verbose_json', timestamp_granularities=['segment'])\n"
                "segments = [(s.start, s.end, s.text) for s in result.segments]\n" + _JOIN)
    cap = f", max_new_tokens={int(max_new_tokens)}" if max_new_tokens else ""
    if backend == "faster-whisper":
        return ("from faster_whisper import WhisperModel\n\n"
                f"model = WhisperModel({model!r}, device={device!r}, compute_type={dtype!r})\n"
                f"pieces, info = model.transcribe({audio_file!r}, language={lang}, task='transcribe', beam_size=1, "
                f"vad_filter=False{cap})\n"
                "segments = [(s.start, s.end, s.text) for s in pieces]\n" + _JOIN)
    gen = {"language": lang, "task": '"transcribe"'} if multilingual else {}
    gen |= {"num_beams": "1", "do_sample": "False"}
    if max_new_tokens:
        gen["max_new_tokens"] = str(int(max_new_tokens))
    gen = "{" + ", ".join(f'"{k}": {v}' for k, v in gen.items()) + "}"
    note = "  # English-only model: no task/language" if not multilingual else ""
    return ("import torch\nfrom transformers import pipeline\n\n"
            f'asr = pipeline("automatic-speech-recognition", model={model!r}, dtype=torch.{dtype}, '
            f"device={device!r})\n# 30 s windows, batched; ffmpeg decodes the file\n"
            f"out = asr({audio_file!r}, chunk_length_s=30, batch_size={16 if device == 'cuda' else 1}, "
            f"return_timestamps=True,\n          generate_kwargs={gen}){note}\n"
            "segments = [(c['timestamp'][0] or 0.0, c['timestamp'][1], c['text']) for c in out['chunks']]\n" + _JOIN)


# Segments printed one per line; ``text`` as the app joins them (whitespace normalised, empty segments dropped).
_JOIN = ("for start, end, piece in segments:\n    print(f'[{start:.1f}] {piece}')\n"
         "text = ' '.join(' '.join(piece.split()) for _, _, piece in segments if piece.strip())\n")


def minutes_code(model: str, max_new_tokens: int = 1024, *, quantization: str = "fp32") -> str:
    """Plain transformers / openai code that writes minutes from a transcript file with the app's prompt.

    Args:
        model: the chat model reference (Hub id, folder, ``openai:``/``hf:``/``ollama:`` name).
        max_new_tokens: the limit on the minutes' length.
        quantization: the quantization of a local model.

    Returns:
        A self-contained Python snippet (one call; the app summarizes very long transcripts part by part first).
    """
    messages = [{"role": "system", "content": prompts.MINUTES_SYSTEM}, {"role": "user", "content": _TRANSCRIPT}]
    code = chat_code(model, messages, quantization=quantization, max_new_tokens=max_new_tokens)
    head = ("# the transcript, as the Minutes tab's transcript.txt download holds it\n"
            "transcript = open('transcript.txt', encoding='utf-8').read().strip()\n"
            f"MINUTES_USER = {prompts.MINUTES_USER!r}\n\n")
    return head + code.replace(json.dumps(_TRANSCRIPT), "MINUTES_USER.format(transcript=transcript)")
