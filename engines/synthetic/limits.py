"""Bounds on what one Synthetic data run takes, in one place.

Each bound keeps a request's cost in proportion to what a user can check: the prompt carries every field's name,
type, enum values and description once per batch, so an unbounded field list made one request take minutes
(2,000 fields: 124 s). Each violation is an ``InvalidInput`` that names the limit.
"""

from __future__ import annotations

from engines.config import Settings

DEFAULT_MAX_ROWS = 1000          # WORKBENCH_SYNTHETIC_MAX_ROWS overrides it
MAX_BATCH_SIZE = 50              # rows asked for per model call
MAX_ATTEMPTS = 50                # the retry budget's upper bound
MAX_FIELDS = 50                  # columns per dataset
MAX_NAME_CHARS = 64              # a field name
MAX_FIELD_DESCRIPTION_CHARS = 500
MAX_ENUM_VALUES = 100            # allowed values of one enum field
MAX_ENUM_VALUE_CHARS = 100       # one allowed value
MAX_SPEC_CHARS = 12_000          # one compact spec, "name:type(args) # description"
MAX_FIELDS_CHARS = 20_000        # names + descriptions + enum values of all fields together (the prompt's share)
MAX_DESCRIPTION_CHARS = 4000     # the dataset description
MAX_MODEL_CHARS = 4096           # a model reference written into a dataset card (as engines.refs allows)
MAX_BINS = 100                   # histogram bins of a summary


def max_rows(settings: Settings | None = None) -> int:
    """The most rows one run may ask for (``Settings.synthetic_max_rows``: ``WORKBENCH_SYNTHETIC_MAX_ROWS``,
    default 1,000)."""
    return (settings or Settings.current()).synthetic_max_rows


def clip(value: object, limit: int = 60) -> str:
    """``value`` as text for an error message, cut to ``limit`` characters (a user's input is echoed, not dumped)."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"
