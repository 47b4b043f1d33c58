"""Every download a tab offers is written into the one managed exports folder (tabs.common.export_folder: aged out,
app-owned), never into a temp dir or temp file of its own (Evaluate's downloads once made a new mkdtemp() per call)."""

from __future__ import annotations

import ast
from pathlib import Path

TABS = Path(__file__).resolve().parents[2] / "tabs"
TEMP_APIS = {"mkdtemp", "mkstemp", "NamedTemporaryFile", "TemporaryDirectory", "TemporaryFile", "SpooledTemporaryFile",
             "gettempdir"}
# the only functions allowed to touch the temp dir: where the exports folder is (tabs/common, a module or a package)
ALLOWED = {"exports_root", "export_folder"}


def _temp_calls(path: Path) -> list[tuple[str, int]]:
    """(enclosing function, line) of every call of a temp-file API in a module."""
    found = []

    def visit(node: ast.AST, func: str) -> None:
        for child in ast.iter_child_nodes(node):
            name = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else func
            if isinstance(child, ast.Call):
                callee = child.func
                called = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
                if called in TEMP_APIS:
                    found.append((func, child.lineno))
            visit(child, name)

    visit(ast.parse(path.read_text(encoding="utf-8")), "<module>")
    return found


def test_no_tab_writes_a_download_into_a_temp_dir_of_its_own():
    offenders = []
    for path in sorted(TABS.rglob("*.py")):
        rel = path.relative_to(TABS).as_posix()
        exports_module = rel.startswith("common")
        offenders += [f"{rel}:{line} in {func}()" for func, line in _temp_calls(path)
                      if not (exports_module and func in ALLOWED)]
    assert not offenders, "downloads go through tabs.common.export_folder / write_exports: " + ", ".join(offenders)


def test_the_scan_catches_a_temp_dir(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import tempfile\n\ndef downloads():\n    return tempfile.mkdtemp()\n"
                   "def other():\n    from tempfile import NamedTemporaryFile\n    return NamedTemporaryFile()\n")
    assert _temp_calls(bad) == [("downloads", 4), ("other", 7)]


def test_written_exports_and_notebooks_land_in_the_exports_folder(monkeypatch, tmp_path):
    from engines.backends.types import Recipe
    from tabs import common

    monkeypatch.setattr(common, "exports_root", lambda: tmp_path / "exports")
    files = common.write_exports("test", {"a.csv": "x\n"})
    notebook = common.notebook_file("test", "nb", Recipe(title="T", code="print(1)"))
    for path in [*files, notebook]:
        assert Path(path).resolve().parent.parent == (tmp_path / "exports").resolve()
