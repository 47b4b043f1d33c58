"""Quantization in one place: the names, the resolution policy, bitsandbytes configs and the dtype map.

Policy (DESIGN.md): ``auto`` = 4-bit NF4 (double quant, bf16 compute) for LLMs of 1B+ parameters on CUDA, bf16
below that; fp32 on CPU (bf16 matmuls are ~6x slower on these CPUs); fp16 on Apple MPS. An explicit choice the
hardware can't honour falls back with a notice that says what ran instead.
"""

from __future__ import annotations

from typing import Any

from engines import errors

QUANTIZATIONS = ("auto", "4bit", "8bit", "bf16", "fp16", "fp32")
BNB = ("4bit", "8bit")  # bitsandbytes quantizations: CUDA only here
DTYPES = ("bf16", "fp16", "fp32")
# NF4 with double quantization and bf16 compute: the QLoRA recipe (Dettmers et al. 2023)
NF4_KWARGS: dict[str, Any] = {"load_in_4bit": True, "bnb_4bit_quant_type": "nf4", "bnb_4bit_use_double_quant": True}


def check(name: str) -> str:
    """A quantization name, normalised.

    Raises:
        InvalidInput: not one of QUANTIZATIONS.
    """
    value = (name or "auto").strip().lower() if isinstance(name, str) else name
    if value not in QUANTIZATIONS:
        raise errors.InvalidInput(f"Unknown quantization '{name}'. Choose one of: {', '.join(QUANTIZATIONS)}.")
    return value


def cpu_dtype(device: str) -> str:
    """The full-precision dtype a device runs best: fp16 on Apple MPS, fp32 on CPU, bf16 on CUDA."""
    return {"mps": "fp16", "cpu": "fp32"}.get(device, "bf16")


def resolve_quantization(requested: str, device: str, params_b: float | None) -> tuple[str, str | None]:
    """Choose the quantization to load with, and a notice when the request can't be honoured here.

    Args:
        requested: one of QUANTIZATIONS.
        device: "cuda", "mps" or "cpu".
        params_b: model size in billions of parameters (None = unknown).

    Returns:
        (chosen, notice): chosen is one of 4bit, 8bit, bf16, fp16, fp32; notice is None or a sentence.
    """
    requested = check(requested)
    if requested == "auto":
        if device == "cuda":
            return ("4bit" if (params_b or 0) >= 1.0 else "bf16"), None
        return cpu_dtype(device), None
    if requested in BNB and device != "cuda":
        fallback = cpu_dtype(device)
        return fallback, (f"{requested} quantization (bitsandbytes) needs a CUDA GPU; loaded in {fallback} on "
                          f"{device.upper()} instead.")
    if requested in BNB:
        try:
            import bitsandbytes  # noqa: F401
        except ImportError:
            return "bf16", f"bitsandbytes is not installed, so {requested} is unavailable; loaded in bf16 instead."
    if requested == "bf16" and device == "cuda":
        import torch

        if not torch.cuda.is_bf16_supported():
            return "fp16", "This GPU has no bf16 support; loaded in fp16 instead."
    return requested, None


def torch_dtype(name: str):
    """The torch dtype of a dtype name (bf16, fp16, fp32); bitsandbytes names map to their compute dtype."""
    import torch

    return {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}.get(name, torch.bfloat16)


def bnb_kwargs(quant: str, compute: str = "bf16") -> dict[str, Any]:
    """Keyword arguments of a bitsandbytes config for ``quant`` (4bit: NF4, double quant; 8bit: LLM.int8)."""
    if quant == "4bit":
        return {**NF4_KWARGS, "bnb_4bit_compute_dtype": torch_dtype(compute)}
    if quant == "8bit":
        return {"load_in_8bit": True}
    raise ValueError(f"{quant!r} is not a bitsandbytes quantization")


def bnb_config(quant: str, compute: str = "bf16"):
    """transformers' ``BitsAndBytesConfig`` for ``quant``."""
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(**bnb_kwargs(quant, compute))


def from_pretrained_kwargs(quant: str) -> dict[str, Any]:
    """What ``from_pretrained`` needs to load in ``quant``: a quantization config on GPU 0, or a dtype."""
    if quant in BNB:
        return {"quantization_config": bnb_config(quant), "device_map": {"": 0}}
    return {"dtype": torch_dtype(quant)}


def snippet(quant: str) -> tuple[str, str]:
    """Source for the same load in a "show code" snippet: (extra import names, ``from_pretrained`` kwargs)."""
    if quant == "4bit":
        return ("BitsAndBytesConfig", "quantization_config=BitsAndBytesConfig(load_in_4bit=True, "
                "bnb_4bit_quant_type='nf4', bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=torch.bfloat16), "
                "device_map='auto'")
    if quant == "8bit":
        return "BitsAndBytesConfig", "quantization_config=BitsAndBytesConfig(load_in_8bit=True), device_map='auto'"
    return "", f"dtype=torch.{ {'bf16': 'bfloat16', 'fp16': 'float16'}.get(quant, 'float32')}"
