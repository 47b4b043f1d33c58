"""The backend protocol: what every model backend offers, and the default answer for what it can't do.

A backend is one module under ``engines/backends/`` that subclasses ``Backend`` and registers an instance
(``engines.backends.registry.register``). Callers never branch on a reference's prefix: they ask the registry for
the backend (``backend_for``) and its ``capabilities``, and call the methods below.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from engines import errors
from engines.backends.types import CAPABILITY_LABELS, Capabilities, ChatChunk, Recipe

if TYPE_CHECKING:
    from engines.config import Settings
    from engines.refs import ModelRef


class Backend:
    """One way of running models. Subclasses set ``name`` and ``prefixes`` and override what they support."""

    name: str = ""
    description: str = ""
    # reference prefixes it serves ("openai", ...); an empty tuple = Hub ids and local folders
    prefixes: tuple[str, ...] = ()

    def serves(self, ref: ModelRef, settings: Settings) -> bool:
        """Whether this backend runs ``ref``."""
        return ref.kind in self.prefixes

    def capabilities(self, ref: ModelRef | None, settings: Settings) -> Capabilities:
        """What it can do for ``ref`` (None: for a typical model of this backend)."""
        return Capabilities()

    def provider(self, ref: ModelRef, settings: Settings) -> str:
        """The name users see for where ``ref`` runs (``stats.backend``)."""
        return self.name

    def stream_chat(self, ref: ModelRef, messages: list[dict], *, max_new_tokens: int, temperature: float,
                    top_p: float | None, quantization: str, tools: list[dict] | None,
                    settings: Settings) -> Iterator[ChatChunk]:
        """Stream an answer (validated messages); with ``tools``, may end with a ``tool_calls`` chunk."""
        raise self.missing(ref, "stream", "Chat")

    def loglikelihoods(self, ref: ModelRef, requests: list[tuple[str, str]], *, quantization: str,
                       settings: Settings) -> list[float]:
        """Per (context, continuation): sum of log p(continuation tokens | context), natural log."""
        raise self.missing(ref, "logprobs", "Log-likelihood scoring")

    def next_tokens(self, ref: ModelRef, messages: list[dict], *, steps: int, top_k: int, temperature: float,
                    quantization: str, seed: int | None, prompt_format: str, settings: Settings) -> Iterator:
        """The next-token view: ``engines.next_token.TokenStep`` rows, one per generated token."""
        raise self.missing(ref, "next_token", "The next-token view")

    def tokenizer(self, ref: ModelRef, settings: Settings):
        """The model's own tokenizer, loaded here (cached)."""
        raise self.missing(ref, "tokenize", "Tokenizing")

    def chat_recipe(self, ref: ModelRef, messages: list[dict], *, max_new_tokens: int, temperature: float,
                    quantization: str) -> Recipe:
        """The code that reproduces a chat answer with the plain libraries."""
        raise self.missing(ref, "stream", "Show code")

    def missing(self, ref: ModelRef, capability: str, feature: str) -> errors.Unsupported:
        """The error for a feature this backend can't serve, naming the backends that can."""
        from engines.backends.registry import which_can

        label = CAPABILITY_LABELS.get(capability, capability)
        others = ", ".join(which_can(capability)) or "none here"
        return errors.Unsupported(f"{feature} needs {label}, which '{ref.raw}' ({self.name}) does not offer. "
                                  f"Backends with it: {others}.")
