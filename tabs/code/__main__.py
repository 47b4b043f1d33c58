"""``python -m tabs.code``: this tab alone, served on this machine (``--help`` for the flags)."""

from tabs import code
from tabs.kit.blocks import standalone

if __name__ == "__main__":
    standalone(code)
