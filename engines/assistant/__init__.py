"""The assistant: a chat whose model can call tools (the workbench's engines, MCP servers), every step recorded."""

from __future__ import annotations

from engines.assistant.builtin import BuiltinTool, builtin_tools  # noqa: F401
from engines.assistant.loop import Event, Notice, TextDelta, ToolStart, ToolStep, TurnDone, run_turn  # noqa: F401
from engines.assistant.mcp_tools import McpToolError, connect_mcp  # noqa: F401
from engines.assistant.tool import Tool, ToolOutput  # noqa: F401
from engines.assistant.toolbox import Toolbox, ToolResult, validate_arguments  # noqa: F401
