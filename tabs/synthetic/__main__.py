"""``python -m tabs.synthetic``: this tab alone, served on this machine (``--help`` for the flags)."""

from tabs import synthetic
from tabs.kit.blocks import standalone

if __name__ == "__main__":
    standalone(synthetic)
