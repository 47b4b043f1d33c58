"""Finding row objects in model output: JSON Lines, arrays, pretty-printed objects, fences and prose, streamed."""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from typing import Any

from engines.synthetic.fields import Field, field_key


@dataclass
class Unparseable:
    """A piece of model output that looked like a row but is not valid JSON."""

    text: str
    reason: str = "not valid JSON"


class RowParser:
    """Incremental JSON-objects-in-text parser: feed text deltas, get objects as soon as they are complete.

    Accepts JSON Lines, a JSON array, pretty-printed objects, code fences and prose around them. A broken object
    is reported as ``Unparseable`` and parsing resumes on the next line.
    """

    def __init__(self) -> None:
        self.buffer = ""
        self.pos = 0
        self._decoder = json.JSONDecoder()

    def feed(self, text: str) -> list[Any]:
        """Add a delta; return the objects (or Unparseable items) completed by it."""
        self.buffer += text
        last_nl = self.buffer.rfind("\n")
        return self._scan(last_nl + 1, final=False) if last_nl >= self.pos else []

    def finish(self) -> list[Any]:
        """The stream ended: parse what is left (a truncated object is Unparseable)."""
        return self._scan(len(self.buffer), final=True)

    def _scan(self, limit: int, final: bool) -> list[Any]:
        text = self.buffer[:limit]
        out: list[Any] = []
        while True:
            start = text.find("{", self.pos)
            if start < 0:
                self.pos = max(self.pos, limit)
                return out
            try:
                obj, end = self._decoder.raw_decode(text, start)
            except json.JSONDecodeError as exc:
                if not final and exc.pos >= len(text.rstrip()):
                    self.pos = start  # an object still being written: wait for more lines
                    return out
                obj, end = self._fallback(text, start)
                if obj is None:
                    out.append(Unparseable(text[start:end].strip()[:300]))
                    self.pos = end
                    continue
            out.append(obj)
            self.pos = end

    @staticmethod
    def _fallback(text: str, start: int) -> tuple[Any, int]:
        """A Python-style dict on one line (single quotes, True/False/None) is safe to read with literal_eval."""
        nl = text.find("\n", start)
        end = len(text) if nl < 0 else nl + 1
        line = text[start:end].strip().rstrip(",")
        try:
            value = ast.literal_eval(line)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return None, end
        return (value, end) if isinstance(value, dict) else (None, end)


def parse_rows(text: str) -> list[Any]:
    """All JSON objects (and Unparseable pieces) in a complete model answer.

    Args:
        text: the model's whole output for one batch.

    Returns:
        Parsed objects in order, with ``Unparseable`` items for broken ones.
    """
    parser = RowParser()
    return parser.feed(text) + parser.finish()


def expand(obj: Any, fields: list[Field]) -> list[Any]:
    """Unwrap {"rows": [...]}-style answers: a dict with none of the field keys holding a list of objects."""
    if isinstance(obj, dict) and not ({field_key(f.name) for f in fields} & {field_key(k) for k in obj}):
        for value in obj.values():
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                return list(value)
    return [obj]
