"""Typed errors: every error an engine raises on purpose, each with a message a user can act on."""

from __future__ import annotations


class WorkbenchError(Exception):
    """Base class. ``str(err)`` is the user-facing message (never a traceback, never a secret)."""

    title = "Error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(WorkbenchError):
    """The user's input is malformed or out of range."""

    title = "Invalid input"


class InvalidModelRef(InvalidInput):
    """A model reference that is not a Hub id, an allowed local path or a known remote prefix."""

    title = "Invalid model reference"


class ModelNotAllowed(WorkbenchError):
    """A model this deployment does not allow (outside the catalog, local paths off, ...)."""

    title = "Model not allowed"


class ModelNotFound(WorkbenchError):
    """No such model on the Hub, in the models directory or on disk."""

    title = "Model not found"


class GatedModel(WorkbenchError):
    """The repository is gated: the license must be accepted and HF_TOKEN set."""

    title = "Gated model"


class HubUnreachable(WorkbenchError):
    """The Hugging Face Hub cannot be reached and the model is not cached locally."""

    title = "Hub unreachable"


class MissingApiKey(WorkbenchError):
    """A remote backend needs a key that is not set."""

    title = "Missing API key"


class RemoteError(WorkbenchError):
    """An OpenAI-compatible server answered with an error or could not be reached."""

    title = "Remote model error"


class StreamTruncated(RemoteError):
    """The server closed a streamed answer before it finished (no finish reason): the answer is incomplete."""

    title = "Answer cut off"


class RemoteTimeout(RemoteError):
    """A remote call took longer, in all, than ``WORKBENCH_REMOTE_TIMEOUT_S``."""

    title = "Remote model too slow"


class ContextTooLong(InvalidInput):
    """Prompt tokens plus max_new_tokens exceed the model's context window."""

    title = "Prompt too long"


class OutOfMemory(WorkbenchError):
    """The model or the request does not fit the available memory."""

    title = "Out of memory"


class ModelLoadError(WorkbenchError):
    """The model exists but could not be loaded (unsupported architecture, broken files, ...)."""

    title = "Model could not be loaded"


class Unsupported(WorkbenchError):
    """The request needs something this model or this hardware does not offer."""

    title = "Not supported"


class Busy(WorkbenchError):
    """The resource this request needs is taken (a training run holds the GPU): stop it or wait."""

    title = "Busy"


class NotAChatModel(Unsupported):
    """A model without a causal-LM / chat head (a speech, embedding or classifier model) given to a chat path."""

    title = "Not a chat model"
