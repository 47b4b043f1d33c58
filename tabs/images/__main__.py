"""``python -m tabs.images``: this tab alone, served on this machine (``--help`` for the flags)."""

from tabs import images
from tabs.kit.blocks import standalone

if __name__ == "__main__":
    standalone(images)
