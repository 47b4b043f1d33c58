"""Fine-tune tab: ``handlers`` builds it and wires its events; ``layout``: the components; ``view``: HTML."""

from tabs.finetune.handlers import build, synthetic_payload

__all__ = ["build", "synthetic_payload"]
