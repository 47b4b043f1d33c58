"""Text to image in the Pipelines tab: a thin call to ``engines.images.generate_image`` (diffusers)."""

from __future__ import annotations

from engines import errors, images
from engines.config import Settings
from engines.pipelines.tasks import TASKS, ProgressFn, TaskResult
from engines.pipelines.validate import clean_text, parse_seed
from engines.refs import parse_ref
from engines.snippets.pipelines import code_snippet


def run_image(inputs: dict, model: str | None, progress: ProgressFn, settings: Settings) -> TaskResult:
    """Generate one image from ``inputs["text"]`` (options: seed, steps, width, height).

    Returns:
        A TaskResult of kind "image" (a PIL image), with the seed used and a diffusers snippet.

    Raises:
        InvalidInput: an empty prompt or a bad option. Unsupported: a remote model.
    """
    prompt = clean_text(inputs.get("text") or inputs.get("prompt"), settings, "prompt")
    chosen = (model or "").strip() or TASKS["text-to-image"].default_model
    steps = int(inputs.get("steps") or 2)
    width, height = int(inputs.get("width") or 512), int(inputs.get("height") or 512)
    seed = None if inputs.get("seed") in (None, "", -1) else parse_seed(inputs.get("seed"))
    from engines.backends.registry import is_local

    ref = parse_ref(chosen, settings)
    if not is_local(ref, settings):
        raise errors.Unsupported(f"'{ref.raw}' is a remote API model; text-to-image here runs diffusers models.")
    progress(f"Loading {ref.display} (first use; downloads if needed)…")

    def on_step(step: int, total: int) -> None:
        progress(f"Denoising step {step}/{total}", step, total)

    result = images.generate_image(prompt, model=chosen, seed=seed, num_inference_steps=steps, width=width,
                                   height=height, on_step=on_step)
    plan = getattr(result, "plan", None)
    details = {"seed": result.seed, "steps": steps, "width": width, "height": height,
               "pipeline": getattr(result, "pipeline", ""), "guidance_scale": getattr(result, "guidance_scale", 0.0)}
    notices = list(getattr(result, "notices", []) or [])
    return TaskResult(kind="image", value=result.image, seconds=float(result.seconds), task="text-to-image",
                      model=ref.display, device=getattr(plan, "device", "") or "",
                      cache_hit=bool(getattr(result, "cache_hit", False)),
                      load_s=float(getattr(result, "load_s", 0.0)),
                      notice=" ".join(notices) or None, details=details,
                      code=code_snippet("text-to-image", ref.raw, {"text": prompt}, details))
