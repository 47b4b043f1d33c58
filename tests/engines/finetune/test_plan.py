"""Before a run: the base model is checked (a causal LM, its linear layers), defaults fit its size, the trainable
count equals peft's, full fine-tuning that can't fit is refused with the estimate, ZeroGPU refuses cleanly, and
QLoRA without CUDA falls back visibly."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import pytest
import tiny_finetune as tf

from engines import errors
from engines import finetune as ft
from engines.config import Settings
from engines.finetune import plan as fplan


def test_inspect_reads_layers_from_the_config(tiny):
    facts = ft.inspect_model(str(tiny["lm-llama"]))
    assert facts.architecture == "LlamaForCausalLM"
    assert sorted(facts.linear) == ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]
    phi = ft.inspect_model(str(tiny["lm-phi3"]))
    assert "qkv_proj" in phi.linear and "lm_head" not in phi.linear


@pytest.mark.parametrize("arch", ["llama", "phi3", "starcoder2"])
def test_trainable_count_matches_peft(tiny, arch):
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    facts = ft.inspect_model(str(tiny[f"lm-{arch}"]))
    hyper = ft.check_hyper(ft.Hyper(rank=4))
    est = ft.estimate(facts, hyper, "cpu", "fp32")
    model = AutoModelForCausalLM.from_pretrained(tiny[f"lm-{arch}"], dtype=torch.float32)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=est.targets,
                                                  task_type="CAUSAL_LM"))
    trainable, total = peft_model.get_nb_trainable_parameters()
    assert (est.trainable, est.total) == (trainable, total)
    assert 0 < est.share < 1


def test_target_modules_not_in_the_model(tiny):
    facts = ft.inspect_model(str(tiny["lm-llama"]))
    with pytest.raises(errors.InvalidInput, match="'c_attn' not in lm-llama.*Its linear layers: down_proj"):
        ft.estimate(facts, ft.check_hyper(ft.Hyper(target_modules=["q_proj", "c_attn"])), "cpu", "fp32")
    with pytest.raises(errors.InvalidInput, match="Target module 'c_attn'"):
        tf.prepare(tiny["lm-llama"], target_modules="c_attn")


def test_a_base_model_that_is_not_a_causal_lm(tmp_path, tiny):
    from transformers import BertConfig

    folder = tmp_path / "bert-classifier"
    BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=37, vocab_size=600,
               architectures=["BertForSequenceClassification"]).save_pretrained(folder)
    with pytest.raises(errors.Unsupported, match="bert model \\(BertForSequenceClassification\\), not a causal"):
        ft.inspect_model(str(folder))
    with pytest.raises(errors.Unsupported, match="runs behind an API"):
        ft.inspect_model("openai:gpt-4o-mini")


def test_defaults_scale_with_the_model(tiny):
    small = ft.defaults(ft.inspect_model(str(tiny["lm-llama"])), "cpu", n_examples=100, p95_tokens=90)
    assert small.hyper.method == "lora" and small.hyper.max_length == 128 and small.hyper.epochs == 3
    assert set(small.why) >= {"rank", "alpha", "dropout", "target_modules", "learning_rate", "epochs", "batch_size",
                              "grad_accum", "max_length", "grad_checkpointing"}
    assert all(isinstance(v, str) and "\n" not in v and v for v in small.why.values())
    big = replace(ft.inspect_model(str(tiny["lm-llama"])), params=8_000_000_000)
    gpu = ft.defaults(big, "cuda")
    assert gpu.hyper.method == "qlora" and gpu.hyper.grad_checkpointing and gpu.hyper.learning_rate < 2e-4
    assert gpu.hyper.batch_size * gpu.hyper.grad_accum >= 16


def _big_config_folder(tmp_path, tiny):
    folder = tmp_path / "big-llama"
    folder.mkdir()
    cfg = json.loads((tiny["lm-llama"] / "config.json").read_text())
    cfg.update(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
               num_key_value_heads=32, vocab_size=32000, head_dim=128)
    (folder / "config.json").write_text(json.dumps(cfg))
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):
        if (tiny["lm-llama"] / name).exists():
            shutil.copy(tiny["lm-llama"] / name, folder / name)
    return folder


def test_full_fine_tuning_refused_when_it_cannot_fit(tmp_path, tiny, monkeypatch):
    monkeypatch.setattr(fplan, "available_memory", lambda device: 16 * 2**30)
    folder = _big_config_folder(tmp_path, tiny)  # a 6.7B config: weights never exist, only shapes on "meta"
    data = ft.examples_from_rows(tf.rows(4), source="x")
    with pytest.raises(errors.OutOfMemory, match="Full fine-tuning of big-llama \\(6.\\d+B parameters\\) needs about "
                                                 "\\d+\\.\\d GB.*this machine has 16.0 GB. Use LoRA"):
        ft.prepare(str(folder), data, ft.Hyper(method="full"))
    facts, est = fplan.plan(str(folder), ft.Hyper(method="lora"), "cpu")
    assert est.memory_bytes < facts.params * 16  # LoRA on the same model needs far less


def test_zero_gpu_refuses_cleanly(tiny, monkeypatch):
    zero = replace(Settings.from_env(), zero_gpu=True, device="cuda")
    data = ft.examples_from_rows(tf.rows(4), source="x")
    with pytest.raises(errors.Unsupported, match="needs a dedicated GPU.*ZeroGPU"):
        ft.prepare(str(tiny["lm-llama"]), data, ft.Hyper(), settings=zero)
    with pytest.raises(errors.Unsupported, match="dedicated GPU"):
        ft.refuse_zero_gpu(zero)


def test_qlora_without_cuda_falls_back_visibly(tiny, ft_root):
    prep = tf.prepare(tiny["lm-llama"], method="qlora")
    assert prep.quantization == "fp32"
    assert any("QLoRA needs a CUDA GPU" in n and "plain LoRA" in n for n in prep.notices)
    assert ft.method_quantization("qlora", "cuda")[0] in ("4bit", "bf16")


@pytest.mark.parametrize("bad, match", [({"rank": 0}, "rank must be between"), ({"batch_size": 2.5}, "whole"),
                                        ({"method": "dpo"}, "Unknown method"), ({"learning_rate": "x"}, "number")])
def test_bad_hyperparameters(bad, match):
    with pytest.raises(errors.InvalidInput, match=match):
        ft.check_hyper(ft.Hyper(**bad))


def test_schedule_and_total_steps():
    h = ft.check_hyper(ft.Hyper(batch_size=4, grad_accum=2, epochs=3))
    assert ft.total_steps(18, h) == 9  # 5 batches → 3 updates an epoch
    assert ft.schedule(18, h, True) == {"total_steps": 9, "logging_steps": 1, "eval_steps": 1, "save_steps": 1}
    assert ft.schedule(18, ft.Hyper(max_steps=1000), False)["eval_steps"] == 0


def test_a_long_run_logs_early():
    """100 points per run meant a point every 1,000 steps of a 100,000-step run: no curve, loss or speed for
    minutes. Logged points come at least every 50 steps."""
    long = ft.schedule(18, ft.Hyper(max_steps=100_000), False)
    assert long["logging_steps"] == 50 and long["save_steps"] == 10_000
    assert ft.schedule(18, ft.Hyper(max_steps=1_000), False)["logging_steps"] == 10
    assert ft.schedule(18, ft.Hyper(max_steps=100_000, logging_steps=2_000), False)["logging_steps"] == 2_000
