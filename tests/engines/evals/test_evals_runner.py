"""engines.evals runs end to end on tiny local models and the fake OpenAI server: a 200-item run over 3 models with
progress, Stop and resume (a killed process included), model failures, judges (rubric, garbage, pairwise in both
orders), code with pass@k in the sandbox, flips between runs, summaries, costs and downloads."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI

from engines import errors, evals
from engines.evals import report
from engines.evals.testsets import Item
from engines.evals.testsets import TestSet as Set

ROOT = Path(__file__).resolve().parents[3]
SECRET_MARKER = os.environ["OPENAI_API_KEY"]  # the suite's key (tests/conftest.py); the fake server wants it


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    """WORKBENCH_DATA_DIR points at a temporary folder: each test gets its own runs database."""
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture()
def store(data_dir):
    """The runs database of this test."""
    return evals.RunStore.default()


def user_text(messages: list) -> str:
    return next(m["content"] for m in reversed(messages) if m.get("role") == "user")


def letter_bot(messages: list) -> str:
    """Answers multiple choice with the letter of the option containing 'right', free-form with the question."""
    text = user_text(messages)
    for line in text.splitlines():
        match = re.match(r"^([A-Z])\. (.*)$", line)
        if match and "right" in match.group(2):
            return match.group(1)
    return "echo: " + text


def mixed_set(n_choice: int, n_free: int) -> Set:
    items = [Item(id=f"c{i}", kind="choice", question=f"Question {i}: which one?",
                  choices=["wrong one", "right one", "also wrong", "nope"] if i % 2 else
                  ["right answer", "wrong", "bad", "no"], answer=1 if i % 2 else 0) for i in range(n_choice)]
    items += [Item(id=f"f{i}", kind="freeform", question=f"Say hello {i}", references=[f"hello {i}"])
              for i in range(n_free)]
    return Set(name="mixed", source="test", items=items)


def run_all(events) -> list:
    return list(events)


@pytest.mark.slow
def test_200_items_over_three_models_complete_with_progress(tiny, remote_env, store):
    remote_env.respond("eval-bot", letter_bot)
    testset = mixed_set(150, 50)
    models = [str(tiny["lm-llama"]), str(tiny["lm-qwen2"]), "openai:eval-bot"]
    config = evals.RunConfig(method="contains", max_new_tokens=4, batch_size=32)
    events = run_all(evals.start_run(testset, models, config, name="big", store=store))
    final = events[-1]
    assert final.status == "complete" and final.done == 600
    assert [p.done for p in final.progress] == [200, 200, 200]
    assert all(p.status == "done" for p in final.progress)
    for n in range(3):  # progress per model only grows, one model after another
        seen = [e.progress[n].done for e in events]
        assert seen == sorted(seen) and len(set(seen)) > 3
    assert sum(len(e.new) for e in events) == 600
    results = store.results(final.run.id)
    assert len(results) == 600 and len({(r.model, r.item_id) for r in results}) == 600
    by = {m: {r.method for r in results if r.model == m} for m in models}
    assert by[models[0]] == {"loglikelihood", "contains"} and by[models[2]] == {"letter", "contains"}
    api = [r for r in results if r.model == "openai:eval-bot" and r.kind == "choice"]
    assert all(r.score == 1.0 for r in api)  # the bot always names the right letter
    assert all(r.metrics.keys() == {"acc", "acc_norm"} for r in results if r.method == "loglikelihood")
    run = store.get_run(final.run.id)
    assert run.status == "complete" and run.done == run.total == 600 and run.set_hash == testset.hash


def test_generated_prompt_is_the_chat_template_as_rendered(tiny, store):
    testset = mixed_set(0, 1)
    final = run_all(evals.start_run(testset, [str(tiny["lm-llama"])], evals.RunConfig(max_new_tokens=3,
                                                                                     system_prompt="Be brief.")))[-1]
    result = store.results(final.run.id)[0]
    assert result.prompt.startswith("<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.")
    assert result.prompt.endswith("<|start_header_id|>assistant<|end_header_id|>\n\n")
    assert result.prompt_tokens > 5 and result.completion_tokens is not None


def test_stop_then_resume_neither_loses_nor_redoes(remote_env, store):
    remote_env.respond("stop-bot", letter_bot)
    testset = mixed_set(0, 40)
    stop = threading.Event()
    events = evals.start_run(testset, ["openai:stop-bot"], evals.RunConfig(parallel=2), store=store, stop=stop)
    for event in events:
        if event.done >= 10:
            stop.set()
    assert event.status == "stopped" and store.get_run(event.run.id).status == "stopped"
    kept = store.done_keys(event.run.id)
    assert 10 <= len(kept) < 40
    before = len(remote_env.requests)
    final = run_all(evals.resume_run(event.run.id, store=store))[-1]
    assert final.status == "complete" and len(store.results(event.run.id)) == 40
    asked = {user_text(r["body"]["messages"]) for r in remote_env.requests[before:] if r.get("body")}
    assert not asked & {f"Say hello {i[1][1:]}" for i in kept}


def test_answers_cut_off_by_the_server_are_errors_that_resume_redoes(remote_env, store):
    # the server drops every stream after its first 20 answers: they end without a finish reason
    remote_env.respond("cut-bot", letter_bot)
    remote_env.respond("steady-bot", letter_bot)
    remote_env.fault("cut-bot", "drop", after=20)
    config = evals.RunConfig(method="contains", parallel=4)
    final = run_all(evals.start_run(mixed_set(0, 60), ["openai:cut-bot", "openai:steady-bot"], config,
                                    store=store))[-1]
    cut, steady = final.progress
    assert final.status == "incomplete" and final.done == 80  # not "complete 120/120"
    assert (cut.done, cut.redo, steady.done, steady.redo) == (20, 40, 60, 0)
    run = store.get_run(final.run.id)
    assert run.status == "incomplete" and run.done == 80 and len(store.done_keys(run.id)) == 80
    results = store.results(run.id)
    failed = [r for r in results if r.error]
    assert len(failed) == 40 and {r.model for r in failed} == {"openai:cut-bot"}
    assert all(r.retry and r.score is None and "closed the stream before the answer finished" in r.error
               for r in failed)
    assert all(r.score == 1.0 for r in results if not r.error)  # nothing stored as a wrong answer
    assert [(s.errors, s.scored) for s in report.summarize(results, run.models)] == [(40, 20), (0, 60)]

    remote_env.fault("cut-bot", None)
    before = len(remote_env.requests)
    again = run_all(evals.resume_run(run.id, store=store))[-1]
    asked = [r["body"] for r in remote_env.requests[before:] if r.get("body")]
    assert {b["model"] for b in asked} == {"cut-bot"} and len(asked) == 40  # each cut-off item once, nothing else
    assert {user_text(b["messages"]) for b in asked} == {f"Say hello {r.item_id[1:]}" for r in failed}
    assert again.status == "complete" and again.done == 120 and again.progress[0].redo == 0
    results = store.results(run.id)
    assert len(results) == 120 and not any(r.error for r in results) and all(r.score == 1.0 for r in results)
    assert store.get_run(run.id).status == "complete" and store.get_run(run.id).done == 120


def test_closing_the_run_generator_marks_it_stopped(remote_env, store):
    remote_env.respond("close-bot", letter_bot)
    events = evals.start_run(mixed_set(0, 30), ["openai:close-bot"], store=store)
    for event in events:
        if event.done >= 3:
            break
    events.close()  # what Gradio does on Stop
    run = store.get_run(event.run.id)
    assert run.status == "stopped" and 3 <= run.done < 30


KILL_SCRIPT = """
import sys
from engines import evals
from engines.evals.testsets import Item
from engines.evals.testsets import TestSet as Set

items = [Item(id=f"k{i}", kind="freeform", question=f"Kill item {i}", references=["x"]) for i in range(120)]
ts = Set(name="kill", source="test", items=items)
for event in evals.start_run(ts, ["openai:kill-bot"], evals.RunConfig(parallel=2)):
    if not event.new:
        print(event.run.id, flush=True)
"""


@pytest.mark.slow
def test_a_killed_run_resumes_where_it_stopped(data_dir, monkeypatch, store):
    with FakeOpenAI(api_key=SECRET_MARKER, chunk_delay=0.02) as server:
        server.respond("kill-bot", lambda m: "one two three four five " + user_text(m))
        env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "WORKBENCH_DATA_DIR": str(data_dir),
               "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        run_id = proc.stdout.readline().strip()
        deadline = time.monotonic() + 120
        while len(store.done_keys(run_id)) < 15 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        alive = store.get_run(run_id).status  # its process runs it
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        time.sleep(0.3)  # requests the dead process had already sent
        done = store.done_keys(run_id)
        assert 15 <= len(done) < 120, proc.stderr.read()[-2000:]
        assert alive == "running"
        killed = store.get_run(run_id)  # nobody marked it, but its process is gone: not "running" any more
        assert killed.status == "interrupted" and "· interrupted ·" in killed.label()
        assert [r.status for r in store.list_runs() if r.id == run_id] == ["interrupted"]
        before = len(server.requests)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        final = run_all(evals.resume_run(run_id, store=store))[-1]
        asked = [user_text(r["body"]["messages"]) for r in server.requests[before:] if r.get("body")]
    results = store.results(run_id)
    assert final.status == "complete" and len(results) == 120 and len({r.item_id for r in results}) == 120
    assert len(asked) == 120 - len(done) and len(set(asked)) == len(asked)  # each missing item exactly once
    assert not set(asked) & {f"Kill item {item[1:]}" for _, item in done}  # no finished item redone


def test_a_failing_model_leaves_its_items_pending(remote_env, store):
    remote_env.respond("ok-bot", letter_bot)
    final = run_all(evals.start_run(mixed_set(0, 5), ["openai:fake-500", "openai:ok-bot"], store=store))[-1]
    failed, ok = final.progress
    assert final.status == "incomplete" and failed.status == "failed" and "server" in failed.error.lower()
    assert failed.done == 0 and ok.done == 5
    again = run_all(evals.resume_run(final.run.id, store=store))[-1]
    assert again.progress[0].done == 0 and again.progress[1].done == 5 and again.status == "incomplete"


def test_rubric_judge_scores_and_a_reply_without_score_is_counted(remote_env, store):
    remote_env.respond("essay-bot", lambda m: "garbage" if "third" in user_text(m) else "A fine essay.")
    judged: list[list] = []

    def judge(messages):
        judged.append(messages)
        answer = user_text(messages).split("<<<")[1]
        return "I refuse to grade." if "garbage" in answer else "Score: 7\nRationale: Meets most of the rubric."

    remote_env.respond("judge-bot", judge)
    items = [Item(id=str(i), kind="rubric", question=f"Write the {w} essay", rubric="Clear and short.")
             for i, w in enumerate(["first", "second", "third"])]
    testset = Set(name="essays", source="test", items=items)
    config = evals.RunConfig(judge="openai:judge-bot")
    final = run_all(evals.start_run(testset, ["openai:essay-bot"], config, store=store))[-1]
    results = {r.item_id: r for r in store.results(final.run.id)}
    assert results["0"].score == pytest.approx(0.7) and results["0"].judge_rationale == "Meets most of the rubric."
    assert results["2"].score is None and results["2"].judge_failed
    summary = report.summarize(list(results.values()), ["openai:essay-bot"])[0]
    assert summary.judge_failed == 1 and summary.scored == 2 and summary.score.mean == pytest.approx(0.7)
    text = json.dumps(judged)
    assert "essay-bot" not in text and "openai" not in text  # the judge never sees which model answered


def test_validation_errors_come_before_any_call(remote_env):
    free = mixed_set(0, 2)
    rubric = Set("r", "t", [Item(id="1", kind="rubric", question="Q", rubric="R")])
    code = Set("c", "t", [Item(id="1", kind="code", question="Q", tests="assert True")])
    cases = [
        (free, [], {}, "at least one model"),
        (free, [f"openai:m{i}" for i in range(7)], {}, "at most 6 models"),
        (free, ["openai:a", "openai:a"], {}, "listed twice"),
        (free, ["https://x.org/m"], {}, "URL"),
        (rubric, ["openai:a"], {}, "needs a judge model"),
        (free, ["openai:a"], {"method": "judge"}, "needs a judge model"),
        (Set("n", "t", [Item(id="1", kind="freeform", question="Q", references=["five"])]), ["openai:a"],
         {"method": "numeric"}, "Item 1: the reference 'five' holds no number"),
        (Set("x", "t", [Item(id="1", kind="freeform", question="Q", references=["(bad"])]), ["openai:a"],
         {"method": "regex"}, "not a valid regular expression"),
        (free, ["openai:a"], {"method": "vibes"}, "Unknown scoring method"),
        (code, ["openai:a"], {"samples": 3}, "temperature 0 every code sample"),
        (code, ["openai:a"], {"samples": 2, "k": 3, "temperature": 0.5}, "k of pass@k must be between 1 and 2"),
        (free, ["openai:a"], {"max_new_tokens": 0}, "Max new tokens must be between"),
        (free, ["openai:a"], {"temperature": 3}, "Temperature"),
    ]
    before = len(remote_env.requests)
    for testset, models, kw, message in cases:
        with pytest.raises(errors.WorkbenchError, match=message):
            next(evals.start_run(testset, models, evals.RunConfig(**kw)))
            pytest.fail(f"no error for {message!r}")
    assert len(remote_env.requests) == before


def _sandbox_ok() -> bool:
    from engines import sandbox

    try:
        sandbox.check_allowed()
    except errors.Unsupported:
        return False
    return True


@pytest.mark.skipif(not _sandbox_ok(), reason="no sandbox works on this machine")
def test_code_items_pass_at_k_in_the_sandbox(remote_env, store):
    calls: dict[str, int] = {}
    good = "```python\ndef add(a, b):\n    return a + b\n```"
    bad = "```python\ndef add(a, b):\n    return a - b\n```"

    def coder(messages):
        text = user_text(messages)
        calls[text] = calls.get(text, 0) + 1
        if "always" in text:
            return good
        if "never" in text:
            return "I don't write code."
        return good if calls[text] % 2 else bad

    remote_env.respond("coder", coder)
    tests = "assert add(2, 3) == 5\nassert add(-1, 1) == 0"
    items = [Item(id=w, kind="code", question=f"Write add(a, b) ({w})", tests=tests)
             for w in ("always", "half", "never")]
    config = evals.RunConfig(samples=4, k=2, temperature=0.8)
    final = run_all(evals.start_run(Set("code", "t", items), ["openai:coder"], config, store=store))[-1]
    r = {x.item_id: x for x in store.results(final.run.id)}
    assert r["always"].metrics["c"] == 4 and r["always"].score == 1.0
    assert r["half"].metrics["c"] == 2 and r["half"].score == pytest.approx(1 - 1 / 6)  # 1 - C(2,2)/C(4,2)
    assert r["half"].metrics["pass@1"] == pytest.approx(0.5)
    assert r["never"].score == 0.0 and "SyntaxError" in r["never"].detail["samples"][0]["stderr"]
    assert r["always"].method == "pass@k" and len(r["half"].detail["samples"]) == 4


def test_pairwise_judging_runs_both_orders_and_reports_agreement(remote_env, store):
    remote_env.respond("good-bot", lambda m: "a good answer")
    remote_env.respond("meh-bot", lambda m: "a meh answer")
    testset = mixed_set(0, 6)
    final = run_all(evals.start_run(testset, ["openai:good-bot", "openai:meh-bot"], store=store))[-1]
    seen: list[str] = []

    def biased(messages):
        seen.append(json.dumps(messages))
        return "Winner: A\nRationale: the first one"

    def fair(messages):
        text = user_text(messages)
        first = text.split("Answer A:")[1].split("Answer B:")[0]
        return f"Winner: {'A' if 'good' in first else 'B'}\nRationale: the good one"

    remote_env.respond("biased-judge", biased)
    remote_env.respond("fair-judge", fair)
    args = (final.run.id, "openai:good-bot", "openai:meh-bot")
    biased_summary = list(evals.judge.judge_run_pairs(*args, "openai:biased-judge", store=store))[-1]
    assert biased_summary.agreement == 0.0 and biased_summary.count("winner", None) == 6
    assert len(seen) == 12 and all("good-bot" not in s and "meh-bot" not in s for s in seen)
    fair_summary = list(evals.judge.judge_run_pairs(*args, "openai:fair-judge", store=store))[-1]
    assert fair_summary.agreement == 1.0 and fair_summary.count("winner", "a") == 6
    again = list(evals.judge.judge_run_pairs(*args, "openai:fair-judge", store=store))[-1]  # stored: no new calls
    assert again.rows == fair_summary.rows


def test_flips_between_two_runs(remote_env, store):
    fixed = {"Say hello 1", "Say hello 2"}
    remote_env.respond("v1-bot", lambda m: "hello " + user_text(m)[-1] if user_text(m) not in fixed else "no")
    remote_env.respond("v2-bot", lambda m: "no" if user_text(m) == "Say hello 0" else "hello " + user_text(m)[-1])
    testset = mixed_set(0, 4)
    first = run_all(evals.start_run(testset, ["openai:v1-bot"], store=store))[-1]
    second = run_all(evals.start_run(testset, ["openai:v2-bot"], store=store))[-1]
    assert report.flips(store.results(first.run.id), store.results(second.run.id)) == []  # other model name
    # the same model name in both runs: rename the second run's results for the comparison
    later = [evals.Result(**{**r.__dict__, "model": "openai:v1-bot"}) for r in store.results(second.run.id)]
    flips = report.flips(store.results(first.run.id), later)
    assert sorted((f.item_id, f.before, f.after) for f in flips) == [("f0", 1.0, 0.0), ("f1", 0.0, 1.0),
                                                                     ("f2", 0.0, 1.0)]


def test_summary_cost_and_downloads(remote_env, store):
    remote_env.respond("gpt-4o-mini", letter_bot)  # served by the fake server under a priced catalog id
    final = run_all(evals.start_run(mixed_set(4, 2), ["openai:gpt-4o-mini"], store=store))[-1]
    results = store.results(final.run.id)
    (summary,) = report.summarize(results, ["openai:gpt-4o-mini"])
    p_tok, c_tok = summary.prompt_tokens, summary.completion_tokens
    assert p_tok > 0 and c_tok > 0
    assert summary.cost_usd == pytest.approx(p_tok / 1e6 * 0.15 + c_tok / 1e6 * 0.60)
    assert summary.score.mean == pytest.approx(4 / 6) and summary.methods == ["exact", "letter"]
    testset = store.load_testset(final.run.set_hash)
    rows = list(csv.DictReader(io.StringIO(report.to_csv(results, testset))))
    assert len(rows) == 6 and rows[0]["question"].startswith("Question 0") and rows[0]["model"] == "openai:gpt-4o-mini"
    lines = [json.loads(x) for x in report.to_jsonl(results, testset).splitlines()]
    assert len(lines) == 6 and {"prompt", "metrics", "question"} <= set(lines[0])
    md = report.markdown_report(store.get_run(final.run.id), [summary], "chart.svg")
    assert "| `openai:gpt-4o-mini` |" in md and "![score per model](chart.svg)" in md and "█" in md
    assert final.run.set_hash in md
    svg = report.chart_svg([summary])
    assert svg.startswith("<svg") and "66.7%" in svg


def test_store_reads_create_no_file(tmp_path):
    store = evals.RunStore(Path(tmp_path) / "nothing" / "evals.sqlite")
    assert store.list_runs() == [] and store.results("x") == [] and store.load_testset("0" * 64) is None
    assert not (Path(tmp_path) / "nothing").exists()
    with pytest.raises(errors.InvalidInput, match="No stored run"):
        store.get_run("nope")
