"""Browser test: load the example multiple-choice set, run two models (a tiny local Qwen, the fake API model), open
a drill-down by clicking a matrix row, and save screenshots at 1440 and 390 px wide."""

from __future__ import annotations

import pytest
from app_helpers import SCREENSHOTS

# The served app inherits the environment when the session starts it: keep its runs database out of the home dir.

pytestmark = pytest.mark.browser


def test_evaluate_tab_in_browser(page):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1440, "height": 1400})
    page.get_by_role("tab", name="Evaluate").click()
    page.locator("#eval-example input").click()
    page.get_by_role("option", name="Multiple choice (log-likelihood or letter)").click()
    page.locator("#eval-load").click()
    expect(page.locator("#eval-set-status")).to_contain_text("20 items loaded")
    expect(page.locator("#eval-set")).to_contain_text("20 multiple choice")
    expect(page.locator("#eval-preview")).to_contain_text("Which of these is a mammal?")
    models = page.locator("#eval-models input")
    models.fill("openai:fake-echo")
    models.press("Enter")
    page.locator("#eval-run").click()
    status = page.locator("#eval-status")
    expect(status).to_contain_text("complete")
    expect(status).to_contain_text("40/40")
    expect(page.locator("#eval-summary")).to_contain_text("log-likelihood")
    expect(page.locator("#eval-summary")).to_contain_text("generated letter")
    expect(page.locator("#eval-files")).to_contain_text("-report")
    page.locator("#eval-matrix").get_by_text("mc-03", exact=True).click()
    details = page.locator("#eval-details")
    expect(details).to_contain_text("Which number is prime?")
    expect(details).to_contain_text("Choices scored by log-likelihood")
    expect(details).to_contain_text("echo:")
    expect(page.locator("#eval-item-id textarea")).to_have_value("mc-03")
    page.locator("#eval-details").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "evaluate.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 1400})
    page.wait_for_timeout(500)
    page.screenshot(path=str(SCREENSHOTS / "evaluate-390.png"), full_page=True)
    assert (SCREENSHOTS / "evaluate.png").stat().st_size > 10_000
