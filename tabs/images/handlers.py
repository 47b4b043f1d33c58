"""Images tab: FLUX.1 [schnell] (or any diffusers text-to-image pipeline), reproducible seeds, per-step progress,
a session gallery of PNGs that carry their own metadata, and the diffusers code that reproduces each image."""

from __future__ import annotations

import re

import gradio as gr

from engines import images as im
from engines import notebooks as nbs
from engines import prompts, registry
from engines.config import Settings
from engines.context import Context, as_context
from engines.errors import InvalidInput
from tabs.common import (
    GPU_EVENT,
    NOTEBOOK_LABEL,
    Links,
    esc,
    expensive,
    export_folder,
    notebook_file,
    on,
    status_html,
    ui_errors,
    with_settings,
)
from tabs.kit.pickers import model_picker

CUSTOM = "Custom"
SIZE_PRESETS: dict[str, tuple[int, int]] = {
    "1024 × 1024 · square": (1024, 1024),
    "1344 × 768 · 16:9": (1344, 768),
    "768 × 1344 · 9:16": (768, 1344),
    "1152 × 896 · 4:3": (1152, 896),
    "896 × 1152 · 3:4": (896, 1152),
    "768 × 768 · square, faster": (768, 768),
    "512 × 512 · SD-Turbo, CPU": (512, 512),
}
MAX_IMAGES = 4
MAX_STEPS_UI = 8
GALLERY_LIMIT = 48


def _int(value, name: str) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"The {name} must be a whole number; got '{value}'.") from None
    if not number.is_integer():
        raise InvalidInput(f"The {name} must be a whole number; got {value}.")
    return int(number)


def _seeds(seed_text, randomize: bool, count: int) -> list[int]:
    seed = None if randomize else im.parse_seed(seed_text)
    if seed is None:
        seed = im.random_seed()
    return [(seed + i) % (im.MAX_SEED + 1) for i in range(count)]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower())[:40].strip("-") or "image"


def _stats(results: list[im.ImageResult], total_s: float) -> str:
    r = results[0]
    plan = r.plan
    load = "from cache" if r.cache_hit else f"loaded in {r.load_s:.1f} s"
    per_step = sum(x.seconds_per_step for x in results) / len(results)
    lines = [f"**{esc(r.model)}** · `{r.pipeline}` · {esc(plan.label if plan else '')} · {load}",
             f"{len(results)} image(s) in **{total_s:.2f} s** · {r.seconds:.2f} s for the first · "
             f"**{per_step:.3f} s/step** · {r.steps} steps · {r.width}×{r.height} · guidance {r.guidance_scale:g}"
             + (f" · max_sequence_length {r.max_sequence_length}" if r.max_sequence_length else "")]
    if r.prompt_tokens is not None:
        lines.append(f"Prompt: {r.prompt_tokens} tokens (the text encoder reads {r.prompt_token_limit})")
    if plan and plan.reason:
        lines.append(f"Why this load: {esc(plan.reason)}")
    from engines.gpu import gpu_memory

    mem = gpu_memory()
    if mem:
        lines.append(f"GPU: {esc(mem['name'])} · peak {mem['peak'] / 2**30:.1f} GiB of {mem['total'] / 2**30:.0f} GiB")
    lines += [f"⚠️ {esc(n)}" for n in dict.fromkeys(n for x in results for n in x.notices)]
    return "  \n".join(lines)


@expensive
@ui_errors
def generate(prompt: str, model: str, seed: str, randomize: bool, steps: float, width: float, height: float,
             num_images: float, allow_cpu_large: bool, history: list | None = None, progress=gr.Progress(), *,
             settings=None):
    """Generate images from a prompt with a diffusers text-to-image model (FLUX.1 [schnell] by default).

    Args:
        prompt: what to draw.
        model: a catalog id ("black-forest-labs/FLUX.1-schnell", "stabilityai/sd-turbo"), any diffusers
            text-to-image Hub id, or a local pipeline folder where allowed.
        seed: the seed as a whole number from 0 to 4294967295 (a string keeps it exact); ignored when randomize.
        randomize: pick a random seed (the seed used is returned).
        steps: denoising steps, 1 to 8 (FLUX.1 [schnell] and SD-Turbo: 1-4).
        width: pixels, a multiple of 16 from 64 to 2048.
        height: pixels, a multiple of 16 from 64 to 2048.
        num_images: 1 to 4; image k uses seed + k.
        allow_cpu_large: run a large model such as FLUX on a machine without a GPU anyway (very slow).

    Returns:
        The status line, the session gallery, the seeds used (exact integers, comma separated), stats, the PNG files
        (full resolution, with metadata), the diffusers code for the first image, and its metadata.
    """
    count = _int(num_images, "number of images")
    if not 1 <= count <= MAX_IMAGES:
        raise InvalidInput(f"Generate 1 to {MAX_IMAGES} images at a time; got {count}.")
    n_steps, w, h = _int(steps, "number of steps"), _int(width, "width"), _int(height, "height")
    im.check_prompt(prompt)
    im.check_steps(n_steps)
    im.check_size(w, h)
    seeds = _seeds(seed, bool(randomize), count)
    out_dir = export_folder("images")
    results, files = [], []
    progress(0, desc="Loading the model (first use downloads it)…")
    for k, s in enumerate(seeds):
        def on_step(step: int, total: int, k: int = k) -> None:
            progress((k * total + step) / (count * total), desc=f"Image {k + 1}/{count} · step {step}/{total}")

        r = im.generate_image(prompt, model=model or None, seed=s, num_inference_steps=n_steps, width=w, height=h,
                              on_step=on_step, allow_cpu_large=bool(allow_cpu_large), settings=settings)
        results.append(r)
        files.append(str(r.save_png(out_dir / f"{_slug(r.prompt)}-{r.seed}.png")))
    total_s = sum(r.seconds for r in results)
    captions = [f"seed {r.seed} · {r.steps} steps · {r.width}×{r.height} · {r.model}" for r in results]
    shown = ([[f, c] for f, c in zip(files, captions, strict=True)] + list(history or []))[:GALLERY_LIMIT]
    if isinstance(history, list):  # the session's gallery, kept server side
        history[:] = shown
    meta = {**results[0].metadata, "seeds": [str(r.seed) for r in results]}
    notices = any(n for r in results for n in r.notices)
    recipe = nbs.image_recipe(results[0])  # the first image's run: its code box and notebook
    done = f"{count} image(s) in {total_s:.1f} s on {results[0].plan.label if results[0].plan else 'this machine'}."
    return {"status": status_html("warning" if notices else "done", done + (" See the notes under Stats." if notices
                                                                             else "")),
            "gallery": [(f, c) for f, c in shown], "seeds": ", ".join(str(r.seed) for r in results),
            "stats": _stats(results, total_s), "files": files, "code": recipe.code, "meta": meta,
            "notebook": notebook_file("images", f"image-{results[0].seed}", recipe)}


@ui_errors
def describe_plan(model: str) -> str:
    """How a text-to-image model would be loaded on this machine (device, dtype, 4-bit components, offload).

    Args:
        model: a catalog id, a diffusers Hub id, or a local pipeline folder where allowed.

    Returns:
        Markdown: the load plan and why it was chosen.
    """
    ref, plan, flux = im.plan_for(model or None)
    text = f"**Load plan for {esc(ref.display)}:** {esc(plan.label)}. {esc(plan.reason)}"
    if plan.slow:
        text += (f"  \n⚠️ **{esc(ref.display)} needs a GPU.** Choose {registry.default_for('image', 'cpu')} for this "
                 "machine, or tick *Run large models on CPU anyway*.")
    if flux:
        text += f"  \nFLUX: guidance 0 (schnell), max_sequence_length {im.FLUX_MAX_SEQUENCE}, 1-4 steps."
    return {"plan": text}


def hardware_note(settings: Settings) -> str:
    """What the tab says about this machine before anything loads (no torch import)."""
    if settings.device == "cuda":
        return (f"**GPU:** {esc(settings.device_name)}. FLUX.1 [schnell] loads in bf16 where it fits, else with a "
                "4-bit transformer and T5 encoder (bitsandbytes), else with CPU offload — the plan is shown below.")
    flux = registry.get(registry.default_for("image", "cuda"))
    return (f"**No GPU here** — {esc(settings.device_name)}. {flux.label if flux else 'FLUX'} (12B parameters) "
            "needs a GPU: on CPU one image takes tens of minutes and ~34 GB of RAM. "
            f"**{registry.default_for('image', 'cpu')}** (made for CPU: 512×512, 1-4 steps) is selected instead; pick "
            "FLUX and tick *Run large models on CPU anyway* to force it.")


def _preset(name: str):
    if name in SIZE_PRESETS:
        w, h = SIZE_PRESETS[name]
        return w, h
    return gr.update(), gr.update()


def _reuse(seeds: str):
    first = (seeds or "").split(",")[0].strip()
    return (first, False) if first else (gr.update(), gr.update())


def _clear_gallery(history: list | None):
    if isinstance(history, list):
        history.clear()
    return [], None


def build(ctx: Context | Settings | None = None, links: Links | None = None) -> None:
    """Render the Images tab inside the current Blocks.

    Args:
        ctx: the app's context (``engines.context``), or bare settings.
        links: cross-tab targets; this tab receives a model id as "images.model".
    """
    ctx = as_context(ctx)
    settings = ctx.settings
    gpu = settings.device == "cuda"
    size0 = "1024 × 1024 · square" if gpu else "512 × 512 · SD-Turbo, CPU"
    w0, h0 = SIZE_PRESETS[size0]
    with gr.Tab("Images", id="images") as tab:
        gr.Markdown("Text to image with diffusers: FLUX.1 [schnell] by default, or any diffusers text-to-image model. "
                    "Same prompt + seed + steps + size + model = the same image. Each PNG carries its settings in "
                    "its metadata.")
        gr.Markdown(hardware_note(settings), elem_id="img-hw")
        with gr.Row():
            with gr.Column(scale=2):
                prompt = gr.Textbox(prompts.IMAGE_EXAMPLES[0], lines=3, max_lines=8, label="Prompt",
                                    max_length=im.MAX_PROMPT_CHARS, elem_id="img-prompt")
                model = model_picker("image", im.suggested_model(settings),
                                     label="Model (catalog, any diffusers Hub id, or a local folder)",
                                    elem_id="img-model")
                plan = gr.Markdown(label="Load plan", elem_id="img-plan")
                with gr.Row():
                    seed = gr.Textbox("", label="Seed (0 to 4294967295)", placeholder="random", elem_id="img-seed",
                                      max_length=24)
                    randomize = gr.Checkbox(True, label="Randomize seed", elem_id="img-random")
                steps = gr.Slider(1, MAX_STEPS_UI, value=4 if gpu else 2, step=1, label="Steps", elem_id="img-steps")
                size = gr.Dropdown([*SIZE_PRESETS, CUSTOM], value=size0, label="Size", elem_id="img-size")
                with gr.Row():
                    width = gr.Number(w0, precision=0, step=16, label="Width (multiple of 16)", elem_id="img-w")
                    height = gr.Number(h0, precision=0, step=16, label="Height (multiple of 16)", elem_id="img-h")
                num = gr.Slider(1, MAX_IMAGES, value=1, step=1, label="Images (seed, seed+1, …)", elem_id="img-n")
                force = gr.Checkbox(False, label="Run large models (FLUX) on CPU anyway — very slow",
                                    visible=not gpu, elem_id="img-force")
                go = gr.Button("Generate", variant="primary", elem_id="img-go")
                gr.Examples([[p] for p in prompts.IMAGE_EXAMPLES], inputs=[prompt], label="Example prompts")
            with gr.Column(scale=3):
                out = {"status": gr.HTML(elem_id="img-status")}
                out["gallery"] = gr.Gallery(label="This session's images (newest first; click to enlarge, download = "
                                            "full resolution PNG)", columns=3, height=520, object_fit="contain",
                                            format="png", interactive=False, elem_id="img-gallery")
                with gr.Row():
                    out["seeds"] = seeds_out = gr.Textbox(label="Seed(s) used", interactive=False, elem_id="img-seeds",
                                                          buttons=["copy"], scale=3)
                    reuse = gr.Button("Reuse seed", size="sm", scale=1, elem_id="img-reuse")
                    clear = gr.Button("Clear gallery", size="sm", scale=1, elem_id="img-clear")
                out["stats"] = gr.Markdown(label="Stats", elem_id="img-stats")
                out["files"] = gr.File(label="PNG files (full resolution, with prompt/seed/steps/size/model "
                                       "metadata)", file_count="multiple", interactive=False, elem_id="img-files")
                with gr.Accordion("Show code and notebook (diffusers)", open=False):
                    out["code"] = gr.Code(language="python", label="Reproduces the first image", elem_id="img-code")
                    out["notebook"] = gr.File(label=NOTEBOOK_LABEL, interactive=False, elem_id="img-notebook")
                with gr.Accordion("PNG metadata", open=False):
                    out["meta"] = gr.JSON(label="Metadata of the first image", elem_id="img-meta")
        history = gr.State([])  # per session: the gallery's images (never sent to clients)
        inputs = [prompt, model, seed, randomize, steps, width, height, num, force, history]
        run = {"status": "status", "clear": ("seeds", "stats", "files", "code", "meta", "notebook"),
               "running": "Loading the model (first use downloads it)…", **GPU_EVENT}
        on(go.click, with_settings(generate, settings), inputs, out, api_name="generate_image", **run)
        on(prompt.submit, with_settings(generate, settings), inputs, out, api_name=False, **run)
        on(size.input, _preset, size, [width, height], api_name=False, queue=False)
        on(width.input, lambda: CUSTOM, None, size, api_name=False, queue=False)
        on(height.input, lambda: CUSTOM, None, size, api_name=False, queue=False)
        on(model.change, describe_plan, [model], {"plan": plan}, api_name="image_plan")
        on(tab.select, describe_plan, [model], {"plan": plan}, api_name=False)
        on(reuse.click, _reuse, seeds_out, [seed, randomize], api_name=False, queue=False)
        on(clear.click, _clear_gallery, history, [out["gallery"], out["files"]], api_name=False, queue=False)
    if links is not None:
        links.register("images.model", "images", model)
