from __future__ import annotations

import itertools
import json
import math
import re
import select
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

# A tiny OpenAI-compatible HTTP server for tests (standard library only).
#
#     with FakeOpenAI() as server:
#         client = openai.OpenAI(base_url=server.base_url, api_key="test-key", max_retries=0)
#         client.chat.completions.create(model="fake-echo", messages=[{"role": "user", "content": "hi"}])
#
# Behaviour is chosen by the ``model`` of a chat completion request (see SPECIAL_MODELS); models queued with
# FakeOpenAI.script() reply with their canned texts instead. FakeOpenAI.fault() makes any model's streams misbehave
# (see FAULTS) after a number of good ones, like a server that breaks down part-way through a run.

ECHO = "fake-echo"
LONG = "fake-long"
ERROR_500 = "fake-500"
ERROR_429 = "fake-429"
CONTEXT = "fake-context"
SLOW = "fake-slow"
MIDSTREAM_ERROR = "fake-midstream-error"
GARBAGE = "fake-garbage"
DROP = "fake-drop"  # streams DROP_CHUNKS words, then ends the body cleanly: no finish_reason, no [DONE]
RUNAWAY = "fake-runaway"  # ignores max_tokens: streams RUNAWAY_CHARS characters in big chunks, then finishes
HANG = "fake-hang"  # streams one word, then sends nothing until the client goes away or the server stops
TRICKLE = "fake-trickle"  # a word every ``trickle_gap`` s for ``trickle_s`` s: no read waits long, the whole does

SPECIAL_MODELS = (ECHO, LONG, ERROR_500, ERROR_429, CONTEXT, SLOW, MIDSTREAM_ERROR, GARBAGE, DROP, RUNAWAY, HANG,
                  TRICKLE)
# stream faults (FakeOpenAI.fault): what a misbehaving server does to a streamed answer; the special models above
# have them from their first request
FAULTS = {"drop": DROP, "runaway": RUNAWAY, "hang": HANG, "trickle": TRICKLE}

LONG_TEXT = " ".join(f"w{i}" for i in range(60))
SLOW_TEXT = " ".join(f"s{i}" for i in range(10))
GARBAGE_TEXT = "}{ not json at all ]]"
MIDSTREAM_CHUNKS = 3
DROP_CHUNKS = 3
RUNAWAY_CHARS = 4_000_000
RUNAWAY_PIECE = "blah " * 400  # 2,000 characters a chunk

INVALID_KEY_ERROR = {
    "error": {
        "message": "Incorrect API key provided.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}
SERVER_ERROR = {
    "error": {
        "message": "The server had an error while processing your request. Sorry about that!",
        "type": "server_error",
        "param": None,
        "code": None,
    }
}
RATE_LIMIT_ERROR = {
    "error": {
        "message": "Rate limit reached for requests. Please try again later.",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
}
CONTEXT_ERROR = {
    "error": {
        "message": "This model's maximum context length is 8192 tokens. "
        "However, your messages resulted in 9000 tokens.",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "context_length_exceeded",
    }
}

_PIECE_RE = re.compile(r"\S+\s*")


def error_body(message: str, code: str | None = None, type_: str = "invalid_request_error") -> dict:
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def split_pieces(text: str) -> list[str]:
    """Split ``text`` into per-word pieces (word plus trailing whitespace) that join back to ``text``."""
    pieces = _PIECE_RE.findall(text)
    leading = text[: len(text) - len(text.lstrip())]
    if leading:
        if pieces:
            pieces[0] = leading + pieces[0]
        else:
            pieces = [leading]
    return pieces


def count_tokens(text: str) -> int:
    return len(text.split())


def fake_logprobs(pieces: list[str], top: int) -> list[dict]:
    """Deterministic ``logprobs.content`` entries, one per piece: the piece itself is the most likely candidate
    (p = 0.9, 0.8, ... 0.5 in turn), then ``top - 1`` made-up alternatives sharing the rest (sum stays below 1)."""
    entries = []
    for i, piece in enumerate(pieces):
        p = 0.9 - 0.1 * (i % 5)
        alternatives = [(f"alt{j}", (1 - p) * 0.5 ** (j + 1)) for j in range(max(0, top - 1))]
        candidates = [(piece, p), *alternatives][: max(0, top)]
        entries.append({
            "token": piece, "logprob": math.log(p), "bytes": list(piece.encode()),
            "top_logprobs": [{"token": t, "logprob": math.log(q), "bytes": list(t.encode())} for t, q in candidates],
        })
    return entries


def content_text(content: Any) -> str:
    """Text of a message ``content`` (a string or a list of content parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif isinstance(part, str):
                texts.append(part)
        return " ".join(texts)
    return str(content)


def parse_multipart(content_type: str, body: bytes) -> dict[str, dict]:
    """Minimal multipart/form-data parser: ``{name: {"filename": str | None, "data": bytes}}``."""
    match = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', content_type)
    if not match:
        return {}
    boundary = (match.group(1) or match.group(2)).encode("latin-1")
    fields: dict[str, dict] = {}
    for part in body.split(b"--" + boundary):
        if part.startswith(b"\r\n"):
            part = part[2:]
        if not part or part.startswith(b"--"):
            continue
        head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        if data.endswith(b"\r\n"):
            data = data[:-2]
        disposition = ""
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                disposition = value
        name = re.search(r'(?:^|;)\s*name="([^"]*)"', disposition)
        filename = re.search(r'filename="([^"]*)"', disposition)
        if name:
            fields[name.group(1)] = {"filename": filename.group(1) if filename else None, "data": data}
    return fields


class _ClientGone(Exception):
    """The client went away, or the server is stopping: abandon the response."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    fake: FakeOpenAI


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so that streamed bodies use chunked encoding: an abrupt close is then detectable by the client.
    # Every response carries ``Connection: close``.
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # -- plumbing --------------------------------------------------------------------------------------------

    @property
    def fake(self) -> FakeOpenAI:
        return self.server.fake

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = bytearray()
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(data)
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _start(self, status: int, content_type: str, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Connection", "close")
        self.send_header("x-request-id", f"req_fake_{next(self.fake._ids)}")
        if length is None:
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache")
        else:
            self.send_header("Content-Length", str(length))
        self.end_headers()
        self.close_connection = True

    def _send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self._start(status, "application/json", len(data))
        self.wfile.write(data)

    def _send_text(self, status: int, text: str) -> None:
        data = text.encode()
        self._start(status, "text/plain; charset=utf-8", len(data))
        self.wfile.write(data)

    def _write_chunk(self, data: bytes) -> None:
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        except OSError as exc:
            raise _ClientGone from exc

    def _send_event(self, payload: Any) -> None:
        data = payload if isinstance(payload, str) else json.dumps(payload)
        self._write_chunk(f"data: {data}\n\n".encode())

    def _pause(self, seconds: float) -> None:
        if seconds > 0 and self.fake._stopping.wait(seconds):
            raise _ClientGone

    def _wait_for(self, gate: threading.Event) -> None:
        """Wait until the test sets ``gate`` (``FakeOpenAI.hold``), or the server stops."""
        while not gate.wait(0.1):
            if self.fake._stopping.is_set():
                raise _ClientGone

    def _dispatch(self, method: str) -> None:
        try:
            body_bytes = self._read_body() if method == "POST" else b""
            headers = {key.lower(): value for key, value in self.headers.items()}
            record: dict[str, Any] = {"method": method, "path": self.path, "headers": headers, "body": None}
            content_type = headers.get("content-type", "")
            parsed: Any = None
            if body_bytes and "multipart/form-data" in content_type:
                form = parse_multipart(content_type, body_bytes)
                record["form"] = {
                    name: (
                        {"filename": f["filename"], "size": len(f["data"])}
                        if f["filename"] is not None
                        else f["data"].decode("utf-8", "replace")
                    )
                    for name, f in form.items()
                }
            elif body_bytes:
                try:
                    parsed = json.loads(body_bytes)
                except ValueError:
                    parsed = None
                record["body"] = parsed
            self.fake._record(record)

            path = self.path.split("?", 1)[0].rstrip("/")
            routes = {
                ("GET", "/v1/models"): lambda: self._models(),
                ("POST", "/v1/chat/completions"): lambda: self._chat(parsed, body_bytes),
                ("POST", "/v1/completions"): lambda: self._completion(parsed),
                ("POST", "/v1/audio/transcriptions"): lambda: self._transcribe(content_type, body_bytes),
            }
            route = routes.get((method, path))
            if route is None:
                self._send_json(404, error_body(f"Invalid URL ({method} {self.path})"))
                return
            if not self.fake._authorized(headers.get("authorization")):
                self._send_json(401, INVALID_KEY_ERROR)
                return
            route()
        except _ClientGone:
            self.close_connection = True
        except OSError:
            self.close_connection = True

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # -- endpoints -------------------------------------------------------------------------------------------

    def _models(self) -> None:
        names = list(SPECIAL_MODELS) + [name for name in self.fake._scripted_models() if name not in SPECIAL_MODELS]
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "fake"} for name in names]
        self._send_json(200, {"object": "list", "data": data})

    def _transcribe(self, content_type: str, body: bytes) -> None:
        form = parse_multipart(content_type, body)
        if "file" not in form:
            self._send_json(400, error_body("Missing required parameter: 'file'.", "missing_required_parameter"))
            return
        if "model" not in form:
            self._send_json(400, error_body("Missing required parameter: 'model'.", "missing_required_parameter"))
            return
        size = len(form["file"]["data"])
        text = f"fake transcript of {size} bytes"
        response_format = form.get("response_format", {}).get("data", b"json").decode() or "json"
        if response_format == "verbose_json":
            segments = [{"id": 0, "start": 0.0, "end": 1.0, "text": "fake transcript"}]
            payload = {"task": "transcribe", "text": text, "language": "en", "duration": 1.0, "segments": segments}
            self._send_json(200, payload)
        elif response_format in ("text", "srt", "vtt"):
            self._send_text(200, text)
        else:
            self._send_json(200, {"text": text})

    def _chat(self, body: Any, raw: bytes) -> None:
        if not isinstance(body, dict):
            self._send_json(400, error_body("We could not parse the JSON body of your request."))
            return
        model = body.get("model")
        messages = body.get("messages")
        if not isinstance(model, str) or not model:
            self._send_json(400, error_body("You must provide a model parameter.", "missing_required_parameter"))
            return
        if not isinstance(messages, list):
            self._send_json(400, error_body("Missing required parameter: 'messages'.", "missing_required_parameter"))
            return

        delay = self.fake._paces.get(model, self.fake.chunk_delay)
        fault = self.fake._next_fault(model) if body.get("stream") else None
        scripted = self.fake._next_scripted(model)
        routed = self.fake._routed(model, messages)
        if routed is not None:
            text = routed
        elif scripted is not None:
            text = scripted
        elif model == ECHO:
            users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
            text = "echo: " + (content_text(users[-1].get("content")) if users else "")
        elif model == LONG:
            text = LONG_TEXT
        elif model == GARBAGE:
            text = GARBAGE_TEXT
        elif model == SLOW:
            text, delay = SLOW_TEXT, self.fake.slow_delay
        elif model in (MIDSTREAM_ERROR, DROP, HANG, TRICKLE, RUNAWAY):
            text = LONG_TEXT
        elif model == ERROR_500:
            self._send_json(500, SERVER_ERROR)
            return
        elif model == ERROR_429:
            self._send_json(429, RATE_LIMIT_ERROR)
            return
        elif model == CONTEXT:
            self._send_json(400, CONTEXT_ERROR)
            return
        else:
            self._send_json(404, error_body(f"The model `{model}` does not exist", "model_not_found"))
            return

        if isinstance(text, dict):  # a scripted tool call (script_tool_calls / a responder returning one)
            self._tool_calls(model, body, text["tool_calls"], delay)
            return
        pieces = split_pieces(text)
        finish_reason = "stop"
        limit = body.get("max_completion_tokens")
        if limit is None:
            limit = body.get("max_tokens")
        if isinstance(limit, int) and 0 <= limit < len(pieces):
            pieces = pieces[:limit]
            if pieces:
                pieces[-1] = pieces[-1].rstrip()
            finish_reason = "length"
        content = "".join(pieces)
        prompt_tokens = sum(count_tokens(content_text(m.get("content"))) for m in messages if isinstance(m, dict))
        completion_tokens = count_tokens(content)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        }
        completion_id = f"chatcmpl-fake{next(self.fake._ids)}"
        created = int(time.time())
        top = body.get("top_logprobs")
        wants_logprobs = body.get("logprobs") is True and self.fake.supports_logprobs
        logprobs = fake_logprobs(pieces, top if isinstance(top, int) else 0) if wants_logprobs else None

        if body.get("stream"):
            stream_options = body.get("stream_options") or {}
            include_usage = isinstance(stream_options, dict) and bool(stream_options.get("include_usage"))
            if fault == "runaway":  # the limit ignored
                pieces, finish_reason, logprobs = [RUNAWAY_PIECE] * (RUNAWAY_CHARS // len(RUNAWAY_PIECE)), "stop", None
                delay = 0.0
            self._stream(model, pieces, finish_reason, usage, include_usage, completion_id, created, delay, logprobs,
                         fault)
            return

        if model == SLOW:
            self._pause(delay * len(pieces))
        payload = {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": model,
            "system_fingerprint": None,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "logprobs": None if logprobs is None else {"content": logprobs, "refusal": None},
                    "finish_reason": finish_reason,
                }
            ],
            "usage": usage,
        }
        if model == MIDSTREAM_ERROR:
            # Promise the whole body, deliver half of it, then hang up.
            data = json.dumps(payload).encode()
            self._start(200, "application/json", len(data))
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self._abort()
            return
        self._send_json(200, payload)

    def _completion(self, body: Any) -> None:
        """The legacy completions endpoint, as vLLM serves it: with ``echo`` and ``logprobs`` it returns the prompt's
        own token log-probabilities (the first token's is null). Prompt tokens are ``split_pieces`` words, scored as
        ``fake_logprobs``; the completion is one piece " ok". ``supports_completions = False`` answers 404 (a
        chat-only server); ``supports_logprobs = False`` returns ``logprobs: null`` (a server that ignores them)."""
        if not self.fake.supports_completions:
            self._send_json(404, error_body("Invalid URL (POST /v1/completions)"))
            return
        if not isinstance(body, dict) or not isinstance(body.get("prompt"), str):
            self._send_json(400, error_body("Missing required parameter: 'prompt'.", "missing_required_parameter"))
            return
        model, prompt = body.get("model"), body["prompt"]
        if model not in SPECIAL_MODELS and model not in self.fake._scripted_models():
            self._send_json(404, error_body(f"The model `{model}` does not exist", "model_not_found"))
            return
        limit = body.get("max_tokens")
        generated = [" ok"] if not isinstance(limit, int) or limit > 0 else []
        echo = bool(body.get("echo"))
        pieces = (split_pieces(prompt) if echo else []) + generated
        top = body.get("logprobs")
        logprobs = None
        if isinstance(top, int) and self.fake.supports_logprobs:
            entries = fake_logprobs(pieces, max(1, top))
            offsets, at = [], 0
            for piece in pieces:
                offsets.append(at)
                at += len(piece)
            logprobs = {"tokens": pieces, "token_logprobs": [e["logprob"] for e in entries],
                        "top_logprobs": [{t["token"]: t["logprob"] for t in e["top_logprobs"]} for e in entries],
                        "text_offset": offsets}
            if echo and pieces:
                logprobs["token_logprobs"][0], logprobs["top_logprobs"][0] = None, None
        text = "".join(pieces)
        usage = {"prompt_tokens": count_tokens(prompt), "completion_tokens": len(generated),
                 "total_tokens": count_tokens(prompt) + len(generated)}
        choice = {"index": 0, "text": text, "logprobs": logprobs, "finish_reason": "length"}
        self._send_json(200, {"id": f"cmpl-fake{next(self.fake._ids)}", "object": "text_completion",
                              "created": int(time.time()), "model": model, "usage": usage, "choices": [choice]})

    def _stream(
        self,
        model: str,
        pieces: list[str],
        finish_reason: str,
        usage: dict,
        include_usage: bool,
        completion_id: str,
        created: int,
        delay: float,
        logprobs: list[dict] | None = None,
        fault: str | None = None,
    ) -> None:
        def chunk(delta: dict, reason: str | None, index: int | None = None) -> dict:
            lp = None
            if logprobs is not None and index is not None:
                lp = {"content": [logprobs[index]], "refusal": None}
            payload: dict[str, Any] = {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": None,
                "choices": [{"index": 0, "delta": delta, "logprobs": lp, "finish_reason": reason}],
            }
            if include_usage:
                payload["usage"] = None
            return payload

        self._start(200, "text/event-stream; charset=utf-8")
        if not pieces:
            self._send_event(chunk({"role": "assistant", "content": ""}, None))
        if fault == "trickle":
            pieces = [f"t{i} " for i in range(max(1, int(self.fake.trickle_s / self.fake.trickle_gap)))]
            delay, logprobs = self.fake.trickle_gap, None
        for index, piece in enumerate(pieces):
            if model == MIDSTREAM_ERROR and index == MIDSTREAM_CHUNKS:
                self._abort()
                return
            if fault == "drop" and index == DROP_CHUNKS:
                self._write_chunk(b"")  # a clean end of the body, with the answer unfinished
                return
            if fault == "hang" and index == 1:
                self._hang()
            held = self.fake._holds.get(model)
            if held is not None and index == held[0]:
                self._wait_for(held[1])
            self._pause(delay)
            delta = {"role": "assistant", "content": piece} if index == 0 else {"content": piece}
            self._send_event(chunk(delta, None, index))
        if fault == "drop":  # a shorter answer: dropped before its finish_reason
            self._write_chunk(b"")
            return
        if fault == "hang":
            self._hang()
        self._pause(delay)
        self._send_event(chunk({}, finish_reason))
        if include_usage:
            final = chunk({}, None)
            final["choices"] = []
            final["usage"] = usage
            self._send_event(final)
        self._send_event("[DONE]")
        self._write_chunk(b"")  # zero-length chunk terminates the chunked body

    def _tool_calls(self, model: str, body: dict, calls: list[dict], delay: float) -> None:
        """Answer with tool calls as OpenAI streams them: the first delta of each call holds its id and name, the
        arguments follow in pieces, and the finish reason is "tool_calls"."""
        completion_id, created = f"chatcmpl-fake{next(self.fake._ids)}", int(time.time())
        if not body.get("stream"):
            message = {"role": "assistant", "content": None, "tool_calls": [
                {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}}
                for c in calls]}
            self._send_json(200, {"id": completion_id, "object": "chat.completion", "created": created,
                                  "model": model, "choices": [{"index": 0, "message": message,
                                                               "finish_reason": "tool_calls"}]})
            return

        def event(delta: dict, reason: str | None) -> dict:
            return {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model,
                    "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": reason}]}

        self._start(200, "text/event-stream; charset=utf-8")
        self._send_event(event({"role": "assistant", "content": None}, None))
        for index, call in enumerate(calls):
            self._pause(delay)
            self._send_event(event({"tool_calls": [{"index": index, "id": call["id"], "type": "function",
                                                    "function": {"name": call["name"], "arguments": ""}}]}, None))
            args = call["arguments"]
            step = max(1, len(args) // 3)
            for at in range(0, len(args), step):
                self._pause(delay)
                self._send_event(event({"tool_calls": [{"index": index,
                                                        "function": {"arguments": args[at:at + step]}}]}, None))
        self._send_event(event({}, "tool_calls"))
        self._send_event("[DONE]")
        self._write_chunk(b"")

    def _hang(self) -> None:
        """Send nothing more until the client hangs up or the server stops."""
        while not self.fake._stopping.wait(0.05):
            readable, _, _ = select.select([self.connection], [], [], 0)
            if readable:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        break
                except OSError:
                    break
        raise _ClientGone

    def _abort(self) -> None:
        """Close the connection without finishing the response body."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise _ClientGone


class FakeOpenAI:
    """OpenAI-compatible test server on 127.0.0.1 (random port), served from a daemon thread.

    ``api_key=None`` disables authentication (like an Ollama server). ``chunk_delay`` is the pause before each
    streamed chunk for ordinary models; ``slow_delay`` the pause per word for ``fake-slow``.
    """

    def __init__(self, api_key: str | None = "test-key", *, chunk_delay: float = 0.005, slow_delay: float = 0.5):
        self.api_key = api_key
        self.chunk_delay = chunk_delay
        self.slow_delay = slow_delay
        self.trickle_gap, self.trickle_s = 0.1, 20.0  # the "trickle" fault: a word every 0.1 s for 20 s
        self._faults: dict[str, list] = {}  # model -> [fault, good streams left]
        self.supports_logprobs = True  # False: ignore ``logprobs`` like a server without them
        self.supports_completions = True  # False: no /v1/completions (a chat-only server)
        self.requests: list[dict] = []
        self._scripts: dict[str, list[str]] = {}
        self._paces: dict[str, float] = {}
        self._holds: dict[str, tuple[int, threading.Event]] = {}
        self._responders: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------

    def start(self) -> Self:
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.name = f"FakeOpenAI:{self.port}"
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()  # lets slow streams give up
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeOpenAI is not running; call start() first")
        return self._server.server_address[1]

    @property
    def host_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.host_url}/v1"

    # -- scripting -------------------------------------------------------------------------------------------

    def script(self, model: str, *batches: str, pace: float | None = None) -> None:
        """Queue canned replies for ``model``: each later call returns the next one; the last one repeats.

        ``pace`` is the pause before each streamed chunk of this model (a paced stream lets a test see what a client
        does while text arrives, on a busy machine as on a quiet one)."""
        if not batches:
            raise ValueError("script() needs at least one reply")
        with self._lock:
            self._scripts[model] = list(batches)
            if pace is not None:
                self._paces[model] = pace

    def hold(self, model: str, after: int) -> threading.Event:
        """Make ``model``'s streams stop after ``after`` chunks until the returned event is set: a test's gate, so
        "the stream is still running" holds on a loaded machine as on a quiet one, with no time to guess."""
        gate = threading.Event()
        with self._lock:
            self._holds[model] = (after, gate)
        return gate

    def script_tool_calls(self, model: str, *calls: tuple[str, str], then: str | None = None) -> None:
        """Queue one answer of tool calls for ``model`` (``(name, arguments JSON text)`` each, ids ``call_<n>``),
        then ``then`` (a text answer) for the next call if given."""
        reply = {"tool_calls": [{"id": f"call_{i}", "name": n, "arguments": a} for i, (n, a) in enumerate(calls)]}
        with self._lock:
            self._scripts[model] = [reply] + ([then] if then is not None else [])

    def fault(self, model: str, fault: str | None, *, after: int = 0) -> None:
        """Make ``model``'s streamed answers misbehave after its next ``after`` good ones: "drop" (the body ends
        after a few words, without finish_reason or [DONE]), "runaway" (max_tokens ignored: megabytes of text),
        "hang" (one word, then silence) or "trickle" (a word every ``trickle_gap`` s for ``trickle_s`` s).
        ``None`` clears it. Requests without ``stream`` are not affected."""
        if fault is not None and fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}: use one of {', '.join(FAULTS)}")
        with self._lock:
            if fault is None:
                self._faults.pop(model, None)
            else:
                self._faults[model] = [fault, after]

    def _next_fault(self, model: str) -> str | None:
        with self._lock:
            state = self._faults.get(model)
            if state is None:
                return next((f for f, m in FAULTS.items() if m == model), None)
            if state[1] > 0:
                state[1] -= 1
                return None
            return state[0]

    def _next_scripted(self, model: str) -> str | dict | None:
        with self._lock:
            queue = self._scripts.get(model)
            if not queue:
                return None
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def _scripted_models(self) -> list[str]:
        with self._lock:
            return list(self._scripts) + [m for m in self._responders if m not in self._scripts]

    def respond(self, model: str, responder) -> None:
        """Answer ``model`` with ``responder(messages) -> str`` (the request's chat messages), whatever the order of
        the calls (a script replies in call order; this replies by content). Takes precedence over a script."""
        with self._lock:
            self._responders[model] = responder

    def _routed(self, model: str, messages: list) -> str | None:
        with self._lock:
            responder = self._responders.get(model)
        if responder is None:
            return None
        reply = responder(messages)
        return reply if isinstance(reply, dict) else str(reply)

    # -- bookkeeping -----------------------------------------------------------------------------------------

    def _record(self, record: dict) -> None:
        with self._lock:
            self.requests.append(record)

    def _authorized(self, header: str | None) -> bool:
        if self.api_key is None:
            return True
        return header == f"Bearer {self.api_key}"
