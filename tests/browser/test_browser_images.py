"""Browser test: generate one image on a tiny pipeline in the Images tab, check the seed and metadata, screenshot."""

from __future__ import annotations

import pytest
import tiny_images
from app_helpers import SCREENSHOTS

pytestmark = pytest.mark.browser


def test_images_tab_in_browser(page, models_dir):
    from playwright.sync_api import expect

    tiny_images.link_into_models_dir(models_dir)  # catalog image ids → tiny pipelines
    page.get_by_role("tab", name="Images").click()
    expect(page.locator("#img-hw")).to_contain_text("No GPU here")
    expect(page.locator("#img-plan")).to_contain_text("fp32 · CPU")
    page.locator("#img-random input").uncheck()
    page.locator("#img-seed textarea, #img-seed input").first.fill("4294967295")
    page.locator("#img-size input").click()
    page.get_by_role("option", name="Custom").click()
    for box in ("#img-w input", "#img-h input"):
        page.locator(box).fill("128")
    page.locator("#img-go").click()
    expect(page.locator("#img-seeds textarea, #img-seeds input").first).to_have_value("4294967295")
    expect(page.locator("#img-gallery img").first).to_be_visible()
    expect(page.locator("#img-stats")).to_contain_text("s/step")
    expect(page.locator("#img-files")).to_contain_text("4294967295")
    page.get_by_text("Show code and notebook (diffusers)").click()
    expect(page.locator("#img-code")).to_contain_text("manual_seed(4294967295)")
    page.screenshot(path=str(SCREENSHOTS / "images.png"), full_page=True)
    assert (SCREENSHOTS / "images.png").stat().st_size > 10_000
