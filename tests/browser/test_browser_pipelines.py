"""Browser test: the Pipelines tab in headless Chromium: one text task and one audio task, then a screenshot."""

from __future__ import annotations

import pytest
from app_helpers import SCREENSHOTS

pytestmark = pytest.mark.browser


def _pick_task(page, label: str) -> None:
    page.locator("#pl-task input").click()
    page.get_by_role("option", name=label, exact=True).click()


def test_pipelines_tab_in_browser(page, served):  # noqa: F811
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Pipelines").click()
    expect(page.locator("#pl-text textarea")).not_to_have_value("")
    page.locator("#pl-run-classify").click()
    expect(page.locator("#pl-labels-out")).to_contain_text("POSITIVE", timeout=60_000)
    expect(page.locator("#pl-info")).to_contain_text("Device")
    page.get_by_text("Show code and notebook", exact=True).click()
    expect(page.locator("#pl-code")).to_contain_text("pipeline(", timeout=10_000)

    _pick_task(page, "Text to speech")
    expect(page.locator("#pl-run-audio_out")).to_be_visible()
    expect(page.locator("#pl-run-classify")).to_be_hidden()
    page.locator("#pl-text textarea").fill("hello world, this is a test")
    page.locator("#pl-run-audio_out").click()
    expect(page.locator("#pl-info")).to_contain_text("mms-tts-eng", timeout=60_000)
    expect(page.locator("#pl-audio-out audio, #pl-audio-out [data-testid='waveform-Audio']").first).to_be_attached(
        timeout=30_000)
    expect(page.locator("#pl-code")).to_contain_text("text-to-audio")
    page.screenshot(path=str(SCREENSHOTS / "pipelines.png"), full_page=True)
    assert (SCREENSHOTS / "pipelines.png").stat().st_size > 10_000
