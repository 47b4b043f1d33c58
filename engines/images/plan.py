"""Load planning: how a pipeline is loaded on this machine (device, dtype, 4-bit components, CPU offload), decided
by ``plan_load``, a pure function of the device, the GPU memory and the size of the pipeline's components.

bf16 on the GPU when it fits, else the FLUX transformer and T5 encoder in 4-bit NF4 (diffusers'
``PipelineQuantizationConfig`` + bitsandbytes), else CPU offload; fp32 on CPU for small models. Sizes come from the
catalog (FLUX before download) or from the safetensors headers of a local folder.
"""

from __future__ import annotations

import functools
import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path

from engines import errors, registry
from engines.config import Settings
from engines.refs import ModelRef, parse_ref

GiB = 2**30
# Components of FLUX.1 [schnell], in billions of parameters (model card + config.json files of the repo), used to
# plan a load before anything is downloaded. Local folders are measured from their safetensors headers instead.
FLUX_COMPONENTS_B = {"transformer": 11.9, "text_encoder_2": 4.76, "text_encoder": 0.123, "vae": 0.084}
FLUX_QUANTIZED = ("transformer", "text_encoder_2")
CPU_LARGE_B = 3.0  # above this many parameters a pipeline on CPU takes minutes per step: ask before running
_ACTIVATIONS_BYTES = 3 * GiB  # 1024x1024 FLUX activations + CUDA context, measured order of magnitude


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


def plan_for(model: str | None = None, settings: Settings | None = None) -> tuple[ModelRef, LoadPlan, bool]:
    """Validate a model reference and plan its load on this machine.

    Args:
        model: a diffusers pipeline reference (Hub id, local folder, catalog id); None = the catalog default.
        settings: the deployment's settings (read from the environment when None).

    Returns:
        (ref, plan, flux).
    """
    settings = settings or Settings.current()
    ref = parse_ref(model or default_model(settings), settings)
    if not _is_local(ref, settings):
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
    settings = settings or Settings.current()
    return registry.default_for("image", settings.device)


def _is_local(ref, settings) -> bool:
    from engines.backends.registry import is_local

    return is_local(ref, settings)
