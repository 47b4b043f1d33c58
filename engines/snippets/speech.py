"""Snippets for speech to text (Minutes tab, Pipelines speech-to-text task) and for the minutes call."""

from __future__ import annotations

import json

from engines import prompts
from engines.snippets.common import causal_lm_load, chat_input_lines, client_setup, remote_kind, sent_messages

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


def loop_guard_code() -> str:
    """The app's repetition detector (``engines.repetition``: ``tail_loop``, ``line_loop``, ``LoopGuard``) as
    self-contained source, so a snippet stops at a loop exactly where the app does (copied, never re-written)."""
    import inspect

    from engines import repetition

    source = inspect.getsource(repetition)
    body = source.split('"""', 2)[2].replace("from __future__ import annotations\n", "").strip()
    return "# The app's repetition stop (engines/repetition.py): small models loop until the token limit\n" + body \
        + "\n"


def minutes_code(model: str, max_new_tokens: int = 1024, *, quantization: str = "fp32",
                 define_guard: bool = True) -> str:
    """Plain transformers / openai code that writes minutes from a transcript file with the app's prompt.

    Like the app, generation stops as soon as the text ends in a loop (``LoopGuard`` fed the same text deltas the
    app's stream has: one per token), and the minutes keep the repeated part once.

    Args:
        model: the chat model reference (Hub id, folder, ``openai:``/``hf:``/``ollama:`` name).
        max_new_tokens: the limit on the minutes' length.
        quantization: the quantization of a local model.
        define_guard: include ``loop_guard_code()`` (False where an earlier cell defines ``LoopGuard``).

    Returns:
        A self-contained Python snippet (one call; the app summarizes very long transcripts part by part first).
    """
    messages = [{"role": "system", "content": prompts.MINUTES_SYSTEM}, {"role": "user", "content": _TRANSCRIPT}]
    head = ((loop_guard_code() + "\n\n" if define_guard else "") +
            "# the transcript, as the Minutes tab's transcript.txt download holds it\n"
            "transcript = open('transcript.txt', encoding='utf-8').read().strip()\n"
            f"MINUTES_USER = {prompts.MINUTES_USER!r}\n\n")
    kind, name = remote_kind(model)
    if kind is not None:
        code = _minutes_remote(kind, name, sent_messages(model, messages), max_new_tokens)
    else:
        code = _minutes_local(model, sent_messages(model, messages), max_new_tokens, quantization)
    return head + code.replace(json.dumps(_TRANSCRIPT), "MINUTES_USER.format(transcript=transcript)")


_STOPPED = ("if guard.looping:\n    print('\\n[stopped: the text started repeating itself; the minutes keep the '\n"
            "          'repeated part once, as the app does]')\n")


def _minutes_remote(kind: str, name: str, messages: list[dict], max_new_tokens: int) -> str:
    limit = "max_completion_tokens" if kind == "openai" else "max_tokens"
    return (client_setup(kind) +
            f"\nmessages = {json.dumps(messages, indent=4, ensure_ascii=False)}\n"
            f"stream = client.chat.completions.create(\n    model={name!r},\n    messages=messages,\n"
            f"    {limit}={max_new_tokens}, temperature=0.0, stream=True,\n)\n"
            "guard = LoopGuard()\n"
            "for event in stream:\n"
            "    delta = event.choices[0].delta.content if event.choices and event.choices[0].delta else None\n"
            "    if delta:\n        print(delta, end='', flush=True)\n"
            "        if guard.feed(delta):  # the text ends in a loop: stop reading, as the app does\n"
            "            stream.close()\n            break\n"
            + _STOPPED + "text = guard.kept_text()\n")


def _minutes_local(model: str, messages: list[dict], max_new_tokens: int, quantization: str) -> str:
    imports, load = causal_lm_load(model, quantization)
    has_system = any(m.get("role") == "system" for m in messages)
    return (f"{imports}from transformers import StoppingCriteria, StoppingCriteriaList\n\n{load}"
            f"messages = {json.dumps(messages, indent=4, ensure_ascii=False)}\n"
            + chat_input_lines(has_system=has_system) +
            "\n\nclass StopAtLoop(StoppingCriteria):\n"
            "    \"\"\"Stops generate() once the text ends in a loop: each token's new text is fed to LoopGuard, "
            "as the app feeds its stream.\"\"\"\n\n"
            "    def __init__(self, tokenizer, prompt_length):\n"
            "        self.tokenizer, self.start, self.guard, self.seen = tokenizer, prompt_length, LoopGuard(), ''\n\n"
            "    def __call__(self, input_ids, scores, **kwargs):\n"
            "        text = self.tokenizer.decode(input_ids[0, self.start:], skip_special_tokens=True)\n"
            "        if text.endswith('\\ufffd'):  # half a character: wait for the rest, as the app's stream does\n"
            "            return False\n"
            "        delta, self.seen = text[len(self.seen):], text\n"
            "        return bool(delta) and self.guard.feed(delta)\n\n\n"
            "stop = StopAtLoop(tokenizer, input_ids.shape[1])\n"
            "pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id\n"
            "out = model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids),\n"
            f"                     max_new_tokens={max_new_tokens}, pad_token_id=pad,\n"
            "                     stopping_criteria=StoppingCriteriaList([stop]),\n"
            "                     do_sample=False, temperature=None, top_p=None, top_k=None)  # greedy\n"
            "guard = stop.guard\n"
            "text = guard.kept_text() if guard.looping else tokenizer.decode(out[0, input_ids.shape[1]:], "
            "skip_special_tokens=True)\n" + _STOPPED + "print(text)\n")
