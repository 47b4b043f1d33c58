"""A small Blocks serving only the Compare part-2 panels (``tabs.compare.extra.build_panels``), in-process.

Used by the panel's API and browser tests until the Compare tab wires the panels into the app; catalog ids resolve
to tiny models through the models dir, ``openai:`` models to the fake server.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def panels_server(models_dir: Path, fake_base_url: str) -> Iterator[str]:
    """Serve ``build_panels()`` inside a ``gr.Tabs`` on 127.0.0.1; yields the URL, restores the environment after."""
    import gradio as gr

    # OPENAI_API_KEY: conftest already sets the key the fake server accepts
    env = {"WORKBENCH_MODELS_DIR": str(models_dir), "OPENAI_BASE_URL": fake_base_url, "HF_HUB_OFFLINE": "1"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    from tabs.compare.extra import build_panels

    with gr.Blocks(title="Compare part 2 (test harness)") as demo:
        gr.Markdown("# Compare models — part 2 panels", elem_id="header")
        with gr.Tabs():
            build_panels()
    demo.queue(default_concurrency_limit=2)
    try:
        _, url, _ = demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
        yield url
    finally:
        demo.close()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
