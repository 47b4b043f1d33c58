"""Browser test: fine-tune the tiny Llama in headless Chromium — check the data, start, watch the curve grow, stop,
resume to the end; screenshots at 1440 and 390 px (artifacts/screenshots/finetune-*.png)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import tiny_finetune as tf
from app_helpers import SCREENSHOTS

pytestmark = pytest.mark.browser


def _panel_attr(page, name: str) -> str:
    return page.locator("#ft-panel .ft-run").get_attribute(name) or ""


def _number(page, elem_id: str, value) -> None:
    box = page.locator(f"#{elem_id} input")
    box.fill(str(value))
    box.press("Tab")


def test_finetune_tab_in_browser(browser, app_url, tiny, tmp_path):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1440, "height": 1600})
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(app_url)
    run_id = None
    try:
        page.get_by_role("tab", name="Fine-tune").click()
        model = page.locator("#ft-model input")
        model.fill(str(tiny["lm-llama"]))
        model.press("Enter")
        page.locator("#ft-file input[type=file]").set_input_files(str(tf.write_jsonl(tmp_path / "pairs.jsonl",
                                                                                    tf.rows())))
        expect(page.locator("#ft-file")).to_contain_text("pairs.jsonl")
        for elem_id, value in (("ft-max-length", 64), ("ft-max-steps", 30)):
            _number(page, elem_id, value)
        page.locator("#ft-check").click()
        expect(page.locator("#ft-preview")).to_contain_text("carries loss")
        expect(page.locator("#ft-plan")).to_contain_text("trainable parameters")
        expect(page.locator("#ft-summary")).to_contain_text("train /")

        page.locator("#ft-start").click()
        expect(page.locator("#ft-panel .ft-run[data-state='running']")).to_be_visible()
        run_id = _panel_attr(page, "data-run")
        expect(page.locator("#ft-panel svg.ft-curve:not([data-points='0'])")).to_be_visible()
        first = int(page.locator("#ft-panel svg.ft-curve").get_attribute("data-points"))
        page.wait_for_function("n => Number(document.querySelector('#ft-panel svg.ft-curve')"
                               ".getAttribute('data-points')) > n", arg=first)  # the curve updates live
        page.locator("#ft-stop").click()
        expect(page.locator("#ft-panel .ft-run[data-state='stopped']")).to_be_visible()
        expect(page.locator("#ft-status")).to_contain_text("Resume continues")
        stopped_at = int(_panel_attr(page, "data-step"))
        assert 0 < stopped_at < 30

        page.locator("#ft-resume").click()
        expect(page.locator("#ft-panel .ft-run[data-state='done']")).to_be_visible(timeout=240_000)
        expect(page.locator("#ft-status")).to_contain_text("Done: 30 steps")
        expect(page.locator("#ft-outputs")).to_contain_text("adapter")
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
