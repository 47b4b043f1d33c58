"""The training worker: ``python -m engines.finetune.worker {train|resume|merge} <run folder>``.

Runs in its own process (started by ``engines.finetune.jobs``): loads the base, trains with trl's ``SFTTrainer``
(LoRA / QLoRA through peft, or full), and reports through the run folder only (``engines.finetune.runs``): state,
metrics and batch fingerprints as it goes; checkpoints saved whole in a staging folder, then renamed into place (a
full disk never leaves a half checkpoint, and the previous one stays); the adapter and its model card at the end.
A ``stop`` file (or SIGTERM) stops it at the end of the step, after a checkpoint. Every failure is written as a
state with a reason the user can act on; the traceback goes to ``worker.log``.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from engines.finetune import runs
from engines.finetune.runs import CheckpointFailed
from engines.finetune.spec import Hyper, RunSpec

log = logging.getLogger("workbench.finetune.worker")


class Status:
    """The run's status.json, written atomically; progress updates are throttled (at most 4 a second)."""

    def __init__(self, folder: Path):
        self.path = folder / "status.json"
        self.data: dict[str, Any] = {**runs.read_json(self.path, {}), "pid": os.getpid()}
        self._last = float("-inf")  # monotonic() counts from boot

    def update(self, force: bool = True, **values: Any) -> None:
        """Merge ``values`` into the state and write it (a progress update may be skipped when too soon)."""
        self.data.update(values, updated=time.time())
        if force or time.monotonic() - self._last >= 0.25:
            self._last = time.monotonic()
            runs.write_json(self.path, self.data)


# ----------------------------------------------------------------------------------------------- training


def load_base(spec: RunSpec, for_merge: bool = False):
    """The base model and tokenizer as the run trains them (4-bit NF4 for QLoRA on CUDA, else full precision)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from engines import quant

    target, q = spec.base_target, spec.quantization
    if for_merge and q in quant.BNB:  # merging into a 4-bit base loses precision: merge into bf16 weights
        q = "bf16"
    local = {"local_files_only": True} if Path(target).is_dir() else {}
    tokenizer = AutoTokenizer.from_pretrained(target, trust_remote_code=False, **local)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(target, trust_remote_code=False, **local,
                                                 **quant.from_pretrained_kwargs(q))
    return model, tokenizer


def sft_config(spec: RunSpec, folder: Path, has_eval: bool):
    """trl's SFTConfig for the run (loss on the completion tokens only)."""
    import torch
    from trl import SFTConfig

    h = spec.hyper
    cuda = torch.cuda.is_available()
    q = spec.quantization
    length = {"max_steps": h.max_steps} if h.max_steps else {"num_train_epochs": h.epochs}
    return SFTConfig(
        output_dir=str(folder / "checkpoints"), **length, per_device_train_batch_size=h.batch_size,
        per_device_eval_batch_size=h.batch_size, gradient_accumulation_steps=h.grad_accum,
        learning_rate=h.learning_rate, max_length=h.max_length, completion_only_loss=True,
        gradient_checkpointing=h.grad_checkpointing, bf16=cuda and q in ("bf16", "4bit", "8bit"),
        fp16=cuda and q == "fp16", use_cpu=not cuda and spec.device == "cpu",
        logging_steps=spec.logging_steps, logging_first_step=True,
        eval_strategy="steps" if has_eval else "no", eval_steps=spec.eval_steps or None,
        save_strategy="steps", save_steps=spec.save_steps, seed=h.seed, data_seed=h.seed,
        report_to=[], disable_tqdm=True, dataloader_num_workers=0)


def lora_config(spec: RunSpec):
    """peft's LoraConfig for the run (None for full fine-tuning)."""
    h = spec.hyper
    if h.method == "full":
        return None
    from peft import LoraConfig

    return LoraConfig(r=h.rank, lora_alpha=h.alpha, lora_dropout=h.dropout, target_modules=spec.targets,
                      bias="none", task_type="CAUSAL_LM")


def build_trainer(folder: Path, status: Status):
    """Load the base and the data, and build the trainer (with its progress callback)."""
    from datasets import Dataset
    from transformers.trainer_callback import PrinterCallback

    from engines.finetune.trainer import Progress, WorkbenchSFTTrainer  # transformers + trl: only in the worker

    spec = runs.read_spec(folder)
    status.update(state="starting", message=f"Loading {spec.base_display}…")
    model, tokenizer = load_base(spec)
    if spec.quantization == "4bit":
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=spec.hyper.grad_checkpointing)
    train = runs.read_jsonl(folder / "data" / "train.jsonl")
    held = runs.read_jsonl(folder / "data" / "heldout.jsonl")
    ref: list = []
    callback = Progress(folder, status, ref)
    trainer = WorkbenchSFTTrainer(model=model, args=sft_config(spec, folder, bool(held)),
                               train_dataset=Dataset.from_list(train),
                               eval_dataset=Dataset.from_list(held) if held else None, processing_class=tokenizer,
                               peft_config=lora_config(spec), callbacks=[callback])
    trainer.fingerprints = []
    trainer.remove_callback(PrinterCallback)
    ref.append(trainer)
    if len(trainer.train_dataset) == 0:
        from engines.finetune.data import DataError

        raise DataError("No training example keeps a reply token within the max length: raise the max length.")
    return spec, trainer, callback, tokenizer


def train(folder: Path, resume: bool, status: Status) -> None:
    """Train (or resume) the run in ``folder`` to the end, a stop request, or an error."""
    checkpoint = runs.checkpoints(folder)[-1] if resume and runs.checkpoints(folder) else None
    for name in ("metrics.jsonl", "batches.jsonl"):  # the steps after the checkpoint are trained again
        runs.trim_jsonl(folder / name, checkpoint[0] if checkpoint else 0)
    spec, trainer, callback, tokenizer = build_trainer(folder, status)
    counts = _counts(trainer.model)
    status.update(trainable=counts[0], total=counts[1])
    if (folder / "stop").exists():
        status.update(state="stopped", message="Stopped before training began.")
        return
    try:
        result = trainer.train(resume_from_checkpoint=str(checkpoint[1]) if checkpoint else None)
        step, total = trainer.state.global_step, trainer.state.max_steps
        status.update(train_metrics=result.metrics, step=step)
        if step < total:
            status.update(state="stopped", message=f"Stopped at step {step} of {total}; the checkpoint keeps it. "
                                                   "Resume continues from there.")
            return
        if trainer.eval_dataset is not None and not _evaluated_at(folder, step):
            trainer.evaluate()
    finally:
        callback.close()
    save_output(folder, trainer, tokenizer, spec)
    status.update(state="done", step=step, message=f"Done: {step} steps. The tuned model is saved.")


def _counts(model) -> tuple[int, int]:
    if hasattr(model, "get_nb_trainable_parameters"):
        trainable, total = model.get_nb_trainable_parameters()
        return int(trainable), int(total)
    params = list(model.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


def _evaluated_at(folder: Path, step: int) -> bool:
    return any(r.get("kind") == "eval" and r.get("step") == step for r in runs.read_jsonl(folder / "metrics.jsonl"))


def save_output(folder: Path, trainer, tokenizer, spec: RunSpec) -> Path:
    """Save the adapter (or the full model) with the tokenizer and a model card: staged, then renamed in place."""
    from engines.finetune import outputs

    name = "model" if spec.hyper.method == "full" else "adapter"
    tmp = folder / f".{name}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    trainer.save_model(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    for junk in ("training_args.bin",):
        (tmp / junk).unlink(missing_ok=True)
    outputs.write_card(tmp, runs.read_run(folder.name, _settings_for(folder)), kind=name)
    return outputs.replace_dir(tmp, folder / name)


def _settings_for(folder: Path):
    """Settings whose data dir holds ``folder`` (the worker reads its own run, wherever it lives)."""
    from dataclasses import replace

    from engines.config import Settings

    return replace(Settings.current(), data_dir=folder.parent.parent)


def merge(folder: Path) -> None:
    """Merge the adapter into a full-precision base and save the whole model to ``merged/``."""
    from peft import PeftModel

    from engines.finetune import outputs

    spec = runs.read_spec(folder)
    model, tokenizer = load_base(spec, for_merge=True)
    merged = PeftModel.from_pretrained(model, str(folder / "adapter")).merge_and_unload()
    tmp = folder / ".merged.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    merged.save_pretrained(str(tmp))
    tokenizer.save_pretrained(str(tmp))
    outputs.write_card(tmp, runs.read_run(folder.name, _settings_for(folder)), kind="merged")
    outputs.replace_dir(tmp, folder / "merged")


# ----------------------------------------------------------------------------------------------- failures


def failure(exc: BaseException, folder: Path, status: dict) -> tuple[str, str]:
    """(kind, message) for a failed run: out of memory, disk full, bad data, or anything else."""
    from engines.errors import WorkbenchError
    from engines.redact import redact

    spec = runs.read_spec(folder)
    h = spec.hyper
    step = status.get("step", 0)
    saved = runs.checkpoints(folder)
    cps = saved[-1][0] if saved else 0
    resume = f"Resume continues from step {cps}." if cps else "Resume starts again from the beginning."
    if isinstance(exc, CheckpointFailed):
        full = exc.cause.errno in (errno.ENOSPC, errno.EDQUOT)
        what = "The disk filled up" if full else f"Writing failed ({exc.cause.strerror or exc.cause})"
        kept = f"the checkpoint at step {cps} is intact" if cps else "no earlier checkpoint exists"
        return ("disk_full" if full else "io", f"{what} while saving the checkpoint at step {exc.step}: nothing of it "
                f"was kept, and {kept}. Free some space in the data directory, then {resume.lower()}")
    if _is_oom(exc):
        return "oom", (f"Out of memory at step {step} (batch {h.batch_size} × {h.max_length} tokens). "
                       f"The memory was freed and the app keeps running. Try: {oom_advice(h, spec)}. {resume}")
    if isinstance(exc, WorkbenchError):
        return "input", str(exc)
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
    return "error", redact(f"Training failed: {type(exc).__name__}: {first}. {resume}")


def _is_oom(exc: BaseException) -> bool:
    seen = exc
    while seen is not None:
        if type(seen).__name__ in ("OutOfMemoryError", "MemoryError") or "out of memory" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def oom_advice(h: Hyper, spec: RunSpec) -> str:
    """Settings that need less memory than ``h``: smaller batches (same effective batch), shorter examples,
    gradient checkpointing, a 4-bit base."""
    tips = []
    batch, accum = int(h.batch_size), int(h.grad_accum)
    if batch > 1:
        tips.append(f"batch size {max(1, batch // 2)} with accumulation {accum * 2} (same effective batch)")
    if int(h.max_length) > 256:
        tips.append(f"max length {int(h.max_length) // 2}")
    if not h.grad_checkpointing:
        tips.append("gradient checkpointing on")
    if h.method != "qlora" and spec.device == "cuda":
        tips.append("QLoRA (a 4-bit base)")
    return ", ".join(tips) or "a smaller model"


def run(mode: str, folder: Path) -> int:
    """Run one worker job and record how it ended; the exit code is 0 on success (or a clean stop)."""
    folder = Path(folder).resolve()
    if mode == "merge":
        try:
            merge(folder)
        except Exception as exc:
            traceback.print_exc()
            runs.write_json(folder / "merge.json", {"ok": False, "message": failure(exc, folder, {})[1]})
            return 1
        runs.write_json(folder / "merge.json", {"ok": True})
        return 0
    status = Status(folder)
    try:
        train(folder, mode == "resume", status)
    except BaseException as exc:  # every way out is recorded; the traceback goes to worker.log
        traceback.print_exc()
        kind, message = failure(exc, folder, status.data)
        status.update(state="failed", error_kind=kind, message=message)
        return 1
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout)
    if len(sys.argv) != 3 or sys.argv[1] not in ("train", "resume", "merge"):
        sys.exit("usage: python -m engines.finetune.worker {train|resume|merge} <run folder>")
    # SIGTERM (a shutdown) stops at the end of the step, after a checkpoint, like the Stop button
    signal.signal(signal.SIGTERM, lambda *_: (Path(sys.argv[2]) / "stop").write_text("SIGTERM\n"))
    sys.exit(run(sys.argv[1], Path(sys.argv[2])))
