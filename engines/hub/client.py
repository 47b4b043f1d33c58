"""How the Hub tab talks to the Hub: endpoint, token, timeouts, offline detection, typed errors, a short TTL cache.

Every call goes through ``call``:

- ``HF_HUB_OFFLINE=1`` (read now, and huggingface_hub's own import-time flag) → ``HubUnreachable`` at once;
- a TCP probe of the endpoint's host (cached per host) → ``HubUnreachable`` in seconds, not after retries;
- the call runs in a worker thread with a deadline of ``WORKBENCH_HUB_TIMEOUT_S`` (default 15 s). Inside it, two
  hooks on huggingface_hub's shared HTTP session apply to this call only (a ContextVar scopes them): requests get
  that timeout where the library sets none (``list_models`` sets none), a retry after the deadline is refused,
  and a 429 or 5xx answer fails at once instead of going through the library's ~25 s of back-off.

The endpoint (``HF_ENDPOINT``) and the token (``HF_TOKEN``) are read per call, never cached at import; the token is
passed to ``HfApi`` and never appears in a message. Tests point ``HF_ENDPOINT`` and ``WORKBENCH_DATASETS_SERVER_URL``
at a fake Hub (``tests/support/fake_hub.py``).
"""

from __future__ import annotations

import contextvars
import hashlib
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from engines import errors
from engines.config import Settings

T = TypeVar("T")

DEFAULT_ENDPOINT = "https://huggingface.co"
DEFAULT_VIEWER = "https://datasets-server.huggingface.co"
DEFAULT_TIMEOUT_S = 15.0
DEFAULT_CACHE_S = 120.0
_PROBE_OK_S, _PROBE_FAIL_S = 60.0, 10.0
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
_TRUE = ("1", "true", "yes", "on")


# ------------------------------------------------------------------------------------------------ errors


class HubError(errors.WorkbenchError):
    """The Hub answered with an error this app has no more specific type for (a 5xx, a bad request)."""

    title = "Hub error"


class HubNotFound(errors.ModelNotFound):
    """No such model, dataset or Space (or a private one the token can't see)."""

    title = "Not found on the Hub"


class HubAccessDenied(errors.GatedModel):
    """Gated or private, or HF_TOKEN refused."""

    title = "Gated or private"


class HubRateLimited(errors.WorkbenchError):
    """The Hub answered 429 Too Many Requests."""

    title = "Hub rate limit"


# ------------------------------------------------------------------------------------------------ settings


def endpoint() -> str:
    """The Hub's base URL now (``HF_ENDPOINT``, default https://huggingface.co), without a trailing slash."""
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).strip().rstrip("/")


def viewer_endpoint(settings: Settings | None = None) -> str:
    """The dataset viewer's base URL (``Settings.datasets_server_url``: ``WORKBENCH_DATASETS_SERVER_URL``, default
    datasets-server; read now when ``settings`` is None)."""
    return ((settings or Settings.current()).datasets_server_url or DEFAULT_VIEWER).strip().rstrip("/")


def token() -> str | None:
    """``HF_TOKEN`` now (None when unset: huggingface_hub then uses a saved login, if any)."""
    return (os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN") or "").strip() or None


def timeout_s(settings: Settings | None = None) -> float:
    """Seconds one Hub call may take (``Settings.hub_timeout_s``: ``WORKBENCH_HUB_TIMEOUT_S``, default 15; kept
    between 0.2 and 120). Inside a ``call`` without ``settings``: the limit that call read."""
    scope = _SCOPE.get() if settings is None else None
    if scope is not None:
        return scope.timeout_s
    return min(max((settings or Settings.current()).hub_timeout_s, 0.2), 120.0)


def cache_ttl_s(settings: Settings | None = None) -> float:
    """Seconds a Hub answer is reused (``Settings.hub_cache_s``: ``WORKBENCH_HUB_CACHE_S``, default 120; 0 = no
    cache)."""
    return max(0.0, (settings or Settings.current()).hub_cache_s)


def offline() -> bool:
    """Whether offline mode is on: ``HF_HUB_OFFLINE`` now, or huggingface_hub's flag read when it was imported
    (its HTTP session refuses every request then, whatever the environment says later)."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE:
        return True
    from huggingface_hub import constants

    return bool(constants.is_offline_mode())


def api():
    """An ``HfApi`` on the current endpoint with the current token."""
    from huggingface_hub import HfApi

    return HfApi(endpoint=endpoint(), token=token(), library_name="llm-workbench")


def repo_url(repo_id: str, kind: str = "model") -> str:
    """The web page of a repository on the current endpoint."""
    prefix = {"model": "", "dataset": "datasets/", "space": "spaces/"}[kind]
    return f"{endpoint()}/{prefix}{repo_id}"


# ------------------------------------------------------------------------------------------------ cache


class TTLCache:
    """A small thread-safe cache whose entries expire (Hub answers, probe results)."""

    def __init__(self, max_items: int = 512) -> None:
        self.max_items = max_items
        self._items: dict[tuple, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[bool, Any]:
        """(hit, value) for ``key``; a stale entry is a miss."""
        with self._lock:
            entry = self._items.get(key)
            if entry is None or entry[0] < time.monotonic():
                self._items.pop(key, None)
                return False, None
            return True, entry[1]

    def put(self, key: tuple, value: Any, ttl_s: float) -> None:
        """Keep ``value`` for ``ttl_s`` seconds (the oldest entries go when full)."""
        if ttl_s <= 0:
            return
        with self._lock:
            if len(self._items) >= self.max_items:
                now = time.monotonic()
                self._items = {k: v for k, v in self._items.items() if v[0] >= now}
                while len(self._items) >= self.max_items:
                    self._items.pop(next(iter(self._items)))
            self._items[key] = (time.monotonic() + ttl_s, value)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()


_CACHE = TTLCache()


def clear_cache() -> None:
    """Forget cached Hub answers and reachability probes (tests; a user's "refresh")."""
    _CACHE.clear()


def _token_tag() -> str:
    value = token()
    return hashlib.sha256(value.encode()).hexdigest()[:12] if value else "-"


def cached(key: tuple, produce: Callable[[], T], settings: Settings | None = None) -> tuple[T, bool]:
    """``produce()``'s value, reused for ``cache_ttl_s()`` per endpoint and token.

    Returns:
        (value, hit): hit is True when the value came from the cache.
    """
    full = ("answer", endpoint(), viewer_endpoint(settings), _token_tag(), *key)
    hit, value = _CACHE.get(full)
    if hit:
        return value, True
    value = produce()
    _CACHE.put(full, value, cache_ttl_s(settings))
    return value, False


# ------------------------------------------------------------------------------------------------ reachability


def reachable(url: str, settings: Settings | None = None) -> bool:
    """Whether ``url``'s host accepts a TCP connection (cached per host: 60 s when it does, 10 s when not).

    Behind a proxy (``HTTPS_PROXY`` & co.) a direct connection says nothing, so the answer is True there.
    """
    if any(os.environ.get(v) for v in _PROXY_VARS):
        return True
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (80 if parts.scheme == "http" else 443)
    key = ("probe", host, port)
    hit, value = _CACHE.get(key)
    if hit:
        return bool(value)
    try:
        with socket.create_connection((host, port), timeout=min(3.0, timeout_s(settings))):
            ok = True
    except OSError:
        ok = False
    _CACHE.put(key, ok, _PROBE_OK_S if ok else _PROBE_FAIL_S)
    return ok


def _unreachable_message(where: str) -> str:
    return (f"The Hugging Face Hub ({where}) cannot be reached from this machine. Models available locally still "
            "work: use a local folder, or set WORKBENCH_MODELS_DIR to a directory of downloaded models.")


def _offline_message() -> str:
    return ("Offline mode is on (HF_HUB_OFFLINE=1), so the Hub is not contacted. Models available locally still "
            "work; unset HF_HUB_OFFLINE and restart the app to browse the Hub.")


# ------------------------------------------------------------------------------------------------ scoped hooks


@dataclass
class _Scope:
    timeout_s: float
    deadline: float
    cancelled: bool = False


_SCOPE: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("workbench_hub_scope", default=None)
_HOOK_LOCK = threading.Lock()


def _on_request(request) -> None:
    scope = _SCOPE.get()
    if scope is None:
        return
    if scope.cancelled or time.monotonic() > scope.deadline:
        raise errors.HubUnreachable(f"The Hub did not answer within {scope.timeout_s:g} s.")
    current = request.extensions.get("timeout") or {}
    if not any(v is not None for v in current.values()):
        import httpx2

        limit = httpx2.Timeout(scope.timeout_s, connect=min(5.0, scope.timeout_s)).as_dict()
        request.extensions = {**request.extensions, "timeout": limit}


def _on_response(response) -> None:
    scope = _SCOPE.get()
    if scope is None:
        return
    status = response.status_code
    if status == 429:
        wait = response.headers.get("Retry-After", "")
        after = f" It asks to wait {wait} s." if wait.isdigit() else ""
        raise HubRateLimited("The Hub is rate-limiting this machine (HTTP 429)." + after + " Wait a minute and "
                             "search again; setting HF_TOKEN raises the limit.")
    if status >= 500:
        response.read()
        raise HubError(f"The Hub answered HTTP {status}{_server_says(response)}. Try again in a moment.")


def _server_says(response) -> str:
    try:
        body = response.json()
        text = body.get("error") if isinstance(body, dict) else None
    except Exception:  # not JSON: the status says enough
        text = None
    if not isinstance(text, str) or not text.strip():
        return ""
    text = " ".join(text.split())
    return f" ({text[:200]}{'…' if len(text) > 200 else ''})"


def _install_hooks() -> None:
    """Add the scoped hooks to huggingface_hub's shared session (again after it was recreated)."""
    from huggingface_hub import get_session

    client = get_session()
    with _HOOK_LOCK:
        hooks = client.event_hooks
        if _on_request not in hooks["request"]:
            client.event_hooks = {"request": [*hooks["request"], _on_request],
                                  "response": [*hooks["response"], _on_response]}


def call(fn: Callable[[], T], *, what: str, url: str | None = None, kind: str = "model",
         repo_id: str | None = None, settings: Settings | None = None) -> T:
    """Run one Hub call with the offline check, the reachability probe, a deadline and error mapping.

    Args:
        fn: the call, fully evaluated inside (wrap generators in ``list``).
        what: what is being fetched, for messages ("the model list", "acme/x").
        url: the base URL it talks to (default: the Hub endpoint).
        kind: "model", "dataset" or "space" (for messages).
        repo_id: the repository concerned, if any (for messages).
        settings: the deployment's settings (the timeout; read from the environment when None).

    Returns:
        ``fn()``'s value.

    Raises:
        HubUnreachable: offline mode, no route to the host, or no answer within ``timeout_s()``.
        HubAccessDenied, HubNotFound, HubRateLimited, HubError, InvalidInput: mapped from the Hub's answer.
    """
    base = url or endpoint()
    if offline():
        raise errors.HubUnreachable(_offline_message())
    if not reachable(base, settings):
        raise errors.HubUnreachable(_unreachable_message(urlsplit(base).netloc or base))
    _install_hooks()
    limit = timeout_s(settings)
    scope = _Scope(timeout_s=limit, deadline=time.monotonic() + limit)
    box: dict[str, Any] = {}
    done = threading.Event()

    def work() -> None:
        _SCOPE.set(scope)
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed to the caller below
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=contextvars.copy_context().run, args=(work,), daemon=True, name="hub-call").start()
    if not done.wait(limit + 1.0):
        scope.cancelled = True
        raise errors.HubUnreachable(f"The Hub did not answer within {limit:g} s ({what}). It may be down or slow "
                                    f"from here; try again, or raise WORKBENCH_HUB_TIMEOUT_S.")
    if "error" in box:
        raise map_error(box["error"], what=what, kind=kind, repo_id=repo_id) from None
    return box["value"]


# ------------------------------------------------------------------------------------------------ error mapping


def _chain(exc: BaseException):
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _status(chain: list[BaseException]) -> int | None:
    for exc in chain:
        response = getattr(exc, "response", None)
        code = getattr(response, "status_code", None)
        if isinstance(code, int):
            return code
    return None


def map_error(exc: BaseException, *, what: str, kind: str = "model", repo_id: str | None = None
              ) -> errors.WorkbenchError:
    """A WorkbenchError a user can act on, for any exception a Hub call raised (see ``call``)."""
    if isinstance(exc, errors.WorkbenchError):
        return exc
    import httpx2
    from huggingface_hub import errors as hub_errors

    chain = list(_chain(exc))
    if any(isinstance(e, hub_errors.OfflineModeIsEnabled) for e in chain):
        return errors.HubUnreachable(_offline_message())
    if any(isinstance(e, httpx2.TimeoutException | TimeoutError) for e in chain):
        return errors.HubUnreachable(f"The Hub did not answer in time ({what}). Try again, or raise "
                                     "WORKBENCH_HUB_TIMEOUT_S.")
    if any(isinstance(e, hub_errors.HFValidationError) for e in chain):
        return errors.InvalidInput(f"'{repo_id or what}' is not a valid Hub id: use org/name.")
    status = _status(chain)
    if status is None and any(isinstance(e, httpx2.TransportError | ConnectionError) for e in chain):
        return errors.HubUnreachable(_unreachable_message(urlsplit(endpoint()).netloc))
    name = repo_id or what
    if any(isinstance(e, hub_errors.GatedRepoError) for e in chain):
        page = repo_url(name, kind if kind in ("model", "dataset", "space") else "model")
        return HubAccessDenied(f"'{name}' is gated: accept its terms on {page} with your account, then set "
                               "HF_TOKEN to a token of that account and restart the app.")
    if any(isinstance(e, hub_errors.RepositoryNotFoundError) for e in chain) or status == 404:
        private = " (or it is private and HF_TOKEN has no access to it)" if status == 401 or not token() else ""
        noun = "Space" if kind == "space" else kind
        return HubNotFound(f"No {noun} '{name}' on the Hub{private}. Check the id (org/name) and its spelling.")
    if status == 401:
        if token():
            return HubAccessDenied("The Hub refused HF_TOKEN (invalid or expired). Create a new read token in your "
                                   "Hub settings, set HF_TOKEN to it and restart the app.")
        return HubAccessDenied(f"'{name}' needs a Hub token: set HF_TOKEN to a read token and restart the app.")
    if status == 403:
        return HubAccessDenied(f"Access to '{name}' was refused (403). If it is gated, accept its terms on the Hub; "
                               "make sure HF_TOKEN has read access.")
    if status == 429:
        return HubRateLimited("The Hub is rate-limiting this machine (HTTP 429). Wait a minute and try again; "
                              "setting HF_TOKEN raises the limit.")
    if status is not None:
        return HubError(f"The Hub answered HTTP {status} for {what}.")
    return HubError(f"Reading {what} from the Hub failed ({type(exc).__name__}).")
