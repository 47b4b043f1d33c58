"""A tool the assistant can call: its schema (what the model sees), where it came from, and how it runs.

Built-in tools wrap the workbench's own engines (``engines.assistant.builtin``); MCP tools call a server's tools
through the official ``mcp`` client (``engines.assistant.mcp_tools``). The loop (``engines.assistant.loop``) only
sees ``Tool`` objects gathered in a ``Toolbox``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ToolOutput:
    """What a tool returns: text for the model, and files the chat shows inline (images, audio)."""

    text: str
    images: list[Path] = field(default_factory=list)
    audio: list[Path] = field(default_factory=list)


@dataclass
class Tool:
    """One callable tool.

    Attributes:
        name: the function name the model calls (``^[A-Za-z0-9_-]{1,64}$``).
        description: what it does, for the model.
        parameters: a JSON schema object (``{"type": "object", "properties": ..., "required": [...]}``).
        run: called with the validated arguments; returns a ToolOutput (or a str); may raise (the loop turns any
            exception into an error result for the model).
        source: "workbench" for built-in tools, else the MCP server it came from (its URL without credentials).
        timeout_s: the longest a call may take before the loop gives up on it.
    """

    name: str
    description: str
    parameters: dict
    run: Callable[[dict], ToolOutput | str]
    source: str = "workbench"
    timeout_s: float = 120.0

    def schema(self) -> dict:
        """The OpenAI function-tool schema (what ``stream_chat(tools=...)`` and chat templates take)."""
        return {"type": "function",
                "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}
