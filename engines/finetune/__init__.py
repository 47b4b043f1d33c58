"""Fine-tuning: LoRA / QLoRA / full supervised fine-tuning with peft and trl, in a separate worker process.

The flow: rows (a file, a Hub or local dataset, the Synthetic data tab) → ``data`` examples → ``jobs.prepare``
(checks model, data, lengths, targets, memory) → ``jobs.start_run`` (writes the run folder, starts the worker) →
``runs.read_run`` while it trains (state, metrics) → ``stop_run`` / ``resume_run`` → ``merge_run`` /
``push_run``. The tuned folder is a model reference like any other (``engines.chat.stream_chat`` loads it).
"""

from engines.finetune import checks
from engines.finetune.curves import loss_svg
from engines.finetune.data import DataError, Dataset, examples_from_rows, from_synthetic, read_file, read_hub
from engines.finetune.explain import explain as explain_hyper
from engines.finetune.jobs import (
    Prepared,
    check_training_slot,
    merge_run,
    prepare,
    preview,
    refuse_zero_gpu,
    resume_run,
    start_run,
    stop_run,
)
from engines.finetune.outputs import hub_push_available, model_card, push_run
from engines.finetune.plan import (
    Defaults,
    Estimate,
    ModelFacts,
    defaults,
    estimate,
    inspect_model,
    method_quantization,
)
from engines.finetune.runs import RunView, heldout_pairs, list_runs, read_run, read_spec, runs_root
from engines.finetune.spec import (
    METHOD_LABELS,
    METHODS,
    DataFacts,
    Hyper,
    RunSpec,
    check_hyper,
    schedule,
    total_steps,
)

__all__ = [
    "METHODS", "METHOD_LABELS", "DataError", "DataFacts", "Dataset", "Defaults", "Estimate", "Hyper", "ModelFacts",
    "Prepared", "RunSpec", "RunView", "check_hyper", "check_training_slot", "checks", "defaults", "estimate",
    "examples_from_rows", "explain_hyper", "from_synthetic", "heldout_pairs", "hub_push_available", "inspect_model",
    "list_runs", "loss_svg", "merge_run", "method_quantization", "model_card", "prepare", "preview", "push_run",
    "read_file", "read_hub", "read_run", "read_spec", "refuse_zero_gpu", "resume_run", "runs_root", "schedule",
    "start_run", "stop_run", "total_steps"
]
