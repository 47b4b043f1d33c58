"""Browser tests of the Compare part 2 panels: run the next-token view on a tiny model, save a screenshot."""

from __future__ import annotations

import pytest
from app_helpers import BROWSER_WAIT_MS, SCREENSHOTS
from tiny_compare_extra import panels_server

pytestmark = pytest.mark.browser


def _run_next_token_view(page) -> None:
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Next-token view").click()
    page.locator("#nt-model input").fill("meta-llama/Llama-3.1-8B-Instruct")
    page.locator("#nt-model input").press("Enter")
    page.locator("#nt-go").click()
    expect(page.locator("#nt-status [data-state='done']")).to_have_count(1)
    expect(page.locator("#nt-visual .nt-chip").first).to_be_visible()
    expect(page.locator("#nt-table")).to_contain_text("p(chosen)")
    expect(page.locator("#nt-seen summary")).to_contain_text("raw text, no chat template")


def test_panels_in_browser(browser, models_dir, fake_server):
    """The panels on their own (until the Compare tab wires them into the app)."""
    from playwright.sync_api import expect

    with panels_server(models_dir, fake_server.base_url) as url:
        context = browser.new_context(viewport={"width": 1280, "height": 1400})
        page = context.new_page()
        page.set_default_timeout(BROWSER_WAIT_MS)
        try:
            page.goto(url)
            page.get_by_role("tab", name="Benchmarks & leaderboards").click()
            page.locator("#bench-go").click()
            expect(page.locator("#bench-table")).to_contain_text("Llama 3.1 8B Instruct")
            page.screenshot(path=str(SCREENSHOTS / "compare_extra_benchmarks.png"), full_page=True)
            page.get_by_role("tab", name="Model internals").click()
            page.locator("#int-go").click()
            expect(page.locator("#int-summary")).to_contain_text("meta device")
            page.screenshot(path=str(SCREENSHOTS / "compare_extra_internals.png"), full_page=True)
            _run_next_token_view(page)
            page.screenshot(path=str(SCREENSHOTS / "compare_extra.png"), full_page=True)
        finally:
            context.close()
    assert (SCREENSHOTS / "compare_extra.png").stat().st_size > 10_000


def test_next_token_view_in_app(page):
    """The same panel inside the app's Compare tab."""
    page.get_by_role("tab", name="Compare models").click()
    page.get_by_role("tab", name="Next-token view").click()
    _run_next_token_view(page)
    page.screenshot(path=str(SCREENSHOTS / "compare_extra_app.png"), full_page=True)


def test_next_token_prompt_format_at_two_widths(browser, models_dir, fake_server):
    """Issue 27 item 6: the prompt format is a visible choice (raw by default) and the text read is shown; screenshots
    at 1440 and 390 px (compare_next_token_format_*.png)."""
    from playwright.sync_api import expect

    with panels_server(models_dir, fake_server.base_url) as url:
        context = browser.new_context(viewport={"width": 1440, "height": 900})
        page = context.new_page()
        page.set_default_timeout(BROWSER_WAIT_MS)
        try:
            page.goto(url)
            page.get_by_role("tab", name="Next-token view").click()
            expect(page.locator("#nt-format input[value='raw']")).to_be_checked()
            page.locator("#nt-format").get_by_text("Chat template — as the chat sends it").click()
            page.locator("#nt-model input").fill("meta-llama/Llama-3.1-8B-Instruct")
            page.locator("#nt-model input").press("Enter")
            page.locator("#nt-go").click()
            expect(page.locator("#nt-status [data-state='done']")).to_have_count(1)
            expect(page.locator("#nt-seen summary")).to_contain_text("wrapped in the chat template")
            expect(page.locator("#nt-seen pre")).to_contain_text("<|start_header_id|>user")
            page.screenshot(path=str(SCREENSHOTS / "compare_next_token_format_1440.png"), full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})
            expect(page.locator("#nt-format")).to_be_visible()
            page.screenshot(path=str(SCREENSHOTS / "compare_next_token_format_390.png"), full_page=True)
        finally:
            context.close()
