"""Remote backends in one place: where ``openai:``, ``hf:`` and ``ollama:`` references are served, the ``openai``
client for them, the mapping of client errors to WorkbenchErrors, and the bounds every remote answer keeps (a whole
call within ``WORKBENCH_REMOTE_TIMEOUT_S``, an answer within a size its max tokens allow). Keys are read per call,
never stored or shown.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing

from engines import errors
from engines.backends.endpoints import HF_ROUTER, OLLAMA_DEFAULT, Endpoint, endpoint  # noqa: F401
from engines.config import Settings, in_this_call
from engines.redact import redact
from engines.refs import ModelRef

# An answer's characters per requested token before it counts as ignoring max_tokens: real tokens average ~4
# characters and rarely pass 16 (runs of spaces in code), so only a server that ignores the limit goes past this.
CHARS_PER_TOKEN_CAP = 32
READ_AHEAD = 64  # stream items a reader thread holds for its consumer (what a runaway server can pile up)


def endpoint_for(ref: ModelRef, settings: Settings | None = None) -> Endpoint:
    """The endpoint of a remote reference, read from the environment now.

    Raises:
        InvalidModelRef: a prefix no backend serves (never a silent default).
    """
    settings = settings or Settings.current()
    ep = endpoint(ref.kind, settings.endpoints)
    if ep is None:
        raise errors.InvalidModelRef(f"'{ref.raw}' is not served by an OpenAI-compatible endpoint this app knows.")
    return ep


def openai_client(ref: ModelRef, settings: Settings | None = None):
    """An ``openai.OpenAI`` client for a remote reference. The key is read now, never stored or shown."""
    from openai import OpenAI

    settings = settings or Settings.current()
    ep = endpoint_for(ref, settings)
    key = os.environ.get(ep.key_var, "").strip() if ep.key_var else ""
    if not key and not ep.key_required:
        key = "ollama" if ep.key_var is None else "none"  # Ollama and most self-hosted servers take any key
    if not key:
        raise errors.MissingApiKey(f"'{ref.raw}' needs {ep.key_var}: set that environment variable and restart "
                                   f"(or pick a local model).")
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
    if received:  # the answer was under way: cut off, like a stream that ends without a finish reason
        return errors.StreamTruncated(f"The stream from {ep.provider} broke off after {received} chunks "
                                      f"({type(exc).__name__}): the answer is incomplete. Try again.")
    if isinstance(exc, openai.APITimeoutError):
        return errors.RemoteError(f"{ep.provider} ({where}) did not answer in time.")
    if isinstance(exc, openai.APIConnectionError):
        return errors.RemoteError(f"Cannot reach {ep.provider} at {where}. Is the server running and the URL right?")
    if isinstance(exc, openai.APIStatusError):
        return errors.RemoteError(f"{ep.provider} answered with an error ({exc.status_code}): {detail}")
    return errors.RemoteError(f"{ep.provider} call failed: {type(exc).__name__}: {detail}")


def answer_char_cap(max_new_tokens: int) -> int:
    """The most characters a remote answer of ``max_new_tokens`` tokens may have before it is cut (a generous bound:
    only a server that ignores the limit reaches it)."""
    return CHARS_PER_TOKEN_CAP * max(1, int(max_new_tokens)) + 1024


def timeout_error(ref: ModelRef, seconds: float, received: int = 0) -> errors.RemoteTimeout:
    """The error of a remote call that ran past its deadline (``WORKBENCH_REMOTE_TIMEOUT_S``)."""
    ep = endpoint_for(ref)
    where = _host(ep.base_url) if ep.base_url else "api.openai.com"
    got = f" after {received} chunk(s)" if received else " before it started answering"
    return errors.RemoteTimeout(f"{ep.provider} ({where}) did not finish '{ref.raw}' within {seconds:g} s "
                                f"(WORKBENCH_REMOTE_TIMEOUT_S): it was stopped{got}. Try again, ask for fewer tokens, "
                                "or raise the timeout.")


def read_within(open_stream: Callable[[], Iterable], seconds: float,
                on_timeout: Callable[[], BaseException]) -> Iterator:
    """Iterate ``open_stream()`` so that the whole wait, from the request to the stream's end (the pauses between
    chunks included), takes at most ``seconds``; then ``on_timeout()`` is raised.

    The ``openai`` client's timeout bounds each socket read, not the call: a server that sends a word every few
    seconds, or hangs before its headers while the client retries, holds a caller far past it. So the request is
    made and read in a daemon thread, and this generator waits on it with the deadline. Its errors are raised here.
    Closing this generator (or the deadline) tells the thread to close the stream; a thread blocked in a read ends
    when that read times out.
    """
    items: queue.Queue = queue.Queue(maxsize=READ_AHEAD)
    cancelled = threading.Event()

    def put(entry: tuple) -> bool:
        while not cancelled.is_set():
            try:
                items.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            stream = open_stream()
            try:
                for item in stream:
                    if not put((True, item)):
                        return
            finally:
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
            put((False, None))
        except BaseException as exc:  # handed to the consumer, never raised in this thread
            put((False, exc))

    deadline = time.monotonic() + seconds
    threading.Thread(target=in_this_call(read), name="remote-read", daemon=True).start()
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise on_timeout()
            try:
                ok, value = items.get(timeout=remaining)
            except queue.Empty:
                raise on_timeout() from None
            if ok:
                yield value
            elif value is None:
                return
            else:
                raise value
    finally:
        cancelled.set()


def call_within(call: Callable[[], object], seconds: float, on_timeout: Callable[[], BaseException]):
    """``call()`` with the whole wait bounded by ``seconds`` (as ``read_within``): its result, or its error."""
    with closing(read_within(lambda: [call()], seconds, on_timeout)) as values:
        return next(values, None)


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
