"""The Synthetic data tab's sends, as data: "Evaluate on these rows" and "Fine-tune on these rows" put its last
run into a receiving tab's target. The receiving tab declares the ``Link`` (it owns the conversion); the Synthetic
tab registers its run state and buttons; ``Links.resolve`` wires them once every tab is built, in any order.
"""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr

from tabs.kit.links import Link

EMPTY = "Generate rows first: the Synthetic data tab has no finished run in this session yet."
BUTTONS = {"evaluate.rows": "synthetic.to_evaluate", "finetune.dataset": "synthetic.to_finetune"}


def from_synthetic(target: str, payload: Callable[[dict], object]) -> Link:
    """The send of the Synthetic data tab's last run to ``target`` ("evaluate.rows" or "finetune.dataset"),
    converted by ``payload`` (the receiving tab's ``synthetic_payload``)."""

    def send(state: dict | None) -> dict:
        if not state or not state.get("rows"):
            raise gr.Error(EMPTY, title="No rows yet")
        return {target: payload(state)}

    return Link("synthetic", BUTTONS[target], (target,), ("synthetic.run",), send, reveal=True,
                kwargs={"queue": False})
