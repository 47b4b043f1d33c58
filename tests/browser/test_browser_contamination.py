"""Browser test: the Contamination panel inside the Evaluate tab of the served app, on a tiny local model — load the
example set above (the panel's set id follows), Min-K% against a pasted reference set plus 5-gram overlap with a
pasted corpus, the verdict cards, the distribution chart, the per-item table, a row clicked open with the overlap
marked; screenshots at 1440 and 390 px (artifacts/screenshots/contamination-*.png)."""

from __future__ import annotations

import pytest
from app_helpers import SCREENSHOTS

# The served app inherits the environment when the session starts it: keep its data out of the home dir.

pytestmark = pytest.mark.browser

REFERENCE = "\n".join(f"Which train leaves the northern station at platform {i} before noon?\\nThe express"
                      for i in range(6))
CORPUS = "A quiz page. In which year did the first human land on the Moon? It was a long time ago."


def test_contamination_panel_in_browser(page):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1440, "height": 1400})
    page.get_by_role("tab", name="Evaluate").click()
    page.locator("#eval-load").click()  # the default example set: short QA
    expect(page.locator("#eval-set-status")).to_contain_text("items loaded")
    set_id = page.locator("#eval-set-id textarea")
    expect(set_id).not_to_have_value("")
    page.get_by_text("Contamination: has this model seen my test set?").click()
    expect(page.locator("#contam-set-id textarea")).to_have_value(set_id.input_value())
    expect(page.locator("#contam-summary")).to_contain_text("What it measures")
    page.locator("#contam-methods").get_by_text("N-gram overlap with a corpus").click()
    page.locator("#contam-reference textarea").fill(REFERENCE)
    page.get_by_text("N-gram overlap: a corpus you have").click()
    page.locator("#contam-corpus textarea").fill(CORPUS)
    n = page.locator("#contam-n input[type=number]")
    n.fill("5")
    n.press("Tab")  # the slider takes the typed value on blur: wait until its range thumb shows it
    expect(page.locator("#contam-n input[type=range]")).to_have_value("5")
    page.locator("#contam-run").click()
    expect(page.locator("#contam-status")).to_contain_text("complete")
    summary = page.locator("#contam-summary")
    expect(summary).to_contain_text("AUROC test vs reference")
    expect(summary).to_contain_text("share a 5-gram with the corpus")
    expect(page.locator("#contam-chart svg")).to_be_visible()
    expect(page.locator("#contam-files")).to_contain_text(".csv")
    page.locator("#contam-table").get_by_text("qa-06", exact=True).click()
    details = page.locator("#contam-details")
    expect(details.locator("mark.contam-span")).to_have_count(1)
    expect(details).to_contain_text("Least likely tokens")
    expect(page.locator("#contam-item-id textarea")).to_have_value("qa-06")
    page.locator("#contam").scroll_into_view_if_needed()
    page.locator("#contam").screenshot(path=str(SCREENSHOTS / "contamination-1440.png"))
    page.set_viewport_size({"width": 390, "height": 1400})
    page.wait_for_timeout(500)
    page.locator("#contam").screenshot(path=str(SCREENSHOTS / "contamination-390.png"))
    assert (SCREENSHOTS / "contamination-1440.png").stat().st_size > 10_000
