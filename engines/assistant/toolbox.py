"""The tools one chat may call, and running one call so that nothing a model or a tool does can break the chat.

``Toolbox.call`` never raises: an unknown tool, arguments that are not a JSON object or do not fit the tool's
schema, a tool that raises or runs past its time limit each become a ``ToolResult`` with ``ok=False`` and an error
message written for the model (it goes back to it as the tool's result, so it can correct itself).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from engines.assistant.tool import Tool, ToolOutput
from engines.backends.types import ToolCall
from engines.config import in_this_call
from engines.errors import WorkbenchError
from engines.redact import hide_paths, redact

_JSON_TYPES = {"string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
               "array": (list,), "object": (dict,), "null": (type(None),)}
_SHOWN_ARGS = 400  # characters of bad arguments quoted back to the model


@dataclass
class ToolResult:
    """One call's outcome.

    Attributes:
        call: the call as the model made it.
        ok: the tool ran and returned.
        text: what the tool returned (for the model); "" when not ok.
        error: why the call failed, written for the model and the user; "" when ok.
        seconds: wall time of the call (validation included).
        images / audio: files the tool produced, for the chat to show inline.
        source: where the tool came from ("workbench" or an MCP server); "" for an unknown tool.
    """

    call: ToolCall
    ok: bool
    text: str = ""
    error: str = ""
    seconds: float = 0.0
    images: list[Path] = field(default_factory=list)
    audio: list[Path] = field(default_factory=list)
    source: str = ""

    def for_model(self) -> str:
        """The content of the ``tool`` message that answers this call."""
        return self.text if self.ok else f"Error: {self.error}"

    def message(self) -> dict:
        """The ``{"role": "tool", ...}`` message that answers this call (OpenAI form)."""
        return {"role": "tool", "tool_call_id": self.call.id, "name": self.call.name, "content": self.for_model()}


class Toolbox:
    """The tools offered to the model in one chat, by name."""

    def __init__(self, tools: list[Tool]):
        self._tools: dict[str, Tool] = {}
        for tool in tools:
            if tool.name in self._tools:
                raise ValueError(f"two tools are named {tool.name!r} ({self._tools[tool.name].source} and "
                                 f"{tool.source}); rename one")
            self._tools[tool.name] = tool

    def __len__(self) -> int:
        return len(self._tools)

    def __bool__(self) -> bool:
        return bool(self._tools)

    @property
    def tools(self) -> list[Tool]:
        return list(self._tools.values())

    def names(self) -> list[str]:
        return list(self._tools)

    def schemas(self) -> list[dict]:
        """The OpenAI function schemas, for ``stream_chat(tools=...)``."""
        return [tool.schema() for tool in self._tools.values()]

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def call(self, call: ToolCall) -> ToolResult:
        """Run one call. Never raises (see the module's docstring)."""
        started = time.perf_counter()
        tool = self._tools.get(call.name)
        if tool is None:
            result = ToolResult(call=call, ok=False, error=self._unknown(call))
        else:
            result = _run(tool, call)
        result.seconds = time.perf_counter() - started
        return result

    def _unknown(self, call: ToolCall) -> str:
        offered = ", ".join(self._tools) or "none"
        if not call.name:
            return (f"the tool call could not be read (a JSON object with \"name\" and \"arguments\" is expected); "
                    f"it was: {_quote(call.arguments)}. The tools are: {offered}.")
        return f"there is no tool named {call.name!r}. The tools are: {offered}."


def validate_arguments(arguments: dict, schema: dict) -> list[str]:
    """What is wrong with ``arguments`` for a JSON schema object: missing required fields, basic type mismatches,
    values outside an ``enum``, unknown fields where ``additionalProperties`` is false. Empty when they fit."""
    problems: list[str] = []
    properties = schema.get("properties") or {}
    missing = [name for name in schema.get("required") or [] if name not in arguments]
    if missing:
        problems.append("missing required argument" + ("s " if len(missing) > 1 else " ")
                        + ", ".join(repr(m) for m in missing))
    if schema.get("additionalProperties") is False:
        extra = [name for name in arguments if name not in properties]
        if extra:
            problems.append("unknown argument" + ("s " if len(extra) > 1 else " ") + ", ".join(map(repr, extra))
                            + f" (the arguments are: {', '.join(properties) or 'none'})")
    for name, value in arguments.items():
        spec = properties.get(name)
        if isinstance(spec, dict):
            problems.extend(_check_value(name, value, spec))
    return problems


def _check_value(path: str, value, spec: dict) -> list[str]:
    expected = spec.get("type")
    kinds = [expected] if isinstance(expected, str) else list(expected or [])
    known = [k for k in kinds if k in _JSON_TYPES]
    if known and not any(_is_type(value, k) for k in known):
        return [f"argument {path!r} must be {' or '.join(known)}, not {_json_type(value)}"]
    if "enum" in spec and value not in spec["enum"]:
        return [f"argument {path!r} must be one of {', '.join(map(repr, spec['enum']))}"]
    if isinstance(value, list) and isinstance(spec.get("items"), dict):
        for i, item in enumerate(value):
            problems = _check_value(f"{path}[{i}]", item, spec["items"])
            if problems:
                return problems
    if isinstance(value, dict) and isinstance(spec.get("properties"), dict):
        return [p.replace("argument '", f"argument '{path}.", 1) for p in validate_arguments(value, spec)]
    return []


def _is_type(value, kind: str) -> bool:
    if isinstance(value, bool) and kind in ("integer", "number"):
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _JSON_TYPES[kind])


def _json_type(value) -> str:
    for kind in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _is_type(value, kind) and not (kind == "integer" and isinstance(value, float)):
            return kind
    return type(value).__name__


def _run(tool: Tool, call: ToolCall) -> ToolResult:
    try:
        arguments = call.parsed()
    except ValueError as exc:
        return ToolResult(call=call, ok=False, source=tool.source,
                          error=f"{exc} for {tool.name}; they were: {_quote(call.arguments)}. "
                                f"Call it again with a JSON object of arguments.")
    problems = validate_arguments(arguments, tool.parameters or {})
    if problems:
        return ToolResult(call=call, ok=False, source=tool.source,
                          error=f"wrong arguments for {tool.name}: {'; '.join(problems)}.")
    box: dict = {}

    def work():
        try:
            box["output"] = tool.run(arguments)
        except BaseException as exc:  # any failure of a tool is an answer for the model
            box["error"] = exc

    worker = threading.Thread(target=in_this_call(work), name=f"tool-{tool.name}", daemon=True)
    worker.start()
    worker.join(tool.timeout_s)
    if worker.is_alive():  # a thread cannot be killed: it is left to finish on its own, its result unused
        return ToolResult(call=call, ok=False, source=tool.source,
                          error=f"{tool.name} did not finish within {tool.timeout_s:g} s and was given up.")
    if "error" in box:
        return ToolResult(call=call, ok=False, source=tool.source,
                          error=f"{tool.name} failed: {_describe(box['error'])}")
    output = box.get("output")
    if not isinstance(output, ToolOutput):
        output = ToolOutput(text="" if output is None else str(output))
    return ToolResult(call=call, ok=True, text=redact(output.text), images=list(output.images),
                      audio=list(output.audio), source=tool.source)


def _describe(exc: BaseException) -> str:
    """An exception as one line for the model: no traceback, no secret, no server path."""
    message = hide_paths(redact(str(exc))).strip() or "no message"
    if isinstance(exc, WorkbenchError):
        return message
    return f"{type(exc).__name__}: {message}"


def _quote(text: str) -> str:
    text = text or ""
    return repr(text if len(text) <= _SHOWN_ARGS else text[:_SHOWN_ARGS] + "…")
