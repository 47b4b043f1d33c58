"""Page responsiveness during a long stream: 2,000 tokens stream from the fake OpenAI server into the Minutes
Markdown while a click elsewhere (Tokenizers → Decode ids) waits for its answer; the same click on the idle page is
the baseline. Headless Debian Chromium via Playwright.

Prints ``click_latency_during_stream: ratio (ours … vs baseline …)`` (medians; target ≤ 3) and the stream's length.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from common import ROOT, report  # noqa: F401  (sets sys.path and the offline environment)

CLICKS = 5
CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium") if Path(p).exists()), None)


def decode_click(page, n: int, timeout_ms: int = 300_000) -> float:
    """Seconds from a click on "Decode" until the decoded text shows (each click decodes different ids)."""
    out = page.locator("#dec-out").locator("textarea, input").first
    before = out.input_value()  # ids past the byte tokens: each click decodes new text
    page.locator("#dec-ids").locator("textarea, input").first.fill(f"{400 + n}, {520 + n}, {640 + n}")
    start = time.perf_counter()
    page.locator("#dec-go").click()
    page.wait_for_function("([sel, old]) => { const e = document.querySelector(sel); return e && e.value !== old; }",
                           arg=["#dec-out textarea, #dec-out input", before], timeout=timeout_ms)
    return time.perf_counter() - start


def streaming(page) -> bool:
    return page.locator("#min-status [data-state='running']").count() == 1


def main() -> None:
    import tiny_models
    from app_helpers import LONG_STREAM, open_tab, serve_app, write_long_minutes
    from fake_openai import FakeOpenAI
    from playwright.sync_api import sync_playwright

    paths = tiny_models.build_all()
    tmp = Path(tempfile.mkdtemp())
    with FakeOpenAI(api_key="stream-key") as server, sync_playwright() as p:
        server.script("minutes-long-stream", LONG_STREAM, pace=0.02)  # ~40 s of streaming, ~2,000 chunks
        proc, url = serve_app({"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "stream-key",
                               "WORKBENCH_DATA_DIR": str(tmp / "data"),
                               # catalog ids (the default tokenizer) resolve to tiny local models
                               "WORKBENCH_MODELS_DIR": str(tiny_models.build_models_dir(paths, tmp / "models"))},
                              tmp / "app.log")
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                                                                     "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.goto(url)
            open_tab(page, "Tokenizers")
            page.get_by_text("Decode ids", exact=True).click()
            try:
                decode_click(page, -1, timeout_ms=60_000)  # warm: the tokenizer is loaded
            except Exception:
                page.screenshot(path="/tmp/streams-fail.png", full_page=True)
                raise
            idle = [decode_click(page, n) for n in range(CLICKS)]
            write_long_minutes(page, "openai:minutes-long-stream")
            open_tab(page, "Tokenizers")
            busy, n = [], 100
            while len(busy) < CLICKS and streaming(page):
                try:
                    seconds = decode_click(page, n, timeout_ms=60_000)
                except Exception:
                    page.screenshot(path="/tmp/streams-fail.png", full_page=True)
                    raise
                if streaming(page):  # only clicks answered while the stream still ran count
                    busy.append(seconds)
                n += 1
            if not busy:
                raise RuntimeError("the stream ended before a click was answered")
            report("click_latency_during_stream", statistics.median(busy), statistics.median(idle))
            print(f"clicks answered during the stream: {len(busy)}; idle {[round(s, 3) for s in idle]}, "
                  f"streaming {[round(s, 3) for s in busy]}")
        finally:
            browser.close()
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    main()
