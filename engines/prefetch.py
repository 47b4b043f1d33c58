"""Prefetch catalog models into a models directory, for a GPU box without internet (WORKBENCH_MODELS_DIR).

    python -m engines.prefetch --dir /models --defaults
    python -m engines.prefetch --dir /models Qwen/Qwen2.5-0.5B-Instruct openai/whisper-large-v3-turbo
    python -m engines.prefetch --list

Downloads are resumable (run the same command again); gated models are skipped without HF_TOKEN, saying so.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from engines import registry
from engines.config import Settings
from engines.redact import redact

# Weights in these formats are enough to load; skip duplicates such as original/*.pth or *.bin next to safetensors.
IGNORE = ["original/*", "*.pth", "*.pt", "*.msgpack", "*.h5", "*.ot", "*.onnx", "onnx/*", "flax_model*",
          "tf_model*", "rust_model*", "openvino/*", "coreml/*"]


@dataclass
class PrefetchResult:
    """What happened to one model."""

    model: str
    status: str  # "downloaded" | "skipped" | "failed"
    detail: str = ""
    bytes: int = 0


def default_ids() -> list[str]:
    """The catalog's default local models (not API models)."""
    ids = list(dict.fromkeys(registry.DEFAULTS.values()))
    return [i for i in ids if registry.get(i) is not None and registry.get(i).local]


def _size(api, repo_id: str, token: str | None) -> tuple[int, bool]:
    info = api.model_info(repo_id, files_metadata=True, token=token)
    total = 0
    for sibling in info.siblings or []:
        name = sibling.rfilename
        if not any(Path(name).match(p) or name.startswith(p.rstrip("*")) for p in IGNORE):
            total += sibling.size or 0
    return total, bool(getattr(info, "gated", False))


def prefetch_one(repo_id: str, target: Path, *, api=None, download=None) -> PrefetchResult:
    """Download one catalog model into ``target/<org>/<name>`` (resumable).

    Args:
        repo_id: a catalog Hub id.
        target: the models directory.
        api, download: injectable ``HfApi`` instance and ``snapshot_download`` (for tests).
    """
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub import errors as hub_errors

    spec = registry.get(repo_id)
    if spec is None or not spec.local:
        return PrefetchResult(repo_id, "skipped", "not a downloadable catalog model")
    api = api or HfApi()
    download = download or snapshot_download
    token = os.environ.get("HF_TOKEN") or None
    try:
        size, gated = _size(api, repo_id, token)
        if (gated or spec.gated) and not token:
            return PrefetchResult(repo_id, "skipped", "gated: accept its license on the Hub and set HF_TOKEN", size)
        print(f"↓ {repo_id}: {size / 2**30:.2f} GB", flush=True)
        download(repo_id=repo_id, local_dir=str(target / repo_id), ignore_patterns=IGNORE, token=token)
        return PrefetchResult(repo_id, "downloaded", str(target / repo_id), size)
    except hub_errors.GatedRepoError:
        return PrefetchResult(repo_id, "skipped", "gated: this token has no access; accept the license on the Hub")
    except Exception as exc:  # network, disk full, ...: report and go on with the next model
        return PrefetchResult(repo_id, "failed", redact(f"{type(exc).__name__}: {exc}")[:200])


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (1 when any download failed)."""
    parser = argparse.ArgumentParser(prog="python -m engines.prefetch", description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="*", help="catalog ids to fetch")
    models_dir = Settings.current().models_dir
    parser.add_argument("--dir", default=str(models_dir) if models_dir else None, help="models directory")
    parser.add_argument("--defaults", action="store_true", help="fetch the default model of every tab")
    parser.add_argument("--list", action="store_true", help="list catalog ids and exit")
    args = parser.parse_args(argv)
    if args.list:
        for spec in registry.all_specs():
            if spec.local:
                print(f"{spec.id:55} {spec.kind:9} {spec.params_b or '':>6} B  {'gated' if spec.gated else ''}")
        return 0
    if not args.dir:
        parser.error("give --dir or set WORKBENCH_MODELS_DIR")
    ids = list(dict.fromkeys(args.models + (default_ids() if args.defaults else [])))
    if not ids:
        parser.error("name catalog ids or pass --defaults")
    unknown = [i for i in ids if registry.get(i) is None]
    if unknown:
        parser.error(f"not in the catalog: {', '.join(unknown)} (see --list)")
    target = Path(args.dir).expanduser()
    target.mkdir(parents=True, exist_ok=True)
    results = [prefetch_one(i, target) for i in ids]
    for r in results:
        print(f"{r.status:10} {r.model:55} {r.bytes / 2**30:6.2f} GB  {r.detail}")
    print(f"\nSet WORKBENCH_MODELS_DIR={target} to run these models offline.")
    return 1 if any(r.status == "failed" for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
