"""Images tab: ``handlers`` builds it and wires its events."""

from tabs.images.handlers import build

__all__ = ["build"]
