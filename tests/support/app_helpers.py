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
# how long a browser step waits on its condition (Playwright's 5 s default, and even 60 s, fail on a loaded machine:
# 4 busy processes on 2 cores made one Fine-tune click take over a minute)
BROWSER_WAIT_MS = 240_000


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Where gradio could not start its server on the port (its own 5 s limit for uvicorn to start, hit on a loaded
# machine; or another process took the free port first): worth another try on a new port.
_START_FAILED = ("Cannot find empty port", "Server failed to start", "address already in use")


def serve_app(env: dict[str, str], log_path: Path, timeout: float = 1200.0, args: tuple[str, ...] = ()):
    """Start ``python app.py`` on a free port with ``env`` added; returns (process, url) once it answers.

    Waits on conditions, not on a deadline: while the process lives, until its URL answers 200 (``timeout`` is
    only a generous bound for a process that lives but never answers: importing and building the app takes minutes
    on a loaded machine). A process that exits fails at once with its log's tail; one that could not start its
    server on the port (``_START_FAILED``) is started again on a new port (three tries in all).
    """
    for attempt in range(3):
        proc, url = _start(env, log_path, args)
        try:
            wait_until_up(proc, url, log_path, timeout)
            return proc, url
        except _StartFailed:
            if attempt == 2:
                raise RuntimeError(f"the app could not start its server (3 tries):\n{_tail(log_path)}") from None


class _StartFailed(Exception):
    pass


def _start(env: dict[str, str], log_path: Path, args: tuple[str, ...]):
    import subprocess

    port = free_port()
    full_env = {**os.environ, **env, "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONUNBUFFERED": "1"}
    with open(log_path, "w") as log:  # the child keeps its own copy of the file descriptor
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port),
                                 *args], cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    return proc, f"http://127.0.0.1:{port}/"


def wait_until_up(proc, url: str, log_path: Path, timeout: float) -> None:
    """Return once ``url`` answers 200 while ``proc`` lives; raise with the tail of ``log_path`` if ``proc`` exits
    first or ``timeout`` s pass (the bench serves its bare Gradio app through this too)."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            _stop(proc)
            raise RuntimeError(f"the app ran {timeout:.0f} s without answering on {url}:\n{_tail(log_path)}")
        time.sleep(0.25)
    tail = _tail(log_path)
    if any(marker in tail for marker in _START_FAILED):
        raise _StartFailed(tail)
    raise RuntimeError(f"the app exited with {proc.returncode} before it answered on {url}:\n{tail}")


def _stop(proc) -> None:
    proc.kill()
    proc.wait()


def _tail(log_path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


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


def count_settings_reads(monkeypatch):
    """A Counter whose "from_env" counts ``Settings.from_env`` calls from now on (the environment read again)."""
    from collections import Counter

    from engines.config import Settings

    calls = Counter()
    original = Settings.from_env.__func__

    def counting(cls):
        calls["from_env"] += 1
        return original(cls)

    monkeypatch.setattr(Settings, "from_env", classmethod(counting))
    return calls
