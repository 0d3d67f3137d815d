"""A stage (or lead status) change is logged the day a sync sees it, even on a row with another
bad cell: the row is left out of totals until fixed, but its stage read, so its history is a
fact of that day. Found by a tester: a deal moved to Negotiation while its Amount read "1000 abc"
was logged only when the Amount was fixed two weeks later, dated that day, its Days in Stage 0
and never rotting; a deal won with a mistyped Account appeared won on the day it was fixed."""

from __future__ import annotations

import datetime as dt

from books import xlsx_book
from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook import CellWrite, Plan

D = dt.date
ACCOUNTS = [["ID", "Name"], ["ACC-0001", "Acme"]]
HEADER = ["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date", "Created"]


def _history(book, title: str = "Stage History") -> list[list]:
    width = len(book.read().tabs[title].rows[0])
    rows = [[*r, *[None] * width][:width] for r in book.read().tabs[title].rows[1:]]
    return [[v.date() if isinstance(v, dt.datetime) else v for v in r] for r in rows if any(r)]


def _column(book, header: str, row: int):
    rows = book.read().tabs["Opportunities"].rows
    at = rows[0].index(header)
    return rows[row - 1][at] if at < len(rows[row - 1]) else None


def _set(book, tab: str, *cells: tuple[int, int, object]) -> None:
    book.write(Plan(writes=[CellWrite(tab, r, c, v) for r, c, v in cells]))


def test_a_stage_change_on_a_row_with_another_bad_cell_is_dated_the_day_it_is_seen(tmp_path):
    deals = [["OPP-0001", "A1", "Acme", "Ana", "Proposal", 1000, None, D(2027, 3, 1), D(2026, 12, 1)],
             ["OPP-0002", "A2", "Acme", "Ana", "Proposal", 1000, None, D(2027, 3, 1), D(2026, 12, 1)],
             ["OPP-0003", "A3", "Acme", "Ana", "Proposal", 1000, "EUR", D(2027, 3, 1), D(2026, 12, 1)],
             ["OPP-0004", "A4", "Acme", "Ana", "Proposal", 1000, None, D(2027, 3, 1), D(2026, 12, 1)]]
    book = xlsx_book(tmp_path / "crm.xlsx", {"Accounts": ACCOUNTS, "Opportunities": [HEADER, *deals],
                                             "Rates": [["Currency", "Rate"], ["EUR", 2]]})
    sync(book, Config(), as_of=D(2027, 1, 4))
    # Jan 6: OPP-0001 to Negotiation with an Amount that cannot be read; OPP-0002 won with a
    # mistyped Account; OPP-0003 to Negotiation with a Currency that cannot be read (its amount
    # must not be taken for dollars); OPP-0004 to Negotiation with its Name cleared (a required
    # cell: not even the row's reference target can be made).
    _set(book, "Opportunities", (2, 5, "Negotiation"), (2, 6, "1000 abc"), (3, 5, "Closed Won"), (3, 3, "Acmee"),
         (4, 5, "Negotiation"), (4, 7, "EURO?"), (5, 5, "Negotiation"), (5, 2, None))
    outcome = sync(book, Config(), as_of=D(2027, 1, 6))
    assert {i.row for i in outcome.crm.report.issues if i.tab == "Opportunities" and i.severity == "error"} \
        == {2, 3, 4, 5}
    # Each change on its day; an Amount (or Currency) that cannot be read leaves the row's
    # Amount empty, never guessed; a readable one is kept (OPP-0002's, OPP-0004's).
    assert _history(book)[4:] == [["OPP-0001", "Proposal", "Negotiation", D(2027, 1, 6), None],
                                  ["OPP-0002", "Proposal", "Closed Won", D(2027, 1, 6), 1000],
                                  ["OPP-0003", "Proposal", "Negotiation", D(2027, 1, 6), None],
                                  ["OPP-0004", "Proposal", "Negotiation", D(2027, 1, 6), 1000]]
    # Still left out of every total until fixed: no Days in Stage on the bad rows.
    assert [_column(book, "Days in Stage", r) for r in (2, 3, 4, 5)] == [None] * 4
    # Fixed on Jan 20: nothing more to log, and Days in Stage counts from Jan 6.
    _set(book, "Opportunities", (2, 6, 1000), (3, 3, "Acme"), (4, 7, "EUR"), (5, 2, "A4"))
    sync(book, Config(), as_of=D(2027, 1, 20))
    assert len(_history(book)) == 8
    assert [_column(book, "Days in Stage", r) for r in (2, 4, 5)] == [14, 14, 14]


def test_a_row_whose_stage_cannot_be_read_logs_nothing_and_one_whose_id_is_shared_is_not_taken(tmp_path):
    deals = [["OPP-0001", "A1", "Acme", "Ana", "Proposal", 1000, None, D(2027, 3, 1), D(2026, 12, 1)],
             ["OPP-0002", "A2", "Acme", "Ana", "Proposal", 1000, None, D(2027, 3, 1), D(2026, 12, 1)]]
    book = xlsx_book(tmp_path / "crm.xlsx", {"Accounts": ACCOUNTS, "Opportunities": [HEADER, *deals]})
    sync(book, Config(), as_of=D(2027, 1, 4))
    # A stage no one configured; and a third row typed with OPP-0002's ID and another stage:
    # which row is OPP-0002 cannot be told from the bad one, so the sound row's stage stands.
    _set(book, "Opportunities", (2, 5, "Negociating"),
         *((4, c, v) for c, v in enumerate(["OPP-0002", "A2b", "Acme", "Ana", "Closed Lost", 5, None], 1)))
    sync(book, Config(), as_of=D(2027, 1, 6))
    assert len(_history(book)) == 2


def test_a_lead_status_change_on_a_row_with_another_bad_cell_is_dated_the_day_it_is_seen(tmp_path):
    leads = [["ID", "Last Name", "Company", "Email", "Status"],
             ["LEAD-0001", "Diaz", "Acme", "ana@acme.com", "New"],
             ["LEAD-0002", "Ruiz", "Beta", "rui@beta.com", "New"]]
    book = xlsx_book(tmp_path / "crm.xlsx", {"Leads": leads})
    sync(book, Config(), as_of=D(2027, 1, 4))
    # A bad email beside the new status; and a lead whose every name cell is cleared, so no
    # target can be made (a lead needs a Last Name, a Company or an Email): its status still reads.
    _set(book, "Leads", (2, 4, "ana@@acme"), (2, 5, "Contacted"), (3, 2, None), (3, 3, None), (3, 4, None),
         (3, 5, "Qualified"))
    outcome = sync(book, Config(), as_of=D(2027, 1, 6))
    assert {i.row for i in outcome.crm.report.issues if i.tab == "Leads" and i.severity == "error"} == {2, 3}
    assert [r[:4] for r in _history(book, "Lead Status History")[2:]] == [
        ["LEAD-0001", "New", "Contacted", D(2027, 1, 6)], ["LEAD-0002", "New", "Qualified", D(2027, 1, 6)]]
    _set(book, "Leads", (2, 4, "ana@acme.com"), (3, 2, "Ruiz"))
    sync(book, Config(), as_of=D(2027, 1, 20))
    assert len(_history(book, "Lead Status History")) == 4


def test_the_left_out_warning_says_a_lead_whose_id_another_row_has_is_not_logged(monkeypatch):
    # Both rows of a shared ID are left out (duplicate_id at both), and neither's status change
    # is logged: which lead changed cannot be told. The warning said every bad row's changes
    # were "still logged in Lead Status History".
    from sheetcrm.engine import history_states
    from sheetcrm.validate import read_crm
    from sheetcrm.workbook import Grid, Snapshot

    monkeypatch.setenv("SHEETCRM_LANG", "en")
    leads = [["ID", "Last Name", "Company", "Email", "Status"],
             ["LEAD-0001", "Diaz", "Acme", "ana@@acme", "Contacted"],
             ["LEAD-0002", "Ruiz", "Beta", "rui@beta.com", "Contacted"],
             ["LEAD-0002", "Gil", "Gamma", "gil@gamma.com", "Qualified"]]
    crm = read_crm(Snapshot({"Leads": Grid(leads)}), Config())
    assert set(history_states(crm, "leads")) == {"LEAD-0001"}
    said = next(i.message for i in crm.report.issues if i.code == "left_out")
    assert ("(their status changes are still logged in Lead Status History, except those of LEAD-0002 (row 3), "
            "LEAD-0002 (row 4): another row has the same ID, so which lead changed cannot be told)") in said
