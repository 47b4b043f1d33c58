"""LLM Workbench: everyday open-model work in one Gradio app. ``python app.py --help`` for the flags.

Importing this module builds nothing and loads no model; ``build_demo()`` makes the Blocks, ``main()`` serves it.
"""

from __future__ import annotations

import gc

if __name__ == "__main__":
    # no cyclic garbage collection while the app starts: what it imports and builds lives as long as the server
    # (main() freezes it out of later collections, then turns collection back on). Each full collection over the
    # growing heap took 0.1-0.3 s, a dozen of them in a start
    gc.disable()

import argparse
import importlib
import logging
import os
import sys
import time
from pathlib import Path

import gradio as gr

from engines.config import Settings, login_secrets, restrict_paths_when_shared
from engines.context import Context
from engines.redact import install_log_redaction
from tabs import header
from tabs.access import distrust_server_proxy_headers, is_token_line, mcp_tokens
from tabs.kit.blocks import LOOPBACK, build_blocks, launch_kwargs

# The tab packages, in display order (any order builds: cross-tab links are wired once every tab is built).
# Adding a tab = its package under tabs/ + one line here.
TABS = (
    "pipelines",
    "tokenizers",
    "compare",
    "chat",
    "minutes",
    "images",
    "code",
    "synthetic",
    "evaluate",
    "finetune",
    "hub",
)
LOCALHOST_CHECK_S = 300.0  # how long launch() waits for the app to answer on its own local URL (a loaded machine)


def build_demo(settings: Settings | Context | None = None) -> gr.Blocks:
    """Build the app's Blocks (no model is loaded here).

    Args:
        settings: deployment settings (default ``Settings.from_env()``), or a whole context. The app's one
            ``Context`` is built once (``tabs.kit.blocks.build_blocks``) and handed to every tab.
    """
    return build_blocks(tab_packages(), settings, before=header.build)


def tab_packages() -> list:
    """The tab packages of ``TABS`` (``tabs.<name>``), imported."""
    return [importlib.import_module(f"tabs.{name}") for name in TABS]


def parse_args(argv: list[str] | None = None, settings: Settings | None = None) -> argparse.Namespace:
    """Command-line flags; each has an environment override (read into ``settings``, or now when None)."""
    settings = settings or Settings.from_env()
    parser = argparse.ArgumentParser(description="LLM Workbench")
    parser.add_argument("--host", default=settings.host or os.environ.get("GRADIO_SERVER_NAME")
                        or ("0.0.0.0" if settings.on_space else "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(settings.port or os.environ.get("GRADIO_SERVER_PORT") or 7860))
    parser.add_argument("--share", action="store_true", default=settings.share,
                        help="create a public gradio.live link")
    parser.add_argument("--mcp", action="store_true", default=settings.mcp,
                        help="also serve the main actions as MCP tools")
    parser.add_argument("--auth", default=None,
                        help="require a login, as user:password (visible to other users of this machine in `ps`: "
                             "prefer WORKBENCH_AUTH or --auth-file)")
    parser.add_argument("--auth-file", default=settings.auth_file,
                        help="a file of user:password lines (env WORKBENCH_AUTH_FILE)")
    parser.add_argument("--share-without-auth", action="store_true",
                        help="allow --share without a login (anyone with the link can use your machine)")
    args = parser.parse_args(argv)
    auth, tokens = login_secrets()
    try:
        args.credentials = credentials(args.auth, args.auth_file, auth)
        args.mcp_tokens = mcp_tokens(args.auth_file, tokens)
    except ValueError as exc:
        parser.error(str(exc))
    if args.share and not args.credentials and not args.share_without_auth:
        parser.error("--share makes this machine reachable from the internet: set WORKBENCH_AUTH=user:password (or "
                     "--auth-file), or pass --share-without-auth to accept that risk")
    return args


def credentials(flag: str | None, path: str | None, env: str | None) -> list[tuple[str, str]]:
    """Logins from --auth, a file of ``user:password`` lines, or WORKBENCH_AUTH (comma-separated pairs).

    Raises:
        ValueError: an entry that is not user:password, or an unreadable file.
    """
    entries: list[str] = []
    if path:
        try:
            entries += [ln.strip() for ln in Path(path).expanduser().read_text().splitlines()
                        if ln.strip() and not is_token_line(ln)]
        except OSError as exc:
            raise ValueError(f"cannot read the auth file: {exc.strerror}") from None
    for value in (flag, env):
        entries += [v.strip() for v in (value or "").split(",") if v.strip()]
    pairs = []
    for entry in entries:
        user, sep, password = entry.partition(":")
        if not (sep and user and password):
            raise ValueError("each login must be user:password")
        pairs.append((user, password))
    return pairs


def warnings_for(args: argparse.Namespace) -> list[str]:
    """What to warn about before serving: no login on a reachable address, a password on the command line."""
    out = []
    if not args.credentials and (args.share or args.host not in LOOPBACK):
        where = "through a public share link" if args.share else f"on {args.host} (reachable from other machines)"
        out.append(f"WARNING: serving {where} without a login: anyone who can reach it can use this machine. Set "
                   "WORKBENCH_AUTH=user:password or --auth-file.")
    if args.mcp and args.credentials and not args.mcp_tokens:
        out.append("WARNING: --mcp with a login but no MCP token: MCP clients will be refused (401). Set "
                   "WORKBENCH_MCP_TOKEN (or an 'mcp-token' line in the auth file) and send it as a bearer token.")
    if args.auth:
        out.append("WARNING: --auth puts the password in the process list (`ps`); prefer WORKBENCH_AUTH or "
                   "--auth-file.")
    return out


def patient_localhost_check(within_s: float = LOCALHOST_CHECK_S) -> None:
    """Make ``launch()``'s check that the app answers on its own local URL wait for it.

    Gradio's ``launch()`` asks ``gradio.networking.url_ok(local_url)`` once the server runs, and raises "When
    localhost is not accessible, a shareable link must be created" when that returns False; ``url_ok`` gives up at
    the first 3 s timeout, so on a loaded machine a server that is up but slow to answer ended the app. The check
    is now retried until the URL answers or ``within_s`` passes (a localhost that never answers still fails).
    """
    from gradio import networking

    quick = networking.url_ok
    if getattr(quick, "patient", False):
        return

    def url_ok(url: str) -> bool:
        deadline = time.monotonic() + within_s
        while True:
            try:
                if quick(url):
                    return True
            except Exception:  # noqa: BLE001  (a reset or read error while the server is busy: not an answer yet)
                pass
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.5)

    url_ok.patient = True
    networking.url_ok = url_ok


def serve_without_startup_heap_in_collections() -> None:
    """Keep the objects made while starting (modules, the Blocks and their ~550 components, ~240,000 objects) out
    of every later garbage collection, then collect as usual (``gc.freeze``, Python's advice for long-lived
    servers). A full collection walked them all: 0.1-0.4 s holding the GIL, during which no request was answered
    (seen under a crowd as a 370 ms stall of every call in flight)."""
    gc.freeze()
    gc.enable()


def main(argv: list[str] | None = None) -> None:
    """Parse flags and serve the app."""
    args = parse_args(argv, Settings.from_env())
    install_log_redaction()
    logging.getLogger(__name__).info("starting LLM Workbench on %s:%s", args.host, args.port)
    for warning in warnings_for(args):
        print(warning, file=sys.stderr)
    restrict_paths_when_shared(bool(args.credentials or args.mcp_tokens or args.share or args.host not in LOOPBACK))
    settings = Settings.from_env()  # read after the line above, which may switch path restriction on
    demo = build_demo(Context.build(settings))
    serve_without_startup_heap_in_collections()
    distrust_server_proxy_headers()
    patient_localhost_check()
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, mcp_server=args.mcp,
                auth=args.credentials or None,
                auth_message="LLM Workbench: log in with the credentials you were given.",
                **launch_kwargs(settings, args.mcp_tokens))


if __name__ == "__main__":
    main()
