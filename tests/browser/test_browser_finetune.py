"""Browser test: fine-tune the tiny Llama in headless Chromium — check the data, start, watch the curve grow, stop,
resume, stop again; screenshots at 1440 and 390 px (artifacts/screenshots/finetune-*.png)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import tiny_finetune as tf
from app_helpers import BROWSER_WAIT_MS, SCREENSHOTS

pytestmark = pytest.mark.browser


def _panel_attr(page, name: str) -> str:
    return page.locator("#ft-panel .ft-run").get_attribute(name) or ""


MAX_STEPS = 100_000


def _wait_for_growth(page, n: int) -> int:
    """Wait until the live loss curve has more than ``n`` points; return how many it has."""
    page.wait_for_function("n => Number(document.querySelector('#ft-panel svg.ft-curve')"
                           "?.getAttribute('data-points')) > n", arg=n)
    return int(page.locator("#ft-panel svg.ft-curve").get_attribute("data-points"))


def _number(page, elem_id: str, value) -> None:
    box = page.locator(f"#{elem_id} input")
    box.fill(str(value))
    box.press("Tab")


def test_finetune_tab_in_browser(browser, app_url, tiny, tmp_path):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1440, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(BROWSER_WAIT_MS)
    page.goto(app_url)
    run_id = None
    try:
        page.get_by_role("tab", name="Fine-tune").click()
        model = page.locator("#ft-model input")
        model.fill(str(tiny["lm-llama"]))
        model.press("Enter")
        page.locator("#ft-file input[type=file]").set_input_files(str(tf.write_jsonl(tmp_path / "pairs.jsonl",
                                                                                    tf.rows())))
        # Gradio shows an uploaded file's name as two spans (stem, extension) with a space between them: "pairs
        # .jsonl" once uploaded (only the upload's own progress line shows "pairs.jsonl" whole, and a loaded machine
        # may finish the upload before the check sees it)
        expect(page.locator("#ft-file .file-preview")).to_contain_text(re.compile(r"pairs\s*\.jsonl"))
        # a run far longer than the test: the tiny model trains at ~50 steps/s here, so a short run would be over
        # before the click lands; the end of a run (Done, the saved adapter) is covered by tests/tabs
        for elem_id, value in (("ft-max-length", 64), ("ft-max-steps", MAX_STEPS)):
            _number(page, elem_id, value)
        page.locator("#ft-check").click()
        expect(page.locator("#ft-preview")).to_contain_text("carries loss")
        expect(page.locator("#ft-plan")).to_contain_text("trainable parameters")
        expect(page.locator("#ft-summary")).to_contain_text("train /")

        page.locator("#ft-start").click()
        expect(page.locator("#ft-panel .ft-run[data-state='running']")).to_be_visible()
        run_id = _panel_attr(page, "data-run")
        first = _wait_for_growth(page, 0)  # the curve updates live
        _wait_for_growth(page, first)
        page.locator("#ft-stop").click()
        expect(page.locator("#ft-panel .ft-run[data-state='stopped']")).to_be_visible()
        expect(page.locator("#ft-status")).to_contain_text("Resume continues")
        expect(page.locator("#ft-resume")).to_be_enabled()
        stopped_at = int(_panel_attr(page, "data-step"))
        assert 0 < stopped_at < MAX_STEPS

        page.locator("#ft-resume").click()  # continues from the checkpoint, not from step 0
        expect(page.locator("#ft-panel .ft-run[data-state='running']")).to_be_visible()
        page.wait_for_function("n => Number(document.querySelector('#ft-panel .ft-run')"
                               ".getAttribute('data-step')) > n", arg=stopped_at)
        expect(page.locator("#ft-stop")).to_be_enabled()
        page.locator("#ft-stop").click()
        expect(page.locator("#ft-panel .ft-run[data-state='stopped']")).to_be_visible()
        assert int(_panel_attr(page, "data-step")) > stopped_at
        page.screenshot(path=str(SCREENSHOTS / "finetune-1440.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 1400})
        page.wait_for_timeout(500)
        page.screenshot(path=str(SCREENSHOTS / "finetune-390.png"), full_page=True)
        assert (SCREENSHOTS / "finetune-1440.png").stat().st_size > 20_000
    finally:
        context.close()
        _clean(run_id)


def _clean(run_id: str | None) -> None:
    """Remove the run this test made from the served app's data directory (its worker first)."""
    if not run_id:
        return
    base = os.environ["WORKBENCH_DATA_DIR"]  # the suite sets it (conftest)
    folder = Path(base) / "finetune" / run_id
    if folder.is_dir():
        tf.kill_run(folder)
        shutil.rmtree(folder, ignore_errors=True)


def test_the_explanation_follows_the_settings(browser, app_url, tiny):
    """Issue 27: after Suggest, changing the rank and the learning rate left the explanation describing the
    suggested rank 8 and 2e-4. Screenshots at 1440 and 390 px (artifacts/screenshots/finetune-why-*.png)."""
    from playwright.sync_api import expect

    for width in (1440, 390):
        context = browser.new_context(viewport={"width": 1440, "height": 1400})
        page = context.new_page()
        page.set_default_timeout(BROWSER_WAIT_MS)
        try:
            page.goto(app_url)
            page.get_by_role("tab", name="Fine-tune").click()
            page.set_viewport_size({"width": width, "height": 1400})
            model = page.locator("#ft-model input")
            model.fill(str(tiny["lm-llama"]))
            model.press("Enter")
            page.locator("#ft-suggest").click()
            why = page.locator("#ft-why")
            expect(page.locator("#ft-status")).to_contain_text("Suggested settings")
            expect(why).to_contain_text("rank 8:")
            _number(page, "ft-rank", 32)
            _number(page, "ft-lr", "0.001")
            expect(why).to_contain_text("rank 32")
            expect(why).to_contain_text("(suggested: 8)")
            expect(why).to_contain_text("0.001: high for LoRA")
            expect(why).not_to_contain_text("rank 8:")
            why.scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOTS / f"finetune-why-{width}.png"), full_page=True)
        finally:
            context.close()
