"""The downloads: rows as JSON Lines and as CSV."""

from __future__ import annotations

import csv
import io
import json

from engines import textfiles
from engines.synthetic.fields import Field


def to_jsonl(rows: list[dict]) -> str:
    """Rows as JSON Lines (UTF-8 text, one object per line, trailing newline)."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def to_csv(rows: list[dict], fields: list[Field]) -> str:
    """Rows as CSV with a header of field names; booleans written as true/false.

    Args:
        rows: validated rows.
        fields: the fields (column order).

    Returns:
        The CSV text.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(textfiles.csv_row(f.name for f in fields))
    for r in rows:  # text cells that a spreadsheet would run as a formula (=, +, -, @) are neutralized
        writer.writerow(textfiles.csv_row(("true" if r.get(f.name) else "false") if f.type == "bool"
                                          else r.get(f.name, "") for f in fields))
    return buf.getvalue()
