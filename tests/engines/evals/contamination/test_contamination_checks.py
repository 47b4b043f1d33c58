"""engines.evals.contamination.checks on a tiny local model: every method in one run (n-gram overlap, Min-K% with
a reference set, guided completion, sampling), progress events, Stop (an event or closing the generator) keeps a
stored report, validation before anything loads, paraphrasing a reference set, verdict thresholds."""

from __future__ import annotations

import threading

import pytest

from engines.errors import InvalidInput
from engines.evals.contamination import CheckOptions, Corpus, load, paraphrase, run_checks, to_csv, verdicts
from engines.evals.contamination.reference import combine, from_file
from engines.evals.testsets import RawTable, build_testset

ROWS = [{"id": f"r{i}", "question": f"Question number {i} asks about the colour of the sky over the city at noon",
         "answer": f"blue {i}"} for i in range(1, 7)]


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def sky_set():
    return build_testset(RawTable("sky", "test", ROWS, ["id", "question", "answer"]))


def test_every_method_in_one_run(tiny, data_dir):
    model = str(tiny["lm-llama"])
    corpus = Corpus(text="noise " + ROWS[0]["question"] + " more noise")
    options = CheckOptions(methods=["min_k", "guided", "sampling", "ngrams"], dataset="SkySet", samples=2,
                           max_new_tokens=6)
    reference = [f"An unrelated sentence about trains, number {i}." for i in range(6)]
    events = list(run_checks(sky_set(), model, options, reference=reference, corpus=corpus))
    stages = [e.stage for e in events]
    assert stages[0] == "Starting" and events[-1].status == "complete"
    assert any(s.startswith("Min-K%") for s in stages) and any(s.startswith("Guided") for s in stages)
    report = events[-1].report
    assert set(report.summaries) == {"ngrams", "min_k", "guided", "sampling"}
    assert report.summaries["ngrams"].numbers["dirty"] == 1  # r1's question is in the corpus
    assert report.row("r1").signals["dirty"] is True and report.row("r2").signals["dirty"] is False
    start, end = report.row("r1").detail["ngram_spans"][0]
    assert report.row("r1").text[start:end] == ROWS[0]["question"]
    mk = report.summaries["min_k"]
    assert 0 <= mk.numbers["auroc_min_k_pp"] <= 1 and mk.numbers["n_reference"] == 6
    assert mk.verdict in (verdicts.NO, verdicts.WEAK, verdicts.STRONG)
    for row in report.test_rows():
        assert row.signals["min_k"] < 0 and row.signals["guided_rouge"] is not None
        assert 0 <= row.signals["peak"] <= 1 and len(row.detail["samples"]) == 2
    assert len(report.reference_rows()) == 6 and report.row("ref-1", "reference").signals["min_k"] < 0
    csv_text = to_csv(report)
    assert csv_text.splitlines()[0].startswith("set,item,min_k,min_k_pp") and csv_text.count("\nreference,") == 6
    stored = load(report.id)
    assert stored.summaries["min_k"].headline == mk.headline and len(stored.rows) == 12


def test_stop_by_event_and_by_closing(tiny, data_dir):
    model = str(tiny["lm-llama"])
    stop = threading.Event()
    options = CheckOptions(methods=["sampling"], samples=2, max_new_tokens=4)
    events = []
    for event in run_checks(sky_set(), model, options, stop=stop):
        events.append(event)
        if event.done == 2:
            stop.set()
    assert events[-1].status == "stopped" and events[-1].report.summaries["sampling"].numbers["n"] == 2
    assert any("Stopped early" in n for n in events[-1].report.summaries["sampling"].notes)
    run = run_checks(sky_set(), model, CheckOptions(methods=["min_k"]))
    first = next(run)
    run.close()  # what the UI's Stop does to the handler's generator
    assert load(first.report.id).status == "stopped"


def test_validation_before_anything_loads(data_dir):
    ts = sky_set()
    cases = [(CheckOptions(methods=[]), "Pick at least one check"),
             (CheckOptions(methods=["telepathy"]), "Unknown check"),
             (CheckOptions(methods=["guided"]), "dataset's name"),
             (CheckOptions(methods=["ngrams"]), "needs a corpus"),
             (CheckOptions(methods=["min_k"], k=20), "write 0.2"),
             (CheckOptions(methods=["sampling"], temperature=0), "Sampling temperature must be above 0"),
             (CheckOptions(methods=["sampling"], samples=2.5), "whole number"),
             (CheckOptions(methods=["min_k"], part="answer"), "Unknown text part")]
    for options, message in cases:
        with pytest.raises(InvalidInput, match=message):
            next(run_checks(ts, "some/model", options))
    with pytest.raises(InvalidInput, match="Pick the model"):
        next(run_checks(ts, "", CheckOptions(methods=["min_k"])))
    events = list(run_checks(ts, "", CheckOptions(methods=["ngrams"]), corpus=Corpus(text="nothing")))
    assert events[-1].report.summaries["ngrams"].verdict == verdicts.NO  # n-grams alone need no model


def test_reference_sets(tiny, tmp_path, remote_env):
    remote_env.respond("contam-paraphraser", lambda m: "Reworded: " + m[-1]["content"].split("\n\n", 1)[1][:20])
    texts = [r["question"] for r in ROWS[:2]]
    out = list(paraphrase(texts, "openai:contam-paraphraser"))
    assert [i for i, _ in out] == [0, 1] and out[0][1] == "Reworded: " + texts[0][:20]
    assert "Reword this text" in remote_env.requests[-1]["body"]["messages"][-1]["content"]
    with pytest.raises(InvalidInput, match="Pick the model"):
        list(paraphrase(texts, ""))
    jsonl = tmp_path / "ref.jsonl"
    jsonl.write_text('{"question": "Q one?", "answer": "A"}\n{"question": "Q two?", "answer": "B"}\n')
    assert from_file(jsonl) == ["Q one?\nA", "Q two?\nB"]  # formatted like the test items
    plain = tmp_path / "ref.csv"
    plain.write_text("text\nfirst unseen text\nsecond unseen text\n")
    assert from_file(plain) == ["first unseen text", "second unseen text"]
    assert combine("pasted\\nline", [(str(plain), "ref.csv")], sky_set(), "question")[:3] == [
        "pasted\nline", "first unseen text", "second unseen text"]


def test_verdict_thresholds():
    assert verdicts.rank_verdict(0.80, 0.001, 20, 20) == verdicts.STRONG
    assert verdicts.rank_verdict(0.80, 0.03, 20, 20) == verdicts.WEAK
    assert verdicts.rank_verdict(0.65, 0.04, 20, 20) == verdicts.WEAK
    assert verdicts.rank_verdict(0.55, 0.001, 20, 20) == verdicts.NO
    assert verdicts.rank_verdict(0.99, 0.001, 4, 20) == verdicts.NOT_RATED
    assert verdicts.guided_verdict(0.2, 0.001, 10) == verdicts.STRONG
    assert verdicts.guided_verdict(0.05, 0.02, 10) == verdicts.WEAK
    assert verdicts.guided_verdict(-0.2, 0.001, 10) == verdicts.NO
    assert verdicts.share_verdict("sampling", 0.5, 10) == verdicts.STRONG
    assert verdicts.share_verdict("sampling", 0.2, 10) == verdicts.WEAK
    assert verdicts.share_verdict("sampling", 0.1, 10) == verdicts.NO
    assert verdicts.share_verdict("ngrams", 0.1, 10) == verdicts.STRONG
    assert verdicts.share_verdict("ngrams", 0.01, 100) == verdicts.WEAK
    assert verdicts.share_verdict("ngrams", 0.5, 2) == verdicts.STRONG  # any overlap is evidence, few items or not
    assert verdicts.share_verdict("ngrams", 0.0, 100) == verdicts.NO
