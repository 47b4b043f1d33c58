"""The Fine-tune form as one typed request: ``RunRequest`` holds the 24 values of a run by name, is made from the
values ``finetune_check`` / ``finetune_start`` receive (their positional parameters are the API / MCP contract and
stay as they are) and names the form's components in that order (``inputs``)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class RunRequest:
    """What a fine-tuning run is asked for, as the form (or an API client) gives it: raw values, checked when the run
    is prepared (``handlers._prepare``). The fields are the parameters of finetune_check / finetune_start, in order.
    """

    model: str | None = None
    source: str | None = None
    file: Any = None
    dataset: str | None = None
    split: str | None = None
    prompt_column: str | None = None
    completion_column: str | None = None
    messages_column: str | None = None
    target_field: str | None = None
    heldout_share: float | None = None
    method: str | None = None
    rank: float | None = None
    alpha: float | None = None
    dropout: float | None = None
    target_modules: str | None = None
    learning_rate: float | None = None
    epochs: float | None = None
    batch_size: float | None = None
    grad_accum: float | None = None
    max_length: float | None = None
    grad_checkpointing: bool | None = None
    max_steps: float | None = None
    seed: float | None = None
    synthetic: dict | None = None

    @classmethod
    def names(cls) -> list[str]:
        """The field names, in the order of the API's parameters."""
        return [f.name for f in fields(cls)]

    @classmethod
    def of(cls, values: dict) -> RunRequest:
        """A request from a handler's arguments by name (``locals()`` of finetune_check...); other keys are ignored."""
        return cls(**{name: values.get(name) for name in cls.names()})

    @classmethod
    def inputs(cls, components: dict) -> list:
        """The form's components (a dict keyed by field name) in the order of the API's parameters."""
        return [components[name] for name in cls.names()]

    def data_args(self) -> tuple:
        """The values that say where the data comes from (``handlers._dataset``)."""
        return (self.source, self.file, self.dataset, self.split, self.prompt_column, self.completion_column,
                self.messages_column, self.target_field, self.synthetic)

    def hyper_args(self) -> tuple:
        """The training hyperparameters (``handlers._hyper``)."""
        return (self.method, self.rank, self.alpha, self.dropout, self.target_modules, self.learning_rate,
                self.epochs, self.batch_size, self.grad_accum, self.max_length, self.grad_checkpointing,
                self.max_steps, self.seed)
