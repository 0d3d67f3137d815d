"""The virtual clock: time stands still while a counted thread works, and jumps to the nearest
deadline once every one of them waits; an event set wakes its waiter without moving time."""

from __future__ import annotations

import threading
import time

from sheetcrm.fleet.clock import VirtualClock


def test_time_jumps_only_when_every_thread_waits():
    clock = VirtualClock()
    woke: dict[str, float] = {}
    release = threading.Event()

    def sleeper(name: str, seconds: float) -> None:
        try:
            clock.wait(threading.Event(), seconds)
            woke[name] = clock.now()
        finally:
            clock.leave()

    for name, seconds in (("a", 30.0), ("b", 10.0)):
        clock.join()
        threading.Thread(target=sleeper, args=(name, seconds)).start()
    time.sleep(0.2)  # the two sleepers wait; this thread still works: time stands still
    assert clock.now() == 0.0 and woke == {}
    clock.wait(release, 100.0)  # now every thread waits: 10, then 30, then this one's 100
    assert woke == {"b": 10.0, "a": 30.0}
    assert clock.now() == 100.0


def test_an_event_wakes_its_waiter_at_the_same_time():
    clock = VirtualClock(start=5.0)
    event = threading.Event()

    def setter() -> None:
        try:
            event.set()
        finally:
            clock.leave()

    clock.join()
    threading.Thread(target=setter).start()
    assert clock.wait(event, 60.0) is True
    assert clock.now() == 5.0
