"""A long stream never freezes the page: while 2,000 tokens stream into the Minutes Markdown (paced by the fake
server), a click elsewhere is answered before the stream ends. Condition-based: no absolute time is asserted."""

from __future__ import annotations

import pytest
from app_helpers import LONG_STREAM, open_tab, write_long_minutes

pytestmark = pytest.mark.browser


def test_a_click_is_answered_while_a_long_stream_runs(page, fake_server):
    from playwright.sync_api import expect

    fake_server.script("minutes-long-stream", LONG_STREAM, pace=0.01)  # ~20 s of streaming
    # the stream waits after 200 words until the click was answered: a loaded machine took longer than the ~20 s
    # to answer it, and the stream had ended (whole loaded suite)
    gate = fake_server.hold("minutes-long-stream", after=200)
    write_long_minutes(page, "openai:minutes-long-stream")  # returns once streaming has begun
    status = page.locator("#min-status")
    expect(status.locator("[data-state='running']")).to_have_count(1)

    open_tab(page, "Tokenizers")
    page.get_by_text("Decode ids", exact=True).click()
    page.locator("#dec-ids").locator("textarea, input").first.fill("1, 2, 3")
    page.locator("#dec-go").click()
    expect(page.locator("#dec-out").locator("textarea, input").first).not_to_have_value("")
    # the stream had not finished when the click was answered
    assert status.locator("[data-state='running']").count() == 1, "the stream ended before the click was answered"
    gate.set()

    open_tab(page, "Minutes")
    expect(page.locator("#min-minutes")).to_contain_text("word1999", timeout=300_000)
