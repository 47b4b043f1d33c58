"""The Fine-tune tab's "show code": the same run with plain peft + trl, from the run's own data files."""

from __future__ import annotations

from engines import quant
from engines.finetune.spec import RunSpec


def finetune_code(spec: RunSpec) -> str:
    """A self-contained script that reproduces a fine-tuning run with peft and trl.

    Args:
        spec: the run's ``RunSpec`` (its run.json: base, quantization, hyperparameters, targets, intervals, data
            split).

    Returns:
        Python source. It reads ``train.jsonl`` / ``heldout.jsonl`` (the run's data files) from the working folder.
    """
    h = spec.hyper.to_dict()
    method, q = h["method"], spec.quantization or "fp32"
    has_eval = bool(spec.data.heldout)
    extra, load_kwargs = quant.snippet(q)
    names = ", ".join(n for n in ("AutoModelForCausalLM", "AutoTokenizer", extra) if n)
    peft_import = "from peft import LoraConfig" + (", prepare_model_for_kbit_training" if q == "4bit" else "")
    length = f"max_steps={h['max_steps']}" if h.get("max_steps") else f"num_train_epochs={h['epochs']}"
    mixed = "bf16=True" if q in ("bf16", "4bit", "8bit") else "fp16=True" if q == "fp16" else "bf16=False"
    if spec.device == "cpu":
        mixed += ", use_cpu=True"
    data_files = "{'train': 'train.jsonl', 'test': 'heldout.jsonl'}" if has_eval else "{'train': 'train.jsonl'}"
    lines = [
        "import torch", "from datasets import load_dataset",
        *([peft_import] if method != "full" else []),
        f"from transformers import {names}", "from trl import SFTConfig, SFTTrainer", "",
        f"model_id = {spec.base!r}",
        "# the run's data: prompt/completion examples, as the Fine-tune tab wrote them",
        f"data = load_dataset('json', data_files={data_files})", "",
        "tokenizer = AutoTokenizer.from_pretrained(model_id)",
        "if tokenizer.pad_token is None:", "    tokenizer.pad_token = tokenizer.eos_token",
        f"model = AutoModelForCausalLM.from_pretrained(model_id, {load_kwargs})",
    ]
    if q == "4bit":
        lines.append(f"model = prepare_model_for_kbit_training(model, use_gradient_checkpointing="
                     f"{h['grad_checkpointing']})")
    if method != "full":
        lines += ["", f"peft_config = LoraConfig(r={h['rank']}, lora_alpha={h['alpha']}, lora_dropout={h['dropout']},",
                  f"                         target_modules={spec.targets!r},",
                  "                         bias='none', task_type='CAUSAL_LM')"]
    return "\n".join(lines + _trainer_lines(spec, has_eval, mixed, length)) + "\n"


def _trainer_lines(spec: RunSpec, has_eval: bool, mixed: str, length: str) -> list[str]:
    """The SFTConfig, the trainer, training and saving."""
    h, method = spec.hyper.to_dict(), spec.hyper.method
    evals = (f"    eval_strategy='steps', eval_steps={spec.eval_steps}, "
             f"per_device_eval_batch_size={h['batch_size']}," if has_eval else "    eval_strategy='no',")
    return [
        "", "args = SFTConfig(",
        f"    output_dir='sft-output', {length},",
        f"    per_device_train_batch_size={h['batch_size']}, gradient_accumulation_steps={h['grad_accum']},",
        f"    learning_rate={h['learning_rate']}, max_length={h['max_length']},",
        "    completion_only_loss=True,  # loss on the completion tokens only",
        f"    gradient_checkpointing={h['grad_checkpointing']}, {mixed},",
        f"    logging_steps={spec.logging_steps}, logging_first_step=True,", evals,
        f"    save_strategy='steps', save_steps={spec.save_steps}, save_total_limit=2,",
        f"    seed={h['seed']}, data_seed={h['seed']}, report_to='none', disable_tqdm=True,", ")",
        "trainer = SFTTrainer(model=model, args=args, train_dataset=data['train'],",
        f"                     eval_dataset={'data[' + repr('test') + ']' if has_eval else None}, "
        "processing_class=tokenizer,",
        f"                     peft_config={'peft_config' if method != 'full' else None})",
        "result = trainer.train()  # trainer.train(resume_from_checkpoint=True) continues a stopped run",
        "print(result.metrics)",
        "trainer.save_model('sft-output/final')", "tokenizer.save_pretrained('sft-output/final')",
    ]
