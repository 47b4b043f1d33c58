"""The one input policy: every value sent to any endpoint is checked here, against its component, before Gradio
preprocesses it and before a handler runs (``tabs.server.WorkbenchBlocks`` calls ``check_inputs``).

Text: a string (or nothing), at most ``min(component max_length, WORKBENCH_MAX_INPUT_CHARS)`` characters, no lone
surrogates. Numbers and sliders: a finite number (not a bool, not a string) inside the component's range. Lists
(multiselect dropdowns, dataframes, JSON): at most ``WORKBENCH_MAX_LIST_ITEMS`` items, JSON nested at most
``MAX_JSON_DEPTH`` levels. Files: Gradio's ``max_file_size`` (app.launch_kwargs). A violation is a ``gr.Error`` that
names the parameter, what was wrong and the limit, so a new endpoint can't forget its limits and no malformed value
reaches Gradio's generic "upstream app raised an exception".
"""

from __future__ import annotations

import inspect
import math
from typing import Any

import gradio as gr

from engines.config import Settings

MAX_JSON_DEPTH = 32
MAX_CHOICE_CHARS = 4096  # a dropdown value: a model reference or a name, never a document
_STRUCTURAL = (gr.State,)


def _names(block_fn) -> list[str]:
    """The handler's parameter names, in input order (the API's parameter names)."""
    fn = getattr(block_fn, "fn", None)
    try:
        params = [p.name for p in inspect.signature(fn).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return params


def _label(component, names: list[str], index: int) -> str:
    if index < len(names):
        return names[index]
    return str(getattr(component, "label", None) or f"input {index + 1}")


def _fail(name: str, problem: str) -> gr.Error:
    return gr.Error(f"Input '{name}': {problem}", title="Invalid input", print_exception=False)


def _depth(value: Any, limit: int, level: int = 0) -> bool:
    """True when ``value`` nests deeper than ``limit`` (iterative enough: stops at the limit)."""
    if level > limit:
        return True
    if isinstance(value, dict):
        return any(_depth(v, limit, level + 1) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_depth(v, limit, level + 1) for v in value)
    return False


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def load_json(text: str, what: str = "The JSON") -> Any:
    """Parse JSON typed by a user, with a specific error for malformed or absurdly nested input.

    Raises:
        InvalidInput: not valid JSON, or nested more than MAX_JSON_DEPTH levels.
    """
    import json

    from engines.errors import InvalidInput

    try:
        value = json.loads(text or "")
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from None
    except RecursionError:
        raise InvalidInput(f"{what} is nested too deeply (at most {MAX_JSON_DEPTH} levels).") from None
    if _depth(value, MAX_JSON_DEPTH):
        raise InvalidInput(f"{what} is nested too deeply (at most {MAX_JSON_DEPTH} levels).")
    return value


def check_text(name: str, value: Any, max_chars: int) -> None:
    """A text value: str or None, at most ``max_chars`` characters, valid Unicode."""
    if value is None:
        return
    if not isinstance(value, str):
        raise _fail(name, f"expected text, got {type(value).__name__}.")
    if len(value) > max_chars:
        raise _fail(name, f"{len(value):,} characters is over the limit of {max_chars:,} (WORKBENCH_MAX_INPUT_CHARS"
                          " or this field's own limit). Shorten it.")
    if _has_surrogate(value):
        raise _fail(name, "the text holds an invalid character (a lone UTF-16 surrogate). Remove it and send again.")


def check_number(name: str, value: Any, component, optional: bool) -> None:
    """A number: finite, not a bool or a string, inside the component's minimum/maximum."""
    if value is None:
        if optional:
            return
        raise _fail(name, "a number is required.")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(name, f"expected a number, got {type(value).__name__} {str(value)[:40]!r}.")
    if not math.isfinite(value):
        raise _fail(name, "expected a finite number.")
    low, high = getattr(component, "minimum", None), getattr(component, "maximum", None)
    if low is not None and value < low or high is not None and value > high:
        allowed = (f"the allowed range {low:g} to {high:g}" if low is not None and high is not None else
                   f"the minimum {low:g}" if low is not None else f"the maximum {high:g}")
        raise _fail(name, f"{value:g} is outside {allowed}.")


def _check_items(name: str, items: list, settings: Settings) -> None:
    if len(items) > settings.max_list_items:
        raise _fail(name, f"{len(items):,} items is over the limit of {settings.max_list_items:,} "
                          "(WORKBENCH_MAX_LIST_ITEMS).")


def check_structured(name: str, value: Any, settings: Settings) -> None:
    """JSON-like values (lists, dicts, tables): bounded size, depth and text length."""
    if _depth(value, MAX_JSON_DEPTH):
        raise _fail(name, f"nested more than {MAX_JSON_DEPTH} levels deep.")
    stack = [value]
    total = 0
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
            check_text(name, item, settings.max_input_chars)
        elif isinstance(item, dict):
            _check_items(name, list(item), settings) if len(item) > settings.max_list_items else None
            stack.extend(item.values())
            stack.extend(k for k in item if isinstance(k, str))
        elif isinstance(item, list | tuple):
            if len(item) > settings.max_list_items:
                _check_items(name, list(item), settings)
            stack.extend(item)
        if total > settings.max_input_chars:
            raise _fail(name, f"holds more than {settings.max_input_chars:,} characters of text "
                              "(WORKBENCH_MAX_INPUT_CHARS).")


def _numeric_choices(component) -> bool:
    return any(isinstance(c[1] if isinstance(c, tuple) else c, int | float) for c in (component.choices or []))


def _check_choice(name: str, item: Any, component) -> None:
    if item is None:
        return
    numeric = _numeric_choices(component)
    if isinstance(item, bool) or not (isinstance(item, str) or numeric and isinstance(item, int | float)):
        choices = "one of the choices" + (" or any value" if getattr(component, "allow_custom_value", False) else "")
        raise _fail(name, f"expected text ({choices}), got {type(item).__name__}.")
    if isinstance(item, str):
        check_text(name, item, MAX_CHOICE_CHARS)


def _check_dropdown(name: str, value: Any, component, settings: Settings) -> None:
    if getattr(component, "multiselect", False) and value is not None:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list):
            raise _fail(name, f"expected a list of choices, got {type(value).__name__}.")
        _check_items(name, items, settings)
        for item in items:
            _check_choice(name, item, component)
        return
    _check_choice(name, value, component)


def _check_file(name: str, value: Any, settings: Settings) -> None:
    if value is None:
        return
    files = value if isinstance(value, list) else [value]
    if not isinstance(value, dict | list | str):
        raise _fail(name, f"expected a file, got {type(value).__name__}.")
    _check_items(name, files, settings)
    for item in files:
        where = item.get("path") or item.get("url") if isinstance(item, dict) else item
        if isinstance(where, str) and where.lower().startswith(("http://", "https://")):
            raise _fail(name, "this app does not fetch files from URLs: upload the file instead.")
        path = item.get("path") if isinstance(item, dict) else item
        if isinstance(path, str) and path and not path.lower().startswith(("http://", "https://", "data:")) \
                and not _uploaded(path):
            raise _fail(name, "give a file uploaded to this app (POST it to /gradio_api/upload first, or use "
                              "gradio_client's handle_file), not a path on the server.")


def _uploaded(path: str) -> bool:
    """Whether ``path`` lies in Gradio's upload folder (where uploads and the app's own outputs are kept)."""
    import os

    from gradio.utils import get_upload_folder

    root = os.path.realpath(get_upload_folder())
    try:
        return os.path.commonpath([root, os.path.realpath(path)]) == root
    except ValueError:  # another drive (Windows)
        return False


def _optional(block_fn, names: list[str], index: int) -> bool:
    fn = getattr(block_fn, "fn", None)
    try:
        param = inspect.signature(fn).parameters.get(names[index]) if index < len(names) else None
    except (TypeError, ValueError):
        return False
    return param is not None and param.default is None


def check_value(component, value: Any, name: str, settings: Settings, optional: bool = False) -> None:
    """Check one raw input value against its component (see the module docstring)."""
    if isinstance(component, gr.Textbox | gr.Code):
        limit = getattr(component, "max_length", None) or settings.max_input_chars
        check_text(name, value, min(limit, settings.max_input_chars))
    elif isinstance(component, gr.Number | gr.Slider):
        check_number(name, value, component, optional or isinstance(component, gr.Number))
    elif isinstance(component, gr.Checkbox):
        if value is not None and not isinstance(value, bool):
            raise _fail(name, f"expected true or false, got {type(value).__name__}.")
    elif isinstance(component, gr.Dropdown | gr.Radio):
        _check_dropdown(name, value, component, settings)
    elif isinstance(component, gr.JSON | gr.Dataframe):
        check_structured(name, value, settings)
    elif isinstance(component, gr.File | gr.Audio | gr.Image | gr.Video | gr.Gallery):
        _check_file(name, value, settings)


def check_inputs(block_fn, inputs: list[Any], settings: Settings) -> None:
    """Check every raw input of one call; raise ``gr.Error`` naming the first bad one.

    Args:
        block_fn: Gradio's BlockFunction of the event.
        inputs: the raw values sent by the client, in input order.
        settings: the deployment's limits.
    """
    components = list(block_fn.inputs)
    names = _names(block_fn)
    if not isinstance(inputs, list):
        raise gr.Error("The request's data must be a list of input values.", title="Invalid input")
    expected = [c for c in components if not isinstance(c, _STRUCTURAL)]
    if len(inputs) < len(components):
        wanted = ", ".join(_label(c, names, i) for i, c in enumerate(components) if not isinstance(c, _STRUCTURAL))
        raise gr.Error(f"This endpoint takes {len(expected)} input(s) ({wanted}); {len(inputs)} were sent.",
                       title="Invalid input", print_exception=False)
    for index, component in enumerate(components):
        if isinstance(component, _STRUCTURAL) or getattr(component, "stateful", False):
            continue
        check_value(component, inputs[index], _label(component, names, index), settings,
                    optional=_optional(block_fn, names, index))
