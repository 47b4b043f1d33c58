"""API models on the fake OpenAI server: Min-K% from the completions endpoint's echo of prompt log-probabilities
(hand-computed from the fake's known log-probabilities), a server without logprobs and a chat-only server say that
Min-K% needs a local model while guided completion and sampling still run; guided completion and sampling verdicts
on scripted answers; the guided / general prompt format."""

from __future__ import annotations

import math

import pytest

from engines.errors import Unsupported
from engines.evals.contamination import (
    CheckOptions,
    general_messages,
    guided_messages,
    load,
    min_k_plus_plus,
    min_k_prob,
    run_checks,
    to_csv,
)
from engines.evals.contamination.guided import Pieces, clean_completion, pieces
from engines.evals.testsets import RawTable, build_testset

QUESTIONS = ["What is the name of the longest river in South America today?",
             "Which chemical element has the atomic number seventy nine exactly?",
             "How many sides does a regular hexagon have in plane geometry?",
             "Who wrote the novel that begins with a famous line about happy families?",
             "In which year did the first crewed landing on the Moon take place?",
             "What is the boiling point of water at sea level in degrees Celsius?"]
ANSWERS = ["Amazon", "Gold", "Six", "Tolstoy", "1969", "100"]


@pytest.fixture()
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def trivia_set():
    pairs = enumerate(zip(QUESTIONS, ANSWERS, strict=True), start=1)
    rows = [{"id": f"q{i}", "question": q, "answer": a} for i, (q, a) in pairs]
    return build_testset(RawTable("trivia", "test", rows, ["id", "question", "answer"]))


def fake_probability(i: int) -> float:
    return 0.9 - 0.1 * (i % 5)  # tests/support/fake_openai.fake_logprobs: piece i has p = 0.9, 0.8, ... 0.5


def test_min_k_from_echoed_prompt_logprobs(remote_env):
    text = "one two three four five six seven"
    # the first token has no log-probability; pieces 1..6 have p = 0.8 0.7 0.6 0.5 0.9 0.8
    logs = [math.log(fake_probability(i)) for i in range(1, 7)]
    assert min_k_prob("openai:fake-echo", text, k=0.2) == pytest.approx(math.log(0.5))  # ⌊6·0.2⌋ = 1 lowest
    assert min_k_prob("openai:fake-echo", text, k=0.5) == pytest.approx(sum(sorted(logs)[:3]) / 3)
    body = remote_env.requests[-1]["body"]
    assert remote_env.requests[-1]["path"] == "/v1/completions"
    assert body["echo"] is True and body["logprobs"] == 5 and body["prompt"] == text and body["max_tokens"] == 1

    def normalised(i: int) -> float:  # μ, σ over the top-5 alternatives the fake returns, renormalised
        p = fake_probability(i)
        probs = [p] + [(1 - p) * 0.5 ** (j + 1) for j in range(4)]
        total = sum(probs)
        mu = sum(q * math.log(q) for q in probs) / total
        sigma = math.sqrt(sum(q * math.log(q) ** 2 for q in probs) / total - mu * mu)
        return (math.log(p) - mu) / sigma

    want = sorted(normalised(i) for i in range(1, 7))[:3]
    assert min_k_plus_plus("openai:fake-echo", text, k=0.5) == pytest.approx(sum(want) / 3)


def test_servers_without_prompt_logprobs_say_so(remote_env, monkeypatch):
    monkeypatch.setattr(remote_env, "supports_logprobs", False)
    with pytest.raises(Unsupported, match="returned no log-probabilities for the prompt.*local copy of the model"):
        min_k_prob("openai:fake-echo", "one two three")
    monkeypatch.setattr(remote_env, "supports_logprobs", True)
    monkeypatch.setattr(remote_env, "supports_completions", False)
    with pytest.raises(Unsupported, match=r"refused the completions request .*\(404\)"):
        min_k_prob("openai:fake-echo", "one two three")


def test_prompt_format():
    p = Pieces("What is the name of", "the longest river?", "Amazon")
    assert guided_messages(p, "TriviaSet", "validation") == [{"role": "user", "content": (
        "INSTRUCTION:\nYou are provided with the FIRST PIECE of an instance from the validation split of the "
        "TriviaSet dataset.\nFinish the SECOND PIECE of the instance as EXACTLY appeared in the dataset.\nONLY rely "
        "on the original form of the instance in the dataset to finish the SECOND PIECE.\n\nANSWER: Amazon\n\n"
        "FIRST PIECE:\nWhat is the name of\n\nSECOND PIECE:")}]
    assert general_messages(p)[0]["content"] == (
        "INSTRUCTION:\nFinish the SECOND PIECE based on the FIRST PIECE, such that these two pieces become a single "
        "instance with the following ANSWER.\n\nANSWER: Amazon\n\nFIRST PIECE:\nWhat is the name of\n\n"
        "SECOND PIECE:")
    unlabelled = general_messages(Pieces("Write a poem", "about the sea.", ""))[0]["content"]
    assert "ANSWER" not in unlabelled and "a single instance.\n\nFIRST PIECE:\nWrite a poem\n\n" in unlabelled
    assert "dataset" not in general_messages(p)[0]["content"]
    assert clean_completion("SECOND PIECE: the longest river?") == "the longest river?"
    cut = pieces(trivia_set().items[0], 0.5)
    assert (cut.first, cut.truth, cut.label) == ("What is the name of the", "longest river in South America today?",
                                                 "Amazon")


def _guided_responder(truths: dict[str, str]):
    def answer(messages):
        content = messages[-1]["content"]
        if "FIRST PIECE:" not in content:  # a sampling prompt (the question itself): always the same answer
            return "The same answer every time."
        first = content.split("FIRST PIECE:\n", 1)[1].split("\n\nSECOND PIECE:", 1)[0]
        if "split of the" in content:  # guided: the item comes back word for word
            return f"SECOND PIECE: {truths[first]}"
        return "something else entirely"
    return answer


def test_api_model_runs_generation_methods_and_says_why_min_k_did_not(remote_env, monkeypatch, data_dir):
    ts = trivia_set()
    truths = {pieces(i).first: pieces(i).truth for i in ts.items}
    remote_env.respond("contam-memorised", _guided_responder(truths))
    monkeypatch.setattr(remote_env, "supports_completions", False)
    options = CheckOptions(methods=["min_k", "guided", "sampling"], dataset="TriviaSet", samples=3)
    events = list(run_checks(ts, "openai:contam-memorised", options, reference=["An unseen line of text."]))
    report = events[-1].report
    assert events[-1].status == "complete" and report.status == "complete"
    mk = report.summaries["min_k"]
    assert mk.verdict == "not run" and "local copy of the model" in mk.notes[0]
    guided = report.summaries["guided"]
    assert guided.verdict == "strong signal" and guided.numbers["guided"] == 1.0 and guided.numbers["general"] == 0
    assert guided.numbers["near_verbatim"] == 6
    sampled = report.summaries["sampling"]  # a responder gives the same answer every time: fully peaked
    assert sampled.verdict == "strong signal" and sampled.numbers["flagged"] == 6
    row = report.row("q1")
    assert row.signals["guided_rouge"] == 1.0 and row.signals["peak"] == 1.0 and row.signals["flagged"] is True
    assert row.detail["true_piece"] == "longest river in South America today?" and len(row.detail["samples"]) == 3
    assert load(report.id).summaries["guided"].verdict == "strong signal"  # stored in the data directory
    assert "q1" in to_csv(report)
    # with the server's prompt log-probabilities Min-K% runs on the API model too
    monkeypatch.setattr(remote_env, "supports_completions", True)
    events = list(run_checks(ts, "openai:contam-memorised", CheckOptions(methods=["min_k"]),
                             reference=[f"Unseen reference text number {n} here." for n in range(6)]))
    report = events[-1].report
    assert report.summaries["min_k"].verdict in ("no signal", "weak signal", "strong signal")
    assert "approximate" in " ".join(report.summaries["min_k"].notes)
    assert report.row("q1").signals["min_k"] < 0 and report.row("ref-1", "reference").signals["min_k_pp"] is not None
