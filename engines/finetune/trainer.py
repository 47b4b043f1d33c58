"""The worker's trainer pieces (imported only inside the training worker process: transformers + trl load here,
so importing ``engines.finetune.worker`` stays light): ``WorkbenchSFTTrainer`` fingerprints each batch and saves
checkpoints atomically; ``Progress`` writes the run folder's metrics, batches and status as training goes.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from transformers import TrainerCallback
from trl import SFTTrainer

from engines.finetune import runs
from engines.finetune.runs import KEEP_CHECKPOINTS, CheckpointFailed

if TYPE_CHECKING:
    from engines.finetune.worker import Status


class WorkbenchSFTTrainer(SFTTrainer):
    """SFTTrainer that fingerprints each batch (the data order) and saves checkpoints atomically."""

    fingerprints: list[int]
    _staging: str | None = None

    def training_step(self, *args, **kwargs):
        inputs = args[1] if len(args) > 1 else kwargs["inputs"]
        ids = inputs["input_ids"].detach().to("cpu").numpy().tobytes()
        self.fingerprints.append(zlib.crc32(ids))
        return super().training_step(*args, **kwargs)

    def _get_output_dir(self, trial):
        return self._staging or super()._get_output_dir(trial)

    def _save_checkpoint(self, model, trial):
        root = Path(self.args.output_dir)
        staging = root / ".staging"
        shutil.rmtree(staging, ignore_errors=True)
        name = f"checkpoint-{self.state.global_step}"
        try:
            staging.mkdir(parents=True)
            self._staging = str(staging)
            super()._save_checkpoint(model, trial)
            if (root / name).exists():
                shutil.rmtree(root / name)
            os.replace(staging / name, root / name)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            raise CheckpointFailed(self.state.global_step, exc) from exc
        finally:
            self._staging = None
        shutil.rmtree(staging, ignore_errors=True)
        for _, old in runs.checkpoints(root.parent)[:-KEEP_CHECKPOINTS]:
            shutil.rmtree(old, ignore_errors=True)


class Progress(TrainerCallback):
    """Writes metrics.jsonl and batches.jsonl, keeps status.json current, honours the stop file."""

    def __init__(self, folder: Path, status: Status, trainer_ref: list):
        self.folder, self.status, self.trainer_ref = folder, status, trainer_ref
        self.metrics = open(folder / "metrics.jsonl", "a", encoding="utf-8")  # noqa: SIM115 (closed at the end)
        self.batches = open(folder / "batches.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        self.t0, self.step0 = time.time(), 0
        self.last: dict[str, float] = {}

    def on_train_begin(self, args, state, control, **kw):
        self.t0, self.step0 = time.time(), state.global_step
        self.last = {"t": self.t0, "step": state.global_step, "tokens": 0.0}
        self.status.update(state="running", step=state.global_step, max_steps=state.max_steps,
                           message=f"Training: step {state.global_step} of {state.max_steps}.")

    def on_step_end(self, args, state, control, **kw):
        trainer = self.trainer_ref[0]
        self.batches.write(json.dumps({"step": state.global_step, "crc": trainer.fingerprints}) + "\n")
        self.batches.flush()
        trainer.fingerprints = []
        if (self.folder / "stop").exists() and state.global_step < state.max_steps:
            control.should_save = control.should_training_stop = True
            self.status.update(state="stopping", step=state.global_step,
                               message=f"Stopping: saving a checkpoint at step {state.global_step}.")
        else:
            self.status.update(force=False, step=state.global_step, epoch=state.epoch)

    def on_log(self, args, state, control, logs=None, **kw):
        logs = logs or {}
        now, step = time.time(), state.global_step
        if "loss" in logs:
            rec = self._train_record(logs, state, now)
            self.status.update(force=False, step=step, loss=rec["loss"], steps_per_s=rec["steps_per_s"],
                               tokens_per_s=rec["tokens_per_s"], eta_s=rec["eta_s"],
                               memory_bytes=rec["memory_bytes"])
            self._write(rec)
        if "eval_loss" in logs:
            self._write({"kind": "eval", "step": step, "eval_loss": float(logs["eval_loss"]), "time": now})
            self.status.update(eval_loss=float(logs["eval_loss"]))

    def _train_record(self, logs: dict, state, now: float) -> dict:
        dt = max(1e-9, now - self.last["t"])
        tokens = float(logs.get("num_tokens", 0.0))
        steps_per_s = (state.global_step - self.last["step"]) / dt
        tokens_per_s = max(0.0, tokens - self.last["tokens"]) / dt
        self.last = {"t": now, "step": state.global_step, "tokens": tokens}
        remaining = max(0, state.max_steps - state.global_step)
        return {"kind": "train", "step": state.global_step, "epoch": state.epoch, "loss": float(logs["loss"]),
                "lr": logs.get("learning_rate"), "grad_norm": logs.get("grad_norm"),
                "accuracy": logs.get("mean_token_accuracy"), "tokens": tokens, "time": now,
                "steps_per_s": steps_per_s, "tokens_per_s": tokens_per_s,
                "eta_s": remaining / steps_per_s if steps_per_s > 0 else None, "memory_bytes": memory_bytes()}

    def _write(self, record: dict) -> None:
        self.metrics.write(json.dumps(record) + "\n")
        self.metrics.flush()

    def on_save(self, args, state, control, **kw):
        self.status.update(checkpoint_step=state.global_step)

    def close(self) -> None:
        self.metrics.close()
        self.batches.close()


def memory_bytes() -> int | None:
    """Peak GPU memory allocated on CUDA, else the process's resident memory."""
    import torch

    if torch.cuda.is_available():
        return int(torch.cuda.max_memory_allocated())
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:
        return None
