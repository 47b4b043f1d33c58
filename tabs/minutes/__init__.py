"""Meeting minutes tab: ``handlers`` builds it and wires its events."""

from tabs.minutes.handlers import build

__all__ = ["build"]
