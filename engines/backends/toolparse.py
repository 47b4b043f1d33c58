"""The tool-call formats of open models' chat templates: which one a template asks for, reading the calls out of
the model's text (whole or streamed), and shaping a history with tool calls so the template renders it.

Three formats, named after the models that made them common:

- ``hermes`` (Hermes, Qwen2.5, Qwen3): ``<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>``, one block
  per call;
- ``llama3`` (Llama 3.1/3.2/3.3): the whole answer is ``{"name": ..., "parameters": {...}}``, optionally after
  ``<|python_tag|>``;
- ``mistral`` (Mistral v0.3 and later): ``[TOOL_CALLS] [{"name": ..., "arguments": {...}}, ...]``, or the newer
  ``[TOOL_CALLS]name[ARGS]{...}`` (with an optional ``[CALL_ID]id`` before ``[ARGS]``).

The arguments stay the JSON text exactly as the model wrote it; a call whose JSON cannot be read still becomes a
``ToolCall`` (its arguments the raw text) so the tool loop can tell the model what went wrong.
"""

from __future__ import annotations

import hashlib
import json
import re

from engines.backends.types import ToolCall

HERMES, LLAMA3, MISTRAL = "hermes", "llama3", "mistral"
STYLES = (HERMES, LLAMA3, MISTRAL)

_HERMES_OPEN, _HERMES_CLOSE = "<tool_call>", "</tool_call>"
_PYTHON_TAG = "<|python_tag|>"
_LLAMA_ENDS = ("<|eom_id|>", "<|eot_id|>")
_MISTRAL_CALLS, _MISTRAL_ARGS, _MISTRAL_ID = "[TOOL_CALLS]", "[ARGS]", "[CALL_ID]"
_MARKERS = {HERMES: _HERMES_OPEN, LLAMA3: _PYTHON_TAG, MISTRAL: _MISTRAL_CALLS}
_NAME = re.compile(r'"name"\s*:\s*"([^"\\]*)"')
_DECODER = json.JSONDecoder()


def mentions_tools(chat_template: str | None) -> bool:
    """Whether a chat template uses the ``tools`` it is given at all."""
    return bool(chat_template) and re.search(r"\btools\b", chat_template) is not None


def detect_style(chat_template: str | None) -> str | None:
    """The tool-call format a chat template teaches its model, from what the template text contains.

    Returns:
        "hermes", "llama3" or "mistral"; None when the template ignores ``tools`` or uses a format not read here
        (XML-argument formats such as GLM's ``<arg_key>`` or Qwen3-Coder's ``<function=...>``).
    """
    if not mentions_tools(chat_template):
        return None
    if _MISTRAL_CALLS in chat_template:
        return MISTRAL
    if "<arg_key>" in chat_template or "<function=" in chat_template:
        return None
    if _HERMES_OPEN in chat_template:
        return HERMES
    if _PYTHON_TAG in chat_template or ('"parameters"' in chat_template and "<|start_header_id|>" in chat_template):
        return LLAMA3
    return None


def parse_tool_calls(text: str, style: str) -> tuple[str, list[ToolCall]]:
    """Split a model's answer into its content and its tool calls.

    Args:
        text: the generated text (special tokens such as ``[TOOL_CALLS]`` or ``<|python_tag|>`` kept).
        style: one of ``STYLES`` (see ``detect_style``).

    Returns:
        (content, calls): the text outside the calls (stripped of the whitespace around them; the text unchanged
        when there is no call) and the calls with ids ``call_1``, ``call_2``, ... (an id the model wrote itself,
        Mistral's ``[CALL_ID]``, is kept).

    Raises:
        ValueError: an unknown style.
    """
    content, calls = _parse(text, style)
    return (content.strip(), calls) if calls else (text, [])


class ToolStreamFilter:
    """Streams the text a user may see while tool calls are being generated.

    ``feed`` returns the text safe to show now: it holds back anything from the start of a possible call marker
    (a partial ``<tool_call``, an answer that opens with ``{`` for Llama 3, ...). ``finish`` returns the rest of
    the visible text and the calls.
    """

    def __init__(self, style: str):
        if style not in STYLES:
            raise ValueError(f"unknown tool-call style {style!r}; use one of {', '.join(STYLES)}")
        self.style = style
        self._marker = _MARKERS[style]
        self._raw = ""
        self._shown = 0  # characters of _raw already returned
        self._hold_all = False  # a call has started: nothing more is shown until finish()

    @property
    def text(self) -> str:
        """Everything generated so far, calls included."""
        return self._raw

    def feed(self, delta: str) -> str:
        """Add generated text; return the part that can be shown now."""
        self._raw += delta
        if self._hold_all:
            return ""
        end = self._safe_end()
        out = self._raw[self._shown:end]
        self._shown = max(self._shown, end)
        return out

    def finish(self) -> tuple[str, list[ToolCall]]:
        """The visible text not returned yet (what was held back and was no call, text after the calls), and the
        calls."""
        content, calls = _parse(self._raw, self.style)
        if not calls:
            rest = self._raw[self._shown:]
        else:
            shown = self._raw[:self._shown]
            rest = content[len(shown):] if content.startswith(shown) else ""
            rest = rest.rstrip()
        self._shown = len(self._raw)
        self._hold_all = True
        return rest, calls

    def _safe_end(self) -> int:
        raw = self._raw
        if self._shown == 0 and self._starts_like_call(raw.lstrip()):
            if raw.strip() and self._opens_call(raw.lstrip()):
                self._hold_all = True
            return 0
        at = raw.find(self._marker, self._shown)
        if at >= 0:
            self._hold_all = True
            return at
        for k in range(min(len(self._marker) - 1, len(raw) - self._shown), 0, -1):
            if raw.endswith(self._marker[:k]):
                return len(raw) - k
        return len(raw)

    def _starts_like_call(self, head: str) -> bool:
        """At the very start of the answer: could this still become a call that has no marker in front?"""
        if not head:
            return True
        if self.style == LLAMA3:
            return head.startswith("{") or _PYTHON_TAG.startswith(head[:len(_PYTHON_TAG)])
        if self.style == MISTRAL:  # a decoder that drops the [TOOL_CALLS] token leaves the bare JSON list
            return re.match(r"\[\s*(\{|$)", head) is not None
        return False

    def _opens_call(self, head: str) -> bool:
        if self.style == LLAMA3:
            return head.startswith("{") or head.startswith(_PYTHON_TAG)
        return re.match(r"\[\s*\{", head) is not None


def template_messages(messages: list[dict], style: str | None) -> list[dict]:
    """A chat history in the OpenAI form, shaped so an open model's chat template renders its tool calls.

    - each call's ``arguments`` JSON text becomes a dict (the templates write it with ``tojson``; a string would
      come out quoted), unless it is not a JSON object (then the text stays);
    - ``mistral``: call ids become 9 alphanumeric characters (the template raises on anything else), the same
      for the ``tool_call_id`` of the matching tool messages;
    - ``llama3``: an assistant message with several calls becomes one message per call, each followed by its
      result (the template raises on more than one call per message).
    """
    out: list[dict] = []
    attached: set = set()  # llama3: tool results already placed after their split call
    results = {m.get("tool_call_id"): m for m in messages if m.get("role") == "tool"}
    for message in messages:
        if message.get("role") == "tool":
            if message.get("tool_call_id") in attached:
                continue
            m = dict(message)
            if style == MISTRAL and m.get("tool_call_id") is not None:
                m["tool_call_id"] = _mistral_id(str(m["tool_call_id"]))
            out.append(m)
            continue
        calls = message.get("tool_calls")
        if message.get("role") != "assistant" or not calls:
            out.append(message)
            continue
        shaped = [_template_call(c, style) for c in calls]
        if style == LLAMA3 and len(shaped) > 1:
            for i, (call, original) in enumerate(zip(shaped, calls, strict=True)):
                out.append({**message, "content": message.get("content") if i == 0 else "", "tool_calls": [call]})
                result = results.get(original.get("id"))
                if result is not None and original.get("id") not in attached:
                    out.append(result)
                    attached.add(original.get("id"))
            continue
        out.append({**message, "tool_calls": shaped})
    return out

# ----------------------------------------------------------------------------------------------- parsing


def _parse(text: str, style: str) -> tuple[str, list[ToolCall]]:
    if style == HERMES:
        return _parse_hermes(text)
    if style == LLAMA3:
        return _parse_llama3(text)
    if style == MISTRAL:
        return _parse_mistral(text)
    raise ValueError(f"unknown tool-call style {style!r}; use one of {', '.join(STYLES)}")


def _parse_hermes(text: str) -> tuple[str, list[ToolCall]]:
    parts, calls, pos = [], [], 0
    while (start := text.find(_HERMES_OPEN, pos)) >= 0:
        parts.append(text[pos:start])
        body_at = start + len(_HERMES_OPEN)
        close = text.find(_HERMES_CLOSE, body_at)
        body = text[body_at:close if close >= 0 else len(text)]
        calls.extend(_calls_in(body, len(calls)))
        pos = close + len(_HERMES_CLOSE) if close >= 0 else len(text)
    parts.append(text[pos:])
    return "".join(parts), calls


def _parse_llama3(text: str) -> tuple[str, list[ToolCall]]:
    tag = text.find(_PYTHON_TAG)
    before, body = (text[:tag], text[tag + len(_PYTHON_TAG):]) if tag >= 0 else ("", text)
    for end in _LLAMA_ENDS:
        body = body.replace(end, "")
    stripped = body.strip()
    if not stripped.startswith("{"):
        return text, []
    calls, pos, after = [], 0, ""
    try:
        while pos < len(stripped):
            if stripped[pos] != "{":
                after = stripped[pos:]
                break
            members, end = _members(stripped, pos)
            if not isinstance(members.get("name", (None,))[0], str) or not (
                    "parameters" in members or "arguments" in members):
                return text, []
            calls.append(_call_from(stripped, members, len(calls)))
            pos = _skip(stripped, end, ";,")
    except ValueError:
        if calls:
            return before + after, [*calls, _malformed(stripped[pos:], len(calls))]
        name = _NAME.match(stripped[1:].lstrip()) if re.match(r'\{\s*"name"\s*:', stripped) else None
        if tag < 0 and (name is None or not re.search(r'"(parameters|arguments)"\s*:', stripped)):
            return text, []  # without <|python_tag|>, only what reads as a call is one
        return before, [ToolCall(id=_id(0), name=name.group(1) if name else "", arguments=stripped)]
    return before + after, calls


def _parse_mistral(text: str) -> tuple[str, list[ToolCall]]:
    start = text.find(_MISTRAL_CALLS)
    if start < 0:  # the marker token dropped by the decoder: only a whole answer that is a list of calls
        stripped = text.strip()
        if re.match(r"\[\s*\{", stripped):
            try:
                calls, end = _call_list(stripped, 0, 0)
            except ValueError:
                return text, []
            if end == len(stripped) and calls:
                return "", calls
        return text, []
    parts, calls, pos = [text[:start]], [], start
    while text.startswith(_MISTRAL_CALLS, pos):
        pos = _skip(text, pos + len(_MISTRAL_CALLS), "")
        stop = text.find(_MISTRAL_CALLS, pos)
        stop = len(text) if stop < 0 else stop
        if text[pos:pos + 1] in ("[", "{"):
            try:
                found, pos = _call_list(text, pos, len(calls))
                calls.extend(found)
            except ValueError:
                calls.append(_malformed(text[pos:stop], len(calls)))
                pos = stop
        else:
            call, pos = _named_call(text, pos, stop, len(calls))
            calls.append(call)
        nxt = _skip(text, pos, "")
        if not text.startswith(_MISTRAL_CALLS, nxt):
            parts.append(text[pos:])
            break
        pos = nxt
    return "".join(parts), calls


def _named_call(text: str, pos: int, stop: int, n: int) -> tuple[ToolCall, int]:
    """``name[ARGS]{...}`` or ``name[CALL_ID]id[ARGS]{...}`` at ``pos``."""
    args_at = text.find(_MISTRAL_ARGS, pos, stop)
    if args_at < 0:
        return ToolCall(id=_id(n), name=text[pos:stop].strip(), arguments=""), stop
    head, call_id = text[pos:args_at], _id(n)
    if _MISTRAL_ID in head:
        head, call_id = head.split(_MISTRAL_ID, 1)
        call_id = call_id.strip() or _id(n)
    at = _skip(text, args_at + len(_MISTRAL_ARGS), "")
    try:
        _, end = _DECODER.raw_decode(text, at)
    except ValueError:
        return ToolCall(id=call_id, name=head.strip(), arguments=text[at:stop].strip()), stop
    return ToolCall(id=call_id, name=head.strip(), arguments=text[at:end]), end


def _call_list(text: str, pos: int, n: int) -> tuple[list[ToolCall], int]:
    """A JSON list of call objects (or one object) at ``pos``; raises ValueError when it is not one."""
    if text[pos] == "{":
        members, end = _members(text, pos)
        return [_call_from(text, members, n)], end
    calls, pos = [], _skip(text, pos + 1, "")
    while text[pos:pos + 1] != "]":
        members, end = _members(text, pos)
        calls.append(_call_from(text, members, n + len(calls)))
        pos = _skip(text, end, "")
        if text[pos:pos + 1] == ",":
            pos = _skip(text, pos + 1, "")
        elif text[pos:pos + 1] != "]":
            raise ValueError("expected ',' or ']'")
    return calls, pos + 1


def _calls_in(body: str, n: int) -> list[ToolCall]:
    """The call(s) inside one hermes block: an object, or a list of objects."""
    stripped = body.strip()
    try:
        if stripped.startswith(("{", "[")):
            calls, end = _call_list(stripped, 0, n)
            if _skip(stripped, end, "") == len(stripped):
                return calls
    except (ValueError, IndexError):
        pass
    return [_malformed(stripped, n)]


def _call_from(text: str, members: dict, n: int) -> ToolCall:
    name = members.get("name", (None,))[0]
    if not isinstance(name, str):
        raise ValueError("a call without a name")
    args = members.get("arguments") or members.get("parameters")
    if args is None:
        arguments = "{}"
    elif isinstance(args[0], str):  # the OpenAI habit: the arguments as a JSON string
        arguments = args[0]
    else:
        arguments = text[args[1]:args[2]]
    call_id = members.get("id", (None,))[0]
    return ToolCall(id=call_id if isinstance(call_id, str) and call_id else _id(n), name=name, arguments=arguments)


def _malformed(raw: str, n: int) -> ToolCall:
    name = _NAME.search(raw)
    return ToolCall(id=_id(n), name=name.group(1) if name else "", arguments=raw.strip())


def _members(text: str, pos: int) -> tuple[dict[str, tuple], int]:
    """The members of the JSON object at ``pos``: key → (value, start, end) with the value's exact span."""
    if text[pos:pos + 1] != "{":
        raise ValueError("expected '{'")
    members: dict[str, tuple] = {}
    pos = _skip(text, pos + 1, "")
    if text[pos:pos + 1] == "}":
        return members, pos + 1
    while True:
        if text[pos:pos + 1] != '"':
            raise ValueError("expected a key")
        key, pos = _DECODER.raw_decode(text, pos)
        pos = _skip(text, pos, "")
        if text[pos:pos + 1] != ":":
            raise ValueError("expected ':'")
        start = _skip(text, pos + 1, "")
        value, end = _DECODER.raw_decode(text, start)
        members[key] = (value, start, end)
        pos = _skip(text, end, "")
        if text[pos:pos + 1] == "}":
            return members, pos + 1
        if text[pos:pos + 1] != ",":
            raise ValueError("expected ',' or '}'")
        pos = _skip(text, pos + 1, "")


def _skip(text: str, pos: int, also: str) -> int:
    while pos < len(text) and (text[pos].isspace() or text[pos] in also):
        pos += 1
    return pos


def _id(n: int) -> str:
    return f"call_{n + 1}"


# ----------------------------------------------------------------------------------------------- templates


def _template_call(call: dict, style: str | None) -> dict:
    function = dict(call.get("function") or {})
    arguments = function.get("arguments")
    if isinstance(arguments, str):
        try:
            value = json.loads(arguments or "{}")
        except ValueError:
            value = None
        if isinstance(value, dict):
            function["arguments"] = value
    shaped = {**call, "function": function}
    if style == MISTRAL:
        shaped["id"] = _mistral_id(str(call.get("id") or ""))
    return shaped


def _mistral_id(call_id: str) -> str:
    """Mistral's templates accept only 9 alphanumeric characters: other ids map to a stable one."""
    if re.fullmatch(r"[A-Za-z0-9]{9}", call_id):
        return call_id
    return hashlib.sha256(call_id.encode()).hexdigest()[:9]
