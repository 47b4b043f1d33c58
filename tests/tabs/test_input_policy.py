"""tabs.inputs: the one input policy, value by value (the served-app walk is tests/app/test_inputs.py)."""

from __future__ import annotations

import gradio as gr
import pytest

from engines.config import Settings
from engines.errors import InvalidInput
from tabs.components import ChoiceBox, ModelBox
from tabs.inputs import check_value, load_json

SETTINGS = Settings(max_input_chars=100, max_list_items=5)
DEEP: list = [0]
for _ in range(40):
    DEEP = [DEEP]


@pytest.mark.parametrize(("component", "value", "message"), [
    (gr.Textbox(), "x" * 101, "over the limit of 100"),
    (gr.Textbox(max_length=10), "x" * 11, "over the limit of 10"),
    (gr.Textbox(), 5, "expected text, got int"),
    (gr.Textbox(), "\ud800", "lone UTF-16 surrogate"),
    (gr.Slider(0, 10), "abc", "expected a number, got str"),
    (gr.Slider(0, 10), None, "a number is required"),
    (gr.Slider(0, 10), True, "expected a number, got bool"),
    (gr.Slider(0, 10), 11, "outside the allowed range 0 to 10"),
    (gr.Number(minimum=0), -1, "outside the minimum 0"),
    (gr.Number(), float("nan"), "finite"),
    (gr.Checkbox(), "yes", "expected true or false"),
    (ModelBox(["a/b"]), 0.5, "expected text"),
    (ModelBox(["a/b"], multiselect=True), ["a"] * 6, "6 items is over the limit of 5"),
    (ModelBox(["a/b"], multiselect=True), {"a": 1}, "expected a list of choices"),
    (gr.Radio(["a", "b"]), [1, 2], "expected text"),
    (gr.JSON(), DEEP, "nested more than 32"),
    (gr.JSON(), ["x" * 60, "y" * 60], "more than 100 characters"),
    (gr.Audio(type="filepath"), {"path": "https://example.com/a.wav"}, "does not fetch files from URLs"),
    (gr.File(), 7, "expected a file"),
])
def test_bad_values_get_a_specific_message(component, value, message):
    with pytest.raises(gr.Error, match=message):
        check_value(component, value, "field", SETTINGS)


@pytest.mark.parametrize(("component", "value"), [
    (gr.Textbox(), "hello"), (gr.Textbox(), None), (gr.Slider(0, 10), 3.5), (gr.Number(), None),
    (gr.Checkbox(), False), (ModelBox(["a/b"]), "any/other"), (ChoiceBox(["en"], multiselect=True), ["fr"]),
    (gr.JSON(), {"a": [1, 2]}), (gr.Audio(type="filepath"), {"path": "/tmp/gradio/x.wav"}),
])
def test_good_values_pass(component, value):
    check_value(component, value, "field", SETTINGS, optional=True)


def test_load_json_names_the_problem():
    assert load_json('[{"a": 1}]') == [{"a": 1}]
    with pytest.raises(InvalidInput, match="not valid JSON"):
        load_json("[{")
    with pytest.raises(InvalidInput, match="nested too deeply"):
        load_json("[" * 50_000)
