"""``python -m tabs.hub``: this tab alone, served on this machine (``--help`` for the flags)."""

from tabs import hub
from tabs.kit.blocks import standalone

if __name__ == "__main__":
    standalone(hub)
