"""Errors of a push to the Hub (the Synthetic data tab's dataset, the Fine-tune tab's adapter), mapped once."""

from __future__ import annotations

from engines import errors
from engines.redact import redact


def push_error(exc: Exception, repo_id: str, meanwhile: str) -> errors.WorkbenchError:
    """A WorkbenchError for a failed push: a refused token (401), no write access (403), another refusal, or the
    Hub out of reach — the message never carries the token.

    Args:
        exc: what huggingface_hub raised.
        repo_id: the repository pushed to.
        meanwhile: what the user still has when the Hub can't be reached (e.g. "download the files instead").
    """
    status = getattr(getattr(exc, "response", None), "status_code", None)
    detail = redact(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)[:200]
    if status == 401:
        return errors.MissingApiKey("The Hub rejected HF_TOKEN (401): check that it is valid.")
    if status == 403:
        return errors.RemoteError(f"HF_TOKEN may not write to '{repo_id}' (403): use a token with write access "
                                  "to that user or organisation.")
    if status is not None:
        return errors.RemoteError(f"The Hub refused the push ({status}): {detail}")
    name = type(exc).__name__.lower()
    if "connect" in name or "timeout" in name or isinstance(exc, OSError):
        return errors.HubUnreachable(f"The Hugging Face Hub cannot be reached: check the network; {meanwhile}")
    return errors.RemoteError(f"Pushing to the Hub failed: {type(exc).__name__}: {detail}")
