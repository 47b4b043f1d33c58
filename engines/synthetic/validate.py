"""Checking model output against the fields: coercion where it is safe, ranges, enum values, one row at a time."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from engines.synthetic.fields import Field, field_key
from engines.synthetic.values import to_date, to_number

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


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
        return _coerce_text(value)
    if f.type == "bool":
        return _coerce_bool(value)
    if f.type == "enum":
        return _coerce_enum(f, value)
    if f.type == "date":
        out = to_date(value).isoformat() if isinstance(value, str | date) else None
        if out is None:
            raise ValueError("not a date (YYYY-MM-DD)")
        _check_range(f, out)
        return out, out != value
    number = to_number(value)
    if f.type == "int":
        if not number.is_integer():
            raise ValueError("not an integer")
        out = int(number)
    else:
        out = number
    _check_range(f, out)
    return out, type(value) is not type(out) and not (f.type == "float" and type(value) is int)


def _coerce_text(value: Any) -> tuple[str, bool]:
    if isinstance(value, dict | list):
        raise ValueError("not text")
    text = value if isinstance(value, str) else json.dumps(value)
    if not text.strip():
        raise ValueError("empty")
    return text.strip(), not isinstance(value, str) or text != text.strip()


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
    by_key = {field_key(k): v for k, v in obj.items()}
    row, coerced = {}, False
    for f in fields:
        k = field_key(f.name)
        if k not in by_key:
            raise ValueError(f"{f.name}: missing")
        try:
            row[f.name], changed = coerce_value(f, by_key[k])
        except ValueError as exc:
            raise ValueError(f"{f.name}: {exc}") from None
        coerced = coerced or changed
    return row, coerced
