"""Compare models tab: side-by-side streaming with measured speed and memory, the facts that decide a choice
(with the Chinchilla check), and a blind arena with a Bradley–Terry leaderboard (bootstrap 95 % intervals).

Sub-tabs live in ``build()``, each in its own module: ``side`` (side by side, with follow-ups), ``facts``, ``battle``
(the arena, with follow-ups); ``turns``: the columns' conversations; "Compare, part 2" (``extra``: benchmarks, model
internals, next-token view) adds its own sub-tabs. Formatting lives in ``tabs.compare.view``.
"""

from __future__ import annotations

import gradio as gr

from engines import arena
from engines.config import Settings
from engines.context import Context, as_context
from tabs.common import Links
from tabs.compare import extra as compare_extra
from tabs.compare.battle import (  # noqa: F401  (the tab's handlers, re-exported: tests and callers use this module)
    VOTE_LABELS,
    _arena,
    arena_battle,
    arena_followup,
    arena_leaderboard,
    arena_vote,
)
from tabs.compare.facts import FACT_COLUMNS, chinchilla_calc, facts_panel, model_facts  # noqa: F401
from tabs.compare.side import (  # noqa: F401
    COLS,
    EXAMPLE_PROMPT,
    _csv,
    _side_by_side,
    compare_followup,
    compare_models,
    followup_turn,
    new_conversation,
    quantization_duel,
    stop_run,
)


def build(ctx: Context | Settings | None = None, links: Links | None = None) -> None:
    """Render the Compare tab inside the current Blocks.

    Args:
        ctx: the app's context (``engines.context``), or bare settings.
        links: cross-tab targets; this tab receives model lists as "compare.models".
    """
    settings = as_context(ctx).settings
    defaults = arena.default_models(settings)
    with gr.Tab("Compare models", id="compare"):
        gr.Markdown("Pick an LLM the way an engineer should: run candidates **side by side** on your prompt "
                    "(speed, memory, quantization, device, all measured), check **the facts that decide** "
                    "(license, context, training data, price, memory), and judge quality **blind**.")
        with gr.Tabs(elem_id="compare-subtabs"):
            models = _side_by_side(defaults, settings)
            facts_panel(models)
            _arena(defaults, settings)
            compare_extra.build_panels(settings, links)
    if links is not None:
        links.register("compare.models", "compare", models)
