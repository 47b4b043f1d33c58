"""Text files in and out (engines.textfiles): the one decoder (UTF-8, UTF-16 by BOM, else Windows-1252, saying which),
lines split on "\\n" only, JSON that can't recurse, CSV headers bounded, CSV cells safe to open in a spreadsheet,
short name lists for messages."""

from __future__ import annotations

import json
import time

import pytest

from engines import errors, textfiles

SEPARATORS = ["\u2028", "\u2029", "\u0085"]  # str.splitlines splits on each; JSON allows them raw in a string


def test_utf8_with_and_without_bom_utf16_and_windows_1252():
    text = "name,city\nJosé,Köln\n"
    assert textfiles.decode(text.encode("utf-8")) == textfiles.Decoded(text, "UTF-8")
    assert textfiles.decode(b"\xef\xbb\xbf" + text.encode("utf-8")) == textfiles.Decoded(text, "UTF-8")
    for codec in ("utf-16", "utf-16-le", "utf-16-be"):  # Excel's "Unicode text" writes a BOM
        data = text.encode(codec) if codec == "utf-16" else ("\ufeff" + text).encode(codec)
        assert textfiles.decode(data) == textfiles.Decoded(text, "UTF-16")
    latin = textfiles.decode("name,price\nCafé crème,5 €\n".encode("cp1252"))
    assert latin == textfiles.Decoded("name,price\nCafé crème,5 €\n", "Windows-1252")
    assert latin.notice("prices.csv") == "'prices.csv' is not UTF-8: it was read as Windows-1252."
    assert textfiles.decode(b"\x81\x8d").encoding == "Latin-1"  # bytes cp1252 leaves undefined still decode
    assert textfiles.Decoded("x", "UTF-8").notice("a.csv") is None


def test_lines_split_on_newline_only():
    text = "".join(f'{{"q": "a{sep}b"}}\r\n' for sep in SEPARATORS)
    got = textfiles.lines(text)
    assert got[-1] == "" and len(got) == len(SEPARATORS) + 1
    assert [json.loads(line)["q"] for line in got[:-1]] == [f"a{sep}b" for sep in SEPARATORS]


def test_deeply_nested_json_is_a_decode_error_not_a_recursion_error():
    for text in ("[" * 100_000 + "]" * 100_000, "[" * 100 + "]" * 100):
        with pytest.raises(json.JSONDecodeError, match="nested more than 64 levels"):
            textfiles.loads(text)
    assert textfiles.loads("[" * 60 + "]" * 60)


def test_a_csv_header_with_thousands_of_columns_is_refused_at_once():
    text = ",".join(f"column_{i}" for i in range(20_000)) + "\n" + ",".join("1" * 20_000) + "\n"
    start = time.perf_counter()
    with pytest.raises(errors.InvalidInput) as info:
        textfiles.csv_reader(text, "wide.csv", errors.InvalidInput)
    assert "more than 1,000 columns" in str(info.value) and len(str(info.value)) < 200
    assert time.perf_counter() - start < 60  # (a bound for a hung check, not a timing claim)
    reader = textfiles.csv_reader("a\tb\n1\t2\n", "tabs.csv", errors.InvalidInput)  # Excel's "Unicode text"
    assert list(reader) == [{"a": "1", "b": "2"}]


def test_formula_cells_are_neutralized_numbers_kept():
    cells = ["=1+1", "+33 1 23", "-2+3", "@SUM(A1)", "\t=x", "\r=x", "plain", "", "-5", "+1.5e3", 3, -2.5, None]
    assert textfiles.csv_row(cells) == ["'=1+1", "'+33 1 23", "'-2+3", "'@SUM(A1)", "'\t=x", "'\r=x", "plain", "",
                                         "-5", "+1.5e3", 3, -2.5, None]


def test_name_lists_in_messages_are_short():
    names = [f"column_{i}" for i in range(20_000)]
    text = textfiles.name_list(names)
    assert text.startswith("column_0, column_1") and text.endswith("and 19,988 more") and len(text) < 250
    assert textfiles.name_list(["x" * 500], quote=True) == repr("x" * 39 + "…")
    assert textfiles.name_list([]) == "(none)"
