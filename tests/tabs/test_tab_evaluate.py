"""The Evaluate tab through its API (gradio_client against the served app: catalog ids resolve to tiny models, API
models to the fake OpenAI server), plus in-process checks of the Synthetic → Evaluate hand-over and Stop."""

from __future__ import annotations

import csv
from pathlib import Path

import gradio as gr
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError

# The served app inherits the environment when the session starts it: keep its runs database out of the home dir.
from tabs.evaluate import handlers as tab  # noqa: E402

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"  # a tiny Llama through the models dir
QWEN = "Qwen/Qwen2.5-0.5B-Instruct"
NO_MAPPING = ("", "", "", "", "", "", "")


def load(client, source="example", example="multiple-choice", file=None, dataset="", mapping=NO_MAPPING,
         kind="auto"):
    """/load_test_set → (status, preview, 7 mapping values, card, set id)."""
    return client.predict(source, example, file, dataset, "", "", None, None, *mapping, kind,
                          api_name="/load_test_set")


def run(client, set_id, models, method="contains", judge="", name=""):
    """/run_evaluation → (status, progress, matrix, summary, run id, files, model a, model b)."""
    return client.predict(set_id, models, method, judge, "auto", 8, 0, "", 1, 1, 1e-6, name,
                          api_name="/run_evaluation")


def test_load_example_shows_rows_mapping_and_hash(client):
    status, preview, *mapping, card, set_id = load(client)
    assert "data-state='done'" in status and "20 items loaded" in status
    assert preview["headers"] == ["id", "question", "choices", "answer"] and len(preview["data"]) == 5
    assert mapping == ["question", "answer", "choices", "", "", "id", ""]
    assert len(set_id) == 64 and set_id[:16] in card and "20 multiple choice" in card


def test_run_two_models_then_fetch_drill_down_and_compare(client):
    set_id = load(client)[-1]
    status, progress, matrix, summary, run_id, files, model_a, model_b = run(client, set_id, [LLAMA,
                                                                                              "openai:fake-echo"])
    assert "data-state='done'" in status and "complete" in status and "40/40" in status
    assert matrix["headers"] == ["item", "1. Llama-3.1-8B-Instruct", "2. openai:fake-echo", "question"]
    assert len(matrix["data"]) == 20 and all(row[1] in ("0", "1") for row in matrix["data"])
    assert "log-likelihood" in summary and "generated letter" in summary and "<svg" in summary
    assert "data-status='done'" in progress
    assert (model_a, model_b) == (LLAMA, "openai:fake-echo")
    names = sorted(Path(f).name for f in files)
    assert names == sorted(f"eval-{run_id}{s}" for s in (".csv", ".jsonl", "-report.md", "-chart.svg"))
    rows = list(csv.DictReader(open(next(f for f in files if f.endswith(".csv")), encoding="utf-8")))
    assert len(rows) == 40 and {r["method"] for r in rows} == {"loglikelihood", "letter"}
    report = Path(next(f for f in files if f.endswith(".md"))).read_text(encoding="utf-8")
    assert "| model | method |" in report and set_id in report

    *_, results = client.predict(run_id, api_name="/get_results")
    assert results["run"]["status"] == "complete" and results["run"]["set_hash"] == set_id
    assert [s["model"] for s in results["summary"]] == [LLAMA, "openai:fake-echo"]
    assert len(results["results"]) == 40 and results["results"][0]["item_id"] == "mc-01"

    details, item = client.predict(run_id, "mc-02", api_name="/item_details")
    assert item == "mc-02" and "What does CPU stand for?" in details
    assert "&lt;|begin_of_text|&gt;" in details  # the prompt through the local model's chat template
    assert "Choices scored by log-likelihood" in details and "echo:" in details

    comparison, filtered = client.predict(run_id, LLAMA, "openai:fake-echo", True, api_name="/compare_models")
    assert "McNemar exact test" in comparison and "item(s) where they disagree" in comparison
    assert len(filtered["data"]) == comparison.count("<tr>") - 1 < 20 or "No items" in comparison


def test_flips_between_two_runs_over_the_api(client, fake_server):
    fake_server.respond("tab-flip", lambda m: "Canberra" if "Australia" in m[-1]["content"] else "no idea")
    set_id = load(client, example="short-qa")[-1]
    first = run(client, set_id, ["openai:tab-flip"])[4]
    fake_server.respond("tab-flip", lambda m: "8 legs" if "spider" in m[-1]["content"] else "no idea")
    second = run(client, set_id, ["openai:tab-flip"])[4]
    flips = client.predict(second, first, api_name="/compare_runs")
    assert "<b>2</b> item(s) flipped" in flips and "qa-01" in flips and "qa-02" in flips
    assert "broke" in flips and "fixed" in flips


def test_answers_cut_off_by_the_server_show_as_errors_to_redo(client, fake_server):
    fake_server.respond("tab-cut", lambda m: "Canberra")
    fake_server.fault("tab-cut", "drop", after=2)  # the server drops every stream after two answers
    set_id = load(client, example="short-qa")[-1]
    try:
        status, progress, matrix, summary, run_id, *_ = run(client, set_id, ["openai:tab-cut"])
    finally:
        fake_server.fault("tab-cut", None)
    total = len(matrix["data"])
    assert "data-state='warning'" in status and f"incomplete: 2/{total} results" in status
    assert f"{total - 2} answer(s) were cut off by the server" in status and "Resume asks for them again" in status
    assert f"2/{total} · failed" not in progress and f" · {total - 2} cut off" in progress
    assert sorted(row[1] for row in matrix["data"]).count("error") == total - 2
    *_, results = client.predict(run_id, api_name="/get_results")
    assert results["run"]["status"] == "incomplete"
    status = client.predict(run_id, api_name="/resume_evaluation")[0]
    assert "complete" in status and f"{total}/{total} results" in status


def test_upload_csv_with_a_mapping(client, tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text("Q,Ref,Notes\nHow many days in a week?,7,easy\nHow many legs has a cat?,4,easy\n",
                    encoding="utf-8")
    with pytest.raises(AppError, match="Map a column to 'question'.*Columns: Q, Ref, Notes"):
        load(client, "upload", file=handle_file(str(path)))  # Q and Ref are not guessed: the user maps them
    status, preview, *mapping, card, set_id = load(client, "upload", file=handle_file(str(path)),
                                                   mapping=("Q", "Ref", "", "", "", "", ""))
    assert "2 items loaded from upload: mine.csv" in status and mapping[:2] == ["Q", "Ref"]
    assert "2 free-form with a reference" in card


@pytest.mark.parametrize(("kw", "message"), [
    ({"source": "upload"}, "Upload a CSV or JSON Lines file first"),
    ({"source": "dataset"}, "Give a dataset"),
    ({"source": "dataset", "dataset": "https://example.com/x"}, "no URLs"),
    ({"mapping": ("nope", "", "", "", "", "", "")}, "The column 'nope' mapped to question is not in the data"),
    ({"mapping": ("question", "answer", "question", "", "", "", "")}, "not a list"),
    ({"example": "short-qa", "kind": "choice"}, "need a column mapped to 'choices'"),
])
def test_bad_test_sets_are_specific_errors(client, kw, message):
    with pytest.raises(AppError, match=message) as info:
        load(client, **kw)
    assert "Traceback" not in str(info.value)


@pytest.mark.parametrize(("args", "message"), [
    (("0" * 64, [LLAMA]), "Load a test set first"),
    ((None, []), "Load a test set first"),
    (("SET", []), "Pick at least one model"),
    (("SET", [f"openai:m{i}" for i in range(7)]), "Evaluate at most 6 models"),
    (("SET", [LLAMA, LLAMA]), "listed twice"),
])
def test_bad_runs_are_specific_errors(client, args, message):
    set_id = load(client, example="short-qa")[-1]
    target, models = args
    with pytest.raises(AppError, match=message):
        run(client, set_id if target == "SET" else target, models)


def test_judge_method_needs_a_judge(client):
    set_id = load(client, example="short-qa")[-1]
    with pytest.raises(AppError, match="needs a judge model"):
        run(client, set_id, ["openai:fake-echo"], method="judge")


def test_synthetic_rows_become_a_test_set(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))
    state = {"rows": [{"question": "Capital of Peru?", "answer": "Lima"}, {"question": "2+3?", "answer": "5"}],
             "fields": [{"name": "question", "type": "string"}, {"name": "answer", "type": "string"}],
             "description": "Quiz questions", "model": "openai:x"}
    payload = tab.synthetic_payload(state)
    assert payload == {"rows": state["rows"], "fields": ["question", "answer"], "name": "Synthetic: Quiz questions"}
    *_, last = list(tab.load_test_set("synthetic", synthetic=payload))
    assert len(last["set_id"]) == 64 and "2 free-form with a reference" in last["card"]
    with pytest.raises(gr.Error, match="no synthetic rows"):
        list(tab.load_test_set("synthetic", synthetic=tab.synthetic_payload(None)))


def test_tab_registers_its_link_targets():
    from tabs.common import Links

    links = Links()
    with gr.Blocks():
        tab.build(None, links)
    assert set(links.names()) == {"evaluate.rows", "evaluate.dataset", "evaluate.dataset_config",
                                  "evaluate.dataset_split", "evaluate.models"}
    assert links.get("evaluate.dataset")[0] == "evaluate"
    assert isinstance(links.get("evaluate.models")[1], gr.Dropdown)


def test_stop_note_counts_what_was_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))
    assert "before the first result" in tab.stop_note("")["status"]


def test_a_failing_model_leaves_a_resumable_run(client):
    set_id = load(client, example="short-qa")[-1]
    status, progress, *_, run_id, _files, _a, _b = run(client, set_id, ["openai:fake-500", "openai:fake-echo"])
    assert "data-state='warning'" in status and "incomplete: 20/40" in status and "Resume continues it" in status
    assert "data-status='failed'" in progress and "server" in progress.lower()
    status, *_ = client.predict(run_id, api_name="/resume_evaluation")
    assert "incomplete: 20/40" in status  # the broken model still fails; nothing is redone or guessed
    *_, results = client.predict(run_id, api_name="/get_results")
    assert results["run"]["done"] == 20 and results["run"]["status"] == "incomplete"


def test_pairwise_judging_over_the_api(client, fake_server):
    fake_server.respond("tab-good", lambda m: "a good answer")
    fake_server.respond("tab-meh", lambda m: "a meh answer")
    fake_server.respond("tab-judge", lambda m: "Winner: " + ("A" if "good" in m[-1]["content"].split(
        "Answer B:")[0].split("Answer A:")[1] else "B") + "\nRationale: the good one")
    set_id = load(client, example="short-qa")[-1]
    run_id = run(client, set_id, ["openai:tab-good", "openai:tab-meh"])[4]
    html = client.predict(run_id, "openai:tab-good", "openai:tab-meh", "openai:tab-judge", api_name="/judge_pairwise")
    assert "20/20 items judged in both orders" in html and "wins 20" in html
    assert "agreement between the two orders: 100%" in html
    with pytest.raises(AppError, match="Pick a judge model"):
        client.predict(run_id, "openai:tab-good", "openai:tab-meh", "", api_name="/judge_pairwise")


def test_get_results_writes_its_downloads_into_the_managed_exports_folder(client):
    """Over the API, as a client calls it (the served app's own data dir): each call's downloads go into one new
    folder of the aging exports folder, not into a new temp dir of their own (100 calls made 100 temp dirs)."""
    from tabs.common import exports_root

    run(client, load(client)[-1], ["openai:fake-echo"])
    root = exports_root()
    before = set(root.glob("eval-*"))
    for _ in range(2):
        out = client.predict("latest", api_name="/get_results")
        assert any(isinstance(v, str) and v.endswith(".csv") or isinstance(v, list) and v for v in out), out
    new = set(root.glob("eval-*")) - before
    assert len(new) == 2 and all(any(p.iterdir()) for p in new), new  # before the fix: 0 (a temp dir each)


def test_matrix_names_local_models_by_what_they_hold(tmp_path):
    # issue 27 item 7: every fine-tune was "adapter" and a sentence embedder "model" in the matrix
    import json

    from engines.evals.runner import ModelProgress
    from tabs.evaluate import view

    run = tmp_path / "finetune" / "20261205-183012-smollm2-ab12"
    (run / "adapter").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"base_display": "HuggingFaceTB/SmolLM2-135M-Instruct"}))
    (run / "adapter" / "adapter_config.json").write_text("{}")
    embedder = tmp_path / "minilm" / "model"
    embedder.mkdir(parents=True)
    (embedder / "config.json").write_text(json.dumps({"_name_or_path": "sentence-transformers/all-MiniLM-L6-v2"}))
    names = view.column_names([str(run / "adapter"), str(embedder), LLAMA])
    assert names == ["1. SmolLM2-135M-Instruct + …183012-smollm2-ab12", "2. all-MiniLM-L6-v2",
                     "3. Llama-3.1-8B-Instruct"]
    html = view.progress_html([ModelProgress(model=str(run / "adapter"), total=4)])
    assert "HuggingFaceTB/SmolLM2-135M-Instruct + 20261205-183012-smollm2-ab12 — local folder: …/" in html
    assert str(tmp_path) not in html
