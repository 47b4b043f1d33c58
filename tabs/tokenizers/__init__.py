"""Tokenizers tab: ``handlers`` builds it and wires its events."""

from tabs.tokenizers.handlers import build

__all__ = ["build"]
