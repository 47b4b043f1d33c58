"""The test suite's own layout: unique test module names (pytest imports them by basename) and no test module
importing from ``conftest`` (there are several conftest.py files; shared helpers live in tests/support/)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_test_module_names_are_unique():
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    assert not [n for n, c in names.items() if c > 1]


def test_no_test_module_imports_from_conftest():
    needle = "from " + "conftest import"  # spelled apart so this file does not match itself
    offenders = [str(p.relative_to(TESTS)) for p in TESTS.rglob("*.py")
                 if p.name != "conftest.py" and needle in p.read_text()]
    assert not offenders, f"import shared helpers from tests/support (app_helpers) instead: {offenders}"
