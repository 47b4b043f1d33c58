"""The dataset's columns: ``Field``, the compact ``name:type(args) # description`` spec, and the checks that turn a
user's field list into normalized, bounded Fields."""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from typing import Any

from engines import errors
from engines.synthetic.limits import (
    MAX_ENUM_VALUE_CHARS,
    MAX_ENUM_VALUES,
    MAX_FIELD_DESCRIPTION_CHARS,
    MAX_FIELDS,
    MAX_FIELDS_CHARS,
    MAX_NAME_CHARS,
    MAX_SPEC_CHARS,
    clip,
)
from engines.synthetic.values import to_date, to_number

FIELD_TYPES = ("string", "int", "float", "bool", "enum", "date")
TYPE_ALIASES = {"str": "string", "text": "string", "integer": "int", "number": "float", "double": "float",
                "decimal": "float", "boolean": "bool", "category": "enum", "choice": "enum"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_ \-]*$")
_SPEC = re.compile(r"^\s*(?P<name>[^:(#]+?)\s*(?::\s*(?P<type>[A-Za-z]+))?\s*(?:\((?P<args>[^)]*)\))?\s*"
                   r"(?:#\s*(?P<desc>.*))?$")
_KEYS = {"name", "type", "values", "min", "max", "description"}


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


def field_key(name: str) -> str:
    """How a row's key is matched to a field: case, spaces, '_' and '-' ignored."""
    return re.sub(r"[\s_\-]+", "", str(name).lower())


def split_values(text: str) -> list[str]:
    """Enum values written as one text, separated by ``|`` or commas."""
    return [v.strip() for v in re.split(r"[|,]", text) if v.strip()]


def parse_field(spec: str) -> Field:
    """Parse a compact field spec: ``name[:type][(args)][# description]``.

    Args:
        spec: e.g. ``"age:int(18..90) # age in years"``, ``"plan:enum(free|pro|team)"``, ``"signup:date(2020-01-01..
            2024-12-31)"``, ``"name"`` (a string). Enum values are separated by ``|`` or commas; a range is
            ``min..max``.

    Returns:
        The Field (not yet validated: ``validate_fields`` checks it).

    Raises:
        InvalidInput: the spec is longer than ``MAX_SPEC_CHARS``, cannot be read, or has a range without "..".
    """
    if len(spec or "") > MAX_SPEC_CHARS:
        raise errors.InvalidInput(f"The field '{clip(spec, 40)}' is too long ({len(spec):,} characters): "
                                  f"{MAX_SPEC_CHARS:,} at most.")
    m = _SPEC.match(spec or "")
    if not m or not m.group("name"):
        raise errors.InvalidInput(f"Cannot read the field '{clip(spec)}': write name:type(args) # description, "
                                  "e.g. age:int(18..90) or plan:enum(free|pro).")
    ftype = (m.group("type") or "string").lower()
    args = (m.group("args") or "").strip()
    f = Field(name=m.group("name").strip(), type=ftype, description=(m.group("desc") or "").strip())
    if args and TYPE_ALIASES.get(ftype, ftype) == "enum":
        f.values = split_values(args)
    elif args:
        lo, sep, hi = args.partition("..")
        if not sep:
            raise errors.InvalidInput(f"Field '{clip(f.name)}': write a range as min..max, e.g. "
                                      f"({clip(args, 20)}..{clip(args, 20)}).")
        f.min, f.max = lo.strip() or None, hi.strip() or None
    return f


def validate_fields(fields: list[Field | str | dict]) -> list[Field]:
    """Check the field definitions and return normalized copies.

    Args:
        fields: Field objects, compact specs (see ``parse_field``) or dicts with Field's keys; at most
            ``MAX_FIELDS``.

    Returns:
        Fields with canonical types, typed bounds (numbers; dates as ISO strings) and stripped enum values.

    Raises:
        InvalidInput: no fields or more than ``MAX_FIELDS``, an empty, too long or duplicate name, an unknown type,
            an enum without values or with too many or too long ones, a too long description, a bound that is not
            of the field's type, min > max, a range on a type that has none, or definitions longer than
            ``MAX_FIELDS_CHARS`` in all.
    """
    fields = _field_list(fields)
    out: list[Field] = []
    seen: dict[str, str] = {}
    for raw in fields:
        f = _as_field(raw)
        key = field_key(f.name)
        if key in seen:
            raise errors.InvalidInput(f"Duplicate field name '{f.name}' (same as '{seen[key]}'): names must differ.")
        seen[key] = f.name
        out.append(_check_field(f))
    _check_total(out)
    return out


def _field_list(fields: Any) -> list:
    """The field list, refused before any per-field work when it is not a list or longer than ``MAX_FIELDS``."""
    if fields is None:
        fields = []
    if isinstance(fields, str | bytes | dict | Field):
        raise errors.InvalidInput("The fields must be a list (of Field objects, 'name:type' specs or dicts).")
    if not isinstance(fields, list | tuple):
        try:
            fields = list(itertools.islice(fields, MAX_FIELDS + 1))
        except TypeError:
            raise errors.InvalidInput("The fields must be a list (of Field objects, 'name:type' specs or "
                                      "dicts).") from None
    if not fields:
        raise errors.InvalidInput("Define at least one field (a name and a type).")
    if len(fields) > MAX_FIELDS:
        raise errors.InvalidInput(f"{len(fields):,} fields defined: a dataset may have at most {MAX_FIELDS} fields. "
                                  "Drop some, or generate the dataset in parts.")
    return list(fields)


def _as_field(raw: Field | str | dict) -> Field:
    if isinstance(raw, Field):
        f = Field(raw.name, raw.type, raw.values, raw.min, raw.max, raw.description)
    elif isinstance(raw, str):
        f = parse_field(raw)
    elif isinstance(raw, dict):
        unknown = set(raw) - _KEYS
        if unknown:
            raise errors.InvalidInput(f"Unknown field key(s): {clip(', '.join(sorted(map(str, unknown))))}.")
        f = Field(**{"name": "", **raw})
    else:
        raise errors.InvalidInput(f"A field must be a Field, a 'name:type' string or a dict, not "
                                  f"{type(raw).__name__}.")
    f.name = str(f.name or "").strip()
    f.type = str(f.type or "string").strip().lower()
    f.type = TYPE_ALIASES.get(f.type, f.type)
    f.description = str(f.description or "").strip()
    _check_name(f.name)
    if len(f.description) > MAX_FIELD_DESCRIPTION_CHARS:
        raise errors.InvalidInput(f"Field '{f.name}': the description is too long ({len(f.description):,} "
                                  f"characters): {MAX_FIELD_DESCRIPTION_CHARS} at most.")
    return f


def _check_name(name: str) -> None:
    if not name:
        raise errors.InvalidInput("Every field needs a name.")
    if len(name) > MAX_NAME_CHARS:
        raise errors.InvalidInput(f"Field name '{clip(name, 40)}' is too long ({len(name):,} characters): "
                                  f"{MAX_NAME_CHARS} at most.")
    if not _NAME.match(name):
        raise errors.InvalidInput(f"Field name '{name}' is not allowed: start with a letter or '_', then "
                                  f"letters, digits, spaces, '_' or '-' ({MAX_NAME_CHARS} characters at most).")


def _check_field(f: Field) -> Field:
    if f.type not in FIELD_TYPES:
        raise errors.InvalidInput(f"Field '{f.name}' has type '{clip(f.type, 30)}'; use one of "
                                  f"{', '.join(FIELD_TYPES)}.")
    if f.type == "enum":
        f.values = _enum_values(f)
    elif f.values:
        raise errors.InvalidInput(f"Field '{f.name}' is a {f.type}: only enum fields take a list of values.")
    else:
        f.values = None
    f.min, f.max = _bound(f, f.min, "min"), _bound(f, f.max, "max")
    if f.min is not None and f.max is not None and f.min > f.max:
        raise errors.InvalidInput(f"Field '{f.name}': min ({f.min}) is greater than max ({f.max}).")
    return f


def _enum_values(f: Field) -> list[str]:
    raw = split_values(f.values) if isinstance(f.values, str) else list(f.values or [])
    if len(raw) > MAX_ENUM_VALUES:
        raise errors.InvalidInput(f"Enum field '{f.name}' has {len(raw):,} values: {MAX_ENUM_VALUES} at most.")
    values = [str(v).strip() for v in raw if str(v).strip()]
    if not values:
        raise errors.InvalidInput(f"Enum field '{f.name}' has no values: list the allowed values, e.g. "
                                  "free | pro | team.")
    for v in values:
        if len(v) > MAX_ENUM_VALUE_CHARS:
            raise errors.InvalidInput(f"Enum field '{f.name}': the value '{clip(v, 40)}' is too long ({len(v):,} "
                                      f"characters): {MAX_ENUM_VALUE_CHARS} at most.")
    return list(dict.fromkeys(values))


def _bound(f: Field, value: Any, which: str) -> float | int | str | None:
    if value is None or (isinstance(value, str) and not value.strip()) or (isinstance(value, float) and
                                                                           math.isnan(value)):
        return None
    if f.type not in ("int", "float", "date"):
        raise errors.InvalidInput(f"Field '{f.name}' is a {f.type}: a {which} applies only to int, float and date "
                                  "fields.")
    try:
        if f.type == "date":
            return to_date(value).isoformat()
        number = to_number(value)
        return int(number) if f.type == "int" and float(number).is_integer() else number
    except ValueError:
        kind = "a date (YYYY-MM-DD)" if f.type == "date" else "a number"
        raise errors.InvalidInput(f"Field '{f.name}': {which} '{clip(value, 40)}' is not {kind}.") from None


def _check_total(fields: list[Field]) -> None:
    total = sum(len(f.name) + len(f.description) + sum(len(v) for v in f.values or []) for f in fields)
    if total > MAX_FIELDS_CHARS:
        raise errors.InvalidInput(f"The field definitions add up to {total:,} characters (names, descriptions and "
                                  f"enum values): {MAX_FIELDS_CHARS:,} at most. Shorten the descriptions or the "
                                  "enum values.")
