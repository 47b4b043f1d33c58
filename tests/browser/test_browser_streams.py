"""A long stream never freezes the page: while 2,000 tokens stream into the Minutes Markdown (paced by the fake
server), a click elsewhere is answered before the stream ends. Condition-based: no absolute time is asserted."""

from __future__ import annotations

import pytest
from app_helpers import open_tab

pytestmark = pytest.mark.browser

LONG = " ".join(f"word{i}" for i in range(2_000))


def test_a_click_is_answered_while_a_long_stream_runs(page, fake_server):
    from playwright.sync_api import expect

    fake_server.script("minutes-long-stream", "## Summary\n" + LONG, pace=0.01)  # ~20 s of streaming
    open_tab(page, "Minutes")
    box = page.locator("#min-transcript textarea")
    box.fill("[00:00:01] Alice: a long meeting.")
    llm = page.locator("#min-llm input").first
    llm.fill("openai:minutes-long-stream")
    llm.press("Enter")
    slider = page.locator("#min-maxnew input[type=number]")
    slider.fill("4096")
    slider.press("Enter")
    page.locator("#min-write").click()
    status = page.locator("#min-status")
    expect(page.locator("#min-minutes")).to_contain_text("word5", timeout=120_000)  # streaming has begun
    expect(status.locator("[data-state='running']")).to_have_count(1)

    open_tab(page, "Tokenizers")
    page.get_by_text("Decode ids", exact=True).click()
    page.locator("#dec-ids").locator("textarea, input").first.fill("1, 2, 3")
    page.locator("#dec-go").click()
    expect(page.locator("#dec-out").locator("textarea, input").first).not_to_have_value("", timeout=120_000)
    # the stream had not finished when the click was answered
    assert status.locator("[data-state='running']").count() == 1, "the stream ended before the click was answered"

    open_tab(page, "Minutes")
    expect(page.locator("#min-minutes")).to_contain_text("word1999", timeout=300_000)
