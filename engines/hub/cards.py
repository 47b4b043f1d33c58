"""Repository cards: fetch a README (never cached on disk) and summarise it as front matter + first section."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from engines import errors
from engines.hub import client

MAX_SUMMARY_CHARS = 3000
MAX_SUMMARY_LINES = 60
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s")
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")


@dataclass
class CardSummary:
    """A card's front matter (as a dict) and its first section (Markdown, from the source text)."""

    meta: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    found: bool = False  # a README was read
    note: str = ""  # why there is no card text, when there is none


def plain_markdown(text: str) -> str:
    """Markdown without raw HTML (comments, tags) and without images (their alt text stays): cards are untrusted
    and often open with a logo; the summary keeps only what reads as text."""
    text = _IMAGE.sub(lambda m: m.group(1), _TAG.sub("", _COMMENT.sub("", text)))
    return re.sub(r"\n{3,}", "\n\n", text)


def first_section(body: str) -> str:
    """The card body up to its second section: the first heading(s) and the text under them (``plain_markdown``).

    Headings inside code fences don't count; at most MAX_SUMMARY_LINES lines / MAX_SUMMARY_CHARS characters.
    """
    body = plain_markdown(body)
    out: list[str] = []
    seen_heading = seen_text = in_fence = False  # text before the first heading (badges, a logo) doesn't count
    for line in body.strip("\n").splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and _HEADING.match(line):
            if seen_text:
                break
            seen_heading = True
        elif line.strip() and seen_heading:
            seen_text = True
        out.append(line)
        if len(out) >= MAX_SUMMARY_LINES or sum(len(x) + 1 for x in out) > MAX_SUMMARY_CHARS:
            out += ["```", "…"] if in_fence else ["…"]
            return "\n".join(out).strip()
    if in_fence:
        out.append("```")
    return "\n".join(out).strip()


def summarize(readme: str) -> CardSummary:
    """Split a README into front matter and the first section."""
    from huggingface_hub import RepoCard

    try:
        card = RepoCard(readme, ignore_metadata_errors=True)
        meta, body = card.data.to_dict(), card.text
    except Exception:  # malformed YAML that even ignore_metadata_errors rejects: show the body as text
        meta, body = {}, re.sub(r"\A---\n.*?\n---\n", "", readme, flags=re.S)
    return CardSummary(meta=meta, text=first_section(body), found=True)


def _fetch_readme(repo_id: str, kind: str) -> str:
    from huggingface_hub import get_session, hf_hub_url
    from huggingface_hub.utils import build_hf_headers, hf_raise_for_status

    url = hf_hub_url(repo_id, "README.md", repo_type=None if kind == "model" else kind, endpoint=client.endpoint())
    response = get_session().get(url, headers=build_hf_headers(token=client.token(),
                                                                library_name="llm-workbench"),
                                 timeout=client.timeout_s())
    hf_raise_for_status(response)
    return response.text


def card_summary(repo_id: str, kind: str = "model", fallback_meta: dict | None = None) -> CardSummary:
    """The card of ``repo_id``, summarised; a missing or inaccessible README gives a note, not an error.

    Args:
        repo_id: the repository.
        kind: "model", "dataset" or "space".
        fallback_meta: front matter to show when the README can't be read (the Hub's ``cardData``).

    Raises:
        HubUnreachable, HubRateLimited: the Hub can't answer now (the caller's detail would fail the same way).
    """
    try:
        text = client.call(lambda: _fetch_readme(repo_id, kind), what=f"the card of {repo_id}", kind=kind,
                           repo_id=repo_id)
    except (errors.HubUnreachable, client.HubRateLimited):
        raise
    except errors.GatedModel:
        return CardSummary(meta=fallback_meta or {}, note="The card is behind the gate: accept the terms on the Hub "
                                                          "and set HF_TOKEN to read it here.")
    except errors.WorkbenchError:
        return CardSummary(meta=fallback_meta or {}, note="This repository has no README (model card).")
    summary = summarize(text)
    if not summary.meta and fallback_meta:
        summary.meta = fallback_meta
    return summary
