"""What a run leaves behind: the model card (base, data, hyperparameters, curves), folders replaced atomically, and
the push of an adapter or a merged model to the Hub (HF_TOKEN)."""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import asdict
from pathlib import Path

from engines import errors
from engines.config import Settings
from engines.finetune import runs
from engines.finetune.curves import loss_svg, series
from engines.finetune.spec import METHOD_LABELS, RunSpec

_REPO_ID = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9_.\-]{0,95}/)?[A-Za-z0-9][A-Za-z0-9_.\-]{0,95}$")
HYPER_LABELS = {"rank": "LoRA rank", "alpha": "LoRA alpha", "dropout": "LoRA dropout",
                "learning_rate": "learning rate", "epochs": "epochs", "batch_size": "batch size",
                "grad_accum": "gradient accumulation",
                "max_length": "max length (tokens)", "grad_checkpointing": "gradient checkpointing",
                "max_steps": "max steps (0 = by epochs)", "seed": "seed"}


def replace_dir(tmp: Path, final: Path) -> Path:
    """Put the finished folder ``tmp`` at ``final``; an older ``final`` goes only once the new one is in place."""
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)
    return final


def model_card(view: runs.RunView, kind: str) -> str:
    """The README.md of a run's output: base, data, hyperparameters, results and curves, how to load it.

    Args:
        view: the run.
        kind: "adapter", "merged" or "model" (a full fine-tune).
    """
    spec, status = view.spec, view.status
    h, d = spec.hyper.to_dict(), asdict(spec.data)
    method = spec.hyper.method
    hub_base = spec.base_hub_id
    tags = ["llm-workbench", "trl", "sft"] + (["peft", "lora"] if method != "full" else []) + \
        (["qlora"] if method == "qlora" else [])
    front = ["---"] + ([f"base_model: {hub_base}"] if hub_base else []) + \
        [f"library_name: {'peft' if kind == 'adapter' else 'transformers'}", "tags:"] + [f"- {t}" for t in tags] + \
        ["---", ""]
    train, held = series(view.metrics)
    rows = [f"| {k} | {h.get(key)} |" for key, k in HYPER_LABELS.items() if key in h and
            (method != "full" or key not in ("rank", "alpha", "dropout"))]
    targets = ", ".join(spec.targets) or "—"
    lines = front + [
        f"# {METHOD_LABELS.get(method, method)} fine-tune of {spec.base_display or '?'}", "",
        f"Supervised fine-tuning with trl's `SFTTrainer` (loss on the completion tokens only), made with the LLM "
        f"Workbench Fine-tune tab. This folder holds {_what(kind)}.", "",
        "## Base model", "", f"- **model**: `{hub_base or spec.base_display}` ({spec.architecture}, "
        f"{int(spec.params or 0) / 1e9:.3g}B parameters)",
        f"- **loaded as**: {spec.quantization} on {spec.device or '?'}", "",
        "## Data", "", f"- **source**: {d.get('source')}", f"- **form**: {d.get('form')} "
        f"({', '.join(f'{k} ← {v}' for k, v in (d.get('columns') or {}).items())})",
        f"- **examples**: {d.get('rows')} → {d.get('train')} train / {d.get('heldout')} held out "
        f"(seeded split, seed {h.get('seed')})", "",
        "## Hyperparameters", "", "| setting | value |", "|---|---|", *rows,
        f"| target modules | {targets} |" if method != "full" else "", "",
        "## Results", "", f"- **steps**: {status.get('step')} of {status.get('max_steps') or spec.total_steps}",
        f"- **final train loss**: {train[-1][1]:.4f}" if train else "- **final train loss**: —",
        f"- **final held-out loss**: {held[-1][1]:.4f}" if held else "- **held-out loss**: — (no held-out split)",
        _trainable(status), "", "![loss curves](training_curves.svg)", "", *_points(train, held), "",
        "## Use", "", "```python", "from transformers import AutoModelForCausalLM, AutoTokenizer", "",
        "model_id = '<this folder or repo>'", "tokenizer = AutoTokenizer.from_pretrained(model_id)",
        "model = AutoModelForCausalLM.from_pretrained(model_id)"
        + ("  # peft installed: loads the base, then this adapter" if kind == "adapter" else ""), "```", ""]
    return "\n".join(line for line in lines if line is not None)


def _what(kind: str) -> str:
    return {"adapter": "the LoRA adapter (load it on top of the base model)",
            "merged": "the base model with the adapter merged in (a standalone model)",
            "model": "the fully fine-tuned model"}[kind]


def _trainable(status: dict) -> str:
    trainable, total = status.get("trainable"), status.get("total")
    if not trainable or not total:
        return ""
    return f"- **trainable parameters**: {trainable:,} of {total:,} ({100 * trainable / total:.3g}%)"


def _points(train: list, held: list, n: int = 12) -> list[str]:
    if not train:
        return []
    held_at = dict(held)
    picked = train[:: max(1, len(train) // n)][:n] + ([train[-1]] if len(train) > n else [])
    out = ["| step | train loss | held-out loss |", "|---|---|---|"]
    for step, loss in picked:
        held_loss = f"{held_at[step]:.4f}" if step in held_at else ""
        out.append(f"| {step} | {loss:.4f} | {held_loss} |")
    return out


def write_card(folder: Path, view: runs.RunView, kind: str) -> None:
    """Write README.md and training_curves.svg into an output folder."""
    (folder / "README.md").write_text(model_card(view, kind), encoding="utf-8")
    total = view.status.get("max_steps") or view.spec.total_steps
    (folder / "training_curves.svg").write_text(loss_svg(view.metrics, max_steps=total), encoding="utf-8")


# ----------------------------------------------------------------------------------------------- Hub


def hub_push_available() -> bool:
    """True when HF_TOKEN is set (read now)."""
    return bool(os.environ.get("HF_TOKEN", "").strip())


def push_run(run_id: str, repo_id: str, *, private: bool = True, merged: bool = False,
             settings: Settings | None = None) -> str:
    """Push a run's adapter (or its merged model) to a Hub model repository, with its card, in one commit.

    Args:
        run_id: the run.
        repo_id: "user/name" or "org/name".
        private: create the repository as private.
        merged: push the merged model instead of the adapter.
        settings: deployment settings.

    Returns:
        The model's URL.

    Raises:
        MissingApiKey: no HF_TOKEN or rejected. InvalidInput: bad repo id, or nothing to push yet.
        HubUnreachable / RemoteError: the Hub could not be reached or refused.
    """
    token = os.environ.get("HF_TOKEN", "").strip()
    if not token:
        raise errors.MissingApiKey("Pushing to the Hub needs HF_TOKEN (a token with write access): set it, restart.")
    repo_id = (repo_id or "").strip()
    if not _REPO_ID.match(repo_id) or ".." in repo_id:
        raise errors.InvalidInput(f"'{repo_id[:100]}' is not a valid model id: use user/name or org/name.")
    view = runs.read_run(run_id, settings)
    folder = view.merged if merged else (view.adapter or _full(view))
    if folder is None:
        raise errors.InvalidInput("Nothing to push yet: " + ("merge the adapter first." if merged else
                                                              "wait until the run is done."))
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(token=token)
    try:
        url = api.create_repo(repo_id, repo_type="model", private=bool(private), exist_ok=True)
        full_id = getattr(url, "repo_id", None) or repo_id
        ops = [CommitOperationAdd(path_in_repo=name, path_or_fileobj=content)
               for name, content in _files(folder, view.spec)]
        api.create_commit(full_id, ops, commit_message=f"Upload fine-tuned {view.spec.base_display} "
                                                       "(LLM Workbench)", repo_type="model")
    except errors.WorkbenchError:
        raise
    except Exception as exc:
        raise _hub_error(exc, repo_id) from None
    return f"https://huggingface.co/{full_id}"


def _full(view: runs.RunView) -> Path | None:
    path = view.folder / "model" if view.folder else None
    return path if path is not None and (path / "config.json").is_file() else None


def _files(folder: Path, spec: RunSpec):
    """(path in repo, bytes or local path) of an output folder; the adapter names its base by Hub id, never by
    a path on this server."""
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        name = path.relative_to(folder).as_posix()
        if name == "adapter_config.json":
            cfg = json.loads(path.read_text(encoding="utf-8"))
            cfg["base_model_name_or_path"] = spec.base_hub_id or spec.base_display
            yield name, json.dumps(cfg, indent=2).encode()
        else:
            yield name, str(path)


def _hub_error(exc: Exception, repo_id: str) -> errors.WorkbenchError:
    from engines.hub.push import push_error

    return push_error(exc, repo_id, "the model stays saved in the app's data directory.")
