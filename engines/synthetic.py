"""Synthetic data: describe a dataset and its fields, get validated, unique rows streamed from any chat model.

Rows are asked for in batches as JSON Lines through ``engines.chat.stream_chat`` (local transformers models or
``openai:``/``hf:``/``ollama:`` servers). Each object is parsed as soon as its line is complete, coerced to the field
types where that is safe (``"42"`` → 42, ``"yes"`` → true, ``"2024/01/05"`` → ``"2024-01-05"``), checked against
ranges and enum values, and dropped when it repeats an earlier row. A batch that brings no new valid row counts
against the retry budget; with no row at all after the budget the run fails with the model's raw output shown.
"""

from __future__ import annotations

import ast
import csv
import io
import json
import math
import os
import random
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from engines import errors, prompts
from engines.chat import ChatChunk, stream_chat
from engines.config import Settings
from engines.redact import redact
from engines.refs import parse_ref

FIELD_TYPES = ("string", "int", "float", "bool", "enum", "date")
TYPE_ALIASES = {"str": "string", "text": "string", "integer": "int", "number": "float", "double": "float",
                "decimal": "float", "boolean": "bool", "category": "enum", "choice": "enum"}
DEFAULT_MAX_ROWS = 1000
MAX_BATCH_SIZE = 50
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_ \-]{0,63}$")
_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d")


class NoValidRows(errors.WorkbenchError):
    """The model gave no valid row within the retry budget. ``raw_sample`` holds its last raw output."""

    title = "No valid rows"

    def __init__(self, message: str, raw_sample: str = "", stats: RunStats | None = None):
        super().__init__(message)
        self.raw_sample = raw_sample
        self.stats = stats


@dataclass
class Field:
    """One column of the dataset.

    Attributes:
        name: the key in each row.
        type: string | int | float | bool | enum | date (aliases such as "integer" or "boolean" are accepted).
        values: the allowed values of an enum.
        min: lower bound of an int, float or date (a date as "YYYY-MM-DD").
        max: upper bound of an int, float or date.
        description: what the field means, passed to the model.
    """

    name: str
    type: str = "string"
    values: list | None = None
    min: float | str | None = None
    max: float | str | None = None
    description: str = ""


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


# ------------------------------------------------------------------------------------------------ fields


def max_rows() -> int:
    """The most rows one run may ask for (``WORKBENCH_SYNTHETIC_MAX_ROWS``, default 1,000)."""
    try:
        return max(1, int(os.environ.get("WORKBENCH_SYNTHETIC_MAX_ROWS") or DEFAULT_MAX_ROWS))
    except ValueError:
        return DEFAULT_MAX_ROWS


_SPEC = re.compile(r"^\s*(?P<name>[^:(#]+?)\s*(?::\s*(?P<type>[A-Za-z]+))?\s*(?:\((?P<args>[^)]*)\))?\s*"
                   r"(?:#\s*(?P<desc>.*))?$")


def parse_field(spec: str) -> Field:
    """Parse a compact field spec: ``name[:type][(args)][# description]``.

    Args:
        spec: e.g. ``"age:int(18..90) # age in years"``, ``"plan:enum(free|pro|team)"``, ``"signup:date(2020-01-01..
            2024-12-31)"``, ``"name"`` (a string). Enum values are separated by ``|`` or commas; a range is
            ``min..max``.

    Returns:
        The Field (not yet validated: ``validate_fields`` checks it).
    """
    m = _SPEC.match(spec or "")
    if not m or not m.group("name"):
        raise errors.InvalidInput(f"Cannot read the field '{spec}': write name:type(args) # description, e.g. "
                                  "age:int(18..90) or plan:enum(free|pro).")
    ftype = (m.group("type") or "string").lower()
    args = (m.group("args") or "").strip()
    f = Field(name=m.group("name").strip(), type=ftype, description=(m.group("desc") or "").strip())
    if args and TYPE_ALIASES.get(ftype, ftype) == "enum":
        f.values = [v.strip() for v in re.split(r"[|,]", args) if v.strip()]
    elif args:
        lo, sep, hi = args.partition("..")
        if not sep:
            raise errors.InvalidInput(f"Field '{f.name}': write a range as min..max, e.g. ({args}..{args}).")
        f.min, f.max = lo.strip() or None, hi.strip() or None
    return f


def validate_fields(fields: list[Field | str | dict]) -> list[Field]:
    """Check the field definitions and return normalized copies.

    Args:
        fields: Field objects, compact specs (see ``parse_field``) or dicts with Field's keys.

    Returns:
        Fields with canonical types, typed bounds (numbers; dates as ISO strings) and stripped enum values.

    Raises:
        InvalidInput: no fields, an empty or duplicate name, an unknown type, an enum without values, a bound that
            is not of the field's type, min > max, or a range on a type that has none.
    """
    if not fields:
        raise errors.InvalidInput("Define at least one field (a name and a type).")
    out: list[Field] = []
    seen: dict[str, str] = {}
    for raw in fields:
        f = _as_field(raw)
        key = _key(f.name)
        if key in seen:
            raise errors.InvalidInput(f"Duplicate field name '{f.name}' (same as '{seen[key]}'): names must differ.")
        seen[key] = f.name
        out.append(_check_field(f))
    return out


def _as_field(raw: Field | str | dict) -> Field:
    if isinstance(raw, Field):
        f = Field(raw.name, raw.type, list(raw.values) if raw.values is not None else None, raw.min, raw.max,
                  raw.description)
    elif isinstance(raw, str):
        f = parse_field(raw)
    elif isinstance(raw, dict):
        unknown = set(raw) - {"name", "type", "values", "min", "max", "description"}
        if unknown:
            raise errors.InvalidInput(f"Unknown field key(s): {', '.join(sorted(unknown))}.")
        f = Field(**raw)
    else:
        raise errors.InvalidInput(f"A field must be a Field, a 'name:type' string or a dict, not "
                                  f"{type(raw).__name__}.")
    f.name = str(f.name or "").strip()
    f.type = TYPE_ALIASES.get(str(f.type or "string").strip().lower(), str(f.type or "string").strip().lower())
    f.description = str(f.description or "").strip()
    if not f.name:
        raise errors.InvalidInput("Every field needs a name.")
    if not _NAME.match(f.name):
        raise errors.InvalidInput(f"Field name '{f.name[:70]}' is not allowed: start with a letter or '_', then "
                                  "letters, digits, spaces, '_' or '-' (64 characters at most).")
    return f


def _check_field(f: Field) -> Field:
    if f.type not in FIELD_TYPES:
        raise errors.InvalidInput(f"Field '{f.name}' has type '{f.type}'; use one of {', '.join(FIELD_TYPES)}.")
    if f.type == "enum":
        values = [str(v).strip() for v in (f.values or []) if str(v).strip()]
        if not values:
            raise errors.InvalidInput(f"Enum field '{f.name}' has no values: list the allowed values, e.g. "
                                      "free | pro | team.")
        f.values = list(dict.fromkeys(values))
    elif f.values:
        raise errors.InvalidInput(f"Field '{f.name}' is a {f.type}: only enum fields take a list of values.")
    else:
        f.values = None
    f.min, f.max = _bound(f, f.min, "min"), _bound(f, f.max, "max")
    if f.min is not None and f.max is not None and f.min > f.max:
        raise errors.InvalidInput(f"Field '{f.name}': min ({f.min}) is greater than max ({f.max}).")
    return f


def _bound(f: Field, value: Any, which: str) -> float | int | str | None:
    if value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, float) and
                                                                           math.isnan(value)):
        return None
    if f.type not in ("int", "float", "date"):
        raise errors.InvalidInput(f"Field '{f.name}' is a {f.type}: a {which} applies only to int, float and date "
                                  "fields.")
    try:
        if f.type == "date":
            return _to_date(value).isoformat()
        number = _to_number(value)
        return int(number) if f.type == "int" and float(number).is_integer() else number
    except ValueError:
        kind = "a date (YYYY-MM-DD)" if f.type == "date" else "a number"
        raise errors.InvalidInput(f"Field '{f.name}': {which} '{value}' is not {kind}.") from None


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", str(name).lower())


def describe_field(f: Field) -> str:
    """One line for the prompt: the key, its type and constraints, and its meaning."""
    rng = ""
    if f.min is not None and f.max is not None:
        rng = f" between {f.min} and {f.max}"
    elif f.min is not None:
        rng = f" of at least {f.min}"
    elif f.max is not None:
        rng = f" of at most {f.max}"
    kind = {"string": "text", "int": f"integer{rng}", "float": f"number{rng}", "bool": "true or false",
            "enum": "one of " + ", ".join(json.dumps(v) for v in (f.values or [])),
            "date": f"date as \"YYYY-MM-DD\"{rng}"}[f.type]
    return f"- {json.dumps(f.name)}: {kind}" + (f" — {f.description}" if f.description else "")


def _shape(fields: list[Field]) -> str:
    placeholder = {"string": "\"...\"", "int": "<integer>", "float": "<number>", "bool": "<true|false>",
                   "enum": "\"<one of the values>\"", "date": "\"YYYY-MM-DD\""}
    return "{" + ", ".join(f"{json.dumps(f.name)}: {placeholder[f.type]}" for f in fields) + "}"


# ------------------------------------------------------------------------------------------- validation


def _to_number(value: Any) -> float:
    if isinstance(value, bool) or value is None:
        raise ValueError("not a number")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip().replace(",", "").replace("_", "")
        if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
            raise ValueError("not a number")
        number = float(text)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def _to_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    text = re.split(r"[T ]", text, maxsplit=1)[0] if re.match(r"^\d{4}-\d{2}-\d{2}[T ]", text) else text
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError("not a date (YYYY-MM-DD)")


def coerce_value(f: Field, value: Any) -> tuple[Any, bool]:
    """Convert one value to the field's type where that is safe, and check its range or enum.

    Args:
        f: a validated Field.
        value: the value the model wrote.

    Returns:
        (value, coerced): coerced is True when the value had to be converted (e.g. "42" → 42).

    Raises:
        ValueError: with a short reason (no value in it, so reasons can be counted).
    """
    if value is None:
        raise ValueError("null")
    if f.type == "string":
        if isinstance(value, dict | list):
            raise ValueError("not text")
        text = value if isinstance(value, str) else json.dumps(value)
        if not text.strip():
            raise ValueError("empty")
        return text.strip(), not isinstance(value, str) or text != text.strip()
    if f.type == "bool":
        return _coerce_bool(value)
    if f.type == "enum":
        return _coerce_enum(f, value)
    if f.type == "date":
        out = _to_date(value).isoformat() if isinstance(value, str | date) else None
        if out is None:
            raise ValueError("not a date (YYYY-MM-DD)")
        _check_range(f, out)
        return out, out != value
    number = _to_number(value)
    if f.type == "int":
        if not number.is_integer():
            raise ValueError("not an integer")
        out = int(number)
    else:
        out = number
    _check_range(f, out)
    return out, type(value) is not type(out) and not (f.type == "float" and type(value) is int)


def _coerce_bool(value: Any) -> tuple[bool, bool]:
    if isinstance(value, bool):
        return value, False
    text = str(value).strip().lower()
    if text in _TRUE:
        return True, True
    if text in _FALSE:
        return False, True
    raise ValueError("not true/false")


def _coerce_enum(f: Field, value: Any) -> tuple[str, bool]:
    values = f.values or []
    if isinstance(value, str) and value in values:
        return value, False
    text = str(value).strip().lower() if not isinstance(value, dict | list) else ""
    for allowed in values:
        if allowed.lower() == text:
            return allowed, True
    raise ValueError("not one of the allowed values")


def _check_range(f: Field, value: Any) -> None:
    if f.min is not None and value < f.min:
        raise ValueError("below the minimum")
    if f.max is not None and value > f.max:
        raise ValueError("above the maximum")


def validate_row(obj: Any, fields: list[Field]) -> tuple[dict, bool]:
    """Check one parsed object against the fields.

    Keys match loosely (case, spaces, '_' and '-' ignored); extra keys are dropped.

    Args:
        obj: what the model wrote for one row (parsed JSON).
        fields: validated Fields.

    Returns:
        (row, coerced): the row with the fields' names, in their order; coerced when any value was converted.

    Raises:
        ValueError: "<field>: <reason>" for the first problem found.
    """
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    by_key = {_key(k): v for k, v in obj.items()}
    row, coerced = {}, False
    for f in fields:
        k = _key(f.name)
        if k not in by_key:
            raise ValueError(f"{f.name}: missing")
        try:
            row[f.name], changed = coerce_value(f, by_key[k])
        except ValueError as exc:
            raise ValueError(f"{f.name}: {exc}") from None
        coerced = coerced or changed
    return row, coerced


# ---------------------------------------------------------------------------------------------- parsing


@dataclass
class Unparseable:
    """A piece of model output that looked like a row but is not valid JSON."""

    text: str
    reason: str = "not valid JSON"


class RowParser:
    """Incremental JSON-objects-in-text parser: feed text deltas, get objects as soon as they are complete.

    Accepts JSON Lines, a JSON array, pretty-printed objects, code fences and prose around them. A broken object
    is reported as ``Unparseable`` and parsing resumes on the next line.
    """

    def __init__(self) -> None:
        self.buffer = ""
        self.pos = 0
        self._decoder = json.JSONDecoder()

    def feed(self, text: str) -> list[Any]:
        """Add a delta; return the objects (or Unparseable items) completed by it."""
        self.buffer += text
        last_nl = self.buffer.rfind("\n")
        return self._scan(last_nl + 1, final=False) if last_nl >= self.pos else []

    def finish(self) -> list[Any]:
        """The stream ended: parse what is left (a truncated object is Unparseable)."""
        return self._scan(len(self.buffer), final=True)

    def _scan(self, limit: int, final: bool) -> list[Any]:
        text = self.buffer[:limit]
        out: list[Any] = []
        while True:
            start = text.find("{", self.pos)
            if start < 0:
                self.pos = max(self.pos, limit)
                return out
            try:
                obj, end = self._decoder.raw_decode(text, start)
            except json.JSONDecodeError as exc:
                if not final and exc.pos >= len(text.rstrip()):
                    self.pos = start  # an object still being written: wait for more lines
                    return out
                obj, end = self._fallback(text, start)
                if obj is None:
                    out.append(Unparseable(text[start:end].strip()[:300]))
                    self.pos = end
                    continue
            out.append(obj)
            self.pos = end

    @staticmethod
    def _fallback(text: str, start: int) -> tuple[Any, int]:
        """A Python-style dict on one line (single quotes, True/False/None) is safe to read with literal_eval."""
        nl = text.find("\n", start)
        end = len(text) if nl < 0 else nl + 1
        line = text[start:end].strip().rstrip(",")
        try:
            value = ast.literal_eval(line)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None, end
        return (value, end) if isinstance(value, dict) else (None, end)


def parse_rows(text: str) -> list[Any]:
    """All JSON objects (and Unparseable pieces) in a complete model answer.

    Args:
        text: the model's whole output for one batch.

    Returns:
        Parsed objects in order, with ``Unparseable`` items for broken ones.
    """
    parser = RowParser()
    return parser.feed(text) + parser.finish()


def _expand(obj: Any, fields: list[Field]) -> list[Any]:
    """Unwrap {"rows": [...]}-style answers: a dict with none of the field keys holding a list of objects."""
    if isinstance(obj, dict) and not ({_key(f.name) for f in fields} & {_key(k) for k in obj}):
        for value in obj.values():
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                return list(value)
    return [obj]


# ---------------------------------------------------------------------------------------------- the run


@dataclass
class _Plan:
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


def stream_rows(description: str, *, fields: list[Field | str], n_rows: int, model: str, max_attempts: int = 5,
                temperature: float = 0.8, diversity: bool = True, batch_size: int = 10, seed: int | None = None,
                max_new_tokens: int | None = None, stats: RunStats | None = None) -> Iterator[dict]:
    """Generate a dataset row by row: valid, unique rows, streamed as the model writes them.

    Inputs are checked now (before any model call); rows come from the returned iterator.

    Args:
        description: what the dataset is about and what it is for.
        fields: the columns: Field objects, compact specs such as "age:int(18..90)", or dicts.
        n_rows: how many rows to produce (1 to ``max_rows()``).
        model: a local model (Hub id or folder) or ``openai:``/``hf:``/``ollama:`` reference.
        max_attempts: the retry budget: stop after this many batches in a row without a new valid row.
        temperature: sampling temperature (0 = greedy); jittered per batch when diversity is on.
        diversity: vary the prompt (focus, seed, values to avoid, under-represented enum values) and the sampling
            seed across batches.
        batch_size: rows asked for per model call (1 to 50).
        seed: makes the diversity choices reproducible; None = random.
        max_new_tokens: tokens per batch; None = estimated from the fields and the batch size.
        stats: a RunStats filled in place (counts, stop reason, raw output, timings) while rows are yielded.

    Returns:
        An iterator of rows (dicts keyed by field name, values of the field types; dates as "YYYY-MM-DD").

    Raises:
        InvalidInput: bad fields, an empty description, a row count out of range, or bad options.
        NoValidRows: (while iterating) the retry budget ran out before any valid row.
    """
    plan = _make_plan(description, fields, n_rows, model, max_attempts, temperature, diversity, batch_size, seed,
                      max_new_tokens)
    stats = stats if stats is not None else RunStats()
    stats.requested, stats.model, stats.temperature = plan.n_rows, plan.model, plan.temperature
    if plan.remote:  # known now: a run that stops mid-stream never sees the final stats chunk
        from engines.remote import endpoint_for

        stats.backend, stats.device, stats.quantization = endpoint_for(parse_ref(plan.model)).provider, "remote", "n/a"
    else:
        stats.backend, stats.device = "transformers", Settings.from_env().device
    return _run(plan, stats)


def _make_plan(description, fields, n_rows, model, max_attempts, temperature, diversity, batch_size, seed,
               max_new_tokens) -> _Plan:
    description = (description or "").strip()
    if not description:
        raise errors.InvalidInput("Describe the dataset: its topic and what it is for.")
    if len(description) > 4000:
        raise errors.InvalidInput("The description is too long: keep it under 4,000 characters.")
    checked = validate_fields(fields)
    limit = max_rows()
    if isinstance(n_rows, float) and n_rows.is_integer():
        n_rows = int(n_rows)
    if not isinstance(n_rows, int) or isinstance(n_rows, bool) or not 1 <= n_rows <= limit:
        raise errors.InvalidInput(f"The number of rows must be between 1 and {limit:,} (got {n_rows}).")
    if not isinstance(max_attempts, int) or not 1 <= max_attempts <= 50:
        raise errors.InvalidInput("The retry budget (max attempts) must be between 1 and 50.")
    if not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise errors.InvalidInput(f"The batch size must be between 1 and {MAX_BATCH_SIZE}.")
    if not 0.0 <= float(temperature) <= 2.0:
        raise errors.InvalidInput("The temperature must be between 0 and 2.")
    if max_new_tokens is not None and not (isinstance(max_new_tokens, int) and max_new_tokens >= 1):
        raise errors.InvalidInput("max_new_tokens must be a positive integer.")
    ref = parse_ref((model or "").strip())
    return _Plan(description, checked, n_rows, ref.raw, ref.is_remote, max_attempts, float(temperature),
                 bool(diversity), batch_size, seed, max_new_tokens)


def _run(plan: _Plan, stats: RunStats) -> Iterator[dict]:
    rng = random.Random(plan.seed)
    seen: set[str] = set()
    history: list[dict] = []
    start = time.perf_counter()
    batch_cap = math.ceil(plan.n_rows / plan.batch_size) * 4 + plan.max_attempts
    try:
        while stats.rows < plan.n_rows:
            if stats.batches >= batch_cap:
                stats.stop_reason = "batch limit"
                break
            want = min(plan.batch_size, plan.n_rows - stats.rows)
            messages, temperature, batch_seed = _batch_request(plan, stats.batches + 1, want, history, rng)
            new = 0
            batch_rows = _one_batch(plan, messages, temperature, batch_seed, want, stats, seen)
            try:
                for row in batch_rows:
                    new += 1
                    history.append(row)
                    yield row
                    if stats.rows >= plan.n_rows:
                        break
            except errors.WorkbenchError as exc:
                if stats.rows == 0:
                    raise
                stats.stop_reason, stats.message = "error", str(exc)
                break
            finally:
                batch_rows.close()  # stops the model's stream when enough rows arrived or the user stopped
            if _out_of_budget(plan, stats, new):
                break
        else:
            stats.stop_reason = "complete"
    finally:
        stats.seconds = time.perf_counter() - start
        stats.stop_reason = stats.stop_reason or "stopped"
        stats.message = stats.message or describe_stop(stats)


def _out_of_budget(plan: _Plan, stats: RunStats, new: int) -> bool:
    stats.failed_in_a_row = 0 if new else stats.failed_in_a_row + 1
    if not new and len(stats.raw_samples) < 3:
        stats.raw_samples.append(stats.last_raw[:4000])
    if stats.failed_in_a_row < plan.max_attempts:
        return False
    if stats.rows == 0:
        reasons = ", ".join(f"{r} ({n})" for r, n in stats.invalid_reasons.most_common(3)) or "no JSON object"
        sample = stats.last_raw.strip()[:300] or "(empty)"
        stats.stop_reason = "retry budget"
        raise NoValidRows(
            f"The model wrote no valid row in {stats.batches} batch(es) (the retry budget). Problems: {reasons}. "
            f"Raw output of the last batch: «{sample}». Try a larger or instruction-tuned model, a lower "
            "temperature, or fewer fields.", raw_sample=stats.last_raw[:4000], stats=stats)
    stats.stop_reason = "retry budget"
    return True


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


def _batch_tokens(plan: _Plan, want: int) -> int:
    if plan.max_new_tokens:
        return plan.max_new_tokens
    per_row = 6 + sum(len(f.name) // 3 + 2 + (24 if f.type == "string" else 6) for f in plan.fields)
    limit = Settings.from_env().max_new_tokens
    return max(64, min(limit, int(per_row * want * 1.3) + 32))


def _batch_request(plan: _Plan, batch: int, want: int, history: list[dict],
                   rng: random.Random) -> tuple[list[dict], float, int]:
    seed = rng.randrange(1, 1_000_000)
    variation = prompts.SYNTHETIC_NO_REPEAT if batch > 1 else ""
    temperature = plan.temperature
    if plan.diversity:
        focus = prompts.SYNTHETIC_FOCUS[0] if batch == 1 else rng.choice(prompts.SYNTHETIC_FOCUS)
        variation = prompts.SYNTHETIC_VARIATION.format(batch=batch, seed=seed, focus=focus)
        variation += _avoid_hint(plan.fields, history, rng) + _balance_hint(plan.fields, history)
        if temperature > 0:
            temperature = round(min(2.0, max(0.05, temperature + rng.uniform(-0.15, 0.15))), 3)
    user = prompts.SYNTHETIC_USER.format(description=plan.description, n=want, shape=_shape(plan.fields),
                                         fields="\n".join(describe_field(f) for f in plan.fields),
                                         variation=variation)
    return [{"role": "system", "content": prompts.SYNTHETIC_SYSTEM}, {"role": "user", "content": user}], \
        temperature, seed


def _avoid_hint(fields: list[Field], history: list[dict], rng: random.Random) -> str:
    hints = []
    for f in [f for f in fields if f.type == "string"][:2]:
        used = list(dict.fromkeys(str(r[f.name])[:40] for r in history))
        if used:
            sample = rng.sample(used, min(12, len(used)))
            hints.append(prompts.SYNTHETIC_AVOID.format(field=f.name, values="; ".join(sample)))
    return "".join(hints)


def _balance_hint(fields: list[Field], history: list[dict]) -> str:
    hints = []
    for f in fields:
        if f.type not in ("enum", "bool") or len(history) < 4:
            continue
        options = f.values if f.type == "enum" else [True, False]
        counts = Counter(r[f.name] for r in history)
        mean = len(history) / len(options)
        rare = [json.dumps(v) for v in options if counts[v] < 0.6 * mean]
        if rare:
            hints.append(prompts.SYNTHETIC_BALANCE.format(field=f.name, values=", ".join(rare[:8])))
    return "".join(hints)


def _one_batch(plan: _Plan, messages: list[dict], temperature: float, seed: int, want: int, stats: RunStats,
               seen: set[str]) -> Iterator[dict]:
    """One model call: parse rows as lines complete, validate, dedupe, yield the new ones."""
    if not plan.remote and plan.diversity and temperature > 0:
        _seed_local(seed)
    max_new = _batch_tokens(plan, want)
    stats.last_messages, stats.max_new_tokens = messages, max_new
    stats.first_messages = stats.first_messages or messages
    stats.last_raw = ""
    parser = RowParser()
    pieces, counted = 0, [False]
    chunks = stream_chat(plan.model, messages, max_new_tokens=max_new, temperature=temperature)
    try:
        for chunk in chunks:
            _record_chunk(chunk, stats, counted)
            if chunk.text:
                pieces += 1
                stats.last_raw += chunk.text
                yield from _accept_all(parser.feed(chunk.text), plan.fields, stats, seen)
        yield from _accept_all(parser.finish(), plan.fields, stats, seen)
    finally:
        chunks.close()
        stats.batches += 1
        if not counted[0]:  # closed before the stats chunk: one streamed piece is about one token
            stats.tokens += pieces


def _seed_local(seed: int) -> None:
    import torch

    torch.manual_seed(seed)


def _record_chunk(chunk: ChatChunk, stats: RunStats, counted: list[bool]) -> None:
    if chunk.notice and chunk.notice not in stats.notices:
        stats.notices.append(chunk.notice)
    s = chunk.stats
    if s is not None:
        counted[0] = True
        stats.tokens += s.tokens
        stats.load_s = stats.load_s or s.load_s
        stats.backend, stats.device, stats.quantization = s.backend, s.device, s.quantization


def _accept_all(items: list[Any], fields: list[Field], stats: RunStats, seen: set[str]) -> Iterator[dict]:
    for item in items:
        for obj in _expand(item, fields) if not isinstance(item, Unparseable) else [item]:
            row = _accept(obj, fields, stats, seen)
            if row is not None:
                yield row


def _accept(obj: Any, fields: list[Field], stats: RunStats, seen: set[str]) -> dict | None:
    if isinstance(obj, Unparseable):
        return _reject(stats, obj.reason, obj.text)
    try:
        row, coerced = validate_row(obj, fields)
    except ValueError as exc:
        return _reject(stats, str(exc), json.dumps(obj, ensure_ascii=False, default=str)[:300])
    key = json.dumps(row, sort_keys=True, ensure_ascii=False)
    if key in seen:
        stats.duplicates += 1
        return None
    seen.add(key)
    stats.rows += 1
    stats.coerced += int(coerced)
    return row


def _reject(stats: RunStats, reason: str, raw: str) -> None:
    stats.invalid += 1
    stats.invalid_reasons[reason] += 1
    if len(stats.invalid_examples) < 20:
        stats.invalid_examples.append({"reason": reason, "raw": raw})
    return None


# ------------------------------------------------------------------------------------ exports and summary


def to_jsonl(rows: list[dict]) -> str:
    """Rows as JSON Lines (UTF-8 text, one object per line, trailing newline)."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def to_csv(rows: list[dict], fields: list[Field]) -> str:
    """Rows as CSV with a header of field names; booleans written as true/false.

    Args:
        rows: validated rows.
        fields: the fields (column order).
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([f.name for f in fields])
    for r in rows:
        writer.writerow([("true" if r.get(f.name) else "false") if f.type == "bool" else r.get(f.name, "")
                         for f in fields])
    return buf.getvalue()


@dataclass
class FieldSummary:
    """The distribution of one field: ``buckets`` are (label, count) pairs; ``facts`` min/max/mean/unique..."""

    name: str
    type: str
    kind: str  # histogram | counts | top
    buckets: list[tuple[str, int]]
    facts: dict[str, Any]


def summarize(rows: list[dict], fields: list[Field], bins: int = 10) -> list[FieldSummary]:
    """Per-field distributions: histograms for numbers and dates, counts for enums and bools, top values for text.

    Args:
        rows: validated rows.
        fields: their fields.
        bins: histogram bins for numbers and dates.

    Returns:
        One FieldSummary per field, in field order.
    """
    out = []
    for f in fields:
        values = [r[f.name] for r in rows if r.get(f.name) is not None]
        if f.type in ("int", "float"):
            out.append(_numeric_summary(f, values, bins))
        elif f.type == "date":
            out.append(_date_summary(f, values, bins))
        elif f.type in ("enum", "bool"):
            options = f.values if f.type == "enum" else [True, False]
            counts = Counter(values)
            out.append(FieldSummary(f.name, f.type, "counts", [(_label(v), counts[v]) for v in options],
                                    {"distinct": len(counts)}))
        else:
            counts = Counter(values)
            mean_len = sum(len(v) for v in values) / len(values) if values else 0.0
            out.append(FieldSummary(f.name, f.type, "top", [(v, n) for v, n in counts.most_common(5)],
                                    {"distinct": len(counts), "mean length": round(mean_len, 1)}))
    return out


def _label(v: Any) -> str:
    return ("true" if v else "false") if isinstance(v, bool) else str(v)


def _histogram(values: list[float], bins: int, integer: bool) -> list[tuple[float, float, int]]:
    lo, hi = min(values), max(values)
    if integer and hi - lo + 1 <= bins:
        counts = Counter(values)
        return [(v, v, counts[v]) for v in range(int(lo), int(hi) + 1)]
    if lo == hi:
        return [(lo, hi, len(values))]
    width = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - lo) / width))] += 1
    return [(lo + i * width, lo + (i + 1) * width, c) for i, c in enumerate(counts)]


def _numeric_summary(f: Field, values: list, bins: int) -> FieldSummary:
    if not values:
        return FieldSummary(f.name, f.type, "histogram", [], {})
    hist = _histogram(values, bins, f.type == "int")
    fmt = (lambda x: f"{x:,.0f}") if f.type == "int" else (lambda x: f"{x:,.3g}")
    buckets = [(fmt(a) if a == b else f"{fmt(a)}–{fmt(b)}", c) for a, b, c in hist]
    facts = {"min": min(values), "max": max(values), "mean": round(sum(values) / len(values), 3),
             "distinct": len(set(values))}
    return FieldSummary(f.name, f.type, "histogram", buckets, facts)


def _date_summary(f: Field, values: list, bins: int) -> FieldSummary:
    if not values:
        return FieldSummary(f.name, f.type, "histogram", [], {})
    ordinals = [date.fromisoformat(v).toordinal() for v in values]
    hist = _histogram(ordinals, bins, True)
    buckets = [(date.fromordinal(int(a)).isoformat() if a == b else
                f"{date.fromordinal(int(a)).isoformat()}–{date.fromordinal(int(b)).isoformat()}", c)
               for a, b, c in hist]
    return FieldSummary(f.name, f.type, "histogram", buckets,
                        {"min": min(values), "max": max(values), "distinct": len(set(values))})


# --------------------------------------------------------------------------------------------- show code


def code_snippet(stats: RunStats) -> str:
    """Plain openai / transformers code that reproduces the last batch of a run and parses its rows."""
    messages = json.dumps(stats.last_messages or stats.first_messages, indent=4, ensure_ascii=False)
    ref = parse_ref(stats.model) if stats.model else None
    parse = ("rows = [json.loads(line) for line in text.splitlines() if line.strip().startswith(\"{\")]\n"
             "print(len(rows), \"rows\", rows[:3])\n")
    if ref is not None and ref.is_remote:
        from engines.remote import endpoint_for

        ep = endpoint_for(ref)
        key = f"os.environ[{ep.key_var!r}]" if ep.key_var else "\"ollama\""
        base = f"base_url={ep.base_url!r}, " if ep.base_url else ""
        return (f"import json, os\nfrom openai import OpenAI\n\nclient = OpenAI({base}api_key={key})\n"
                f"messages = {messages}\n"
                f"reply = client.chat.completions.create(model={ref.name!r}, messages=messages, "
                f"temperature={stats.temperature}, max_tokens={stats.max_new_tokens})\n"
                f"text = reply.choices[0].message.content\n{parse}")
    target = ref.name if ref is not None and ref.kind == "hub" else "path/to/model"
    sample = f"do_sample=True, temperature={stats.temperature}" if stats.temperature > 0 else "do_sample=False"
    return (f"import json\nfrom transformers import AutoModelForCausalLM, AutoTokenizer\n\n"
            f"tok = AutoTokenizer.from_pretrained({target!r})\n"
            f"model = AutoModelForCausalLM.from_pretrained({target!r}, dtype=\"auto\", device_map=\"auto\")\n"
            f"messages = {messages}\n"
            "inputs = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors=\"pt\", "
            "return_dict=True).to(model.device)\n"
            f"out = model.generate(**inputs, max_new_tokens={stats.max_new_tokens}, {sample})\n"
            "text = tok.decode(out[0, inputs[\"input_ids\"].shape[1]:], skip_special_tokens=True)\n" + parse)


# ---------------------------------------------------------------------------------------------- the Hub

_REPO_ID = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9_.\-]{0,95}/)?[A-Za-z0-9][A-Za-z0-9_.\-]{0,95}$")


def hub_push_available() -> bool:
    """True when ``HF_TOKEN`` is set (read now), so a dataset can be pushed to the Hub."""
    return bool(os.environ.get("HF_TOKEN", "").strip())


def dataset_card(description: str, fields: list[Field], *, model: str, stats: RunStats | None = None,
                 rows: int | None = None) -> str:
    """A Hub dataset card (README.md): front matter, the description, the fields, the model and the prompt.

    Args:
        description: the user's dataset description.
        fields: validated fields.
        model: the model reference that generated the rows.
        stats: the run's stats (counts, temperature, prompt), if known.
        rows: number of rows (default: ``stats.rows``).
    """
    n = rows if rows is not None else (stats.rows if stats else 0)
    size = "n<1K" if n < 1000 else "1K<n<10K"
    lines = ["---", "tags:", "- synthetic", "- llm-workbench", f"size_categories:\n- {size}", "configs:",
             "- config_name: default", "  data_files:", "  - split: train", "    path: data/train.jsonl", "---", "",
             "# Synthetic dataset", "", description.strip(), "",
             f"{n:,} rows generated by `{model}` with LLM Workbench and validated against the "
             "field types below (invalid rows regenerated, exact duplicates dropped). The data is synthetic: check "
             "it before relying on it.", "", "## Fields", "", "| name | type | allowed values / range | description |",
             "|---|---|---|---|"]
    for f in fields:
        allowed = ", ".join(f.values or []) if f.type == "enum" else (
            f"{'' if f.min is None else f.min} .. {'' if f.max is None else f.max}"
            if f.min is not None or f.max is not None else "")
        lines.append(f"| {_cell(f.name)} | {f.type} | {_cell(allowed)} | {_cell(f.description)} |")
    lines += ["", "## Generation", "", f"- model: `{model}`"]
    if stats is not None:
        lines += [f"- temperature: {stats.temperature}", f"- batches: {stats.batches}",
                  f"- invalid rows rejected: {stats.invalid}", f"- duplicates dropped: {stats.duplicates}",
                  f"- stop reason: {stats.stop_reason or 'n/a'}"]
        if stats.first_messages:
            prompt = "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in stats.first_messages)
            lines += ["", "### Prompt (first batch)", "", "```text", prompt.replace("```", "ʼʼʼ"), "```"]
    lines += ["", "## Load it", "", "```python", "from datasets import load_dataset", "",
              "ds = load_dataset(\"<this repo id>\", split=\"train\")", "```", ""]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def push_to_hub(rows: list[dict], fields: list[Field | str], *, repo_id: str, description: str, model: str,
                stats: RunStats | None = None, private: bool = True) -> str:
    """Push rows as a Hub dataset: ``data/train.jsonl`` and a generated ``README.md`` card, in one commit.

    Args:
        rows: validated rows.
        fields: their fields.
        repo_id: "user/name" or "org/name" (a bare name goes to the token's user).
        description: the dataset description (for the card).
        model: the model that generated the rows (for the card).
        stats: the run's stats (for the card).
        private: create the repository as private.

    Returns:
        The dataset's URL.

    Raises:
        MissingApiKey: HF_TOKEN not set or rejected. InvalidInput: no rows or a bad repo id.
        HubUnreachable / RemoteError: the Hub could not be reached or refused the push.
    """
    token = os.environ.get("HF_TOKEN", "").strip()
    if not token:
        raise errors.MissingApiKey("Pushing to the Hub needs HF_TOKEN (a token with write access): set it and "
                                   "restart.")
    repo_id = (repo_id or "").strip()
    if not _REPO_ID.match(repo_id) or ".." in repo_id:
        raise errors.InvalidInput(f"'{repo_id[:100]}' is not a valid dataset id: use user/name or org/name.")
    if not rows:
        raise errors.InvalidInput("There are no rows to push: generate a dataset first.")
    checked = validate_fields(fields)
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(token=token)
    try:
        url = api.create_repo(repo_id, repo_type="dataset", private=bool(private), exist_ok=True)
        full_id = getattr(url, "repo_id", None) or repo_id
        card = dataset_card(description, checked, model=model, stats=stats, rows=len(rows))
        card = card.replace("<this repo id>", full_id)
        ops = [CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=card.encode()),
               CommitOperationAdd(path_in_repo="data/train.jsonl", path_or_fileobj=to_jsonl(rows).encode())]
        api.create_commit(full_id, ops, commit_message=f"Add {len(rows)} synthetic rows (LLM Workbench)",
                          repo_type="dataset")
    except errors.WorkbenchError:
        raise
    except Exception as exc:
        raise _hub_error(exc, repo_id) from None
    return f"https://huggingface.co/datasets/{full_id}"


def _hub_error(exc: Exception, repo_id: str) -> errors.WorkbenchError:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    detail = redact(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)[:200]
    if status == 401:
        return errors.MissingApiKey("The Hub rejected HF_TOKEN (401): check that it is valid.")
    if status == 403:
        return errors.RemoteError(f"HF_TOKEN may not write to '{repo_id}' (403): use a token with write access "
                                  "to that user or organisation.")
    if status is not None:
        return errors.RemoteError(f"The Hub refused the push ({status}): {detail}")
    name = type(exc).__name__.lower()
    if "connect" in name or "timeout" in name or isinstance(exc, OSError):
        return errors.HubUnreachable("The Hugging Face Hub cannot be reached: check the network, or download the "
                                     "CSV / JSON Lines files instead.")
    return errors.RemoteError(f"Pushing to the Hub failed: {type(exc).__name__}: {detail}")
