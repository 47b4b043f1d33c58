"""``python -m tabs.minutes``: this tab alone, served on this machine (``--help`` for the flags)."""

from tabs import minutes
from tabs.kit.blocks import standalone

if __name__ == "__main__":
    standalone(minutes)
