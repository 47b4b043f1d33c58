"""Text files in and out, one way for every tab: decoding an upload, splitting it into lines, reading JSON and CSV
from it, and writing CSV that a spreadsheet opens safely.

- Decoding: UTF-8 (with or without a BOM), UTF-16 / UTF-32 by their BOM (Excel's "Unicode text"), else Windows-1252
  (Latin-1 as Excel writes it on Windows); the encoding used is reported, so a tab can say it.
- Lines: only "\\n" (and "\\r\\n") ends a line. ``str.splitlines`` also splits on U+2028, U+2029, U+0085 and form
  feeds, which are ordinary characters inside a JSON string or a CSV cell.
- JSON: nesting deeper than ``MAX_JSON_DEPTH`` is a clear error, never a RecursionError.
- CSV: at most ``MAX_COLUMNS`` columns (checked on the header, before any row is read); a tab-separated file (Excel's
  "Unicode text") is recognised by its header; cells written out that start with = + - @ are prefixed with ``'``
  (OWASP's advice against formula injection).
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MAX_JSON_DEPTH = 64
MAX_COLUMNS = 1_000
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32", "UTF-32"), (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
         (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"), (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
         (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"))
_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


@dataclass
class Decoded:
    """An upload's text and the encoding it was read with ("UTF-8", "UTF-16", "UTF-32" or "Windows-1252")."""

    text: str
    encoding: str

    def notice(self, name: str) -> str | None:
        """A sentence for the tab when the file was not UTF-8 (None when it was)."""
        if self.encoding == "UTF-8":
            return None
        return f"'{name}' is not UTF-8: it was read as {self.encoding}."


class TooDeep(json.JSONDecodeError):
    """JSON nested deeper than ``MAX_JSON_DEPTH`` levels (a JSONDecodeError, so every JSON check catches it)."""

    def __init__(self, doc: str = ""):
        super().__init__(f"nested more than {MAX_JSON_DEPTH} levels deep", doc, 0)


def decode(data: bytes) -> Decoded:
    """Bytes of a text file as text: UTF-8 / UTF-16 / UTF-32 by BOM, UTF-8, else Windows-1252 (never fails).

    Raises:
        UnicodeDecodeError: a BOM-marked UTF-16 / UTF-32 file that is not valid in its encoding.
    """
    for bom, codec, label in _BOMS:
        if data.startswith(bom):
            return Decoded(data.decode(codec), label)
    try:
        return Decoded(data.decode("utf-8"), "UTF-8")
    except UnicodeDecodeError:
        pass
    try:
        return Decoded(data.decode("cp1252"), "Windows-1252")
    except UnicodeDecodeError:  # 5 bytes cp1252 leaves undefined: read as Latin-1 (defined everywhere)
        return Decoded(data.decode("latin-1"), "Latin-1")


def read_text(path: str | Path) -> Decoded:
    """A text file decoded by ``decode``.

    Raises:
        OSError: unreadable. UnicodeDecodeError: a broken UTF-16 / UTF-32 file.
    """
    return decode(Path(path).read_bytes())


def stream_encoding(path: str | Path) -> str:
    """The codec to stream a large text file with: by its BOM, else UTF-8 (read with ``errors="replace"``)."""
    with open(path, "rb") as f:
        head = f.read(4)
    return next((codec for bom, codec, _ in _BOMS if head.startswith(bom)), "utf-8")


def lines(text: str) -> list[str]:
    """The lines of a text: split on "\\n" only (a trailing "\\r" is dropped), never on U+2028 / U+2029 / U+0085."""
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def depth_exceeds(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a parsed JSON value nests deeper than ``limit`` levels (iterative: no recursion limit to hit)."""
    stack = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list | tuple):
            if level >= limit:
                return True
            stack.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return False


def loads(text: str) -> Any:
    """``json.loads`` that never raises RecursionError, and refuses nesting deeper than ``MAX_JSON_DEPTH``.

    Raises:
        json.JSONDecodeError: not valid JSON; ``TooDeep`` (a JSONDecodeError) when nested too deeply.
    """
    try:
        value = json.loads(text)
    except RecursionError:
        raise TooDeep(text[:100]) from None
    if depth_exceeds(value):
        raise TooDeep(text[:100])
    return value


def name_list(names: list[str] | tuple[str, ...], most: int = 12, quote: bool = False) -> str:
    """Names for a message: the first ``most`` (each cut to 40 characters), then "and N more"."""
    shown = [(n if len(n) <= 40 else n[:39] + "…") for n in map(str, names[:most])]
    text = ", ".join(repr(n) if quote else n for n in shown)
    return text + (f" and {len(names) - most:,} more" if len(names) > most else "") if names else "(none)"


def csv_reader(text: str, name: str, error: type[Exception]) -> csv.DictReader:
    """A DictReader over ``text`` (comma- or tab-separated, recognised by the header line) whose header is checked:
    at most ``MAX_COLUMNS`` columns.

    Raises:
        error: too many columns, named with the limit.
    """
    header = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in header and "," not in header else ","
    if header.count(delimiter) >= MAX_COLUMNS:  # before the csv module splits a huge header into cells
        raise error(f"'{name}' has more than {MAX_COLUMNS:,} columns: a test set or training file needs a few.")
    return csv.DictReader(io.StringIO(text), delimiter=delimiter)


def csv_cell(value: Any) -> Any:
    """A cell safe to open in a spreadsheet: text starting with = + - @ (or a tab / carriage return) gets a leading
    ``'`` so it is shown, not run as a formula; numbers (also written as text, like "-5") and empty cells are kept."""
    if isinstance(value, str) and value.startswith(_FORMULA) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_row(values) -> list:
    """``csv_cell`` over a row's values."""
    return [csv_cell(v) for v in values]
