"""Hub tab: ``handlers`` builds it and wires its events; ``view``: formatting."""

from tabs.hub.handlers import build

__all__ = ["build"]
