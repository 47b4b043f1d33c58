"""Browser test: the arena leaderboard shows "not determined" in place of a rating the votes don't identify (a model
that won all 6 of its votes), in the rating cell a person sees first, at 1440 and 390 px (screenshots
artifacts/screenshots/arena-board-*.png). The Blind arena panel alone on an in-process Blocks with seeded votes."""

from __future__ import annotations

import gradio as gr
import pytest
from app_helpers import BROWSER_WAIT_MS, SCREENSHOTS

from engines import arena
from tabs.compare import handlers as compare
from tabs.server import WorkbenchBlocks

pytestmark = pytest.mark.browser


@pytest.fixture()
def arena_url(tmp_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_ARENA_DB", str(tmp_path / "arena.sqlite3"))
    store = arena.ArenaStore()
    votes = [("org/champion", "org/model-x", "a")] * 3 + [("org/model-y", "org/champion", "b")] * 3
    votes += [("org/model-x", "org/model-y", "a")] * 5 + [("org/model-x", "org/model-y", "b")] * 4
    for i, (a, b, outcome) in enumerate(votes):
        store.record_vote(a, b, outcome, match_id=f"m{i}")
    with WorkbenchBlocks(title="arena board test") as demo, gr.Tabs():
        compare._arena(["org/model-x", "org/model-y"])
    demo.queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    yield url
    demo.close()


def test_an_undetermined_rating_reads_not_determined(browser, arena_url):
    from playwright.sync_api import expect

    for width in (1440, 390):
        context = browser.new_context(viewport={"width": width, "height": 1200})
        page = context.new_page()
        page.set_default_timeout(BROWSER_WAIT_MS)
        try:
            page.goto(arena_url)
            page.get_by_role("button", name="Refresh leaderboard").click()
            board = page.locator("#arena-board")
            expect(board).to_contain_text("org/champion")
            cell = board.get_by_text("not determined", exact=True).locator("visible=true")
            expect(cell).to_have_count(1)  # the table renders its cells twice; one is shown
            expect(board).to_contain_text("won every vote")
            board.scroll_into_view_if_needed()
            box = cell.bounding_box()
            assert box is not None and 0 <= box["x"] and box["x"] + box["width"] <= width, (width, box)
            name = board.get_by_text("org/champion", exact=True).locator("visible=true")
            row = name.evaluate("e => e.closest('[role=gridcell]').dataset.row")
            cells = " | ".join(board.locator(f"[role=gridcell][data-row='{row}']").all_inner_texts())
            assert "not determined" in cells and "–" not in cells, cells  # no rating, no interval for it
            page.screenshot(path=str(SCREENSHOTS / f"arena-board-{width}.png"), full_page=True)
        finally:
            context.close()
