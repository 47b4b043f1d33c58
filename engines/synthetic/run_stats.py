"""What a run did: ``RunStats`` (filled in place while rows stream), the stop sentence, and ``NoValidRows``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from engines import errors


@dataclass
class RunStats:
    """What happened during a run; ``stream_rows`` fills it in place while it yields rows."""

    requested: int = 0
    rows: int = 0
    invalid: int = 0
    duplicates: int = 0
    coerced: int = 0
    batches: int = 0
    failed_in_a_row: int = 0
    stop_reason: str = ""  # complete | retry budget | batch limit | error | stopped
    message: str = ""
    seconds: float = 0.0
    load_s: float = 0.0
    tokens: int = 0
    model: str = ""
    backend: str = ""
    device: str = ""
    quantization: str = ""
    invalid_reasons: Counter = field(default_factory=Counter)
    invalid_examples: list[dict] = field(default_factory=list)
    raw_samples: list[str] = field(default_factory=list)
    last_raw: str = ""
    last_messages: list[dict] = field(default_factory=list)
    first_messages: list[dict] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    temperature: float = 0.0
    max_new_tokens: int = 0

    @property
    def tokens_per_s(self) -> float:
        """Generated tokens per second over the whole run."""
        return self.tokens / self.seconds if self.seconds > 0 else 0.0


class NoValidRows(errors.WorkbenchError):
    """The model gave no valid row within the retry budget. ``raw_sample`` holds its last raw output."""

    title = "No valid rows"

    def __init__(self, message: str, raw_sample: str = "", stats: RunStats | None = None):
        super().__init__(message)
        self.raw_sample = raw_sample
        self.stats = stats


def describe_stop(stats: RunStats) -> str:
    """A sentence saying why the run stopped and what it produced."""
    got = f"{stats.rows:,} of {stats.requested:,} rows"
    extra = (f" ({stats.invalid:,} invalid, {stats.duplicates:,} duplicate{'' if stats.duplicates == 1 else 's'} "
             "dropped)")
    if stats.stop_reason == "complete":
        return f"Done: the requested {stats.rows:,} rows{extra}."
    if stats.stop_reason == "retry budget":
        return (f"Stopped by the retry budget: {stats.failed_in_a_row} batch(es) in a row brought no new valid row. "
                f"Got {got}{extra}. Turn diversity on, raise the temperature, or try another model.")
    if stats.stop_reason == "batch limit":
        return f"Stopped at the batch limit ({stats.batches} batches): got {got}{extra}."
    if stats.stop_reason == "error":
        return f"Stopped by a model error after {got}{extra}: {stats.message}"
    return f"Stopped early: got {got}{extra}."
