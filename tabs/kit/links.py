"""Cross-tab links as data. While it builds, a tab *registers* the components other tabs may fill (``register``:
"compare.models", "evaluate.rows"...) and *declares* the sends it makes (``send``: a ``Link``, everything named by
strings); ``resolve``, called once every tab is built, wires each send whose targets exist and hides the others'
buttons. No tab depends on the build order, and a tab built alone simply has no sends.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

TABS = "(tabs)"  # the output that opens the target's tab (not a target name: those are tab.name)


@dataclass(frozen=True)
class Link:
    """One cross-tab send: clicking ``button`` calls ``payload`` on the values of ``inputs`` and puts what it
    returns into the registered targets, then opens the tab of the first target.

    Attributes:
        source: the sending tab's id (for messages and tests), e.g. "synthetic".
        button: the sending button: a component, or the name it was registered under.
        targets: the target names it needs; without all of them registered the send is left out (button hidden).
        inputs: what ``payload`` reads: components or registered names, in order.
        payload: values of ``inputs`` → {target name: value}; a name not registered or not returned is left as is.
            Raise ``gr.Error`` (or a ``WorkbenchError``) to refuse.
        extras: targets also filled when registered (a dataset's config and split), not required.
        reveal: show the button once the send is wired (a button that starts hidden because nothing may receive).
        kwargs: more keyword arguments for the event (``queue=False``...).
    """

    source: str
    button: gr.Component | str
    targets: tuple[str, ...]
    inputs: tuple[gr.Component | str, ...]
    payload: Callable[..., dict[str, Any]]
    extras: tuple[str, ...] = ()
    reveal: bool = False
    kwargs: dict = field(default_factory=dict, compare=False)


class Links:
    """Where other tabs can send a value (the Hub tab's "open in …" buttons, Synthetic → Evaluate / Fine-tune,
    Fine-tune → Compare / Evaluate).

    Each tab registers, while it builds, the component that receives a value and the id of its ``gr.Tab``, and
    optionally what to do once a value arrived (``on_receive(event)`` chains onto the sender's event: hidden
    receivers fire no change events in the browser). Sends are declared with ``send`` and wired by ``resolve``.
    ``tabs.kit.blocks.build_blocks`` makes one per Blocks.
    """

    def __init__(self) -> None:
        self._targets: dict[str, tuple[str, gr.Component]] = {}
        self._hooks: dict[str, Callable] = {}
        self._sends: list[Link] = []
        self.tabs: gr.Tabs | None = None
        self.wired: list[Link] = []  # the sends ``resolve`` wired
        self.left_out: list[Link] = []  # ... and those it left out (a target not registered)

    def register(self, name: str, tab_id: str, component: gr.Component, on_receive: Callable | None = None) -> None:
        """Offer ``component`` (inside the tab ``tab_id``) as the target ``name`` (e.g. "compare.models")."""
        self._targets[name] = (tab_id, component)
        if on_receive is not None:
            self._hooks[name] = on_receive

    def get(self, name: str) -> tuple[str, gr.Component] | None:
        """(tab id, component) of a registered target, or None."""
        return self._targets.get(name)

    def names(self) -> list[str]:
        """Registered target names."""
        return list(self._targets)

    def send(self, link: Link) -> None:
        """Declare a send; it is wired (or left out) by ``resolve``."""
        self._sends.append(link)

    def delivered(self, names, event) -> None:
        """Tell the targets ``names`` that ``event`` (a Gradio dependency) set their values: their on-receive hooks
        run after it succeeds."""
        for name in [names] if isinstance(names, str) else names:
            hook = self._hooks.get(name)
            if hook is not None:
                hook(event)

    def resolve(self) -> list[Link]:
        """Wire every declared send whose targets (and named inputs and button) are registered; hide the button of
        the others. Call inside the Blocks once every tab is built (``build_blocks`` does).

        Returns:
            The sends wired.
        """
        from tabs.common import on

        for link in self._sends:
            button = self._component(link.button)
            needed = [*link.targets, *(i for i in link.inputs if isinstance(i, str))]
            if button is None or not link.targets or any(self.get(name) is None for name in needed):
                if button is not None:
                    button.visible = False  # no such tab here: no button
                self.left_out.append(link)
                continue
            names = [name for name in (*link.targets, *link.extras) if self.get(name) is not None]
            outputs = {name: self._targets[name][1] for name in names}
            if self.tabs is not None:
                outputs[TABS] = self.tabs
            event = on(button.click, _sender(link.payload, names, self._targets[link.targets[0]][0], self.tabs),
                       [self._component(i) for i in link.inputs], outputs, api_name=False, **link.kwargs)
            self.delivered(names, event)
            if link.reveal:
                button.visible = True
            self.wired.append(link)
        self._sends = []
        return self.wired

    def _component(self, ref: gr.Component | str) -> gr.Component | None:
        if isinstance(ref, str):
            found = self.get(ref)
            return found[1] if found else None
        return ref


def _sender(payload: Callable[..., dict], names: list[str], tab_id: str, tabs: gr.Tabs | None) -> Callable:
    def send(*values) -> dict:
        out = payload(*values) or {}
        updates = {name: value for name, value in out.items() if name in names}
        if updates and tabs is not None:
            updates[TABS] = gr.Tabs(selected=tab_id)
        return updates

    send.__name__ = f"send_to_{tab_id}"
    return send
