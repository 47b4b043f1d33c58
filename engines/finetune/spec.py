"""What a fine-tuning run is made of: the method and hyperparameters (``Hyper``), shared by the server and the worker.

Plain data, JSON round-trippable (a run folder's ``run.json`` holds one), no torch import.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

from engines import errors

METHODS = ("lora", "qlora", "full")
METHOD_LABELS = {"lora": "LoRA", "qlora": "QLoRA (4-bit base)", "full": "Full fine-tuning"}


@dataclass
class Hyper:
    """The method and hyperparameters of one run. 0 in the ``*_steps`` fields means "chosen from the run length"."""

    method: str = "lora"
    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=list)  # empty: every linear layer of attention and MLP
    learning_rate: float = 2e-4
    epochs: float = 3.0
    batch_size: int = 4
    grad_accum: int = 1
    max_length: int = 1024
    grad_checkpointing: bool = False
    max_steps: int = 0  # 0: as many as the epochs take
    save_steps: int = 0
    eval_steps: int = 0
    logging_steps: int = 0
    seed: int = 42

    def to_dict(self) -> dict:
        """A JSON-ready copy."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Hyper:
        """From ``to_dict`` output (unknown keys ignored)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (data or {}).items() if k in names})


# name → (low, high): inclusive ranges checked before a run starts
RANGES: dict[str, tuple[float, float]] = {
    "rank": (1, 1024), "alpha": (1, 4096), "dropout": (0.0, 0.9), "learning_rate": (1e-8, 1.0),
    "epochs": (0.01, 100), "batch_size": (1, 1024), "grad_accum": (1, 1024), "max_length": (8, 131072),
    "max_steps": (0, 1_000_000), "save_steps": (0, 1_000_000), "eval_steps": (0, 1_000_000),
    "logging_steps": (0, 1_000_000), "seed": (0, 2**32 - 1),
}
_INTS = ("rank", "alpha", "batch_size", "grad_accum", "max_length", "max_steps", "save_steps", "eval_steps",
         "logging_steps", "seed")


def check_hyper(h: Hyper) -> Hyper:
    """Validate and normalise hyperparameters (whole numbers where needed, ranges, the method name).

    Args:
        h: the hyperparameters as given.

    Returns:
        A clean copy.

    Raises:
        InvalidInput: an unknown method, a value that is not a number, outside its range, or not whole.
    """
    method = (h.method or "lora").strip().lower()
    if method not in METHODS:
        raise errors.InvalidInput(f"Unknown method '{h.method}': choose one of {', '.join(METHODS)}.")
    clean = Hyper.from_dict({**h.to_dict(), "method": method})
    for name, (low, high) in RANGES.items():
        value = getattr(clean, name)
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise errors.InvalidInput(f"{name.replace('_', ' ')} must be a number (got {value!r}).") from None
        if not math.isfinite(number) or not low <= number <= high:
            raise errors.InvalidInput(f"{name.replace('_', ' ')} must be between {low:g} and {high:g} "
                                      f"(got {number:g}).")
        if name in _INTS:
            if not number.is_integer():
                raise errors.InvalidInput(f"{name.replace('_', ' ')} must be a whole number (got {number:g}).")
            number = int(number)
        setattr(clean, name, number)
    clean.grad_checkpointing = bool(clean.grad_checkpointing)
    clean.target_modules = parse_modules(clean.target_modules)
    return clean


def parse_modules(value: str | list[str] | None) -> list[str]:
    """Target module names from a comma/space separated string or a list (duplicates and blanks dropped)."""
    if value is None:
        return []
    items = value.replace(",", " ").split() if isinstance(value, str) else [str(v).strip() for v in value]
    out: list[str] = []
    for item in items:
        if item and item not in out:
            out.append(item)
    return out


def total_steps(n_train: int, h: Hyper) -> int:
    """Optimizer steps a run takes (as transformers' Trainer counts them): ``max_steps``, else by epochs."""
    if h.max_steps:
        return int(h.max_steps)
    batches = max(1, math.ceil(n_train / h.batch_size))
    per_epoch = max(1, math.ceil(batches / h.grad_accum))
    return max(1, math.ceil(per_epoch * h.epochs))


LOG_EVERY_MAX = 50  # steps between logged points, at most


def schedule(n_train: int, h: Hyper, has_heldout: bool) -> dict[str, int]:
    """Logging, evaluation and checkpoint intervals for a run: explicit values win, else chosen from its length.

    About 100 logged points (at least one every 50 steps, so a long run shows its curve and speed early), 10
    held-out evaluations and 10 checkpoints per run; never less than every step.
    """
    steps = total_steps(n_train, h)
    return {
        "total_steps": steps,
        "logging_steps": h.logging_steps or max(1, min(LOG_EVERY_MAX, steps // 100)),
        "eval_steps": (h.eval_steps or max(1, steps // 10)) if has_heldout else 0,
        "save_steps": h.save_steps or max(1, steps // 10),
    }


@dataclass
class DataFacts:
    """What a run trained on: where the rows came from, their form, and the split."""

    source: str = ""
    form: str = ""
    columns: dict = field(default_factory=dict)  # role → column name read
    rows: int = 0
    train: int = 0
    heldout: int = 0
    longest: int = 0
    too_long: int = 0


@dataclass
class RunSpec:
    """One run as its folder's ``run.json`` holds it: written by the server at start, read by the worker, the run
    view, the model card, the code and the notebook. Missing keys (an older or partial file) read as defaults."""

    id: str = ""
    base: str = ""  # the reference as the user gave it
    base_target: str = ""  # where the worker loads the base from (a local snapshot for a gated model)
    base_display: str = ""
    base_hub_id: str | None = None
    architecture: str = ""
    params: int = 0
    quantization: str = "fp32"
    device: str = "cpu"
    hyper: Hyper = field(default_factory=Hyper)
    targets: list[str] = field(default_factory=list)
    total_steps: int = 0
    logging_steps: int = 0
    eval_steps: int = 0
    save_steps: int = 0
    data: DataFacts = field(default_factory=DataFacts)
    plan: dict = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The JSON-ready ``run.json`` content."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> RunSpec:
        """From ``run.json`` (unknown keys ignored, missing ones defaulted)."""
        data = data or {}
        names = {f.name for f in fields(cls)}
        spec = cls(**{k: v for k, v in data.items() if k in names and k not in ("hyper", "data")})
        spec.hyper = Hyper.from_dict(data.get("hyper") or {})
        spec.data = DataFacts(**{k: v for k, v in (data.get("data") or {}).items()
                                 if k in {f.name for f in fields(DataFacts)}})
        return spec
