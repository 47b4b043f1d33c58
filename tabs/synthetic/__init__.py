"""Synthetic data tab: ``handlers`` builds it and wires its events."""

from tabs.synthetic.handlers import build

__all__ = ["build"]
