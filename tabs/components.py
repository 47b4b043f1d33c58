"""Gradio component subclasses of the app: ``ChoiceBox`` and ``ModelBox``, dropdowns whose choices are suggestions.

Gradio's component metaclass writes a ``.pyi`` stub next to the module of every component class it creates, at
import time. The app must not write into its own source tree (a read-only deploy would fail to start), so the
classes here are created with that stub writer switched off.
"""

from __future__ import annotations

import inspect

import gradio as gr
import gradio.component_meta as _component_meta

_write_stub = _component_meta.create_or_modify_pyi
_component_meta.create_or_modify_pyi = lambda *args, **kwargs: None
try:

    class ChoiceBox(gr.Dropdown):
        """A dropdown whose choices are suggestions: any value is accepted, and the API / MCP schema says "a string"
        (a list of strings when multiselect) instead of an ``enum`` of the choices.

        A plain ``gr.Dropdown`` publishes its choices as a JSON-schema ``enum`` that the MCP server enforces, even
        with ``allow_custom_value=True``. This one renders as the same dropdown, always accepts custom values, and is
        filterable. Subclass it for other free-text dropdowns (set ``value_description``).
        """

        value_description = "a value: one of the suggestions or any other"

        def __init__(self, choices=None, value=None, **kwargs):
            kwargs.setdefault("allow_custom_value", True)
            kwargs.setdefault("filterable", True)
            super().__init__(choices=choices, value=value, **kwargs)
            self._value_description = self.value_description

        def get_block_name(self) -> str:
            """Render with Gradio's dropdown."""
            return "dropdown"

        def api_info(self) -> dict:
            """A free string (a list of strings when multiselect): no enum."""
            return {"type": "array", "items": {"type": "string"}} if self.multiselect else {"type": "string"}

    # Gradio builds a component's UI config from the parameters of its class's __init__: with only (choices,
    # value, **kwargs) the label, multiselect, info, elem_id... never reached the browser.
    ChoiceBox.__init__.__signature__ = inspect.signature(gr.Dropdown.__init__)

    class ModelBox(ChoiceBox):
        """The model picker: catalog choices in the UI, any allowed model reference over the API and MCP."""

        value_description = ("a model reference: a catalog id, any Hub id (org/name), a local folder where allowed, "
                             "or openai:<name>, hf:<org/name>, ollama:<name>")

finally:
    _component_meta.create_or_modify_pyi = _write_stub
