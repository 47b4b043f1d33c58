"""Remote backends in one place: where ``openai:``, ``hf:`` and ``ollama:`` references are served, the ``openai``
client for them, and the mapping of client errors to WorkbenchErrors. Keys are read per call, never stored or shown.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from engines import errors
from engines.config import Settings
from engines.redact import redact
from engines.refs import ModelRef

HF_ROUTER = "https://router.huggingface.co/v1"
OLLAMA_DEFAULT = "http://localhost:11434"


@dataclass(frozen=True)
class Endpoint:
    """Where a remote reference is served and which variable holds its key."""

    provider: str
    base_url: str | None
    key_var: str | None


def endpoint_for(ref: ModelRef) -> Endpoint:
    """The endpoint for a remote reference, read from the environment now."""
    if ref.kind == "openai":
        return Endpoint("OpenAI-compatible server", os.environ.get("OPENAI_BASE_URL") or None, "OPENAI_API_KEY")
    if ref.kind == "hf":
        return Endpoint("HF Inference Providers",
                        os.environ.get("HF_API_BASE_URL") or HF_ROUTER, "HF_TOKEN")
    host = (os.environ.get("OLLAMA_HOST") or OLLAMA_DEFAULT).strip().rstrip("/")
    if "://" not in host:
        host = "http://" + host
    return Endpoint("Ollama", host + "/v1", None)


def openai_client(ref: ModelRef, settings: Settings | None = None):
    """An ``openai.OpenAI`` client for a remote reference. The key is read now, never stored or shown."""
    from openai import OpenAI

    ep = endpoint_for(ref)
    key = os.environ.get(ep.key_var, "").strip() if ep.key_var else "ollama"
    if not key:
        raise errors.MissingApiKey(f"'{ref.raw}' needs {ep.key_var}: set that environment variable and restart "
                                   f"(or pick a local model).")
    settings = settings or Settings.from_env()
    return OpenAI(base_url=ep.base_url, api_key=key, timeout=settings.remote_timeout_s, max_retries=1)


def map_remote_error(exc: BaseException, ref: ModelRef, received: int = 0) -> errors.WorkbenchError:
    """A WorkbenchError for an ``openai`` client exception (the key never appears in the message)."""
    import openai

    ep = endpoint_for(ref)
    where = _host(ep.base_url) if ep.base_url else "api.openai.com"
    detail = redact(server_message(exc))[:300]
    if isinstance(exc, openai.AuthenticationError):
        return errors.MissingApiKey(f"{ep.provider} ({where}) rejected the key in {ep.key_var} (401). "
                                    "Check that it is valid and set for this server.")
    if isinstance(exc, openai.PermissionDeniedError):
        return errors.RemoteError(f"{ep.provider} refused access to '{ref.name}' (403): {detail}")
    if isinstance(exc, openai.NotFoundError):
        return errors.ModelNotFound(f"{ep.provider} ({where}) does not serve a model named '{ref.name}'.")
    if isinstance(exc, openai.BadRequestError):
        if "context" in detail.lower() and ("length" in detail.lower() or "window" in detail.lower()):
            return errors.ContextTooLong(f"'{ref.raw}': {detail} Shorten the prompt or lower max new tokens.")
        return errors.RemoteError(f"{ep.provider} rejected the request (400): {detail}")
    if isinstance(exc, openai.RateLimitError):
        return errors.RemoteError(f"{ep.provider} is rate limiting this key (429). Wait a little and try again.")
    if received:
        return errors.RemoteError(f"The stream from {ep.provider} broke off after {received} chunks "
                                  f"({type(exc).__name__}). Try again.")
    if isinstance(exc, openai.APITimeoutError):
        return errors.RemoteError(f"{ep.provider} ({where}) did not answer in time.")
    if isinstance(exc, openai.APIConnectionError):
        return errors.RemoteError(f"Cannot reach {ep.provider} at {where}. Is the server running and the URL right?")
    if isinstance(exc, openai.APIStatusError):
        return errors.RemoteError(f"{ep.provider} answered with an error ({exc.status_code}): {detail}")
    return errors.RemoteError(f"{ep.provider} call failed: {type(exc).__name__}: {detail}")


def server_message(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error")
        msg = err.get("message") if isinstance(err, dict) else body.get("message")
        if msg:
            return str(msg)
    return str(getattr(exc, "message", None) or exc)


def _host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0].rsplit("@", 1)[-1]
