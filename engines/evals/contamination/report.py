"""A contamination report: one row per item (and per reference text) with every signal, one summary per method
with its verdict, stored as JSON in the app's data directory (``<data dir>/contamination/<id>.json``) so the
drill-down and downloads work after the run, and written as CSV."""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from engines import textfiles
from engines.config import Settings
from engines.errors import InvalidInput

FOLDER = "contamination"
_ID = re.compile(r"^[0-9a-f]{12}$")
# per-item signals, in table order: key → column title
SIGNALS = {
    "min_k": "Min-K%", "min_k_pp": "Min-K%++", "guided_rouge": "guided ROUGE-L", "general_rouge": "general ROUGE-L",
    "guided_gain": "guided − general", "peak": "peakedness", "distance": "mean distance", "flagged": "CDD flag",
    "ngram_overlap": "13-gram overlap", "dirty": "dirty",
}


@dataclass
class Row:
    """One item (``set`` = "test") or reference text (``set`` = "reference") with its signals and details."""

    id: str
    set: str
    text: str
    signals: dict = field(default_factory=dict)
    detail: dict = field(default_factory=dict)


@dataclass
class Summary:
    """One method's result over the set: its verdict, a one-line headline, the numbers, and notes (why a method
    did not run, what was approximated)."""

    method: str
    verdict: str
    headline: str = ""
    numbers: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class Report:
    """Everything one run of the checks found."""

    id: str
    model: str
    set_name: str
    set_hash: str
    set_size: int
    options: dict
    rows: list[Row] = field(default_factory=list)
    summaries: dict[str, Summary] = field(default_factory=dict)
    status: str = "running"  # running | complete | stopped
    created: float = field(default_factory=time.time)

    @classmethod
    def new(cls, **kwargs) -> Report:
        """A report with a fresh id."""
        return cls(id=secrets.token_hex(6), **kwargs)

    def test_rows(self) -> list[Row]:
        """The test set's rows."""
        return [r for r in self.rows if r.set == "test"]

    def reference_rows(self) -> list[Row]:
        """The reference set's rows."""
        return [r for r in self.rows if r.set == "reference"]

    def row(self, item_id: str, set_name: str = "test") -> Row | None:
        """The row of one item, or None."""
        return next((r for r in self.rows if r.id == str(item_id) and r.set == set_name), None)

    def to_json(self) -> str:
        """The report as JSON."""
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Report:
        """The report stored by ``to_json``."""
        data = json.loads(text)
        data["rows"] = [Row(**r) for r in data.get("rows") or []]
        data["summaries"] = {k: Summary(**v) for k, v in (data.get("summaries") or {}).items()}
        return cls(**data)


def folder(settings: Settings | None = None) -> Path:
    """Where reports are stored."""
    return Path((settings or Settings.current()).data_dir) / FOLDER


def save(report: Report, settings: Settings | None = None) -> Path:
    """Write the report (atomically) and return its path."""
    where = folder(settings)
    where.mkdir(parents=True, exist_ok=True)
    path = where / f"{report.id}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(report.to_json(), encoding="utf-8")
    tmp.replace(path)
    return path


def load(report_id: str, settings: Settings | None = None) -> Report:
    """A stored report by id.

    Raises:
        InvalidInput: a malformed or unknown id.
    """
    text = (report_id or "").strip()
    if not _ID.match(text):
        raise InvalidInput(f"'{text[:40]}' is not a contamination report id (12 hex digits, shown after a run).")
    path = folder(settings) / f"{text}.json"
    if not path.exists():
        raise InvalidInput(f"No contamination report {text} here (reports live in the app's data directory).")
    return Report.from_json(path.read_text(encoding="utf-8"))


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def to_csv(report: Report) -> str:
    """Per-item rows as CSV: set, item, every signal, the text scored."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["set", "item", *SIGNALS, "text"])
    for row in report.rows:
        writer.writerow(textfiles.csv_row([row.set, row.id, *(_cell(row.signals.get(k)) for k in SIGNALS), row.text]))
    return out.getvalue()
