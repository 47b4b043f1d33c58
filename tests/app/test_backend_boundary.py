"""Model kinds are known in one place: ``engines/backends/``. Outside it nothing branches on a reference's prefix
(``openai:``, ``hf:``, ``ollama:``): code asks the registry for the backend and its capability flags."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PREFIXES = {"openai", "hf", "ollama"}
ALLOWED = {"engines/backends", "engines/refs.py"}  # the backends, and the parser that asks them for prefixes


def _sources():
    for path in [ROOT / "app.py", *sorted((ROOT / "engines").rglob("*.py")), *sorted((ROOT / "tabs").rglob("*.py"))]:
        rel = path.relative_to(ROOT).as_posix()
        if not any(rel == a or rel.startswith(a + "/") for a in ALLOWED):
            yield rel, ast.parse(path.read_text(encoding="utf-8"))


def _prefix_literal(node: ast.AST) -> bool:
    values = node.elts if isinstance(node, ast.Tuple | ast.List | ast.Set) else [node]
    return any(isinstance(v, ast.Constant) and isinstance(v.value, str)
               and v.value.rstrip(":").lower() in PREFIXES for v in values)


def kind_branches(tree: ast.AST) -> list[str]:
    """Each place that branches on a model's backend kind, as 'line: what'."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "is_remote":
            found.append(f"{node.lineno}: .is_remote")
        elif isinstance(node, ast.Name) and node.id == "REMOTE_PREFIXES":
            found.append(f"{node.lineno}: REMOTE_PREFIXES")
        elif isinstance(node, ast.Compare) and any(_prefix_literal(x) for x in [node.left, *node.comparators]):
            found.append(f"{node.lineno}: compares with a backend prefix")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in ("startswith", "removeprefix") and any(_prefix_literal(a) for a in node.args)):
            found.append(f"{node.lineno}: .{node.func.attr}() with a backend prefix")
    return found


def test_nothing_outside_the_backends_branches_on_a_model_kind():
    offenders = {rel: hits for rel, tree in _sources() if (hits := kind_branches(tree))}
    assert offenders == {}, f"ask engines.backends (capabilities / backend_for) instead: {offenders}"


def test_the_check_catches_each_form_of_kind_branching():
    code = ("if ref.is_remote: pass\nif ref.kind == 'openai': pass\nif kind in ('hf', 'ollama'): pass\n"
            "ok = model.startswith('openai:')\nx = p in REMOTE_PREFIXES\nif ref.kind == 'hub': pass\n")
    assert [h.split(": ", 1)[0] for h in kind_branches(ast.parse(code))] == ["1", "2", "3", "4", "5"]
