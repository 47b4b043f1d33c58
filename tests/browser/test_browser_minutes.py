"""Browser test: the bundled sample meeting through both stages (tiny Whisper → tiny chat model), screenshot."""

from __future__ import annotations

import re

import pytest
from app_helpers import SCREENSHOTS
from tiny_minutes import minutes_fx  # noqa: F401  (session fixture)

pytestmark = pytest.mark.browser


def _choose(page, elem: str, value: str) -> None:
    box = page.locator(f"#{elem} input").first
    box.fill(value)
    box.press("Enter")


def test_minutes_tab_in_browser(page, minutes_fx):  # noqa: F811
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Minutes").click()
    # local folders (allowed for `python app.py`): the tiny CTranslate2 Whisper (or the transformers one) and
    # a tiny Llama with a 1k context
    _choose(page, "min-asr", str(minutes_fx.get("whisper-ct2", minutes_fx["whisper"])))
    _choose(page, "min-llm", str(minutes_fx["lm-long"]))
    page.locator("#min-sample").click()
    # the recording is loaded: the player's own controls are there (its trim control only with a recording)
    expect(page.locator("#min-audio").get_by_role("button", name="Trim audio to selection")).to_be_visible()
    slider = page.locator("#min-maxnew input[type=number]")
    slider.fill("32")
    slider.press("Enter")
    page.locator("#min-both").click()
    # a tiny random model writes no structured minutes: the status is a warning naming what is missing, not a tick
    try:
        expect(page.locator("#min-status [data-state='warning']")).to_have_count(1)
    except AssertionError as exc:  # say what the status line showed instead (once, in a loaded whole suite, after
        # 240 s: still running, or failed?)
        raise AssertionError(f"{exc}\nthe status line: {page.locator('#min-status').inner_text()!r}") from None
    expect(page.locator("#min-status")).to_contain_text("lack the section(s)")
    expect(page.locator("#min-transcript textarea")).to_have_value(re.compile(r"^\[00:00:\d\d\] "))
    expect(page.locator("#min-tstats")).to_contain_text("real-time factor")
    expect(page.locator("#min-tfiles")).to_contain_text(".srt")
    expect(page.locator("#min-mfiles")).to_contain_text("action_items")
    page.locator("#min-code-acc").get_by_text("Show code", exact=True).click()
    expect(page.locator("#min-tcode")).to_contain_text("transcribe")
    page.screenshot(path=str(SCREENSHOTS / "minutes.png"), full_page=True)
    assert (SCREENSHOTS / "minutes.png").stat().st_size > 10_000
    # derived outputs follow their source: editing the transcript marks the recording's stats and downloads stale
    box = page.locator("#min-transcript textarea")
    box.click()
    box.press("End")
    box.press_sequentially(" edited")  # typing, as a user does (fill() sends no input event to Gradio)
    expect(page.locator("#min-tstats")).to_contain_text("Edited by hand")
    expect(page.locator("#min-tfiles")).not_to_contain_text("transcript.srt")
