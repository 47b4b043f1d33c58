"""Browser test: generate a few synthetic rows with the fake OpenAI server in headless Chromium, screenshot."""

from __future__ import annotations

import json

import pytest
from app_helpers import SCREENSHOTS

pytestmark = pytest.mark.browser

COUNTRIES = ("France", "Japan", "Brazil", "Kenya", "Canada", "India", "Spain", "Chile")


def customer(i: int) -> dict:
    return {"name": f"Customer {i}", "age": 21 + 7 * i % 60, "country": COUNTRIES[i % len(COUNTRIES)],
            "plan": ("free", "pro", "team", "pro")[i % 4], "monthly_spend": round(12.5 * (i % 9), 2),
            "signup_date": f"202{i % 5}-0{1 + i % 9}-1{i % 10}", "churned": i % 3 == 0}


def _generate(page, model: str, n: int) -> None:
    """In the Synthetic data tab, generate ``n`` rows with ``model``."""
    page.get_by_role("tab", name="Synthetic data").click()
    box = page.locator("#syn-model input")
    box.fill(model)
    box.press("Enter")
    rows = page.locator("#syn-n input")
    rows.fill(str(n))
    rows.press("Tab")
    page.locator("#syn-go").click()


def test_synthetic_tab_in_browser(page, fake_server):
    from playwright.sync_api import expect

    first = [customer(i) for i in range(5)] + [{**customer(5), "plan": "gold"}, customer(0)]
    fake_server.script("synth-browser", "\n".join(json.dumps(r) for r in first) + "\n",
                       "\n".join(json.dumps(customer(i)) for i in range(5, 12)) + "\n")
    _generate(page, "openai:synth-browser", 8)
    status = page.locator("#syn-status")
    expect(status).to_contain_text("complete")
    expect(status).to_contain_text("8 rows")
    expect(page.locator("#syn-rows")).to_contain_text("Customer 7")
    expect(page.locator("#syn-files")).to_contain_text(".csv")
    expect(page.locator("#syn-files")).to_contain_text(".jsonl")
    summary = page.locator("#syn-summary")
    expect(summary).to_contain_text("monthly_spend")
    expect(summary).to_contain_text("1 invalid")
    page.get_by_text("Underneath: model, timings", exact=False).click()
    expect(page.locator("#syn-details")).to_contain_text("OpenAI-compatible server")
    page.screenshot(path=str(SCREENSHOTS / "synthetic.png"), full_page=True)
    assert (SCREENSHOTS / "synthetic.png").stat().st_size > 10_000


def test_synthetic_rows_go_to_evaluate_in_one_click(page, fake_server):
    """The Synthetic data tab's "Evaluate on these rows" opens the Evaluate tab with those rows."""
    from playwright.sync_api import expect

    fake_server.script("synth-to-eval", "\n".join(json.dumps(customer(i)) for i in range(20, 26)) + "\n")
    _generate(page, "openai:synth-to-eval", 4)
    expect(page.locator("#syn-status")).to_contain_text("complete")
    send = page.locator("#syn-to-eval")
    expect(send).to_be_visible()
    send.click()
    expect(page.get_by_role("tab", name="Evaluate", exact=True)).to_have_attribute("aria-selected", "true")
    # the rows arrived; customers have no question column, so the mapping step asks for one
    expect(page.locator("#eval-preview")).to_contain_text("Customer 20")
    expect(page.locator("#eval-set-status")).to_contain_text("Map a column to 'question'")
