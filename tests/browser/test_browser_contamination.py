"""Browser test: the Contamination panel on a tiny local model in headless Chromium — its set id follows the
Evaluate tab's, Min-K% against a pasted reference set plus 13-gram overlap with a pasted corpus, the verdict cards,
the per-item table, a row clicked open with the overlap marked; screenshots at 1440 and 390 px
(artifacts/screenshots/contamination-*.png).

The panel is served here on a Blocks of its own (an Evaluate tab holding a stand-in set id box and the panel), so the
test does not depend on where the Evaluate tab places it."""

from __future__ import annotations

import random

import gradio as gr
import pytest
from conftest import SCREENSHOTS

from engines.config import Settings
from engines.evals.store import RunStore
from engines.evals.testsets import RawTable, build_testset

pytestmark = pytest.mark.browser

WORDS = ("ancient wonder harbour entrance rhodes earthquake statue bronze island temple garden lighthouse pyramid "
         "tomb marble column river desert king queen").split()
QUESTIONS = [" ".join(random.Random(i).choices(WORDS, k=14)) + "?" for i in range(6)]


@pytest.fixture()
def served(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "data"))
    rows = [{"id": f"w{i}", "question": q, "answer": f"The Colossus {i}"} for i, q in enumerate(QUESTIONS, start=1)]
    set_id = RunStore.default().save_testset(build_testset(RawTable("wonders", "test", rows,
                                                                    ["id", "question", "answer"])))
    from tabs import evaluate_contamination as panel
    from tabs.server import WorkbenchBlocks

    with WorkbenchBlocks(title="contamination browser test") as demo:
        with gr.Tab("Evaluate"):
            outer = gr.Textbox(label="Set id (sha256)", elem_id="eval-set-id")
            panel.build_panel(Settings.from_env(), set_id=outer)
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    yield url, set_id
    demo.close()


def test_contamination_panel_in_browser(browser, served, tiny):
    from playwright.sync_api import expect

    url, set_id = served
    context = browser.new_context(viewport={"width": 1440, "height": 1400})
    page = context.new_page()
    page.set_default_timeout(120_000)
    try:
        page.goto(url)
        page.get_by_role("tab", name="Evaluate").click()
        outer = page.locator("#eval-set-id textarea")
        outer.fill(set_id)
        outer.press("Enter")
        page.get_by_text("Contamination: has this model seen my test set?").click()
        expect(page.locator("#contam-set-id textarea")).to_have_value(set_id)
        expect(page.locator("#contam-summary")).to_contain_text("What it measures")
        model = page.locator("#contam-model input")
        model.fill(str(tiny["lm-llama"]))
        model.press("Enter")
        page.locator("#contam-methods").get_by_text("N-gram overlap with a corpus").click()
        page.locator("#contam-reference textarea").fill(
            "\n".join(f"A line about trains and rivers, number {i}.\\nNot a wonder" for i in range(6)))
        page.get_by_text("N-gram overlap: a corpus you have").click()
        page.locator("#contam-corpus textarea").fill(f"A crawled page. {QUESTIONS[2]} The Colossus 3. The end.")
        page.locator("#contam-run").click()
        status = page.locator("#contam-status")
        expect(status).to_contain_text("complete", timeout=180_000)
        summary = page.locator("#contam-summary")
        expect(summary).to_contain_text("AUROC test vs reference")
        expect(summary).to_contain_text("1 of 6 checked items")
        expect(page.locator("#contam-chart svg")).to_be_visible()
        expect(page.locator("#contam-files")).to_contain_text(".csv")
        page.locator("#contam-table").get_by_text("w3", exact=True).click()
        details = page.locator("#contam-details")
        expect(details.locator("mark.contam-span")).to_have_count(1, timeout=60_000)
        expect(details).to_contain_text("Least likely tokens")
        expect(page.locator("#contam-item-id textarea")).to_have_value("w3")
        page.locator("#contam").scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / "contamination-1440.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 1400})
        page.wait_for_timeout(500)
        page.screenshot(path=str(SCREENSHOTS / "contamination-390.png"), full_page=True)
        assert (SCREENSHOTS / "contamination-1440.png").stat().st_size > 10_000
    finally:
        context.close()
