"""N-gram overlap between test items and a corpus the user supplies, as GPT-3's decontamination measured it.

Tokenisation (that of lm-evaluation-harness's GPT-3-style ``Janitor``, with character offsets kept): the text is
split on whitespace; from every piece the ASCII punctuation characters (``string.punctuation``) are deleted and the
rest is lowercased (``str.lower``, so non-ASCII letters are lowercased too, where the Janitor lowercases only A–Z);
pieces left empty are dropped. "Don't stop." gives ``dont``, ``stop``. An n-gram is n consecutive such words
(GPT-3: n = 13); n-grams never span two corpus documents.

An item *overlaps* when any of its n-grams occurs in the corpus; its overlap is the share of its n-grams that do;
the spans are the character ranges of the item covered by matching n-grams (merged), so a UI can mark them. An
item with fewer than n words has no n-gram: it is reported as too short, not as clean.

Only the test set's n-grams are held in memory; the corpus is streamed line by line (a 13-word window carried
across lines), so a corpus much larger than memory works.
"""

from __future__ import annotations

import string
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from engines import textfiles
from engines.errors import InvalidInput

DEFAULT_N = 13
_DELETE = str.maketrans("", "", string.punctuation)
CORPUS_SUFFIXES = (".txt", ".md", ".jsonl", ".json")
MAX_SPAN_DOCS = 3  # documents named per overlapping item


@dataclass
class Word:
    """A normalised word and the character range it came from."""

    text: str
    start: int
    end: int


def words(text: str) -> list[Word]:
    """The words of a text with their character offsets (see the module docstring for the normalisation).

    Args:
        text: any text.

    Returns:
        Words in order.
    """
    out = []
    start = None
    for i, ch in enumerate(text + " "):
        if ch.isspace():
            if start is not None:
                norm = text[start:i].translate(_DELETE).lower()
                if norm:
                    out.append(Word(norm, start, i))
                start = None
        elif start is None:
            start = i
    return out


def _norm_words(line: str) -> list[str]:
    return [w for w in (p.translate(_DELETE).lower() for p in line.split()) if w]


@dataclass
class Overlap:
    """One item's overlap with the corpus."""

    ngrams: int  # the item's n-grams (0: fewer than n words)
    matched: int  # of them found in the corpus
    spans: list[tuple[int, int]] = field(default_factory=list)  # merged character ranges of the item
    documents: list[str] = field(default_factory=list)  # first corpus documents that matched

    @property
    def ratio(self) -> float | None:
        """Share of the item's n-grams found in the corpus (None when it has none)."""
        return self.matched / self.ngrams if self.ngrams else None

    @property
    def dirty(self) -> bool | None:
        """Any n-gram found (GPT-3's "dirty" item); None when the item is shorter than n words."""
        return self.matched > 0 if self.ngrams else None


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


class OverlapIndex:
    """The test items' n-grams, matched against corpus documents as they stream past."""

    def __init__(self, texts: list[str], n: int = DEFAULT_N):
        if not 1 <= int(n) <= 50:
            raise InvalidInput(f"The n of the n-grams must be between 1 and 50 (got {n}).")
        self.n = int(n)
        self.texts = texts
        self._items: list[list[tuple[tuple[str, ...], int, int]]] = []
        self.wanted: dict[tuple[str, ...], str | None] = {}  # n-gram → first document it was seen in
        for text in texts:
            ws = words(text)
            grams = [(tuple(w.text for w in ws[i:i + self.n]), ws[i].start, ws[i + self.n - 1].end)
                     for i in range(len(ws) - self.n + 1)]
            self._items.append(grams)
            for gram, _, _ in grams:
                self.wanted.setdefault(gram, None)
        self._last = {gram[-1] for gram in self.wanted}  # a cheap filter before building a tuple
        self.documents = 0
        self.words = 0

    def scan(self, name: str, lines: Iterable[str], stop: threading.Event | None = None) -> None:
        """Match one corpus document (its lines, in order) against the items' n-grams; ``stop`` is checked every
        10,000 lines (a single large file is one document)."""
        window: deque[str] = deque(maxlen=self.n)
        wanted, last, n = self.wanted, self._last, self.n
        for count, line in enumerate(lines):
            if stop is not None and count % 10_000 == 9_999 and stop.is_set():
                break
            for w in _norm_words(line):
                window.append(w)
                self.words += 1
                if w in last and len(window) == n:
                    gram = tuple(window)
                    if gram in wanted and wanted[gram] is None:
                        wanted[gram] = name
        self.documents += 1

    def results(self) -> list[Overlap]:
        """Per item, in order: n-grams, matches, merged spans, matching documents."""
        out = []
        for grams in self._items:
            hits = [(s, e, self.wanted[g]) for g, s, e in grams if self.wanted[g] is not None]
            docs = list(dict.fromkeys(d for _, _, d in hits))[:MAX_SPAN_DOCS]
            out.append(Overlap(len(grams), len(hits), _merge([(s, e) for s, e, _ in hits]), docs))
        return out


# ----------------------------------------------------------------------------------------------- corpora


@dataclass
class Corpus:
    """Where the corpus comes from: pasted text, uploaded files (.txt/.md = one document, .jsonl = one document
    per line, .json = a list of documents), or a folder of such files (read recursively, in name order)."""

    text: str = ""
    files: list[tuple[str, Path]] = field(default_factory=list)  # (shown name, path)
    folder: Path | None = None
    max_bytes: int = 20 * 2**30

    def empty(self) -> bool:
        """True when nothing was given."""
        return not self.text.strip() and not self.files and self.folder is None


def _json_text(value) -> str:
    """A JSON record's text: its "text" field, else all its string values joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if isinstance(value.get("text"), str):
            return value["text"]
        return "\n".join(_json_text(v) for v in value.values() if isinstance(v, (str, dict, list)))
    if isinstance(value, list):
        return "\n".join(_json_text(v) for v in value)
    return ""


def _documents_of(name: str, path: Path) -> Iterator[tuple[str, Iterable[str]]]:
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        with open(path, encoding=textfiles.stream_encoding(path), errors="replace") as f:
            for n, line in enumerate(f, start=1):
                if line.strip():
                    try:
                        record = textfiles.loads(line)
                    except ValueError:
                        raise InvalidInput(f"{name}, line {n}: not valid JSON (a .jsonl corpus holds one JSON "
                                           "object per line, with a \"text\" field).") from None
                    yield f"{name}:{n}", _json_text(record).splitlines()
    elif suffix == ".json":
        try:
            data = textfiles.loads(textfiles.read_text(path).text)
        except ValueError as exc:
            raise InvalidInput(f"{name}: not valid JSON ({getattr(exc, 'msg', 'broken UTF-16')}).") from None
        for n, record in enumerate(data if isinstance(data, list) else [data], start=1):
            yield f"{name}:{n}", _json_text(record).splitlines()
    else:
        with open(path, encoding=textfiles.stream_encoding(path), errors="replace") as f:
            yield name, f  # streamed line by line


def _folder_files(folder: Path) -> list[tuple[str, Path]]:
    if not folder.is_dir():
        raise InvalidInput(f"The corpus folder '{folder}' does not exist or is not a folder.")
    found = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in CORPUS_SUFFIXES)
    if not found:
        raise InvalidInput(f"The corpus folder '{folder}' holds no {', '.join(CORPUS_SUFFIXES)} file.")
    return [(str(p.relative_to(folder)), p) for p in found]


def documents(corpus: Corpus) -> Iterator[tuple[str, Iterable[str]]]:
    """The corpus's documents as (name, lines), in order.

    Raises:
        InvalidInput: an empty corpus, a missing folder, a file of an unknown type, bad JSON, or more than
            ``max_bytes`` of files.
    """
    if corpus.empty():
        raise InvalidInput("Give a corpus: paste text, upload .txt/.jsonl files, or name a local folder.")
    files = list(corpus.files) + (_folder_files(corpus.folder) if corpus.folder is not None else [])
    for name, path in files:
        if Path(path).suffix.lower() not in CORPUS_SUFFIXES:
            raise InvalidInput(f"{name}: a corpus file must be one of {', '.join(CORPUS_SUFFIXES)}.")
    total = sum(Path(p).stat().st_size for _, p in files)
    if total > corpus.max_bytes:
        raise InvalidInput(f"The corpus is {total / 2**30:.1f} GiB; at most {corpus.max_bytes / 2**30:.0f} GiB is "
                           "scanned at once. Split it and check the parts separately.")
    if corpus.text.strip():
        yield "pasted text", corpus.text.splitlines()
    for name, path in files:
        yield from _documents_of(name, Path(path))


def overlap(texts: list[str], corpus: Corpus, *, n: int = DEFAULT_N, stop: threading.Event | None = None,
            on_document: Callable[[int, int], None] | None = None) -> list[Overlap]:
    """N-gram overlap of each text with a corpus.

    Args:
        texts: the items' texts.
        corpus: where the corpus comes from.
        n: words per n-gram (GPT-3: 13).
        stop: set it to stop scanning (the documents scanned so far count).
        on_document: called with (documents scanned, words scanned) after each document.

    Returns:
        One Overlap per text.
    """
    index = OverlapIndex(texts, n)
    for name, lines in documents(corpus):
        if stop is not None and stop.is_set():
            break
        index.scan(name, lines, stop)
        if on_document is not None:
            on_document(index.documents, index.words)
    return index.results()
