"""A run's inputs, checked and bounded before any model call: the ``Plan`` that ``stream_rows`` executes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engines import errors
from engines.config import Settings
from engines.refs import parse_ref
from engines.synthetic.fields import Field, validate_fields
from engines.synthetic.limits import MAX_ATTEMPTS, MAX_BATCH_SIZE, MAX_DESCRIPTION_CHARS, clip, max_rows


@dataclass
class Plan:
    """Everything a run needs, validated: what to ask for, from which model, with which budget."""

    description: str
    fields: list[Field]
    n_rows: int
    model: str
    remote: bool
    max_attempts: int
    temperature: float
    diversity: bool
    batch_size: int
    seed: int | None
    max_new_tokens: int | None
    settings: Settings | None = field(default=None, repr=False, compare=False)  # the deployment's, read once


def make_plan(description: Any, fields: Any, n_rows: Any, model: Any, *, max_attempts: Any, temperature: Any,
              diversity: Any, batch_size: Any, seed: Any, max_new_tokens: Any,
              settings: Settings | None = None) -> Plan:
    """Check every input of ``stream_rows`` (see there) and return the Plan.

    Raises:
        InvalidInput / InvalidModelRef: the first input out of its bounds, with the bound in the message.
    """
    settings = settings or Settings.current()
    text = _description(description)
    checked = validate_fields(fields)
    rows = _n_rows(n_rows, settings)
    if not _is_int(max_attempts) or not 1 <= max_attempts <= MAX_ATTEMPTS:
        raise errors.InvalidInput(f"The retry budget (max attempts) must be between 1 and {MAX_ATTEMPTS}.")
    if not _is_int(batch_size) or not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise errors.InvalidInput(f"The batch size must be between 1 and {MAX_BATCH_SIZE}.")
    temp = _temperature(temperature)
    _check_max_new_tokens(max_new_tokens, settings)
    if seed is not None and not _is_int(seed):
        raise errors.InvalidInput(f"The seed must be a whole number or empty (got '{clip(seed, 20)}').")
    if not isinstance(model, str | None):
        raise errors.InvalidInput("The model must be a model reference (text), e.g. org/name or openai:<name>.")
    from engines.backends.registry import is_local

    ref = parse_ref((model or "").strip(), settings)
    return Plan(text, checked, rows, ref.raw, not is_local(ref, settings), max_attempts, temp, bool(diversity),
                batch_size, seed, max_new_tokens, settings)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _description(description: Any) -> str:
    if not isinstance(description, str | None):
        raise errors.InvalidInput("The description must be text: the dataset's topic and what it is for.")
    text = (description or "").strip()
    if not text:
        raise errors.InvalidInput("Describe the dataset: its topic and what it is for.")
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise errors.InvalidInput(f"The description is too long ({len(text):,} characters): keep it under "
                                  f"{MAX_DESCRIPTION_CHARS:,} characters.")
    return text


def _n_rows(n_rows: Any, settings: Settings | None = None) -> int:
    limit = max_rows(settings)
    if isinstance(n_rows, float) and n_rows.is_integer():
        n_rows = int(n_rows)
    if not _is_int(n_rows) or not 1 <= n_rows <= limit:
        raise errors.InvalidInput(f"The number of rows must be between 1 and {limit:,} (got {clip(n_rows, 20)}).")
    return n_rows


def _temperature(temperature: Any) -> float:
    try:
        value = float(temperature)
    except (TypeError, ValueError):
        raise errors.InvalidInput(f"The temperature must be a number between 0 and 2 (got "
                                  f"'{clip(temperature, 20)}').") from None
    if not 0.0 <= value <= 2.0:
        raise errors.InvalidInput("The temperature must be between 0 and 2.")
    return value


def _check_max_new_tokens(max_new_tokens: Any, settings: Settings | None = None) -> None:
    if max_new_tokens is None:
        return
    limit = (settings or Settings.current()).max_new_tokens
    if not _is_int(max_new_tokens) or not 1 <= max_new_tokens <= limit:
        raise errors.InvalidInput(f"max_new_tokens must be a whole number between 1 and {limit:,} "
                                  "(WORKBENCH_MAX_NEW_TOKENS).")
