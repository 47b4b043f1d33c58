"""How the Compare tab shows things: column headers and metrics, the run's status line, the results table, the
arena leaderboard. Plain formatting, no Gradio events."""

from __future__ import annotations

import pandas as pd

from engines import arena, registry
from engines.refs import model_names
from tabs.common import esc, status_html
from tabs.numbers import number

_LABELS = {s.id: s.label for s in registry.all_specs()}
STATUS_STYLE = {"waiting": "#6b7280", "loading": "#92400e", "streaming": "#1d4ed8", "done": "#15803d",
                "error": "#b91c1c", "refused": "#b91c1c", "stopped": "#6b7280"}
# The columns a person reads first; the CSV download has every measured number.
RESULT_COLUMNS = {"model": "model", "status": "status", "ran as": "ran as", "ttft_s": "TTFT (s)",
                  "tokens_per_s": "tokens/s", "tokens": "tokens", "load_s": "load (s)", "memory_gb": "memory (GB)"}


def short_name(model: str) -> str:
    """A model's catalog label, else ``refs.model_names``' name (a local folder by what it holds, never a path)."""
    return _LABELS.get(model) or model_names(model)[0]


def name_title(model: str) -> str:
    """Hover text for a model's name: where it loads from (``refs.model_names``; no server path)."""
    return model_names(model)[1]


def ran_as(col: arena.ColumnState) -> str:
    """How the column really ran: quantization · device (measured once it ran, else the plan)."""
    s = col.stats
    if s is not None:
        return " · ".join(x for x in (s.quantization, s.device.upper() if s.device else "") if x)
    if col.fit is not None:
        return f"{col.fit.quantization} · {col.fit.device.upper()} (planned)"
    return col.quantization


def column_label(col: arena.ColumnState) -> str:
    """"name @ what ran", with what was asked for when it differs (e.g. 4bit asked, fp32 ran on CPU)."""
    asked = col.label.partition(" @ ")[2]
    ran = ran_as(col)
    ran_quant = ran.split(" · ")[0]
    label = f"{short_name(col.model)} @ {ran}"
    if asked and asked != ran_quant and not ran.endswith("(planned)"):
        label += f" (asked {asked})"
    return label


def gb(n: int | None) -> str:
    """Bytes as GB (MB below one GB); — when unknown."""
    if not n or number(n) == "—":
        return "—"
    return number(n / 2**30, ".2f", " GB") if n >= 2**30 else number(n / 2**20, ".1f", " MB")


_num = number


def header_html(col: arena.ColumnState) -> str:
    """A column's title: its number, what ran, and the catalog facts with a link to the card."""
    spec = registry.get(col.model)
    facts = ""
    if spec is not None:
        bits = [f"{spec.params_b:g}B params" if spec.params_b else None,
                f"{spec.context:,} ctx" if spec.context else None, spec.license, "gated" if spec.gated else None]
        facts = (f"<div style='font-size:.8em;opacity:.75'>{esc(' · '.join(b for b in bits if b))} · "
                 f"<a href='{esc(spec.source)}' target='_blank' rel='noopener'>card</a></div>")
    return (f"<div><b title='{esc(name_title(col.model))}'>{col.index + 1}. {esc(column_label(col))}</b>"
            f"{facts}</div>")


def metrics_html(col: arena.ColumnState) -> str:
    """The numbers under one column: live while it streams, exact once it ends."""
    s = col.stats
    color = STATUS_STYLE.get(col.status, "#6b7280")
    badge = (f"<span style='background:{color};color:#fff;border-radius:4px;padding:0 6px;font-size:.8em'>"
             f"{esc(col.status)}</span> <span style='opacity:.7;font-size:.85em'>{col.elapsed_s:.1f} s</span>")
    if s is not None:
        rows = [("TTFT", f"{s.ttft_s:.3f} s"), ("tokens/s", f"{s.tokens_per_s:.1f}"), ("tokens", f"{s.tokens}"),
                ("load", f"{s.load_s:.2f} s" + (" (cached)" if s.cache_hit else "")),
                ("memory", gb(s.memory_bytes)), ("peak GPU", gb(s.peak_gpu_bytes)),
                ("ran as", ran_as(col)), ("backend", s.backend)]
    else:
        fit = col.fit
        rows = [("first text", _num(col.live_ttft_s, ".2f", " s")), ("tokens/s", _num(col.live_tokens_per_s, ".1f")),
                ("chunks", str(col.chunks)), ("estimate", gb(fit.needed_bytes) if fit else "—"),
                ("will run as", ran_as(col))]
    cells = "".join(f"<span style='opacity:.65'>{esc(k)}</span><span>{esc(v)}</span>" for k, v in rows)
    out = (f"<div>{badge}</div><div style='display:grid;grid-template-columns:max-content 1fr;gap:1px 12px;"
           f"font-size:.85em;margin-top:4px'>{cells}</div>")
    if col.notice:
        out += f"<div style='color:#92400e;font-size:.85em'>{esc(col.notice)}</div>"
    if col.error:
        out += (f"<div style='color:#b91c1c;font-size:.9em'><b>{esc(col.error_title or 'Error')}:</b> "
                f"{esc(col.error)}</div>")
    return out


FASTEST_MARGIN = 0.15  # the lead over the runner-up needed to name a fastest column


def run_status(cols: list[arena.ColumnState], final: bool, device: str, sequential: bool = False) -> str:
    """The status line: running (at once, or one at a time); done (fastest and first token where the numbers can
    tell: see ``speed_verdict``); failed with the reason once; stopped."""
    done = sum(c.finished for c in cols)
    # one at a time, each column's clock starts at its turn: the run took their sum
    elapsed = sum(c.elapsed_s for c in cols) if sequential else max((c.elapsed_s for c in cols), default=0.0)
    how = "one at a time" if sequential else "at the same time"
    if not final:
        return status_html("running", f"{len(cols)} model(s) on {device}, {how}: {done} of {len(cols)} finished "
                                      f"· {elapsed:.1f} s")
    ok = [c for c in cols if c.stats is not None]
    stopped = sum(c.status == "stopped" for c in cols)
    failed = [c for c in cols if c.error]
    if not ok and not stopped:
        reasons = list(dict.fromkeys(c.error for c in failed if c.error))
        why = reasons[0] if len(reasons) == 1 else "; ".join(f"{short_name(c.model)}: {c.error}" for c in failed)
        return status_html("failed", f"No model finished ({len(cols)} tried, {elapsed:.1f} s). {why}")
    state = "stopped" if stopped else ("warning" if failed else "done")
    text = f"{len(ok)} of {len(cols)} finished in {elapsed:.1f} s on {device}" + (f", {how}" if len(cols) > 1 else "")
    text += f"; {stopped} stopped (their text so far stays)" if stopped else ""
    text += f"; {len(failed)} failed (see its column)" if failed else ""
    text += "."
    verdict = speed_verdict(ok, sequential)
    text += f" {verdict}" if verdict else ""
    return status_html(state, text)


def shared_hardware(cols: list[arena.ColumnState]) -> bool:
    """Whether two or more columns generated on this machine's CPU/GPU at once (API models run elsewhere)."""
    return sum(c.stats is not None and c.stats.device != "remote" for c in cols) >= 2


def speed_verdict(ok: list[arena.ColumnState], sequential: bool) -> str:
    """Which column was fastest, only where the numbers can tell: never between columns that ran at the same time on
    this machine (each slowed the others), and only with a lead of at least ``FASTEST_MARGIN`` over the runner-up
    (a single run's tokens/s moves by ~10 % from run to run on a busy machine)."""
    if len(ok) < 2:
        return ""
    if not sequential and shared_hardware(ok):
        return ("No fastest is named: the columns ran at the same time and shared this machine's "
                f"{'GPU' if any(c.stats.device == 'cuda' for c in ok) else 'CPU'}, so each one's speed was lowered "
                "by the others. Tick “Run columns one at a time” for speeds that compare fairly.")
    parts = []
    for what, key, best_is_max, fmt in (("Fastest", lambda c: c.stats.tokens_per_s, True, "{:.1f} tokens/s"),
                                        ("first token soonest", lambda c: c.stats.ttft_s, False, "{:.3f} s")):
        ranked = sorted(ok, key=key, reverse=best_is_max)
        best, second = key(ranked[0]), key(ranked[1])
        lead = (best / second - 1) if best_is_max else (second / best - 1) if best > 0 else 0.0
        if second > 0 and lead >= FASTEST_MARGIN:
            parts.append(f"{what}: **{column_label(ranked[0])}** ({fmt.format(best)} vs {fmt.format(second)} for "
                         "the next)")
        else:
            parts.append(f"{what}: no clear winner (the top two are within {100 * FASTEST_MARGIN:.0f} %)")
    return "; ".join(parts) + "."


def results_table(rows: list[dict], cols: list[arena.ColumnState]) -> pd.DataFrame:
    """The results table with the columns a person reads first (the CSV has them all)."""
    shown = []
    for row, col in zip(rows, cols, strict=True):
        shown.append({"model": short_name(col.model), "status": row["status"], "ran as": ran_as(col),
                      **{k: row[k] for k in RESULT_COLUMNS if k in row and k not in ("model", "status")}})
    return pd.DataFrame(shown).rename(columns=RESULT_COLUMNS) if shown else pd.DataFrame()


def chart_frame(cols: list[arena.ColumnState], column: str, value) -> pd.DataFrame:
    """One bar per finished column, labelled with what ran."""
    ok = [c for c in cols if c.stats is not None]
    return pd.DataFrame({"model": [f"{c.index + 1}. {short_name(c.model)}" for c in ok],
                         column: [value(c.stats) for c in ok]})


# ----------------------------------------------------------------------------------------------------- arena

MIN_VOTES_FOR_CI = 5  # below this the bootstrap has too little to resample
LEADER_COLUMNS = ["rank", "model", "rating", "95% CI", "votes", "wins", "losses", "ties", "both bad", "note"]


NOT_DETERMINED = "not determined"


def arena_row(rank: int, row: arena.LeaderRow) -> dict:
    """One leaderboard line: the rating with its 95 % interval, or "not determined" in their place while the votes
    don't identify it (the number the fit holds finite would read as a confident rating: "2064 (1992–2079)" for a
    model that won 6 of 6)."""
    if not row.determined:
        rating, interval = NOT_DETERMINED, row.note.split(":")[0]  # the reason, beside the rating (no scrolling)
    else:
        rating = round(row.rating)
        interval = f"{row.ci_low:.0f} – {row.ci_high:.0f}" if row.votes >= MIN_VOTES_FOR_CI else "too few votes"
    return {"rank": rank, "model": model_names(row.model)[0], "rating": rating, "95% CI": interval,
            "votes": row.votes, "wins": row.wins, "losses": row.losses, "ties": row.ties, "both bad": row.both_bad,
            "note": row.note}


def arena_caption(described: str) -> str:
    """The leaderboard's caption: where votes are (no server path) and how the ratings are computed."""
    return (f"{described}. **{arena.METHOD}**: ratings are the Bradley–Terry maximum-likelihood fit of all votes "
            f"(logistic, {arena.SCALE:g} points = {arena.BASE:g}:1 odds, mean {arena.ANCHOR:g}; as LMArena), so "
            "they do not depend on vote order. A tie or \"both bad\" counts half a win each. The interval comes "
            f"from {arena.BOOTSTRAP_ROUNDS} bootstrap resamples of the votes; overlapping intervals mean the order "
            "is not settled yet. **Not determined**: the votes don't fix that model's rating yet (it won or lost "
            "every vote, or only beat or only lost to the models it met: its maximum-likelihood rating is "
            "infinite); the ratings shown are centred on the models the votes do fix.")


def recipes_code(recipes: list) -> str:
    """The code box: each column's recipe code under a header naming the column."""
    return "\n\n".join(f"# ---- column {c.index + 1}: {column_label(c)} ----\n{r.code}" for c, r in recipes)
