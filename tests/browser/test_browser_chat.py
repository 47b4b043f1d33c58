"""Browser test: the Chat tab at 1440 px and 390 px: two turns with an API model (the fake server), the stats line,
regenerate, the downloads; screenshots artifacts/screenshots/chat-<width>.png."""

from __future__ import annotations

import pytest
from app_helpers import BROWSER_WAIT_MS, SCREENSHOTS, open_tab

pytestmark = pytest.mark.browser


def _send(page, text: str) -> None:
    box = page.locator("#chat-message textarea")
    box.fill(text)
    page.locator("#chat-send").click()


@pytest.mark.parametrize("width", [1440, 390])
def test_chat_tab_in_browser(browser, app_url, fake_server, width):
    from playwright.sync_api import expect

    name = f"browser-chat-{width}"
    fake_server.respond(name, lambda messages: f"Answer number {sum(m['role'] == 'user' for m in messages)}.")
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(BROWSER_WAIT_MS)
    try:
        page.goto(app_url)
        open_tab(page, "Chat")
        model = page.locator("#chat-model input")
        model.fill(f"openai:{name}")
        model.press("Enter")
        _send(page, "Hello there")
        chat = page.locator("#chat-chatbot")
        expect(chat).to_contain_text("Answer number 1.")
        expect(page.locator("#chat-status")).to_contain_text("tokens/s")
        _send(page, "And again")
        expect(chat).to_contain_text("Answer number 2.")
        expect(page.locator("#chat-stats")).to_contain_text("Turn 2")
        expect(page.locator("#chat-message textarea")).to_have_value("")
        expect(page.locator("#chat-files")).to_contain_text("chat-replay")
        page.locator("#chat-regenerate").click()
        expect(page.locator("#chat-status")).to_contain_text("tokens/s")
        expect(chat).to_contain_text("Answer number 2.")
        assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"chat-{width}.png"), full_page=True)
        assert (SCREENSHOTS / f"chat-{width}.png").stat().st_size > 10_000
    finally:
        context.close()
