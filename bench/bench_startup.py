"""App ready time: ``python app.py`` until HTTP 200, vs a bare one-textbox Gradio app, alternated.

Prints ``app_ready: ratio (ours … vs baseline …)`` (target ≤ 1.2).

Both start as ``python app.py`` does for its users after the first start: from compiled bytecode. Gradio's own
modules are always compiled (site-packages), the app's are compiled at its first start; where the environment says
not to write bytecode (``PYTHONDONTWRITEBYTECODE``, as on some CI machines), the app's ~170 modules were compiled at
each start (~0.2 s) and the baseline's were not, so the bench keeps compiled modules in a temporary
``PYTHONPYCACHEPREFIX`` (the working tree is left as it is) and starts each once untimed first. ``--source``: time
the app compiling its modules at every start (the environment as it is).
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


def start_env(compiled: bool) -> dict[str, str]:
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    if compiled:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


PYCACHE = Path(tempfile.mkdtemp(prefix="bench-pycache-"))


def time_ready(argv: list[str], port: int, timeout: float = 120, env: dict[str, str] | None = None) -> float:
    """Seconds from process start until GET / answers 200."""
    env = env or start_env(compiled=True)
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
    env = start_env(compiled="--source" not in sys.argv[1:])
    bare = Path(tempfile.mkdtemp()) / "bare_app.py"
    bare.write_text(BARE)
    ours, base = [], []
    for round_ in range(ROUNDS + 1):  # the first round writes the compiled modules: untimed
        port = free_port()
        b = time_ready([sys.executable, str(bare), str(port)], port, env=env)
        port = free_port()
        o = time_ready([sys.executable, str(ROOT / "app.py"), "--port", str(port)], port, env=env)
        if round_:
            base.append(b)
            ours.append(o)
    report("app_ready", median(ours), median(base))


if __name__ == "__main__":
    main()
