"""Browser test: search the (fake) Hub, open a model, send it to Compare; screenshots at 1440 and 390 px.

The Blocks is the Hub tab after stand-in receiving tabs (tests/support/fake_hub.py ``hub_demo``): the real tabs
register their targets as the lead wires them; the "Compare" tab here is a dummy with a multiselect dropdown.
"""

from __future__ import annotations

import pytest
from app_helpers import BROWSER_WAIT_MS, SCREENSHOTS, SECRET_MARKER
from fake_hub import served_hub

from engines import hub as engine

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def hub_url(tmp_path_factory):
    with served_hub(tmp_path_factory.mktemp("hf-cache"), SECRET_MARKER) as (url, _fake):
        yield url
    engine.clear_cache()


def _tab(page, name: str) -> None:
    """Click a tab, through the "More tabs" menu when a narrow screen folded it there."""
    tab = page.get_by_role("tab", name=name, exact=True)
    page.wait_for_selector("[role=tablist]")
    if tab.count() and tab.first.is_visible():
        tab.first.click()
        return
    for more in page.get_by_role("button", name="More tabs").all():
        if more.is_visible():
            more.click()
            menu = page.locator(".overflow-dropdown button", has_text=name)
            if menu.count() and menu.first.is_visible():
                menu.first.click()
                return
    raise AssertionError(f"no tab named {name!r}")


def _open_hub(browser, url: str, width: int, height: int = 1600):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(BROWSER_WAIT_MS)
    page.goto(url)
    _tab(page, "Hub")
    return context, page


def test_search_open_and_send_to_compare(browser, hub_url):
    from playwright.sync_api import expect

    engine.clear_cache()
    context, page = _open_hub(browser, hub_url, 1440)
    try:
        page.locator("#hub-m-text textarea, #hub-m-text input").first.fill("acme")
        page.locator("#hub-m-go").click()
        expect(page.locator("#hub-m-status")).to_contain_text("models")
        table = page.locator("#hub-m-table")
        expect(table).to_contain_text("acme/chat-1b")
        table.get_by_text("acme/chat-1b", exact=True).first.click()
        facts = page.locator("#hub-m-facts")
        expect(facts).to_contain_text("safetensors headers")
        expect(facts).to_contain_text("4-bit (NF4)")
        expect(page.locator("#hub-m-card")).to_contain_text("Acme Chat 1B")
        send = page.locator("#hub-send-compare-models")
        expect(send).to_be_visible()
        expect(page.locator("#hub-send-minutes-asr")).to_be_hidden()  # not a speech model
        page.screenshot(path=str(SCREENSHOTS / "hub-models.png"), full_page=True)
        send.click()
        expect(page.get_by_role("tab", name="Compare")).to_have_attribute("aria-selected", "true")
        expect(page.locator("#dummy-compare-models")).to_contain_text("acme/chat-1b")
        _tab(page, "Hub")
        _tab(page, "Datasets")
        page.locator("#hub-d-id textarea, #hub-d-id input").first.fill("acme/qa-pairs")
        page.locator("#hub-d-open").click()
        expect(page.locator("#hub-d-page")).to_contain_text("Rows 1–10 of 30 · en / validation")
        expect(page.locator("#hub-d-facts")).to_contain_text("{title: string, lines: list[string]}")
        expect(page.locator("#hub-d-config input")).to_have_value("en")  # the pickers offer its configs
        page.screenshot(path=str(SCREENSHOTS / "hub-dataset.png"), full_page=True)
    finally:
        context.close()
    assert (SCREENSHOTS / "hub-models.png").stat().st_size > 10_000


def test_dataset_rows_and_phone_layout(browser, hub_url):
    from playwright.sync_api import expect

    context, page = _open_hub(browser, hub_url, 390, 1800)
    try:
        page.locator("#hub-m-go").click()
        expect(page.locator("#hub-m-table")).to_contain_text("acme/chat-1b")
        page.screenshot(path=str(SCREENSHOTS / "hub-models-390.png"), full_page=True)
        _tab(page, "Datasets")
        page.locator("#hub-d-id textarea, #hub-d-id input").first.fill("acme/reviews")
        page.locator("#hub-d-open").click()
        expect(page.locator("#hub-d-page")).to_contain_text("Rows 1–10 of 25")
        page.locator("#hub-d-next").click()
        expect(page.locator("#hub-d-page")).to_contain_text("Rows 11–20 of 25")
        expect(page.locator("#hub-send-evaluate-dataset")).to_be_visible()
        page.screenshot(path=str(SCREENSHOTS / "hub-dataset-390.png"), full_page=True)
    finally:
        context.close()
    assert (SCREENSHOTS / "hub-models-390.png").stat().st_size > 10_000
