"""Degenerate repetition in streamed text: small models loop ("- Item\n- Item\n- Item …", or the same transcript
line under new timestamps) until the token limit.

``LoopGuard`` watches a stream and says when its tail has become a loop, so the caller can stop generating
(closing the stream stops ``generate`` at the next token) and tell the user why the text ends there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MIN_PERIOD = 8  # characters: shorter repeats ("-----", "   ") are formatting, not loops
MAX_PERIOD = 400
MIN_REPEATS = 4  # the same span this many times in a row at the end of the text
MIN_LOOP_CHARS = 120  # and covering at least this much text


def tail_loop(text: str) -> tuple[int, int] | None:
    """The loop the text ends with, if any: (period in characters, repeats).

    A loop is a span of ``MIN_PERIOD``–``MAX_PERIOD`` characters repeated back to back at least ``MIN_REPEATS``
    times (and ``MIN_LOOP_CHARS`` characters in all) at the very end of the text; spans of fewer than three distinct
    characters (whitespace, rules like "-----") don't count.
    """
    n = len(text)
    for period in range(MIN_PERIOD, min(MAX_PERIOD, n // MIN_REPEATS) + 1):
        unit = text[n - period:]
        if len(set(unit.strip())) < 3:  # whitespace, "-----", "=====": formatting runs
            continue
        repeats = 1
        while repeats * period + period <= n and text[n - (repeats + 1) * period:n - repeats * period] == unit:
            repeats += 1
        if repeats >= MIN_REPEATS and repeats * period >= MIN_LOOP_CHARS:
            return period, repeats
    return None


LINE_WINDOW = 6  # the last this many lines …
LINE_DISTINCT = 2  # … holding at most this many distinct lines (once numbers and speakers are ignored) is a loop
_SPEAKER = re.compile(r"^\s*(\[[\d:.]+\]\s*)?([\w .'-]{1,30}:\s)?")


def _norm(line: str) -> str:
    return re.sub(r"\d+", "0", _SPEAKER.sub("", line.strip().lower()))


def line_loop(text: str) -> int | None:
    """Where a loop of near-identical lines begins, if the text ends in one (a line index), else None.

    Lines count as the same when they differ only in numbers and a leading "[hh:mm:ss] Name:" — how small models
    loop over a transcript: "[00:00:28] Bob: Good morning …", "[00:00:32] Alice: Good morning …".
    """
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < LINE_WINDOW:
        return None
    tail = {_norm(ln) for ln in lines[-LINE_WINDOW:]}
    if len(tail) > LINE_DISTINCT or sum(len(t) for t in tail) < 2 * MIN_PERIOD:
        return None
    start = len(lines) - LINE_WINDOW
    while start > 0 and _norm(lines[start - 1]) in tail:
        start -= 1
    return start


@dataclass
class LoopGuard:
    """Feed it the stream's deltas; ``looping`` turns true once the text ends in a loop (checked every ``every``
    characters, so the cost stays linear in practice)."""

    every: int = 64
    text: str = ""
    looping: bool = False
    period: int = 0
    repeats: int = 0
    loop_line: int | None = None
    _checked: int = 0

    def feed(self, delta: str) -> bool:
        """Add a delta; True when the text now ends in a loop."""
        self.text += delta
        if not self.looping and len(self.text) - self._checked >= self.every:
            self._checked = len(self.text)
            found = tail_loop(self.text[-MAX_PERIOD * (MIN_REPEATS + 1):])
            if found:
                self.looping = True
                self.period, self.repeats = found
            else:  # complete lines only: the stream's deltas rarely end exactly at a newline
                self.loop_line = line_loop(self.text[:self.text.rfind("\n") + 1])
                self.looping = self.loop_line is not None
        return self.looping

    def kept_text(self) -> str:
        """The text with the loop cut back to a single occurrence of the repeated span."""
        if not self.looping:
            return self.text
        if self.loop_line is not None:  # keep the loop's lines once each
            complete = self.text[:self.text.rfind("\n") + 1]  # a half-written last line is part of the loop
            lines = [ln for ln in complete.splitlines() if ln.strip()]
            seen, kept = set(), lines[:self.loop_line]
            for line in lines[self.loop_line:]:
                if _norm(line) not in seen:
                    seen.add(_norm(line))
                    kept.append(line)
            return "\n".join(kept) + "\n"
        return self.text[:len(self.text) - (self.repeats - 1) * self.period]
