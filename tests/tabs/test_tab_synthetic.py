"""The Synthetic data tab: through its API on the served app (fake OpenAI server), and in-process for the Hub push."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import gradio as gr
import pytest
from gradio_client.exceptions import AppError
from synthetic_samples import FakeHub, jsonl, row

from tabs.synthetic import handlers as tab

COLUMNS = tab.FIELD_COLUMNS
FIELDS = [["name", "string", "", "", "", "full name"], ["age", "int", "", "18", "90", ""],
          ["plan", "enum", "free | pro | team", "", "", ""], ["active", "bool", "", "", "", ""],
          ["signup", "date", "", "2020-01-01", "2024-12-31", ""], ["score", "float", "", "0", "1", ""]]


def table(rows: list[list]) -> dict:
    return {"headers": COLUMNS, "data": rows, "metadata": None}


def generate(client, model: str, n: int, fields=FIELDS, **kw):
    args = {"temperature": 0.7, "diversity": True, "batch_size": 5, "max_attempts": 3, "seed": 1, **kw}
    return client.predict("Customers of a SaaS", table(fields), n, model, args["temperature"], args["diversity"],
                          args["batch_size"], args["max_attempts"], args["seed"], api_name="/generate_rows")


def test_generate_rows_table_files_summary(client, fake_server):
    fake_server.script("synth-tab", jsonl(*(row(i) for i in range(4))) + "{broken\n" + jsonl(row(1)),
                       jsonl(*(row(i) for i in range(4, 9))))
    status, out, files, summary, details, raw, code, notebook = generate(client, "openai:synth-tab", 7)
    assert notebook.endswith(".ipynb")
    assert "data-state='done'" in status
    assert out["headers"] == ["name", "age", "plan", "active", "signup", "score"]
    assert [r[0] for r in out["data"]] == [f"Person {i}" for i in range(7)]
    assert "complete" in status and "7 rows" in status
    assert "<b>1</b> invalid" in summary and "<b>1</b> duplicate(s)" in summary and "histogram" in summary
    assert "plan" in summary
    assert "OpenAI-compatible server" in details and "not valid JSON" in details
    assert "Person 6" in raw and "OpenAI(" in code  # the stream is closed once the 7th row arrived
    paths = sorted((Path(f) for f in files), key=lambda p: p.suffix)
    assert [p.suffix for p in paths] == [".csv", ".jsonl"]
    back = list(csv.DictReader(paths[0].open(encoding="utf-8")))
    assert [r["name"] for r in back] == [f"Person {i}" for i in range(7)] and back[0]["active"] == "true"
    assert [json.loads(line) for line in paths[1].read_text().splitlines()] == [row(i) for i in range(7)]


@pytest.mark.parametrize(("fields", "n", "message"), [
    ([["", "", "", "", "", ""]], 5, "at least one field"),
    ([["a", "int", "", "", "", ""], ["a", "string", "", "", "", ""]], 5, "Duplicate field name 'a'"),
    ([["plan", "enum", "", "", "", ""]], 5, "Enum field 'plan' has no values"),
    ([["age", "int", "", "90", "18", ""]], 5, "min \\(90\\) is greater than max \\(18\\)"),
    (FIELDS, 0, "between 1 and 1,000"),
    (FIELDS, 1001, "between 1 and 1,000"),
])
def test_bad_input_is_specific(client, fields, n, message):
    with pytest.raises(AppError, match=message) as info:
        generate(client, "openai:never-called", n, fields)
    assert "Traceback" not in str(info.value)


def test_garbage_model_stops_after_retry_budget_with_raw_sample(client):
    with pytest.raises(AppError, match="no valid row in 2 batch") as info:
        generate(client, "openai:fake-garbage", 3, max_attempts=2)
    assert "not json at all" in str(info.value)


def test_fields_from_table_accepts_dataframes_and_skips_blank_rows():
    import pandas as pd

    df = pd.DataFrame(FIELDS + [["", "", "", "", "", ""]], columns=COLUMNS)
    fields = tab.fields_from_table(df)
    assert len(fields) == 6 and fields[2]["values"] == ["free", "pro", "team"] and fields[1]["min"] == "18"
    assert tab.fields_from_table(table(FIELDS)) == fields


def _push_box_visible() -> bool:
    with gr.Blocks() as demo:
        tab.build()
    box = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "syn-push-box")
    return box.visible is True


def test_push_box_hidden_without_hf_token(monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert not _push_box_visible()
    monkeypatch.setenv("HF_TOKEN", "hf_secretsecret123")
    assert _push_box_visible()


def test_generate_then_push_in_process(remote_env, monkeypatch):
    remote_env.script("synth-push", jsonl(*(row(i) for i in range(3))))
    state: dict = {}  # the session's holder, as the tab keeps it
    list(tab.generate_rows("Customers of a SaaS", table(FIELDS), 3, "openai:synth-push", 0.5, True, 5, 3, None,
                           state))
    assert len(state["rows"]) == 3 and state["stats"].stop_reason == "complete"
    hub = FakeHub(monkeypatch)
    message = tab.push_dataset("me/customers", False, state)["pushed"]
    assert "https://huggingface.co/datasets/me/customers" in message
    assert hub.repos[0][1]["private"] is False
    files = hub.commits[0][1]
    assert [json.loads(x) for x in files["data/train.jsonl"].decode().splitlines()] == state["rows"]
    card = files["README.md"].decode()
    assert "openai:synth-push" in card and "| signup | date | 2020-01-01 .. 2024-12-31 |" in card
    assert "Customers of a SaaS" in card and "variation seed" in card
    with pytest.raises(gr.Error, match="generate a dataset first"):
        tab.push_dataset("me/customers", True, None)


def test_stop_keeps_the_rows_shown_so_far():
    import pandas as pd

    shown = pd.DataFrame([row(1), row(2, age="33"), {**row(3), "plan": "gold"}])
    state: dict = {}
    kept = tab.keep_partial("People", table(FIELDS), shown, "openai:x", state)
    assert "data-state='stopped'" in kept["status"] and "2 rows" in kept["status"]
    assert state["rows"] == [row(1), row(2, age=33)] and state["stats"].stop_reason == "stopped"
    assert sorted(Path(f).suffix for f in kept["files"]) == [".csv", ".jsonl"] and "histogram" in kept["summary"]
    assert tab.keep_partial("People", table(FIELDS), pd.DataFrame(), "openai:x")["files"] is None


def test_rows_table_headers_are_the_field_names_also_after_a_failed_run():
    """The rows table was built with headers "n t v m m d" (the first letter of each column of the fields editor, a
    DataFrame iterated as if it were rows); a failed run empties the table, which then showed those letters."""
    with gr.Blocks():
        tab.build()
        rows = next(b for b in gr.context.Context.root_block.blocks.values()
                    if getattr(b, "elem_id", None) == "syn-rows")
    names = [r[0] for r in tab.EXAMPLES[tab.DEFAULT_EXAMPLE][1]]
    assert rows.postprocess(None).headers == names  # what a failed run (the table emptied at its start) shows
    assert "name" in names and "n" not in names
