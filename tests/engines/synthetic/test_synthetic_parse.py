"""engines.synthetic.parse: objects found in fenced, array, pretty-printed and broken model output, streamed."""

from __future__ import annotations

from synthetic_samples import jsonl, row

from engines import synthetic as syn


def test_parser_handles_fences_arrays_prose_and_broken_objects():
    text = ("Sure! Here are rows:\n```json\n{\"a\": 1}\n{\"a\": 2,\n  \"b\": 3}\n{ not json ]]\n"
            "[{\"a\": 4}, {\"a\": 5}]\n{'a': True}\n```\n{\"a\": tr")
    items = syn.parse_rows(text)
    objs = [i for i in items if not isinstance(i, syn.Unparseable)]
    assert objs == [{"a": 1}, {"a": 2, "b": 3}, {"a": 4}, {"a": 5}, {"a": True}]
    assert sum(isinstance(i, syn.Unparseable) for i in items) == 2  # the broken line and the truncated tail


def test_parser_streams_objects_as_lines_complete():
    text = jsonl(row(1), row(2)) + "{\"name\": \"x\",\n \"age\": 3}\n"
    parser = syn.RowParser()
    got = []
    for ch in text:  # one character at a time: nothing is emitted early or twice
        got += parser.feed(ch)
    got += parser.finish()
    assert got == syn.parse_rows(text) == [row(1), row(2), {"name": "x", "age": 3}]
