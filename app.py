"""LLM Workbench: everyday open-model work in one Gradio app. ``python app.py --help`` for the flags.

Importing this module builds nothing and loads no model; ``build_demo()`` makes the Blocks, ``main()`` serves it.
"""

from __future__ import annotations

import argparse
import logging
import os

import gradio as gr

from engines.config import Settings
from engines.redact import install_log_redaction
from tabs import tokenizers

TABS = (tokenizers,)


def header_markdown(settings: Settings) -> str:
    """The header: what the app is, the device found, and where it runs."""
    return (
        "# LLM Workbench\n"
        "Open-model work in one place: tokenizers, models side by side, and more — each in its own tab, with the "
        "numbers and code underneath.\n\n"
        f"**Device:** {settings.describe()} · **Models:** "
        f"{'catalog + any Hub id' if settings.allow_custom_models else 'catalog only'}"
        f"{' + local folders' if settings.allow_local_models else ''}"
        f"{f' · models dir `{settings.models_dir}`' if settings.models_dir else ''}"
    )


def build_demo(settings: Settings | None = None) -> gr.Blocks:
    """Build the app's Blocks (no model is loaded here).

    Args:
        settings: deployment settings; default ``Settings.from_env()``.
    """
    settings = settings or Settings.from_env()
    with gr.Blocks(title="LLM Workbench") as demo:
        gr.Markdown(header_markdown(settings), elem_id="header")
        with gr.Tabs():
            for tab in TABS:
                tab.build()
    demo.queue(default_concurrency_limit=settings.queue_concurrency, max_size=settings.queue_max_size)
    return demo


def launch_kwargs(settings: Settings) -> dict:
    """Keyword arguments for ``Blocks.launch`` that every way of serving the app shares."""
    return {"max_file_size": settings.max_file_size, "footer_links": ["api", "settings"]}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line flags; each has an environment override."""
    on_space = bool(os.environ.get("SPACE_ID"))
    parser = argparse.ArgumentParser(description="LLM Workbench")
    parser.add_argument("--host", default=os.environ.get("WORKBENCH_HOST")
                        or os.environ.get("GRADIO_SERVER_NAME") or ("0.0.0.0" if on_space else "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("WORKBENCH_PORT")
                                                        or os.environ.get("GRADIO_SERVER_PORT") or 7860))
    parser.add_argument("--share", action="store_true", default=os.environ.get("WORKBENCH_SHARE") == "1",
                        help="create a public gradio.live link")
    parser.add_argument("--mcp", action="store_true", default=os.environ.get("WORKBENCH_MCP") == "1",
                        help="also serve the main actions as MCP tools")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Parse flags and serve the app."""
    args = parse_args(argv)
    install_log_redaction()
    logging.getLogger(__name__).info("starting LLM Workbench on %s:%s", args.host, args.port)
    settings = Settings.from_env()
    demo = build_demo(settings)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, mcp_server=args.mcp,
                **launch_kwargs(settings))


if __name__ == "__main__":
    main()
