"""Reading numbers and dates the way a model writes them: the conversions shared by field bounds and row checks."""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Any

DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]")


def to_number(value: Any) -> float:
    """A finite float from a number or a numeric string ("1,234.5", "1_000", "2e3"); booleans are not numbers.

    Raises:
        ValueError: not a number, or not finite.
    """
    if isinstance(value, bool) or value is None:
        raise ValueError("not a number")
    if isinstance(value, int | float):
        number = float(value)
    else:
        text = str(value).strip().replace(",", "").replace("_", "")
        if not _NUMBER.fullmatch(text):
            raise ValueError("not a number")
        number = float(text)
    if not math.isfinite(number):
        raise ValueError("not a finite number")
    return number


def to_date(value: Any) -> date:
    """A date from a date, a datetime, or text in one of ``DATE_FORMATS`` (a time after the date is ignored).

    Raises:
        ValueError: not a date.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    text = re.split(r"[T ]", text, maxsplit=1)[0] if _DATETIME.match(text) else text
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError("not a date (YYYY-MM-DD)")
