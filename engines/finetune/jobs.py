"""Starting, stopping and resuming runs: everything is checked in the server, then a separate worker process trains.

The worker is ``python -m engines.finetune.worker`` in its own session, so a crash in training (out of memory, a
segfault, a kill) never takes the app down, and the server keeps serving while it trains. It reads its run folder
and writes its progress there (``engines.finetune.runs``). Its environment carries no API key or token.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engines import errors
from engines.config import Settings
from engines.finetune import data as fdata
from engines.finetune import plan as fplan
from engines.finetune import runs
from engines.finetune.spec import DataFacts, Hyper, RunSpec, check_hyper, schedule

ROOT = Path(__file__).resolve().parents[2]
_SLOT = threading.Lock()  # one start at a time in this process (the file lock covers other processes)
_SECRETISH = re.compile(r"(^|_)(API_KEY|KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?|AUTH)$", re.IGNORECASE)


def refuse_zero_gpu(settings: Settings) -> None:
    """Training needs a dedicated GPU: ZeroGPU lends one per call, for seconds to minutes.

    Raises:
        Unsupported: on a ZeroGPU Space.
    """
    if settings.zero_gpu:
        raise errors.Unsupported("Fine-tuning needs a dedicated GPU: on a ZeroGPU Space the GPU is lent per call and "
                                 "each call is time-limited, so a training run can't hold it. Duplicate the Space "
                                 "onto dedicated GPU hardware, or run the app on your own machine.")


@dataclass
class Prepared:
    """A run checked and ready to start: the base model, the data as the model will see it, the estimate."""

    facts: fplan.ModelFacts
    hyper: Hyper
    quantization: str
    device: str
    tokenizer: Any
    dataset: fdata.Dataset
    train: list[dict]
    heldout: list[dict]
    lengths: fdata.Lengths
    estimate: fplan.Estimate
    notices: list[str] = field(default_factory=list)

    @property
    def steps(self) -> dict[str, int]:
        """Total steps and the logging / eval / checkpoint intervals."""
        return schedule(len(self.train), self.hyper, bool(self.heldout))


def prepare(model: str, dataset: fdata.Dataset, hyper: Hyper, *, heldout_share: float = 0.1,
            settings: Settings | None = None) -> Prepared:
    """Check everything a run needs before it starts: model, data, lengths, targets, memory.

    Args:
        model: the base model reference.
        dataset: the examples (``engines.finetune.data``).
        hyper: method and hyperparameters.
        heldout_share: share of examples kept for evaluation (0 to 0.5).
        settings: deployment settings.

    Returns:
        The prepared run (nothing written yet).

    Raises:
        Unsupported: ZeroGPU, an API model, not a causal LM. DataError: empty data, every example too long.
        InvalidInput: bad hyperparameters or target modules. OutOfMemory: full fine-tuning that can't fit.
    """
    settings = settings or Settings.current()
    refuse_zero_gpu(settings)
    hyper = check_hyper(hyper)
    if not dataset.examples:
        raise fdata.DataError("The dataset is empty: it has no rows.")
    facts = fplan.inspect_model(model, settings)
    quant, notice = fplan.method_quantization(hyper.method, settings.device)
    est = fplan.estimate(facts, hyper, settings.device, quant)
    fplan.check_fits(facts, est)
    from engines.loading import load_tokenizer

    tokenizer = load_tokenizer(facts.ref)
    fold = fdata.needs_fold(tokenizer)
    trl_examples = [fdata.to_trl(e, tokenizer, fold=fold) for e in dataset.examples]
    train, held = fdata.split(trl_examples, heldout_share, hyper.seed)
    lengths = fdata.measure(train, tokenizer, hyper.max_length, hyper.seed)
    notices = [n for n in (notice, fdata.check_lengths(lengths, hyper.max_length)) if n] + list(dataset.notices)
    if fold:
        notices.append("This model's chat template has no system role: system text joins the first user turn.")
    if not getattr(tokenizer, "chat_template", None):
        notices.append("This model has no chat template (a base model): examples train as plain prompt + reply text.")
    if est.available_bytes and est.memory_bytes > est.available_bytes and hyper.method != "full":
        notices.append(f"This run may not fit: it needs about {est.memory_bytes / fplan.GIB:.1f} GB of "
                       f"{est.available_bytes / fplan.GIB:.1f} GB. Lower the batch size or max length, or turn "
                       "on gradient checkpointing.")
    return Prepared(facts=facts, hyper=hyper, quantization=quant, device=settings.device, tokenizer=tokenizer,
                    dataset=dataset, train=train, heldout=held, lengths=lengths, estimate=est, notices=notices)


def preview(prep: Prepared, n: int = 3) -> list[dict]:
    """The first training examples as the model sees them: each token's text and whether it carries loss.

    Returns:
        Per example: {"pieces": [str], "loss": [bool], "max_length": int, "tokens": int}.
    """
    out = []
    for example in prep.train[:n]:
        ids, mask = fdata.tokenize(prep.tokenizer, example)
        pieces = [prep.tokenizer.decode([i]) for i in ids]
        out.append({"pieces": pieces, "loss": [bool(m) for m in mask], "max_length": prep.hyper.max_length,
                    "tokens": len(ids)})
    return out


# ----------------------------------------------------------------------------------------------- start


def check_training_slot(settings: Settings | None = None) -> None:
    """Refuse a new training run while ``WORKBENCH_MAX_TRAINING_RUNS`` workers train (live processes are counted,
    not records: a crashed worker doesn't block).

    Raises:
        Busy: as many runs as allowed are training; the message names them.
    """
    settings = settings or Settings.current()
    limit = settings.max_training_runs
    busy = runs.training_runs(settings) if limit >= 1 else []
    if len(busy) >= limit >= 1:
        names = ", ".join(busy[:3]) + (f" and {len(busy) - 3} more" if len(busy) > 3 else "")
        what = "A run is training" if len(busy) == 1 else f"{len(busy)} runs are training"
        raise errors.Busy(f"{what}: {names}. Stop it or wait until it finishes: this app trains {limit} run"
                          f"{'s' if limit > 1 else ''} at a time (WORKBENCH_MAX_TRAINING_RUNS).")


@contextmanager
def _training_slot(settings: Settings) -> Iterator[None]:
    """Check the slot and start the worker under one lock, so two Starts at once can't both pass the check."""
    import fcntl

    root = runs.runs_root(settings)
    root.mkdir(parents=True, exist_ok=True)
    with _SLOT, open(root / ".start.lock", "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        check_training_slot(settings)
        yield


def start_run(prep: Prepared, settings: Settings | None = None) -> runs.RunView:
    """Write the run folder (spec, data) and start its worker.

    Returns:
        The new run, state *starting*.
    """
    settings = settings or Settings.current()
    refuse_zero_gpu(settings)
    ref = prep.facts.ref
    target = _local_base(ref)
    with _training_slot(settings):  # nothing is written for a refused run
        run_id = runs.new_run_id(ref.display)
        folder = runs.runs_root(settings) / run_id
        (folder / "data").mkdir(parents=True)
        for name, rows in (("train", prep.train), ("heldout", prep.heldout)):
            text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
            (folder / "data" / f"{name}.jsonl").write_text(text, encoding="utf-8")
        data = DataFacts(source=prep.dataset.source, form=prep.dataset.form, columns=prep.dataset.columns,
                         rows=len(prep.dataset.examples), train=len(prep.train), heldout=len(prep.heldout),
                         longest=prep.lengths.longest, too_long=prep.lengths.too_long)
        spec = RunSpec(id=run_id, base=ref.raw, base_target=target, base_display=ref.display,
                       base_hub_id=ref.name if ref.kind == "hub" else None, architecture=prep.facts.architecture,
                       params=prep.facts.params, quantization=prep.quantization, device=prep.device,
                       hyper=prep.hyper, targets=list(prep.estimate.targets), **prep.steps, data=data,
                       plan=fplan.describe(prep.estimate), notices=list(prep.notices))
        runs.write_json(folder / "run.json", spec.to_dict())
        spawn(folder, "train")
    return runs.read_run(run_id, settings)


def _local_base(ref) -> str:
    """Where the worker loads the base from. The worker gets no HF_TOKEN, so a gated Hub model is fetched here
    first (with the server's token) and the worker reads the local snapshot."""
    if ref.path is not None or ref.kind != "hub" or not (ref.spec and ref.spec.gated):
        return ref.target
    from huggingface_hub import snapshot_download

    from engines.loading import map_load_error

    try:
        return snapshot_download(ref.name, allow_patterns=["*.json", "*.safetensors", "*.model", "*.txt", "*.jinja",
                                                           "tokenizer*"])
    except Exception as exc:
        raise map_load_error(exc, ref) from exc


def worker_env() -> dict[str, str]:
    """The worker's environment: the server's, minus every secret (API keys, tokens, passwords)."""
    from engines.redact import SECRET_VARS

    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARS and not _SECRETISH.search(k)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    env.update(PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false", HF_HUB_DISABLE_TELEMETRY="1",
               HF_HUB_DISABLE_PROGRESS_BARS="1", HF_DATASETS_DISABLE_PROGRESS_BARS="1")
    return env


def spawn(folder: Path, mode: str) -> subprocess.Popen:
    """Start the worker for ``folder`` in its own session.

    The run reads *starting* from the moment this is called (status.json is replaced, never removed, so a refresh
    in between sees no gap), and spawn.json records the worker's pid and start time at once: the run stays
    *starting* until the worker reports, and is *crashed* only once that very process is gone."""
    spawned = time.time()
    runs.write_json(folder / "status.json", {"state": "starting", "spawned": spawned,
                                             "message": "Starting the training process…"})
    with open(folder / "worker.log", "a", encoding="utf-8") as log:
        proc = subprocess.Popen([sys.executable, "-m", "engines.finetune.worker", mode, str(folder)], cwd=ROOT,
                                env=worker_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    runs.write_json(folder / "spawn.json", {"pid": proc.pid, "created": _create_time(proc.pid), "spawned": spawned})
    threading.Thread(target=proc.wait, daemon=True, name=f"reap-{proc.pid}").start()  # no zombie left behind
    return proc


def _create_time(pid: int) -> float | None:
    """The process's start time (with its pid, it names this process even after the pid is reused)."""
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except (psutil.Error, OSError):
        return None


# ----------------------------------------------------------------------------------------------- stop / resume


def stop_run(run_id: str, settings: Settings | None = None) -> runs.RunView:
    """Ask a run to stop: the worker saves a checkpoint at the end of the current step and exits.

    Raises:
        InvalidInput: the run is not running.
    """
    view = runs.read_run(run_id, settings)
    if not view.live:
        raise errors.InvalidInput(f"Run {run_id} is not running (it is {view.state}).")
    (view.folder / "stop").write_text("stop requested\n", encoding="utf-8")
    view.message = "Stopping: a checkpoint is saved at the end of this step."
    return view


def resume_run(run_id: str, settings: Settings | None = None) -> runs.RunView:
    """Resume a stopped, failed or crashed run from its last checkpoint (same data, same order).

    Raises:
        InvalidInput: the run is running, or finished. Unsupported: ZeroGPU.
    """
    settings = settings or Settings.current()
    refuse_zero_gpu(settings)
    view = runs.read_run(run_id, settings)
    if view.live:
        raise errors.InvalidInput(f"Run {run_id} is still running.")
    if view.state == "done":
        raise errors.InvalidInput(f"Run {run_id} has finished: there is nothing to resume. Start a new run to train "
                                  "more.")
    with _training_slot(settings):
        (view.folder / "stop").unlink(missing_ok=True)
        spawn(view.folder, "resume")
    return runs.read_run(run_id, settings)


def merge_run(run_id: str, settings: Settings | None = None, timeout_s: float = 3600) -> Path:
    """Merge the run's adapter into its base and save the full model (in a worker process, like training).

    Returns:
        The merged model folder (a model reference).

    Raises:
        InvalidInput: the run has no adapter yet. ModelLoadError: the merge failed (with the worker's reason).
    """
    view = runs.read_run(run_id, settings)
    if view.adapter is None:
        raise errors.InvalidInput("This run has no saved adapter yet: wait until it is done.")
    if view.spec.hyper.method == "full":
        raise errors.InvalidInput("A full fine-tune is a whole model already: its folder is the tuned model.")
    with open(view.folder / "worker.log", "a", encoding="utf-8") as log:
        proc = subprocess.run([sys.executable, "-m", "engines.finetune.worker", "merge", str(view.folder)], cwd=ROOT,
                              env=worker_env(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                              timeout=timeout_s, start_new_session=True, check=False)
    merged = runs.read_run(run_id, settings).merged
    if proc.returncode != 0 or merged is None:
        reason = runs.read_json(view.folder / "merge.json", {}).get("message") or runs.log_tail(view.folder, 3)
        raise errors.ModelLoadError(f"Merging failed: {reason}")
    return merged
