"""App ready time: ``python app.py`` until HTTP 200, vs a bare one-textbox Gradio app, alternated.

Prints ``app_ready: ratio (ours … vs baseline …)`` (target ≤ 1.5).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import ROOT, median, report

ROUNDS = 5
BARE = """
import sys
import gradio as gr
with gr.Blocks() as demo:
    gr.Textbox()
demo.queue().launch(server_name="127.0.0.1", server_port=int(sys.argv[1]))
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def time_ready(argv: list[str], port: int, timeout: float = 120) -> float:
    """Seconds from process start until GET / answers 200."""
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - start < timeout:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - start
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"{argv} not ready in {timeout}s")
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    bare = Path(tempfile.mkdtemp()) / "bare_app.py"
    bare.write_text(BARE)
    ours, base = [], []
    for _ in range(ROUNDS):
        port = free_port()
        base.append(time_ready([sys.executable, str(bare), str(port)], port))
        port = free_port()
        ours.append(time_ready([sys.executable, str(ROOT / "app.py"), "--port", str(port)], port))
    report("app_ready", median(ours), median(base))


if __name__ == "__main__":
    main()
