"""The kit every tab package builds on: cross-tab links resolved after every tab is built (``links``), the one
model picker (``pickers``), and the assembly of tabs into a served Blocks, the whole app or one tab alone
(``blocks``; ``python -m tabs.<name>``). The older shared modules (``tabs.common``, ``tabs.server``, ...) stay
beside the tab packages."""
