"""Fine-tuning speed: training steps/s through the engine (worker process, callbacks, atomic checkpoints, batch
fingerprints) vs the plain trl script of the same run (the tab's "show code", run as is), same model and settings.

Both numbers are Trainer's own ``train_steps_per_second`` (steps / train_runtime: evaluations and checkpoints
included, model loading excluded). Prints
  finetune_steps_per_s: <ratio> (ours … vs trl …)    target ≥ 0.95
"""

from __future__ import annotations

import ast
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT

ROUNDS = int(os.environ.get("BENCH_FINETUNE_ROUNDS", "3"))
HYPER = {"max_steps": 30, "batch_size": 4, "learning_rate": 1e-3, "max_length": 64, "save_steps": 10,
         "eval_steps": 10, "logging_steps": 1, "rank": 16, "alpha": 32, "seed": 3}


def bench_model() -> Path:
    """A ~4M-parameter random Llama: big enough that a step is real compute, small enough for a 2-core CPU."""
    import tiny_models

    out = tiny_models.cache_root().parent / "bench-llama-4m"
    if (out / ".complete").exists():
        return out
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(tiny_models.build_all()["tok-llama"])
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=256, intermediate_size=768, num_hidden_layers=4,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    LlamaForCausalLM(cfg).save_pretrained(out)
    tok.save_pretrained(out)
    (out / ".complete").write_text("ok")
    return out


def rows(n: int = 48) -> list[dict]:
    """Prompt/completion pairs (the same data for both runs)."""
    return [{"prompt": f"Question {i}: what is {i} times 3?", "completion": f"It is {3 * i}, since {i} + {i} + {i} "
             f"= {3 * i}."} for i in range(n)]


def ours(model: Path, data_dir: Path) -> tuple[float, dict, Path]:
    """Train through the engine; (steps/s, the run's spec)."""
    os.environ["WORKBENCH_DATA_DIR"] = str(data_dir)
    from engines import finetune as ft

    data = ft.examples_from_rows(rows(), source="bench")
    run = ft.start_run(ft.prepare(str(model), data, ft.Hyper(**HYPER), heldout_share=0.2))
    deadline = time.monotonic() + 1800
    view = ft.read_run(run.id)
    while view.live and time.monotonic() < deadline:
        time.sleep(0.5)
        view = ft.read_run(run.id)
    if view.state != "done":
        sys.exit(f"engine run ended {view.state}: {view.message}\nstatus: {view.status}\nfolder kept: "
                 f"{view.folder}\n{ft.runs.log_tail(view.folder, 30)}")
    return float(view.status["train_metrics"]["train_steps_per_second"]), view.spec, view.folder


def plain_trl(spec: dict, run_folder: Path) -> float:
    """Run the show-code script of the same run in a fresh process; its steps/s."""
    from engines.finetune.jobs import worker_env
    from engines.snippets.finetune import finetune_code

    work = Path(tempfile.mkdtemp(prefix="bench-trl-"))
    for name in ("train.jsonl", "heldout.jsonl"):
        shutil.copy(run_folder / "data" / name, work / name)
    (work / "run.py").write_text(finetune_code(spec), encoding="utf-8")
    env = {k: v for k, v in worker_env().items() if k != "PYTHONPATH"}  # plain: no app code on the path
    proc = subprocess.run([sys.executable, "run.py"], cwd=work, env=env, capture_output=True, text=True, timeout=1800,
                          check=False)
    if proc.returncode != 0:
        sys.exit(f"plain trl script failed:\n{proc.stderr[-3000:]}")
    line = next(ln for ln in reversed(proc.stdout.splitlines()) if ln.startswith("{") and "train_runtime" in ln)
    shutil.rmtree(work, ignore_errors=True)
    return float(ast.literal_eval(line)["train_steps_per_second"])


def main() -> None:
    model = bench_model()
    root = Path(tempfile.mkdtemp(prefix="bench-finetune-"))
    mine, theirs = [], []
    for _ in range(ROUNDS):  # interleaved, so a busy spell on the machine hits both
        speed, spec, folder = ours(model, root)
        mine.append(speed)
        theirs.append(plain_trl(spec, folder))
    shutil.rmtree(root, ignore_errors=True)  # kept when a run fails, to read its worker.log
    a, b = statistics.median(mine), statistics.median(theirs)
    print(f"finetune_steps_per_s: {a / b:.3f} (ours {a:.3g} steps/s vs trl {b:.3g} steps/s; {ROUNDS} rounds, "
          f"{HYPER['max_steps']} LoRA steps of a 4M Llama, batch {HYPER['batch_size']} × {HYPER['max_length']} "
          "tokens, eval and checkpoint every 10)", flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
