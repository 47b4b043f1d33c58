"""Before a run: what the base model is (a causal LM? which linear layers?), sensible defaults for its size, the
trainable-parameter count and share, and a memory estimate (full fine-tuning is refused when it can't fit).

The model is built on PyTorch's ``meta`` device from its config: shapes only, no weights, no memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engines import errors
from engines.config import Settings
from engines.finetune.spec import METHOD_LABELS, Hyper, check_hyper
from engines.refs import ModelRef, parse_ref

_CAUSAL_SUFFIXES = ("ForCausalLM", "LMHeadModel")
GIB = 2**30


@dataclass
class ModelFacts:
    """What the base model's config says, and its linear layers by name (leaf name → list of (in, out))."""

    ref: ModelRef
    model_type: str
    architecture: str
    params: int
    hidden: int
    layers: int
    vocab: int
    context: int | None
    linear: dict[str, list[tuple[int, int]]]

    @property
    def params_b(self) -> float:
        """Parameters in billions."""
        return self.params / 1e9


def base_ref(model: str, settings: Settings | None = None) -> ModelRef:
    """Parse the base model reference: a catalog id, any allowed Hub id or a local folder (not a remote API).

    Raises:
        InvalidModelRef / ModelNotAllowed / ModelNotFound: from ``parse_ref``. Unsupported: an API model.
    """
    from engines.backends.registry import is_local

    ref = parse_ref(model, settings)
    if not is_local(ref, settings):
        raise errors.Unsupported(f"'{ref.raw}' runs behind an API: fine-tuning needs the model's weights. Pick an "
                                 "open model (a Hub id or a local folder).")
    return ref


def check_causal(config, ref: ModelRef) -> str:
    """The architecture name of a causal (decoder-only) LM.

    Raises:
        Unsupported: an encoder, an encoder-decoder, a classifier, or a type transformers can't load as a causal LM.
    """
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    model_type = getattr(config, "model_type", "?")
    archs = list(getattr(config, "architectures", None) or [])
    causal_arch = next((a for a in archs if a.endswith(_CAUSAL_SUFFIXES)), None)
    is_causal = (model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES and not getattr(config, "is_encoder_decoder", False)
                 and (causal_arch is not None or not archs))
    if archs and causal_arch is None or not is_causal:
        shown = archs[0] if archs else model_type
        raise errors.Unsupported(f"'{ref.display}' is a {model_type} model ({shown}), not a causal (decoder-only) "
                                 "language model. Supervised fine-tuning here trains text generators: pick a chat or "
                                 "base LLM (Llama, Qwen, Phi, Gemma, SmolLM, ...).")
    return causal_arch or MODEL_FOR_CAUSAL_LM_MAPPING_NAMES[model_type]


def inspect_model(model: str, settings: Settings | None = None) -> ModelFacts:
    """Facts about a base model from its config, its layers built on the meta device (no weights loaded).

    Raises:
        Unsupported: not a causal LM, or an API model. Load errors as ``engines.loading`` maps them.
    """
    ref = base_ref(model, settings)
    from engines.loading import load_config

    config = load_config(_adapter_free(ref))
    arch = check_causal(config, ref)
    import torch
    from transformers import AutoModelForCausalLM

    try:
        with torch.device("meta"):
            meta = AutoModelForCausalLM.from_config(config, trust_remote_code=False)
    except Exception as exc:
        raise errors.ModelLoadError(f"'{ref.display}' ({arch}) could not be built: {str(exc)[:200]}") from exc
    out_emb = meta.get_output_embeddings()
    linear: dict[str, list[tuple[int, int]]] = {}
    for name, module in meta.named_modules():
        if isinstance(module, torch.nn.Linear) and module is not out_emb:
            linear.setdefault(name.rsplit(".", 1)[-1], []).append((module.in_features, module.out_features))
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    return ModelFacts(ref=ref, model_type=config.model_type, architecture=arch,
                      params=sum(p.numel() for p in meta.parameters()), hidden=int(getattr(text, "hidden_size", 0)),
                      layers=int(getattr(text, "num_hidden_layers", 0)), vocab=int(getattr(text, "vocab_size", 0)),
                      context=getattr(text, "max_position_embeddings", None), linear=linear)


def _adapter_free(ref: ModelRef) -> ModelRef:
    """A tuned adapter folder stands for its base: read the base's config (a folder the app wrote)."""
    if ref.path is None or not (ref.path / "adapter_config.json").exists() or (ref.path / "config.json").exists():
        return ref
    raise errors.Unsupported(f"'{ref.display}' is a LoRA adapter, not a full model: merge it first (Fine-tune tab, "
                             "\"Merge and save\") and fine-tune the merged folder.")


def check_targets(facts: ModelFacts, names: list[str]) -> list[str]:
    """The target modules to adapt: the given names, or every linear layer of attention and MLP when empty.

    Raises:
        InvalidInput: a name that is no linear layer of the model (lists the ones it has).
    """
    available = sorted(facts.linear)
    if not names:
        return available
    missing = [n for n in names if n not in facts.linear]
    if missing:
        listed = ", ".join(repr(m) for m in missing)
        raise errors.InvalidInput(f"Target module{'s' if len(missing) > 1 else ''} {listed} not in "
                                  f"{facts.ref.display} ({facts.architecture}). Its linear layers: "
                                  f"{', '.join(available)}.")
    return list(names)


# ----------------------------------------------------------------------------------------------- defaults


@dataclass
class Defaults:
    """Suggested hyperparameters for a model size and device, each with a one-line reason."""

    hyper: Hyper
    why: dict[str, str] = field(default_factory=dict)


def defaults(facts: ModelFacts, device: str, n_examples: int | None = None, p95_tokens: int | None = None) -> Defaults:
    """Sensible defaults for the base model's size, the device and (when known) the data.

    Args:
        facts: from ``inspect_model``.
        device: "cuda", "mps" or "cpu".
        n_examples: training examples, when the data is loaded.
        p95_tokens: the 95th percentile of example lengths, when measured.

    Returns:
        Hyperparameters and why each was chosen.
    """
    size = facts.params_b
    big = size >= 3
    method = "qlora" if device == "cuda" and size >= 3 else "lora"
    rank = 8 if size < 0.5 else 16
    epochs = 3.0 if (n_examples or 0) < 2000 else 1.0
    batch = 1 if size >= 13 else 2 if big else 4 if device != "cuda" or size >= 1 else 8
    accum = max(1, 16 // batch) if big else 4 if device == "cuda" else 1
    window = min(facts.context or 2048, 2048)
    max_len = min(window, max(128, _pow2(p95_tokens))) if p95_tokens else min(window, 1024)
    hyper = Hyper(method=method, rank=rank, alpha=2 * rank, dropout=0.05, target_modules=sorted(facts.linear),
                  learning_rate=1e-4 if big else 2e-4, epochs=epochs, batch_size=batch, grad_accum=accum,
                  max_length=max_len, grad_checkpointing=device == "cuda" and size >= 1)
    why = {
        "method": ("QLoRA: a 4-bit base leaves room for a model this size on one GPU" if method == "qlora" else
                   "LoRA: small trainable adapters on a frozen base — fast, and the base stays untouched"),
        "rank": f"rank {rank}: the adapter's width; {rank} is plenty for a task-sized dataset on a {size:.2g}B model",
        "alpha": "alpha = 2 × rank: the usual scale of the adapter's update (alpha / rank = 2)",
        "dropout": "0.05: light regularisation of the adapter, enough for small datasets",
        "target_modules": "every linear layer of attention and MLP: adapting all of them trains best (QLoRA paper)",
        "learning_rate": f"{hyper.learning_rate:g}: LoRA trains at ~10x the full fine-tuning rate; lower when big",
        "epochs": (f"{epochs:g}: small datasets need a few passes; more risks memorising" if epochs > 1 else
                   "1: a large dataset teaches in one pass"),
        "batch_size": f"{batch} per step: what fits this model on {device.upper()} at this length",
        "grad_accum": f"{accum}: steps accumulated before an update (effective batch {batch * accum})",
        "max_length": (f"{max_len}: covers 95% of your examples ({p95_tokens} tokens) within the context" if p95_tokens
                       else f"{max_len}: typical instruction examples fit; longer ones are cut"),
        "grad_checkpointing": ("on: recompute activations in the backward pass — ~30% slower, much less memory"
                               if hyper.grad_checkpointing else "off: the activations fit; training runs faster"),
    }
    return Defaults(hyper=hyper, why=why)


def _pow2(n: int | None) -> int:
    size = 64
    while n and size < n:
        size *= 2
    return size


def full_defaults(hyper: Hyper) -> Hyper:
    """Full fine-tuning changes every weight: a ~10x lower learning rate than LoRA."""
    return Hyper.from_dict({**hyper.to_dict(), "method": "full", "learning_rate": min(hyper.learning_rate, 2e-5)})


# ----------------------------------------------------------------------------------------------- counts and memory


@dataclass
class Estimate:
    """Trainable parameters and a rough memory estimate of one configuration."""

    method: str
    trainable: int
    total: int
    memory_bytes: int
    parts: dict[str, int]
    available_bytes: int | None
    targets: list[str]
    notices: list[str] = field(default_factory=list)

    @property
    def share(self) -> float:
        """Trainable share of all parameters (as peft's ``print_trainable_parameters`` counts: adapters included)."""
        return self.trainable / self.total if self.total else 0.0


def trainable_params(facts: ModelFacts, targets: list[str], rank: int) -> int:
    """LoRA parameters: r × (in + out) for each targeted linear layer (A is r × in, B is out × r)."""
    return sum(rank * (i + o) for name in targets for i, o in facts.linear.get(name, []))


def estimate(facts: ModelFacts, hyper: Hyper, device: str, quantization: str) -> Estimate:
    """Trainable parameters, their share, and the memory a run needs (weights, gradients, Adam states, activations).

    Args:
        facts: from ``inspect_model``.
        hyper: the run's hyperparameters (checked).
        device: "cuda", "mps" or "cpu".
        quantization: how the base loads: "4bit", "bf16", "fp16" or "fp32".

    Returns:
        The estimate (rough: activations assume no attention-matrix storage, as with SDPA kernels).
    """
    targets = check_targets(facts, hyper.target_modules) if hyper.method != "full" else []
    weight_bytes = {"4bit": 0.56, "8bit": 1.0, "bf16": 2.0, "fp16": 2.0}.get(quantization, 4.0)
    if hyper.method == "full":
        trainable, total = facts.params, facts.params
        parts = {"weights, gradients and Adam states (16 bytes per parameter)": facts.params * 16}
    else:
        trainable = trainable_params(facts, targets, hyper.rank)
        total = facts.params + trainable
        parts = {f"frozen base ({quantization})": int(facts.params * weight_bytes),
                 "adapters, their gradients and Adam states": trainable * 16}
    tokens = hyper.batch_size * hyper.max_length
    per_layer = tokens * facts.hidden * 34  # ~34 bytes per token and hidden unit in 16-bit (Korthikanti et al.)
    kept = tokens * facts.hidden * 2 * facts.layers + per_layer  # checkpointing keeps layer inputs, recomputes one
    act = kept if hyper.grad_checkpointing else per_layer * facts.layers
    parts["activations (rough)"] = int(act * (2 if device == "cpu" else 1))  # fp32 on CPU
    parts["logits (chunked)"] = int(tokens * min(facts.vocab, 65536) * 4)
    return Estimate(method=hyper.method, trainable=int(trainable), total=int(total), memory_bytes=sum(parts.values()),
                    parts=parts, available_bytes=available_memory(device), targets=targets)


def available_memory(device: str) -> int | None:
    """Bytes a run can use: the GPU's total memory on CUDA, available RAM otherwise (None when unknown)."""
    if device == "cuda":
        try:
            import torch

            return int(torch.cuda.mem_get_info()[1])
        except Exception:
            return None
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:
        return None


def check_fits(facts: ModelFacts, est: Estimate) -> None:
    """Refuse full fine-tuning that can't fit in memory, with the estimate and what would fit instead.

    Raises:
        OutOfMemory: the estimate exceeds 90 % of the memory available.
    """
    if est.method != "full" or est.available_bytes is None or est.memory_bytes <= 0.9 * est.available_bytes:
        return
    raise errors.OutOfMemory(
        f"Full fine-tuning of {facts.ref.display} ({facts.params_b:.2f}B parameters) needs about "
        f"{est.memory_bytes / GIB:.1f} GB (weights, gradients and Adam states at 16 bytes per parameter, plus "
        f"activations); this machine has {est.available_bytes / GIB:.1f} GB. Use LoRA (or QLoRA on a GPU), which "
        "trains a small adapter on the frozen base.")


def describe(est: Estimate) -> dict[str, Any]:
    """A JSON-ready summary for the run folder and the UI."""
    return {"method": METHOD_LABELS.get(est.method, est.method), "trainable": est.trainable, "total": est.total,
            "share": est.share, "memory_bytes": est.memory_bytes, "parts": est.parts,
            "available_bytes": est.available_bytes, "targets": est.targets}


def plan(model: str, hyper: Hyper, device: str, settings: Settings | None = None) -> tuple[ModelFacts, Estimate]:
    """Inspect the base, check the hyperparameters and targets, and estimate: everything a run needs first.

    Raises:
        InvalidInput / Unsupported / OutOfMemory / load errors: what would make the run fail.
    """
    hyper = check_hyper(hyper)
    facts = inspect_model(model, settings)
    quant, _ = method_quantization(hyper.method, device)
    est = estimate(facts, hyper, device, quant)
    check_fits(facts, est)
    return facts, est


def method_quantization(method: str, device: str) -> tuple[str, str | None]:
    """How the base loads for a method on a device, and a notice when QLoRA can't run here.

    QLoRA = a 4-bit NF4 base (``engines.quant``) on CUDA. Elsewhere it falls back visibly (the quantization policy):
    plain LoRA on a full-precision base. LoRA and full fine-tuning train in bf16 on CUDA (fp16 where bf16 is
    missing) and in fp32 on CPU and Apple MPS (fp16 training there is unstable).
    """
    from engines import quant

    if method == "qlora":
        chosen, notice = quant.resolve_quantization("4bit", device, None)
        if chosen == "4bit":
            return chosen, None
        return chosen, (f"QLoRA needs a CUDA GPU (bitsandbytes 4-bit): this run trains plain LoRA on a {chosen} base "
                        f"on {device.upper()} instead." if device != "cuda" else notice)
    if device == "cuda":
        return quant.resolve_quantization("bf16", device, None)
    return "fp32", None
