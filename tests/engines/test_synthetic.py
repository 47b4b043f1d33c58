"""engines.synthetic: field checks, parsing, validation/coercion, dedupe, retry budget, exports, the Hub push.

Remote runs use the fake OpenAI server with scripted batches (one unique model name per test); one test runs a tiny
local model through transformers.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from synthetic_samples import FakeHub, jsonl, row

from engines import errors
from engines import synthetic as syn

FIELDS = ["name # full name", "age:int(18..90)", "plan:enum(free|pro|team)", "active:bool",
          "signup:date(2020-01-01..2024-12-31)", "score:float(0..1)"]


def run(model: str, n: int, **kw) -> tuple[list[dict], syn.RunStats]:
    stats = syn.RunStats()
    kw.setdefault("batch_size", n)
    rows = list(syn.stream_rows("Customers of a SaaS", fields=FIELDS, n_rows=n, model=f"openai:{model}",
                                stats=stats, **kw))
    return rows, stats


def requests_for(server, model: str) -> list[dict]:
    return [r["body"] for r in server.requests if isinstance(r.get("body"), dict) and r["body"].get("model") == model]


# ---------------------------------------------------------------------------------------------- fields


@pytest.mark.parametrize(("fields", "message"), [
    ([], "at least one field"),
    (["a", "A"], "Duplicate field name"),
    (["x", "x:int"], "Duplicate field name"),
    (["plan:enum"], "has no values"),
    ([{"name": "plan", "type": "enum", "values": []}], "has no values"),
    (["age:int(90..18)"], "min \\(90\\) is greater than max \\(18\\)"),
    (["d:date(2024-12-31..2020-01-01)"], "is greater than max"),
    (["x:colour"], "use one of string, int"),
    (["s:string(1..3)"], "applies only to int, float and date"),
    (["n:int(a..b)"], "'a' is not a number"),
    ([{"name": "", "type": "int"}], "needs a name"),
    ([{"name": "x", "kind": "int"}], "Unknown field key"),
])
def test_bad_fields_are_specific(fields, message):
    with pytest.raises(errors.InvalidInput, match=message):
        syn.validate_fields(fields)


def test_field_specs_parse_and_normalize():
    fields = syn.validate_fields(FIELDS + [syn.Field("count", "Integer", min="1", max=10.0),
                                           {"name": "ok", "type": "boolean"}])
    by = {f.name: f for f in fields}
    assert by["name"].type == "string" and by["name"].description == "full name"
    assert (by["age"].type, by["age"].min, by["age"].max) == ("int", 18, 90)
    assert by["plan"].values == ["free", "pro", "team"]
    assert (by["signup"].min, by["signup"].max) == ("2020-01-01", "2024-12-31")
    assert (by["count"].type, by["count"].min, by["count"].max) == ("int", 1, 10)
    assert by["ok"].type == "bool"


@pytest.mark.parametrize(("kw", "message"), [
    ({"n_rows": 0}, "between 1 and 1,000"),
    ({"n_rows": 1001}, "between 1 and 1,000"),
    ({"description": "  "}, "Describe the dataset"),
    ({"fields": []}, "at least one field"),
    ({"max_attempts": 0}, "retry budget"),
    ({"batch_size": 51}, "batch size"),
    ({"temperature": 3}, "temperature"),
    ({"model": "https://example.com/model"}, "URL"),
])
def test_bad_run_inputs_fail_before_any_call(kw, message):
    args = {"description": "People", "fields": ["name"], "n_rows": 3, "model": "openai:never-called", **kw}
    description = args.pop("description")
    with pytest.raises(errors.WorkbenchError, match=message):
        syn.stream_rows(description, **args)  # raises at call time: no iteration needed


def test_max_rows_is_configurable(monkeypatch):
    monkeypatch.setenv("WORKBENCH_SYNTHETIC_MAX_ROWS", "10")
    assert syn.max_rows() == 10
    with pytest.raises(errors.InvalidInput, match="between 1 and 10 "):
        syn.stream_rows("People", fields=["name"], n_rows=11, model="openai:x")


# ------------------------------------------------------------------------------- parsing and validation


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


def test_coercion_where_safe_and_rejection_reasons():
    fields = syn.validate_fields(FIELDS)
    good, coerced = syn.validate_row({"Name": " Ann ", "AGE": "42", "plan": "PRO", "active": "yes",
                                      "signup": "2021/03/04", "score": 1, "extra": "dropped"}, fields)
    assert good == {"name": "Ann", "age": 42, "plan": "pro", "active": True, "signup": "2021-03-04", "score": 1.0}
    assert coerced and type(good["age"]) is int and type(good["score"]) is float
    assert list(good) == [f.name for f in fields]
    for bad, reason in [({"age": 17}, "age: below the minimum"), ({"age": 4.5}, "age: not an integer"),
                        ({"age": True}, "age: not a number"), ({"plan": "gold"}, "plan: not one of"),
                        ({"active": "maybe"}, "active: not true/false"),
                        ({"signup": "01/02/2021"}, "signup: not a date"),
                        ({"signup": "2019-12-31"}, "signup: below"), ({"score": "nan"}, "score: not a number"),
                        ({"name": ""}, "name: empty"), ({"name": None}, "name: null")]:
        with pytest.raises(ValueError, match=reason):
            syn.validate_row(row(1, **bad), fields)
    with pytest.raises(ValueError, match="plan: missing"):
        syn.validate_row({k: v for k, v in row(1).items() if k != "plan"}, fields)


# ------------------------------------------------------------------------------------- runs (fake server)


def test_good_batch_streams_rows(remote_env):
    remote_env.script("synth-good", jsonl(*(row(i) for i in range(5))))
    rows, stats = run("synth-good", 5)
    assert rows == [row(i) for i in range(5)]
    assert (stats.rows, stats.invalid, stats.duplicates, stats.batches, stats.stop_reason) == (5, 0, 0, 1, "complete")
    assert stats.backend == "OpenAI-compatible server" and stats.tokens > 0 and "Done" in stats.message


def test_partly_invalid_batches_are_validated_coerced_and_refilled(remote_env):
    first = ("```json\n" + jsonl(row(1), row(2, age="42", active="no", signup="2022/05/06"), row(3, plan="TEAM"))
             + jsonl(row(4, age=200), row(5, plan="gold"), {"name": "no other fields"})
             + "{\"name\": \"broken\", \"age\": \n```\nThat's all!")
    remote_env.script("synth-partly", first, jsonl(row(6), row(7), row(8)))
    rows, stats = run("synth-partly", 5)
    assert len(rows) == 5 and stats.rows == 5 and stats.stop_reason == "complete"
    assert rows[1]["age"] == 42 and rows[1]["active"] is False and rows[1]["signup"] == "2022-05-06"
    assert rows[2]["plan"] == "team" and stats.coerced == 2
    assert stats.invalid == 4 and stats.batches == 2
    assert stats.invalid_reasons == {"age: above the maximum": 1, "plan: not one of the allowed values": 1,
                                     "age: missing": 1, "not valid JSON": 1}
    for r in rows:
        syn.validate_row(r, syn.validate_fields(FIELDS))  # every yielded row is valid as is


def test_exact_duplicates_dropped(remote_env):
    remote_env.script("synth-dupes", jsonl(row(1), row(2), row(1)), jsonl(row(2), row(1), row(3), row(4)))
    rows, stats = run("synth-dupes", 4, batch_size=3)
    assert rows == [row(1), row(2), row(3), row(4)]
    assert stats.duplicates == 3 and stats.invalid == 0


def test_retry_budget_stops_with_partial_rows(remote_env):
    remote_env.script("synth-budget", jsonl(row(1), row(2)), jsonl(row(1), row(2)), "no rows, sorry")
    rows, stats = run("synth-budget", 6, batch_size=3, max_attempts=3)
    assert rows == [row(1), row(2)]
    assert stats.stop_reason == "retry budget" and stats.batches == 4 and stats.failed_in_a_row == 3
    assert "retry budget" in stats.message and "2 of 6 rows" in stats.message
    assert stats.raw_samples and "no rows" in stats.raw_samples[-1]


def test_garbage_only_fails_cleanly_with_raw_sample(remote_env):
    with pytest.raises(syn.NoValidRows, match="no valid row in 2 batch") as info:
        run("fake-garbage", 3, max_attempts=2)
    assert "not json at all" in info.value.raw_sample and "not json at all" in str(info.value)
    assert info.value.stats.batches == 2 and info.value.stats.stop_reason == "retry budget"
    assert len(requests_for(remote_env, "fake-garbage")) >= 2


def test_remote_error_before_any_row_is_raised(remote_env):
    with pytest.raises(errors.RemoteError):
        run("fake-500", 2)


def test_closing_the_stream_stops_the_run(remote_env):
    remote_env.script("synth-stop", jsonl(*(row(i) for i in range(8))))
    stats = syn.RunStats()
    it = syn.stream_rows("People", fields=FIELDS, n_rows=8, model="openai:synth-stop", stats=stats)
    assert next(it) == row(0) and next(it) == row(1)
    it.close()
    assert stats.stop_reason == "stopped" and stats.rows == 2 and stats.batches == 1


def test_diversity_varies_prompts_and_temperature(remote_env):
    remote_env.script("synth-diverse", *(jsonl(row(2 * i), row(2 * i + 1)) for i in range(4)))
    rows, stats = run("synth-diverse", 8, batch_size=2, temperature=0.8, seed=7)
    assert len(rows) == 8
    bodies = requests_for(remote_env, "synth-diverse")[-4:]
    prompts = [b["messages"][1]["content"] for b in bodies]
    assert len(set(prompts)) == 4 and all("variation seed" in p for p in prompts)
    assert "Already used" not in prompts[0] and "Already used for name (do not repeat): Person " in prompts[-1]
    assert len({b["temperature"] for b in bodies}) > 1 and all(0.6 <= b["temperature"] <= 1.0 for b in bodies)
    assert all(b["messages"][0]["role"] == "system" for b in bodies)

    remote_env.script("synth-plain", *(jsonl(row(2 * i), row(2 * i + 1)) for i in range(3)))
    run("synth-plain", 6, batch_size=2, temperature=0.5, diversity=False)
    plain = requests_for(remote_env, "synth-plain")[-3:]
    assert plain[1]["messages"] == plain[2]["messages"] and {b["temperature"] for b in plain} == {0.5}


# ------------------------------------------------------------------------------------------- local model


def test_tiny_local_model_garbage_fails_cleanly(models_dir, monkeypatch, fresh_cache):
    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(models_dir))
    stats = syn.RunStats()
    with pytest.raises(syn.NoValidRows) as info:
        list(syn.stream_rows("People", fields=["name", "age:int"], n_rows=2, model="Qwen/Qwen2.5-0.5B-Instruct",
                             max_attempts=2, batch_size=2, max_new_tokens=12, stats=stats))
    assert stats.batches == 2 and stats.backend == "transformers" and stats.device == "cpu"
    assert stats.tokens > 0 and isinstance(info.value.raw_sample, str)
    assert "Traceback" not in str(info.value)


# ----------------------------------------------------------------------------------- exports and summary


def test_csv_and_jsonl_are_well_formed():
    fields = syn.validate_fields(FIELDS)
    rows = [row(1, name='Ann "Annie" O\'Neil, Jr.'), row(2, name="multi\nline ünïcødé 🚀"), row(3)]
    back = list(csv.DictReader(io.StringIO(syn.to_csv(rows, fields))))
    assert [r["name"] for r in back] == [r["name"] for r in rows]
    assert list(back[0]) == [f.name for f in fields]
    assert [r["active"] for r in back] == ["false", "true", "false"] and back[0]["age"] == "21"
    text = syn.to_jsonl(rows)
    assert text.endswith("\n") and [json.loads(line) for line in text.splitlines()] == rows


def test_summary_histograms_and_counts():
    fields = syn.validate_fields(FIELDS)
    rows = [row(i) for i in range(30)]
    by = {s.name: s for s in syn.summarize(rows, fields)}
    assert by["age"].kind == "histogram" and sum(n for _, n in by["age"].buckets) == 30
    assert by["age"].facts["min"] == 20 and by["age"].facts["max"] == 49
    assert by["plan"].kind == "counts" and by["plan"].buckets == [("free", 10), ("pro", 10), ("team", 10)]
    assert by["active"].buckets == [("true", 15), ("false", 15)]
    assert by["signup"].kind == "histogram" and sum(n for _, n in by["signup"].buckets) == 30
    assert by["name"].kind == "top" and by["name"].facts["distinct"] == 30
    assert syn.summarize([], fields)[1].buckets == []


def test_code_snippet_is_valid_python(remote_env):
    remote_env.script("synth-code", jsonl(row(1)))
    _, stats = run("synth-code", 1)
    snippet = syn.code_snippet(stats)
    compile(snippet, "snippet", "exec")
    assert "OpenAI(" in snippet and "'synth-code'" in snippet and "test-key" not in snippet
    stats.model = "Qwen/Qwen2.5-0.5B-Instruct"
    local = syn.code_snippet(stats)
    compile(local, "snippet", "exec")
    assert "AutoModelForCausalLM" in local


# -------------------------------------------------------------------------------------------------- Hub


def test_push_to_hub_uploads_card_and_rows(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secretsecret123")
    hub = FakeHub(monkeypatch)
    stats = syn.RunStats(rows=2, temperature=0.7, batches=1, stop_reason="complete",
                         first_messages=[{"role": "user", "content": "Write 2 rows about customers"}])
    rows = [row(1), row(2)]
    url = syn.push_to_hub(rows, FIELDS, repo_id="me/customers", description="Customers of a SaaS",
                          model="openai:gpt-4o-mini", stats=stats)
    assert url == "https://huggingface.co/datasets/me/customers"
    assert hub.repos == [("me/customers", {"repo_type": "dataset", "private": True, "exist_ok": True})]
    repo_id, files, kw = hub.commits[0]
    assert repo_id == "me/customers" and kw["repo_type"] == "dataset"
    assert set(files) == {"README.md", "data/train.jsonl"}
    assert [json.loads(x) for x in files["data/train.jsonl"].decode().splitlines()] == rows
    card = files["README.md"].decode()
    assert card.startswith("---\n") and "path: data/train.jsonl" in card and "- synthetic" in card
    assert "Customers of a SaaS" in card and "openai:gpt-4o-mini" in card
    assert "| plan | enum | free, pro, team |" in card and "| age | int | 18 .. 90 |" in card
    assert "Write 2 rows about customers" in card and 'load_dataset("me/customers"' in card
    assert "hf_secret" not in card


def test_push_to_hub_errors(monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    assert not syn.hub_push_available()
    with pytest.raises(errors.MissingApiKey, match="HF_TOKEN"):
        syn.push_to_hub([row(1)], FIELDS, repo_id="me/x", description="d", model="m")
    monkeypatch.setenv("HF_TOKEN", "hf_secretsecret123")
    assert syn.hub_push_available()
    with pytest.raises(errors.InvalidInput, match="not a valid dataset id"):
        syn.push_to_hub([row(1)], FIELDS, repo_id="https://hf.co/x", description="d", model="m")
    with pytest.raises(errors.InvalidInput, match="no rows"):
        syn.push_to_hub([], FIELDS, repo_id="me/x", description="d", model="m")

    from huggingface_hub import HfApi

    class Refused(Exception):
        response = type("R", (), {"status_code": 403})()

    def refuse(*a, **k):
        raise Refused("403 Forbidden: hf_secretsecret123")

    monkeypatch.setattr(HfApi, "create_repo", refuse)
    with pytest.raises(errors.RemoteError, match="403") as info:
        syn.push_to_hub([row(1)], FIELDS, repo_id="me/x", description="d", model="m")
    assert "hf_secret" not in str(info.value)

    def offline(*a, **k):
        raise ConnectionError("no route")

    monkeypatch.setattr(HfApi, "create_repo", offline)
    with pytest.raises(errors.HubUnreachable):
        syn.push_to_hub([row(1)], FIELDS, repo_id="me/x", description="d", model="m")
