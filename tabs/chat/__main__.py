"""``python -m tabs.chat``: this tab alone, served on this machine (``--help`` for the flags)."""

from tabs import chat
from tabs.kit.blocks import standalone

if __name__ == "__main__":
    standalone(chat)
