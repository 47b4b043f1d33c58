"""LLM Workbench: everyday open-model work in one Gradio app. ``python app.py --help`` for the flags.

Importing this module builds nothing and loads no model; ``build_demo()`` makes the Blocks, ``main()`` serves it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import gradio as gr

from engines.config import Settings
from engines.redact import install_log_redaction
from tabs import code, compare, evaluate, images, minutes, pipelines, synthetic, tokenizers
from tabs.common import Links
from tabs.server import WorkbenchBlocks, publish_api

TABS = (pipelines, tokenizers, compare, minutes, images, code, synthetic, evaluate)


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


def _gb(n: int) -> str:
    return f"{n / 2**30:.2f} GB"


def _entry_label(key) -> str:
    label = getattr(key, "label", None)
    return label() if callable(label) else str(key)


def status_markdown(demo: gr.Blocks | None = None) -> str:
    """Live status: Hub online/offline, models available locally, models loaded, memory vs budget, queue."""
    from engines.health import health

    h = health()
    parts = ["**Hub:** online" if h.hub_online else "**Hub:** offline — only local and cached models load"]
    if h.local_models:
        shown = ", ".join(f"`{m}`" for m in h.local_models[:6])
        more = f" and {len(h.local_models) - 6} more" if len(h.local_models) > 6 else ""
        parts.append(f"**Local models ({len(h.local_models)}):** {shown}{more}")
    loaded = ", ".join(f"`{_entry_label(row['key'])}`" for row in h.loaded) or "none"
    parts.append(f"**Loaded:** {loaded} · **Memory:** {_gb(h.used_bytes)} of {_gb(h.budget_bytes)} budget")
    if h.gpu:
        parts.append(f"**GPU:** {_gb(h.gpu['allocated'])} allocated, peak {_gb(h.gpu['peak'])}, "
                     f"{_gb(h.gpu['total'])} total")
    queue = getattr(demo, "_queue", None)
    if queue is not None:
        parts.append(f"**Queue:** {len(queue)} waiting")
    return " · ".join(parts)


def free_memory_action() -> str:
    """Unload every cached model and release memory.

    Returns:
        The updated status line.
    """
    from engines.health import unload_all

    count = unload_all()
    gr.Info(f"Unloaded {count} model(s).")
    return status_markdown()


def build_demo(settings: Settings | None = None) -> gr.Blocks:
    """Build the app's Blocks (no model is loaded here).

    Args:
        settings: deployment settings; default ``Settings.from_env()``.
    """
    settings = settings or Settings.from_env()
    links = Links()
    with WorkbenchBlocks(title="LLM Workbench", settings=settings) as demo:
        gr.Markdown(header_markdown(settings), elem_id="header")
        with gr.Row(equal_height=True):
            status_box = gr.Markdown("Checking the Hub…", elem_id="status")
            refresh = gr.Button("↻ Status", size="sm", scale=0, min_width=90, elem_id="status-refresh")
            free = gr.Button("Free memory", size="sm", scale=0, min_width=120, elem_id="free-memory")
        with gr.Tabs() as links.tabs:
            for tab in TABS:
                tab.build(settings, links)

        def status() -> str:
            """The app's state: Hub online or offline, local models, loaded models, memory against the budget.

            Returns:
                The status line (Markdown).
            """
            return status_markdown(demo)

        # status checks run outside the queue so a busy GPU never hides them
        demo.load(status, None, status_box, api_name=False, queue=False)
        refresh.click(status, None, status_box, api_name="status", queue=False)
        free.click(free_memory_action, None, status_box, api_name="free_memory", queue=False)
    demo.queue(default_concurrency_limit=settings.queue_concurrency, max_size=settings.queue_max_size)
    publish_api(demo)
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
    parser.add_argument("--auth", default=os.environ.get("WORKBENCH_AUTH"),
                        help="require a login, as user:password (env WORKBENCH_AUTH)")
    parser.add_argument("--share-without-auth", action="store_true",
                        help="allow --share without --auth (anyone with the link can use your machine)")
    args = parser.parse_args(argv)
    if args.auth is not None and (":" not in args.auth or not all(args.auth.split(":", 1))):
        parser.error("--auth must be user:password")
    if args.share and not args.auth and not args.share_without_auth:
        parser.error("--share makes this machine reachable from the internet: add --auth user:password (or set "
                     "WORKBENCH_AUTH), or pass --share-without-auth to accept that risk")
    return args


def auth_pair(value: str | None) -> tuple[str, str] | None:
    """``user:password`` → (user, password)."""
    if not value:
        return None
    user, _, password = value.partition(":")
    return user, password


def main(argv: list[str] | None = None) -> None:
    """Parse flags and serve the app."""
    args = parse_args(argv)
    install_log_redaction()
    logging.getLogger(__name__).info("starting LLM Workbench on %s:%s", args.host, args.port)
    settings = Settings.from_env()
    demo = build_demo(settings)
    if args.share and not args.auth:
        print("WARNING: sharing without a login: anyone with the link can use this machine.", file=sys.stderr)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, mcp_server=args.mcp,
                auth=auth_pair(args.auth), auth_message="LLM Workbench: log in with the credentials you were given.",
                **launch_kwargs(settings))


if __name__ == "__main__":
    main()
