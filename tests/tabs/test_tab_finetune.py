"""The Fine-tune tab through its API (gradio_client) on a Blocks with the tab and stand-in receiving tabs: suggest,
check, start, follow, stop, resume, list; a crashed worker leaves the app serving and the run resumable; bad inputs
come back as clear errors; the cross-tab buttons send base vs tuned and the held-out split."""

from __future__ import annotations

import os
import re
import signal
from dataclasses import replace

import gradio as gr
import pytest
import tiny_finetune as tf
from gradio_client import handle_file
from gradio_client.exceptions import AppError

from engines import finetune as ft
from engines.config import Settings
from tabs.common import Links, ModelBox
from tabs.finetune import handlers as tab
from tabs.server import WorkbenchBlocks, publish_api

API = ("finetune_defaults", "finetune_check", "finetune_start", "finetune_status", "finetune_stop", "finetune_resume",
       "finetune_runs", "finetune_merge", "finetune_push")
STATUS, PANEL = 0, 1  # finetune_status / stop / resume outputs: status line, live panel, ...


@pytest.fixture(scope="module")
def ft_dir(tmp_path_factory):
    with tf.DataDir(tmp_path_factory.mktemp("ft-tab-data")) as root:
        yield root


def _blocks(links: Links | None):
    with WorkbenchBlocks(title="finetune test") as demo:
        with gr.Tabs() as tabs:
            if links is not None:
                links.tabs = tabs
                with gr.Tab("Compare", id="compare"):
                    links.register("compare.models", "compare", ModelBox([], multiselect=True, label="Models"))
                with gr.Tab("Evaluate", id="evaluate"):
                    links.register("evaluate.models", "evaluate", ModelBox([], multiselect=True, label="Models"))
                    links.register("evaluate.rows", "evaluate", gr.State(None))
            tab.build(Settings.from_env(), links)
        if links is not None:
            links.resolve()
    publish_api(demo)
    return demo


@pytest.fixture(scope="module")
def client(ft_dir):
    from gradio_client import Client

    demo = _blocks(Links())
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    yield Client(url, verbose=False)
    demo.close()


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    return tf.write_jsonl(tmp_path_factory.mktemp("ft-upload") / "pairs.jsonl", tf.rows())


def _args(model, data_file, **over) -> dict:
    base = {"model": str(model), "source": "upload", "file": handle_file(str(data_file)), "dataset": "",
            "split": "", "prompt_column": "", "completion_column": "", "messages_column": "", "target_field": "",
            "heldout_share": tf.HELDOUT, "method": "lora", "rank": 8, "alpha": 16, "dropout": 0.05,
            "target_modules": "", "learning_rate": 5e-3, "epochs": 3, "batch_size": 4, "grad_accum": 1,
            "max_length": 64, "grad_checkpointing": False, "max_steps": 10, "seed": 7, "synthetic": None}
    return {**base, **over}


def _status(client, run_id):
    return client.predict(run_id, api_name="/finetune_status")


def _wait_state(client, run_id, *states, timeout=240.0):
    return tf.wait_for(lambda: _status(client, run_id),
                       lambda out: any(f"data-state='{s}'" in out[PANEL] for s in states), timeout=timeout)


def test_api_names_and_free_text_parameters(client):
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert {f"/{name}" for name in API} <= set(endpoints)
    status = {p["parameter_name"]: p for p in endpoints["/finetune_status"]["parameters"]}
    assert status["run_id"]["type"] == {"type": "string"}  # any run id, no enum
    start = {p["parameter_name"]: p for p in endpoints["/finetune_start"]["parameters"]}
    assert start["model"]["type"] == {"type": "string"} and start["dataset"]["parameter_default"] is None


def test_suggest_settings_for_the_base(client, tiny):
    out = client.predict(str(tiny["lm-llama"]), None, api_name="/finetune_defaults")
    method, rank, alpha, *_rest, why, status = out
    assert method == "lora" and alpha == 2 * rank
    assert "q_proj" in out[4]  # target modules
    assert "alpha = 2 × rank" in why and "data-state='done'" in status


def test_check_shows_the_tokens_that_carry_loss(client, tiny, data_file):
    status, preview, summary, plan = client.predict(**_args(tiny["lm-llama"], data_file), api_name="/finetune_check")
    assert "Ready: 18 training examples, 10 steps" in status
    assert "data-loss='1'" in preview and "data-loss='0'" in preview and preview.count("ft-example") >= 3
    assert "18 train / 6 held out" in summary
    assert "trainable parameters" in plan and "%" in plan


def test_synthetic_rows_are_a_data_source(client, tiny):
    rows = [{"question": f"{i}+{i}", "answer": str(2 * i)} for i in range(8)]
    payload = tab.synthetic_payload({"rows": rows, "fields": [{"name": "question"}, {"name": "answer"}],
                                     "description": "Sums"})
    status, preview, summary, _ = client.predict(**_args(tiny["lm-llama"], tf.write_jsonl(
        _tmp("s.jsonl"), tf.rows(2)), source="synthetic", synthetic=payload), api_name="/finetune_check")
    assert "synthetic: 8 rows" in summary and "completion ← answer" in summary
    shown = "".join(re.findall(r"<span class='ft-tok'[^>]*>([^<]*)</span>", preview))
    assert "Sums" in shown and "question:·0+0" in shown


def _tmp(name):
    import tempfile
    from pathlib import Path

    return Path(tempfile.mkdtemp(prefix="ft-tab-")) / name


@pytest.mark.parametrize("over, message", [
    ({"prompt_column": "question", "completion_column": "answer"}, "no column 'question', 'answer'"),
    ({"max_length": 8}, "Every example is longer than the max length of 8 tokens \\(all 18 examples"),
    ({"target_modules": "c_attn"}, "Target module 'c_attn' not in lm-llama"),
    ({"method": "full", "rank": 0}, "Input 'rank': 0 is outside the allowed range"),
])
def test_bad_inputs_are_clear_errors(client, tiny, data_file, over, message):
    with pytest.raises(AppError, match=message):
        client.predict(**_args(tiny["lm-llama"], data_file, **over), api_name="/finetune_check")


def test_empty_file_and_not_a_causal_lm(client, tiny, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(AppError, match="empty"):
        client.predict(**_args(tiny["lm-llama"], empty), api_name="/finetune_start")
    from transformers import BertConfig

    BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37,
               architectures=["BertForMaskedLM"]).save_pretrained(tmp_path / "bert")
    with pytest.raises(AppError, match="bert model \\(BertForMaskedLM\\), not a causal"):
        client.predict(str(tmp_path / "bert"), None, api_name="/finetune_defaults")


@pytest.mark.slow
def test_start_follow_stop_resume_and_list(client, tiny, data_file, ft_dir):
    # 400 steps, and Stop as soon as the worker reports its first step (read from the run folder, not through the
    # queue): the tiny model trains at ~36-100 steps/s even on a loaded machine, and with 10 or 40 steps the run
    # finished before the status call and Stop arrived ("stopped" never came)
    out = client.predict(**_args(tiny["lm-llama"], data_file, max_steps=400), api_name="/finetune_start")
    run_id = out[-1]  # the run picker holds the new run
    assert ft.read_run(run_id).spec.data.train == 18
    first = tf.wait_for(lambda: ft.read_run(run_id), lambda v: v.status.get("step", 0) >= 1 or not v.live)
    assert first.live, tf._describe(first)
    following = _status(client, run_id)  # what the tab shows while it trains
    assert "data-state='running'" in following[PANEL] and "data-step='0'" not in following[PANEL]
    stopped = client.predict(run_id, api_name="/finetune_stop")
    assert "Stopping" in stopped[STATUS]
    stopped = _wait_state(client, run_id, "stopped")
    assert "data-state='stopped'" in stopped[STATUS] and "Resume continues" in stopped[STATUS]
    client.predict(run_id, api_name="/finetune_resume")
    done = _wait_state(client, run_id, "done")
    assert "data-state='done'" in done[STATUS] and "400 / 400" in done[PANEL] and "<svg" in done[PANEL]
    assert "The adapter of" in done[3] and "from trl import SFTConfig" in done[4]
    assert str(done[5]).endswith(".ipynb") and "train.jsonl" in open(done[5], encoding="utf-8").read()  # notebook
    runs = client.predict(api_name="/finetune_runs")
    assert any(r["id"] == run_id and r["state"] == "done" and r["tuned"] for r in runs)


@pytest.mark.slow
def test_a_crashed_worker_leaves_the_app_serving_and_the_run_resumable(client, tiny, data_file):
    run_id = client.predict(**_args(tiny["lm-llama"], data_file), api_name="/finetune_start")[-1]
    view = tf.wait_for(lambda: ft.read_run(run_id), lambda v: v.checkpoint_step >= 5 or not v.live)
    assert view.live
    os.killpg(os.getpgid(view.status["pid"]), signal.SIGKILL)  # a segfault, the OOM killer, a kill -9
    crashed = _wait_state(client, run_id, "crashed", timeout=30)
    assert "ended unexpectedly" in crashed[STATUS] and "data-state='failed'" in crashed[STATUS]
    after = ft.read_run(run_id)  # the worker may have saved one more step before the kill landed
    assert after.checkpoint_step >= view.checkpoint_step
    assert f"Resume continues from step {after.checkpoint_step}." in crashed[STATUS]
    assert after.resumable  # (engine test_outputs resumes a crashed run to the end)
    assert any(r["id"] == run_id and r["state"] == "crashed" for r in client.predict(api_name="/finetune_runs"))


def test_resume_a_finished_run_and_unknown_runs_are_refused(client):
    with pytest.raises(AppError, match="Choose a run"):
        client.predict("nope", api_name="/finetune_status")
    with pytest.raises(AppError, match="No fine-tuning run"):
        client.predict("20250101-000000-x-abcd", api_name="/finetune_resume")


def test_zero_gpu_refuses_training(tiny, data_file, monkeypatch):
    zero = replace(Settings.from_env(), zero_gpu=True, device="cuda")
    monkeypatch.setattr(Settings, "from_env", classmethod(lambda cls: zero))
    args = _args(tiny["lm-llama"], data_file, file=str(data_file))
    with pytest.raises(Exception, match="needs a dedicated GPU"):
        list(tab.finetune_start(**args))


def test_follow_picks_the_newest_run_after_a_reload(client, tiny, data_file, ft_dir):
    newest = ft.list_runs()
    updates = tab.follow(None)
    if newest:
        assert updates["run"]["value"] == newest[0].id
    assert "timer" in updates


def test_buttons_are_links_wired_where_their_tabs_are():
    links = Links()
    _blocks(links)
    wired = {link.button.elem_id: link.targets for link in links.wired if link.source == "finetune"}
    assert wired == {"ft-to-compare": ("compare.models",), "ft-to-evaluate": ("evaluate.models", "evaluate.rows")}
    alone = Links()
    with gr.Blocks():
        tab.build(Settings.from_env(), alone)
        alone.resolve()  # no Compare nor Evaluate here: no buttons
    left_out = {link.button.elem_id: link.button.visible for link in alone.left_out if link.source == "finetune"}
    assert not alone.wired and left_out == {"ft-to-compare": False, "ft-to-evaluate": False}


def test_buttons_send_base_and_tuned_and_the_heldout_split(ft_dir, tiny, data_file):
    done = next((v for v in ft.list_runs() if v.state == "done"), None)
    if done is None:
        pytest.skip("no finished run in this session")
    send = tab._sender({"evaluate.models": tab._models, "evaluate.rows": tab._heldout})
    updates = send(done.id)
    assert updates["evaluate.models"] == [done.spec.base, str(done.tuned)]
    rows = updates["evaluate.rows"]["rows"]
    assert len(rows) == 6 and set(rows[0]) == {"question", "answer"}


def test_a_resumed_run_shows_its_last_numbers_before_it_logs_again():
    """Resuming deletes status.json (the new worker writes its own): the panel showed "—" for the losses, speed and
    memory until the next log; it now falls back to the newest records of metrics.jsonl."""
    from tabs.finetune import view

    metrics = [{"kind": "train", "step": 10, "loss": 6.25, "steps_per_s": 40.0, "tokens_per_s": 900.0,
                "memory_bytes": 3 * 2**20},
               {"kind": "eval", "step": 10, "eval_loss": 6.5},
               {"kind": "train", "step": 20, "loss": 5.75, "steps_per_s": 42.0, "tokens_per_s": 950.0,
                "memory_bytes": 3 * 2**20}]
    run = ft.RunView(id="20260101-000000-x", state="stopped", spec={"total_steps": 100},
                     status={"state": "stopped", "step": 25, "max_steps": 100}, metrics=metrics)
    html = view.run_html(run)
    assert "class='ft-train-loss' style='font-weight:600'>5.75<" in html
    assert "class='ft-held-out-loss' style='font-weight:600'>6.5<" in html
    assert "class='ft-steps-s' style='font-weight:600'>42<" in html
    assert "25 / 100" in html
    fresh = replace(run, status={**run.status, "loss": 5.5})  # the worker's own value wins once it logs
    assert ">5.5<" in view.run_html(fresh)


def test_start_is_refused_at_once_while_a_run_trains(tiny, data_file, monkeypatch):
    """The tab refuses before tokenizing anything (the engine checks again, under a lock, when it starts)."""
    monkeypatch.setattr(ft.runs, "training_runs", lambda settings=None: ["20250101-000000-busy-abcd"])
    monkeypatch.setattr(tab, "_prepare", lambda *a, **k: pytest.fail("prepared while a run trains"))
    args = _args(tiny["lm-llama"], data_file, file=str(data_file))
    with pytest.raises(Exception, match="A run is training: 20250101-000000-busy-abcd. Stop it or wait"):  # noqa: PT011
        list(tab.finetune_start(**args))


def test_the_refresh_stays_on_while_the_worker_process_lives(ft_dir, tiny, monkeypatch):
    """Issue 27: right after Start the page read a just-spawned worker as crashed ("ended unexpectedly") and turned
    the refresh off, frozen at 0/N while the worker trained. It reads "Starting", and the refresh goes on as long as
    the worker's process lives, whatever its last word; it stops once the process is gone."""
    from engines.finetune import jobs

    fake = tf.SlowStart()
    monkeypatch.setattr(jobs.subprocess, "Popen", fake)
    try:
        data = tf.write_jsonl(ft_dir.parent / "slow-start.jsonl", tf.rows())
        updates = list(tab.finetune_start(**_args(tiny["lm-llama"], data, file=str(data))))[-1]
        run_id = updates["run"]
        assert updates["timer"].active and "ended unexpectedly" not in updates["status"]
        assert "Starting" in updates["status"] and "data-state='running'" in updates["status"]
        for refreshed in (tab.finetune_status(run_id), tab.follow(run_id)):
            assert refreshed["timer"].active and "ended unexpectedly" not in refreshed["status"]
        folder = ft.read_run(run_id).folder
        pid = ft.runs.read_json(folder / "spawn.json")["pid"]
        ft.runs.write_json(folder / "status.json", {"state": "stopped", "pid": pid, "message": "Stopped at step 3."})
        assert tab.follow(run_id)["timer"].active  # its last word is written; the process is still exiting
    finally:
        fake.kill()
    assert not tab.follow(run_id)["timer"].active


def test_the_heldout_split_is_labelled_as_the_finetune_runs_not_synthetic(tmp_path, monkeypatch):
    """Issue 27: Evaluate labelled a run's held-out split "(synthetic data tab)"."""
    from tabs.evaluate import handlers as evaluate

    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))
    folder = tmp_path / "run"
    tf.write_jsonl((folder / "data").mkdir(parents=True) or folder / "data" / "heldout.jsonl", tf.rows(4))
    run = ft.RunView(id="20260101-000000-tiny-abcd", state="done", spec={}, status={}, folder=folder)
    payload = tab._heldout(run)
    *_, last = evaluate.load_test_set("synthetic", synthetic=payload)
    shown = f"{last['card']} {last['set_status']}"
    assert "synthetic data tab" not in shown
    assert "held-out split of 20260101-000000-tiny-abcd" in shown and "Fine-tune tab" in shown
    assert "4 items loaded from Fine-tune tab: examples held out of training" in last["set_status"]


def test_the_explanation_follows_the_current_values(tiny):
    """Issue 27: after Suggest, changing rank 8 → 32 and the learning rate 2e-4 → 1e-3 left the explanation
    describing rank 8 and 2e-4. It is written from the boxes' values, on every change."""
    out = tab.finetune_defaults(str(tiny["lm-llama"]), None)
    assert out["rank"] == 8 and out["learning_rate"] == 2e-4 and "rank 8" in out["why"]
    values = {k: out[k] for k in ft.explain.EXPLAINED}
    changed = tab.explain_settings(**{**values, "rank": 32, "learning_rate": 1e-3}, suggested=out["suggested"])
    why = changed["why"]
    assert "rank 32" in why and "(suggested: 8)" in why and "rank 8:" not in why
    assert "0.001: high for LoRA" in why and "(suggested: 0.0002)" in why and "2e-4" not in why.split("0.0002")[0]
    assert "alpha = 2 × rank" not in why and "alpha / rank = 0.5" in why  # alpha 16 on rank 32: no longer 2
    same = tab.explain_settings(**values, suggested=out["suggested"])["why"]
    assert same == out["why"]  # back to the suggestion: its own reasons
    full = tab.explain_settings(**{**values, "method": "full"}, suggested=out["suggested"])["why"]
    assert "not used: full fine-tuning" in full


def test_every_hyperparameter_box_refreshes_the_explanation(ft_dir):
    demo = _blocks(None)
    wired = [fn for fn in demo.fns.values() if getattr(fn.fn, "__name__", "") == "explain_settings"]
    assert len(wired) == 1
    triggers = [(demo.blocks[block_id], event) for block_id, event in wired[0].targets]
    assert len(triggers) == len(ft.explain.EXPLAINED) and {e for _, e in triggers} == {"change"}
    assert {"Method", "LoRA rank", "LoRA alpha", "Learning rate", "Batch size", "Max length"} <= {
        b.label for b, _ in triggers}


def test_start_after_check_prepares_and_tokenizes_the_data_once(ft_dir, tiny, monkeypatch):
    """Check and Start each read, rendered and tokenized all the data (2 prepares for one run): Start now takes what
    Check prepared under its handle (a digest of the same parameters and file bytes); other parameters prepare anew."""
    from engines.finetune import data as fdata
    from engines.finetune import jobs

    calls = {"prepare": 0, "measure": 0}

    def counting(name, real):
        def wrapper(*a, **k):
            calls[name] += 1
            return real(*a, **k)
        return wrapper

    monkeypatch.setattr(ft, "prepare", counting("prepare", ft.prepare))
    monkeypatch.setattr(fdata, "measure", counting("measure", fdata.measure))
    fake = tf.SlowStart()
    monkeypatch.setattr(jobs.subprocess, "Popen", fake)
    ft.checks.forget_all()
    try:
        data = tf.write_jsonl(ft_dir.parent / "check-once.jsonl", tf.rows())
        checked = tab.finetune_check(**_args(tiny["lm-llama"], data, file=str(data)))
        handle = re.search(r"Check ([0-9a-f]{24})", checked["status"]).group(1)
        assert calls == {"prepare": 1, "measure": 1} and ft.checks.peek(handle) is not None
        started = list(tab.finetune_start(**_args(tiny["lm-llama"], data, file=str(data))))[-1]
        assert started["run"] and calls == {"prepare": 1, "measure": 1}  # reused: nothing tokenized again
        assert ft.checks.peek(handle) is None  # a run started from it once
        tab.finetune_check(**_args(tiny["lm-llama"], data, file=str(data), seed=8))  # another split: prepared anew
        assert calls == {"prepare": 2, "measure": 2}
    finally:
        fake.kill()
        ft.checks.forget_all()


def test_the_heldout_split_is_parsed_by_the_engine(tmp_path):
    folder = tmp_path / "run"
    rows = [{"prompt": [{"role": "user", "content": "2+2?"}], "completion": [{"role": "assistant", "content": "4"}]},
            {"prompt": "Capital of France?", "completion": "Paris"}]
    tf.write_jsonl((folder / "data").mkdir(parents=True) or folder / "data" / "heldout.jsonl", rows)
    run = ft.RunView(id="20260101-000000-tiny-abcd", state="done", spec={}, status={}, folder=folder)
    assert ft.heldout_pairs(run) == [{"question": "2+2?", "answer": "4"},
                                     {"question": "Capital of France?", "answer": "Paris"}]
    assert tab._heldout(run)["rows"] == ft.heldout_pairs(run)


def test_a_refused_start_keeps_the_check_for_the_next_try(ft_dir, tiny, monkeypatch):
    """Start refused when it starts (another run took the slot meanwhile): the checked data is still held."""
    from engines import errors

    ft.checks.forget_all()
    data = tf.write_jsonl(ft_dir.parent / "refused.jsonl", tf.rows())
    args = _args(tiny["lm-llama"], data, file=str(data))
    handle = re.search(r"Check ([0-9a-f]{24})", tab.finetune_check(**args)["status"]).group(1)

    def busy(prep, settings=None):
        raise errors.Busy("A run is training: another one.")

    monkeypatch.setattr(ft, "start_run", busy)
    with pytest.raises(errors.Busy):
        list(tab.finetune_start(**args))
    assert ft.checks.peek(handle) is not None
    ft.checks.forget_all()


def test_the_form_is_one_typed_request_with_the_api_parameters():
    """The 24 values travel as one RunRequest; finetune_check / finetune_start keep their parameters (the API: the
    app's settings are bound, so ``settings`` is no API parameter)."""
    import inspect

    from engines.config import Settings
    from tabs.common import with_settings
    from tabs.finetune.request import RunRequest

    for fn in (tab.finetune_check, tab.finetune_start):
        assert list(inspect.signature(with_settings(fn, Settings())).parameters) == RunRequest.names()
        assert list(inspect.signature(fn).parameters) == [*RunRequest.names(), "settings"]
    request = RunRequest.of({"model": "m", "rank": 8, "seed": 3, "not_a_field": 1})
    assert (request.model, request.rank, request.seed, request.source) == ("m", 8, 3, None)
    assert request.hyper_args()[1] == 8 and request.hyper_args()[-1] == 3 and len(request.hyper_args()) == 13
    with gr.Blocks():
        c = tab.layout.inputs()
    assert RunRequest.inputs(c) == [c[name] for name in RunRequest.names()]
