"""``run_task``: validate, pick the model, load it (cached), run the task's runner under the model's lock."""

from __future__ import annotations

import time
from collections.abc import Callable

from engines import errors
from engines.config import Settings
from engines.pipelines import audio, text
from engines.pipelines.image import run_image
from engines.pipelines.load import load_model, run_error
from engines.pipelines.tasks import ProgressFn, TaskResult, TaskSpec, get_spec
from engines.pipelines.validate import model_ref, validate
from engines.snippets.pipelines import code_snippet

RUNNERS: dict[str, Callable] = {**text.RUNNERS, **audio.RUNNERS}


def run_task(task: str, inputs: dict, *, model: str | None = None, on_progress: ProgressFn | None = None,
             settings: Settings | None = None) -> TaskResult:
    """Run one pipeline task on a model.

    Args:
        task: a key of TASKS (e.g. "sentiment-analysis", "translation", "text-to-image").
        inputs: the task's input keys (see ``TASKS[task].inputs``: text, text_pair, labels, question, context,
            src_lang, tgt_lang, audio (a file path)) plus optional settings (``TASKS[task].options``).
        model: a catalog id, any Hub id or a local folder (where allowed); None = the task's default
            (for translation: the catalog model of the language pair). Speech to text also takes the references
            the Minutes tab takes (a CTranslate2 folder, ``openai:whisper-1``).
        on_progress: optional ``on_progress(message, done=None, total=None)`` for loading and long work.
        settings: the deployment's settings (read from the environment when None: once per call, reading it is
            not free: psutil, /proc).

    Returns:
        A TaskResult (kind, value, seconds, plus model, device, load time, notice, and a code snippet).

    Raises:
        WorkbenchError: bad input, a model that cannot do this task, a load failure, or a run failure.
    """
    spec = get_spec(task)
    inputs = dict(inputs or {})
    progress = on_progress or (lambda *a, **k: None)
    settings = settings or Settings.current()
    if spec.name == "text-to-image":
        return run_image(inputs, model, progress, settings)
    validate(spec, inputs, settings)
    if spec.name == "automatic-speech-recognition":
        return audio.run_speech(inputs, model, progress, settings)
    return _run_loaded(spec, inputs, model, progress, settings)


def _run_loaded(spec: TaskSpec, inputs: dict, model: str | None, progress: ProgressFn,
                settings: Settings) -> TaskResult:
    ref = model_ref(spec, inputs, model, settings)
    loaded, load_s, hit = load_model(spec.name, ref, progress)
    start = time.perf_counter()
    with loaded.lock:
        try:
            value, notice, details = RUNNERS[spec.name](loaded, inputs, progress, settings=settings)
        except errors.WorkbenchError:
            raise
        except Exception as exc:
            raise run_error(exc, ref, spec) from exc
    seconds = time.perf_counter() - start
    return TaskResult(kind=spec.kind, value=value, seconds=seconds, task=spec.name, model=ref.display,
                      device=loaded.device, load_s=load_s if not hit else loaded.load_s, cache_hit=hit, notice=notice,
                      code=code_snippet(spec.name, ref.raw, inputs, details), details=details)
