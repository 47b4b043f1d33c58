"""engines.snippets.pipelines (re-exported as engines.pipelines.code_snippet): every task's show-code is Python."""

from __future__ import annotations

import ast

from engines.pipelines import TASKS, code_snippet
from engines.snippets.pipelines import code_snippet as snippet_builder


def test_code_snippets_are_valid_python():
    assert code_snippet is snippet_builder
    for task, spec in TASKS.items():
        inputs = {**spec.example, "labels": spec.example.get("labels", []), "audio": "a.wav"}
        ast.parse(code_snippet(task, spec.default_model or "org/model", inputs, {"seed": 1}))


def test_speech_snippet_follows_the_backend():
    local = code_snippet("automatic-speech-recognition", "openai/whisper-tiny", {"audio": "a.wav"},
                         {"backend": "transformers", "language": "fr"})
    assert 'pipeline("automatic-speech-recognition"' in local and '"language": "fr"' in local
    english = code_snippet("automatic-speech-recognition", "org/whisper-tiny.en", {"audio": "a.wav"},
                           {"backend": "transformers", "language": "en", "multilingual": False})
    assert '"language"' not in english and '"task"' not in english
    ct2 = code_snippet("automatic-speech-recognition", "Systran/faster-whisper-small", {"audio": "a.wav"},
                       {"backend": "faster-whisper", "dtype": "int8"})
    assert "WhisperModel('Systran/faster-whisper-small'" in ct2 and "compute_type='int8'" in ct2
    for code in (local, english, ct2):
        ast.parse(code)
