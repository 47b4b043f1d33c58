"""``tabs.common.on`` is the only way the app registers events (errors become the app's messages, streams are
coalesced, status lines follow the run state): checked on the source (AST) of tabs/ and app.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted((ROOT / "tabs").rglob("*.py")) + [ROOT / "app.py"]
ALLOWED = {"tabs/common.py"}  # where ``on`` calls the listener
# Gradio's event listeners (a call of one registers an event). ``clear``, ``load`` and ``stop`` are also names of
# ordinary methods (dict.clear, a cookie jar's load, a conversation's edit): they count when the call looks like a
# registration (fn, inputs, outputs, or an event keyword).
EVENTS = {"click", "change", "submit", "then", "success", "failure", "input", "select", "upload", "release",
          "blur", "focus", "stream", "like", "tick", "key_up", "edit", "expand", "collapse", "play", "pause",
          "retry", "undo", "copy", "option_select", "start_recording", "stop_recording", "pause_recording",
          "double_click", "submit_btn", "apply", "delete", "clear", "load", "stop", "end"}
AMBIGUOUS = {"clear", "load", "stop", "end", "copy", "delete", "apply", "edit", "input", "select", "release"}
REGISTRATION_KWARGS = {"fn", "inputs", "outputs", "api_name", "js", "queue", "cancels", "show_progress",
                       "concurrency_limit", "concurrency_id", "trigger_mode"}


def direct_registrations(source: str) -> list[tuple[int, str]]:
    """(line, what) for each event registered without ``on``: ``x.click(...)``, ``gr.on(...)``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        attr, owner = node.func.attr, node.func.value
        if attr == "on" and isinstance(owner, ast.Name) and owner.id in ("gr", "gradio"):
            found.append((node.lineno, "gr.on("))
        elif attr in EVENTS:
            kwargs = {k.arg for k in node.keywords}
            if attr not in AMBIGUOUS or len(node.args) >= 3 or kwargs & REGISTRATION_KWARGS:
                found.append((node.lineno, f".{attr}("))
    return found


@pytest.mark.parametrize("path", [p for p in SOURCES if p.relative_to(ROOT).as_posix() not in ALLOWED],
                         ids=lambda p: p.relative_to(ROOT).as_posix())
def test_events_are_registered_only_through_on(path):
    bad = direct_registrations(path.read_text())
    assert not bad, (f"{path.relative_to(ROOT)} registers events directly at {bad}: use tabs.common.on(button.click, "
                     "fn, inputs, outputs, ...) (and on(event.then, ...) to chain)")


def test_the_scan_finds_what_it_forbids_and_spares_the_rest():
    code = ("btn.click(fn, a, b)\nx = on(btn.click, fn, [a], {'b': b})\nevent.then(g, None, c, api_name=False)\n"
            "gr.on([a.change], fn, a, b)\nbox.input(None, None, [a], js='() => 1')\nhistory.clear()\n"
            "jar.load(text)\nitems.select(1)\nfoo.then\nconv.edit(at, text)\ntable.select(pick, None, [a, b])\n")
    assert direct_registrations(code) == [(1, ".click("), (3, ".then("), (4, "gr.on("), (5, ".input("),
                                       (11, ".select(")]
