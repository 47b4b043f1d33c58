"""After a run: merge and save (a standalone model that chat loads), push to the Hub (recorded, no network), the
show-code script (plain peft + trl), the run list from disk, and a crashed worker that leaves a resumable run."""

from __future__ import annotations

import ast
import json
import os
import signal

import pytest
import tiny_finetune as tf
from synthetic_samples import FakeHub

from engines import errors
from engines import finetune as ft
from engines.snippets.finetune import finetune_code


@pytest.mark.slow
def test_merge_and_save_makes_a_standalone_model(done_run, fresh_cache):
    from engines.chat import stream_chat

    merged = ft.merge_run(done_run.id)
    assert (merged / "config.json").is_file() and not (merged / "adapter_config.json").exists()
    assert "base model with the adapter merged in" in (merged / "README.md").read_text()
    messages = [{"role": "user", "content": "What is 3 plus 3?"}]
    merged_text = "".join(c.text for c in stream_chat(str(merged), messages, max_new_tokens=8))
    adapter_text = "".join(c.text for c in stream_chat(str(done_run.adapter), messages, max_new_tokens=8))
    assert merged_text == adapter_text  # greedy: merging changes no prediction
    assert ft.read_run(done_run.id).tuned == merged


def test_push_to_the_hub_records_one_commit(done_run, monkeypatch):
    hub = FakeHub(monkeypatch)
    url = ft.push_run(done_run.id, "me/tiny-tuned", private=True)
    assert url == "https://huggingface.co/me/tiny-tuned"
    (repo, kw), = hub.repos
    assert repo == "me/tiny-tuned" and kw["repo_type"] == "model" and kw["private"] is True
    (_, files, _), = hub.commits
    assert {"adapter_config.json", "adapter_model.safetensors", "README.md", "tokenizer.json"} <= set(files)
    config = json.loads(files["adapter_config.json"])
    assert config["base_model_name_or_path"] == "lm-llama"  # never this server's path
    assert str(done_run.folder.parent) not in json.dumps(config)


def test_push_needs_a_token_and_a_valid_repo(done_run, monkeypatch):
    FakeHub(monkeypatch)
    with pytest.raises(errors.InvalidInput, match="not a valid model id"):
        ft.push_run(done_run.id, "bad id with spaces")
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(errors.MissingApiKey, match="HF_TOKEN"):
        ft.push_run(done_run.id, "me/x")


def test_show_code_is_plain_peft_and_trl(done_run):
    code = finetune_code(done_run.spec)
    ast.parse(code)
    for expected in ("from peft import LoraConfig", "from trl import SFTConfig, SFTTrainer",
                     "completion_only_loss=True", "r=8, lora_alpha=16", "max_steps=20", "learning_rate=0.005",
                     "train.jsonl", "heldout.jsonl", "seed=7"):
        assert expected in code
    assert "engines" not in code and str(done_run.folder) not in code


def test_runs_are_listed_from_disk(done_run):
    listed = ft.list_runs()
    assert done_run.id in [v.id for v in listed]
    view = next(v for v in listed if v.id == done_run.id)
    assert view.state == "done" and "lm-llama" in view.label() and "20 steps" in view.label()


@pytest.mark.slow
def test_a_crashed_worker_leaves_a_resumable_run(tiny, ft_root, done_run):
    run = ft.start_run(tf.prepare(tiny["lm-llama"]))
    view = tf.wait_for(lambda: ft.read_run(run.id), lambda v: v.checkpoint_step >= 5 or not v.live)
    assert view.live, tf._describe(view)
    os.killpg(os.getpgid(view.status["pid"]), signal.SIGKILL)  # a segfault, the OOM killer, a kill -9
    crashed = tf.wait_for(lambda: ft.read_run(run.id), lambda v: v.state == "crashed", timeout=30)
    assert crashed.resumable and "ended unexpectedly" in crashed.message
    assert f"from step {crashed.checkpoint_step}" in crashed.message
    ft.resume_run(run.id)
    done = tf.wait_for(lambda: ft.read_run(run.id), lambda v: not v.live)
    assert done.state == "done", tf._describe(done)
    assert [r["step"] for r in done.metrics if r["kind"] == "train"] == list(range(1, 21))
    assert tf.batches(done.folder) == tf.batches(done_run.folder)


def test_an_adapter_folder_is_sized_from_its_base(done_run):
    """On CUDA, quantization "auto" sizes a model outside the catalog from its config before loading: an adapter
    folder has no config.json of its own, so the size comes from the base named in adapter_config.json."""
    from engines import loading
    from engines.refs import parse_ref

    size = loading._config_params_b(parse_ref(str(done_run.adapter)))
    assert size is not None and 0 < size < 0.01  # the tiny Llama's size (its base), not a load error


@pytest.mark.slow
def test_the_run_notebook_trains_on_the_same_data_with_plain_trl(done_run, tmp_path):
    """The Fine-tune tab's notebook, executed with nbclient: it writes the run's own data files, trains the same
    base with the same hyperparameters through plain peft + trl, and ends where the app's run ended."""
    from nbclient import NotebookClient

    from engines import notebooks as nbs

    nb = nbs.finetune_notebook(done_run)
    text = nbs.write_notebook(nb, tmp_path / "nb", "finetune").read_text()
    assert "What is 3 plus 3?" in text and "training loss" in text  # the data and the app's numbers travel with it
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "HF_TOKEN")}
    NotebookClient(nb, kernel_name="python3", timeout=600,
                   resources={"metadata": {"path": str(tmp_path)}}).execute(env={**env, nbs.SKIP_INSTALL_ENV: "1"})
    result = nbs.read_result(nb)
    app_losses = [m["loss"] for m in done_run.metrics if m.get("kind") == "train"]
    print(f"\nnotebook: {result}; app: steps {done_run.status['step']}, losses {app_losses[0]:.4f} → "
          f"{app_losses[-1]:.4f}")
    assert result["steps"] == done_run.status["step"] == tf.HYPER["max_steps"]
    assert result["loss"] < app_losses[0]  # it trained: below where the app's run started
    assert abs(result["loss"] - app_losses[-1]) <= 1e-3 * app_losses[-1]  # same data, order and seed: same loss
    assert (tmp_path / "sft-output" / "final" / "adapter_config.json").is_file()
