"""engines.synthetic.export and .summary: CSV / JSON Lines round trips, per-field distributions."""

from __future__ import annotations

import csv
import io
import json

import pytest
from synthetic_samples import FIELDS, row

from engines import errors
from engines import synthetic as syn


def test_csv_and_jsonl_are_well_formed():
    fields = syn.validate_fields(FIELDS)
    rows = [row(1, name='Ann "Annie" O\'Neil, Jr.'), row(2, name="multi\nline ünïcødé 🚀"), row(3)]
    back = list(csv.DictReader(io.StringIO(syn.to_csv(rows, fields))))
    assert [r["name"] for r in back] == [r["name"] for r in rows]
    assert list(back[0]) == [f.name for f in fields]
    assert [r["active"] for r in back] == ["false", "true", "false"] and back[0]["age"] == "21"
    text = syn.to_jsonl(rows)
    assert text.endswith("\n") and [json.loads(line) for line in text.splitlines()] == rows


def test_summary_histograms_and_counts():
    fields = syn.validate_fields(FIELDS)
    rows = [row(i) for i in range(30)]
    by = {s.name: s for s in syn.summarize(rows, fields)}
    assert by["age"].kind == "histogram" and sum(n for _, n in by["age"].buckets) == 30
    assert by["age"].facts["min"] == 20 and by["age"].facts["max"] == 49
    assert by["plan"].kind == "counts" and by["plan"].buckets == [("free", 10), ("pro", 10), ("team", 10)]
    assert by["active"].buckets == [("true", 15), ("false", 15)]
    assert by["signup"].kind == "histogram" and sum(n for _, n in by["signup"].buckets) == 30
    assert by["name"].kind == "top" and by["name"].facts["distinct"] == 30
    assert syn.summarize([], fields)[1].buckets == []


@pytest.mark.parametrize("bins", [0, -1, 10**9, 2.5, True])
def test_summary_bins_are_bounded(bins):
    with pytest.raises(errors.InvalidInput, match="bins must be between 1 and 100"):
        syn.summarize([row(i) for i in range(5)], syn.validate_fields(FIELDS), bins=bins)
