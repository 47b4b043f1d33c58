"""Browser test: the Pipelines tab in headless Chromium: one text task and one audio task, then a screenshot."""

from __future__ import annotations

import pytest
from app_helpers import BROWSER_WAIT_MS, SCREENSHOTS

pytestmark = pytest.mark.browser


def _pick_task(page, label: str) -> None:
    page.locator("#pl-task input").click()
    page.get_by_role("option", name=label, exact=True).click()


def test_pipelines_tab_in_browser(page, served):  # noqa: F811
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Pipelines").click()
    expect(page.locator("#pl-text textarea")).not_to_have_value("")
    page.locator("#pl-run-classify").click()
    expect(page.locator("#pl-labels-out")).to_contain_text("POSITIVE")
    expect(page.locator("#pl-info")).to_contain_text("Device")
    page.get_by_text("Show code and notebook", exact=True).click()
    expect(page.locator("#pl-code")).to_contain_text("pipeline(")

    _pick_task(page, "Text to speech")
    expect(page.locator("#pl-run-audio_out")).to_be_visible()
    expect(page.locator("#pl-run-classify")).to_be_hidden()
    page.locator("#pl-text textarea").fill("hello world, this is a test")
    page.locator("#pl-run-audio_out").click()
    expect(page.locator("#pl-info")).to_contain_text("mms-tts-eng")
    expect(page.locator("#pl-audio-out audio, #pl-audio-out [data-testid='waveform-Audio']").first).to_be_attached()
    expect(page.locator("#pl-code")).to_contain_text("text-to-audio")
    page.screenshot(path=str(SCREENSHOTS / "pipelines.png"), full_page=True)
    assert (SCREENSHOTS / "pipelines.png").stat().st_size > 10_000


_TEXT_AND_ARROW = """e => {
    const input = e.querySelector('input'), arrow = e.querySelector('.icon-wrap');
    const s = getComputedStyle(input), box = input.getBoundingClientRect();
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.font = s.font;
    const left = box.left + parseFloat(s.borderLeftWidth) + parseFloat(s.paddingLeft);
    const room = input.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
    return {text_right: left + Math.min(ctx.measureText(input.value).width, room),
            arrow_left: arrow.getBoundingClientRect().left, text: input.value};
}"""


@pytest.mark.parametrize("width", [390, 1440])
def test_task_dropdown_arrow_stays_clear_of_its_text(browser, app_url, width):
    """On a phone (390 px) the Task dropdown's arrow was drawn over the end of "Sentiment analysis": the input ran
    under the arrow. The text now ends (or is cut with an ellipsis) before the arrow, at both widths."""
    from app_helpers import open_tab
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": width, "height": 844})
    page = context.new_page()
    page.set_default_timeout(BROWSER_WAIT_MS)
    try:
        page.goto(app_url)
        open_tab(page, "Pipelines")
        task = page.locator("#pl-task")
        expect(task.locator("input")).to_have_value("Sentiment analysis")
        task.scroll_into_view_if_needed()
        found = task.evaluate(_TEXT_AND_ARROW)
        task.screenshot(path=str(SCREENSHOTS / f"pipelines-task-dropdown-{width}.png"))
        assert found["text_right"] <= found["arrow_left"] + 0.5, found
    finally:
        context.close()
