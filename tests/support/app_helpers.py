"""Helpers the test modules share (import them from here, never from ``conftest``: several conftest.py files exist,
and ``from app_helpers import …`` picks whichever was imported last): the secret marker, serving the app in a
subprocess, the screenshots folder, opening a tab in the browser."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Secret marker values for the whole suite (conftest sets OPENAI_API_KEY and HF_TOKEN to it): tests grep logs, API
# responses and child environments for it. The fake OpenAI server accepts exactly this key.
SECRET_MARKER = "sk-wbtest-MARKER-5e1f0c9a7b3d"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve_app(env: dict[str, str], log_path: Path, timeout: float = 90.0, args: tuple[str, ...] = ()):
    """Start ``python app.py`` on a free port with ``env`` added; returns (process, url) once it answers."""
    import subprocess
    import time
    import urllib.request

    port = free_port()
    full_env = {**os.environ, **env, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    log = open(log_path, "w")  # noqa: SIM115  (closed with the process)
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port), *args],
                            cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"app exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"app did not answer within {timeout}s: {log_path.read_text()[-2000:]}")


def open_tab(page, name: str) -> None:
    """Click a top-level tab, through Gradio's "More tabs" menu when the screen is too narrow to show it."""
    page.get_by_role("tablist").first.wait_for()  # the app has rendered its tabs
    tab = page.get_by_role("tab", name=name, exact=True)
    more = page.locator("button[aria-label='More tabs']").first
    page.wait_for_function("() => document.querySelectorAll('[role=tab]').length > 0")
    if tab.count() and tab.first.is_visible():
        tab.first.click()
        return
    more.click()
    page.locator(".overflow-dropdown button", has_text=name).first.click()


LONG_STREAM = "## Summary\n" + " ".join(f"word{i}" for i in range(2_000))  # 2,000 words for the minutes


def write_long_minutes(page, model: str) -> None:
    """In the Minutes tab, write minutes of a one-line transcript with ``model`` (a fake server's scripted
    long stream) and 4,096 max new tokens; returns once the first words have arrived."""
    open_tab(page, "Minutes")
    page.locator("#min-transcript textarea").fill("[00:00:01] Alice: a long meeting.")
    llm = page.locator("#min-llm input").first
    llm.fill(model)
    llm.press("Enter")
    slider = page.locator("#min-maxnew input[type=number]")
    slider.fill("4096")
    slider.press("Enter")
    page.locator("#min-write").click()
    page.wait_for_function("() => (document.querySelector('#min-minutes')?.innerText || '').includes('word5')",
                           timeout=300_000)
