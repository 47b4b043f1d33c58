"""The app's header: what it is, the device, and a compact live status line (Hub, local and loaded models, a
memory bar, the queue) with the full lists in an expandable detail. Refreshed on a timer, on demand, and after
"Free memory"; it never shows a server path."""

from __future__ import annotations

import gradio as gr

from engines.config import Settings
from tabs.common import CHEAP_EVENT, esc, on

REFRESH_S = 5.0  # the status line follows loads, runs and evictions within this many seconds


def header_markdown(settings: Settings) -> str:
    """The header: what the app is, the device found, and where it runs."""
    models = "catalog + any Hub id" if settings.allow_custom_models else "catalog only"
    models += " + local folders" if settings.allow_local_models else ""
    models += " · a local models folder is set" if settings.models_dir else ""
    return ("# LLM Workbench\n"
            "Open-model work in one place: tokenizers, models side by side, and more — each in its own tab, with the "
            f"numbers and code underneath.\n\n**Device:** {settings.describe()} · **Models:** {models}")


def _gb(n: int) -> str:
    return f"{n / 2**30:.2f} GB"


def _label(key) -> str:
    label = getattr(key, "label", None)
    return label() if callable(label) else str(key)


def _bar(used: int, budget: int) -> str:
    share = min(1.0, used / budget) if budget else 0.0
    colour = "#15803d" if share < 0.7 else "#b45309" if share < 0.9 else "#b91c1c"
    return (f"<span title='{_gb(used)} of {_gb(budget)}' style='display:inline-block;vertical-align:middle;"
            f"width:80px;height:8px;border-radius:4px;background:#8884;overflow:hidden;margin:0 4px'>"
            f"<span style='display:block;height:100%;width:{100 * share:.0f}%;background:{colour}'></span></span>")


def status_html(queue_size: int | None = None) -> str:
    """The compact status line, with the lists (local and loaded models) in a <details> under it."""
    from engines.health import health

    h = health()
    hub = "Hub online" if h.hub_online else "Hub offline: only local and cached models load"
    loaded = [_label(row["key"]) for row in h.loaded]
    bits = [esc(hub), f"{len(h.local_models)} local model(s)", f"{len(loaded)} loaded",
            f"memory{_bar(h.used_bytes, h.budget_bytes)}{_gb(h.used_bytes)} of {_gb(h.budget_bytes)}"]
    if h.gpu:
        bits.append(f"GPU {_gb(h.gpu['allocated'])} (peak {_gb(h.gpu['peak'])}) of {_gb(h.gpu['total'])}")
    if queue_size is not None:
        bits.append(f"queue {queue_size}")
    lists = ""
    if h.local_models or loaded:
        local = "".join(f"<li><code>{esc(m)}</code></li>" for m in h.local_models) or "<li>none</li>"
        held = "".join(f"<li><code>{esc(m)}</code></li>" for m in loaded) or "<li>none</li>"
        lists = (f"<details style='font-size:.85em'><summary>models</summary><div style='display:flex;gap:24px;"
                 f"flex-wrap:wrap'><div><b>Available locally</b><ul>{local}</ul></div><div><b>Loaded</b>"
                 f"<ul>{held}</ul></div></div></details>")
    return f"<div id='status-line' style='font-size:.9em'>{' · '.join(bits)}</div>{lists}"


def build(demo: gr.Blocks, settings: Settings) -> None:
    """Render the header and its live status line inside the current Blocks."""
    gr.Markdown(header_markdown(settings), elem_id="header")
    with gr.Row(equal_height=False):
        with gr.Column(scale=8, min_width=300):  # on a phone the buttons wrap below the line
            box = gr.HTML("Checking the Hub…", elem_id="status")
        with gr.Column(scale=0, min_width=170), gr.Row():
            refresh = gr.Button("↻", size="sm", scale=0, min_width=44, elem_id="status-refresh")
            free = gr.Button("Free memory", size="sm", scale=0, min_width=110, elem_id="free-memory")

    def status() -> dict:
        """The app's state: Hub online or offline, local models, loaded models, memory against the budget.

        Returns:
            The status line (HTML).
        """
        queue = getattr(demo, "_queue", None)
        return {"status": status_html(len(queue) if queue is not None else None)}

    def free_memory() -> dict:
        """Unload every cached model and release memory.

        Returns:
            The updated status line.
        """
        from engines.health import unload_all

        count = unload_all()
        gr.Info(f"Unloaded {count} model(s).")
        return status()

    out = {"status": box}
    timer = gr.Timer(REFRESH_S)
    # status checks run outside the queue so a busy GPU never hides them
    on(demo.load, status, None, out, api_name=False, queue=False)
    on(timer.tick, status, None, out, api_name=False, queue=False, show_progress="hidden")
    on(refresh.click, status, None, out, api_name="status", queue=False, **CHEAP_EVENT)  # API calls do queue
    on(free.click, free_memory, None, out, api_name="free_memory", queue=False)
