"""Cross-tab wiring that needs every tab built first: the Synthetic data tab's "Evaluate on these rows" and
"Fine-tune on these rows" send its last run to the Evaluate and Fine-tune tabs (which build after it) and open them.
"""

from __future__ import annotations

import gradio as gr

from tabs.common import Links


def _send(links: Links, button: str, target: str, payload, tab: str) -> None:
    found = [links.get(button), links.get(target), links.get("synthetic.run")]
    if not all(found) or links.tabs is None:
        return
    (_, btn), (_, receiver), (_, run) = found
    btn.visible = True  # the button shows only where something receives it
    empty = ("Generate rows first: the Synthetic data tab has no finished run in this session yet.")

    def send(state):
        if not state or not state.get("rows"):
            raise gr.Error(empty, title="No rows yet")
        return payload(state)

    event = btn.click(send, run, receiver, api_name=False, queue=False)
    event.success(lambda: gr.Tabs(selected=tab), None, links.tabs, api_name=False, queue=False)
    links.delivered(target, event)


def connect(links: Links) -> None:
    """Wire the buttons whose targets exist (call inside the Blocks, after every tab has built)."""
    from tabs import evaluate, finetune

    _send(links, "synthetic.to_evaluate", "evaluate.rows", evaluate.synthetic_payload, "evaluate")
    _send(links, "synthetic.to_finetune", "finetune.dataset", finetune.synthetic_payload, "finetune")
