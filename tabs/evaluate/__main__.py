"""``python -m tabs.evaluate``: this tab alone, served on this machine (``--help`` for the flags)."""

from tabs import evaluate
from tabs.kit.blocks import standalone

if __name__ == "__main__":
    standalone(evaluate)
