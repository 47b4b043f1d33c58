"""Tabs assembled into a served Blocks: the whole app (``app.build_demo``) or one tab alone (``python -m
tabs.<name>``), with the same settings, input policy, queue, cross-tab links and published API either way."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType

import gradio as gr

from engines.config import Settings, restrict_paths_when_shared
from engines.context import Context, as_context
from engines.redact import install_log_redaction
from tabs.access import distrust_server_proxy_headers
from tabs.kit.links import Links
from tabs.server import CSS, WorkbenchBlocks, app_kwargs, publish_api

LOOPBACK = ("127.0.0.1", "localhost", "::1")
SAMPLES = Path(__file__).resolve().parents[2] / "assets" / "minutes"  # the sample recording the Minutes tab offers


def build_blocks(tabs: Iterable[ModuleType], settings: Settings | Context | None = None, *,
                 title: str = "LLM Workbench",
                 before: Callable[[gr.Blocks, Settings], None] | None = None) -> gr.Blocks:
    """A Blocks holding ``tabs`` (tab packages, each with ``build(ctx, links)``), in that order.

    Every tab builds first; then the cross-tab links they declared are wired (``Links.resolve``), so no tab depends
    on the order: a send whose target tab is not in ``tabs`` is left out (its button hidden).

    Args:
        tabs: the tab packages (``tabs.compare``...).
        settings: deployment settings (default ``Settings.from_env()``), or a whole context: the one
            ``engines.context.Context`` built here and handed to every tab (``demo.workbench_context``).
        title: the browser tab's title.
        before: renders above the tabs (the app's header), given the Blocks and the settings.
    """
    ctx = as_context(settings)
    settings = ctx.settings
    links = Links()
    with WorkbenchBlocks(title=title, settings=settings) as demo:
        # the queue first, while the Blocks is empty: Gradio builds an app at queue() as at the Blocks' exit and at
        # launch, and building it for ~850 blocks costs ~0.3 s each time (bench/bench_startup.py)
        demo.queue(default_concurrency_limit=settings.queue_concurrency, max_size=settings.queue_max_size)
        demo.workbench_context = ctx
        if before is not None:
            before(demo, settings)
        with gr.Tabs() as links.tabs:
            for tab in tabs:
                tab.build(ctx, links)
        links.resolve()
    publish_api(demo)
    return demo


def launch_kwargs(settings: Settings, tokens: dict[str, str] | None = None) -> dict:
    """Keyword arguments for ``Blocks.launch`` that every way of serving shares (``tokens``: MCP bearer tokens →
    user)."""
    return {"max_file_size": settings.max_file_size, "footer_links": ["api", "settings"],
            "app_kwargs": app_kwargs(settings, tokens), "css": CSS, "allowed_paths": [str(SAMPLES)]}


def standalone(tab: ModuleType, argv: list[str] | None = None) -> None:
    """Serve one tab alone on this machine (``python -m tabs.<name>``): for developing or demoing a tab without the
    rest of the app. Local only (127.0.0.1 unless --host); the full app (``python app.py``) has logins and MCP."""
    name = tab.__name__.rsplit(".", 1)[-1]
    parser = argparse.ArgumentParser(prog=f"python -m {tab.__name__}", description=f"LLM Workbench: the {name} tab")
    env = Settings.from_env()
    parser.add_argument("--host", default=env.host or "127.0.0.1")
    parser.add_argument("--port", type=int, default=int(env.port or 7860))
    args = parser.parse_args(argv)
    install_log_redaction()
    restrict_paths_when_shared(args.host not in LOOPBACK)
    if args.host not in LOOPBACK:
        print(f"WARNING: serving the {name} tab on {args.host} without a login: anyone who can reach it can use "
              "this machine (the full app, python app.py, has --auth).", file=sys.stderr)
    settings = Settings.from_env()  # read after the line above, which may switch path restriction on
    demo = build_blocks([tab], Context.build(settings), title=f"LLM Workbench: {name}")
    distrust_server_proxy_headers()
    demo.launch(server_name=args.host, server_port=args.port, **launch_kwargs(settings))
