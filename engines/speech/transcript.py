"""Transcripts: timestamped segments and their exports (SRT, WebVTT, plain text)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engines.audio import clock


@dataclass
class Segment:
    """A piece of the transcript; ``start``/``end`` in seconds from the start of the recording."""

    start: float
    end: float
    text: str


@dataclass
class Transcript:
    """What ``transcribe`` returns. ``seconds`` is the processing time (decode + load + inference)."""

    text: str
    segments: list[Segment]
    duration_s: float
    language: str | None
    model: str = ""
    backend: str = ""
    device: str = ""
    seconds: float = 0.0
    load_s: float = 0.0
    decode_s: float = 0.0
    cache_hit: bool = False
    notices: list[str] = field(default_factory=list)
    source: dict[str, Any] = field(default_factory=dict)

    @property
    def realtime_factor(self) -> float:
        """Audio seconds per processing second (higher is faster; 10 = ten times faster than real time)."""
        return self.duration_s / self.seconds if self.seconds > 0 else 0.0

    def timestamped_text(self) -> str:
        """One ``[hh:mm:ss] text`` line per segment (what the minutes prompt reads)."""
        return "\n".join(f"[{clock(s.start)}] {s.text.strip()}" for s in self.segments if s.text.strip())

    def to_srt(self) -> str:
        """SubRip subtitles: numbered cues, ``hh:mm:ss,mmm --> hh:mm:ss,mmm``, blank line between cues."""
        cues = [s for s in self.segments if s.text.strip()]
        return "".join(f"{i}\n{stamp(s.start, ',')} --> {stamp(max(s.end, s.start), ',')}\n{_cue(s.text)}\n\n"
                       for i, s in enumerate(cues, 1))

    def to_vtt(self) -> str:
        """WebVTT subtitles: ``WEBVTT`` header, ``hh:mm:ss.mmm --> hh:mm:ss.mmm`` cues."""
        cues = [s for s in self.segments if s.text.strip()]
        body = "".join(f"{stamp(s.start, '.')} --> {stamp(max(s.end, s.start), '.')}\n{_cue(s.text, vtt=True)}\n\n"
                       for s in cues)
        return "WEBVTT\n\n" + body

    def to_txt(self) -> str:
        """Plain text with a timestamp per segment."""
        return self.timestamped_text() + "\n"


def stamp(seconds: float, sep: str) -> str:
    """``hh:mm:ss<sep>mmm`` (SRT uses ``,``, WebVTT ``.``)."""
    ms = int(round(max(0.0, seconds) * 1000))
    return f"{ms // 3_600_000:02d}:{ms % 3_600_000 // 60_000:02d}:{ms % 60_000 // 1000:02d}{sep}{ms % 1000:03d}"


def _cue(text: str, vtt: bool = False) -> str:
    # a blank line would end the cue early; "-->" inside a cue breaks VTT parsers
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()] or ["…"]
    out = "\n".join(lines).replace("-->", "→")
    return out.replace("&", "&amp;").replace("<", "&lt;") if vtt else out


# ---------------------------------------------------------------------------------------------- backends


