"""Huge, infinite and NaN numbers display as a few characters: the Chinchilla calculator refuses them with a specific
message, and every byte / count formatter shows "—" or three significant digits (never "inf B" or 309 digits)."""

from __future__ import annotations

import re

import pytest

from tabs.compare import extra as compare_extra
from tabs.compare import handlers as compare
from tabs.compare import view as compare_view
from tabs.finetune import view as finetune_view
from tabs.hub import view as hub_view
from tabs.numbers import number

BAD = [1e308, float("inf"), float("-inf"), float("nan")]


@pytest.mark.parametrize("args", [(1e308, 0, 0), (0, 1e308, 0), (0, 0, 1e308), (float("inf"), 0, 0),
                                  (1e-300, 1e-300, 0), (float("nan"), 1, 0)])
def test_chinchilla_refuses_numbers_out_of_range(args):
    with pytest.raises(Exception) as info:  # noqa: PT011  (gr.Error, from InvalidInput)
        compare.chinchilla_calc(*args)
    text = str(info.value)
    assert ("out of range" in text or "finite" in text) and len(text) < 200 and "inf B" not in text


def test_chinchilla_large_but_valid_numbers_stay_short():
    md = compare.chinchilla_calc(1e12, 1e12, 0)["result"]
    assert not re.search(r"\d{16,}", md.replace(",", "")) and "inf" not in md


@pytest.mark.parametrize("fmt", [hub_view.compact, hub_view.size_text, hub_view.gib, compare_extra._gb,
                                 compare_extra._count, finetune_view._n, compare_view.gb])
@pytest.mark.parametrize("value", BAD)
def test_formatters_show_huge_and_non_finite_values_in_a_few_characters(fmt, value):
    text = fmt(value)
    assert len(text) <= 16 and "inf" not in text.lower() and "nan" not in text.lower(), text


def test_number():
    assert number(1234.5, ",.1f") == "1,234.5" and number(1e300, ",.1f") == "1e+300" and number(None) == "—"
    assert number(float("nan")) == "—" and number(2.5, ".1f", " GB") == "2.5 GB"
