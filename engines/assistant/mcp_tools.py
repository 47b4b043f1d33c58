"""MCP servers' tools as assistant tools: a streamable-HTTP MCP server, by URL, through the official ``mcp`` SDK
client (``mcp.client.streamable_http`` + ``ClientSession``).

The SDK is async; the assistant's loop is not. Every MCP exchange runs on one private event loop in a daemon
thread, behind sync wrappers. Each exchange (listing the tools, one tool call) opens its own short session:
nothing is left open between turns, and a server that restarted meanwhile just works on the next call.

Errors reach the user as one clear sentence naming the server's host (never its query string or credentials, which
may hold a token), never a traceback: unreachable, not an MCP endpoint, refused (401/403), timed out, or the tool's
own error text (``isError``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
import tempfile
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from engines import errors
from engines.assistant.tool import Tool, ToolOutput
from engines.redact import redact

CALL_TIMEOUT_S = 120.0
MAX_DESCRIPTION = 1024
_NAME = re.compile(r"[^A-Za-z0-9_-]")
_EXT = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif", "audio/wav": ".wav",
        "audio/x-wav": ".wav", "audio/wave": ".wav", "audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/ogg": ".ogg",
        "audio/flac": ".flac", "audio/webm": ".webm", "audio/mp4": ".m4a"}


class McpToolError(errors.RemoteError):
    """An MCP server could not be used, or one of its tools reported an error."""


# ------------------------------------------------------------------------------------------------ event loop


class _LoopThread:
    """One asyncio loop in a daemon thread, started on first use, that runs every MCP exchange of the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, daemon=True, name="mcp-client").start()
                self._loop = loop
            return self._loop

    def run(self, make: Callable[[], Awaitable[Any]], timeout_s: float) -> Any:
        """Run ``make()`` on the loop and wait for it, at most ``timeout_s`` (then it is cancelled there)."""

        async def bounded():
            return await asyncio.wait_for(make(), timeout_s)

        future = asyncio.run_coroutine_threadsafe(bounded(), self.loop())
        try:
            return future.result(timeout_s + 5.0)  # the loop's own timeout fires first; this one is a backstop
        except FutureTimeout:
            future.cancel()
            raise TimeoutError from None


_RUNNER = _LoopThread()


_USERINFO = re.compile(r"(https?://)[^/\s@]+@")
_QUERY = re.compile(r"(https?://[^\s?#\"']+)[?#][^\s\"']*")


def hide_url_secrets(text: str) -> str:
    """``text`` with every http(s) URL's credentials, query and fragment removed (they may hold a token)."""
    return _QUERY.sub(r"\1", _USERINFO.sub(r"\1", text))


class _HideUrlSecrets(logging.Filter):
    """httpx logs every request's URL (INFO), the mcp client the endpoint's (DEBUG): keep their secrets out."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and "://" in str(record.args):
            record.args = tuple(hide_url_secrets(str(a)) if "://" in str(a) else a for a in record.args)
        if isinstance(record.msg, str) and "://" in record.msg:
            record.msg = hide_url_secrets(record.msg)
        return True


def _quiet_url_secrets() -> None:
    for name in ("httpx", "mcp.client.streamable_http"):  # a filter applies to the logger a record starts at
        log = logging.getLogger(name)
        if not any(isinstance(f, _HideUrlSecrets) for f in log.filters):
            log.addFilter(_HideUrlSecrets())


# ------------------------------------------------------------------------------------------------ URLs


def check_url(url: str) -> tuple[str, str]:
    """Validate an MCP server URL.

    Args:
        url: ``http://`` or ``https://`` with a host.

    Returns:
        (source, host): the URL without credentials, query or fragment (what the chat shows as the tools' source),
        and the host alone (what error messages name).

    Raises:
        InvalidInput: not a string, another scheme, or no host.
    """
    text = str(url or "").strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise errors.InvalidInput("That MCP server URL is malformed: give one like https://host/mcp.") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise errors.InvalidInput("MCP servers are connected by an http:// or https:// URL (streamable HTTP); "
                                  f"'{parts.scheme or text[:20]}' is not one.")
    host = parts.hostname or ""
    if not host:
        raise errors.InvalidInput("That MCP server URL has no host: give one like https://host/mcp.")
    netloc = f"[{host}]" if ":" in host else host
    netloc += f":{port}" if port else ""
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", "", "")), netloc


# ------------------------------------------------------------------------------------------------ errors


class _NotMcp(Exception):
    def __init__(self, what: str, status: int | None = None):
        super().__init__(what)
        self.what, self.status = what, status


async def _check_response(response) -> None:
    """httpx response hook: an HTTP error or a page that is not MCP ends the exchange at once (the SDK would log
    it and wait for an answer that never comes)."""
    if response.request.method != "POST":
        return
    if response.status_code >= 400:
        raise _NotMcp(f"HTTP {response.status_code}", response.status_code)
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if response.status_code == 200 and kind not in ("application/json", "text/event-stream"):
        raise _NotMcp(f"a {kind or 'response without a content type'}")


def _leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside (nested) exception groups, the group itself when it holds none."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _leaves(inner)] or [exc]
    return [exc]


def _explain(exc: BaseException, host: str, timeout_s: float) -> errors.WorkbenchError:
    """One clear error for whatever an MCP exchange raised."""
    import httpx
    from mcp.shared.exceptions import McpError

    leaves = _leaves(exc)
    for leaf in leaves:  # the most specific first: our own checks, then transport errors
        if isinstance(leaf, errors.WorkbenchError):
            return leaf
        if isinstance(leaf, _NotMcp) and leaf.status in (401, 403):
            return McpToolError(f"The MCP server at {host} refused the request ({leaf.what}): it needs a token. "
                                "Add the header 'Authorization: Bearer <token>'.")
        if isinstance(leaf, _NotMcp) and leaf.status == 404:
            return McpToolError(f"{host} has no MCP endpoint at this path (HTTP 404). Check the URL (a Gradio app "
                                "serves MCP at /gradio_api/mcp/).")
        if isinstance(leaf, _NotMcp):
            return McpToolError(f"{host} answered with {leaf.what}, not MCP: check that the URL is a streamable-HTTP "
                                "MCP endpoint.")
    for leaf in leaves:
        if isinstance(leaf, httpx.ConnectError):
            return McpToolError(f"Could not reach the MCP server at {host}: nothing answers there (refused, or the "
                                "host is unknown). Is the server running, and the URL right?")
        if isinstance(leaf, (TimeoutError, httpx.TimeoutException)):
            return McpToolError(f"The MCP server at {host} did not answer within {timeout_s:g} s.")
        if isinstance(leaf, McpError):
            return McpToolError(f"The MCP server at {host} returned an error: {redact(str(leaf.error.message))[:300]}")
        if isinstance(leaf, httpx.HTTPError):
            return McpToolError(f"The connection to the MCP server at {host} failed ({type(leaf).__name__}).")
    first = leaves[0]
    return McpToolError(f"The MCP exchange with {host} failed: {type(first).__name__}: {redact(str(first))[:200]}")


# ------------------------------------------------------------------------------------------------ the server


class _Server:
    """One MCP server: its URL, headers and timeouts; each exchange opens a short session."""

    def __init__(self, url: str, headers: dict[str, str] | None, timeout_s: float):
        self.source, self.host = check_url(url)
        _quiet_url_secrets()
        self.url, self.headers, self.timeout_s = str(url).strip(), dict(headers or {}), float(timeout_s)

    async def _with_session(self, work: Callable[[Any], Awaitable[Any]], read_s: float) -> Any:
        import httpx
        from mcp import ClientSession
        from mcp.client.streamable_http import streamable_http_client

        timeout = httpx.Timeout(self.timeout_s, read=read_s)
        async with httpx.AsyncClient(headers=self.headers, timeout=timeout, follow_redirects=False,
                                     event_hooks={"response": [_check_response]}) as http:
            async with streamable_http_client(self.url, http_client=http) as (read, write, _):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    return await work(session)

    def exchange(self, work: Callable[[Any], Awaitable[Any]], timeout_s: float) -> Any:
        try:
            return _RUNNER.run(lambda: self._with_session(work, timeout_s), timeout_s)
        except BaseException as exc:  # noqa: BLE001  (exception groups, cancellation: all become one clear error)
            if isinstance(exc, KeyboardInterrupt):
                raise
            raise _explain(exc, self.host, timeout_s) from None

    def list_tools(self) -> list[Any]:
        async def work(session):
            found, cursor = [], None
            while True:
                page = await session.list_tools(cursor=cursor) if cursor else await session.list_tools()
                found.extend(page.tools)
                cursor = page.nextCursor
                if not cursor:
                    return found

        return self.exchange(work, self.timeout_s)

    def call(self, name: str, arguments: dict, timeout_s: float, files_dir: Path | None) -> ToolOutput:
        async def work(session):
            return await session.call_tool(name, arguments)

        result = self.exchange(work, timeout_s)
        output = _to_output(result, files_dir)
        if result.isError:
            raise McpToolError(f"{name} (MCP server {self.host}) failed: {output.text or 'no message'}")
        return output


# ------------------------------------------------------------------------------------------------ results


def _save(data: str, mime: str, stem: str, files_dir: Path | None) -> Path | None:
    """Decode a base64 payload into a file of ``files_dir`` (images as PNG); None when it is not valid base64."""
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError, TypeError):
        return None
    folder = files_dir or Path(tempfile.gettempdir()) / "workbench-exports"
    folder.mkdir(parents=True, exist_ok=True)
    mime = (mime or "").split(";")[0].strip().lower()
    if mime.startswith("image/") and mime != "image/png":
        import io

        from PIL import Image

        try:
            with Image.open(io.BytesIO(raw)) as img:
                buf = io.BytesIO()
                img.save(buf, format="PNG")
                raw, mime = buf.getvalue(), "image/png"
        except Exception:  # noqa: BLE001  (an image PIL cannot read is kept as sent)
            pass
    suffix = _EXT.get(mime, ".bin")
    path = Path(tempfile.mkstemp(prefix=f"mcp-{stem}-", suffix=suffix, dir=folder)[1])
    path.write_bytes(raw)
    return path


def _to_output(result: Any, files_dir: Path | None) -> ToolOutput:
    """A CallToolResult as ToolOutput: text parts joined; images and audio saved as files."""
    texts: list[str] = []
    out = ToolOutput(text="")
    for part in result.content or []:
        kind = getattr(part, "type", "")
        if kind == "text":
            texts.append(part.text)
        elif kind in ("image", "audio"):
            path = _save(part.data, part.mimeType, kind, files_dir)
            if path is None:
                texts.append(f"[{kind} that could not be decoded]")
            else:
                (out.images if kind == "image" else out.audio).append(path)
                texts.append(f"[{kind} {path.name}, shown to the user]")
        elif kind == "resource":
            res = part.resource
            if getattr(res, "text", None) is not None:
                texts.append(res.text)
            else:
                mime = getattr(res, "mimeType", "") or ""
                path = _save(res.blob, mime, "file", files_dir) if mime.startswith(("image/", "audio/")) else None
                if path is not None:
                    (out.images if mime.startswith("image/") else out.audio).append(path)
                texts.append(f"[resource {res.uri} ({mime or 'binary'})]")
        elif kind == "resource_link":
            texts.append(f"[resource link: {part.uri}]")
    if not texts and getattr(result, "structuredContent", None) is not None:
        texts.append(json.dumps(result.structuredContent, ensure_ascii=False))
    out.text = "\n".join(t for t in texts if t)
    return out


# ------------------------------------------------------------------------------------------------ tools


def _tool_name(name: str, taken: set[str]) -> str:
    """The server's tool name as a valid function name (``^[A-Za-z0-9_-]{1,64}$``), unique in this list."""
    base = _NAME.sub("_", name)[:64] or "tool"
    candidate, n = base, 2
    while candidate in taken:
        candidate = f"{base[:60]}_{n}"
        n += 1
    taken.add(candidate)
    return candidate


def _parameters(schema: Any) -> dict:
    params = dict(schema) if isinstance(schema, dict) else {}
    params["type"] = "object"
    params.setdefault("properties", {})
    return params


def connect_mcp(url: str, *, headers: dict[str, str] | None = None, timeout_s: float = 20,
                call_timeout_s: float = CALL_TIMEOUT_S, files_dir: str | Path | None = None) -> list[Tool]:
    """Connect a streamable-HTTP MCP server and offer its tools.

    Args:
        url: the server's MCP endpoint (http or https), e.g. ``http://127.0.0.1:7860/gradio_api/mcp/``.
        headers: HTTP headers for every request, e.g. ``{"Authorization": "Bearer <token>"}``.
        timeout_s: how long connecting and listing the tools may take, in seconds.
        call_timeout_s: how long one tool call may take (also each Tool's ``timeout_s``).
        files_dir: where images and audio the tools return are saved (None = the app's exports folder).

    Returns:
        One Tool per server tool, ``source`` = the URL without credentials or query; calling one runs the server's
        tool (text → ``ToolOutput.text``, images and audio → files).

    Raises:
        InvalidInput: not an http(s) URL. McpToolError: the server can't be reached, isn't MCP, refuses the
        request or times out (the message names the host only).
    """
    if not 0 < float(timeout_s) <= 600 or not 0 < float(call_timeout_s) <= 3600:
        raise errors.InvalidInput("MCP timeouts must be positive (connect at most 600 s, a call at most 3600 s).")
    server = _Server(url, headers, timeout_s)
    folder = Path(files_dir) if files_dir else None
    tools, taken = [], set()
    for t in server.list_tools():
        def run(arguments: dict, _name: str = t.name) -> ToolOutput:
            return server.call(_name, dict(arguments or {}), float(call_timeout_s), folder)

        description = (t.description or t.title or t.name or "").strip()[:MAX_DESCRIPTION]
        tools.append(Tool(name=_tool_name(t.name, taken), description=description,
                          parameters=_parameters(t.inputSchema), run=run, source=server.source,
                          timeout_s=float(call_timeout_s) + 5.0))
    return tools
