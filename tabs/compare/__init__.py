"""Compare models tab: ``handlers`` builds it and wires its events; ``view``: formatting; ``extra``: the part-2
panels (benchmarks, internals, next token).
"""

from tabs.compare.handlers import build

__all__ = ["build"]
