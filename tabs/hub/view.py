"""How the Hub tab shows things: result tables, model / dataset / Space details, the offline state (HTML and
DataFrames; every value escaped)."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from engines import hub
from tabs.common import esc
from tabs.numbers import number

QUANT_LABELS = {"4bit": "4-bit (NF4)", "8bit": "8-bit (int8)", "bf16": "bf16"}
MODEL_COLUMNS = ["Model", "Task", "Params", "Downloads", "Likes", "License", "Gated", "Updated"]
DATASET_COLUMNS = ["Dataset", "Tasks", "Size", "Downloads", "Likes", "License", "Gated", "Updated"]
SPACE_COLUMNS = ["Space", "SDK", "Hardware", "State", "Likes", "Updated"]
LOCAL_COLUMNS = ["Model", "Where", "Size"]
MAX_FILES = 30
MAX_CELL = 160
_MUTED = "opacity:.7"
_TABLE = "border-collapse:collapse;border:none;font-size:.9em;margin:.3em 0"
_CELL = ("padding:3px 12px 3px 0;text-align:left;vertical-align:top;border:none;"
         "border-bottom:1px solid rgba(127,127,127,.18)")
_HEAD = _CELL + ";white-space:nowrap;font-weight:600;border-bottom:1px solid rgba(127,127,127,.45)"


# ------------------------------------------------------------------------------------------------ numbers


def compact(n: int | float | None) -> str:
    """1234 → 1.2K, 120000 → 120K, 3400000 → 3.4M ("—" when unknown)."""
    if number(n) == "—":
        return "—"
    for size, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= size:
            value = n / size
            return number(value, ".1f", unit).replace(".0" + unit, unit) if value < 100 else number(value, ".0f", unit)
    return f"{n:g}"


def size_text(n: int | None) -> str:
    """Bytes as KB / MB / GB (decimal units, like the Hub)."""
    if number(n) == "—":
        return "—"
    for size, unit in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if n >= size:
            return number(n / size, ".1f", f" {unit}")
    return f"{n:g} B"


def gib(n: int | None) -> str:
    """Bytes as GB (binary, like the Compare tab's memory numbers)."""
    if number(n) == "—":
        return "?"
    return number(n / 2**30, ".1f", " GB") if n >= 2**30 else number(n / 2**20, ".0f", " MB")


def _gated(value: str) -> str:
    return "no" if value == "no" else f"yes ({value})" if value in ("auto", "manual") else "yes"


# ------------------------------------------------------------------------------------------------ tables


def models_frame(rows: list[hub.ModelRow]) -> pd.DataFrame:
    """The model results table."""
    data = [[r.id, r.task or "—", compact(r.params), compact(r.downloads), compact(r.likes), r.license or "—",
             _gated(r.gated), r.updated or "—"] for r in rows]
    return pd.DataFrame(data, columns=MODEL_COLUMNS)


def datasets_frame(rows: list[hub.DatasetRow]) -> pd.DataFrame:
    """The dataset results table."""
    data = [[r.id, ", ".join(r.tasks[:2]) or "—", r.size or "—", compact(r.downloads), compact(r.likes),
             r.license or "—", _gated(r.gated), r.updated or "—"] for r in rows]
    return pd.DataFrame(data, columns=DATASET_COLUMNS)


def spaces_frame(rows: list[hub.SpaceRow]) -> pd.DataFrame:
    """The Space results table."""
    data = [[r.id, r.sdk or "—", r.hardware or "—", (r.stage or "—").lower(), compact(r.likes), r.updated or "—"]
            for r in rows]
    return pd.DataFrame(data, columns=SPACE_COLUMNS)


def local_frame(models: list[hub.LocalModel]) -> pd.DataFrame:
    """The offline table: the models available locally."""
    return pd.DataFrame([[m.id, m.where, size_text(m.size_bytes)] for m in models], columns=LOCAL_COLUMNS)


def cell(value: Any) -> str:
    """One dataset cell as short text (nested values as JSON)."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def rows_frame(page: hub.RowsPage | None) -> pd.DataFrame:
    """A page of dataset rows (columns in the features' order)."""
    if page is None:
        return pd.DataFrame()
    columns = [name for name, _ in page.features] or sorted({k for r in page.rows for k in r})
    data = [[page.offset + i, *(cell(r.get(c)) for c in columns)] for i, r in enumerate(page.rows)]
    return pd.DataFrame(data, columns=["#", *columns])


def page_text(page: hub.RowsPage | None) -> str:
    """"Rows 1–10 of 25 · default / train"."""
    if page is None or not page.rows:
        return ""
    last = page.offset + len(page.rows)
    total = f" of {page.total:,}" if page.total is not None else ""
    return f"Rows {page.offset + 1:,}–{last:,}{total} · {page.config} / {page.split}"


# ------------------------------------------------------------------------------------------------ pieces


def _badge(text: str, colour: str = "rgba(127,127,127,.18)") -> str:
    return (f"<span style='background:{colour};border-radius:4px;padding:1px 7px;margin:0 4px 4px 0;"
            f"display:inline-block;font-size:.85em;white-space:nowrap'>{esc(text)}</span>")


def _link(url: str | None, text: str) -> str:
    if not url or not url.startswith(("http://", "https://")):
        return esc(text)
    return f"<a href='{esc(url)}' target='_blank' rel='noopener noreferrer'>{esc(text)}</a>"


def _table(head: list[str], rows: list[list[str]]) -> str:
    """An HTML table; cells are already HTML (escape before)."""
    th = "".join(f"<th style='{_HEAD}'>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td style='{_CELL}'>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<div style='overflow-x:auto'><table style='{_TABLE}'><tr>{th}</tr>{body}</table></div>"


def _section(title: str, body: str) -> str:
    return f"<div style='margin:.8em 0 .2em;font-weight:600'>{esc(title)}</div>{body}"


def _stats(pairs: list[tuple[str, str | None]]) -> str:
    shown = [f"<b>{esc(v)}</b> {esc(k)}" for k, v in pairs if v not in (None, "", "—")]
    return f"<div style='margin:.2em 0'>{' · '.join(shown)}</div>"


def _meta_value(value: Any) -> str:
    if isinstance(value, list):
        items = [str(v) for v in value[:6]]
        return ", ".join(items) + (f" (+{len(value) - 6})" if len(value) > 6 else "")
    if isinstance(value, dict):
        return cell(value)
    return cell(value)


_META_KEYS = ("license", "language", "base_model", "datasets", "pipeline_tag", "library_name", "tags",
              "task_categories", "size_categories")


def front_matter_html(meta: dict) -> str:
    """The card's front matter: the fields that matter first, then how many others there are."""
    if not meta:
        return ""
    rows = [[esc(k), esc(_meta_value(meta[k]))] for k in _META_KEYS if meta.get(k) not in (None, "", [])]
    others = [k for k in meta if k not in _META_KEYS and meta[k] not in (None, "", [])]
    more = f"<div style='{_MUTED};font-size:.85em'>and {len(others)} more field(s): {esc(', '.join(others[:8]))}" \
           f"{'…' if len(others) > 8 else ''}</div>" if others else ""
    return _section("Card front matter", _table(["field", "value"], rows) + more) if rows or more else ""


def card_markdown(card: hub.CardSummary) -> str:
    """The card's first section for a ``gr.Markdown`` (already free of raw HTML and images), or why there is none."""
    if card.text:
        return card.text
    return f"*{card.note}*" if card.note else "*No card text.*"


def notes_html(notes: list[str]) -> str:
    """Notes in amber."""
    return "".join(f"<div style='color:#b45309;margin:.3em 0'>{esc(n)}</div>" for n in notes)


# ------------------------------------------------------------------------------------------------ details


def _fit_cell(m: hub.MemoryFit, free: int | None, pool: str) -> str:
    if m.needed_bytes is None:
        return "unknown (no parameter count)"
    if not m.runs_here:
        why = "needs a CUDA GPU (bitsandbytes)" if "CUDA" in m.note else m.note
        return f"<span style='{_MUTED}' title='{esc(m.note)}'>not on this device: {esc(why)}</span>"
    if m.fits is None:
        return "free memory unknown"
    if m.fits:
        return f"<span style='color:#15803d'>✓ fits</span> ({esc(gib(free))} {esc(pool)} free)"
    return f"<span style='color:#b91c1c'>✗ too big</span> (only {esc(gib(free))} {esc(pool)} free)"


def memory_html(d: hub.ModelDetail) -> str:
    """Parameters, dtypes and the memory table (4-bit / 8-bit / bf16 against what is free here)."""
    if d.params is None:
        return _section("Size and memory", "<div>Parameter count unknown, so the memory can't be estimated.</div>")
    dtypes = ", ".join(f"{k} {compact(v)}" for k, v in sorted(d.dtypes.items(), key=lambda kv: -kv[1]))
    head = (f"<div><b>{esc(compact(d.params))}</b> parameters ({d.params:,})"
            f"{f' · dtypes: {esc(dtypes)}' if dtypes else ''} <span style='{_MUTED}'>· from the "
            f"{esc(d.params_source)}</span></div>")
    rows = [[esc(QUANT_LABELS.get(m.quantization, m.quantization)), esc(gib(m.needed_bytes)),
             _fit_cell(m, d.available_bytes, d.pool)] for m in d.memory]
    foot = (f"<div style='{_MUTED};font-size:.85em'>Weights × bytes per parameter + 15% runtime overhead (NF4 +10%). "
            f"Device here: {esc(d.device)}; quantization 'auto' loads it as {esc(d.auto_quantization)}.</div>")
    return _section("Size and memory", head + _table(["quantization", "needs", "here"], rows) + foot)


def files_html(files: list[tuple[str, int | None]], total: int | None) -> str:
    """The repository's files with sizes (largest first, at most MAX_FILES)."""
    if not files:
        return ""
    ordered = sorted(files, key=lambda f: -(f[1] or 0))
    rows = [[esc(name), esc(size_text(size))] for name, size in ordered[:MAX_FILES]]
    more = f"<div style='{_MUTED}'>and {len(files) - MAX_FILES} more</div>" if len(files) > MAX_FILES else ""
    title = f"Files ({len(files)}, {size_text(total)} in all)" if total else f"Files ({len(files)})"
    return _section(title, _table(["file", "size"], rows) + more)


def model_html(d: hub.ModelDetail) -> str:
    """The model detail: title, badges, stats, memory, front matter, files, notes."""
    badges = "".join(_badge(b) for b in (d.task, d.library, d.license and f"license: {d.license}") if b)
    if d.gated != "no":
        badges += _badge(f"gated ({d.gated})", "rgba(245,158,11,.3)")
    if d.private:
        badges += _badge("private", "rgba(239,68,68,.25)")
    title = f"<div style='font-size:1.15em;font-weight:700;margin-bottom:.2em'>{_link(d.url, d.id)}</div>"
    stats = _stats([("downloads (30 days)", compact(d.downloads)), ("likes", compact(d.likes)),
                    ("updated", d.updated)])
    return (f"<div class='hub-detail'>{title}<div>{badges}</div>{stats}{notes_html(d.notes)}{memory_html(d)}"
            f"{front_matter_html(d.card.meta)}{files_html(d.files, d.total_bytes)}</div>")


def splits_html(splits: list[hub.SplitInfo]) -> str:
    """The configs and splits with their row counts."""
    if not splits:
        return ""
    rows = [[esc(s.config), esc(s.split), esc(f"{s.rows:,}" if s.rows is not None else "—")] for s in splits]
    return _section(f"Splits ({len(splits)})", _table(["config", "split", "rows"], rows))


def features_html(page: hub.RowsPage | None) -> str:
    """The columns and their types."""
    if page is None or not page.features:
        return ""
    return _section("Features", _table(["column", "type"], [[esc(n), esc(t)] for n, t in page.features]))


def dataset_html(d: hub.DatasetDetail) -> str:
    """The dataset detail: title, badges, stats, splits, features, front matter, viewer notes."""
    badges = "".join(_badge(b) for b in (*d.tasks[:3], d.size, d.license and f"license: {d.license}") if b)
    if d.gated != "no":
        badges += _badge(f"gated ({d.gated})", "rgba(245,158,11,.3)")
    title = f"<div style='font-size:1.15em;font-weight:700;margin-bottom:.2em'>{_link(d.url, d.id)}</div>"
    stats = _stats([("downloads (30 days)", compact(d.downloads)), ("likes", compact(d.likes)),
                    ("updated", d.updated)])
    notes = notes_html([d.viewer_error] if d.viewer_error else [])
    return (f"<div class='hub-detail'>{title}<div>{badges}</div>{stats}{notes}{splits_html(d.splits)}"
            f"{features_html(d.page)}{front_matter_html(d.card.meta)}</div>")


def space_html(d: hub.SpaceDetail) -> str:
    """The Space detail: SDK, hardware, state, links, models it uses."""
    name = f"{d.emoji + ' ' if d.emoji else ''}{d.title or d.id}"
    title = f"<div style='font-size:1.15em;font-weight:700;margin-bottom:.2em'>{_link(d.url, name)}</div>"
    hardware = d.hardware or (f"{d.requested_hardware} (requested)" if d.requested_hardware else None)
    rows = [[k, esc(v)] for k, v in (("SDK", f"{d.sdk or '?'} {d.sdk_version or ''}".strip()),
                                     ("hardware", hardware), ("state", (d.stage or "").lower()),
                                     ("license", d.license), ("likes", compact(d.likes)), ("updated", d.updated))
            if v not in (None, "", "—")]
    rows.append(["app", _link(d.app_url, d.app_url or "—")])
    if d.models:
        rows.append(["models", esc(", ".join(d.models[:8]))])
    if d.datasets:
        rows.append(["datasets", esc(", ".join(d.datasets[:8]))])
    desc = f"<div style='margin:.2em 0'>{esc(d.description)}</div>" if d.description else ""
    return f"<div class='hub-detail'>{title}{desc}{_table(['', ''], rows)}</div>"


def offline_html(message: str, models: list[hub.LocalModel]) -> str:
    """The offline state: why, and what still works here."""
    head = f"<div style='color:#b45309;margin:.3em 0'><b>Hub unreachable.</b> {esc(message)}</div>"
    if not models:
        return head + ("<div>No model is available locally either: set WORKBENCH_MODELS_DIR to a folder of "
                       "downloaded models, or connect this machine to the internet.</div>")
    rows = [[esc(m.id), esc(m.where), esc(size_text(m.size_bytes))] for m in models[:50]]
    return head + _section(f"Models available locally ({len(models)})", _table(["model", "where", "size"], rows))
