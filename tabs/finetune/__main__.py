"""``python -m tabs.finetune``: this tab alone, served on this machine (``--help`` for the flags)."""

from tabs import finetune
from tabs.kit.blocks import standalone

if __name__ == "__main__":
    standalone(finetune)
