"""Evaluate tab: ``handlers`` builds it and wires its events; ``layout``: the components; ``view``: HTML and tables;
``contamination``: the contamination panel (+ contamination_view).
"""

from tabs.evaluate.handlers import build, synthetic_payload

__all__ = ["build", "synthetic_payload"]
