"""Issue 16, planning made cheaper without changing what it plans: the cyclic collector paused
while a sync reads and plans (and restored after), and the memos of the plan's hot paths give
the same answers as the plain functions they stand for."""

from __future__ import annotations

import datetime as dt
import gc
import threading
from decimal import Decimal

from sheetcrm.config import Config
from sheetcrm.plan import cell_value, tab_writes
from sheetcrm.starter import write_demo
from sheetcrm.collector import paused_collector
from sheetcrm.sync import sync
from sheetcrm.workbook import Grid, same_value
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


def _cell_by_cell(title, current, wanted):
    """tab_writes as its docstring states it, with no shortcut: every cell through same_value."""
    have_rows = current.rows if current else []
    out = []
    for r in range(max(len(wanted), len(have_rows))):
        want_row = wanted[r] if r < len(wanted) else []
        have_row = have_rows[r] if r < len(have_rows) else []
        for c in range(max(len(want_row), len(have_row))):
            want = cell_value(want_row[c]) if c < len(want_row) else None
            have = have_row[c] if c < len(have_row) else None
            if not same_value(want, have):
                out.append((r + 1, c + 1, want))
    return out


def test_owned_tab_diff_is_the_cell_by_cell_diff():
    """The whole-row shortcuts (equal lists; equal but for trailing empty cells) write exactly
    what comparing every cell writes, over rows mixing the values a spreadsheet confuses:
    True and 1, 5 and 5.0 and Decimal 5.00, a date and its serial number, "" and None."""
    import random

    values = [None, "", " ", "x", 0, 1, 1.0, 0.0, True, False, Decimal("1.00"), Decimal("0.1"), 0.1,
              dt.date(2026, 1, 2), 46024.0, 46024, dt.datetime(2026, 1, 2), dt.datetime(2026, 1, 2, 13, 30),
              46024.5625, "1"]
    rng = random.Random(16)
    for _ in range(400):
        have = [[rng.choice(values) for _ in range(rng.randint(0, 5))] for _ in range(rng.randint(0, 4))]
        wanted = []
        for row in have:
            kind = rng.random()
            if kind < 0.4:
                wanted.append(list(row) + [rng.choice([None, ""]) for _ in range(rng.randint(0, 3))])
            elif kind < 0.6:
                wanted.append([rng.choice(values) for _ in range(rng.randint(0, 6))])
            else:
                wanted.append([v if rng.random() < 0.8 else rng.choice(values) for v in row])
        wanted.extend([rng.choice(values)] for _ in range(rng.randint(0, 2)))
        grid = Grid(rows=have)
        got = [(w.row, w.col, w.value) for w in tab_writes("T", grid, wanted)]
        assert got == _cell_by_cell("T", grid, wanted), (have, wanted)


def test_a_tab_of_dates_read_back_as_serial_numbers_is_unchanged_and_a_changed_date_is_written():
    """Google reads a date back as its serial number (a history tab's Changed At): such a tab
    plans nothing, and a date that differs, even by a minute, is still written, exactly as the
    cell-by-cell diff has it."""
    from sheetcrm.workbook import serial_number

    wanted = [["Deal", "Changed At", "Amount"]] + [
        [f"OPP-{i:04d}", dt.datetime(2026, 1, 1, 9, 0) + dt.timedelta(hours=7 * i), Decimal(i) / 8]
        for i in range(1, 200)]
    served = [[cell_value(v) if not isinstance(v, dt.date) else serial_number(v) for v in row] for row in wanted]
    assert tab_writes("T", Grid(rows=served), wanted) == []
    served[57][1] = serial_number(wanted[57][1] + dt.timedelta(minutes=1))
    served[8][2] = True  # a tick where the Amount is 1: True == 1 in Python, not in a spreadsheet
    got = [(w.row, w.col, w.value) for w in tab_writes("T", Grid(rows=served), wanted)]
    assert got == _cell_by_cell("T", Grid(rows=served), wanted) == [(9, 3, 1), (58, 2, wanted[57][1])]


def test_a_history_tab_as_google_serves_it_plans_nothing_and_works_out_each_date_once(monkeypatch):
    """A history tab read from Google: its dates as serial numbers, its Decimals as numbers,
    its trailing empty cells trimmed. Each row is compared whole as read, each distinct date's
    serial number worked out once for the tab (26k rows at 10k leads, a few hundred days)."""
    import sheetcrm.plan as plan_module
    from sheetcrm.workbook import serial_number

    days = [dt.date(2026, 3, d) for d in range(1, 6)]
    wanted = [["Deal", "From", "To", "Changed At", "Amount", "Note"]] + [
        [f"OPP-{i:04d}", None, "Proposal", days[i % 5], Decimal(i) / 4, None] for i in range(1, 300)]
    served = [[serial_number(v) if isinstance(v, dt.date) else cell_value(v) for v in row] for row in wanted]
    served = [row[:-1] if row[-1] is None else row for row in served]  # Google trims the empty last cell
    calls = []

    def counted(v):
        calls.append(v)
        return serial_number(v)

    monkeypatch.setattr(plan_module, "serial_number", counted)
    assert tab_writes("T", Grid(rows=served), wanted) == []
    assert sorted(set(calls)) == days and len(calls) == len(days)
    served[40][3] += 1  # a day later
    got = [(w.row, w.col, w.value) for w in tab_writes("T", Grid(rows=served), wanted)]
    assert got == [(41, 4, wanted[40][3])]


def test_two_aware_datetimes_of_one_instant_keep_their_own_serial_numbers():
    """A serial number drops the time zone, so 12:00 UTC and 13:00 at +01:00 (equal as Python
    compares them) are two serial numbers: the remembered serial numbers of a tab's dates must
    not give one for the other, or a changed cell would be taken for unchanged."""
    from sheetcrm.workbook import serial_number

    utc, plus_one = dt.timezone.utc, dt.timezone(dt.timedelta(hours=1))
    noon, one_pm = dt.datetime(2026, 1, 1, 12, tzinfo=utc), dt.datetime(2026, 1, 1, 13, tzinfo=plus_one)
    assert noon == one_pm and serial_number(noon) != serial_number(one_pm)
    grid = Grid(rows=[["x", serial_number(noon)], ["y", serial_number(noon)]])
    wanted = [["x", noon], ["y", one_pm]]
    got = [(w.row, w.col, w.value) for w in tab_writes("T", grid, wanted)]
    assert got == _cell_by_cell("T", grid, wanted) == [(2, 2, one_pm)]


def test_a_row_padded_with_empty_cells_writes_nothing_and_a_changed_one_its_cells():
    grid = Grid(rows=[["ACC-1", 1, dt.date(2026, 1, 2)], ["ACC-2", True]])
    padded = [["ACC-1", Decimal("1.00"), dt.date(2026, 1, 2), None, ""], ["ACC-2", True, None]]
    assert tab_writes("T", grid, padded) == []
    writes = tab_writes("T", grid, [["ACC-1", 1, dt.date(2026, 1, 2), None, "new"], ["ACC-2", 1, None]])
    assert [(w.row, w.col, w.value) for w in writes] == [(1, 5, "new"), (2, 2, 1)]


def test_a_cycle_made_while_planning_is_still_collected():
    import weakref

    class Node:
        pass

    with paused_collector():
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle: only the collector can free it
        gone = weakref.ref(a)
        del a, b
    assert gone() is not None  # not walked on the way out
    gc.collect()
    assert gone() is None


def test_computed_column_writes_are_the_cell_by_cell_diff():
    """computed_writes' shortcut (the same object, or equal values of one type) writes exactly
    what same_value on every computed cell writes, over values a spreadsheet confuses."""
    import random

    from sheetcrm.plan import computed_writes
    from sheetcrm.validate import read_crm

    book = MemoryWorkbook()
    write_demo(book, rows=30, seed=4, today=AS_OF)
    sync(book, Config(), as_of=AS_OF)
    table = read_crm(book.read(), Config()).tables["leads"]
    columns = {c.key: table.header.computed[c.key] for c in table.spec.computed
               if c.key in table.header.computed and not (c.recorded or c.by_step)}
    assert len(columns) >= 3
    values = [None, "", "A", "a", 0, 1, 1.0, 2.5, True, False, Decimal("2.50"), Decimal("0.1"), 0.1,
              dt.date(2026, 1, 2), 46024.0, dt.datetime(2026, 1, 2), "1", float("nan")]
    rng = random.Random(16)
    for _ in range(20):
        wanted = {}
        for row in table.rows:
            row.cells = list(row.cells) + [None] * (max(columns.values()) + 1 - len(row.cells))
            for col in columns.values():
                row.cells[col] = rng.choice(values)
            wanted[row.row] = {key: rng.choice(values) if rng.random() < 0.5 else row.cells[col]
                               for key, col in columns.items()}
        got = {(w.row, w.col, repr(w.value)) for w in computed_writes(table, wanted, "en")}
        expected = {(row.row, col + 1, repr(cell_value(wanted[row.row][key])))
                    for row in table.rows for key, col in columns.items()
                    if not same_value(cell_value(wanted[row.row][key]), row.cells[col])}
        assert got == expected


def test_every_row_naming_the_same_text_gets_what_the_first_one_got():
    """References are resolved once per text (validate._check_references): the second and
    later rows naming a text are resolved, warned or reported exactly as the first one."""
    from sheetcrm.i18n import using
    from sheetcrm.validate import read_crm
    from sheetcrm.workbook import Snapshot

    deals = [["ID", "Name", "Account", "Stage", "Amount", "Close Date", "Campaign"]]
    named = ["acme\u00a0corp", "ACC-0001", "Twin Co", "Nobody Inc", "ACME CORP", "acc-0001"]
    for n in range(24):
        deals.append([f"OPP-{n + 1:04d}", f"Deal {n}", named[n % len(named)], "Proposal", 100, "2026-12-15",
                      ("spring launch", "CMP-0001", "Autumn")[n % 3]])
    tabs = {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme Corp"], ["ACC-0002", "Twin Co"], ["ACC-0003", "Twin Co"]],
        "Campaigns": [["ID", "Name"], ["CMP-0001", "Spring Launch"]],
        "Opportunities": deals,
    }
    with using("en"):
        crm = read_crm(Snapshot({t: Grid(rows) for t, rows in tabs.items()}), Config())
    account = {"acme\u00a0corp": "Acme Corp", "ACME CORP": "Acme Corp", "ACC-0001": "ACC-0001",
               "acc-0001": "ACC-0001"}
    records = {r.row: r.target for r in crm.tables["opportunities"].rows}
    issues = {(i.row, i.code) for i in crm.report.issues if i.tab == "Opportunities"}
    for n in range(24):
        row, text = n + 2, named[n % len(named)]
        if text in account:
            assert records[row].account == account[text], (row, text)
        elif text == "Twin Co":
            assert (row, "ambiguous_reference") in issues
        else:
            assert (row, "unknown_account") in issues
        campaign = ("spring launch", "CMP-0001", "Autumn")[n % 3]
        if campaign == "Autumn":
            assert (row, "unknown_campaign") in issues
        else:
            assert records[row].campaign == "Spring Launch", (row, campaign)  # a campaign resolves to its name
