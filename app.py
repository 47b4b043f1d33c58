"""LLM Workbench: everyday open-model work in one Gradio app. ``python app.py --help`` for the flags.

Importing this module builds nothing and loads no model; ``build_demo()`` makes the Blocks, ``main()`` serves it.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from pathlib import Path

import gradio as gr

from engines.config import Settings
from engines.redact import install_log_redaction
from tabs import header
from tabs.access import distrust_server_proxy_headers, is_token_line, mcp_tokens, restrict_paths_when_shared
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


def build_demo(settings: Settings | None = None) -> gr.Blocks:
    """Build the app's Blocks (no model is loaded here).

    Args:
        settings: deployment settings; default ``Settings.from_env()``.
    """
    return build_blocks(tab_packages(), settings, before=header.build)


def tab_packages() -> list:
    """The tab packages of ``TABS`` (``tabs.<name>``), imported."""
    return [importlib.import_module(f"tabs.{name}") for name in TABS]


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
    parser.add_argument("--auth", default=None,
                        help="require a login, as user:password (visible to other users of this machine in `ps`: "
                             "prefer WORKBENCH_AUTH or --auth-file)")
    parser.add_argument("--auth-file", default=os.environ.get("WORKBENCH_AUTH_FILE"),
                        help="a file of user:password lines (env WORKBENCH_AUTH_FILE)")
    parser.add_argument("--share-without-auth", action="store_true",
                        help="allow --share without a login (anyone with the link can use your machine)")
    args = parser.parse_args(argv)
    try:
        args.credentials = credentials(args.auth, args.auth_file, os.environ.get("WORKBENCH_AUTH"))
        args.mcp_tokens = mcp_tokens(args.auth_file, os.environ.get("WORKBENCH_MCP_TOKEN"))
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


def main(argv: list[str] | None = None) -> None:
    """Parse flags and serve the app."""
    args = parse_args(argv)
    install_log_redaction()
    logging.getLogger(__name__).info("starting LLM Workbench on %s:%s", args.host, args.port)
    for warning in warnings_for(args):
        print(warning, file=sys.stderr)
    restrict_paths_when_shared(bool(args.credentials or args.mcp_tokens or args.share or args.host not in LOOPBACK))
    settings = Settings.from_env()
    demo = build_demo(settings)
    distrust_server_proxy_headers()
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, mcp_server=args.mcp,
                auth=args.credentials or None,
                auth_message="LLM Workbench: log in with the credentials you were given.",
                **launch_kwargs(settings, args.mcp_tokens))


if __name__ == "__main__":
    main()
