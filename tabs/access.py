"""Who may call the app, and from where: the ASGI middleware in front of every route.

- ``ClientAddress``: the client's address is the TCP peer; ``X-Forwarded-For`` is believed only when the peer is a
  configured proxy (``WORKBENCH_TRUSTED_PROXIES``, addresses or CIDRs), or, on a Space with none configured, for the
  Space proxy's own hop (the last entry). Uvicorn's own rewriting (which trusts loopback) is switched off
  (``distrust_server_proxy_headers``), so a rotating header from an untrusted peer changes nothing.
- ``LoginThrottle``: failed logins counted per (client address, user name).
- ``BearerAuth``: MCP clients authenticate with ``Authorization: Bearer <token>`` (``WORKBENCH_MCP_TOKEN`` or
  ``mcp-token`` lines of the auth file). A known token logs the request in as the token's user (a Gradio session
  cookie is added to it), so every route, and the calls Gradio's MCP server makes back into the app, are
  authorized; with logins or tokens configured, an anonymous request to ``/gradio_api/mcp/*`` gets 401.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import re
import secrets
import threading
import time
from pathlib import Path

log = logging.getLogger("workbench.access")

MCP_USER = "mcp"  # whose work a token without a user name does
TOKEN_PREFIX = "mcp-token"  # an auth-file line: ``mcp-token TOKEN`` or ``mcp-token USER:TOKEN``
MIN_TOKEN_CHARS = 16
_TOKEN = re.compile(r"^[A-Za-z0-9._~+/-]+=*$")  # RFC 6750 b64token
_INTERNAL = b"x-workbench-internal"
_MCP_PATH = re.compile(r"/+gradio_api/+mcp(/|$)")


# --------------------------------------------------------------------------------------------- configuration


def mcp_tokens(path: str | None, env: str | None) -> dict[str, str]:
    """MCP bearer tokens → the user each one acts as, from the auth file's ``mcp-token`` lines and
    WORKBENCH_MCP_TOKEN (comma-separated; each ``TOKEN`` or ``USER:TOKEN``; a bare token acts as user "mcp").

    Raises:
        ValueError: a malformed or short token, or an unreadable file.
    """
    entries: list[str] = []
    if path:
        try:
            lines = Path(path).expanduser().read_text().splitlines()
        except OSError as exc:
            raise ValueError(f"cannot read the auth file: {exc.strerror}") from None
        entries += [ln.strip()[len(TOKEN_PREFIX):].strip() for ln in lines if is_token_line(ln)]
    entries += [v.strip() for v in (env or "").split(",") if v.strip()]
    tokens: dict[str, str] = {}
    for entry in entries:
        user, _, token = entry.rpartition(":")
        if not _TOKEN.match(token) or len(token) < MIN_TOKEN_CHARS:
            raise ValueError(f"an MCP token must be at least {MIN_TOKEN_CHARS} characters of A-Z a-z 0-9 . _ ~ + / - "
                             "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
        tokens[token] = user.strip() or MCP_USER
    return tokens


def is_token_line(line: str) -> bool:
    """True for an auth-file line that holds an MCP token rather than a user:password login."""
    return line.strip().startswith(TOKEN_PREFIX + " ")


def distrust_server_proxy_headers() -> None:
    """Stop uvicorn from rewriting the client address from ``X-Forwarded-For`` (it trusts loopback by default, so
    anything relayed through a local proxy, or a local attacker, could pick any address): ``ClientAddress`` does it,
    trusting only the configured proxies."""
    os.environ["FORWARDED_ALLOW_IPS"] = ""


def _networks(values) -> list:
    nets = []
    for value in values or ():
        try:
            nets.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            log.warning("WORKBENCH_TRUSTED_PROXIES: %r is not an address or CIDR; ignored", value)
    return nets


def _ip(value: str):
    value = value.strip()
    if value.startswith("[") and "]" in value:  # [v6]:port
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":")[0]
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


def client_address(peer: str, forwarded: str | None, trusted: list, space_hop: bool = False) -> str:
    """The client's address: the peer, unless the peer is a trusted proxy (then the right-most X-Forwarded-For
    entry that is not a trusted proxy) or ``space_hop`` (then the last entry, the one the Space's proxy added)."""
    hops = [h for h in (forwarded or "").split(",") if h.strip()]
    if not hops:
        return peer
    peer_ip = _ip(peer)
    if trusted and peer_ip is not None and any(peer_ip in net for net in trusted):
        for hop in reversed(hops):
            ip = _ip(hop)
            if ip is None:
                return peer
            if not any(ip in net for net in trusted):
                return str(ip)
        return str(_ip(hops[0]))
    if space_hop:
        ip = _ip(hops[-1])
        return str(ip) if ip is not None else peer
    return peer


class ClientAddress:
    """ASGI middleware: ``scope["client"]`` becomes the client's address as ``client_address`` decides."""

    def __init__(self, app, trusted: tuple[str, ...] = (), space_hop: bool = False):
        self.app, self.trusted, self.space_hop = app, _networks(trusted), space_hop and not trusted

    async def __call__(self, scope, receive, send):
        if scope.get("type") in ("http", "websocket") and (self.trusted or self.space_hop):
            forwarded = b",".join(v for k, v in scope.get("headers", []) if k == b"x-forwarded-for")
            if forwarded:
                peer, port = scope.get("client") or ("", 0)
                address = client_address(peer, forwarded.decode("latin-1"), self.trusted, self.space_hop)
                if address != peer:
                    scope = {**scope, "client": (address, port)}
        return await self.app(scope, receive, send)


# --------------------------------------------------------------------------------------------------- logins


class LoginThrottle:
    """ASGI middleware: at most ``max_failures`` failed logins per (client address, user name) in ``window_s``
    seconds; after that that user's login from that address answers 429 (even with the right password) until the
    window has passed. Other user names from the same address are not affected. A success clears the count."""

    MAX_BODY = 64 * 1024
    MAX_KEYS = 10_000

    def __init__(self, app, max_failures: int = 5, window_s: float = 300.0):
        self.app, self.max_failures, self.window_s = app, max_failures, window_s
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http" or scope.get("method") != "POST" or \
                not scope.get("path", "").rstrip("/").endswith("/login"):
            return await self.app(scope, receive, send)
        from starlette.responses import JSONResponse

        body = b""
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            body += message.get("body", b"")
            if len(body) > self.MAX_BODY:
                return await JSONResponse({"detail": "Login form too large."}, status_code=413)(scope, receive, send)
            if not message.get("more_body"):
                break
        key = ((scope.get("client") or ("unknown", 0))[0], (await _form_user(scope, body))[:200])
        wait = self._blocked(key)
        if wait:
            response = JSONResponse({"detail": f"Too many failed logins for this user from this address: try again in "
                                               f"{wait} s."}, status_code=429)
            return await response(scope, receive, send)
        status: dict = {}

        async def capture(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, _replay(body, receive), capture)
        self._record(key, ok=status.get("code") == 200)

    def _blocked(self, key: tuple[str, str]) -> int:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(key, []) if now - t < self.window_s]
            if recent:
                self._failures[key] = recent
            else:
                self._failures.pop(key, None)
            return int(self.window_s - (now - recent[0])) + 1 if len(recent) >= self.max_failures else 0

    def _record(self, key: tuple[str, str], ok: bool) -> None:
        now = time.monotonic()
        with self._lock:
            if ok:
                self._failures.pop(key, None)
                return
            if len(self._failures) >= self.MAX_KEYS:  # forget the keys whose window has passed
                self._failures = {k: v for k, v in self._failures.items() if now - v[-1] < self.window_s}
            self._failures.setdefault(key, []).append(now)


def _replay(body: bytes, receive):
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _form_user(scope, body: bytes) -> str:
    """The ``username`` field of a login form (urlencoded or multipart); "" when it can't be read."""
    from starlette.requests import Request

    async def never():
        return {"type": "http.disconnect"}

    try:
        form = await Request(scope, _replay(body, never)).form()
        return str(form.get("username") or "").strip()
    except Exception:  # a malformed form is still a counted attempt, under the user name ""
        return ""


# -------------------------------------------------------------------------------------------- bearer tokens


class BearerAuth:
    """ASGI middleware: a request with a known bearer token is logged in as the token's user; with logins or tokens
    configured, MCP routes refuse anything not logged in (401)."""

    def __init__(self, app, tokens: dict[str, str] | None = None):
        self.app, self.tokens = app, dict(tokens or {})
        self.internal = secrets.token_urlsafe(32)  # what the app's own MCP client sends (see _authorize_calls_back)
        self._sessions: dict[str, str] = {}

    async def __call__(self, scope, receive, send):
        if scope.get("type") not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        app = scope.get("app")
        user = self._user(scope, app)
        if user is not None and app is not None and hasattr(app, "tokens"):
            scope = self._logged_in_as(scope, app, user)
        if _MCP_PATH.search(scope.get("path", "")):
            if user is None and self._required(app) and not _has_login(scope, app):
                from starlette.responses import JSONResponse

                response = JSONResponse(
                    {"detail": "This MCP server needs a token: send 'Authorization: Bearer <token>' (the token is "
                               "WORKBENCH_MCP_TOKEN, or an 'mcp-token' line of the auth file)."},
                    status_code=401, headers={"WWW-Authenticate": 'Bearer realm="mcp"'})
                return await response(scope, receive, send)
            self._authorize_calls_back(app)
        return await self.app(scope, receive, send)

    def _required(self, app) -> bool:
        return bool(self.tokens) or getattr(app, "auth", None) is not None \
            or getattr(app, "auth_dependency", None) is not None

    def _user(self, scope, app) -> str | None:
        headers = dict(scope.get("headers", []))
        scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            token = token.strip()
            for known, user in self.tokens.items():
                if hmac.compare_digest(known.encode(), token.encode()):
                    return user
        internal = headers.get(_INTERNAL, b"")
        if internal and hmac.compare_digest(internal, self.internal.encode()) and not _has_login(scope, app):
            return MCP_USER
        return None

    def _logged_in_as(self, scope, app, user: str) -> dict:
        session = self._sessions.setdefault(user, secrets.token_urlsafe(32))
        if app.tokens.get(session) != user:
            app.tokens[session] = user
        cookie = f"access-token-{app.cookie_id}={session}".encode()
        headers = [(k, v) for k, v in scope.get("headers", []) if k != b"cookie"]
        old = b"; ".join(v for k, v in scope.get("headers", []) if k == b"cookie")
        headers.append((b"cookie", old + b"; " + cookie if old else cookie))
        return {**scope, "headers": headers}

    def _authorize_calls_back(self, app) -> None:
        """Gradio's MCP server runs queued tools through a ``gradio_client.Client`` of the app itself, built without
        credentials (every tool failed with "Could not load http://127.0.0.1:…/ as credentials were not
        provided"): give that client the internal secret, and keep connection errors (and their URLs) in the log."""
        blocks = app.get_blocks() if hasattr(app, "get_blocks") else None
        server = getattr(blocks, "mcp_server_obj", None)
        if server is None or getattr(server, "_workbench_authorized", False):
            return
        server._get_or_create_client = _client_factory(server, self.internal)
        server._workbench_authorized = True


def _has_login(scope, app) -> bool:
    tokens = getattr(app, "tokens", None)
    cookie_id = getattr(app, "cookie_id", None)
    if not tokens or not cookie_id:
        return False
    from http.cookies import SimpleCookie

    jar = SimpleCookie()
    for k, v in scope.get("headers", []):
        if k == b"cookie":
            try:
                jar.load(v.decode("latin-1"))
            except Exception:
                continue
    return any(name in jar and tokens.get(jar[name].value) is not None
               for name in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"))


def _client_factory(server, internal: str):
    def get_or_create_client():
        if server._client_instance is None:
            from gradio import route_utils
            from gradio_client import Client

            url = server.local_url
            if not url:
                request = server.mcp_server.request_context.request
                url = route_utils.get_root_url(request=request, route_path=server.get_route_path(request),
                                               root_path=server.root_path)
            try:
                server._client_instance = Client(url, download_files=False, verbose=False, analytics_enabled=False,
                                                 ssl_verify=False, _skip_components=False,
                                                 headers={"x-gradio-user": "mcp", _INTERNAL.decode(): internal})
            except Exception as exc:
                log.error("the MCP server could not connect to the app", exc_info=exc)
                raise RuntimeError("The MCP server could not reach the app: the details are in the server log.") \
                    from None
        return server._client_instance

    return get_or_create_client
