"""One catalog entry: ModelSpec, the facts about one model, and the kinds of model the app offers."""

from __future__ import annotations

from dataclasses import dataclass, field

# kinds: chat (instruct LLM), code (code LLM), tokenizer (tokenizer-only preset), asr, tts, image, pipeline
KINDS = ("chat", "code", "tokenizer", "asr", "tts", "image", "pipeline")

# The pages the entries cite in ``source`` and ``price_source``.
HF = "https://huggingface.co/"
OPENAI_DOCS = "https://platform.openai.com/docs/models/"
OPENAI_PRICING = "https://openai.com/api/pricing/"


@dataclass(frozen=True)
class ModelSpec:
    """Facts about one model. ``id`` is a Hub id or a remote reference such as ``openai:gpt-4o-mini``."""

    id: str
    label: str
    kind: str
    family: str
    source: str
    params_b: float | None = None
    active_params_b: float | None = None
    context: int | None = None
    license: str | None = None
    gated: bool = False
    open_weights: bool = True
    release: str | None = None
    knowledge_cutoff: str | None = None
    training_tokens_t: float | None = None
    price_in: float | None = None
    price_out: float | None = None
    price_source: str | None = None
    price_per_min: float | None = None  # USD per audio minute, for APIs billed by duration
    no_system_role: bool = False
    cpu_friendly: bool = False
    tasks: tuple[str, ...] = ()
    notes: str = ""
    extra: dict = field(default_factory=dict, hash=False, compare=False)

    @property
    def local(self) -> bool:
        """True for models whose weights run in this process: a catalog id with a backend prefix (``prefix:name``)
        is served elsewhere (engines.backends says by whom; the registry stays import-light)."""
        return ":" not in self.id.split("/", 1)[0]
