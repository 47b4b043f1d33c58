"""Tabs as packages (tabs/<name>/): each is listed in app.TABS, builds and publishes its API alone (what ``python
-m tabs.<name>`` serves), and the cross-tab links are data wired once every tab is built, whatever the order."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import gradio as gr
import pytest

import app
from tabs import header
from tabs.common import Link, Links
from tabs.kit.blocks import build_blocks

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted(p.parent.name for p in (ROOT / "tabs").glob("*/__init__.py") if p.parent.name != "kit")
# What each tab alone must publish (a sample of its API / MCP names: the whole list is checked against the app).
SAMPLE_API = {"pipelines": "pipeline_text", "tokenizers": "tokenize", "compare": "compare", "chat": "chat",
              "minutes": "transcribe", "images": "generate_image", "code": "convert_to_cpp",
              "synthetic": "generate_rows", "evaluate": "run_evaluation", "finetune": "finetune_start",
              "hub": "hub_search_models"}


def _api(demo: gr.Blocks) -> list[str]:
    """The published API / MCP names (not the events with ``api_name=False``, nor gr.Examples' own)."""
    return [str(f.api_name) for f in demo.fns.values() if f.api_name and f.api_visibility == "public"]


def _sends(links: Links) -> set[tuple[str, tuple[str, ...], str]]:
    return {(link.source, link.targets, getattr(link.button, "elem_id", None) or str(link.button))
            for link in links.wired}


@pytest.fixture(scope="module")
def whole():
    """The app's API names, and its sends as wired."""
    seen = {}
    real = Links.resolve

    def spy(self):
        seen["links"] = self
        return real(self)

    Links.resolve = spy
    try:
        demo = app.build_demo()
    finally:
        Links.resolve = real
    return _api(demo), seen["links"]


@pytest.fixture(scope="module")
def alone():
    """Each tab's API names when it is built alone (what ``python -m tabs.<name>`` serves)."""
    return {name: _api(build_blocks([importlib.import_module(f"tabs.{name}")])) for name in PACKAGES}


def test_every_tab_package_is_in_the_app_and_runs_alone():
    assert sorted(app.TABS) == PACKAGES == sorted(SAMPLE_API)
    for name in PACKAGES:
        assert (ROOT / "tabs" / name / "__main__.py").exists(), f"python -m tabs.{name} needs tabs/{name}/__main__.py"
        assert callable(importlib.import_module(f"tabs.{name}").build)


@pytest.mark.parametrize("name", sorted(SAMPLE_API))
def test_each_tab_builds_alone_with_its_api(name, whole, alone):
    names = alone[name]
    assert SAMPLE_API[name] in names
    assert set(names) <= set(whole[0]) and len(names) == len(set(names))


def test_the_tabs_alone_publish_exactly_the_apps_api(whole, alone):
    header_only = _api(build_blocks([], before=header.build))  # the status line's own names ("status"...)
    assert header_only and sorted(sum(alone.values(), []) + header_only) == sorted(whole[0])


def test_links_are_wired_whatever_the_build_order(whole):
    links = whole[1]
    sends = _sends(links)
    assert ("synthetic", ("evaluate.rows",), "synthetic.to_evaluate") in sends
    assert ("synthetic", ("finetune.dataset",), "synthetic.to_finetune") in sends
    assert ("finetune", ("evaluate.models", "evaluate.rows"), "ft-to-evaluate") in sends
    assert ("finetune", ("compare.models",), "ft-to-compare") in sends
    assert ("hub", ("compare.models",), "hub-send-compare-models") in sends
    assert not links.left_out  # every tab is here: every send found its targets
    seen = {}
    real = Links.resolve

    def spy(self):
        seen["links"] = self
        return real(self)

    Links.resolve = spy
    try:
        build_blocks([importlib.import_module(f"tabs.{name}") for name in reversed(app.TABS)])
    finally:
        Links.resolve = real
    assert _sends(seen["links"]) == sends and not seen["links"].left_out


def test_a_send_without_its_target_is_left_out_and_its_button_hidden():
    links = Links()
    with gr.Blocks():
        with gr.Tabs() as links.tabs:
            with gr.Tab("A", id="a"):
                state, button = gr.State({"x": 1}), gr.Button("send", visible=False)
                missing = gr.Button("send elsewhere")
            with gr.Tab("B", id="b"):
                links.register("b.value", "b", gr.Textbox())
        links.send(Link("a", button, ("b.value",), (state,), lambda s: {"b.value": str(s["x"])}, reveal=True))
        links.send(Link("a", missing, ("c.value",), (state,), lambda s: {"c.value": 1}))
        wired = links.resolve()
    assert [link.button for link in wired] == [button] and button.visible is True
    assert [link.button for link in links.left_out] == [missing] and missing.visible is False


def test_a_send_fills_its_targets_and_opens_the_first_ones_tab():
    with gr.Blocks() as demo:
        links = Links()
        with gr.Tabs() as links.tabs:
            with gr.Tab("A", id="a"):
                state, button = gr.State({"x": 1}), gr.Button("send")
            with gr.Tab("B", id="b"):
                box = gr.Textbox()
                links.register("b.value", "b", box)
        links.send(Link("a", button, ("b.value",), (state,), lambda s: {"b.value": str(s["x"]), "nope": 2}))
        links.resolve()
    fn = next(f for f in demo.fns.values() if f.inputs == [state])
    out = fn.fn({"x": 7})
    assert out[box] == "7" and out[links.tabs].selected == "b" and len(out) == 2  # "nope": not a target, dropped


def test_python_m_tab_serves_that_tab_alone():
    done = subprocess.run([sys.executable, "-m", "tabs.tokenizers", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "the tokenizers tab" in done.stdout
