"""``python -m tabs.pipelines``: this tab alone, served on this machine (``--help`` for the flags)."""

from tabs import pipelines
from tabs.kit.blocks import standalone

if __name__ == "__main__":
    standalone(pipelines)
