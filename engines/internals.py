"""Model internals: module tree, parameters by layer type, dtype and quantization per layer, memory, config facts.

Two paths:

- ``source="config"``: only ``config.json`` is read; the model is built on the meta device (shapes, no storage),
  so even a 70B model can be inspected on a laptop. A 4-bit or 8-bit choice swaps the Linear layers for
  bitsandbytes ``Linear4bit`` / ``Linear8bitLt`` on the meta device, exactly as a quantized load would.
- ``source="weights"``: the model is loaded (through the model cache) as the other tabs load it, and its real
  tensors are inspected.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from engines import errors
from engines import quant as quant_mod
from engines.config import Settings
from engines.loading import load_causal_lm, load_config
from engines.quant import QUANTIZATIONS, resolve_quantization
from engines.refs import ModelRef, parse_ref
from engines.snippets.internals import code_snippet  # noqa: F401  (re-exported: the tab calls it)

KINDS = ("embeddings", "attention", "mlp", "norms", "lm head", "other")
SOURCES = ("config", "weights")
# bits per weight of a quantized Linear: NF4 with double quantization stores 4 bits + one 8-bit absmax per block of
# 64 + one fp32 constant per 256 blocks; LLM.int8 stores 8 bits + one fp32 scale per output row (added separately).
_NF4_BITS = 4 + 8 / 64 + 32 / (64 * 256)
_DTYPE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2, "4bit": 2, "8bit": 2}  # non-quantized layers at each choice


@dataclass
class LayerRow:
    """One module that owns parameters."""

    name: str
    module: str
    kind: str
    params: int
    shape: str
    dtype: str
    quantization: str
    bytes: int
    quantizable: bool = False
    tied_to: str | None = None


@dataclass
class ModelInternals:
    """What is inside a model, measured on its modules (see the module docstring for the two sources)."""

    model: str
    source: str
    architecture: str
    quantization: str
    device: str
    total_params: int
    by_kind: dict[str, int]
    layers: list[LayerRow]
    memory_bytes: int
    memory_at: dict[str, int]
    config: list[tuple[str, Any]]
    module_tree: str
    loaded_weights: bool
    seconds: float
    notice: str | None = None
    files_read: list[str] = field(default_factory=list)


def inspect_model(model: str, *, source: str = "config", quantization: str = "auto",
                  settings: Settings | None = None) -> ModelInternals:
    """Inspect a model's architecture, parameters, dtypes, quantization and memory.

    Args:
        model: Hub id or local folder (API models publish no architecture).
        source: "config" (meta device, only config.json is read) or "weights" (load the model).
        quantization: auto | 4bit | 8bit | bf16 | fp16 | fp32. With "config" every choice is shown as it would load
            (a preview, hardware-independent); "auto" is what this machine would choose.
        settings: the deployment's settings (read from the environment when None).

    Returns:
        ModelInternals.

    Raises:
        InvalidInput: unknown source or quantization. Unsupported: an API model. ModelLoadError / HubUnreachable /
            ModelNotFound: the config or the weights could not be read.
    """
    if source not in SOURCES:
        raise errors.InvalidInput(f"Unknown source '{source}': use 'config' (nothing downloaded but config.json) or "
                                  "'weights' (load the model).")
    quantization = (quantization or "auto").strip().lower()
    if quantization not in QUANTIZATIONS:
        raise errors.InvalidInput(f"Unknown quantization '{quantization}'. Choose one of: {', '.join(QUANTIZATIONS)}.")
    settings = settings or Settings.current()
    from engines.backends.registry import is_local

    ref = parse_ref(model, settings)
    if not is_local(ref, settings):
        raise errors.Unsupported(f"'{ref.raw}' runs behind an API that does not publish its architecture or weights. "
                                 "Pick a Hub id or a local folder to see its internals.")
    start = time.perf_counter()
    if source == "config":
        torch_model, quant, notice, facts = _meta_model(ref, quantization, settings.device)
        device, loaded = "meta", False
    else:
        lm, _, _, notice = load_causal_lm(ref, quantization)
        torch_model, quant, device, loaded = lm.model, lm.quantization, lm.device, True
        facts = config_facts(torch_model.config)
    rows = layer_rows(torch_model)
    by_kind = dict.fromkeys(KINDS, 0)
    for row in rows:
        by_kind[row.kind] += row.params
    return ModelInternals(
        model=ref.display, source=source, architecture=type(torch_model).__name__, quantization=quant, device=device,
        total_params=sum(by_kind.values()), by_kind=by_kind, layers=rows, memory_bytes=sum(r.bytes for r in rows),
        memory_at={q: sum(_bytes_at(r, q) for r in rows) for q in ("fp32", "bf16", "8bit", "4bit")},
        config=facts, module_tree=str(torch_model), loaded_weights=loaded,
        seconds=time.perf_counter() - start, notice=notice,
        files_read=["config.json"] if source == "config" else ["config.json", "weights", "tokenizer"])


# ------------------------------------------------------------------------------------------- meta device


def _meta_model(ref: ModelRef, quantization: str, device: str):
    """Build the model on the meta device from its config alone; swap in bitsandbytes layers for 4/8-bit."""
    config = load_config(ref)
    notice = None
    quant = quantization
    facts = config_facts(config)  # before building: from_config(dtype=...) rewrites config.dtype
    if quantization == "auto":
        from engines.loading import estimate_params_b

        quant, _ = resolve_quantization("auto", device, estimate_params_b(config))
    elif quantization in ("4bit", "8bit") and device != "cuda":
        notice = (f"Preview of a {quantization} load (bitsandbytes needs a CUDA GPU to run it; here a real load "
                  "falls back to fp32).")
    dtype = quant_mod.torch_dtype(quant)
    model = _build_on_meta(config, dtype, ref)
    if quant in ("4bit", "8bit"):
        model, q_notice = _swap_bnb_layers(model, quant)
        notice = " ".join(n for n in (notice, q_notice) if n) or None
    return model, quant, notice, facts


def _build_on_meta(config, dtype, ref: ModelRef):
    import torch
    from transformers import AutoModel, AutoModelForCausalLM

    try:
        with torch.device("meta"):
            try:
                return AutoModelForCausalLM.from_config(config, dtype=dtype, trust_remote_code=False)
            except ValueError:  # not a causal LM (an encoder, a speech model): its base model still has a tree
                return AutoModel.from_config(config, dtype=dtype, trust_remote_code=False)
    except Exception as exc:
        raise errors.ModelLoadError(f"'{ref.display}': transformers cannot build this architecture from its "
                                    f"config ({type(exc).__name__}: {str(exc)[:200]}).") from exc


def _swap_bnb_layers(model, quant: str):
    try:
        from transformers.integrations.bitsandbytes import replace_with_bnb_linear
    except ImportError:
        return model, "bitsandbytes is not installed: the layers are shown unquantized."
    qconfig = quant_mod.bnb_config(quant)
    keep = ["lm_head", *(getattr(model, "_keep_in_fp32_modules", None) or [])]
    try:
        return replace_with_bnb_linear(model, modules_to_not_convert=keep, quantization_config=qconfig), None
    except Exception as exc:  # an old bitsandbytes build without CPU support, for instance
        return model, (f"bitsandbytes could not build the quantized layers here ({type(exc).__name__}): shown "
                       "unquantized.")


# ------------------------------------------------------------------------------------------- measurement


def classify(name: str, module: Any) -> str:
    """The layer type a module's parameters count under: embeddings, attention, mlp, norms, lm head or other.

    Args:
        name: the module's dotted name in the model (``model.layers.0.self_attn.q_proj``).
        module: the module.

    Returns:
        One of KINDS.
    """
    cls = type(module).__name__.lower()
    low = name.lower()
    leaf = low.rsplit(".", 1)[-1]
    if "norm" in cls or re.fullmatch(r"(ln_?\w*|.*norm.*)", leaf):
        return "norms"
    if "embedding" in cls or "embed" in leaf or leaf in ("wte", "wpe"):
        return "embeddings"
    if leaf in ("lm_head", "output", "embed_out"):
        return "lm head"
    if "attn" in low or "attention" in low:
        return "attention"
    if any(k in low for k in ("mlp", "feed_forward", "ffn", "moe", "experts", "c_fc", "fc1", "fc2")):
        return "mlp"
    return "other"


def _logical_numel(p) -> int:
    """Parameters a tensor stands for (a packed 4-bit tensor holds two per byte)."""
    state = getattr(p, "quant_state", None)
    shape = getattr(state, "shape", None)
    if shape is not None:
        n = 1
        for d in shape:
            n *= int(d)
        return n
    return int(p.numel())


def _quant_label(module: Any) -> str:
    cls = type(module).__name__
    if cls == "Linear4bit":
        qtype = getattr(getattr(module.weight, "quant_state", None), "quant_type", None) or getattr(
            module.weight, "quant_type", "nf4")
        return f"{qtype} 4-bit (bitsandbytes)"
    if cls == "Linear8bitLt":
        return "int8 (bitsandbytes LLM.int8)"
    return "none"


def _dtype_name(p, module: Any) -> str:
    cls = type(module).__name__
    if cls == "Linear4bit":
        compute = getattr(module, "compute_dtype", None)
        return f"4-bit packed, compute {str(compute).replace('torch.', '') if compute else 'fp32'}"
    if cls == "Linear8bitLt":
        return "int8"
    return str(p.dtype).replace("torch.", "")


def _param_bytes(p, module: Any, numel: int) -> int:
    cls = type(module).__name__
    if cls == "Linear4bit":
        return int(numel * _NF4_BITS / 8)
    if cls == "Linear8bitLt":
        return numel + 4 * int(p.shape[0])
    return numel * p.element_size()


def layer_rows(model: Any) -> list[LayerRow]:
    """One row per module owning parameters, in model order; a tied parameter is counted once (where first seen).

    Args:
        model: a torch ``nn.Module`` (on any device, meta included).

    Returns:
        LayerRow list; the sum of ``params`` equals ``model.num_parameters()``.
    """
    seen: dict[int, str] = {}
    rows = []
    for name, module in model.named_modules():
        own = list(module.named_parameters(recurse=False))
        if not own:
            continue
        fresh = [(pn, p) for pn, p in own if id(p) not in seen]
        tied = [seen[id(p)] for _, p in own if id(p) in seen]
        for pn, p in fresh:
            seen[id(p)] = f"{name}.{pn}" if name else pn
        counts = [_logical_numel(p) for _, p in fresh]
        first = (fresh or own)[0][1]
        shapes = ", ".join("×".join(str(d) for d in _shape(p)) for _, p in own)
        rows.append(LayerRow(
            name=name or "(root)", module=type(module).__name__, kind=classify(name, module), params=sum(counts),
            shape=shapes, dtype=_dtype_name(first, module), quantization=_quant_label(module),
            bytes=sum(_param_bytes(p, module, n) for (_, p), n in zip(fresh, counts, strict=True)),
            quantizable=_is_linear(module) and "lm_head" not in name, tied_to=", ".join(tied) or None))
    return rows


def _shape(p) -> tuple:
    state = getattr(p, "quant_state", None)
    return tuple(getattr(state, "shape", None) or p.shape)


def _is_linear(module: Any) -> bool:
    import torch

    return isinstance(module, torch.nn.Linear) or type(module).__name__ in ("Linear4bit", "Linear8bitLt")


def _bytes_at(row: LayerRow, quant: str) -> int:
    """Weight bytes of one row if the model were loaded at ``quant`` (Linear layers quantized, the rest in bf16)."""
    if row.quantizable and quant == "4bit":
        return int(row.params * _NF4_BITS / 8)
    if row.quantizable and quant == "8bit":
        return row.params + 4 * int(row.shape.split("×", 1)[0] or 0)
    return row.params * _DTYPE_BYTES[quant]


# ------------------------------------------------------------------------------------------- config facts


def _text_config(config: Any) -> Any:
    return getattr(config, "text_config", None) or config


def _first(cfg: Any, *names: str) -> Any:
    for n in names:
        value = getattr(cfg, n, None)
        if value is not None:
            return value
    return None


def config_facts(config: Any) -> list[tuple[str, Any]]:
    """The config facts that decide memory and behaviour, as (fact, value) pairs (unset facts left out).

    Args:
        config: a transformers ``PretrainedConfig``.

    Returns:
        Pairs such as ("layers", 32), ("KV heads", 8), ("RoPE theta", 500000.0), ("KV cache per 1k tokens (bf16)", …).
    """
    cfg = _text_config(config)
    layers = _first(cfg, "num_hidden_layers", "n_layer", "num_layers")
    hidden = _first(cfg, "hidden_size", "n_embd", "d_model")
    heads = _first(cfg, "num_attention_heads", "n_head")
    kv = _first(cfg, "num_key_value_heads") or heads
    head_dim = _first(cfg, "head_dim") or (hidden // heads if hidden and heads else None)
    rope = _rope(cfg)
    facts: list[tuple[str, Any]] = [
        ("architecture", ", ".join(getattr(config, "architectures", None) or []) or None),
        ("model type", getattr(config, "model_type", None)),
        ("layers", layers), ("hidden size", hidden),
        ("MLP (intermediate) size", _first(cfg, "intermediate_size", "n_inner", "ffn_dim")),
        ("attention heads", heads), ("KV heads", kv), ("head dim", head_dim),
        ("attention", _attention_kind(heads, kv)),
        ("vocab size", _first(cfg, "vocab_size")),
        ("context length", _first(cfg, "max_position_embeddings", "n_positions", "max_sequence_length")),
        ("RoPE theta", rope.get("rope_theta")), ("RoPE scaling", _rope_scaling(rope)),
        ("sliding window", _first(cfg, "sliding_window")),
        ("experts", _first(cfg, "num_local_experts", "num_experts")),
        ("experts per token", _first(cfg, "num_experts_per_tok")),
        ("activation", _first(cfg, "hidden_act", "activation_function")),
        ("tied input/output embeddings", getattr(config, "tie_word_embeddings", None)),
        ("saved dtype", str(getattr(config, "dtype", None) or "").replace("torch.", "") or None),
        ("KV cache per 1k tokens (bf16)", _kv_cache(layers, kv, head_dim)),
    ]
    return [(k, v) for k, v in facts if v is not None]


def _rope(cfg: Any) -> dict:
    params = getattr(cfg, "rope_parameters", None)
    if isinstance(params, dict) and params and all(isinstance(v, dict) for v in params.values()):
        params = next(iter(params.values()))  # per layer type (Gemma): the first is representative
    params = dict(params) if isinstance(params, dict) else {}
    if "rope_theta" not in params and getattr(cfg, "rope_theta", None) is not None:
        params["rope_theta"] = cfg.rope_theta
    legacy = getattr(cfg, "rope_scaling", None)
    if isinstance(legacy, dict) and "rope_type" not in params:
        params.update(legacy)
    return params


def _rope_scaling(rope: dict) -> str | None:
    kind = rope.get("rope_type") or rope.get("type")
    if not kind or kind == "default":
        return "none" if rope.get("rope_theta") else None
    extra = [f"{k}={v}" for k, v in rope.items() if k not in ("rope_type", "type", "rope_theta")]
    return f"{kind} ({', '.join(extra)})" if extra else str(kind)


def _attention_kind(heads: int | None, kv: int | None) -> str | None:
    if not heads or not kv:
        return None
    if kv == heads:
        return "multi-head (MHA)"
    if kv == 1:
        return "multi-query (MQA)"
    return f"grouped-query (GQA, {heads // kv} query heads per KV head)"


def _kv_cache(layers: int | None, kv: int | None, head_dim: int | None) -> str | None:
    if not (layers and kv and head_dim):
        return None
    n = 2 * layers * kv * head_dim * 2 * 1024  # K and V, bf16, 1024 tokens
    return f"{n / 2**20:.1f} MB" if n < 2**30 else f"{n / 2**30:.2f} GB"
