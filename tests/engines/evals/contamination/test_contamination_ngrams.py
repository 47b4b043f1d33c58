"""engines.evals.contamination.ngrams: GPT-3-style 13-gram overlap against a hand-checked case (the matching
n-grams, the overlap share and the highlighted character spans), the Janitor-style tokenisation, items shorter
than n, n-grams never spanning two documents, corpora from text, JSON Lines and folders, Stop, bad input."""

from __future__ import annotations

import json
import threading

import pytest

from engines.errors import InvalidInput
from engines.evals.contamination.ngrams import Corpus, OverlapIndex, overlap, words

# 20 words; the corpus below holds its words 3..16 (14 words: two 13-grams) in other case and punctuation
ITEM = ("Alpha beta gamma: the quick brown fox jumps over the lazy dog near the river bank, while delta "
        "epsilon sleeps.")
CORPUS = "Unrelated start. THE QUICK brown fox -- jumps over the Lazy Dog near the river bank while! Other words."


def test_tokenisation_lowercases_and_drops_punctuation_with_offsets():
    ws = words("Don't STOP, (now) -- ok.")
    assert [w.text for w in ws] == ["dont", "stop", "now", "ok"]  # "--" has nothing left: dropped
    assert [("Don't STOP, (now) -- ok."[w.start:w.end]) for w in ws] == ["Don't", "STOP,", "(now)", "ok."]


def test_hand_checked_13_gram_overlap():
    item_words = [w.text for w in words(ITEM)]
    assert len(item_words) == 20
    found = overlap([ITEM], Corpus(text=CORPUS), n=13)[0]
    # the item's 8 13-grams start at words 0..7; the corpus holds words 3..16 ("the" … "while"): starts 3 and 4
    assert found.ngrams == 8 and found.matched == 2 and found.ratio == 0.25 and found.dirty is True
    start, end = found.spans[0]
    assert found.spans == [(start, end)]  # the two overlapping 13-grams merge into one span
    assert ITEM[start:end] == "the quick brown fox jumps over the lazy dog near the river bank, while"
    assert found.documents == ["pasted text"]


def test_clean_and_short_items():
    clean, short = overlap([ITEM, "Too short to have a 13-gram."], Corpus(text="nothing in common here"), n=13)
    assert clean.matched == 0 and clean.dirty is False and clean.spans == [] and clean.ratio == 0.0
    assert short.ngrams == 0 and short.dirty is None and short.ratio is None  # not checked, not "clean"
    assert overlap(["a b c"], Corpus(text="x a b c y"), n=3)[0].spans == [(0, 5)]


def test_ngrams_span_lines_but_not_documents(tmp_path):
    text = "one two three four five"
    split_lines = Corpus(text="zero one two\nthree four five six")  # one document over two lines
    assert overlap([text], split_lines, n=5)[0].matched == 1
    jsonl = tmp_path / "c.jsonl"
    jsonl.write_text(json.dumps({"text": "zero one two"}) + "\n" + json.dumps({"text": "three four five"}) + "\n")
    assert overlap([text], Corpus(files=[("c.jsonl", jsonl)]), n=5)[0].matched == 0  # two documents


def test_corpus_files_and_folders(tmp_path):
    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("nothing relevant")
    (folder / "sub" / "b.jsonl").write_text(json.dumps({"id": 1, "body": CORPUS}) + "\n")  # no "text": all strings
    (folder / "ignored.bin").write_bytes(b"\x00the quick brown fox jumps over the lazy dog near the river bank")
    found = overlap([ITEM], Corpus(folder=folder), n=13)[0]
    assert found.matched == 2 and found.documents == ["sub/b.jsonl:1"]
    listed = tmp_path / "list.json"
    listed.write_text(json.dumps([{"text": "x"}, {"text": CORPUS}]))
    assert overlap([ITEM], Corpus(files=[("list.json", listed)]), n=13)[0].documents == ["list.json:2"]


def test_bad_corpora(tmp_path):
    with pytest.raises(InvalidInput, match="Give a corpus"):
        overlap([ITEM], Corpus())
    with pytest.raises(InvalidInput, match="does not exist"):
        overlap([ITEM], Corpus(folder=tmp_path / "missing"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json}\n")
    with pytest.raises(InvalidInput, match="line 1: not valid JSON"):
        overlap([ITEM], Corpus(files=[("bad.jsonl", bad)]))
    other = tmp_path / "x.pdf"
    other.write_text("x")
    with pytest.raises(InvalidInput, match="must be one of"):
        overlap([ITEM], Corpus(files=[("x.pdf", other)]))
    with pytest.raises(InvalidInput, match="between 1 and 50"):
        OverlapIndex([ITEM], n=0)


def test_stop_ends_the_scan_early(tmp_path):
    stop = threading.Event()
    stop.set()
    found = overlap([ITEM], Corpus(text=CORPUS), n=13, stop=stop)[0]
    assert found.matched == 0  # nothing scanned
