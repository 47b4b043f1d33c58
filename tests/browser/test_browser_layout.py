"""Every tab at 1440 px and at 390 px (a phone): its main action is reachable, the page never scrolls sideways
(wide tables scroll inside themselves), the header stays compact, and a run's result shows. Screenshots of every
tab at both widths go to artifacts/screenshots/layout-<tab>-<width>.png.

Main actions here are the cheap ones (tiny models, the fake server), so the whole walk stays short.
"""

from __future__ import annotations

import pytest
from app_helpers import BROWSER_WAIT_MS, SCREENSHOTS, open_tab

pytestmark = pytest.mark.browser

TABS = ["Pipelines", "Tokenizers", "Compare models", "Minutes", "Images", "Code", "Synthetic data", "Evaluate",
        "Fine-tune", "Hub"]
# tab → (button to press, element that shows the result, text it must show); None = look only
ACTIONS = {
    "Pipelines": ("#pl-run-classify", "#pl-status", "Done"),
    "Tokenizers": ("#tok-go", "#tok-status", "Done"),
    "Code": ("#code-run-python", "#code-py-summary", "Python wall time"),
}


def _overflow(page) -> int:
    """How many pixels the page is wider than the viewport (0 = no sideways scroll)."""
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


@pytest.mark.parametrize("width", [1440, 390])
def test_every_tab_fits_and_its_main_action_answers(browser, app_url, served, width):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.set_default_timeout(BROWSER_WAIT_MS)
    try:
        page.goto(app_url)
        expect(page.locator("#status-line")).to_be_visible()
        header = page.locator("#status").bounding_box()
        assert header["height"] < (160 if width < 500 else 90), header  # compact: the tabs stay near the top
        problems = []
        for tab in TABS:
            open_tab(page, tab)
            if tab in ACTIONS:
                button, result, text = ACTIONS[tab]
                target = page.locator(button)
                target.scroll_into_view_if_needed()
                box = target.bounding_box()
                if box is None or box["x"] < 0 or box["x"] + box["width"] > width + 1:
                    problems.append(f"{tab}: main action not reachable ({box})")
                target.click()
                expect(page.locator(result)).to_contain_text(text)
            over = _overflow(page)
            if over > 2:
                problems.append(f"{tab}: the page is {over} px wider than the screen")
            name = tab.lower().replace(" ", "-")
            page.screenshot(path=str(SCREENSHOTS / f"layout-{name}-{width}.png"), full_page=True)
        assert not problems, "\n".join(problems)
    finally:
        context.close()
