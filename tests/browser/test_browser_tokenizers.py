"""Browser test: open the app in headless Chromium, run the Tokenizers tab on tiny tokenizers, screenshot."""

from __future__ import annotations

import pytest
from app_helpers import SCREENSHOTS

pytestmark = pytest.mark.browser


def test_tokenizers_tab_in_browser(page):
    from playwright.sync_api import expect

    expect(page.locator("#header")).to_contain_text("LLM Workbench")
    expect(page.locator("#header")).to_contain_text("Device:")
    page.get_by_role("tab", name="Tokenizers").click()
    page.locator("#tok-go").click()
    tokens = page.locator("#tok-tokens")
    expect(tokens).to_contain_text("Llama 3.1")
    expect(tokens).to_contain_text("round-trips")
    expect(page.locator("#tok-table")).to_contain_text("Phi 3")
    page.get_by_text("Chat template", exact=True).click()
    page.locator("#chat-go").click()
    expect(page.locator("#chat-out")).to_contain_text("template overhead")
    page.screenshot(path=str(SCREENSHOTS / "tokenizers.png"), full_page=True)
    assert (SCREENSHOTS / "tokenizers.png").stat().st_size > 10_000
