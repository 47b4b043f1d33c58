"""The Chat tab: a multi-turn chat with any model, tools (built-in engines and MCP servers), images and audio in,
and the conversation exported as JSON and a replay notebook. ``layout`` builds it, ``handlers`` run it, ``view``
formats it."""

from __future__ import annotations

from tabs.chat.layout import build  # noqa: F401  (the tab's contract)
