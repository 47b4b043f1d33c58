"""Stopping a job from outside: a cancel token the run loop checks, and a background runner that sets it when its
caller goes away (a UI's Stop cancels the event, which closes the handler's generator).

Without this, a stopped event left its thread running the program to its wall limit (minutes for an endless loop),
holding the sandbox slot all along.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from engines.config import in_this_call

JOIN_S = 10.0  # how long ``Background.cancel`` waits for the job to end (it takes a tick and a SIGTERM grace)


class Cancel:
    """A job's stop switch. ``set()`` from any thread: the running program (its whole process group, bubblewrap's
    PID namespace, the cgroup) is ended at the next budget tick, and no further run or compile of the job starts.

    Attributes:
        pids: the first process of each execution started under this token (what ``set()`` ends).
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self.pids: list[int] = []

    def set(self) -> None:
        """Ask the job to stop now."""
        self._event.set()

    def is_set(self) -> bool:
        """Whether the job was asked to stop."""
        return self._event.is_set()


class Background:
    """Run ``fn(*args, cancel=token, **kwargs)`` in a thread, so the caller can report progress while it runs and
    stop it: ``cancel()`` sets the token and waits until the job has ended.

    Use it from a generator handler as ``try: for s in job.ticks(): yield …; r = job.result() finally: job.cancel()``
    so that closing the generator (a cancelled event) kills the program at once.
    """

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self.token = Cancel()
        self._out: dict[str, Any] = {}
        self._start = time.monotonic()
        self._thread = threading.Thread(target=in_this_call(self._work), args=(fn, args, kwargs), daemon=True,
                                        name="sandbox-job")
        self._thread.start()

    def _work(self, fn, args, kwargs) -> None:
        try:
            self._out["result"] = fn(*args, cancel=self.token, **kwargs)
        except BaseException as exc:  # handed to the caller by result()
            self._out["error"] = exc

    @property
    def running(self) -> bool:
        """The job has not ended yet."""
        return self._thread.is_alive()

    def ticks(self, every_s: float = 1.0) -> Iterator[float]:
        """Seconds since the start, every ``every_s`` while the job runs; ends when it has ended."""
        while True:
            self._thread.join(every_s)
            if not self._thread.is_alive():
                return
            yield time.monotonic() - self._start

    def result(self) -> Any:
        """The job's return value (waits for it), or its exception raised here."""
        self._thread.join()
        if "error" in self._out:
            raise self._out["error"]
        return self._out["result"]

    def cancel(self, wait_s: float = JOIN_S) -> None:
        """Stop the job if it still runs, and wait (up to ``wait_s``) until its processes are gone."""
        if self._thread.is_alive():
            self.token.set()
            self._thread.join(wait_s)
