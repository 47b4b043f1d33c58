"""The types every backend speaks: streamed chat chunks with their stats, tool calls, and capability flags.

``engines.chat`` re-exports ``ChatChunk`` and ``GenerationStats`` (the DESIGN.md contract); they live here so the
backends and the chat facade share them without importing each other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class GenerationStats:
    """Measured numbers of one generation. ``tokens`` counts generated tokens only (not the prompt)."""

    load_s: float
    ttft_s: float
    tokens: int
    tokens_per_s: float
    total_s: float
    prompt_tokens: int | None = None
    model: str = ""
    backend: str = ""
    device: str = ""
    quantization: str = ""
    memory_bytes: int | None = None
    peak_gpu_bytes: int | None = None
    cache_hit: bool = False
    finish_reason: str | None = None  # "stop" | "length" | "tool_calls" (| a server's own reason)
    context_window: int | None = None  # the model's window in tokens, where known


@dataclass
class ToolCall:
    """One call the model asked for. ``arguments`` is the JSON text exactly as the model wrote it (it may be
    invalid: the tool loop answers that to the model as the tool's error)."""

    id: str
    name: str
    arguments: str = "{}"

    def parsed(self) -> dict:
        """The arguments as a dict.

        Raises:
            ValueError: not a JSON object (the message says what is wrong).
        """
        try:
            value = json.loads(self.arguments or "{}")
        except ValueError as exc:
            raise ValueError(f"the arguments are not valid JSON ({exc.msg} at character {exc.pos})") from None
        if not isinstance(value, dict):
            raise ValueError("the arguments must be a JSON object")
        return value

    def as_message_part(self) -> dict:
        """The OpenAI chat form, as it goes into an assistant message's ``tool_calls``."""
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


@dataclass
class ChatChunk:
    """A streamed piece: ``text`` is the new delta; ``stats`` comes on the last chunk; ``notice`` on the first
    when something was changed for the user (quantization fallback, system prompt folded, ...); ``tool_calls`` on
    the chunk before the last when the model asked for tools (then ``stats.finish_reason == "tool_calls"``)."""

    text: str
    stats: GenerationStats | None = None
    notice: str | None = None
    tool_calls: list[ToolCall] | None = None


@dataclass(frozen=True)
class Capabilities:
    """What a backend can do for a model. Features that need one ask the flag and, when it is off, name the
    backends that have it (``engines.backends.which_can``)."""

    stream: bool = True
    tools: bool = False  # chat with tool schemas, returning ToolCall
    logprobs: bool = False  # log-probabilities of given text (log-likelihood choices, Min-K%)
    vision: bool = False  # image parts in user messages
    audio_input: bool = False  # audio parts in user messages
    tokenize: bool = False  # the model's own tokenizer runs here
    next_token: bool = False  # the next-token distribution
    local: bool = False  # runs in this process: weights, memory, quantization, internals
    transcription: bool = False  # a speech-to-text endpoint (remote backends; local Whisper is the speech engine's)

    def names(self) -> list[str]:
        """The flags that are on, in a fixed order."""
        return [f for f in CAPABILITY_NAMES if getattr(self, f)]


CAPABILITY_NAMES = ("stream", "tools", "logprobs", "vision", "audio_input", "tokenize", "next_token", "local",
                    "transcription")
CAPABILITY_LABELS = {"stream": "streaming", "tools": "tool calling", "logprobs": "log-probabilities",
                     "vision": "image input", "audio_input": "audio input", "tokenize": "its tokenizer",
                     "next_token": "next-token probabilities", "local": "local weights",
                     "transcription": "a speech-to-text endpoint"}


@dataclass
class Recipe:
    """How to reproduce a run with the plain libraries: the code a tab shows and the notebook it exports come from
    this one object, so they cannot disagree."""

    title: str
    code: str  # what the tab's code box shows, and the notebook's main cell
    packages: list[str] = field(default_factory=list)  # distributions to pin; empty: detected from the imports
    gpu: bool = False  # needs a CUDA GPU to run as written
    result_cell: str = ""  # a last cell that prints the result as one JSON line (optional)
    notes: list[str] = field(default_factory=list)  # sentences under the notebook's title
    gpu_reason: str = ""  # why it needs the GPU (said in the notebook's first cell)
    setup: list[str] = field(default_factory=list)  # notebook cells before ``code`` (e.g. the run's data files)
    after: list[str] = field(default_factory=list)  # notebook cells after ``code`` (e.g. compile and run the C++)
    outputs_markdown: str = ""  # what the app showed for this run, to compare against
    attachments: dict = field(default_factory=dict)  # name → {mime: base64}, on the outputs cell
