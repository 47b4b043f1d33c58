"""Model and Space details: facts, card summary, parameters and dtypes from the safetensors headers (no weight is
downloaded), files and sizes, the memory needed at 4-bit / 8-bit / bf16 and whether it fits this machine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engines import errors, registry
from engines.config import Settings
from engines.hub import client
from engines.hub.cards import CardSummary, card_summary
from engines.hub.search import date, gated_text, license_of

MEMORY_QUANTS = ("4bit", "8bit", "bf16")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "vocab.json", "vocab.txt",
                   "spiece.model", "sentencepiece.bpe.model")
# Hub pipeline tag → the Pipelines tab's task key (engines.pipelines.TASKS)
PIPELINE_TASKS = {
    "text-classification": "sentiment-analysis", "zero-shot-classification": "zero-shot-classification",
    "token-classification": "ner", "question-answering": "question-answering", "summarization": "summarization",
    "translation": "translation", "text-generation": "text-generation", "fill-mask": "fill-mask",
    "feature-extraction": "feature-extraction", "sentence-similarity": "feature-extraction",
    "automatic-speech-recognition": "automatic-speech-recognition", "text-to-speech": "text-to-speech",
    "text-to-audio": "text-to-audio", "text-to-image": "text-to-image",
}
CHAT_TASKS = ("text-generation", "image-text-to-text")


@dataclass
class MemoryFit:
    """The memory one quantization needs here, and whether it fits and runs on this device."""

    quantization: str
    needed_bytes: int | None
    fits: bool | None  # None = unknown (no parameter count, or free memory unknown)
    runs_here: bool  # False: this device can't load it that way (e.g. bitsandbytes without CUDA)
    note: str = ""


@dataclass
class RepoFacts:
    """What every model and dataset page shows first (None = the Hub did not say)."""

    id: str
    url: str
    license: str | None = None
    gated: str = "no"  # "no" | "auto" | "manual"
    private: bool = False
    downloads: int | None = None  # last 30 days
    likes: int | None = None
    updated: str | None = None  # YYYY-MM-DD
    card: CardSummary = field(default_factory=CardSummary)


@dataclass
class ModelDetail(RepoFacts):
    """Everything the Hub tab shows about one model."""

    task: str | None = None
    library: str | None = None
    tags: tuple[str, ...] = ()
    params: int | None = None
    dtypes: dict[str, int] = field(default_factory=dict)
    params_source: str = ""  # "safetensors headers" | "Hub summary" | ""
    files: list[tuple[str, int | None]] = field(default_factory=list)
    total_bytes: int | None = None
    memory: list[MemoryFit] = field(default_factory=list)
    available_bytes: int | None = None
    pool: str = ""
    device: str = "cpu"
    auto_quantization: str = ""
    capabilities: tuple[str, ...] = ()  # pipeline, tokenizer, chat, speech, image
    pipeline_task: str | None = None
    notes: list[str] = field(default_factory=list)


def check_id(repo_id: str | None, kind: str = "model") -> str:
    """A Hub repository id, validated (org/name, no URL)."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    value = (repo_id or "").strip()
    if not value:
        raise errors.InvalidInput(f"Give a {kind} id like org/name (or pick a row of the results).")
    if "://" in value or value.startswith("www."):
        raise errors.InvalidInput(f"'{value[:80]}' is a URL: give the {kind}'s id (org/name) instead.")
    try:
        validate_repo_id(value)
    except HFValidationError:
        raise errors.InvalidInput(f"'{value[:80]}' is not a valid Hub id: use org/name (letters, digits, - _ .)."
                                  ) from None
    return value


def _read_headers(repo_id: str):
    from huggingface_hub.errors import NotASafetensorsRepoError, SafetensorsParsingError

    try:
        return client.api().get_safetensors_metadata(repo_id, timeout=client.timeout_s())
    except (NotASafetensorsRepoError, SafetensorsParsingError):
        return None


def _safetensors(repo_id: str, info: Any) -> tuple[int | None, dict[str, int], str, str]:
    """(params, dtypes, source, note): the headers first (exact), else the Hub's own summary."""
    note = ""
    try:
        meta = client.call(lambda: _read_headers(repo_id), what=f"the safetensors headers of {repo_id}",
                           repo_id=repo_id)
        counts = {str(k): int(v) for k, v in meta.parameter_count.items()} if meta is not None else {}
        if counts:
            return sum(counts.values()), counts, "safetensors headers", ""
        note = "No safetensors weights at the top of the repository (.bin, GGUF or a diffusers pipeline)."
    except errors.GatedModel:
        note = "The weights are behind the gate: accept the terms and set HF_TOKEN to read their headers here."
    except (errors.HubUnreachable, client.HubRateLimited):
        raise
    except errors.WorkbenchError as exc:
        note = f"The safetensors headers could not be read: {exc}"
    st = getattr(info, "safetensors", None)
    if st is not None and st.total:
        return int(st.total), {str(k): int(v) for k, v in (st.parameters or {}).items()}, "Hub summary", note
    return None, {}, "", note


def memory_fit(params: int | None, settings: Settings | None = None, available: int | None = None
               ) -> tuple[list[MemoryFit], int | None, str]:
    """The memory each of 4-bit / 8-bit / bf16 needs (``registry.estimate_memory_bytes``) against what is free
    where a model would load (``engines.arena.available_memory``, the Compare tab's fit check).

    Args:
        params: parameter count (None = unknown).
        settings: deployment settings (the device).
        available: free bytes to check against (default: measured now).

    Returns:
        (one MemoryFit per quantization, free bytes or None, the pool's name).
    """
    from engines import arena
    from engines.quant import resolve_quantization

    settings = settings or Settings.current()
    pool = "memory"
    if available is None:
        available, pool = arena.available_memory(settings.device, settings)
    params_b = params / 1e9 if params else None
    rows = []
    for quant in MEMORY_QUANTS:
        need = registry.estimate_memory_bytes(params_b, quant) if params_b else None
        _, notice = resolve_quantization(quant, settings.device, params_b)
        fits = None if need is None or available is None else need <= available
        rows.append(MemoryFit(quant, need, fits, notice is None, notice or ""))
    return rows, available, pool


def capabilities(repo_id: str, task: str | None, library: str | None, tags: tuple[str, ...],
                 files: list[str]) -> tuple[str, ...]:
    """What the app can do with a model: pipeline (a Pipelines task), tokenizer, chat, speech (Whisper), image."""
    names = {f.rsplit("/", 1)[-1] for f in files}
    caps = []
    if task in PIPELINE_TASKS:
        caps.append("pipeline")
    if names & set(TOKENIZER_FILES):
        caps.append("tokenizer")
    if task in CHAT_TASKS or "conversational" in tags:
        caps.append("chat")
    if task == "automatic-speech-recognition" and ("whisper" in tags or "whisper" in repo_id.lower()):
        caps.append("speech")
    if library == "diffusers" or task == "text-to-image":
        caps.append("image")
    return tuple(caps)


def _card_meta(info: Any) -> dict:
    card = getattr(info, "card_data", None)
    return card.to_dict() if card is not None and hasattr(card, "to_dict") else {}


def model_detail(repo_id: str, *, settings: Settings | None = None, available: int | None = None) -> ModelDetail:
    """Facts, card summary, parameters, files and memory fit of one Hub model (cached briefly).

    Args:
        repo_id: the model id (org/name).
        settings: deployment settings (the device for the memory check).
        available: free bytes for the fit check (default: measured now).

    Returns:
        A ModelDetail.

    Raises:
        InvalidInput: a malformed id; HubNotFound, HubAccessDenied, HubUnreachable, HubRateLimited, HubError.
    """
    repo_id = check_id(repo_id)
    settings = settings or Settings.current()

    def fetch() -> ModelDetail:
        info = client.call(lambda: client.api().model_info(repo_id, files_metadata=True, timeout=client.timeout_s()),
                           what=repo_id, repo_id=repo_id, settings=settings)
        detail = _from_info(info)
        detail.card = card_summary(repo_id, "model", _card_meta(info))
        detail.params, detail.dtypes, detail.params_source, note = _safetensors(repo_id, info)
        if note:
            detail.notes.append(note)
        return detail

    detail, _ = client.cached(("model", repo_id), fetch, settings)
    return _with_memory(detail, settings, available)


def _from_info(info: Any) -> ModelDetail:
    files = [(s.rfilename, s.size) for s in info.siblings or ()]
    sizes = [size for _, size in files if size is not None]
    tags = tuple(info.tags or ())
    return ModelDetail(
        id=info.id, url=client.repo_url(info.id), task=info.pipeline_tag, library=info.library_name,
        license=license_of(info), gated=gated_text(info.gated), private=bool(info.private), downloads=info.downloads,
        likes=info.likes, updated=date(info.last_modified or info.created_at), tags=tags, files=files,
        total_bytes=sum(sizes) if sizes else None, pipeline_task=PIPELINE_TASKS.get(info.pipeline_tag or ""),
        capabilities=capabilities(info.id, info.pipeline_tag, info.library_name, tags, [f for f, _ in files]))


def _with_memory(detail: ModelDetail, settings: Settings, available: int | None) -> ModelDetail:
    """A copy of a (cached) detail with the memory check measured now."""
    from dataclasses import replace

    from engines import arena
    from engines.quant import resolve_quantization

    rows, free, pool = memory_fit(detail.params, settings, available)
    params_b = detail.params / 1e9 if detail.params else None
    auto, _ = resolve_quantization("auto", settings.device, params_b)
    notes = list(detail.notes)
    if params_b and free is not None and not any(r.fits and r.runs_here for r in rows):
        notes.append(arena.what_would_fit(params_b, auto, settings.device, free))
    return replace(detail, memory=rows, available_bytes=free, pool=pool, device=settings.device,
                   auto_quantization=auto, notes=notes)


# ------------------------------------------------------------------------------------------------ spaces


@dataclass
class SpaceDetail:
    """Everything the Hub tab shows about one Space."""

    id: str
    url: str
    app_url: str | None = None
    title: str | None = None
    emoji: str | None = None
    description: str | None = None
    sdk: str | None = None
    sdk_version: str | None = None
    hardware: str | None = None
    requested_hardware: str | None = None
    stage: str | None = None
    likes: int | None = None
    license: str | None = None
    updated: str | None = None
    models: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()


def space_detail(repo_id: str, settings: Settings | None = None) -> SpaceDetail:
    """SDK, hardware, state and links of one Space (cached briefly).

    Args:
        repo_id: the Space id (org/name).
        settings: the deployment's settings (read from the environment when None).

    Returns:
        A SpaceDetail.
    """
    repo_id = check_id(repo_id, "Space")

    def fetch() -> SpaceDetail:
        info = client.call(lambda: client.api().space_info(repo_id, timeout=client.timeout_s()), what=repo_id,
                           kind="space", repo_id=repo_id, settings=settings)
        card = getattr(info, "card_data", None)
        runtime = getattr(info, "runtime", None)
        host = getattr(info, "host", None) or (f"https://{info.subdomain}.hf.space" if info.subdomain else None)
        return SpaceDetail(
            id=info.id, url=client.repo_url(info.id, "space"), app_url=host, title=getattr(card, "title", None),
            emoji=getattr(card, "emoji", None), description=getattr(card, "short_description", None),
            sdk=info.sdk, sdk_version=getattr(card, "sdk_version", None),
            hardware=runtime.hardware if runtime else None,
            requested_hardware=runtime.requested_hardware if runtime else None,
            stage=runtime.stage if runtime else None, likes=info.likes, license=license_of(info),
            updated=date(info.last_modified or info.created_at), models=tuple(info.models or ()),
            datasets=tuple(info.datasets or ()))

    detail, _ = client.cached(("space", repo_id), fetch, settings)
    return detail
