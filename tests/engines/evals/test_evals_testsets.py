"""engines.evals.testsets and sources: reading CSV / JSON Lines / example sets / dataset folders / synthetic rows,
the column mapping, the set's hash, and a specific error for every kind of bad input."""

from __future__ import annotations

import json

import pytest

from engines.errors import HubUnreachable, InvalidInput, ModelNotAllowed
from engines.evals import build_testset, guess_mapping, read_dataset, read_example, read_file, sources, testsets
from engines.evals.testsets import RawTable


def table(rows: list[dict], name: str = "t") -> RawTable:
    cols = list(dict.fromkeys(k for r in rows for k in r))
    return RawTable(name=name, source="test", rows=rows, columns=cols)


def test_example_sets_load_and_validate():
    qa = build_testset(read_example("short-qa"))
    mc = build_testset(read_example("multiple-choice"))
    assert qa.size == 20 and qa.kinds() == {"freeform": 20} and qa.items[1].references == ["8", "eight"]
    assert mc.size == 20 and mc.kinds() == {"choice": 20}
    assert mc.items[0].choices[mc.items[0].answer] == "Dolphin"
    assert len(qa.hash) == 64 and qa.hash != mc.hash
    assert qa.mapping == {"id": "id", "question": "question", "answer": "answer"}


def test_hash_depends_on_the_items_only():
    a = build_testset(table([{"q": "x", "a": "1"}], "one"), {"question": "q", "answer": "a"})
    b = build_testset(table([{"q": "x", "a": "1"}], "renamed"), {"question": "q", "answer": "a"})
    c = build_testset(table([{"q": "x", "a": "2"}]), {"question": "q", "answer": "a"})
    assert a.hash == b.hash != c.hash
    assert testsets.TestSet.from_json(a.to_json()).hash == a.hash


def test_csv_and_jsonl_files(tmp_path):
    csv_path = tmp_path / "set.csv"
    csv_path.write_text("id,question,A,B,C,answer\nq1,Sky colour?,red,blue,green,B\nq2,2+2?,3,4,5,4\n",
                        encoding="utf-8")
    raw = read_file(csv_path)
    assert raw.columns == ["id", "question", "A", "B", "C", "answer"] and raw.source == "upload: set.csv"
    mapping = guess_mapping(raw.columns)
    assert mapping["choices"] == "A,B,C"
    ts = build_testset(raw, mapping)
    assert [i.answer for i in ts.items] == [1, 1] and ts.items[1].choices == ["3", "4", "5"]
    jl = tmp_path / "set.jsonl"
    jl.write_text('{"prompt": "Add", "tests": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"]}\n\n'
                  '{"prompt": "Sub", "tests": "assert sub(3, 1) == 2"}\n', encoding="utf-8")
    code = build_testset(read_file(jl))
    assert code.kinds() == {"code": 2} and code.items[0].tests == "assert add(1, 2) == 3\nassert add(0, 0) == 0"
    assert [i.id for i in code.items] == ["1", "2"]  # row numbers when no id column


def test_csv_cell_with_a_json_list_is_a_list(tmp_path):
    path = tmp_path / "mc.csv"
    path.write_text('question,choices,answer\nPick,"[""x"", ""y""]",y\n', encoding="utf-8")
    item = build_testset(read_file(path)).items[0]
    assert item.choices == ["x", "y"] and item.answer == 1


def test_answer_as_text_letter_or_index():
    rows = [{"q": "a", "c": ["p", "q", "r"], "ans": "r"}, {"q": "b", "c": ["p", "q", "r"], "ans": "B"},
            {"q": "c", "c": ["p", "q", "r"], "ans": 0}, {"q": "d", "c": ["1", "2"], "ans": "1"}]
    ts = build_testset(table(rows), {"question": "q", "choices": "c", "answer": "ans"})
    assert [i.answer for i in ts.items] == [2, 1, 0, 0]  # a choice's text wins over an index


def test_arc_style_choice_dicts():
    rows = [{"question": "Q", "choices": {"text": ["a", "b"], "label": ["A", "B"]}, "answerKey": "B"}]
    ts = build_testset(table(rows))
    assert ts.items[0].choices == ["a", "b"] and ts.items[0].answer == 1


def test_rubric_and_kind_column():
    rows = [{"task": "Write a haiku", "rubric": "5-7-5 syllables", "kind": "rubric"},
            {"task": "2+2?", "answer": "4", "kind": "qa", "rubric": ""}]
    ts = build_testset(table(rows))
    assert [i.kind for i in ts.items] == ["rubric", "freeform"] and ts.items[0].rubric == "5-7-5 syllables"


@pytest.mark.parametrize(("rows", "mapping", "message"), [
    ([], None, "is empty"),
    ([{"x": "1"}], {"question": "nope"}, "The column 'nope' mapped to question is not in the data"),
    ([{"x": "1"}], {"answer": "x"}, "Map a column to 'question'"),
    ([{"q": "Q", "c": "Paris", "a": "Paris"}], {"question": "q", "choices": "c", "answer": "a"},
     "Row 1: the choices column 'c' holds 'Paris', not a list"),
    ([{"q": "Q", "c": ["x", "y"], "a": "z"}], {"question": "q", "choices": "c", "answer": "a"},
     "Row 1: the answer 'z' is not among the choices"),
    ([{"q": "Q", "c": ["x"], "a": "x"}], {"question": "q", "choices": "c", "answer": "a"}, "at least two choices"),
    ([{"q": "Q", "c": ["x", "y"]}], {"question": "q", "choices": "c"}, "need a column mapped to 'answer'"),
    ([{"q": "Q", "t": ""}], {"question": "q", "tests": "t"}, "Row 1: a code item has no tests"),
    ([{"q": "Q", "r": " "}], {"question": "q", "rubric": "r"}, "needs a rubric"),
    ([{"q": "", "a": "1"}], {"question": "q", "answer": "a"}, "the question .* is empty"),
    ([{"q": "Q", "a": ""}], {"question": "q", "answer": "a"}, "reference answer .* is empty"),
    ([{"q": "Q"}], {"question": "q"}, "need a column mapped to 'answer'"),
    ([{"i": "1", "q": "Q", "a": "x"}, {"i": "1", "q": "R", "a": "y"}], {"id": "i", "question": "q", "answer": "a"},
     "item id '1' appears twice"),
    ([{"q": "Q", "a": "x", "k": "essay"}], {"question": "q", "answer": "a", "kind": "k"}, "kind 'essay'"),
    ([{"q": "Q", "a": "x"}], {"question": "q", "answer": "a", "colour": "a"}, "Unknown mapping role"),
])
def test_bad_sets_fail_with_a_specific_error(rows, mapping, message):
    with pytest.raises(InvalidInput, match=message):
        build_testset(table(rows), mapping)


def test_more_items_than_allowed(monkeypatch):
    monkeypatch.setenv("WORKBENCH_EVAL_MAX_ITEMS", "5")
    with pytest.raises(InvalidInput, match="has 6 items; at most 5"):
        build_testset(table([{"question": str(i), "answer": "x"} for i in range(6)]))
    assert build_testset(table([{"question": str(i), "answer": "x"} for i in range(5)])).size == 5


@pytest.mark.parametrize(("name", "text", "message"), [
    ("bad.jsonl", '{"a": 1}\nnot json\n', "line 2 is not valid JSON"),
    ("list.jsonl", "[1, 2]", "must be an object"),
    ("row.jsonl", "[1, 2]\n", "must be an object"),
    ("arr.jsonl", '"just a string"\n', "line 1 is not a JSON object"),
    ("nohead.csv", "", "has no header line"),
    ("wide.csv", "a,b\n1,2,3\n", "line 2 has more cells"),
    ("set.txt", "x", "upload a .csv or .jsonl"),
])
def test_bad_files(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInput, match=message):
        read_file(path)


def test_dataset_from_a_local_folder_offline(tmp_path):
    import datasets

    rows = [{"question": f"Q{i}", "choices": ["a", "b", "c"], "answer": i % 3} for i in range(12)]
    folder = tmp_path / "saved"
    datasets.DatasetDict({"train": datasets.Dataset.from_list(rows[:4]),
                          "test": datasets.Dataset.from_list(rows)}).save_to_disk(str(folder))
    raw = read_dataset(str(folder), split=None, n_rows=5)
    assert raw.name == "saved/test" and len(raw.rows) == 5 and raw.rows[1]["choices"] == ["a", "b", "c"]
    ts = build_testset(raw)
    assert ts.kinds() == {"choice": 5} and [i.answer for i in ts.items] == [0, 1, 2, 0, 1]
    assert len(read_dataset(str(folder), split="train").rows) == 4
    with pytest.raises(InvalidInput, match="has no split 'dev'. Splits: train, test"):
        read_dataset(str(folder), split="dev")
    files = tmp_path / "files"
    files.mkdir()
    (files / "data.jsonl").write_text("".join(json.dumps({"prompt": f"P{i}", "reference": "x"}) + "\n"
                                              for i in range(3)), encoding="utf-8")
    raw = read_dataset(str(files))  # load_dataset(folder): data files, no network
    assert raw.name == "files/train" and build_testset(raw).kinds() == {"freeform": 3}


@pytest.mark.parametrize(("dataset", "kw", "error", "message"), [
    ("", {}, InvalidInput, "Give a dataset"),
    ("https://huggingface.co/datasets/x/y", {}, InvalidInput, "no URLs"),
    ("../etc", {}, InvalidInput, "no URLs, no '..'"),
    ("org/name", {"n_rows": 10**7}, InvalidInput, "between 1 and"),
    ("org/name", {"split": "te st"}, InvalidInput, "split name"),
    ("org/name", {}, HubUnreachable, "cannot be reached"),
    ("/no/such/folder/anywhere", {}, InvalidInput, None),
])
def test_dataset_errors(dataset, kw, error, message):
    with pytest.raises(error, match=message):
        read_dataset(dataset, **kw)


def test_local_dataset_folders_follow_the_local_models_switch(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_ALLOW_LOCAL_MODELS", "0")
    with pytest.raises(ModelNotAllowed, match="Local dataset folders are disabled"):
        read_dataset(str(tmp_path))


def test_testset_from_synthetic_rows():
    rows = [{"question": "Capital of Peru?", "answer": "Lima", "difficulty": "easy"},
            {"question": "Capital of Chile?", "answer": "Santiago", "difficulty": "easy"}]
    ts = sources.testset_from_synthetic(rows, [{"name": "question"}, {"name": "answer"}, {"name": "difficulty"}])
    assert ts.source == "synthetic data tab" and ts.kinds() == {"freeform": 2}
    assert ts.items[1].references == ["Santiago"]
    with pytest.raises(InvalidInput, match="no synthetic rows"):
        sources.testset_from_synthetic([], ["question"])


# ----------------------------------------------------------------------------------------------- uploads (issue 26)

LINE_SEPARATORS = ["\u2028", "\u2029", "\u0085"]  # characters inside a JSON string, not line ends


def test_jsonl_rows_holding_unicode_line_separators_are_kept(tmp_path):
    rows = [{"question": f"one{sep}two {n}", "answer": f"a{sep}b"} for n, sep in enumerate(LINE_SEPARATORS * 3)]
    path = tmp_path / "seps.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    raw = read_file(path)
    assert raw.rows == rows and raw.notices == []
    assert [i.question for i in build_testset(raw).items] == [r["question"] for r in rows]
    csv_path = tmp_path / "seps.csv"
    csv_path.write_text("question,answer\n" + "".join(f"q{sep}x,a{sep}b\n" for sep in LINE_SEPARATORS),
                        encoding="utf-8")
    assert [r["question"] for r in read_file(csv_path).rows] == [f"q{sep}x" for sep in LINE_SEPARATORS]


def test_excel_unicode_text_and_latin1_csvs_are_read_and_the_encoding_named(tmp_path):
    utf16 = tmp_path / "excel.csv"  # Excel's "Unicode text": UTF-16 with a BOM, tab-separated
    utf16.write_bytes("question\tanswer\nWo liegt Köln?\tDeutschland\n".encode("utf-16"))
    raw = read_file(utf16)
    assert raw.rows == [{"question": "Wo liegt Köln?", "answer": "Deutschland"}]
    assert raw.notices == ["'excel.csv' is not UTF-8: it was read as UTF-16."]
    latin = tmp_path / "latin.csv"
    latin.write_bytes("question,answer\nCafé?,crème\n".encode("cp1252"))
    raw = read_file(latin)
    assert raw.rows == [{"question": "Café?", "answer": "crème"}]
    assert raw.notices == ["'latin.csv' is not UTF-8: it was read as Windows-1252."]


def test_deep_json_and_thousands_of_columns_are_short_specific_errors(tmp_path):
    deep = tmp_path / "deep.jsonl"
    deep.write_text('{"question": ' + "[" * 50_000 + "]" * 50_000 + "}\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="line 1 is not valid JSON \\(nested more than 64 levels deep\\)"):
        read_file(deep)
    arr = tmp_path / "deep.json"
    arr.write_text("[" * 50_000 + "]" * 50_000, encoding="utf-8")
    with pytest.raises(InvalidInput, match="nested more than 64 levels deep"):
        read_file(arr)
    wide = tmp_path / "wide.csv"
    wide.write_text(",".join(f"c{i}" for i in range(20_000)) + "\n" + ",".join("x" * 20_000) + "\n")
    with pytest.raises(InvalidInput, match="more than 1,000 columns") as info:
        read_file(wide)
    assert len(str(info.value)) < 200
    many = table([{f"column_{i}": "x" for i in range(900)}])
    with pytest.raises(InvalidInput, match="Map a column to 'question'") as info:
        build_testset(many, {"answer": "column_1"})
    assert len(str(info.value)) < 400 and "and 888 more" in str(info.value)
