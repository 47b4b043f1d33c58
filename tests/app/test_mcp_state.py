"""Gradio's MCP server drops State outputs by popping indices one by one; the app replaces that with a filter so a
tool whose event also updates a State (Compare's conversation) still answers (the `compare` tool failed with
"pop index out of range" before)."""

from __future__ import annotations

import gradio as gr
from gradio.mcp import GradioMCPServer

import tabs.server  # noqa: F401  (installs the replacement)


def test_state_outputs_are_dropped_wherever_they_are():
    comps = [gr.Textbox(), gr.State(), gr.Textbox(), gr.State()]
    assert GradioMCPServer.pop_returned_state(comps, ["a", "s1", "b", "s2"]) == ["a", "b"]


def test_a_list_that_does_not_match_the_outputs_is_left_alone():
    comps = [gr.Textbox(), gr.Textbox(), gr.State()]
    assert GradioMCPServer.pop_returned_state(comps, ["a", "b"]) == ["a", "b"]
