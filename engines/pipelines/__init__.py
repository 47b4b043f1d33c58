"""Every transformers pipeline task behind one function: ``run_task(task, inputs, model=...)``.

Tasks that still exist as transformers 5 pipelines run through ``pipeline()``; the ones transformers 5 removed
(summarization, translation, question answering) run on the Auto classes (seq2seq ``generate()``, extractive QA
from start/end logits) so every task looks alike to the caller. Speech to text runs ``engines.speech.transcribe``
(the Minutes tab's engine); text to image goes through ``engines.images``.

Modules: ``tasks`` (TASKS, TaskSpec, TaskResult), ``validate`` (inputs, model choice), ``load`` (loading and the
head check), ``text`` / ``audio`` / ``image`` (runners), ``run`` (``run_task``). The show-code builders live in
``engines.snippets.pipelines``.
"""

from __future__ import annotations

from engines.audio import SAMPLE_RATE, load_audio
from engines.pipelines.load import LoadedTask, check_architecture, load_model, model_max_length, resolve_target
from engines.pipelines.run import run_task
from engines.pipelines.tasks import (
    INPUT_KEYS,
    LANGUAGES,
    MAX_AUDIO_TEXT_CHARS,
    MAX_LABELS,
    TASKS,
    TaskResult,
    TaskSpec,
    get_spec,
    task_models,
    task_names,
    translation_pairs,
)
from engines.pipelines.text import best_span
from engines.pipelines.validate import parse_labels
from engines.snippets.pipelines import code_snippet

_load = load_model  # the names bench/ used before the package
_best_span = best_span

__all__ = [
    "INPUT_KEYS", "LANGUAGES", "MAX_AUDIO_TEXT_CHARS", "MAX_LABELS", "SAMPLE_RATE", "TASKS", "LoadedTask",
    "TaskResult", "TaskSpec", "_best_span", "_load", "best_span", "check_architecture", "code_snippet", "get_spec",
    "load_audio", "load_model", "model_max_length", "parse_labels", "resolve_target", "run_task", "task_models",
    "task_names", "translation_pairs",
]
