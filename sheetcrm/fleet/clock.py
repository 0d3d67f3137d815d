"""The fleet's time: the real one, or a virtual one for simulations.

Everything in the fleet that waits (the dispatcher between jobs, a job waiting for request
tokens, the Google backend's retry pauses) waits through `Clock.wait(event, seconds)`, and
everything that asks the time asks `Clock.now()` (seconds, monotonic). With `RealClock` that
is `team_time.elapsed` (which goes on while the machine sleeps) and `Event.wait`. With
`VirtualClock` time stands still while any thread
of the fleet is working and jumps to the earliest deadline once every one of them waits
(discrete-event simulation), so a test of a whole day of schedules takes the seconds its
HTTP requests take, and lateness is measured in the fleet's own seconds, not the machine's.
"""

from __future__ import annotations

import threading
from typing import Protocol

from sheetcrm.team_time import elapsed


class Clock(Protocol):
    def now(self) -> float: ...

    def wait(self, event: threading.Event, seconds: float) -> bool:
        """Until `event` is set or `seconds` pass; True when the event was set."""
        ...

    def join(self) -> None:
        """A thread starts working for the fleet (the virtual clock waits for it)."""
        ...

    def leave(self) -> None:
        """That thread is done working."""
        ...


class RealClock:
    def now(self) -> float:
        # Not time.monotonic, which stands still while the machine sleeps: every job due during
        # a suspend waited, after waking, as long again as the suspend had left it.
        return elapsed()

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(max(seconds, 0.0))

    def join(self) -> None:
        pass

    def leave(self) -> None:
        pass


class VirtualClock:
    """Virtual seconds from `start`. Threads that work for the fleet are counted (`join` /
    `leave`; the thread that creates the clock counts as one); time moves only when every
    counted thread is inside `wait`, to the nearest deadline among them."""

    POLL = 0.005  # real seconds between looks at an event set by a thread the clock does not count

    def __init__(self, start: float = 0.0) -> None:
        self._t = start
        self._cond = threading.Condition()
        self._working = 1
        self._waiting: dict[int, tuple[float, threading.Event]] = {}
        self._next = 0

    def now(self) -> float:
        with self._cond:
            return self._t

    def __call__(self) -> float:  # usable as a plain `clock()` function (the emulator's quota)
        return self.now()

    def join(self) -> None:
        with self._cond:
            self._working += 1

    def leave(self) -> None:
        with self._cond:
            self._working -= 1
            self._advance()

    def wait(self, event: threading.Event, seconds: float) -> bool:
        with self._cond:
            me = self._next
            self._next += 1
            deadline = self._t + max(seconds, 0.0)
            self._waiting[me] = (deadline, event)
            self._working -= 1
            try:
                while not event.is_set() and self._t < deadline:
                    self._advance()
                    if event.is_set() or self._t >= deadline:
                        break
                    self._cond.wait(self.POLL)
            finally:
                del self._waiting[me]
                self._working += 1
            return event.is_set()

    def _advance(self) -> None:
        # A waiter whose event is set is about to work: time must not move under it.
        if self._working > 0 or not self._waiting or any(e.is_set() for _, e in self._waiting.values()):
            self._cond.notify_all()
            return
        self._t = max(self._t, min(d for d, _ in self._waiting.values()))
        self._cond.notify_all()
