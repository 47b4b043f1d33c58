"""Evaluate tab: reading stored runs (the drill-down, paired comparisons, pairwise judging, flips, the runs list) and
the helpers every handler shares (the user's runs store, blank inputs). Each handler takes the app's settings as a
keyword (bound by ``tabs.common.with_settings``)."""

from __future__ import annotations

import functools

import gradio as gr

from engines.config import Settings
from engines.errors import InvalidInput
from engines.evals import report
from engines.evals.judge import judge_run_pairs
from engines.evals.store import RunStore
from tabs import common
from tabs.common import expensive, ui_errors, user_of
from tabs.evaluate import view

STREAM_EVERY_S = 0.3  # coalesce matrix updates (a 200 × 6 matrix re-renders at most ~3×/s)


def _blank(value) -> str | None:
    text = "" if value is None else str(value).strip()
    return text or None


def _store(request: gr.Request | None = None, settings: Settings | None = None) -> RunStore:
    """The runs store as the request's user sees it: their own runs only (``user_of``)."""
    return RunStore.default(settings, owner=user_of(request))


def _run_and_set(run_id: str | None, request: gr.Request | None, settings: Settings | None = None):
    store = _store(request, settings)
    text = _blank(run_id) or ""
    if text == "latest":
        runs = store.list_runs(1)
        text = runs[0].id if runs else ""
    run = store.get_run(text)
    return store, run, store.load_testset(run.set_hash)


# ----------------------------------------------------------------------------------------------- reading a run


@ui_errors
def item_details(run_id: str, item_id: str, request: gr.Request | None = None, *, settings: Settings | None = None):
    """The drill-down of one item: the prompt as each model read it (its chat template), output, score, judge
    rationale, tokens and latency.

    Args:
        run_id: the run's id.
        item_id: the item's id (first column of the matrix).

    Returns:
        The drill-down (HTML) and the item id.
    """
    store, run, testset = _run_and_set(run_id, request, settings)
    item = _blank(item_id) or ""
    return {"details": view.details_html(testset, item, store.results(run.id)), "item_id": item}


@ui_errors
def select_item(run_id: str, event: gr.SelectData, request: gr.Request | None = None, *,
                settings: Settings | None = None):
    """Open the drill-down of the matrix row that was clicked."""
    row = getattr(event, "row_value", None) or []
    return item_details(run_id, str(row[0]) if row else "", request, settings=settings)


@ui_errors
def compare_models(run_id: str, model_a: str, model_b: str, disagree_only: bool = False,
                   request: gr.Request | None = None, *, settings: Settings | None = None):
    """Paired comparison of two models of a run: McNemar's exact test (pass/fail) or a paired bootstrap (graded).

    Args:
        run_id: the run's id.
        model_a: one model of the run.
        model_b: another model of the run.
        disagree_only: list (and show in the matrix) only the items where the two disagree.

    Returns:
        The comparison (HTML) and the matrix (filtered when disagree_only).
    """
    store, run, testset = _run_and_set(run_id, request, settings)
    a, b = (_blank(model_a) or ""), (_blank(model_b) or "")
    for m in (a, b):
        if m not in run.models:
            raise InvalidInput(f"'{m}' is not a model of run {run.id}: pick from {', '.join(run.models)}.")
    if a == b:
        raise InvalidInput("Pick two different models to compare.")
    results = store.results(run.id)
    comparison = report.compare(results, a, b)
    only = {i for i, _, _ in comparison.disagreements()} if disagree_only else None
    return {"comparison": view.comparison_html(comparison, testset, bool(disagree_only)),
            "matrix": view.matrix(testset, run.models, results, only)}


@expensive
@ui_errors
def judge_pairwise(run_id: str, model_a: str, model_b: str, judge: str, request: gr.Request | None = None, *,
                   settings: Settings | None = None):
    """Judge two models' answers pairwise, each item in both orders (position swap), and report the agreement.

    Args:
        run_id: the run's id.
        model_a: one model of the run.
        model_b: another model of the run.
        judge: the judge model reference (it never sees which model wrote which answer).

    Returns:
        Wins, ties, order disagreements and the agreement between the two orders (HTML).
    """
    if not _blank(judge):
        raise InvalidInput("Pick a judge model.")
    summaries = judge_run_pairs(_blank(run_id) or "", _blank(model_a) or "", _blank(model_b) or "", judge,
                                store=_store(request, settings), settings=settings)
    lazy = ({"pairwise": common.Later(functools.partial(view.pairwise_html, s))} for s in summaries)
    yield from common.coalesce(lazy, STREAM_EVERY_S)  # the HTML rendered only for the updates that go out


@ui_errors
def compare_runs(run_id: str, earlier_run_id: str, request: gr.Request | None = None, *,
                 settings: Settings | None = None):
    """List the items that flipped (pass ↔ fail, same model) between an earlier run and this one.

    Args:
        run_id: this run's id.
        earlier_run_id: the earlier run's id.

    Returns:
        The flips (HTML).
    """
    store = _store(request, settings)
    later, earlier = store.get_run(_blank(run_id) or ""), store.get_run(_blank(earlier_run_id) or "")
    flips = report.flips(store.results(earlier.id), store.results(later.id))
    return {"flips": view.flips_html(flips, earlier, later)}


@ui_errors
def list_runs(request: gr.Request | None = None, *, settings: Settings | None = None):
    """Your stored runs, newest first (for the picker)."""
    runs = _store(request, settings).list_runs()
    return {"runs": gr.update(choices=[(r.label(), r.id) for r in runs], value=None)}
