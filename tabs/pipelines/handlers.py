"""Pipelines tab: every transformers pipeline task in two clicks (pick a task, Run), with the code to reproduce it."""

from __future__ import annotations

from typing import Any

import gradio as gr

from engines import notebooks as nbs
from engines import pipelines as pl
from engines.config import Settings
from engines.context import Context, as_context
from engines.errors import InvalidInput
from tabs.common import (
    GPU_EVENT,
    NOTEBOOK_LABEL,
    ChoiceBox,
    Links,
    ModelBox,
    esc,
    expensive,
    notebook_file,
    on,
    status_html,
    ui_errors,
    with_settings,
)

FAMILIES = ("classify", "answer", "text", "embed", "audio_in", "audio_out", "image")
TASK_CHOICES = [(spec.label, name) for name, spec in pl.TASKS.items()]
PAIR_CHOICES = [(f"{pl.LANGUAGES.get(s, s)} → {pl.LANGUAGES.get(t, t)}", f"{s}-{t}") for s, t, _ in
                pl.translation_pairs()]
ASR_LANGUAGES = [("Detect automatically", "")] + [(name, code) for code, name in pl.LANGUAGES.items()]
AUTO_PAIR_MODEL = ("Auto: the catalog model for the language pair", "")
FIRST_TASK = "sentiment-analysis"

# Which input (and option) components each task shows, by component key.
TASK_INPUTS: dict[str, tuple[str, ...]] = {
    "sentiment-analysis": ("text",),
    "zero-shot-classification": ("text", "labels", "multi_label"),
    "ner": ("text",),
    "question-answering": ("question", "context"),
    "summarization": ("text", "min_length", "max_length"),
    "translation": ("text", "pair"),
    "text-generation": ("text", "max_new_tokens", "temperature"),
    "fill-mask": ("text", "top_k"),
    "feature-extraction": ("text", "text_pair"),
    "automatic-speech-recognition": ("audio", "language"),
    "text-to-speech": ("text",),
    "text-to-audio": ("text", "duration_s", "seed"),
    "text-to-image": ("text", "seed", "steps", "width", "height"),
}
OUTPUTS_BY_KIND = {"labels": ("labels_out",), "entities": ("entities_out",), "answer": ("entities_out",),
                   "text": ("text_out",), "embedding": ("embed_out",), "audio": ("audio_out",),
                   "image": ("image_out",)}
INPUT_KEYS = ("text", "text_pair", "labels", "multi_label", "question", "context", "pair", "audio", "min_length",
              "max_length", "max_new_tokens", "temperature", "top_k", "language", "duration_s", "seed", "steps",
              "width", "height")
OPTION_KEYS = INPUT_KEYS[8:]
OUTPUT_KEYS = ("labels_out", "entities_out", "text_out", "embed_out", "audio_out", "image_out")


def _progress_fn(progress: Any):
    def report(message: str, done: float | None = None, total: float | None = None) -> None:
        try:
            progress(done / total if total else None, desc=message)
        except Exception:  # progress is cosmetic: never fail a run because the UI went away
            pass

    return report


def _run(task: str, inputs: dict, model: str | None, progress: Any, settings: Settings | None) -> pl.TaskResult:
    model = (model or "").strip() or None
    r = pl.run_task(task, dict(inputs), model=model, on_progress=_progress_fn(progress), settings=settings)
    r.asked = (model, dict(inputs))  # what the run was given: its notebook reproduces exactly that
    return r


def _info(r: pl.TaskResult) -> str:
    load = f"{r.load_s:.2f} s (cached from an earlier run)" if r.cache_hit else f"{r.load_s:.2f} s (first use)"
    parts = [f"**Model** `{esc(r.model)}`", f"**Device** {esc(r.device or '?')}", f"**Load** {load}",
             f"**Run** {r.seconds * 1000:.0f} ms" if r.seconds < 1 else f"**Run** {r.seconds:.2f} s"]
    text = " · ".join(parts)
    if r.notice:
        text += f"\n\n⚠️ {esc(r.notice)}"
    return text


def _done(r: pl.TaskResult, result_key: str, value: Any, raw_value: Any) -> dict:
    """A run's outputs by name: the status line, the result, the summary, the code and the raw result."""
    state = "warning" if r.notice else "done"
    took = f"{r.seconds * 1000:.0f} ms" if r.seconds < 1 else f"{r.seconds:.2f} s"
    status = status_html(state, f"{pl.TASKS[r.task].label} with {r.model} on {r.device or '?'} in {took}."
                         + (f" {r.notice}" if r.notice else ""))
    model, inputs = getattr(r, "asked", (None, {}))
    recipe = nbs.pipeline_recipe(r.task, model, inputs, r)  # the exact inputs: the code box runs as the notebook
    return {"status": status, result_key: value, "info": _info(r), "code": recipe.code, "raw": _raw(r, raw_value),
            "notebook": notebook_file("pipelines", r.task, recipe)}


def _raw(r: pl.TaskResult, value: Any) -> dict:
    return {"task": r.task, "model": r.model, "device": r.device, "run_s": round(r.seconds, 4),
            "load_s": round(r.load_s, 3), "cached": r.cache_hit, "notice": r.notice, "result": value,
            "details": {k: v for k, v in r.details.items() if k != "segments"} | (
                {"segments": r.details["segments"]} if "segments" in r.details else {})}


def _task_of(task: str, family: str) -> str:
    spec = pl.TASKS.get(task or "")
    if spec is None or spec.family != family:
        allowed = ", ".join(n for n, s in pl.TASKS.items() if s.family == family)
        raise InvalidInput(f"Task '{task}' does not belong here; choose one of: {allowed}.")
    return spec.name


@expensive
@ui_errors
def pipeline_classify(task: str, model: str | None = None, text: str | None = None, labels: str | None = None,
                      multi_label: bool = False, top_k: int = 5, progress=gr.Progress(), *,
                      settings: Settings | None = None):
    """Classify a text: sentiment, zero-shot labels, named entities, or the words that fill a mask.

    Args:
        task: "sentiment-analysis", "zero-shot-classification", "ner" or "fill-mask".
        model: a catalog id, any Hub id, or a local folder; empty = the task's default model.
        text: the text to classify (for fill-mask, with one <mask> or [MASK]).
        labels: zero-shot only: candidate labels separated by commas (at most 50).
        multi_label: zero-shot only: score each label on its own (several can be true).
        top_k: fill-mask only: how many candidate words to return.

    Returns:
        The status line, label scores or the entities highlighted in the text, a summary (model, device, timings),
        the code, and the raw result.
    """
    task = _task_of(task, "classify")
    inputs = {"text": text or "", "labels": labels or "", "multi_label": multi_label, "top_k": top_k}
    r = _run(task, inputs, model, progress, settings)
    if r.kind == "entities":
        highlighted = {"text": text, "entities": [{"entity": e["entity"], "start": e["start"], "end": e["end"]}
                                                  for e in r.value]}
        return {**_done(r, "entities_out", highlighted, r.value), "labels_out": None}
    return {**_done(r, "labels_out", {row["label"]: row["score"] for row in r.value}, r.value), "entities_out": None}


@expensive
@ui_errors
def pipeline_answer(model: str | None = None, question: str | None = None, context: str | None = None,
                    progress=gr.Progress(), *, settings: Settings | None = None):
    """Answer a question from a context (extractive: the answer is a span of the context).

    Args:
        model: a catalog id, any Hub id, or a local folder with a question-answering head; empty = the default.
        question: the question.
        context: the text that holds the answer (long contexts are read in overlapping windows).

    Returns:
        The status line, the context with the answer highlighted and its score, a summary, the code, and the raw
        result.
    """
    r = _run("question-answering", {"question": question or "", "context": context or ""}, model, progress,
             settings)
    a = r.value
    highlighted = {"text": context, "entities": [{"entity": f"answer · score {a['score']:.2f}", "start": a["start"],
                                                  "end": a["end"]}]}
    return _done(r, "entities_out", highlighted, a)


@expensive
@ui_errors
def pipeline_text(task: str, model: str | None = None, text: str | None = None, language_pair: str = "en-fr",
                  min_length: int = 10, max_length: int = 60, max_new_tokens: int = 40, temperature: float = 0.0,
                  progress=gr.Progress(), *, settings: Settings | None = None):
    """Generate text: summarize, translate, or continue a prompt.

    Args:
        task: "summarization", "translation" or "text-generation".
        model: a catalog id, any Hub id, or a local folder; empty = the default (for translation: the catalog
            model of the language pair).
        text: the text to summarize or translate, or the prompt to continue.
        language_pair: translation only: "src-tgt", e.g. "en-fr", "en-de", "en-es".
        min_length: summarization only: minimum summary length in tokens.
        max_length: summarization only: maximum summary length in tokens.
        max_new_tokens: text generation only: how many tokens to add.
        temperature: text generation only: 0 = greedy (deterministic), higher = more varied.

    Returns:
        The status line, the generated text, a summary (model, device, timings), the code, and the raw result.
    """
    task = _task_of(task, "text")
    src, _, tgt = (language_pair or "").partition("-")
    inputs = {"text": text or "", "src_lang": src, "tgt_lang": tgt, "min_length": min_length,
              "max_length": max_length, "max_new_tokens": max_new_tokens, "temperature": temperature}
    r = _run(task, inputs, model, progress, settings)
    return _done(r, "text_out", r.value, r.value)


def _embed_html(value: dict, dims: int) -> str:
    sim = value.get("similarity")
    head = (f"<div style='font-size:2.2em;font-weight:600'>{sim:.3f}</div><div>cosine similarity of the two texts "
            "(1 = same meaning, 0 = unrelated)</div>") if sim is not None else (
        "<div>Add a second text to compare the two.</div>")
    preview = ", ".join(f"{x:.3f}" for x in value["vector"][:8])
    return (f"<div id='pl-embed-box'>{head}<div style='margin-top:.6em'>Vector size: <b>{dims}</b> · first values: "
            f"<code>[{esc(preview)}, …]</code></div></div>")


@expensive
@ui_errors
def pipeline_embed(model: str | None = None, text: str | None = None, text_pair: str | None = None,
                   progress=gr.Progress(), *, settings: Settings | None = None):
    """Sentence embeddings (mean pooled, normalised) and the cosine similarity of two texts.

    Args:
        model: a catalog id, any Hub id, or a local folder (an encoder); empty = the default.
        text: the first text.
        text_pair: an optional second text to compare with the first.

    Returns:
        The status line, the similarity and vector size (HTML), a summary, the code, and the raw result (vector
        included).
    """
    r = _run("feature-extraction", {"text": text or "", "text_pair": text_pair or ""}, model, progress,
             settings)
    return _done(r, "embed_out", _embed_html(r.value, r.details["dimensions"]), r.value)


@expensive
@ui_errors
def pipeline_transcribe(audio: str, model: str | None = None, language: str | None = None, progress=gr.Progress(),
                        *, settings: Settings | None = None):
    """Transcribe speech to text (an uploaded file or a microphone recording).

    Args:
        audio: the audio file (any format ffmpeg reads; resampled to 16 kHz; limits WORKBENCH_MAX_AUDIO_MB and
            WORKBENCH_MAX_AUDIO_HOURS).
        model: a catalog id (e.g. openai/whisper-tiny), any Hub id, a local folder (transformers or CTranslate2)
            or "openai:whisper-1"; empty = the default. The same engine as the Minutes tab's transcribe.
        language: an ISO code such as "en" or "fr"; empty = detect.

    Returns:
        The status line, the transcript, a summary, the code, and the raw result (with timestamped segments).
    """
    r = _run("automatic-speech-recognition", {"audio": audio, "language": language or ""}, model, progress,
             settings)
    return _done(r, "text_out", r.value, r.value)


@expensive
@ui_errors
def pipeline_audio(task: str, model: str | None = None, text: str | None = None, duration_s: float = 5.0,
                   seed: int = -1, progress=gr.Progress(), *, settings: Settings | None = None):
    """Generate audio from text: speech (text-to-speech) or sound and music (text-to-audio).

    Args:
        task: "text-to-speech" or "text-to-audio".
        model: a catalog id, any Hub id, or a local folder; empty = the default (MMS-TTS / MusicGen small).
        text: the text to speak, or a description of the sound or music.
        duration_s: text-to-audio only: seconds of audio to generate (0.5 to 30).
        seed: text-to-audio only: random seed (-1 = random; the seed used is reported).

    Returns:
        The status line, the audio (playable and downloadable), a summary, the code, and the raw result.
    """
    from engines.audio import pcm16

    task = _task_of(task, "audio_out")
    r = _run(task, {"text": text or "", "duration_s": duration_s, "seed": None if seed in (None, -1) else seed},
             model, progress, settings)
    sr, audio = r.value
    raw = {"sampling_rate": sr, "samples": int(audio.size), "duration_s": round(audio.size / sr, 2)}
    return _done(r, "audio_out", (sr, pcm16(audio)), raw)


@expensive
@ui_errors
def pipeline_image(model: str | None = None, prompt: str | None = None, seed: int = -1, steps: int = 2,
                   width: int = 512, height: int = 512, progress=gr.Progress(), *,
                   settings: Settings | None = None):
    """Generate an image from a prompt with a diffusers pipeline.

    Args:
        model: a catalog id (e.g. stabilityai/sd-turbo), any Hub id, or a local folder; empty = the default.
        prompt: what to draw.
        seed: random seed (-1 = random; the seed used is reported).
        steps: denoising steps (turbo/schnell models need 1-4).
        width: image width in pixels (a multiple of 16, at least 64).
        height: image height in pixels (a multiple of 16, at least 64).

    Returns:
        The status line, the image (downloadable), a summary, the code, and the raw result.
    """
    inputs = {"text": prompt or "", "seed": None if seed in (None, -1) else seed, "steps": steps, "width": width,
              "height": height}
    r = _run("text-to-image", inputs, model, progress, settings)
    size = getattr(r.value, "size", None)
    return _done(r, "image_out", r.value, {"size": list(size) if size else None, "seed": r.details.get("seed")})


# ----------------------------------------------------------------------------------------------- layout


def _model_choices(task: str) -> tuple[list, str]:
    ids = pl.task_models(task)
    if task == "translation":
        return [AUTO_PAIR_MODEL] + ids, ""
    return ids, pl.TASKS[task].default_model


def _description(task: str) -> str:
    spec = pl.TASKS[task]
    default = "the catalog model of the language pair" if task == "translation" else f"`{spec.default_model}`"
    return (f"**{spec.label}** — {spec.description} Default model: {default}. Type any Hub id or a local folder "
            "in the model box to use another.")


def _example_values(task: str) -> dict[str, Any]:
    ex = pl.TASKS[task].example
    values: dict[str, Any] = {"text": ex.get("text", ""), "text_pair": ex.get("text_pair", ""),
                              "question": ex.get("question", ""), "context": ex.get("context", "")}
    values["labels"] = ", ".join(ex.get("labels", []))
    if task == "translation":
        values["pair"] = f"{ex.get('src_lang', 'en')}-{ex.get('tgt_lang', 'fr')}"
    return values


def family_tasks(family: str) -> list[tuple[str, str]]:
    """(label, key) of the tasks one endpoint runs (its own task choices, so its API lists only those)."""
    return [(spec.label, name) for name, spec in pl.TASKS.items() if spec.family == family]


def on_task(task: str) -> dict:
    """Updates, by name, for every input, option, button and output when the task changes (each shown only where it
    applies; the previous result is cleared)."""
    spec = pl.TASKS.get(task) or pl.TASKS[FIRST_TASK]
    task = spec.name
    shown = set(TASK_INPUTS[task])
    examples = _example_values(task)
    choices, value = _model_choices(task)
    updates: dict[str, Any] = {"model": gr.update(choices=choices, value=value), "about": _description(task)}
    for key in INPUT_KEYS:
        upd: dict[str, Any] = {"visible": key in shown}
        if key in examples:
            upd["value"] = examples[key]
        if key == "text":
            upd["label"] = {"text-to-image": "Prompt", "text-to-audio": "Describe the sound or music",
                            "text-generation": "Prompt", "feature-extraction": "Text"}.get(task, "Text")
        updates[key] = gr.update(**upd)
    updates["options"] = gr.update(visible=bool(shown & set(OPTION_KEYS)))
    for fam in FAMILIES:
        updates[f"run_{fam}"] = gr.update(visible=spec.family == fam)
        if fam in TASK_FAMILIES:
            updates[f"task_{fam}"] = task if spec.family == fam else gr.update()
    outs = set(OUTPUTS_BY_KIND[spec.kind] if task != "ner" else ("entities_out",))
    updates.update({key: gr.update(visible=key in outs, value=None) for key in OUTPUT_KEYS})
    return {**updates, "status": "", "info": "", "code": "", "raw": None, "notebook": None}


def _inputs() -> dict[str, Any]:
    first = _example_values(FIRST_TASK)
    c: dict[str, Any] = {
        "text": gr.Textbox(first["text"], lines=4, max_lines=20, label="Text", elem_id="pl-text"),
        "text_pair": gr.Textbox(label="Second text (to compare)", lines=2, visible=False, elem_id="pl-text-pair"),
        "labels": gr.Textbox(label="Candidate labels (comma-separated)", visible=False, elem_id="pl-labels-in"),
        "multi_label": gr.Checkbox(False, label="Several labels can be true (multi-label)", visible=False),
        "question": gr.Textbox(label="Question", visible=False, elem_id="pl-question"),
        "context": gr.Textbox(label="Context", lines=6, max_lines=20, visible=False, elem_id="pl-context"),
        "pair": ChoiceBox(PAIR_CHOICES, value=PAIR_CHOICES[0][1] if PAIR_CHOICES else None,
                           label="Language pair", visible=False, elem_id="pl-pair"),
        "audio": gr.Audio(sources=["upload", "microphone"], type="filepath", label="Audio (upload or record)",
                          visible=False, elem_id="pl-audio"),
    }
    with gr.Accordion("Options", open=False, visible=False) as options:
        with gr.Row():
            c["min_length"] = gr.Slider(0, 200, 10, step=1, label="Summary: min tokens", visible=False)
            c["max_length"] = gr.Slider(8, 512, 60, step=1, label="Summary: max tokens", visible=False)
            c["max_new_tokens"] = gr.Slider(1, 512, 40, step=1, label="Max new tokens", visible=False)
            c["temperature"] = gr.Slider(0, 2, 0, step=0.05, label="Temperature (0 = greedy)", visible=False)
            c["top_k"] = gr.Slider(1, 20, 5, step=1, label="Top k words", visible=False)
            c["language"] = gr.Dropdown(ASR_LANGUAGES, value="", label="Spoken language", visible=False)
        with gr.Row():
            c["duration_s"] = gr.Slider(0.5, 30, 5, step=0.5, label="Duration (s)", visible=False)
            c["seed"] = gr.Number(-1, precision=0, label="Seed (-1 = random)", visible=False)
            c["steps"] = gr.Slider(1, 50, 2, step=1, label="Steps", visible=False)
            c["width"] = gr.Slider(64, 1024, 512, step=16, label="Width", visible=False)
            c["height"] = gr.Slider(64, 1024, 512, step=16, label="Height", visible=False)
    c["options"] = options
    return c


def _outputs() -> dict[str, Any]:
    return {
        "labels_out": gr.Label(num_top_classes=10, label="Scores", elem_id="pl-labels-out"),
        "entities_out": gr.HighlightedText(label="Highlighted", show_legend=True, combine_adjacent=False,
                                           visible=False, elem_id="pl-entities-out"),
        "text_out": gr.Textbox(label="Output", lines=6, max_lines=30, interactive=False, visible=False,
                               buttons=["copy"], elem_id="pl-text-out"),
        "embed_out": gr.HTML(visible=False, elem_id="pl-embed-out"),
        "audio_out": gr.Audio(label="Audio", type="numpy", interactive=False, visible=False,
                              buttons=["download"], elem_id="pl-audio-out"),
        "image_out": gr.Image(label="Image", type="pil", format="png", interactive=False, visible=False,
                              buttons=["download"], elem_id="pl-image-out"),
    }


TASK_FAMILIES = ("classify", "text", "audio_out")  # the endpoints that take a task


def _wire(c: dict, o: dict, model, tasks: dict, buttons: dict, settings: Settings) -> None:
    events = {
        "classify": (pipeline_classify, [tasks["classify"], model, c["text"], c["labels"], c["multi_label"],
                                         c["top_k"]], ("labels_out", "entities_out"), "pipeline_classify"),
        "answer": (pipeline_answer, [model, c["question"], c["context"]], ("entities_out",), "pipeline_answer"),
        "text": (pipeline_text, [tasks["text"], model, c["text"], c["pair"], c["min_length"], c["max_length"],
                                 c["max_new_tokens"], c["temperature"]], ("text_out",), "pipeline_text"),
        "embed": (pipeline_embed, [model, c["text"], c["text_pair"]], ("embed_out",), "pipeline_embed"),
        "audio_in": (pipeline_transcribe, [c["audio"], model, c["language"]], ("text_out",), "pipeline_transcribe"),
        "audio_out": (pipeline_audio, [tasks["audio_out"], model, c["text"], c["duration_s"], c["seed"]],
                      ("audio_out",), "pipeline_audio"),
        "image": (pipeline_image, [model, c["text"], c["seed"], c["steps"], c["width"], c["height"]],
                  ("image_out",), "pipeline_image"),
    }
    for family, (fn, inputs, results, api_name) in events.items():
        outputs = {"status": o["status"], **{k: o[k] for k in results}, "info": o["info"], "code": o["code"],
                   "raw": o["raw"], "notebook": o["notebook"]}
        on(buttons[family].click, with_settings(fn, settings), inputs, outputs, api_name=api_name, status="status",
           clear=(*results, "info", "code", "raw", "notebook"), running="Loading the model (first use downloads it)…",
           **GPU_EVENT)


def build(ctx: Context | Settings | None = None, links: Links | None = None) -> None:
    """Render the Pipelines tab inside the current Blocks.

    Args:
        ctx: the app's context (``engines.context``), or bare settings.
        links: cross-tab targets; this tab receives a model id as "pipelines.model" and a task as "pipelines.task".
    """
    ctx = as_context(ctx)
    with gr.Tab("Pipelines", id="pipelines"):
        gr.Markdown("Every transformers pipeline task in two clicks: pick a task, press **Run**. Each result "
                    "shows the model, device and timings, and the few lines of plain transformers/diffusers code "
                    "that reproduce it.")
        with gr.Row():
            task = gr.Dropdown(TASK_CHOICES, value=FIRST_TASK, label="Task", elem_id="pl-task", scale=1,
                               min_width=220)  # on a phone the row wraps: the task's name shows whole
            choices, value = _model_choices(FIRST_TASK)
            model = ModelBox(choices, value=value, label="Model (catalog, Hub id or local folder)",
                             elem_id="pl-model", scale=2)
        # each endpoint's own task (hidden, kept in step with the one above): its API offers only its tasks
        tasks = {fam: gr.Dropdown(family_tasks(fam), value=FIRST_TASK if fam == "classify" else
                                  family_tasks(fam)[0][1], visible=False, label="Task") for fam in TASK_FAMILIES}
        about = gr.Markdown(_description(FIRST_TASK), elem_id="pl-about")
        c = _inputs()
        buttons = {fam: gr.Button("Run", variant="primary", visible=fam == "classify", elem_id=f"pl-run-{fam}")
                   for fam in FAMILIES}
        o = {"status": gr.HTML(elem_id="pl-status"), **_outputs(), "info": gr.Markdown(elem_id="pl-info")}
        with gr.Accordion("Show code and notebook", open=False):
            o["code"] = gr.Code(language="python", label="Reproduce with plain transformers / diffusers",
                                elem_id="pl-code")
            o["notebook"] = gr.File(label=NOTEBOOK_LABEL, interactive=False, elem_id="pl-notebook")
        with gr.Accordion("Raw result (JSON)", open=False):
            o["raw"] = gr.JSON(label="Result")
        _wire(c, o, model, tasks, buttons, ctx.settings)
        changed = {"model": model, "about": about, **{k: c[k] for k in INPUT_KEYS}, "options": c["options"],
                   **{f"run_{f}": buttons[f] for f in FAMILIES}, **{f"task_{f}": tasks[f] for f in TASK_FAMILIES},
                   **{k: o[k] for k in (*OUTPUT_KEYS, "status", "info", "code", "raw", "notebook")}}
        on(task.change, on_task, [task], changed, api_name=False)
    if links is not None:
        links.register("pipelines.task", "pipelines", task)
        links.register("pipelines.model", "pipelines", model)
