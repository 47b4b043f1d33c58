"""Synthetic data: describe a dataset and its fields, get validated, unique rows streamed from any chat model.

Rows are asked for in batches as JSON Lines through ``engines.chat.stream_chat`` (local transformers models or
``openai:``/``hf:``/``ollama:`` servers). Each object is parsed as soon as its line is complete, coerced to the field
types where that is safe (``"42"`` → 42, ``"yes"`` → true, ``"2024/01/05"`` → ``"2024-01-05"``), checked against
ranges and enum values, and dropped when it repeats an earlier row. A batch that brings no new valid row counts
against the retry budget; with no row at all after the budget the run fails with the model's raw output shown.

Modules: ``limits`` (every bound on a run's inputs), ``fields`` (Field, specs, field checks), ``values`` (numbers
and dates as models write them), ``validate`` (coercion and row checks), ``parse`` (objects in streamed text),
``plan`` (a run's checked inputs), ``request`` (one batch's messages and budget), ``stream`` (``stream_rows``),
``run_stats`` (RunStats, NoValidRows), ``export`` (CSV, JSON Lines), ``summary`` (distributions), ``hub`` (dataset
card, push). The "show code" snippet is ``engines.snippets.synthetic``.
"""

from engines.snippets.synthetic import code_snippet
from engines.synthetic import limits
from engines.synthetic.export import to_csv, to_jsonl
from engines.synthetic.fields import FIELD_TYPES, TYPE_ALIASES, Field, field_key, parse_field, validate_fields
from engines.synthetic.hub import dataset_card, hub_push_available, push_to_hub
from engines.synthetic.limits import DEFAULT_MAX_ROWS, MAX_BATCH_SIZE, MAX_DESCRIPTION_CHARS, MAX_FIELDS, max_rows
from engines.synthetic.parse import RowParser, Unparseable, parse_rows
from engines.synthetic.request import describe_field
from engines.synthetic.run_stats import NoValidRows, RunStats, describe_stop
from engines.synthetic.stream import stream_rows
from engines.synthetic.summary import FieldSummary, summarize
from engines.synthetic.validate import coerce_value, validate_row

__all__ = [
    "DEFAULT_MAX_ROWS", "FIELD_TYPES", "MAX_BATCH_SIZE", "MAX_DESCRIPTION_CHARS", "MAX_FIELDS", "TYPE_ALIASES",
    "Field", "FieldSummary", "NoValidRows", "RowParser", "RunStats", "Unparseable", "code_snippet", "coerce_value",
    "dataset_card", "describe_field", "describe_stop", "field_key", "hub_push_available", "limits", "max_rows",
    "parse_field", "parse_rows", "push_to_hub", "stream_rows", "summarize", "to_csv", "to_jsonl", "validate_fields",
    "validate_row",
]
