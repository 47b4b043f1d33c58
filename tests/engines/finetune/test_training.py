"""Training in the worker process on a tiny causal LM: the loss falls, the adapter loads and changes the output,
stop → resume continues from the saved step with the same data order, out-of-memory and a full disk end the run
with a reason (the previous checkpoint intact), and the worker gets no secret."""

from __future__ import annotations

import errno
import json
import os

import pytest
import tiny_finetune as tf

from engines import errors
from engines import finetune as ft
from engines.finetune import jobs, runs, worker

SECRET_MARKER = os.environ["OPENAI_API_KEY"]  # the suite's marker (root conftest)


def _finished(view: ft.RunView) -> bool:
    return not view.live


def test_a_few_lora_steps_lower_the_training_loss(done_run):
    train = [r for r in done_run.metrics if r["kind"] == "train"]
    held = [r for r in done_run.metrics if r["kind"] == "eval"]
    assert [r["step"] for r in train] == list(range(1, 21))
    first, last = sum(r["loss"] for r in train[:3]) / 3, sum(r["loss"] for r in train[-3:]) / 3
    assert last < first - 0.1
    assert held[-1]["eval_loss"] < held[0]["eval_loss"]
    assert [r["step"] for r in held] == [5, 10, 15, 20]
    assert all(r["steps_per_s"] > 0 and r["tokens_per_s"] > 0 and r["memory_bytes"] for r in train)
    assert done_run.status["trainable"] > 0 and done_run.status["total"] > done_run.status["trainable"]


def test_the_run_folder_and_the_model_card(done_run):
    folder = done_run.folder
    assert done_run.adapter == folder / "adapter"
    assert done_run.tuned in (folder / "adapter", folder / "merged")  # merged once test_outputs merged it
    names = {p.name for p in done_run.adapter.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "tokenizer.json", "README.md",
            "training_curves.svg"} <= names
    card = (done_run.adapter / "README.md").read_text()
    for expected in ("LoRA fine-tune of lm-llama", "test rows", "18 train / 6 held out", "| LoRA rank | 8 |",
                     "| learning rate | 0.005 |", "final held-out loss", "training_curves.svg",
                     "trainable parameters"):
        assert expected in card
    assert "data-points='24'" in (done_run.adapter / "training_curves.svg").read_text()  # 20 train + 4 eval
    assert [s for s, _ in runs.checkpoints(folder)] == [15, 20]  # the last two are kept
    assert not list(folder.glob("checkpoints/.staging*"))


def test_the_adapter_loads_through_stream_chat_and_changes_the_output(done_run, tiny, fresh_cache):
    from engines.chat import stream_chat

    messages = [{"role": "user", "content": "What is 3 plus 3?"}]

    def answer(model):
        return "".join(c.text for c in stream_chat(str(model), messages, max_new_tokens=8))

    tuned, base = answer(done_run.tuned), answer(tiny["lm-llama"])
    assert tuned != base


def test_adapter_weights_differ_from_their_initial_zero_update(done_run):
    from safetensors.torch import load_file

    weights = load_file(str(done_run.adapter / "adapter_model.safetensors"))
    lora_b = [t for name, t in weights.items() if "lora_B" in name]
    assert lora_b and any(float(t.abs().sum()) > 0 for t in lora_b)  # B starts at zero: training moved it


@pytest.mark.slow
def test_stop_then_resume_continues_from_the_saved_step_in_the_same_order(tiny, ft_root, done_run):
    run = ft.start_run(tf.prepare(tiny["lm-llama"]))
    view = tf.wait_for(lambda: ft.read_run(run.id), lambda v: v.status.get("step", 0) >= 3 or not v.live)
    assert view.live, tf._describe(view)
    environ = open(f"/proc/{view.status['pid']}/environ", "rb").read().decode(errors="replace")
    assert SECRET_MARKER not in environ and "OPENAI_API_KEY=" not in environ and "HF_TOKEN=" not in environ
    ft.stop_run(run.id)
    stopped = tf.wait_for(lambda: ft.read_run(run.id), _finished)
    assert stopped.state == "stopped", tf._describe(stopped)
    step = stopped.status["step"]
    assert 3 <= step < 20 and stopped.checkpoint_step == step and stopped.resumable
    assert stopped.adapter is None
    ft.resume_run(run.id)
    resumed = tf.wait_for(lambda: ft.read_run(run.id), _finished)
    assert resumed.state == "done", tf._describe(resumed)
    train_steps = [r["step"] for r in resumed.metrics if r["kind"] == "train"]
    assert train_steps == list(range(1, 21))  # each step once: the resumed run picked up after the checkpoint
    assert tf.batches(resumed.folder) == tf.batches(done_run.folder)  # the same batches in the same order
    assert resumed.status["train_metrics"]["train_runtime"] > 0


@pytest.mark.slow
def test_rows_holding_unicode_line_separators_all_train(tiny, ft_root, done_run):
    seps = ["\u2028", "\u2029", "\u0085"]
    rows = [{"prompt": f"Say {i}{seps[i % 3]}please", "completion": f"It is{seps[i % 3]}{i}."} for i in range(8)]
    data = ft.examples_from_rows(rows, source="test rows")
    prep = ft.prepare(str(tiny["lm-llama"]), data, ft.Hyper(**{**tf.HYPER, "max_steps": 2, "batch_size": 2}),
                      heldout_share=0.25)
    run = ft.start_run(prep)
    assert len(runs.read_jsonl(run.folder / "data" / "train.jsonl")) == 6  # what the worker reads
    done = tf.wait_for(lambda: ft.read_run(run.id), _finished)
    assert done.state == "done", tf._describe(done)


def test_stop_and_resume_refuse_what_they_cannot_do(done_run):
    with pytest.raises(errors.InvalidInput, match="not running"):
        ft.stop_run(done_run.id)
    with pytest.raises(errors.InvalidInput, match="has finished"):
        ft.resume_run(done_run.id)
    with pytest.raises(errors.InvalidInput, match="Choose a run"):
        ft.read_run("../etc")


def test_the_worker_environment_has_no_secret(monkeypatch):
    monkeypatch.setenv("SOME_SERVICE_API_KEY", "x-secret")
    env = jobs.worker_env()
    assert not {"OPENAI_API_KEY", "HF_TOKEN", "SOME_SERVICE_API_KEY"} & set(env)
    assert SECRET_MARKER not in json.dumps(env)
    assert env["TOKENIZERS_PARALLELISM"] == "false"


# ----------------------------------------------------------------------------------------------- failures, in process


@pytest.fixture()
def unstarted(tiny, ft_root, monkeypatch):
    """A run folder written as start_run writes it, with no worker started: the test runs the worker in-process."""
    monkeypatch.setattr(jobs, "spawn", lambda folder, mode: None)
    view = ft.start_run(tf.prepare(tiny["lm-llama"]))
    runs.write_json(view.folder / "status.json", {"state": "starting", "pid": os.getpid()})
    return view.folder


def test_out_of_memory_ends_the_run_with_advice(unstarted, monkeypatch):
    import torch
    from trl import SFTTrainer

    real = SFTTrainer.training_step
    calls = []

    def step(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(SFTTrainer, "training_step", step)
    assert worker.run("train", unstarted) == 1
    status = runs.read_json(unstarted / "status.json")
    assert status["state"] == "failed" and status["error_kind"] == "oom"
    assert "Out of memory at step 2 (batch 4 × 64 tokens)" in status["message"]
    assert "batch size 2 with accumulation 2" in status["message"] and "keeps running" in status["message"]
    assert "Resume starts again from the beginning" in status["message"]


def test_a_full_disk_while_saving_keeps_the_previous_checkpoint(unstarted, monkeypatch):
    from transformers import Trainer

    real = Trainer._save_rng_state
    saves = []

    def save_rng(self, output_dir):
        saves.append(output_dir)
        if len(saves) == 2:  # the second checkpoint: its weights are written, then the disk fills up
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, output_dir)

    monkeypatch.setattr(Trainer, "_save_rng_state", save_rng)
    assert worker.run("train", unstarted) == 1
    status = runs.read_json(unstarted / "status.json")
    assert status["state"] == "failed" and status["error_kind"] == "disk_full"
    assert "disk filled up while saving the checkpoint at step 10" in status["message"]
    assert "the checkpoint at step 5 is intact" in status["message"]
    assert [s for s, _ in runs.checkpoints(unstarted)] == [5]
    assert not (unstarted / "checkpoints" / "checkpoint-10").exists()
    assert not (unstarted / "checkpoints" / ".staging").exists()
    assert ft.read_run(unstarted.name).resumable
    monkeypatch.setattr(Trainer, "_save_rng_state", real)
    assert worker.run("resume", unstarted) == 0  # the intact checkpoint resumes
    view = ft.read_run(unstarted.name)
    assert view.state == "done" and [r["step"] for r in view.metrics if r["kind"] == "train"] == list(range(1, 21))


@pytest.mark.gpu
def test_qlora_on_cuda_trains_on_a_4bit_base(tiny, ft_root, fresh_cache):
    from engines.chat import stream_chat

    prep = tf.prepare(tiny["lm-llama"], method="qlora", max_steps=6, save_steps=3, eval_steps=3)
    assert prep.quantization == "4bit" and not any("QLoRA needs" in n for n in prep.notices)
    run = ft.start_run(prep)
    view = tf.wait_for(lambda: ft.read_run(run.id), lambda v: not v.live)
    assert view.state == "done", tf._describe(view)
    assert view.spec.quantization == "4bit" and view.adapter is not None
    text = "".join(c.text for c in stream_chat(str(view.adapter), [{"role": "user", "content": "Hi"}],
                                               max_new_tokens=4))
    assert isinstance(text, str)
