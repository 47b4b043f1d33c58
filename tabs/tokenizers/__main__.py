"""``python -m tabs.tokenizers``: this tab alone, served on this machine (``--help`` for the flags)."""

from tabs import tokenizers
from tabs.kit.blocks import standalone

if __name__ == "__main__":
    standalone(tokenizers)
