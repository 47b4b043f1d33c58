"""The assistant: a chat whose model can call tools (the workbench's engines, MCP servers), every step recorded."""

from __future__ import annotations

from engines.assistant.tool import Tool, ToolOutput  # noqa: F401
