"""Memory estimates: weight bytes per parameter at each quantization, plus runtime overhead."""

from __future__ import annotations

from engines.registry.catalog import _BY_ID
from engines.registry.spec import ModelSpec

# Weight bytes per parameter for each explicit quantization ("auto" must be resolved by the caller).
BYTES_PER_PARAM: dict[str, float] = {"4bit": 0.5, "8bit": 1.0, "bf16": 2.0, "fp16": 2.0, "fp32": 4.0}
_NF4_EXTRA = 1.10  # quantization constants + embeddings/head left unquantized
_RUNTIME_OVERHEAD = 1.15  # activations, KV cache, CUDA context


def _params_of(spec_or_params_b: ModelSpec | float | str | None) -> float | None:
    if isinstance(spec_or_params_b, ModelSpec):
        return spec_or_params_b.params_b if spec_or_params_b.local else None
    if isinstance(spec_or_params_b, str):
        spec = _BY_ID.get(spec_or_params_b)
        return _params_of(spec) if spec else None
    return float(spec_or_params_b) if spec_or_params_b is not None else None


def estimate_memory_bytes(spec_or_params_b: ModelSpec | float | str | None, quantization: str) -> int | None:
    """Rough memory needed to run a model locally: weights at ``quantization`` plus ~15% runtime overhead.

    Args:
        spec_or_params_b: a ModelSpec, a catalog id, or a parameter count in billions.
        quantization: one of ``4bit``, ``8bit``, ``bf16``, ``fp16``, ``fp32`` (resolve ``auto`` first).

    Returns:
        Bytes, or None when the parameter count is unknown or the model runs remotely.

    Raises:
        ValueError: for a quantization outside ``BYTES_PER_PARAM``.
    """
    if quantization not in BYTES_PER_PARAM:
        raise ValueError(f"unknown quantization {quantization!r}; expected one of {', '.join(BYTES_PER_PARAM)}")
    params_b = _params_of(spec_or_params_b)
    if params_b is None or params_b <= 0:
        return None
    weights = params_b * 1e9 * BYTES_PER_PARAM[quantization]
    if quantization == "4bit":
        weights *= _NF4_EXTRA
    return int(weights * _RUNTIME_OVERHEAD)
