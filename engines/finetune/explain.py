"""The explanation beside the hyperparameters, written from their current values.

The Suggest button's reasons were shown as written, so after the user changed rank 8 to 32 or the learning rate
from 2e-4 to 1e-3 the text still explained "rank 8" and "2e-4". Now every line describes the value in the box; where
it is the suggested value, the suggestion's own reason is kept, and where it differs, the suggestion is named.
"""

from __future__ import annotations

from engines.finetune.spec import Hyper

EXPLAINED = ("method", "rank", "alpha", "dropout", "target_modules", "learning_rate", "epochs", "batch_size",
             "grad_accum", "max_length", "grad_checkpointing")
LORA_ONLY = ("rank", "alpha", "dropout", "target_modules")
# a suggested reason also speaks of these other settings ("alpha = 2 × rank", "effective batch 16"): it holds only
# while they keep their suggested values too
DEPENDS = {"alpha": ("rank",), "grad_accum": ("batch_size",), "batch_size": ("max_length", "method"),
           "learning_rate": ("method",), "rank": ("method",), "method": (), "grad_checkpointing": ("method",)}

METHODS = {"lora": "LoRA: small trainable adapters on a frozen base — fast, and the base stays untouched",
           "qlora": "QLoRA: LoRA on a 4-bit base — the least memory (CUDA only)",
           "full": "full: every weight trains — the most capacity, and ~16 bytes of memory per parameter"}


def explain(hyper: Hyper, suggested: dict | None = None) -> dict[str, str]:
    """One line per hyperparameter about its current value.

    Args:
        hyper: the values in the boxes now.
        suggested: what Suggest proposed, {"hyper": Hyper.to_dict(), "why": {name: reason}} (None: no suggestion).

    Returns:
        name → reason, in the order of ``EXPLAINED``.
    """
    proposal = (suggested or {}).get("hyper") or {}
    reasons = (suggested or {}).get("why") or {}
    now = hyper.to_dict()
    out = {}
    for name in EXPLAINED:
        value, proposed = now[name], proposal.get(name)
        if hyper.method == "full" and name in LORA_ONLY:
            out[name] = "not used: full fine-tuning trains the weights themselves, no adapter"
        elif name in reasons and all(_same(now[k], proposal.get(k)) for k in (name, *DEPENDS.get(name, ()))):
            out[name] = reasons[name]
        else:
            out[name] = _reason(name, hyper)
            if proposed is not None and not _same(value, proposed):
                out[name] += f" (suggested: {_show(name, proposed)})"
    return out


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        try:
            return abs(float(a) - float(b)) <= 1e-12 * max(1.0, abs(float(b)))
        except (TypeError, ValueError):
            return False
    return a == b


def _show(name: str, value) -> str:
    if name == "target_modules":
        return ", ".join(value) if value else "every linear layer"
    if name == "grad_checkpointing":
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _reason(name: str, h: Hyper) -> str:
    lora = h.method in ("lora", "qlora")
    if name == "method":
        return METHODS.get(h.method, h.method)
    if name == "rank":
        size = ("narrow: enough for a focused task" if h.rank <= 8 else "room for a broader task" if h.rank <= 64
                else "very wide: many more trainable parameters, closer to full fine-tuning")
        return f"rank {h.rank}: the adapter's width; {size}"
    if name == "alpha":
        ratio = h.alpha / max(1, h.rank)
        usual = " (the usual 2 × rank)" if h.alpha == 2 * h.rank else "; 2 × rank is usual"
        return f"alpha {h.alpha}: the adapter's update is scaled by alpha / rank = {ratio:g}{usual}"
    if name == "dropout":
        level = ("no regularisation of the adapter" if h.dropout == 0 else
                 "light regularisation, enough for small datasets" if h.dropout <= 0.1 else
                 "strong regularisation: slows learning")
        return f"{h.dropout:g}: {level}"
    if name == "target_modules":
        return ("every linear layer of attention and MLP: adapting all of them trains best (QLoRA paper)"
                if not h.target_modules else
                f"only {', '.join(h.target_modules)}: fewer trainable parameters; every linear layer usually trains "
                "better")
    if name == "learning_rate":
        return f"{h.learning_rate:g}: {_rate(h.learning_rate, lora)}"
    return _schedule_reason(name, h)


def _rate(lr: float, lora: bool) -> str:
    if lora:
        return ("high for LoRA: the loss may jump or diverge" if lr > 5e-4 else
                "low for LoRA: it learns slowly" if lr < 5e-5 else
                "in LoRA's usual range (~1e-4 to 2e-4: ~10× the full fine-tuning rate)")
    return ("high for full fine-tuning: it can wreck what the base model knows" if lr > 1e-4 else
            "low: it learns slowly" if lr < 5e-6 else "in full fine-tuning's usual range (~1e-5 to 5e-5)")


def _schedule_reason(name: str, h: Hyper) -> str:
    if name == "epochs":
        passes = ("less than one pass over the data" if h.epochs < 1 else
                  "one pass: enough for a large dataset" if h.epochs == 1 else
                  "a few passes: small datasets need them" if h.epochs <= 3 else
                  "many passes: risks memorising the training set (watch the held-out loss)")
        return f"{h.epochs:g}: {passes}"
    if name == "batch_size":
        return f"{h.batch_size} per step: memory grows with it"
    if name == "grad_accum":
        return f"{h.grad_accum}: steps accumulated before an update (effective batch {h.batch_size * h.grad_accum})"
    if name == "max_length":
        return f"{h.max_length} tokens per example: longer examples are cut"
    return ("on: recompute activations in the backward pass — ~30% slower, much less memory" if h.grad_checkpointing
            else "off: activations are kept — faster, more memory")
