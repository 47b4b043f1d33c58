"""The Compare tab through its API (gradio_client against the served app): side by side, facts, arena."""

from __future__ import annotations

import csv

import pytest
import tiny_compare  # noqa: F401  (arena votes of the session app go to a temp file)
from gradio_client.exceptions import AppError
from tiny_nonchat import EMBEDDER_NAME, nonchat  # noqa: F401  (fixture)

LLAMA = "meta-llama/Llama-3.1-8B-Instruct"  # tiny stand-ins through the models dir
QWEN = "Qwen/Qwen2-7B-Instruct"


def _parts(result):
    status, *rest = result  # per column: header, text, metrics (layout columns are not API outputs)
    headers, texts, metrics = rest[0:12:3], rest[1:12:3], rest[2:12:3]
    tps, ttft, table, csv_path, code, _notebooks = rest[12:]
    return status, headers, texts, metrics, tps, ttft, table, csv_path, code


def _csv_rows(csv_path) -> dict:
    with open(csv_path, newline="") as fh:
        return {r["model"]: r for r in csv.DictReader(fh)}


def test_compare_local_remote_and_failing_column(client):
    result = client.predict([LLAMA, "openai:fake-long", "openai:fake-500"], "Be brief.", "Hello", 16, 0.0, "auto",
                            True, api_name="/compare")
    status, headers, texts, metrics, tps, ttft, table, csv_path, code = _parts(result)
    assert "data-state='warning'" in status and "2 of 3 finished" in status and "1 failed" in status
    shown = {r[0]: dict(zip(table["headers"], r, strict=True)) for r in table["data"]}
    assert [r["status"] for r in shown.values()] == ["done", "done", "error"]
    assert shown["Llama 3.1 8B Instruct"]["ran as"] == "fp32 · CPU" and shown["Llama 3.1 8B Instruct"]["tokens"] > 0
    rows = _csv_rows(csv_path)  # every measured number is in the CSV
    local, remote = rows[LLAMA], rows["openai:fake-long"]
    assert local["device"] == "cpu" and local["quantization"] == "fp32" and float(local["tokens"]) > 0
    assert float(local["tokens_per_s"]) > 0 and float(local["ttft_s"]) > 0 and local["memory_gb"]
    assert float(remote["tokens"]) == 16 and texts[1].startswith("w0 w1")
    assert "500" in rows["openai:fake-500"]["error"] and "500" in metrics[2] and "Traceback" not in metrics[2]
    assert "Llama 3.1 8B Instruct" in headers[0] and headers[3] == "" and texts[3] == ""
    assert {d[0] for d in tps["data"]} == {"1. Llama 3.1 8B Instruct", "2. openai:fake-long"}
    assert len(ttft["data"]) == 2
    assert [r["status"] for r in rows.values()] == ["done", "done", "error"]
    assert "AutoModelForCausalLM.from_pretrained" in code and "OpenAI(" in code


def test_a_column_whose_stream_was_cut_off_failed_and_a_runaway_one_is_capped(client):
    # fake-drop ends its stream after 3 words, without finish_reason or [DONE]; fake-runaway ignores max_tokens
    result = client.predict(["openai:fake-drop", "openai:fake-long", "openai:fake-runaway"], "", "Hello", 8, 0.0,
                            "auto", True, api_name="/compare")
    status, headers, texts, metrics, tps, ttft, table, csv_path, code = _parts(result)
    assert "2 of 3 finished" in status and "1 failed" in status
    assert [r[1] for r in table["data"]] == ["error", "done", "done"]
    rows = _csv_rows(csv_path)
    assert rows["openai:fake-drop"]["status"] == "error"
    assert "closed the stream before the answer finished" in rows["openai:fake-drop"]["error"]
    assert "closed the stream before the answer finished" in metrics[0]
    assert len(texts[2]) <= 32 * 8 + 1024 and rows["openai:fake-runaway"]["finish_reason"] == "length"
    assert "past max new tokens (8)" in metrics[2] + headers[2]


def test_compare_says_failed_once_when_nothing_finished(client):
    result = client.predict(["openai:fake-500", "openai:fake-500"], "", "Hello", 8, 0.0, "auto", True,
                            api_name="/compare")
    status = result[0]
    assert "data-state='failed'" in status and "No model finished" in status and "Done" not in status
    assert status.count("500") == 1  # the shared reason, said once


def test_compare_streams_columns_interleaved(client, fake_server):
    # paced streams (0.1 s a word): both are part-way at once however busy the machine is
    fake_server.script("alpha", " ".join(f"a{i}" for i in range(30)), pace=0.1)
    fake_server.script("beta", " ".join(f"b{i}" for i in range(30)), pace=0.1)
    job = client.submit(["openai:alpha", "openai:beta"], "", "Hi", 64, 0.0, "auto", True, api_name="/compare")
    final = _parts(job.result())[2]
    updates = [t for t in (_parts(u)[2] for u in job.outputs()) if all(isinstance(x, str) for x in t[:2])]
    assert final[0].endswith("a29") and final[1].endswith("b29") and len(updates) > 5
    both_partial = [t for t in updates if 0 < len(t[0]) < len(final[0]) and 0 < len(t[1]) < len(final[1])]
    assert both_partial, "no update had both columns part-way: they did not stream side by side"


def test_same_model_two_quantizations_falls_back_visibly_on_cpu(client):
    result = client.predict([f"{LLAMA}@4bit", f"{LLAMA}@fp32"], "", "Hi", 4, 0.0, "auto", True,
                            api_name="/compare")
    status, headers, _, metrics, _, _, table, _, _ = _parts(result)
    assert [r[1] for r in table["data"]] == ["done", "done"]
    assert [r[2] for r in table["data"]] == ["fp32 · CPU", "fp32 · CPU"]  # what ran, not what was asked
    assert "@ fp32 · CPU (asked 4bit)" in headers[0] and "needs a CUDA GPU" in metrics[0]
    assert "@ 4bit" not in status  # the fastest is named by what ran


def test_compare_refuses_models_that_cannot_chat(client, nonchat):  # noqa: F811
    # issue 27 item 2: an embedder and Whisper were "compared" (word salad, "Done 2 of 2", one crowned fastest)
    result = client.predict([LLAMA, str(nonchat["embedder"]), str(nonchat["whisper"])], "", "Hello", 8, 0.0,
                            "auto", True, api_name="/compare")
    status, headers, texts, metrics, tps, _, table, _, _ = _parts(result)
    assert [r[1] for r in table["data"]] == ["done", "error", "error"]
    assert "Not a chat model" in metrics[1] and "sentence embedder" in metrics[1] and texts[1] == ""
    assert "speech-recognition model" in metrics[2] and texts[2] == ""
    assert "1 of 3 finished" in status and "2 failed" in status and "Fastest" not in status
    assert {d[0] for d in tps["data"]} == {"1. Llama 3.1 8B Instruct"}
    # issue 27 item 7: named by what the folder holds (its config's _name_or_path), never "model" or a path
    assert EMBEDDER_NAME in headers[1] and "/root" not in headers[1] + metrics[1] + status


def _finished(index: int, tps: float, ttft: float, device: str = "cpu"):
    from engines import arena
    from engines.chat import GenerationStats

    stats = GenerationStats(load_s=0.0, ttft_s=ttft, tokens=64, tokens_per_s=tps, total_s=1.0, device=device,
                            quantization="fp32" if device != "remote" else "n/a")
    return arena.ColumnState(index=index, model=f"org/m{index}", label=f"org/m{index}", quantization="auto",
                             status="done", stats=stats)


def test_no_fastest_inside_the_noise_or_under_contention():
    # issue 27 item 4: "Fastest" was named on 2.11 vs 2.05 tokens/s, measured while the columns shared the CPU
    from tabs.compare import view

    close = [_finished(0, 2.11, 0.50), _finished(1, 2.05, 0.52)]
    concurrent = view.run_status(close, True, "CPU")
    assert "Fastest" not in concurrent and "same time" in concurrent and "one at a time" in concurrent
    alone = view.run_status(close, True, "CPU", sequential=True)
    assert "Fastest: no clear winner" in alone and "within 15 %" in alone and "<b>m0" not in alone
    clear = view.run_status([_finished(0, 3.0, 0.2), _finished(1, 2.0, 0.5)], True, "CPU", sequential=True)
    assert "Fastest: <b>org/m0 @ fp32 · CPU</b> (3.0 tokens/s vs 2.0 tokens/s for the next)" in clear
    assert "first token soonest: <b>org/m0 @ fp32 · CPU</b> (0.200 s vs 0.500 s for the next)." in clear
    remote = view.run_status([_finished(0, 30.0, 0.2, "remote"), _finished(1, 20.0, 0.5, "remote")], True, "CPU")
    assert "Fastest: <b>org/m0" in remote  # API columns don't share this machine
    assert "Fastest" not in view.run_status([_finished(0, 3.0, 0.2)], True, "CPU")  # one column: nothing to rank


def test_compare_says_columns_shared_the_machine_and_runs_one_at_a_time(client):
    status = _parts(client.predict([LLAMA, QWEN], "", "Hi", 6, 0.0, "auto", True, False, api_name="/compare"))[0]
    assert "at the same time" in status and "No fastest is named" in status
    status, *_, table, _, _ = _parts(client.predict([LLAMA, QWEN], "", "Hi", 6, 0.0, "auto", True, True,
                                                    api_name="/compare"))
    assert "one at a time" in status and [r[1] for r in table["data"]] == ["done", "done"]
    assert "No fastest is named" not in status


@pytest.mark.parametrize(("models", "prompt", "message"), [
    ([], "hi", "at least one model"),
    ([LLAMA], "   ", "prompt is empty"),
    ([LLAMA], "hi", "not in the list of choices"),
])
def test_compare_bad_input_is_specific(client, models, prompt, message):
    quant = "3bit" if "choices" in message else "auto"
    with pytest.raises(AppError, match=message) as info:
        client.predict(models, "", prompt, 8, 0.0, quant, True, api_name="/compare")
    assert "Traceback" not in str(info.value)


def test_facts_table_and_chinchilla(client):
    table, chart = client.predict([], "all", api_name="/model_facts")
    rows = {r[0]: dict(zip(table["headers"], r, strict=True)) for r in table["data"]}
    llama = rows[f"Llama 3.1 8B Instruct ({LLAMA})"]
    assert llama["source"].startswith("[card](https://huggingface.co/") and llama["license"] == "llama3.1"
    assert float(llama["tokens/param"]) == pytest.approx(1875.0)
    gpt = rows["GPT-4o mini (openai:gpt-4o-mini)"]
    assert gpt["weights"] == "closed" and "[pricing](" in gpt["source"] and float(gpt["$/1M out"]) == 0.6
    assert len(chart["data"]) >= 5
    chosen, _ = client.predict([LLAMA, "someorg/custom"], "chosen", api_name="/model_facts")
    assert chosen["data"][0][1] == "open" and "not in the catalog" in chosen["data"][1][1]
    with pytest.raises(AppError, match="No model is chosen"):
        client.predict([], "chosen", api_name="/model_facts")
    md = client.predict(70, 1.4, 0, api_name="/chinchilla")
    assert "5.88e+23" in md and "20.0" in md and "about compute-optimal" in md
    with pytest.raises(AppError, match="at least one positive"):
        client.predict(0, 0, 0, api_name="/chinchilla")


def test_arena_battle_vote_reveal_and_leaderboard(app_url):
    from gradio_client import Client

    c = Client(app_url, verbose=False)
    with pytest.raises(AppError, match="no match"):
        c.predict("a", "", api_name="/arena_vote")
    out = c.predict([LLAMA, QWEN], "Hello", 8, api_name="/arena_battle")
    status, a, b, reveal, match_id = out
    assert a and b and "Vote to reveal" in status and not reveal and len(match_id) == 32
    assert not any(name in str(out) for name in (LLAMA, QWEN, "Llama", "Qwen"))  # hidden until the vote
    other = Client(app_url, verbose=False)  # another session (an MCP tool call has none): the id is enough
    reveal, board, caption = other.predict("b", match_id, api_name="/arena_vote")
    assert "Vote #" in reveal and LLAMA in reveal and QWEN in reveal
    models = {r[1]: r for r in board["data"]}
    assert {LLAMA, QWEN} <= set(models) and all(r[4] >= 1 for r in models.values())
    assert "vote(s) stored" in caption
    with pytest.raises(AppError, match="already has your vote"):
        c.predict("a", match_id, api_name="/arena_vote")
    with pytest.raises(AppError, match="no match"):
        c.predict("a", "0" * 32, api_name="/arena_vote")
    board2, _ = c.predict(api_name="/arena_leaderboard")
    assert sum(r[4] for r in board2["data"]) >= 2


def test_arena_vote_takes_explicit_inputs_over_raw_http(app_url):
    """Every API client, MCP included, calls arena_vote with (choice, match_id): no session state, no button."""
    import httpx
    from gradio_client import Client

    api = Client(app_url, verbose=False).view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert [p["parameter_name"] for p in api["/arena_vote"]["parameters"]] == ["choice", "match_id"]
    r = httpx.post(f"{app_url}gradio_api/call/arena_vote", json={"data": ["tie", "f" * 32]}, timeout=60)
    with httpx.stream("GET", f"{app_url}gradio_api/call/arena_vote/{r.json()['event_id']}", timeout=120) as s:
        text = "".join(s.iter_lines())
    assert "event: error" in text and "no match to vote on" in text  # a clear answer, not "takes 1 input(s)"


def test_the_results_csv_neutralizes_formula_cells():
    from tabs.compare import handlers as compare_tab

    path = compare_tab._csv([{"model": "m", "answer": '=HYPERLINK("http://evil.example")', "tokens": -3},
                             {"model": "@m", "answer": "-1", "tokens": 2}])
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["answer"] == '\'=HYPERLINK("http://evil.example")' and rows[1]["model"] == "'@m"
    assert rows[0]["tokens"] == "-3" and rows[1]["answer"] == "-1"


@pytest.mark.slow
def test_facts_of_local_folders_come_from_their_files(tiny, nonchat, tmp_path):  # noqa: F811
    # issue 27 item 10: the facts table was blank for local folders ("not in the catalog: facts unknown")
    import json
    import shutil

    from tabs.compare import handlers as compare

    config_only = tmp_path / "SmolLM2-135M"
    config_only.mkdir()
    shutil.copy(tiny["lm-llama"] / "config.json", config_only / "config.json")
    (config_only / "README.md").write_text("---\nlicense: apache-2.0\n---\n# card\n")
    table = compare.model_facts([str(tiny["lm-llama"]), str(nonchat["embedder"]), str(config_only)], "chosen")["table"]
    rows = {r["model"]: r for r in table.to_dict("records")}
    llama = rows["lm-llama"]
    params = sum(p.numel() for p in __import__("transformers").AutoModelForCausalLM.from_pretrained(
        tiny["lm-llama"]).parameters())
    assert llama["params (B)"] == float(f"{params / 1e9:.4g}") and llama["context"] == 256
    assert llama["architecture"] == "LlamaForCausalLM" and llama["dtype"] == "float32"
    assert "exact count" in llama["source"] and llama["memory bf16 (GB)"] is not None
    embedder = rows["sentence-transformers/all-MiniLM-L6-v2"]
    assert embedder["architecture"] == "BertModel" and embedder["context"] == 128
    estimated = rows["SmolLM2-135M"]
    assert estimated["params (B)"] > 0 and "estimated" in estimated["source"] and estimated["license"] == "apache-2.0"
    assert json.loads((tiny["lm-llama"] / "config.json").read_text())["max_position_embeddings"] == 256
    assert not any(str(tmp_path) in str(v) or "/root" in str(v) for r in rows.values() for v in r.values())


def _asked(messages: list) -> int:
    return sum(m["role"] == "user" for m in messages)


def test_arena_followup_then_a_vote_that_records_the_turns(client, fake_server):
    fake_server.respond("duel-x", lambda m: f"x was asked {_asked(m)} question(s), last: {m[-1]['content']}")
    fake_server.respond("duel-y", lambda m: f"y was asked {_asked(m)} question(s), last: {m[-1]['content']}")
    status, a, b, reveal, match_id = client.predict(["openai:duel-x", "openai:duel-y"], "Q1", 32,
                                                    api_name="/arena_battle")
    assert {a[0], b[0]} == {"x", "y"} and "question(s), last: Q1" in a and "follow-up" in status
    status, a2, b2, conv_a, conv_b = client.predict("Q2", match_id, api_name="/arena_followup")
    assert "Turn 2" in status and "duel" not in status  # the names stay hidden
    assert (a2, b2) == (f"{a[0]} was asked 2 question(s), last: Q2", f"{b[0]} was asked 2 question(s), last: Q2")
    assert [m["role"] for m in conv_a] == ["user", "assistant", "user", "assistant"] and len(conv_b) == 4
    reveal, _board, _caption = client.predict("a", match_id, api_name="/arena_vote")
    assert "saved" in reveal and "after 2 turns" in reveal and "duel-x" in reveal
    with pytest.raises(AppError, match="already has its vote"):
        client.predict("Q3", match_id, api_name="/arena_followup")
    with pytest.raises(AppError, match="no match to continue"):
        client.predict("Q3", "0" * 32, api_name="/arena_followup")


def test_compare_followup_over_the_api_continues_each_models_conversation(client, fake_server):
    fake_server.respond("turn-l", lambda m: f"L{_asked(m)}")
    fake_server.respond("turn-r", lambda m: f"R{_asked(m)}")
    models = ["openai:turn-l", "openai:turn-r"]
    first = client.predict(models, "Hi", [], 16, api_name="/compare_followup")
    histories = first[-1]
    assert [h[-1]["content"] for h in histories] == ["L1", "R1"]
    second = client.predict(models, "Again", histories, 16, api_name="/compare_followup")
    assert [h[-1]["content"] for h in second[-1]] == ["L2", "R2"] and second[2] == "L2" and second[5] == "R2"
    assert [m["role"] for m in second[-5]] == ["user", "assistant", "user", "assistant"]  # column 1's chat
    with pytest.raises(AppError, match="one per model"):
        client.predict(models, "Again", histories[:1], 16, api_name="/compare_followup")
