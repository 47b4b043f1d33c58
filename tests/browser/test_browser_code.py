"""Browser test: convert a program with the fake server, run Python and C++ in the sandbox, see the speedup."""

from __future__ import annotations

import pytest
import tiny_code as tc
from app_helpers import SCREENSHOTS

pytestmark = pytest.mark.browser


def test_code_tab_in_browser(page, fake_server):
    from playwright.sync_api import expect

    fake_server.script("browser-coder", tc.REPLY_OK)
    page.get_by_role("tab", name="Code").click()
    expect(page.locator("#code-sandbox")).to_contain_text("Isolation:")
    editor = page.locator("#code-python .cm-content")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    editor.fill(tc.PYTHON)
    model = page.locator("#a-model input")
    model.fill("openai:browser-coder")
    model.press("Enter")
    page.locator("#code-run-python").click()
    expect(page.locator("#code-py-summary")).to_contain_text("Python wall time", timeout=60_000)
    page.locator("#a-convert").click()
    expect(page.locator("#a-status")).to_contain_text("tokens", timeout=60_000)
    expect(page.locator("#a-cpp")).to_contain_text("#include <chrono>")
    page.locator("#a-run").click()
    verdict = page.locator("#a-verdict")
    expect(verdict).to_contain_text("output identical", timeout=60_000)
    expect(verdict).to_contain_text("faster than Python")
    py_first = page.locator("#code-py-out textarea").input_value().splitlines()[0]
    assert py_first.startswith("total = ")
    assert page.locator("#a-out textarea").input_value().splitlines()[0] == py_first
    page.screenshot(path=str(SCREENSHOTS / "code.png"), full_page=True)
    assert (SCREENSHOTS / "code.png").stat().st_size > 10_000
