"""Gradio's event queue, woken when there is something to do instead of polling.

Gradio's ``Queue`` runs two loops forever on the event loop:
- ``start_processing``: when no event is waiting, or every worker is busy, or every waiting event's concurrency
  group is full, it sleeps 1 ms and looks again;
- ``start_progress_updates``: every 10 ms it looks for a running event's progress to send, running events or not.

So the event loop woke ~1,000 times a second, idle or not (an idle app: 920 context switches and 3.5 % of a core a
second), and under a crowd each wake-up also shuffled and scanned the concurrency groups while model events waited
for their slots. On a machine whose cores are busy with a model's compute, each of those wake-ups waits for a core,
and every call's next step (the cheap ones a crowd makes) waits behind them.

``WakingQueue`` keeps Gradio's loop bodies and its choice of what to start (``get_events``), and changes only when
they look:
- the processing loop, right after an event is pushed and right after one finishes (its worker and its
  concurrency slot are free again);
- the progress loop, every 10 ms as before while an event runs, and not at all while none does;
- both, as a safety net for a change none of these covers, every ``SAFETY_S`` seconds.
"""

from __future__ import annotations

import asyncio
import time

from gradio import queueing
from gradio.utils import run_coro_in_background, set_task_name

SAFETY_S = 0.05  # the loops still look this often with nothing to wake them (Gradio's processing loop: 1 ms)


async def _wait(signal: asyncio.Event) -> None:
    """Until ``signal`` is set, or ``SAFETY_S`` seconds."""
    try:
        async with asyncio.timeout(SAFETY_S):
            await signal.wait()
    except TimeoutError:
        pass


class WakingQueue(queueing.Queue):
    """``gradio.queueing.Queue`` whose loops wait to be woken (an event pushed, started or finished).

    Made by Gradio as its own ``Queue`` (``WorkbenchBlocks.queue`` then swaps the class), so it has no ``__init__``.
    Each run of a loop makes its own signal: a launch runs the loops on a new event loop, and an ``asyncio.Event``
    belongs to the loop it first waited on (one kept from an earlier launch failed the next one's loop)."""

    _changed: asyncio.Event | None = None  # an event was pushed or finished: look for one to start
    _started: asyncio.Event | None = None  # an event started: its progress may need sending

    @staticmethod
    def _set(signal: asyncio.Event | None) -> None:
        if signal is not None:  # None: the loop that waits on it hasn't started
            signal.set()

    async def push(self, *args, **kwargs):
        try:
            return await super().push(*args, **kwargs)
        finally:
            self._set(self._changed)

    async def process_events(self, *args, **kwargs):
        try:
            return await super().process_events(*args, **kwargs)
        finally:  # a worker and a concurrency slot are free again
            self._set(self._changed)

    async def start_processing(self) -> None:
        """Gradio 6.31's loop (``Queue.start_processing``), waiting to be woken where it slept 1 ms."""
        self._changed = changed = asyncio.Event()
        try:
            while not self.stopped:
                changed.clear()  # before looking: a push while this loop looks sets it again
                if len(self) and None in self.active_jobs and await self._start_one():
                    continue
                await _wait(changed)
        finally:
            self.stopped = True
            self._cancel_asyncio_tasks()

    async def _start_one(self) -> bool:
        """Start the next event Gradio's ``get_events`` picks, as Gradio's loop does; False if none can start."""
        async with self.delete_lock:  # as Gradio: clean_events removes events under it
            event_batch = self.get_events()
        if not event_batch:
            return False
        events, batch, concurrency_id = event_batch
        self.active_jobs[self.active_jobs.index(None)] = events
        event_queue = self.event_queue_per_concurrency_id[concurrency_id]
        event_queue.current_concurrency += 1
        start_time = time.time()
        fn = events[0].fn
        event_queue.start_times_per_fn[fn].add(start_time)
        for event in events:
            if (a := self.event_analytics.get(event._id)) is not None:
                a["status"] = "processing"
        task = run_coro_in_background(self.process_events, events, batch, start_time, fn)
        set_task_name(task, events[0].session_hash, fn._id, events[0]._id, batch)
        self._asyncio_tasks.add(task)
        task.add_done_callback(self._asyncio_tasks.discard)
        if self.live_updates:
            self.broadcast_estimations(concurrency_id)
        self._set(self._started)
        return True

    async def start_progress_updates(self) -> None:
        """Gradio 6.31's loop (``Queue.start_progress_updates``): while events run, their newest progress goes out
        every 10 ms; while none runs, it waits for one to start instead of looking every 10 ms."""
        self._started = started = asyncio.Event()
        while not self.stopped:
            started.clear()
            events = [evt for job in self.active_jobs if job is not None for evt in job]
            if not events:
                await _wait(started)
                continue
            for event in events:
                if event.progress_pending and event.progress:
                    event.progress_pending = False
                    self.send_message(event, event.progress)
            await asyncio.sleep(self.progress_update_sleep_when_free)
