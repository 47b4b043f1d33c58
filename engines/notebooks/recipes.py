"""One recipe per tab run: built from what the run actually used (model, quantization, device, inputs, seed), it
holds the code the tab shows and everything its notebook needs (``build_notebook(recipe)``), so the two agree."""

from __future__ import annotations

import json
from typing import Any

from engines.backends.types import Recipe
from engines.notebooks.build import fence

_JSON = "import json\n\n"
_IMAGE_RESULT = ("import hashlib\nimport json\n\nimport numpy as np\n\n"
                 "pixels = np.asarray(image.convert('RGB'))\n"
                 "print(json.dumps({'size': list(image.size),\n"
                 "                  'sha256': hashlib.sha256(pixels.tobytes()).hexdigest()}))")
_BNB = ("4bit", "8bit")


def _gpu_reason(quantization: str = "", device: str = "") -> str | bool:
    if quantization in _BNB:
        return f"The app loaded this model in {quantization} (bitsandbytes), which needs CUDA."
    if (device or "").startswith("cuda"):
        return "The app ran this on a GPU."
    return False


def _gpu(reason: str | bool) -> dict:
    """Recipe fields from a GPU reason (a sentence, True, or False)."""
    return {"gpu": bool(reason), "gpu_reason": reason if isinstance(reason, str) else ""}


def ran_quantization(quantization: str | None) -> str:
    """The quantization to write into code: the one the run used ("auto", "n/a" or none: fp32, as on a CPU)."""
    return quantization if quantization not in (None, "", "n/a", "auto") else "fp32"


def _shown_json(value: Any, limit: int = 4000) -> str:
    text = json.dumps(value, ensure_ascii=False, indent=1, default=float)
    return fence(text if len(text) <= limit else text[:limit] + "\n…", "json")


def tokenizers_recipe(tokenizers: list[str] | str, text: str, *, add_special_tokens: bool = True,
                        ids: dict[str, list[int]] | None = None) -> Recipe:
    """The Tokenizers tab's run: ``text`` tokenized by each tokenizer, with ids.

    Args:
        tokenizers: the references tokenized with (as given).
        text: the text.
        add_special_tokens: as the run had it.
        ids: reference → the ids the app returned (``Tokenization.ids``), shown to compare against.

    Returns:
        A recipe whose notebook's result is ``{"ids": {reference: [ids]}}``.
    """
    from engines.snippets.tokenizers import tokenize_code

    names = [tokenizers] if isinstance(tokenizers, str) else list(tokenizers)
    shown = "\n\n".join(f"**{name}**: {len(v):,} tokens\n\n{fence(json.dumps(v[:2000]))}"
                        for name, v in (ids or {}).items())
    return Recipe(title=f"Tokenize a text with {len(names)} tokenizer(s)",
                  code=tokenize_code(names, text, add_special_tokens=add_special_tokens),
                  notes=["Tokens and ids of the text under each tokenizer, with counts and the round-trip check, as "
                         "the Tokenizers tab shows them."],
                  outputs_markdown=shown, result_cell=_JSON + "print(json.dumps({'ids': ids_by_tokenizer}))")


def _pipeline_result(task: str, kind: str) -> str:
    if task == "automatic-speech-recognition":
        return _JSON + "print(json.dumps(text))"
    if kind == "image":
        return "image = result\n" + _IMAGE_RESULT
    if kind == "audio":
        return _JSON + ("print(json.dumps({'sampling_rate': int(result['sampling_rate']), "
                        "'samples': int(result['audio'].size)}))")
    return _JSON + "print(json.dumps(result, default=float))"


def _pipeline_value(result: Any) -> Any:
    value = result.value
    if result.kind == "embedding":
        vector = list(value.get("vector") or [])
        return {"dimensions": len(vector), "vector[:8]": vector[:8], "similarity": value.get("similarity")}
    if result.kind == "image":
        return {"size": list(getattr(value, "size", ())), "seed": result.details.get("seed")}
    if result.kind == "audio":
        rate, samples = value
        return {"sampling_rate": rate, "seconds": round(len(samples) / rate, 2) if rate else None}
    return value


def pipeline_recipe(task: str, model: str, inputs: dict, result: Any) -> Recipe:
    """A Pipelines tab run.

    Args:
        task: the TASKS key run.
        model: the model reference run (as given; the task's default when none was given: ``result.model``).
        inputs: the inputs passed to ``run_task``.
        result: the ``TaskResult`` it returned (its ``details`` carry the generation settings and seed).

    Returns:
        A recipe whose notebook's result is the value in the app's shape (an image or audio: its size and a pixel
        hash).
    """
    from engines.pipelines import TASKS
    from engines.snippets.pipelines import code_snippet

    spec = TASKS.get(task)
    model = (model or "").strip() or result.model
    code = code_snippet(task, model, inputs, result.details, max_chars=None)
    needs = "audio" in (spec.inputs if spec else ()) and "Upload the recording as `audio.wav` next to this notebook."
    facts = (f"Model `{result.model}` on {result.device or 'cpu'}, {result.seconds:.2f} s."
             + (f"\n\nNotice: {result.notice}" if result.notice else ""))
    return Recipe(title=f"{spec.label if spec else task} with {model}", code=code,
                  notes=[p for p in (f"Runs the {task} task on the same inputs as the Pipelines tab did.", needs)
                         if p],
                  outputs_markdown=f"{facts}\n\n{_shown_json(_pipeline_value(result))}",
                  **_gpu(_gpu_reason(device=result.device)), result_cell=_pipeline_result(task, result.kind))


def chat_recipe(model: str, messages: list[dict], *, quantization: str = "fp32", max_new_tokens: int = 256,
                  temperature: float = 0.0, text: str = "", stats: Any = None) -> Recipe:
    """One Compare column: a chat generation as ``stream_chat`` ran it.

    Args:
        model: the column's model reference.
        messages: the messages sent.
        quantization: the quantization used (``GenerationStats.quantization``; "n/a" for API models).
        max_new_tokens: the generation limit.
        temperature: the temperature (0 = greedy: the notebook writes the same text).
        text: the column's text, shown to compare against.
        stats: the column's ``GenerationStats`` (device, tokens, speed), if any.

    Returns:
        A recipe whose notebook's result is ``{"text": ...}``.
    """
    from engines.snippets.chat import chat_code

    quantization = ran_quantization(quantization)
    code = chat_code(model, messages, quantization=quantization, max_new_tokens=max_new_tokens,
                     temperature=temperature)
    numbers = (f"{stats.tokens} tokens at {stats.tokens_per_s:.1f} tokens/s on {stats.device} ({stats.quantization})"
               if stats is not None else "")
    sampled = "" if temperature <= 0 else " Sampled (temperature > 0): each run writes a different text."
    return Recipe(title=f"Chat with {model}", code=code,
                  notes=[f"One generation of at most {max_new_tokens} tokens at temperature {temperature:g}, as the "
                         f"Compare tab ran it.{sampled}"],
                  outputs_markdown=(numbers + "\n\n" if numbers else "") + fence(text),
                  **_gpu(_gpu_reason(quantization, getattr(stats, "device", ""))),
                  result_cell=_JSON + "print(json.dumps({'text': text}))")


def next_token_recipe(model: str, messages: list[dict], rows: list[Any], *, steps: int, top_k: int,
                        temperature: float = 0.0, quantization: str = "fp32", seed: int | None = None,
                        prompt_format: str = "chat") -> Recipe:
    """The next-token view: step by step, the top-k candidates and their probabilities.

    Args:
        model: the model reference.
        messages: the chat messages.
        rows: the ``TokenStep`` rows the app showed.
        steps: steps asked for.
        top_k: candidates per step.
        temperature: 0 = argmax; above it, a seeded draw.
        quantization: the quantization the model ran with.
        seed: the seed passed to ``next_token_table`` (needed to reproduce a sampled run).
        prompt_format: "raw" or "chat", as passed to ``next_token_table``.

    Returns:
        A recipe whose notebook's result is ``{"table": [{token, id, prob, candidates: [[token, id, prob]]}]}``.
    """
    from engines.snippets.chat import next_token_code

    quantization = ran_quantization(quantization)
    code = next_token_code(model, messages, steps=steps, top_k=top_k, temperature=temperature,
                           quantization=quantization, seed=seed, prompt_format=prompt_format)
    seen = rows[0].prompt_text if rows and getattr(rows[0], "prompt_text", None) else None
    lines = [f"The model read ({'raw text' if prompt_format == 'raw' else 'chat template'}):", "", fence(seen), ""] \
        if seen is not None else []
    lines += ["| step | token | p | top candidates |", "|---:|---|---:|---|"]
    for r in rows:
        cands = ", ".join(f"`{c.token!r}` {c.prob:.4f}" for c in r.candidates)
        lines.append(f"| {r.step} | `{r.token!r}` | {r.prob:.4f} | {cands} |".replace("\n", " "))
    device = rows[0].device if rows else ""
    return Recipe(title=f"Next-token probabilities of {model}", code=code,
                  notes=[f"{'Raw text' if prompt_format == 'raw' else 'Chat template'}, {steps} steps, top {top_k}, "
                         f"temperature {temperature:g}"
                         + (f", seed {seed}" if seed is not None and temperature > 0 else "") + "."],
                  outputs_markdown="\n".join(lines), **_gpu(_gpu_reason(quantization, device)),
                  result_cell=_JSON + "print(json.dumps({'table': table}))")


def transcription_recipe(transcript: Any, *, audio_file: str = "meeting.mp3") -> Recipe:
    """Minutes tab, step 1: the transcription (``speech.transcribe``'s ``Transcript``), same backend and language.

    Returns:
        A recipe whose notebook's result is the transcript text (as ``Transcript.text``), reading ``audio_file``.
    """
    from engines.snippets.speech import transcribe_code

    t = transcript
    code = transcribe_code(t.source.get("ref", t.model), t.backend, device=t.device or "cpu",
                           dtype=t.source.get("dtype") or "float32",
                           language=t.source.get("decode_language", t.language),
                           multilingual=t.source.get("multilingual", True), audio_file=audio_file,
                           max_new_tokens=t.source.get("max_new_tokens"))
    return Recipe(title=f"Transcribe a recording with {t.model}", code=code,
                  notes=[f"Upload the recording as `{audio_file}` next to this notebook (on Colab: the Files panel). "
                         f"Language {t.language or 'detected'}, greedy decoding."],
                  outputs_markdown=f"{t.duration_s:.1f} s of audio, language {t.language or 'unknown'}, "
                                   f"{len(t.segments)} segments.\n\n{fence(t.timestamped_text()[:20000])}",
                  **_gpu(_gpu_reason(device=t.device)), result_cell=_JSON + "print(json.dumps({'text': text}))")


def minutes_recipe(transcript: str, model: str, *, max_new_tokens: int = 1024, quantization: str = "fp32",
                     minutes: str = "", stats: Any = None) -> Recipe:
    """Minutes tab, step 2: minutes written from the transcript with the app's prompt (one call, greedy).

    Args:
        transcript: the transcript the minutes were written from (embedded: the notebook writes transcript.txt).
        model: the chat model reference.
        max_new_tokens: the limit on the minutes' length.
        quantization: the quantization of a local model (``GenerationStats.quantization``).
        minutes: the minutes the app wrote, shown to compare against.
        stats: the run's ``GenerationStats`` (device), if any.

    Returns:
        A recipe whose notebook's result is ``{"text": minutes}``.
    """
    from engines.snippets.speech import minutes_code

    quantization = ran_quantization(quantization)
    write = ("# the transcript the app wrote the minutes from\n"
             f"TRANSCRIPT = {json.dumps(transcript, ensure_ascii=False)}\n"
             "with open('transcript.txt', 'w', encoding='utf-8') as f:\n    f.write(TRANSCRIPT)\n")
    return Recipe(title=f"Meeting minutes with {model}", setup=[write],
                  code=minutes_code(model, max_new_tokens, quantization=quantization),
                  notes=["The minutes prompt of the app on the transcript, greedy, stopped where the text starts "
                         "repeating itself (the app's repetition stop). A transcript longer than the model's context "
                         "is summarised part by part in the app first."],
                  outputs_markdown=fence(minutes, "markdown"),
                  **_gpu(_gpu_reason(quantization, getattr(stats, "device", ""))),
                  result_cell=_JSON + "print(json.dumps({'text': text}))")


def _thumbnail_png(image: Any, size: int = 256) -> str:
    import base64
    import io

    thumb = image.convert("RGB").copy()
    thumb.thumbnail((size, size))
    buf = io.BytesIO()
    thumb.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def image_recipe(result: Any) -> Recipe:
    """An Images tab run (``generate_image``'s ``ImageResult``): same pipeline, dtype, placement, arguments, seed.

    Returns:
        A recipe whose notebook's result is ``{"size": [w, h], "sha256": <hash of the RGB pixels>}``; its last cell
        shows a thumbnail of the app's image.
    """
    import hashlib

    import numpy as np

    from engines.images import code_snippet

    plan = result.plan
    gpu = bool(plan and plan.device == "cuda") and f"The app ran it as {plan.label}."
    sha = hashlib.sha256(np.asarray(result.image.convert("RGB")).tobytes()).hexdigest()
    shown = (f"Seed {result.seed}, {result.steps} steps, {result.width}×{result.height}, guidance "
             f"{result.guidance_scale:g}, {result.pipeline} ({plan.label if plan else 'fp32 · CPU'}), "
             f"{result.seconds:.1f} s.\n\nPixel SHA-256: `{sha}`\n\n![the app's image](attachment:app-image.png)")
    return Recipe(title=f"Generate an image with {result.model}", code=code_snippet(result),
                  notes=["The same seed gives the same image on the same device and dtype (the noise comes from a CPU "
                         "generator)."],
                  outputs_markdown=shown, **_gpu(gpu), result_cell=_IMAGE_RESULT,
                  attachments={"app-image.png": {"image/png": _thumbnail_png(result.image)}})


def _compile_cell() -> str:
    from engines import sandbox

    comp = sandbox.detect_compiler()
    command = comp.display if comp else "g++ -O3 -std=c++17 main.cpp -o main"
    return ("import shlex\nimport subprocess\n\n"
            f"build = subprocess.run(shlex.split({command!r}), capture_output=True, text=True)\n"
            "print(build.stderr.strip() or 'compiled')\n"
            "run = subprocess.run(['./main'], capture_output=True, text=True, timeout=120) "
            "if build.returncode == 0 else None\n"
            "print(run.stdout if run else '')\n")


def code_recipe(model: str, python_code: str, *, cpp: str = "", run: Any = None) -> Recipe:
    """A Code tab conversion: the model's C++ for the program, then compiled and run with the app's flags.

    Args:
        model: the converting model's reference.
        python_code: the Python program converted.
        cpp: the C++ the app ended with (shown; after fixes or edits it can differ from the first answer).
        run: the app's ``RunResult`` of that C++ (stdout and exit code shown).

    Returns:
        A recipe whose notebook's result is ``{"compiled", "exit_code", "stdout"}``.
    """
    from engines.codeconv import show_code

    shown = fence(cpp, "cpp") if cpp else ""
    if run is not None:
        shown += f"\n\nExit code {run.exit_code}; output:\n\n{fence(run.stdout)}"
    return Recipe(title=f"Convert a Python program to C++ with {model}", code=show_code(model, python_code),
                  after=[_compile_cell()],
                  notes=["The conversion prompt of the app, greedy; the C++ in the answer is written to main.cpp, "
                         "compiled with the app's compiler flags and run."],
                  outputs_markdown=shown, result_cell=_JSON + _CODE_RESULT)


_CODE_RESULT = ("print(json.dumps({'compiled': build.returncode == 0, 'exit_code': run.returncode if run else None,\n"
                "                  'stdout': run.stdout if run else ''}))")


def synthetic_recipe(stats: Any, rows: list[dict] | None = None) -> Recipe:
    """A Synthetic data run: its last batch (messages, temperature, token limit) sent again and parsed.

    Args:
        stats: the run's ``engines.synthetic.RunStats``.
        rows: the rows the app kept, shown to compare against (the app also validates and dedupes them).

    Returns:
        A recipe whose notebook's result is ``{"rows": [...]}`` (every JSON line of the answer).
    """
    from engines.synthetic import code_snippet

    code = code_snippet(stats)
    local = "'path/to/model'" in code and "Replace `path/to/model` with the model folder the app used."
    shown = f"{stats.message}\n\n" if stats.message else ""
    shown += fence("\n".join(json.dumps(r, ensure_ascii=False, default=str) for r in (rows or [])[:50]), "json")
    return Recipe(title=f"Synthetic rows with {stats.model}", code=code,
                  notes=[p for p in ("One batch of the run, as the app sent it; the rows are the JSON lines of the "
                                     "answer.", local) if p],
                  outputs_markdown=shown, **_gpu(_gpu_reason(stats.quantization, stats.device)),
                  result_cell=_JSON + "print(json.dumps({'rows': rows}, default=str))")


_DATA_INLINE_MAX = 5 * 2**20  # larger data files are not copied into the notebook: put them next to it


def _data_cell(folder: Any) -> str:
    """A cell writing the run's train.jsonl / heldout.jsonl next to the notebook (the data it trained on)."""
    from pathlib import Path

    files = {name: Path(folder) / "data" / name for name in ("train.jsonl", "heldout.jsonl")}
    present = {name: p for name, p in files.items() if p.is_file() and p.stat().st_size}
    if sum(p.stat().st_size for p in present.values()) > _DATA_INLINE_MAX:
        return ("# The run's data files are too large to copy here: put train.jsonl"
                + (" and heldout.jsonl" if "heldout.jsonl" in present else "") + " (the run folder's data/) next to "
                "this notebook.")
    lines = ["# the run's data, as the Fine-tune tab split and wrote it"]
    for name, path in present.items():
        lines.append(f"with open({name!r}, 'w', encoding='utf-8') as f:")
        lines.append(f"    f.write({path.read_text(encoding='utf-8')!r})")
    return "\n".join(lines)


def finetune_recipe(view: Any, *, with_data: bool = True) -> Recipe:
    """A Fine-tune run: the same data, base and hyperparameters through plain peft + trl.

    Args:
        view: the run (``engines.finetune.RunView``: its spec, folder with data/, status and metrics).
        with_data: copy the run's data files into a setup cell (False while it trains: the code box alone is shown,
            and the files are not read on every refresh; the code is the same).

    Returns:
        A recipe whose notebook's result is ``{"steps": int, "loss": last logged training loss}``.
    """
    from engines.snippets.finetune import finetune_code

    spec, status = view.spec, view.status
    train = [m for m in view.metrics if m.get("kind") == "train"]
    held = [m for m in view.metrics if m.get("kind") == "eval"]
    shown = [f"- **steps**: {status.get('step', 0)} of {status.get('max_steps') or spec.total_steps}"]
    if train:
        shown.append(f"- **training loss**: {train[0]['loss']:.4f} at step {train[0]['step']} → "
                     f"{train[-1]['loss']:.4f} at step {train[-1]['step']}")
    if held:
        shown.append(f"- **held-out loss**: {held[-1]['eval_loss']:.4f} at step {held[-1]['step']}")
    return Recipe(title=f"Fine-tune {spec.base_display or spec.base} ({spec.hyper.method})",
                  setup=[_data_cell(view.folder)] if with_data else [], code=finetune_code(spec),
                  notes=["The run's data, base model and hyperparameters with plain peft + trl (the app's worker runs "
                         "the same trainer)."],
                  outputs_markdown="\n".join(shown),
                  **_gpu(_gpu_reason(spec.quantization, spec.device)),
                  result_cell=_JSON + "logged = [r for r in trainer.state.log_history if 'loss' in r]\n"
                              "print(json.dumps({'steps': trainer.state.global_step,\n"
                              "                  'loss': logged[-1]['loss'] if logged else None}))")
