"""Bounded session state: a crowd of anonymous calls can't fill the server's memory.

Gradio keeps one ``SessionState`` per session hash, and every API call without a reused session is a new one. Left
alone it keeps 10,000 of them, each with its own copy of every block's config: ~1.3 MB and ~0.2 s of CPU for this
app's ~760 blocks, built on the event loop (every other request waits meanwhile) — ~13 GB for a crowd.

``BoundedStateHolder`` replaces Gradio's holder on the served app (``WorkbenchBlocks.app``):
- at most ``Settings.max_sessions`` sessions (WORKBENCH_MAX_SESSIONS), the least recently used go first;
- at most ``Settings.max_sessions_per_address`` per client address (WORKBENCH_MAX_SESSIONS_PER_ADDRESS): an address
  past its cap loses its own least recently used session, so one client can't push everyone else's state out;
- a session with an event queued or running is never forgotten (its run's state, Stop and history live there);
- each session is a ``LeanSessionState``: the per-block config is made only when a deep link asks, not copied for
  all ~760 blocks up front nor remade for a call's inputs and outputs; a call without a session gets a throwaway
  one of those too (``lean_throwaway_sessions``).
"""

from __future__ import annotations

import datetime
import os
import threading
from collections import OrderedDict
from contextvars import ContextVar
from copy import copy
from itertools import islice

from gradio.state_holder import SessionState, StateHolder

ANALYTICS_EVENTS = 1000
# The client address of the request being handled (set by ``SessionAddress``; None outside a request).
_ADDRESS: ContextVar[str | None] = ContextVar("workbench_client_address", default=None)


class SessionAddress:
    """ASGI middleware: note each request's client address, so a session made while handling it is counted there.

    It must sit inside ``tabs.access.ClientAddress`` (which believes X-Forwarded-For only from trusted proxies), so
    users behind a trusted proxy are counted by their own address, not all under the proxy's."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope.get("type") not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        token = _ADDRESS.set(str((scope.get("client") or ("unknown", 0))[0]))
        try:
            return await self.app(scope, receive, send)
        finally:
            _ADDRESS.reset(token)


class LeanSessionState(SessionState):
    """Gradio's ``SessionState`` without its copy of every block's config, made up front and at every call.

    Gradio reads ``config_values`` in one place only, ``components`` (a deep link lists the session's configs); it
    writes them in three: ``__setitem__`` and ``_update_config`` remake a block's entry, ``_update_value_in_config``
    sets its value (making the entry when missing). Each entry costs ``config_for_block``, the block's config with its
    API schema (pydantic) three times: ~0.1-1 ms a block, on the event loop, for every input and output of every call,
    since an API call without a session is a new one. Here the writes only note what changed, and ``components``
    makes the entries from the same per-session blocks when a deep link asks, so it lists the same configs. The
    attributes are Gradio 6.31's (tests/app/test_sessions.py checks they still match).
    """

    def __init__(self, blocks):  # noqa: D107  (deliberately not calling SessionState.__init__: that is the cost)
        self.blocks_config = copy(blocks.default_config)
        self.config_values = {}
        self.state_data = {}
        self._state_ttl = {}
        self.is_closed = False
        self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600
        self._root_ids = frozenset(blocks.blocks)
        self._changed: set[int] = set()  # blocks whose entry is made from the session's block when listed
        self._values: dict[int, object] = {}  # values set in a block's entry since it was last made

    def __setitem__(self, key: int, value) -> None:
        from gradio.components import State

        block = self.blocks_config.blocks.get(key)
        if isinstance(block, State):
            self._state_ttl[key] = (block.time_to_live, datetime.datetime.now())
            self.state_data[key] = value
        else:
            self.blocks_config.blocks[key] = value
        if block:
            self._remake(key)

    def _update_config(self, key: int) -> None:
        if self[key] is not None:
            self._remake(key)

    def _remake(self, key: int) -> None:
        """The entry of ``key`` is made again, from its block as it is then (a value set before is gone, as in
        Gradio's entry made at once)."""
        self.config_values.pop(key, None)
        self._values.pop(key, None)
        self._changed.add(key)

    def _update_value_in_config(self, key: int, value) -> None:
        self._values[key] = value
        self._changed.add(key)

    @property
    def components(self):
        """Every block's config for this session, as Gradio's copy would list them."""
        for key, block in list(self.blocks_config.blocks.items()):
            if key not in self._root_ids and key not in self._changed:
                continue
            config = self.config_values.get(key)
            if config is None:
                config = self.config_values[key] = self.blocks_config.config_for_block(key, [], block)
            if key in self._values and "props" in config:
                config["props"]["value"] = self._values[key]
            if config:
                yield config


class BoundedStateHolder(StateHolder):
    """Gradio's session store with a total cap and a per-address cap (least recently used sessions go first)."""

    def __init__(self, capacity: int, per_address: int):
        super().__init__()
        self.capacity, self.per_address = max(1, capacity), max(1, per_address)
        self._owner: dict[str, str] = {}
        self._by_address: dict[str, OrderedDict[str, None]] = {}
        self._create_lock = threading.Lock()

    def set_blocks(self, blocks) -> None:
        """Attach to the served Blocks (Gradio's version also takes its capacity from launch: keep ours)."""
        capacity = self.capacity
        super().set_blocks(blocks)
        self.capacity = capacity
        queue = getattr(blocks, "_queue", None)
        if queue is not None:  # the monitoring page's per-event records (~1 KB each; Gradio keeps 10,000)
            queue.ANALYTICS_MAX_EVENTS = min(queue.ANALYTICS_MAX_EVENTS, ANALYTICS_EVENTS)

    def __getitem__(self, session_id: str) -> SessionState:
        with self._create_lock:
            session = self.session_data.get(session_id)
            if session is None:
                session = self.session_data[session_id] = LeanSessionState(self.blocks)
                self._claim(session_id, _ADDRESS.get())
        self.update(session_id)
        self.time_last_used[session_id] = datetime.datetime.now()
        return session

    def update(self, session_id: str) -> None:
        """Mark ``session_id`` as just used; forget the least recently used sessions past the capacity."""
        with self.lock:
            if session_id in self.session_data:
                self.session_data.move_to_end(session_id)
                mine = self._by_address.get(self._owner.get(session_id))
                if mine is not None and session_id in mine:
                    mine.move_to_end(session_id)
            self._evict(self.session_data, len(self.session_data) - self.capacity, keep=session_id)

    def _claim(self, session_id: str, address: str | None) -> None:
        if address is None:  # made outside a request (a queued job whose session was evicted meanwhile)
            return
        with self.lock:
            sessions = self._by_address.setdefault(address, OrderedDict())
            sessions[session_id] = None
            self._owner[session_id] = address
            self._evict(sessions, len(sessions) - self.per_address, keep=session_id)

    def _evict(self, order, excess: int, keep: str) -> None:
        """Forget ``excess`` sessions of ``order`` (least recently used first; call with ``self.lock`` held), never
        ``keep`` nor a session with an event queued or running: a page streaming a long run, whose Stop, history
        and run state live in its session, lost them to a crowd of newer sessions from its address (a shared NAT or
        proxy) and its Stop then found an empty session. Such sessions are few (the queue's size bounds them), so
        the caps hold again once their runs end."""
        if excess <= 0:
            return
        queue = self._queue()
        idle = (s for s in order if s != keep and not (queue is not None and queue.pending_event_ids_session.get(s)))
        for session_id in list(islice(idle, excess)):  # the oldest idle ones: the scan stops there
            self.session_data.pop(session_id, None)
            self._forget(session_id)

    def _queue(self):
        """The served Blocks' queue (it lists each session's pending events until they complete), or None."""
        return getattr(self.blocks, "_queue", None) if hasattr(self, "blocks") else None

    def _forget(self, session_id: str) -> None:
        """Drop a session's bookkeeping, and the queue's once it has nothing pending (call with ``self.lock`` held).

        Gradio's queue keeps a set of pending event ids per session, never removed once empty (~300 bytes a
        session), and a message queue per session (up to 2,000): both go with the session when idle.
        """
        self.time_last_used.pop(session_id, None)
        queue = self._queue()
        if queue is not None and not queue.pending_event_ids_session.get(session_id):
            queue.pending_event_ids_session.pop(session_id, None)
            messages = queue.pending_messages_per_session.get(session_id)
            if messages is not None and messages.empty():
                queue.pending_messages_per_session.pop(session_id, None)
        address = self._owner.pop(session_id, None)
        sessions = self._by_address.get(address) if address is not None else None
        if sessions is not None:
            sessions.pop(session_id, None)
            if not sessions:
                del self._by_address[address]

    def sessions_of(self, address: str) -> int:
        """How many live sessions ``address`` holds."""
        with self.lock:
            return len(self._by_address.get(address, ()))


def lean_throwaway_sessions() -> None:
    """Calls without a session (``POST /gradio_api/run/<name>`` with no ``session_hash``, as curl sends it; an MCP
    client's call of a tool that isn't queued) get a throwaway ``LeanSessionState``: Gradio made its full
    ``SessionState`` for each, a copy of every block's config (~50 ms of the event loop per call, while every other
    call waited: a crowd of such calls stalled the whole server). Process-wide and idempotent."""
    import gradio.route_utils

    gradio.route_utils.SessionState = LeanSessionState
    try:
        import gradio.mcp
    except ImportError:  # gradio without the mcp extra
        return
    gradio.mcp.SessionState = LeanSessionState
