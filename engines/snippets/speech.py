"""Snippets for speech to text (Minutes tab, Pipelines speech-to-text task) and for the minutes call."""

from __future__ import annotations

import json

from engines import prompts
from engines.snippets.common import (
    causal_lm_load,
    chat_input_lines,
    client_setup,
    remote_kind,
    remote_stream_open,
    sent_messages,
)
from engines.speech.backends import API_ASR
from engines.speech.local import CT2_TEMPERATURE

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
    if backend == API_ASR or kind is not None:
        extra = f", language={json.dumps(language)}" if language else ""
        return (client_setup(kind or API_ASR) +
                f"\nwith open({audio_file!r}, 'rb') as f:  # the API takes up to 25 MB per request\n"
                f"    result = client.audio.transcriptions.create(model={name!r}, file=f{extra},\n"
                "        response_format='verbose_json', timestamp_granularities=['segment'])\n"
                "segments = [(s.start, s.end, s.text) for s in result.segments]\n" + _JOIN)
    if backend == "faster-whisper":
        cap = f", max_new_tokens={int(max_new_tokens)}" if max_new_tokens else ""
        return (_DECODE.format(audio_file=audio_file) +
                "\nfrom faster_whisper import WhisperModel\n\n"
                f"model = WhisperModel({model!r}, device={device!r}, compute_type={dtype!r})\n"
                "# the app's settings: greedy only (no sampling fallback), no VAD, each window conditioned on the\n"
                "# previous text; the decoded samples, not the file\n"
                f"pieces, info = model.transcribe(audio, language={lang}, task='transcribe', beam_size=1, "
                f"temperature={CT2_TEMPERATURE}, vad_filter=False{cap})\n"
                "segments = [(s.start, s.end, s.text) for s in pieces]\n" + _JOIN)
    return _DECODE.format(audio_file=audio_file) + _transformers_code(model, device, dtype, lang, multilingual,
                                                                      max_new_tokens)


# The app's decoding (engines.audio.decode_audio): ffmpeg → 16 kHz mono float32 samples.
_DECODE = ("import subprocess\n\nimport numpy as np\n\nSAMPLE_RATE = 16000\n"
           "# decoded as the app decodes it: ffmpeg, mono, 16 kHz, float32\n"
           "raw = subprocess.run(['ffmpeg', '-nostdin', '-v', 'error', '-i', {audio_file!r}, '-map', '0:a:0', '-vn',\n"
           "                      '-ac', '1', '-ar', str(SAMPLE_RATE), '-f', 'f32le', '-'],\n"
           "                     capture_output=True, check=True).stdout\n"
           "audio = np.frombuffer(raw[:len(raw) // 4 * 4], dtype=np.float32)\n"
           "total = len(audio) / SAMPLE_RATE\n")


def _split_blocks_source() -> str:
    import inspect

    from engines import audio

    return inspect.getsource(audio.split_blocks)


def _transformers_code(model: str, device: str, dtype: str, lang: str, multilingual: bool,
                       max_new_tokens: int | None) -> str:
    """The app's transformers path (engines.speech.local): blocks of 30 s × batch cut at quiet points, each block
    one pipeline call (30 s windows batched only when a block is longer than one window), greedy."""
    gen = {"language": lang, "task": '"transcribe"'} if multilingual else {}
    gen |= {"num_beams": "1", "do_sample": "False"}
    if max_new_tokens:
        gen["max_new_tokens"] = str(int(max_new_tokens))
    gen_src = "{" + ", ".join(f'"{k}": {v}' for k, v in gen.items()) + "}"
    note = "  # English-only model: no task/language" if not multilingual else ""
    batch = 16 if device == "cuda" else 1
    return ("\nfrom typing import Any\n\nimport torch\n"
            "from transformers import AutoModelForSpeechSeq2Seq, AutoProcessor, pipeline\n\n"
            f"model_id = {model!r}\n"
            f"model = AutoModelForSpeechSeq2Seq.from_pretrained(model_id, dtype=torch.{dtype}, "
            "attn_implementation='sdpa')\n"
            f"model = model.to({device!r}).eval()\n"
            "processor = AutoProcessor.from_pretrained(model_id)\n"
            'asr = pipeline("automatic-speech-recognition", model=model, tokenizer=processor.tokenizer,\n'
            "               feature_extractor=processor.feature_extractor, device=model.device)\n"
            f"GENERATE = {gen_src}{note}\n"
            f"BATCH = {batch}  # 30 s windows decoded at once (16 on a GPU, 1 on a CPU)\n\n\n"
            + _split_blocks_source() +
            "\n\nsegments = []\n"
            "for offset, block in split_blocks(audio, 30.0 * BATCH):\n"
            "    length = len(block) / SAMPLE_RATE\n"
            "    # one window needs no chunking; a longer block is cut into 30 s windows (with stride) and batched\n"
            "    chunking = {'chunk_length_s': 30.0, 'batch_size': BATCH} if length > 30.0 else {}\n"
            "    out = asr({'raw': block, 'sampling_rate': SAMPLE_RATE}, return_timestamps=True,\n"
            "              generate_kwargs=dict(GENERATE), **chunking)\n"
            "    for chunk in out.get('chunks') or [{'timestamp': (0.0, length), 'text': out.get('text', '')}]:\n"
            "        start, end = (tuple(chunk.get('timestamp') or ()) + (None, None))[:2]\n"
            "        start = min(max(0.0, float(start or 0.0)), length)\n"
            "        end = min(length, float(end)) if end is not None else length\n"
            "        segments.append((start + offset, end + offset, chunk['text']))\n" + _JOIN)


# Segments printed one per line; ``text`` as the app's Transcript.text: sorted by start, whitespace normalised,
# empty segments dropped.
_JOIN = ("segments = sorted(segments, key=lambda s: s[0])\n"
         "for start, end, piece in segments:\n    print(f'[{start:.1f}] {piece}')\n"
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
    return (remote_stream_open(kind, name, messages, max_new_tokens, 0.0) +
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
