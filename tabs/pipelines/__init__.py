"""Pipelines tab: ``handlers`` builds it and wires its events."""

from tabs.pipelines.handlers import build

__all__ = ["build"]
