"""Code tab: ``handlers`` builds it and wires its events."""

from tabs.code.handlers import build

__all__ = ["build"]
