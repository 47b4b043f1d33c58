"""``python -m tabs.compare``: this tab alone, served on this machine (``--help`` for the flags)."""

from tabs import compare
from tabs.kit.blocks import standalone

if __name__ == "__main__":
    standalone(compare)
