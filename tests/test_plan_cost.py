"""Issue 16, planning made cheaper without changing what it plans: the cyclic collector paused
while a sync reads and plans (and restored after), and the memos of the plan's hot paths give
the same answers as the plain functions they stand for."""

from __future__ import annotations

import datetime as dt
import gc
import threading

from sheetcrm.config import Config
from sheetcrm.starter import write_demo
from sheetcrm.sync import paused_collector, sync
from sheetcrm.workbook.memory import MemoryWorkbook

AS_OF = dt.date(2026, 11, 23)


def test_the_collector_is_off_while_planning_and_on_again_after():
    seen: list[bool] = []
    book = MemoryWorkbook()
    write_demo(book, rows=20, seed=3, today=AS_OF)
    real_read = book.read

    def read():
        seen.append(gc.isenabled())
        return real_read()

    book.read = read  # type: ignore[method-assign]
    assert gc.isenabled()
    planning = ("validating", "computing")
    sync(book, Config(), as_of=AS_OF,
         progress=lambda phase, done, total: seen.append(gc.isenabled()) if phase in planning else None)
    assert len(seen) > 3 and not any(seen)  # the read and every phase of the plan ran without it
    assert gc.isenabled()


def test_a_collector_someone_else_turned_off_stays_off():
    gc.disable()
    try:
        with paused_collector():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_collector_comes_back_after_a_failed_plan():
    try:
        with paused_collector():
            raise KeyError("a step's bug")
    except KeyError:
        pass
    assert gc.isenabled()


def test_two_threads_leave_it_as_the_first_found_it():
    inside = threading.Barrier(2)
    out = threading.Event()
    second_saw: list[bool] = []

    def first():
        with paused_collector():
            inside.wait()
            out.wait()  # the second thread entered after it was off: it must not turn it on

    def second():
        inside.wait()
        with paused_collector():
            pass
        second_saw.append(gc.isenabled())  # still inside the first thread's plan: off
        out.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert second_saw == [False]
    assert gc.isenabled()
