"""Text-to-image with diffusers: FLUX.1-schnell by default, any diffusers text-to-image pipeline by reference.

How a pipeline is loaded is decided by ``plan_load`` (a pure function of the device, the GPU memory and the size of
the pipeline's components): bf16 on the GPU when it fits, else the FLUX transformer and T5 encoder in 4-bit NF4
(diffusers' ``PipelineQuantizationConfig`` + bitsandbytes), else CPU offload; fp32 on CPU for small models.
Generation is seeded with a CPU ``torch.Generator`` so a seed gives the same image on every run (and the same
initial noise on every device). Every PNG carries its prompt, seed, steps, size and model in its metadata.
"""

from __future__ import annotations

import functools
import io
import json
import logging
import math
import secrets
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines import errors, quant, registry
from engines.cache import CacheKey, free_memory, model_cache
from engines.config import Settings
from engines.gpu import gpu
from engines.loading import _is_oom, hub_kwargs, map_load_error
from engines.refs import ModelRef, parse_ref

log = logging.getLogger(__name__)

SIZE_MULTIPLE = 16
MIN_SIZE = 64
MAX_SIZE = 2048
MAX_STEPS = 50
MAX_SEED = 2**32 - 1
MAX_PROMPT_CHARS = 10_000
FLUX_MAX_SEQUENCE = 256
GiB = 2**30
# Components of FLUX.1 [schnell], in billions of parameters (model card + config.json files of the repo), used to
# plan a load before anything is downloaded. Local folders are measured from their safetensors headers instead.
FLUX_COMPONENTS_B = {"transformer": 11.9, "text_encoder_2": 4.76, "text_encoder": 0.123, "vae": 0.084}
FLUX_QUANTIZED = ("transformer", "text_encoder_2")
CPU_LARGE_B = 3.0  # above this many parameters a pipeline on CPU takes minutes per step: ask before running
_ACTIVATIONS_BYTES = 3 * GiB  # 1024x1024 FLUX activations + CUDA context, measured order of magnitude
_DTYPES = ("bf16", "fp16", "fp32")
_MODEL_WEIGHTS = ("transformer", "unet", "prior", "decoder")


@dataclass(frozen=True)
class LoadPlan:
    """How a pipeline is loaded: device, dtype, which components are 4-bit, and any CPU offload.

    Attributes:
        device: "cuda", "mps" or "cpu".
        dtype: "bf16", "fp16" or "fp32" (compute dtype of the components that are not quantized).
        quantized: components loaded in 4-bit NF4 through bitsandbytes.
        offload: None, "model" (one component on the GPU at a time) or "sequential" (layer by layer: slowest).
        reason: one sentence on why this plan was chosen.
        slow: True for a large pipeline on CPU (minutes per step).
    """

    device: str
    dtype: str
    quantized: tuple[str, ...] = ()
    offload: str | None = None
    reason: str = ""
    slow: bool = False

    @property
    def label(self) -> str:
        """A short description for the UI, e.g. "4-bit NF4 transformer + text_encoder_2, bf16 compute · CUDA"."""
        parts = [f"4-bit NF4 {' + '.join(self.quantized)}, {self.dtype} compute" if self.quantized else self.dtype]
        if self.offload:
            parts.append(f"{self.offload} CPU offload")
        return ", ".join(parts) + f" · {self.device.upper()}"

    @property
    def key(self) -> tuple:
        """The part of a cache key that changes what is loaded."""
        return (self.device, self.dtype, self.quantized, self.offload)


@dataclass
class ImageResult:
    """One generated image and how it was made. ``seconds`` = generation time (load time excluded)."""

    image: Any
    seed: int
    seconds: float
    prompt: str = ""
    model: str = ""
    model_ref: str = ""
    steps: int = 0
    width: int = 0
    height: int = 0
    guidance_scale: float = 0.0
    max_sequence_length: int | None = None
    pipeline: str = ""
    plan: LoadPlan | None = None
    load_s: float = 0.0
    cache_hit: bool = False
    step_seconds: list[float] = field(default_factory=list)
    prompt_tokens: int | None = None
    prompt_token_limit: int | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def seconds_per_step(self) -> float:
        """Mean seconds per denoising step (the first step, which includes text encoding, left out when possible)."""
        steps = self.step_seconds[1:] or self.step_seconds
        return sum(steps) / len(steps) if steps else 0.0

    @property
    def metadata(self) -> dict[str, str]:
        """PNG text chunks: prompt, seed, steps, size, model, and an A1111-style "parameters" line."""
        meta = {"prompt": self.prompt, "seed": str(self.seed), "steps": str(self.steps), "width": str(self.width),
                "height": str(self.height), "model": self.model, "guidance_scale": f"{self.guidance_scale:g}",
                "pipeline": self.pipeline, "software": "LLM Workbench (diffusers)"}
        if self.max_sequence_length:
            meta["max_sequence_length"] = str(self.max_sequence_length)
        meta["parameters"] = (f"{self.prompt}\nSteps: {self.steps}, Pipeline: {self.pipeline}, CFG scale: "
                              f"{self.guidance_scale:g}, Seed: {self.seed}, Size: {self.width}x{self.height}, "
                              f"Model: {self.model}")
        return meta

    def png_bytes(self) -> bytes:
        """The image as PNG bytes with ``metadata`` in tEXt/iTXt chunks."""
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        for key, value in self.metadata.items():
            info.add_itxt(key, value) if not value.isascii() else info.add_text(key, value)
        buf = io.BytesIO()
        self.image.save(buf, format="PNG", pnginfo=info)
        return buf.getvalue()

    def save_png(self, path: str | Path) -> Path:
        """Write the PNG (with metadata) to ``path``; returns the path."""
        path = Path(path)
        path.write_bytes(self.png_bytes())
        return path


def read_png_metadata(png: str | Path | bytes) -> dict[str, str]:
    """The text chunks of a PNG (what ``ImageResult.png_bytes`` wrote).

    Args:
        png: a path or the PNG bytes.

    Returns:
        key → value.
    """
    from PIL import Image

    with Image.open(io.BytesIO(png) if isinstance(png, bytes) else png) as img:
        return {k: str(v) for k, v in getattr(img, "text", {}).items()}


# --------------------------------------------------------------------------- input validation
def random_seed() -> int:
    """A uniformly random seed in [0, 2**32 - 1]."""
    return secrets.randbelow(MAX_SEED + 1)


def parse_seed(value: Any) -> int | None:
    """A seed from user input: an exact integer, a digit string, or empty/None for "random".

    Args:
        value: what the UI or an API caller sent.

    Returns:
        The seed, or None when ``value`` is empty.

    Raises:
        InvalidInput: not a whole number, negative, or above 2**32 - 1.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise errors.InvalidInput("The seed must be a whole number, not true/false.")
    if isinstance(value, float):
        if not value.is_integer():
            raise errors.InvalidInput(f"The seed must be a whole number; got {value}.")
        if abs(value) > 2**53:  # a float this large has already lost digits: refuse rather than guess
            raise errors.InvalidInput("That seed arrived as a floating-point number and lost precision; send it as "
                                      f"an integer or a string. Seeds go from 0 to {MAX_SEED}.")
        value = int(value)
    if isinstance(value, str):
        text = value.strip().replace("_", "").replace(",", "")
        if not text.lstrip("+-").isdigit():
            raise errors.InvalidInput(f"The seed must be a whole number from 0 to {MAX_SEED}; got '{value[:40]}'.")
        value = int(text)
    if not isinstance(value, int):
        raise errors.InvalidInput(f"The seed must be a whole number from 0 to {MAX_SEED}.")
    check_seed(value)
    return value


def check_seed(seed: int) -> None:
    """Raise InvalidInput unless ``seed`` is an int in [0, 2**32 - 1]."""
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise errors.InvalidInput(f"The seed must be a whole number from 0 to {MAX_SEED}.")
    if seed < 0:
        raise errors.InvalidInput(f"The seed {seed} is negative; seeds go from 0 to {MAX_SEED}.")
    if seed > MAX_SEED:
        raise errors.InvalidInput(f"The seed {seed} is too large; seeds go from 0 to {MAX_SEED} (2**32 - 1).")


def check_size(width: int, height: int) -> None:
    """Raise InvalidInput unless both sides are whole multiples of 16 in [MIN_SIZE, MAX_SIZE]."""
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise errors.InvalidInput(f"The {name} must be a whole number of pixels.")
        if not MIN_SIZE <= value <= MAX_SIZE:
            raise errors.InvalidInput(f"The {name} {value} is out of range: use {MIN_SIZE} to {MAX_SIZE} pixels.")
        if value % SIZE_MULTIPLE:
            lo = value // SIZE_MULTIPLE * SIZE_MULTIPLE
            raise errors.InvalidInput(f"The {name} {value} is not a multiple of {SIZE_MULTIPLE}: use {lo} or "
                                      f"{lo + SIZE_MULTIPLE}.")


def check_steps(steps: int) -> None:
    """Raise InvalidInput unless 1 <= steps <= MAX_STEPS."""
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise errors.InvalidInput(f"Steps must be a whole number from 1 to {MAX_STEPS} (FLUX.1 [schnell] and "
                                  f"SD-Turbo need 1-4); got {steps}.")


def check_prompt(prompt: str) -> str:
    """The prompt, stripped; raise InvalidInput when it is empty or absurdly long."""
    text = (prompt or "").strip() if isinstance(prompt, str) else ""
    if not text:
        raise errors.InvalidInput("The prompt is empty: describe the image you want.")
    if len(text) > MAX_PROMPT_CHARS:
        raise errors.InvalidInput(f"The prompt is {len(text):,} characters; text encoders read at most a few hundred "
                                  f"tokens (~1,000 characters). Shorten it below {MAX_PROMPT_CHARS:,} characters.")
    return text


# --------------------------------------------------------------------------- load planning
def _fits(need_bytes: float, gpu_bytes: int) -> bool:
    return need_bytes + _ACTIVATIONS_BYTES <= gpu_bytes * 0.95


def _nf4_bytes(params_b: float) -> float:
    return params_b * 1e9 * registry.BYTES_PER_PARAM["4bit"] * 1.10  # + quantization constants, unquantized norms


def plan_load(device: str, components_b: dict[str, float] | None, *, gpu_bytes: int | None = None,
              flux: bool = False, bnb: bool = True, bf16_ok: bool = True) -> LoadPlan:
    """Decide how to load a pipeline (pure: no torch, no I/O).

    Args:
        device: "cuda", "mps" or "cpu".
        components_b: component name → billions of parameters (None = unknown: assume it is small).
        gpu_bytes: total GPU memory (CUDA only; None = unknown: assume the pipeline fits).
        flux: a FLUX pipeline (its transformer and T5 encoder may be loaded 4-bit).
        bnb: bitsandbytes is installed.
        bf16_ok: the GPU supports bf16 (False on pre-Ampere cards: fp16 instead).

    Returns:
        The LoadPlan, with a one-sentence reason.
    """
    total_b = sum((components_b or {}).values())
    if device != "cuda":
        if device == "mps":
            return LoadPlan("mps", "bf16" if flux else "fp16", reason="Apple GPU: half precision, no bitsandbytes.")
        if components_b is not None and total_b > CPU_LARGE_B:
            return LoadPlan("cpu", "bf16", slow=True, reason=(
                f"No GPU: {total_b:.1f}B parameters run in bf16 on CPU (~{total_b * 2:.0f} GB of RAM, minutes per "
                "step). This model needs a GPU."))
        return LoadPlan("cpu", "fp32", reason="No GPU: fp32 on CPU (bf16 matmuls are slower on most CPUs).")
    dtype = "bf16" if bf16_ok else "fp16"
    bf16_bytes = total_b * 2e9
    if components_b is None or gpu_bytes is None or _fits(bf16_bytes, gpu_bytes):
        return LoadPlan("cuda", dtype, reason=_gib_reason(f"{dtype} fits on the GPU", bf16_bytes, gpu_bytes))
    quant = tuple(c for c in FLUX_QUANTIZED if c in components_b) if flux and bnb else ()
    if quant:
        q_bytes = sum(_nf4_bytes(b) if c in quant else b * 2e9 for c, b in components_b.items())
        if _fits(q_bytes, gpu_bytes):
            why = f"{dtype} needs ~{bf16_bytes / GiB:.0f} GiB: 4-bit transformer and T5 bring it to"
            return LoadPlan("cuda", dtype, quant, reason=_gib_reason(why, q_bytes, gpu_bytes))
    largest = max(_nf4_bytes(b) if c in quant else b * 2e9 for c, b in components_b.items())
    if _fits(largest, gpu_bytes):
        return LoadPlan("cuda", dtype, quant, "model", reason=_gib_reason(
            "The whole pipeline does not fit: one component at a time on the GPU, largest", largest, gpu_bytes))
    return LoadPlan("cuda", dtype, quant, "sequential", reason=_gib_reason(
        "Even the largest component does not fit: layers stream to the GPU one by one (slow), largest",
        largest, gpu_bytes))


def _gib_reason(text: str, need: float, gpu_bytes: int | None) -> str:
    if gpu_bytes is None or need <= 0:
        return text + "."
    return f"{text} ~{need / GiB:.1f} GiB (+ activations) of {gpu_bytes / GiB:.0f} GiB."


def _safetensors_params(path: Path) -> int:
    """Parameters in one safetensors file, read from its header only (no tensor is loaded)."""
    with path.open("rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(min(size, 100_000_000)))
    return sum(math.prod(v["shape"]) for k, v in header.items() if k != "__metadata__")


def components_on_disk(folder: Path) -> dict[str, float] | None:
    """Billions of parameters per component of a saved pipeline (None without model_index.json)."""
    index = folder / "model_index.json"
    if not index.is_file():
        return None
    return dict(_components_on_disk(str(folder.resolve()), index.stat().st_mtime_ns))


@functools.lru_cache(maxsize=64)
def _components_on_disk(folder_name: str, stamp: int) -> tuple[tuple[str, float], ...]:
    folder = Path(folder_name)
    sizes: dict[str, float] = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        files = sorted(sub.glob("*.safetensors"))
        if files:
            sizes[sub.name] = sum(_safetensors_params(f) for f in files) / 1e9
    return tuple(sizes.items())


def pipeline_class(ref: ModelRef) -> str | None:
    """The pipeline class named in model_index.json of a local pipeline, or None."""
    if ref.path is None:
        return None
    try:
        return json.loads((ref.path / "model_index.json").read_text()).get("_class_name")
    except (OSError, ValueError):
        return None


def is_flux(ref: ModelRef) -> bool:
    """Whether ``ref`` is a FLUX pipeline (from model_index.json, the catalog, or the id)."""
    cls = pipeline_class(ref)
    if cls:
        return cls.startswith("Flux")
    spec = ref.spec
    return (spec is not None and spec.family == "flux") or "flux" in ref.name.lower()


def _components_b(ref: ModelRef, flux: bool) -> dict[str, float] | None:
    if ref.path is not None:
        try:
            return components_on_disk(ref.path)
        except (OSError, ValueError, KeyError):
            return None
    if flux:
        return dict(FLUX_COMPONENTS_B)
    spec = ref.spec
    return {"pipeline": spec.params_b} if spec and spec.params_b else None


def _hardware(settings: Settings) -> tuple[str, int | None, bool]:
    """(device, total GPU bytes, bf16 supported) as seen now."""
    if settings.zero_gpu:  # the GPU only exists inside decorated calls; ZeroGPU gives half an H200 (70 GB)
        return "cuda", 70 * 10**9, True
    from engines.gpu import torch_device

    device = torch_device()
    if device != "cuda":
        return device, None, True
    import torch

    return "cuda", int(torch.cuda.get_device_properties(0).total_memory), bool(torch.cuda.is_bf16_supported())


def _bnb_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("bitsandbytes") is not None


def plan_for(model: str | None = None) -> tuple[ModelRef, LoadPlan, bool]:
    """Validate a model reference and plan its load on this machine.

    Args:
        model: a diffusers pipeline reference (Hub id, local folder, catalog id); None = the catalog default.

    Returns:
        (ref, plan, flux).
    """
    settings = Settings.from_env()
    ref = parse_ref(model or default_model(settings), settings)
    if ref.is_remote:
        raise errors.Unsupported(f"'{ref.raw}' is an API model; image generation runs diffusers pipelines locally. "
                                 "Choose FLUX.1 [schnell], SD-Turbo or any diffusers text-to-image Hub id.")
    flux = is_flux(ref)
    device, gpu_bytes, bf16_ok = _hardware(settings)
    plan = plan_load(device, _components_b(ref, flux), gpu_bytes=gpu_bytes, flux=flux,
                     bnb=device == "cuda" and _bnb_available(), bf16_ok=bf16_ok)
    return ref, plan, flux


def default_model(settings: Settings | None = None) -> str:
    """The engine's default: FLUX.1 [schnell] (the tab offers SD-Turbo instead on a machine without a GPU)."""
    return registry.default_for("image", "cuda")


def suggested_model(settings: Settings | None = None) -> str:
    """The model the tab starts with: FLUX.1 [schnell] where there is a GPU, SD-Turbo elsewhere."""
    settings = settings or Settings.from_env()
    return registry.default_for("image", settings.device)


# --------------------------------------------------------------------------- loading
@dataclass
class LoadedPipeline:
    """A loaded diffusers pipeline and how it was loaded."""

    pipe: Any
    plan: LoadPlan
    flux: bool
    footprint_bytes: int
    notice: str | None = None

    def get_memory_footprint(self) -> int:
        """Bytes the weights hold (for the cache budget)."""
        return self.footprint_bytes


def quantization_config(plan: LoadPlan):
    """diffusers' PipelineQuantizationConfig for the plan's 4-bit components (NF4, double quant)."""
    from diffusers.quantizers import PipelineQuantizationConfig

    return PipelineQuantizationConfig(
        quant_backend="bitsandbytes_4bit",
        quant_kwargs=quant.bnb_kwargs("4bit", compute=plan.dtype),
        components_to_quantize=list(plan.quantized))


def load_pipeline(ref: ModelRef, plan: LoadPlan, flux: bool) -> tuple[LoadedPipeline, bool, float]:
    """Load (or fetch from the cache) a text-to-image pipeline under ``plan``.

    Returns:
        (loaded, cache_hit, seconds)
    """
    result = model_cache().get_with_info(_cache_key(ref, plan), lambda: _load(ref, plan, flux))
    return result.value, result.hit, result.seconds


def _cache_key(ref: ModelRef, plan: LoadPlan) -> tuple:
    return CacheKey("diffusers", ref.target, plan.key)


def _load(ref: ModelRef, plan: LoadPlan, flux: bool) -> LoadedPipeline:
    from diffusers import AutoPipelineForText2Image, DiffusionPipeline

    kwargs: dict[str, Any] = {"dtype": quant.torch_dtype(plan.dtype), **hub_kwargs(ref)}
    if plan.quantized:
        kwargs["quantization_config"] = quantization_config(plan)
    try:
        try:
            pipe = AutoPipelineForText2Image.from_pretrained(ref.target, **kwargs)
        except ValueError as exc:  # a pipeline class AutoPipeline does not map: load it as itself
            if "AutoPipeline" not in str(exc):
                raise
            pipe = DiffusionPipeline.from_pretrained(ref.target, **kwargs)
        _check_text_to_image(pipe, ref)
        _place(pipe, plan)
    except errors.WorkbenchError:
        raise
    except Exception as exc:
        raise map_load_error(exc, ref) from exc
    pipe.set_progress_bar_config(disable=True)
    return LoadedPipeline(pipe=pipe, plan=plan, flux=flux or type(pipe).__name__.startswith("Flux"),
                          footprint_bytes=_footprint(pipe))


def _check_text_to_image(pipe: Any, ref: ModelRef) -> None:
    import inspect

    params = inspect.signature(pipe.__call__).parameters
    if "prompt" not in params or "num_inference_steps" not in params or "image" in params:
        raise errors.Unsupported(f"'{ref.display}' is a {type(pipe).__name__}, not a text-to-image pipeline. "
                                 "Choose a text-to-image model such as FLUX.1 [schnell] or SD-Turbo.")


def _place(pipe: Any, plan: LoadPlan) -> None:
    if plan.offload == "model":
        pipe.enable_model_cpu_offload()
    elif plan.offload == "sequential":
        pipe.enable_sequential_cpu_offload()
    elif plan.device != "cpu":
        pipe.to(plan.device)  # on ZeroGPU this is deferred until a decorated call holds the GPU


def _footprint(pipe: Any) -> int:
    import torch

    total = 0
    for module in pipe.components.values():
        if isinstance(module, torch.nn.Module):
            total += sum(t.numel() * t.element_size() for t in (*module.parameters(), *module.buffers()))
    return total


# --------------------------------------------------------------------------- generation
_FEW_STEP_MARKERS = ("turbo", "lightning", "lcm", "schnell", "hyper")


def call_kwargs(loaded: LoadedPipeline, ref: ModelRef, prompt: str, steps: int, width: int, height: int,
                guidance_scale: float | None = None) -> dict[str, Any]:
    """The keyword arguments for the pipeline call (FLUX: guidance 0 for schnell, max_sequence_length 256).

    Args:
        loaded: the loaded pipeline.
        ref: its reference (few-step models such as *-turbo get guidance 0).
        prompt: the checked prompt.
        steps: denoising steps.
        width: image width in pixels.
        height: image height in pixels.
        guidance_scale: None = the model's recommended value.

    Returns:
        Keyword arguments for ``pipe(**kwargs)`` (without generator or callbacks).
    """
    kwargs: dict[str, Any] = {"prompt": prompt, "num_inference_steps": steps, "width": width, "height": height}
    if guidance_scale is None:
        guidance_scale = _default_guidance(loaded, ref)
    if guidance_scale is not None:
        kwargs["guidance_scale"] = float(guidance_scale)
    if loaded.flux and "max_sequence_length" in _call_params(loaded.pipe):
        kwargs["max_sequence_length"] = FLUX_MAX_SEQUENCE
    return kwargs


def _call_params(pipe: Any) -> dict:
    import inspect

    return dict(inspect.signature(pipe.__call__).parameters)


def _default_guidance(loaded: LoadedPipeline, ref: ModelRef) -> float | None:
    transformer = getattr(loaded.pipe, "transformer", None)
    if loaded.flux:  # schnell has no guidance embedding and ignores guidance; dev-style models want ~3.5
        return 3.5 if getattr(getattr(transformer, "config", None), "guidance_embeds", False) else 0.0
    if any(marker in ref.name.lower() for marker in _FEW_STEP_MARKERS):
        return 0.0  # distilled few-step models are trained without classifier-free guidance
    default = _call_params(loaded.pipe).get("guidance_scale")
    return float(default.default) if default is not None and isinstance(default.default, int | float) else None


def prompt_length(loaded: LoadedPipeline, prompt: str) -> tuple[int | None, int | None, str | None]:
    """Tokens in the prompt for the pipeline's main text encoder, its limit, and a notice when it is cut.

    Returns:
        (tokens, limit, notice): None values when the pipeline has no tokenizer.
    """
    pipe = loaded.pipe
    tok = getattr(pipe, "tokenizer_2", None) if loaded.flux else None
    tok = tok or getattr(pipe, "tokenizer", None)
    if tok is None:
        return None, None, None
    limit = FLUX_MAX_SEQUENCE if loaded.flux else int(getattr(tok, "model_max_length", 77) or 77)
    count = len(tok(prompt, truncation=False, add_special_tokens=True, verbose=False).input_ids)
    if count <= limit:
        return count, limit, None
    encoder = "T5 encoder" if loaded.flux else "text encoder"
    return count, limit, (f"The prompt is {count} tokens; the {encoder} reads the first {limit}, so the rest was "
                          "ignored. Put what matters first, or shorten it.")


class _StepTimer:
    """A ``callback_on_step_end`` that times each step and reports it to ``on_step(step, total)``."""

    def __init__(self, on_step: Callable[[int, int], Any] | None, total: int):
        self.on_step = on_step
        self.total = total
        self.start = time.perf_counter()
        self.marks: list[float] = []

    def __call__(self, pipe: Any, step: int, timestep: Any, callback_kwargs: dict) -> dict:
        self.marks.append(time.perf_counter())
        if self.on_step is not None:
            self.on_step(step + 1, int(getattr(pipe, "num_timesteps", 0) or self.total))
        return callback_kwargs

    def step_seconds(self) -> list[float]:
        points = [self.start, *self.marks]
        return [b - a for a, b in zip(points, points[1:], strict=False)]


def _gpu_seconds(pipe: Any, kwargs: dict, *args: Any) -> int:
    megapixels = kwargs["width"] * kwargs["height"] / 2**20
    return int(min(300, 15 + kwargs["num_inference_steps"] * 3 * max(megapixels, 0.25)))


@gpu(duration=_gpu_seconds)
def _denoise(pipe: Any, kwargs: dict, seed: int, timer: _StepTimer | None) -> Any:
    """Run the pipeline once; returns a PIL image (never a CUDA tensor: this may run in a ZeroGPU worker)."""
    import torch

    extra: dict[str, Any] = {"generator": torch.Generator("cpu").manual_seed(seed)}
    if timer is not None:
        timer.start = time.perf_counter()
        extra["callback_on_step_end"] = timer
    with torch.inference_mode():
        return pipe(**kwargs, **extra).images[0]


def generate_image(prompt: str, *, model: str | None = None, seed: int | None = None, num_inference_steps: int = 4,
                   width: int = 1024, height: int = 1024, on_step: Callable[[int, int], Any] | None = None,
                   guidance_scale: float | None = None, allow_cpu_large: bool = True) -> ImageResult:
    """Generate one image from a prompt, reproducibly.

    Args:
        prompt: what to draw (cut to the text encoder's limit with a notice; FLUX reads 256 T5 tokens).
        model: a diffusers text-to-image pipeline: catalog id, Hub id or local folder; None = FLUX.1 [schnell].
        seed: 0 to 2**32 - 1; None = random (the seed used is in ``.seed``).
        num_inference_steps: 1 to 50 (FLUX.1 [schnell] and SD-Turbo: 1-4).
        width: pixels, a multiple of 16 from 64 to 2048.
        height: pixels, a multiple of 16 from 64 to 2048.
        on_step: called as ``on_step(step, total)`` after each denoising step (step counts from 1).
        guidance_scale: None = the model's recommended value (0 for FLUX.1 [schnell] and turbo models).
        allow_cpu_large: False = refuse a large pipeline (FLUX) on a machine without a GPU instead of running it
            for many minutes.

    Returns:
        ImageResult: ``.image`` (PIL), ``.seed``, ``.seconds`` (generation, load excluded) and how it was made.

    Raises:
        InvalidInput: empty prompt, size, steps or seed out of range.
        Unsupported: not a text-to-image pipeline, or a large pipeline on CPU with ``allow_cpu_large=False``.
        OutOfMemory: the GPU ran out of memory (cached models are freed; the app keeps serving).
    """
    prompt = check_prompt(prompt)
    check_steps(num_inference_steps)
    check_size(width, height)
    if seed is None:
        seed = random_seed()
    check_seed(seed)
    ref, plan, flux = plan_for(model)
    if plan.slow and not allow_cpu_large:
        raise errors.Unsupported(
            f"{ref.display} needs a GPU: {plan.reason} Choose {registry.default_for('image', 'cpu')} (made for CPU), "
            "or "
            "allow large models on CPU to run it anyway.")
    loaded, hit, load_s = load_pipeline(ref, plan, flux)
    kwargs = call_kwargs(loaded, ref, prompt, num_inference_steps, width, height, guidance_scale)
    tokens, limit, notice = prompt_length(loaded, prompt)
    timer = _StepTimer(on_step, num_inference_steps)
    start = time.perf_counter()
    try:
        image = _denoise(loaded.pipe, kwargs, seed, timer)
    except Exception as exc:
        raise _generation_error(exc, ref, plan, width, height) from exc
    seconds = time.perf_counter() - start
    notices = [n for n in (loaded.notice, notice) if n]
    return ImageResult(image=image, seed=seed, seconds=seconds, prompt=prompt, model=ref.display,
                       model_ref=ref.raw,                       steps=num_inference_steps, width=width, height=height,
                       guidance_scale=float(kwargs.get("guidance_scale", 0.0)),
                       max_sequence_length=kwargs.get("max_sequence_length"), pipeline=type(loaded.pipe).__name__,
                       plan=plan, load_s=load_s, cache_hit=hit, step_seconds=timer.step_seconds(),
                       prompt_tokens=tokens, prompt_token_limit=limit, notices=notices)


def _generation_error(exc: BaseException, ref: ModelRef, plan: LoadPlan, width: int,
                      height: int) -> errors.WorkbenchError:
    if isinstance(exc, errors.WorkbenchError):
        return exc
    if _is_oom(exc):
        cache = model_cache()
        keep = _cache_key(ref, plan)
        for key in cache.keys():
            if key != keep:
                cache.evict(key)
        free_memory()
        smaller = max(MIN_SIZE, int(math.sqrt(width * height / 2)) // SIZE_MULTIPLE * SIZE_MULTIPLE)
        return errors.OutOfMemory(
            f"Out of memory generating {width}×{height} with {ref.display} ({plan.label}). Other cached models were "
            f"unloaded; try a smaller size (e.g. {smaller}×{smaller}), one image at a time, or a smaller model.")
    log.error("image generation failed", exc_info=exc)
    line = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    return errors.WorkbenchError(f"{ref.display} failed while generating: {line}")


def code_snippet(result: ImageResult) -> str:
    """Plain diffusers code that reproduces ``result`` (same pipeline, dtype, placement, arguments and seed).

    Args:
        result: what ``generate_image`` returned.

    Returns:
        Python source.
    """
    plan = result.plan or LoadPlan("cpu", "fp32")
    dtype = {"bf16": "torch.bfloat16", "fp16": "torch.float16", "fp32": "torch.float32"}[plan.dtype]
    cls = result.pipeline or "AutoPipelineForText2Image"
    lines = ["import torch", f"from diffusers import {cls}"]
    load_extra = ""
    if plan.quantized:
        lines += ["from diffusers.quantizers import PipelineQuantizationConfig", "",
                  "quant = PipelineQuantizationConfig(",
                  '    quant_backend="bitsandbytes_4bit",',
                  '    quant_kwargs={"load_in_4bit": True, "bnb_4bit_quant_type": "nf4", '
                  f'"bnb_4bit_use_double_quant": True, "bnb_4bit_compute_dtype": {dtype}}},',
                  f"    components_to_quantize={list(plan.quantized)!r},", ")"]
        load_extra = ", quantization_config=quant"
    lines += ["", f"pipe = {cls}.from_pretrained({result.model_ref or result.model!r}, dtype={dtype}{load_extra})"]
    placement = {"model": "pipe.enable_model_cpu_offload()", "sequential": "pipe.enable_sequential_cpu_offload()"}
    if plan.offload:
        lines.append(placement[plan.offload])
    elif plan.device != "cpu":
        lines.append(f'pipe.to("{plan.device}")')
    args = [f"prompt={result.prompt!r}", f"num_inference_steps={result.steps}",
            f"guidance_scale={result.guidance_scale!r}", f"width={result.width}", f"height={result.height}"]
    if result.max_sequence_length:
        args.append(f"max_sequence_length={result.max_sequence_length}")
    args.append(f'generator=torch.Generator("cpu").manual_seed({result.seed})')
    lines += ["image = pipe(", *(f"    {a}," for a in args), ").images[0]", 'image.save("image.png")']
    return "\n".join(lines) + "\n"
