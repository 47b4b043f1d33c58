"""engines.synthetic.stream: runs against the fake OpenAI server with scripted batches (one unique model name per
test) — validation, refills, dedupe, the retry budget, stopping, diversity — and one tiny local model."""

from __future__ import annotations

import pytest
from synthetic_samples import FIELDS, jsonl, requests_for, row, run

from engines import errors
from engines import synthetic as syn


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


def test_tiny_local_model_garbage_fails_cleanly(models_dir, monkeypatch, fresh_cache):
    monkeypatch.setenv("WORKBENCH_MODELS_DIR", str(models_dir))
    stats = syn.RunStats()
    with pytest.raises(syn.NoValidRows) as info:
        list(syn.stream_rows("People", fields=["name", "age:int"], n_rows=2, model="Qwen/Qwen2.5-0.5B-Instruct",
                             max_attempts=2, batch_size=2, max_new_tokens=12, stats=stats))
    assert stats.batches == 2 and stats.backend == "transformers" and stats.device == "cpu"
    assert stats.tokens > 0 and isinstance(info.value.raw_sample, str)
    assert "Traceback" not in str(info.value)
