"""The facts a model outside the catalog tells about itself (Compare's facts table): read from its files, never
downloaded. Kept out of ``engines.registry`` (the catalog imports nothing heavy and reads no file)."""

from __future__ import annotations

from engines.registry.memory import estimate_memory_bytes


def _front_matter_license(readme) -> str | None:
    """The ``license:`` of a model card's YAML front matter, if any."""
    try:
        text = readme.read_text(encoding="utf-8", errors="replace")[:20_000]
    except OSError:
        return None
    if not text.startswith("---"):
        return None
    for line in text.split("\n---", 1)[0].splitlines()[1:]:
        key, _, value = line.partition(":")
        if key.strip() == "license" and value.strip():
            return value.strip().strip("'\"")
    return None


def local_facts_row(model: str, settings=None) -> dict | None:
    """The facts a model outside the catalog tells about itself: from its ``config.json`` (architecture, context,
    dtype), its weights' headers (exact parameter count; else an estimate from the config) and its model card's
    license. Nothing is downloaded: a Hub id counts only when its config is in the local cache.

    Args:
        model: a local folder, or a Hub id (in WORKBENCH_MODELS_DIR or the Hugging Face cache).
        settings: the deployment's settings (``engines.config.Settings``; read from the environment when None).

    Returns:
        A ``facts_row``-shaped dict (unknown facts ``None``) with ``architecture``, ``dtype`` and ``source`` saying
        what was read; None when no config could be read (an API model, a Hub id not downloaded).
    """
    import json
    from pathlib import Path

    from engines.arena.memory import _config_namespace, safetensors_params
    from engines.loading import estimate_params_b
    from engines.refs import model_names, parse_ref

    try:
        ref = parse_ref(model, settings)
    except Exception:  # the side-by-side run shows its error
        return None
    from engines.backends.registry import is_local

    if not is_local(ref, settings):
        return None
    folder = ref.path
    if folder is None:
        try:
            from huggingface_hub import try_to_load_from_cache

            cached = try_to_load_from_cache(ref.name, "config.json")
        except Exception:  # an id the cache helper rejects: nothing on disk
            cached = None
        folder = Path(cached).parent if isinstance(cached, str) else None
    config_path = folder / "config.json" if folder is not None else None
    if config_path is None or not config_path.is_file():
        return None
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    text = config.get("text_config") if isinstance(config.get("text_config"), dict) else config
    exact = safetensors_params(folder)
    params_b = exact / 1e9 if exact else estimate_params_b(_config_namespace(config_path))
    mem4, mem16 = estimate_memory_bytes(params_b, "4bit"), estimate_memory_bytes(params_b, "bf16")
    read = "config.json + the weights' headers (exact count)" if exact else "config.json (parameters estimated)"
    return {
        "id": model, "model": model_names(model)[0], "weights": "open (local files)",
        "params (B)": float(f"{params_b:.4g}") if params_b else None,
        "context": text.get("max_position_embeddings") or text.get("n_positions") or text.get("max_target_positions"),
        "architecture": (config.get("architectures") or [config.get("model_type")])[0],
        "dtype": config.get("dtype") or config.get("torch_dtype") or text.get("dtype") or text.get("torch_dtype"),
        "license": _front_matter_license(folder / "README.md"),
        "memory 4-bit (GB)": round(mem4 / 2**30, 2) if mem4 else None,
        "memory bf16 (GB)": round(mem16 / 2**30, 2) if mem16 else None,
        "source": f"read from {read}",
    }
