"""The Evaluate tab's Contamination panel through its API (gradio_client) on a Blocks holding only the panel:
Min-K% with a reference set and 13-gram overlap on a tiny local model (verdicts, sortable table, CSV, a drill-down
with the overlap marked, reopening the report), an API model (Min-K% not run with the reason, guided completion
run), paraphrasing the items into a reference set, clear errors, the docstrings MCP reads, Stop keeping a report."""

from __future__ import annotations

import csv
import dataclasses
import inspect
import random
from pathlib import Path

import gradio as gr
import pytest
from app_helpers import SECRET_MARKER
from gradio_client.exceptions import AppError

from engines.config import Settings
from engines.evals.contamination import load
from engines.evals.store import RunStore
from engines.evals.testsets import RawTable, build_testset
from tabs.evaluate import contamination as panel
from tabs.server import WorkbenchBlocks, one_line_args, publish_api

API = ("contamination_run", "contamination_paraphrase", "contamination_report", "contamination_item")
WORDS = ("ancient wonder harbour entrance rhodes earthquake statue bronze island temple garden lighthouse pyramid "
         "tomb marble column river desert king queen").split()
QUESTIONS = [" ".join(random.Random(i).choices(WORDS, k=14)) + "?" for i in range(6)]  # no shared 13-gram
ROWS = [{"id": f"w{i}", "question": q, "answer": f"The Colossus {i}"} for i, q in enumerate(QUESTIONS, start=1)]


@pytest.fixture(scope="module")
def env(tmp_path_factory, fake_server):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_DATA_DIR", str(tmp_path_factory.mktemp("contam-data")))
        mp.setenv("OPENAI_BASE_URL", fake_server.base_url)
        mp.setenv("OPENAI_API_KEY", SECRET_MARKER)
        mp.delenv("WORKBENCH_ALLOW_LOCAL_MODELS", raising=False)
        testset = build_testset(RawTable("wonders", "test", ROWS, ["id", "question", "answer"]))
        yield {"set_id": RunStore.default().save_testset(testset), "server": fake_server}


@pytest.fixture(scope="module")
def client(env):
    from gradio_client import Client

    with WorkbenchBlocks(title="contamination test") as demo:
        with gr.Tab("Evaluate"):
            panel.build_panel(Settings.from_env())
    publish_api(demo)
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    yield Client(url, verbose=False)
    demo.close()


def run(client, set_id, model, methods, **kw):
    """/contamination_run → (status, summary, chart, table, report id, files)."""
    args = {"set_id": set_id, "model": model, "methods": methods, "k": 0.2, "part": "full", "reference_text": "",
            "reference_files": None, "reference_set_id": "", "dataset": "", "split": "test", "fraction": 0.5,
            "max_new_tokens": 8, "samples": 2, "temperature": 0.8, "alpha": 0.05, "xi": 0.01, "corpus_text": "",
            "corpus_files": None, "corpus_folder": "", "n": 13, **kw}
    return client.predict(*args.values(), api_name="/contamination_run")


def test_local_model_min_k_with_reference_and_ngrams(client, env, tiny):
    reference = "\n".join(f"A sentence about trains and rivers, number {i}.\\nNot a wonder" for i in range(6))
    status, summary, chart, table, report_id, files = run(
        client, env["set_id"], str(tiny["lm-llama"]), ["min_k", "ngrams"], reference_text=reference,
        corpus_text=f"Some crawled page. {QUESTIONS[2]} The Colossus 3. More text.")
    assert "data-state='done'" in status and report_id in status and "complete" in status
    assert summary.count("class='contam-card'") == 2 and "signals, never proof" in summary
    assert "data-verdict=" in summary and "AUROC test vs reference" in summary and "What it measures" in summary
    assert "<svg" in chart and "reference (unseen) (6)" in chart
    assert table["headers"] == ["item", "set", "Min-K%", "Min-K%++", "13-gram overlap", "dirty", "text"]
    assert len(table["data"]) == 12 and isinstance(table["data"][0][2], float)
    dirty = {row[0]: row[5] for row in table["data"] if row[1] == "test"}
    assert dirty["w3"] == "yes" and dirty["w1"] == "no"
    csv_file = next(f for f in files if f.endswith(".csv"))
    rows = list(csv.DictReader(open(csv_file, encoding="utf-8")))
    assert len(rows) == 12 and rows[0]["set"] == "test" and float(rows[0]["min_k"]) < 0
    details, item = client.predict(report_id, "w3", api_name="/contamination_item")
    assert item == "w3" and "<mark class='contam-span'" in details and "Least likely tokens" in details
    reopened = client.predict(report_id, api_name="/contamination_report")
    assert reopened[1] == summary and reopened[4] == report_id


def test_api_model_runs_guided_and_says_why_min_k_did_not(client, env, monkeypatch):
    monkeypatch.setattr(env["server"], "supports_completions", False)
    status, summary, _, table, _, _ = run(client, env["set_id"], "openai:fake-echo", ["min_k", "guided"],
                                          dataset="Wonders", reference_text="an unseen line")
    assert "data-state='done'" in status and "not run" in status
    assert "local copy of the model" in summary and "Mean ROUGE-L guided" in summary
    assert "guided ROUGE-L" in table["headers"] and "Min-K%" not in table["headers"]


def test_paraphrase_fills_the_reference_set(client, env):
    env["server"].respond("contam-rewriter", lambda m: "Reworded item")
    status, text = client.predict(env["set_id"], "openai:contam-rewriter", "question",
                                  api_name="/contamination_paraphrase")
    assert "6 paraphrases written" in status and text.splitlines() == ["Reworded item"] * 6


def test_clear_errors(client, env, tiny):
    with pytest.raises(AppError, match="Give the test set's id"):
        run(client, "", str(tiny["lm-llama"]), ["min_k"])
    with pytest.raises(AppError, match="needs a corpus"):
        run(client, env["set_id"], "", ["ngrams"])
    with pytest.raises(AppError, match="dataset's name"):
        run(client, env["set_id"], "openai:fake-echo", ["guided"])
    with pytest.raises(AppError, match="not a contamination report id"):
        client.predict("../../etc/passwd", api_name="/contamination_report")
    # the switch is the app's settings, read once (the served panel allows folders): a deployment without them
    closed = dataclasses.replace(Settings.from_env(), allow_local_models=False)
    with pytest.raises(gr.Error, match="folder on the server is off"):
        list(panel.contamination_run(env["set_id"], "", ["ngrams"], corpus_folder="/tmp", settings=closed))


def test_api_names_and_docstrings(client):
    info = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    for name in API:
        assert f"/{name}" in info
    params = {p["parameter_name"]: p for p in info["/contamination_run"]["parameters"]}
    assert params["set_id"]["parameter_has_default"] is False
    assert all(params[p]["parameter_has_default"] for p in params if p != "set_id")
    for fn in (panel.contamination_run, panel.contamination_paraphrase, panel.contamination_report,
               panel.contamination_item):
        doc = one_line_args(fn.__doc__)
        args = doc.split("Args:\n", 1)[1].split("\n\n", 1)[0].splitlines()
        shown = [p for p in inspect.signature(fn).parameters if p != "settings"]  # bound by the app: no API param
        assert [a.split(':')[0].strip() for a in args] == shown


def test_stop_keeps_the_report(env, tiny):
    updates = panel.contamination_run(env["set_id"], str(tiny["lm-llama"]), ["sampling"], max_new_tokens=4,
                                      samples=2)
    first = next(updates)
    updates.close()  # what Gradio's cancel does to the handler
    assert load(first["report_id"]).status == "stopped"


def test_malformed_values_get_clear_errors(env):
    """In-process (the input policy covers text, sliders and dropdowns in the app; the handler checks the rest)."""
    set_id = env["set_id"]
    cases = [({"methods": True}, "methods must be a list"), ({"methods": [1, 2]}, "methods must be a list"),
             ({"methods": "telepathy"}, "Unknown check"), ({"model": ["a"]}, "model must be text"),
             ({"dataset": {"a": 1}, "methods": ["guided"]}, "dataset must be text"),
             ({"reference_text": [1]}, "reference_text must be text"),
             ({"corpus_files": 5}, "Expected uploaded files"),
             ({"k": "abc"}, "k must be a number"), ({"samples": [1], "methods": ["sampling"]}, "must be a number")]
    for kwargs, message in cases:
        args = {"model": "openai:fake-echo", **kwargs}
        with pytest.raises(gr.Error, match=message):
            list(panel.contamination_run(set_id, **args))
    with pytest.raises(gr.Error, match="model must be text"):
        list(panel.contamination_paraphrase(set_id, ["a"]))


def test_downloads_go_into_the_managed_exports_folder():
    from engines.evals.contamination.report import Report
    from tabs.common import exports_root
    from tabs.evaluate.contamination import _downloads

    files = _downloads(Report(id="r1", model="m", set_name="s", set_hash="h", set_size=0, options={}))
    assert len(files) == 2 and all(Path(f).resolve().parent.parent == exports_root().resolve() for f in files)
