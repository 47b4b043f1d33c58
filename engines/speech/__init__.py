"""Speech to text: ``transcribe()`` any length of audio with Whisper through faster-whisper, transformers or an
OpenAI-compatible API, with timestamped segments, progress, and SRT/VTT/TXT exports.

The one speech-to-text path of the app: the Minutes tab, the Pipelines speech-to-text task, the API and MCP all
call ``transcribe``. Audio is read by ``engines.audio`` (checked before any heavy work, decoded once by ffmpeg to
16 kHz mono float32, one set of limits: ``AudioLimits``). English-only Whisper checkpoints (``*.en``, or a generation
config with ``is_multilingual: false``) are never given ``task``/``language``: transformers refuses them.

Modules: ``transcript`` (Segment, Transcript, exports), ``backends`` (plan and load), ``local`` (transformers and
faster-whisper runs), ``openai_api`` (the remote endpoint), ``run`` (``transcribe``).
"""

from __future__ import annotations

from engines.audio import (
    MIN_DURATION_S,
    SAMPLE_RATE,
    AudioInfo,
    AudioLimits,
    BadAudio,
    clock,
    decode_audio,
    probe_audio,
    split_blocks,
)
from engines.audio import child_env as _child_env
from engines.speech.backends import (
    AsrPlan,
    LoadedAsr,
    check_language,
    default_model,
    has_faster_whisper,
    is_ctranslate2,
    load_asr,
    normalize_language,
    plan_backend,
    takes_language,
)
from engines.speech.local import WINDOW_S, generate_kwargs, run_ct2, run_hf_block, run_transformers
from engines.speech.openai_api import REMOTE_CHUNK_S, run_openai
from engines.speech.run import transcribe
from engines.speech.transcript import Segment, Transcript, stamp

__all__ = [
    "MIN_DURATION_S", "REMOTE_CHUNK_S", "SAMPLE_RATE", "WINDOW_S", "AsrPlan", "AudioInfo", "AudioLimits", "BadAudio",
    "LoadedAsr", "Segment", "Transcript", "_child_env", "check_language", "clock", "decode_audio", "default_model",
    "generate_kwargs", "has_faster_whisper", "is_ctranslate2", "load_asr", "normalize_language", "plan_backend",
    "probe_audio", "run_ct2", "run_hf_block", "run_openai", "run_transformers", "split_blocks", "stamp",
    "takes_language", "transcribe",
]
