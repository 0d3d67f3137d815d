"""Stage History and Days in Stage through real syncs of an .xlsx workbook: amounts in the base
currency, same-day changes ordered by how they chain (not by the tab's row order), the first
sync's Days in Stage, and a change dated after the sync's day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import openpyxl
import pytest

from books import xlsx_book
from sheetcrm.config import Config
from sheetcrm.steps.history import HISTORY_AFTER_SYNC, HISTORY_UNORDERED
from sheetcrm.sync import sync
from sheetcrm.workbook import CellWrite, Plan
from sheetcrm.workbook.xlsx import XlsxWorkbook

D = dt.date
ACCOUNTS = [["ID", "Name"], ["ACC-0001", "Acme"]]
HEADER = ["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date", "Created"]


def _book(tmp_path, deals: list[list], **tabs):
    if "Stage History" in tabs:
        # An earlier version's Stage History comes with what every version wrote: `_sheetcrm`
        # (without it, an unmarked tab of that name is the team's, owned.py).
        tabs = {"_sheetcrm": [["Key", "Value"], ["OPP", 1]], **tabs}
    return xlsx_book(tmp_path / "crm.xlsx", {"Accounts": ACCOUNTS, "Opportunities": [HEADER, *deals], **tabs})


def _stage(book, stage: str, row: int = 2) -> None:
    book.write(Plan(writes=[CellWrite("Opportunities", row, 5, stage)]))


def _column(book, header: str, row: int = 2):
    rows = book.read().tabs["Opportunities"].rows
    at = rows[0].index(header)
    return rows[row - 1][at] if at < len(rows[row - 1]) else None


def _day(value):
    return value.date() if isinstance(value, dt.datetime) else value


def _history(book) -> list[list]:
    """The Stage History rows (Opportunity, From, To, Changed At as a date, Amount)."""
    rows = [[*r, None, None, None, None, None][:5] for r in book.read().tabs["Stage History"].rows[1:]]
    return [[a, b, c, _day(d), e] for a, b, c, d, e in rows if any(v is not None for v in (a, b, c, d, e))]


def test_stage_history_amounts_are_in_the_base_currency_at_the_day_s_rates(tmp_path):
    deals = [["OPP-0001", "A1", "Acme", "Ana", "Negotiation", 1234.56, "EUR", D(2026, 3, 10), D(2026, 1, 1)],
             ["OPP-0002", "A2", "Acme", "Ana", "Negotiation", "¥ 500000", None, D(2026, 3, 10), D(2026, 1, 1)],
             ["OPP-0003", "A3", "Acme", "Ana", "Negotiation", 700, "GBP", D(2026, 3, 10), D(2026, 1, 1)],
             ["OPP-0004", "A4", "Acme", "Ana", "Negotiation", 99.5, None, D(2026, 3, 10), D(2026, 1, 1)]]
    book = _book(tmp_path, deals, Rates=[["Currency", "Rate"], ["EUR", 1.5], ["JPY", 0.0066]])
    outcome = sync(book, Config(), as_of=D(2026, 3, 15))
    amounts = {r[0]: r[4] for r in _history(book)}
    # 1234.56 EUR at 1.5 is $1,851.84; ¥500,000 at 0.0066 is $3,300; a blank Currency is the base's.
    assert amounts == {"OPP-0001": 1851.84, "OPP-0002": 3300, "OPP-0003": None, "OPP-0004": 99.5}
    # No GBP rate: the cell is empty, never 700 shown as $700; the deal's missing_rate warning says why.
    assert [i.row for i in outcome.crm.report.issues if i.code == "missing_rate"] == [4]
    # A later rate is not the day's rate: the row keeps what it said.
    book.write(Plan(writes=[CellWrite("Rates", 2, 2, 2)]))
    _stage(book, "Closed Won")
    sync(book, Config(), as_of=D(2026, 3, 16))
    rows = _history(book)
    assert [r[4] for r in rows if r[0] == "OPP-0001"] == [1851.84, 2469.12]


def test_stage_history_of_an_earlier_version_reads_as_it_is(tmp_path):
    """A tab an earlier version wrote (the deal's own amount, however its Currency) is read and
    kept as it is: its rows are facts of their day, not redone."""
    deals = [["OPP-0001", "A1", "Acme", "Ana", "Proposal", 1000, "EUR", D(2026, 3, 10), D(2026, 1, 1)]]
    old = [["Opportunity", "From", "To", "Changed At", "Amount"],
           ["OPP-0001", None, "Prospecting", D(2026, 2, 1), 1000]]
    book = _book(tmp_path, deals, **{"Stage History": old}, Rates=[["Currency", "Rate"], ["EUR", 1.5]])
    sync(book, Config(), as_of=D(2026, 3, 1))
    assert _history(book) == [["OPP-0001", None, "Prospecting", D(2026, 2, 1), 1000],
                              ["OPP-0001", "Prospecting", "Proposal", D(2026, 3, 1), 1500]]


def _sorted(book, title: str, key, reverse: bool = False) -> None:
    """A person sorts a history tab's rows (Sheets' "Sort sheet" on a column)."""
    width = len(book.read().tabs[title].rows[0])
    rows = [[*r, *[None] * width][:width] for r in book.read().tabs[title].rows[1:]]
    rows.sort(key=key, reverse=reverse)
    book.write(Plan(writes=[CellWrite(title, i, j, v) for i, r in enumerate(rows, start=2)
                            for j, v in enumerate(r, start=1)]))


def test_sorting_same_day_changes_is_not_a_change(tmp_path):
    book = _book(tmp_path, [["OPP-0001", "A1", "Acme", "Ana", "Prospecting", 1000, None, D(2026, 4, 10),
                             D(2026, 2, 1)]])
    sync(book, Config(), as_of=D(2026, 3, 1))
    _stage(book, "Proposal")
    sync(book, Config(), as_of=D(2026, 3, 5))       # 09:00
    _stage(book, "Negotiation")
    sync(book, Config(), as_of=D(2026, 3, 5))       # 09:05
    _sorted(book, "Stage History", key=lambda r: r[1] or "")     # by From, A to Z
    assert [r[2] for r in _history(book)] == ["Prospecting", "Negotiation", "Proposal"]
    before = _history(book)
    outcome = sync(book, Config(), as_of=D(2026, 3, 6))
    assert _history(book) == before                 # no stage changed: nothing logged
    assert _column(book, "Days in Stage") == 1      # in Negotiation since 2026-03-05
    assert not [i for i in outcome.crm.report.issues if i.code == HISTORY_UNORDERED]
    # The next real change follows Negotiation, wherever the sort put its row.
    _stage(book, "Closed Won")
    sync(book, Config(), as_of=D(2026, 3, 7))
    assert _history(book)[-1][:3] == ["OPP-0001", "Negotiation", "Closed Won"]


def test_sorting_same_day_lead_status_changes_is_not_a_change(tmp_path):
    leads = [["ID", "Last Name", "Company", "Status"], ["LEAD-0001", "Diaz", "Acme", "New"]]
    book = xlsx_book(tmp_path / "crm.xlsx", {"Leads": leads})

    def status(value: str) -> None:
        book.write(Plan(writes=[CellWrite("Leads", 2, 4, value)]))

    sync(book, Config(), as_of=D(2026, 3, 1))
    status("Contacted")
    sync(book, Config(), as_of=D(2026, 3, 5))
    status("Qualified")
    sync(book, Config(), as_of=D(2026, 3, 5))
    # By To, Z to A: Contacted→Qualified above New→Contacted.
    _sorted(book, "Lead Status History", key=lambda r: r[2] or "", reverse=True)
    assert [r[2] for r in book.read().tabs["Lead Status History"].rows[1:]] == ["Qualified", "New", "Contacted"]
    before = [list(r) for r in book.read().tabs["Lead Status History"].rows]
    sync(book, Config(), as_of=D(2026, 3, 6))
    assert [list(r) for r in book.read().tabs["Lead Status History"].rows] == before


def test_same_day_rows_that_do_not_chain_are_said_not_guessed(tmp_path):
    """Two rows of one day that both start from Prospecting (a person typed one): which came
    last cannot be told. No change is logged while the deal is in either, and the sync says so."""
    deals = [["OPP-0001", "A1", "Acme", "Ana", "Proposal", 1000, None, D(2026, 4, 10), D(2026, 2, 1)]]
    old = [["Opportunity", "From", "To", "Changed At", "Amount"],
           ["OPP-0001", None, "Prospecting", D(2026, 3, 1), 1000],
           ["OPP-0001", "Prospecting", "Proposal", D(2026, 3, 5), 1000],
           ["OPP-0001", "Prospecting", "Negotiation", D(2026, 3, 5), 1000]]
    book = _book(tmp_path, deals, **{"Stage History": old})
    outcome = sync(book, Config(), as_of=D(2026, 3, 6))
    assert len(_history(book)) == 3
    [issue] = [i for i in outcome.crm.report.issues if i.code == HISTORY_UNORDERED]
    assert (issue.tab, issue.row, issue.column, issue.severity) == ("Stage History", 3, "C", "warning")
    assert "Negotiation, Proposal" in issue.message
    _stage(book, "Closed Won")
    sync(book, Config(), as_of=D(2026, 3, 7))
    assert _history(book)[-1][:4] == ["OPP-0001", None, "Closed Won", D(2026, 3, 7)]


def test_the_first_sync_counts_days_in_stage_from_created(tmp_path):
    deals = [["OPP-0001", "A1", "Acme", "Ana", "Negotiation", 1000, None, D(2026, 4, 10), D(2026, 1, 1)],
             ["OPP-0002", "A2", "Acme", "Ana", "Negotiation", 1000, None, D(2026, 4, 10), None]]
    book = _book(tmp_path, deals)
    sync(book, Config(), as_of=D(2026, 3, 1))
    # Created 59 days before with no activity: idle since then at most, and Negotiation rots after 7.
    assert (_column(book, "Days in Stage"), _column(book, "Rotting")) == (59, "yes")
    # No Created: sheetcrm knows it in Negotiation since it first saw it, today.
    assert _column(book, "Days in Stage", 3) == 0
    sync(book, Config(), as_of=D(2026, 3, 3))
    assert (_column(book, "Days in Stage"), _column(book, "Days in Stage", 3)) == (61, 2)
    # Once sheetcrm sees it move, the day it moved counts.
    _stage(book, "Closed Won")
    sync(book, Config(), as_of=D(2026, 3, 4))
    assert _column(book, "Days in Stage") == 0


def test_a_change_dated_after_the_sync_s_day_leaves_days_in_stage_empty_and_is_said(tmp_path):
    book = _book(tmp_path, [["OPP-0001", "A1", "Acme", "Ana", "Prospecting", 1000, None, D(2026, 4, 10),
                             D(2026, 2, 1)]])
    sync(book, Config(), as_of=D(2026, 3, 1))
    _stage(book, "Proposal")
    sync(book, Config(), as_of=D(2026, 3, 16))       # a laptop already on the 16th
    outcome = sync(book, Config(), as_of=D(2026, 3, 15))  # a server in UTC, still on the 15th
    assert _column(book, "Days in Stage") is None
    [issue] = [i for i in outcome.crm.report.issues if i.code == HISTORY_AFTER_SYNC]
    assert (issue.tab, issue.row, issue.column, issue.value) == ("Stage History", 3, "D", D(2026, 3, 16))
    # A change on the 15th follows the one logged on the 16th: dated the 16th, so it sorts after
    # it, and the next sync finds nothing new.
    _stage(book, "Negotiation")
    sync(book, Config(), as_of=D(2026, 3, 15))
    assert _history(book)[-1][:4] == ["OPP-0001", "Proposal", "Negotiation", D(2026, 3, 16)]
    assert not sync(book, Config(), as_of=D(2026, 3, 15)).plan
    sync(book, Config(), as_of=D(2026, 3, 17))
    assert _column(book, "Days in Stage") == 1


def test_an_id_retyped_in_another_case_continues_its_history(tmp_path):
    """IDs compare as references do (`cells.match_key`): "opp-0001" retyped over OPP-0001 is the
    same deal, so its history goes on (no new first row, Days in Stage not restarted from
    Created, no false Rotting); the new row names the ID as the deal's row spells it now."""
    book = _book(tmp_path, [["OPP-0001", "A1", "Acme", "Ana", "Prospecting", 1000, None, D(2026, 6, 1),
                             D(2026, 2, 1)]])
    sync(book, Config(), as_of=D(2026, 3, 1))
    book.write(Plan(writes=[CellWrite("Opportunities", 2, 1, "opp-0001")]))
    outcome = sync(book, Config(), as_of=D(2026, 3, 2))
    assert len(_history(book)) == 1                  # the same stage: nothing logged
    assert _column(book, "Days in Stage") == 29      # first seen with an empty From: from Created
    _stage(book, "Negotiation")
    sync(book, Config(), as_of=D(2026, 3, 20))
    assert _history(book) == [["OPP-0001", None, "Prospecting", D(2026, 3, 1), 1000],
                              ["opp-0001", "Prospecting", "Negotiation", D(2026, 3, 20), 1000]]
    assert (_column(book, "Days in Stage"), _column(book, "Rotting")) == (0, None)
    assert not [i for i in outcome.crm.report.issues if i.tab in ("Opportunities", "Stage History")]


def test_a_lead_id_retyped_in_another_case_continues_its_status_history(tmp_path):
    leads = [["ID", "Last Name", "Company", "Status"], ["LEAD-0001", "Diaz", "Acme", "New"]]
    book = xlsx_book(tmp_path / "crm.xlsx", {"Leads": leads})
    sync(book, Config(), as_of=D(2026, 3, 1))
    book.write(Plan(writes=[CellWrite("Leads", 2, 1, "Lead-0001"), CellWrite("Leads", 2, 4, "Contacted")]))
    sync(book, Config(), as_of=D(2026, 3, 5))
    rows = [r[:3] for r in book.read().tabs["Lead Status History"].rows[1:]]
    assert rows == [["LEAD-0001", None, "New"], ["Lead-0001", "New", "Contacted"]]


def test_a_created_day_after_the_sync_s_day_is_said_at_its_cell(tmp_path):
    # Found by a tester: Created 2026-06-01 on a sync of 2026-03-20 gave Days in Stage 0 and a
    # lead Created in 2027 nothing at all, without a word; a change dated after the sync is said
    # (above), and a record made in the future is the same impossibility.
    leads = [["ID", "First Name", "Last Name", "Company", "Email", "Status", "Created"],
             ["LEAD-0001", "A", "B", "C", "a@c.com", "New", D(2027, 1, 1)],
             ["LEAD-0002", "D", "E", "F", "d@f.com", "New", D(2026, 3, 20)]]
    book = _book(tmp_path, [["OPP-0001", "A1", "Acme", "Ana", "Proposal", 1000, None, D(2026, 4, 10), D(2026, 6, 1)],
                            ["OPP-0002", "A2", "Acme", "Ana", "Proposal", 1000, None, D(2026, 4, 10), D(2026, 3, 1)]],
                 Leads=leads)
    outcome = sync(book, Config(), as_of=D(2026, 3, 20))
    said = [(i.tab, i.row, i.column, i.value) for i in outcome.crm.report.issues if i.code == "created_after_sync"]
    assert said == [("Leads", 2, "G", D(2027, 1, 1)), ("Opportunities", 2, "I", D(2026, 6, 1))]
    assert _column(book, "Days in Stage", 3) == 19
    # The day comes: nothing left to say.
    later = sync(book, Config(), as_of=D(2027, 1, 1))
    assert [i for i in later.crm.report.issues if i.code == "created_after_sync"] == []


def test_a_won_deal_closed_after_the_sync_s_day_is_said_at_its_close_date(tmp_path):
    # A rep sets Closed Won and leaves the expected Close Date: the Forecast counted its revenue
    # as won in a month to come (that month's attainment, not this one's) without a word.
    book = _book(tmp_path, [["OPP-0001", "A1", "Acme", "Ana", "Closed Won", 1000, None, D(2026, 5, 31), D(2026, 2, 1)],
                            ["OPP-0002", "A2", "Acme", "Ana", "Closed Won", 1000, None, D(2026, 3, 20), D(2026, 2, 1)],
                            ["OPP-0003", "A3", "Acme", "Ana", "Proposal", 1000, None, D(2026, 5, 31), D(2026, 2, 1)],
                            ["OPP-0004", "A4", "Acme", "Ana", "Closed Lost", 1000, None, D(2026, 5, 31), D(2026, 2, 1)]])
    outcome = sync(book, Config(), as_of=D(2026, 3, 20))
    said = [(i.tab, i.row, i.column, i.value, i.severity) for i in outcome.crm.report.issues
            if i.code == "won_after_sync"]
    assert said == [("Opportunities", 2, "H", D(2026, 5, 31), "warning")]
    assert "2026-05" in next(i.message for i in outcome.crm.report.issues if i.code == "won_after_sync")
    # Counted as it reads, never moved to a guessed day: May's closed won, not March's.
    forecast = {m.month: m.closed_won for m in outcome.results.forecast.months}
    assert (forecast["2026-03"], forecast["2026-05"]) == (Decimal(1000), Decimal(1000))
    later = sync(book, Config(), as_of=D(2026, 5, 31))
    assert [i for i in later.crm.report.issues if i.code == "won_after_sync"] == []


def test_a_change_from_a_stage_the_config_no_longer_names_is_said(tmp_path):
    """A stage renamed in sheetcrm.toml (and on the deals) without its old name as an alias: the
    history's last row names a stage the config does not know, so the deal is logged moving today
    and its Days in Stage starts again. That cannot be told from a real move: the sync says so."""
    deals = [["OPP-0001", "A1", "Acme", "Ana", "Proposal", 1000, None, D(2026, 6, 1), D(2026, 1, 1)],
             ["OPP-0002", "A2", "Acme", "Ana", "Negotiation", 1000, None, D(2026, 6, 1), D(2026, 1, 1)]]
    book = _book(tmp_path, deals)
    sync(book, Config(), as_of=D(2026, 3, 1))
    _stage(book, "Quote")
    _stage(book, "Closed Won", row=3)

    def renamed(aliases: list[str]) -> Config:
        return Config(stages=[s.model_copy(update={"name": "Quote", "aliases": aliases}) if s.name == "Proposal"
                              else s for s in Config().stages])

    outcome = sync(book, renamed([]), as_of=D(2026, 3, 10), dry_run=True)
    [issue] = [i for i in outcome.crm.report.issues if i.code == "history_unknown_from"]
    assert (issue.tab, issue.row, issue.column, issue.header, issue.value) == ("Stage History", 4, "B", "From",
                                                                                "Proposal")
    assert "OPP-0001" in issue.message and "aliases" in issue.hint
    # With the old name as an alias the history continues: no move logged, nothing to say.
    outcome = sync(book, renamed(["Proposal"]), as_of=D(2026, 3, 10))
    assert not [i for i in outcome.crm.report.issues if i.code == "history_unknown_from"]
    assert [r[:3] for r in _history(book)][2:] == [["OPP-0002", "Negotiation", "Closed Won"]]
    assert _column(book, "Days in Stage") == 68  # from Created, as before the rename (not 0)


def test_sorting_a_lead_status_history_that_does_not_chain_never_decides_a_conversion(tmp_path):
    """A lead's last day holds New -> Contacted and New -> Converted (a person typed one): whether
    it became Converted since cannot be told, whatever order the tab is sorted in, so its Status
    Converted asks nothing (no row is logged either); the Convert tick still does."""
    leads = [["ID", "First Name", "Last Name", "Company", "Email", "Status"],
             ["LEAD-0001", "Eva", "Diaz", "Acme", "eva@acme.com", "Converted"]]
    contacted = ["LEAD-0001", "New", "Contacted", D(2026, 3, 5)]
    converted = ["LEAD-0001", "New", "Converted", D(2026, 3, 5)]
    for n, day in enumerate(([contacted, converted], [converted, contacted])):
        book = xlsx_book(tmp_path / f"crm{n}.xlsx", {
            "Accounts": [["ID", "Name"]], "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"]],
            "Opportunities": [["ID", "Name", "Account", "Stage", "Amount"]], "Leads": leads,
            "_sheetcrm": [["Key", "Value"], ["LEAD", 1]],
            "Lead Status History": [["Lead", "From", "To", "Changed At"], ["LEAD-0001", None, "New", D(2026, 3, 1)],
                                    *day]})
        outcome = sync(book, Config(), as_of=D(2026, 3, 6))
        assert [i.code for i in outcome.crm.report.issues if i.code == HISTORY_UNORDERED] == [HISTORY_UNORDERED]
        assert book.read().tabs["Accounts"].rows[1:] == [], f"sorted {n}: converted"


def test_a_history_tab_sorted_with_its_header_row_loses_no_change(tmp_path):
    """Sorted A to Z with the header row in the range (Excel's "My data has headers" unticked),
    or with the header row deleted: a change sits in row 1 and the header among the rows. Row 1
    is read as the change it is, never dropped as the header; the header's copy is no change."""
    import openpyxl

    deals = [["OPP-0001", "A1", "Acme", "Ana", "Prospecting", 1000, None, D(2026, 6, 1), D(2026, 1, 1)]]
    leads = [["ID", "Last Name", "Company", "Status"], ["LEAD-0001", "Diaz", "Acme", "New"]]
    book = _book(tmp_path, deals, Leads=leads)
    sync(book, Config(), as_of=D(2026, 3, 1))
    _stage(book, "Proposal")
    book.write(Plan(writes=[CellWrite("Leads", 2, 4, "Contacted")]))
    sync(book, Config(), as_of=D(2026, 3, 5))
    before = {t: book.read().tabs[t].rows for t in ("Stage History", "Lead Status History")}
    wb = openpyxl.load_workbook(book.path)
    for title, rows in before.items():  # sorted by the first column, header row included
        for r, row in enumerate(sorted(rows, key=lambda row: str(row[0])), 1):
            for c, value in enumerate(row, 1):
                wb[title].cell(r, c).value = value
    wb.save(book.path)
    outcome = sync(book, Config(), as_of=D(2026, 3, 6))
    assert {t: book.read().tabs[t].rows for t in before} == before
    assert not [i for i in outcome.crm.report.issues if i.code.startswith("history")]
    assert _column(book, "Days in Stage") == 1  # entered Proposal on 3/5: not first seen in it, from Created


def test_a_record_created_after_its_id_s_history_does_not_inherit_it(tmp_path):
    """A deleted deal's row typed again by hand for a new deal under the same ID: the history
    is the old deal's. It was logged moving "Closed Won" -> "Prospecting" (a reopened deal that
    never was) and, had its stage been the old one's, counted Days in Stage from the old deal's
    day, without a word. No deal is in a stage before its Created: the move is logged with an
    empty From, Days in Stage counts from Created, and the ID's cell says why."""
    deals = [["OPP-0001", "A1", "Acme", "Ana", "Negotiation", 1000, None, D(2026, 6, 1), D(2026, 1, 1)],
             ["OPP-0002", "A2", "Acme", "Ana", "Proposal", 500, None, D(2026, 6, 1), D(2026, 1, 1)]]
    leads = [["ID", "Last Name", "Company", "Status", "Created"], ["LEAD-0001", "Diaz", "Acme", "Unqualified",
                                                                    D(2026, 1, 1)]]
    book = _book(tmp_path, deals, Leads=leads)
    sync(book, Config(), as_of=D(2026, 2, 27))
    _stage(book, "Closed Won")
    sync(book, Config(), as_of=D(2026, 2, 28))
    new = ["OPP-0001", "C1", "Acme", "Bo", "Prospecting", 50, None, D(2026, 6, 1), D(2026, 3, 10)]
    again = ["OPP-0002", "C2", "Acme", "Bo", "Proposal", 70, None, D(2026, 6, 1), D(2026, 3, 10)]
    book.write(Plan(writes=[*(CellWrite("Opportunities", 2, c, v) for c, v in enumerate(new, 1)),
                            *(CellWrite("Opportunities", 3, c, v) for c, v in enumerate(again, 1)),
                            CellWrite("Leads", 2, 4, "New"), CellWrite("Leads", 2, 5, D(2026, 3, 10))]))
    outcome = sync(book, Config(), as_of=D(2026, 3, 20))
    assert _history(book)[-1] == ["OPP-0001", None, "Prospecting", D(2026, 3, 20), 50]
    assert book.read().tabs["Lead Status History"].rows[-1][:3] == ["LEAD-0001", None, "New"]
    # The same stage as the old deal's: nothing logged, and its days from its own Created.
    assert _column(book, "Days in Stage", 3) == 10
    said = [(i.tab, i.row, i.column, i.value) for i in outcome.crm.report.issues if i.code == "history_before_created"]
    assert said == [("Opportunities", 2, "A", "OPP-0001"), ("Opportunities", 3, "A", "OPP-0002"),
                    ("Leads", 2, "A", "LEAD-0001")]
    # Said where people look: on the Validation tab.
    shown = [r[1:4] for r in book.read().tabs["Validation"].rows if r[6] == "history_before_created"]
    assert shown == [["Opportunities", 2, "A"], ["Opportunities", 3, "A"], ["Leads", 2, "A"]]


def test_a_reused_id_s_old_deal_counts_as_its_own_in_the_historical_win_rates(tmp_path):
    """OPP-0001 was lost, its row deleted, and the ID typed again for a new deal (Created after
    the old rows) that was won. The Forecast's calibration read the ID's rows as one journey
    ending Won: Prospecting 100 % over 1 deal. Two deals passed Prospecting, one lost, one won."""
    book = _book(tmp_path, [["OPP-0001", "A1", "Acme", "Ana", "Prospecting", 1000, None, D(2026, 6, 1),
                             D(2026, 1, 1)]])
    sync(book, Config(), as_of=D(2026, 2, 1))
    _stage(book, "Closed Lost")
    sync(book, Config(), as_of=D(2026, 2, 10))
    new = ["OPP-0001", "C1", "Acme", "Bo", "Prospecting", 50, None, D(2026, 6, 1), D(2026, 3, 10)]
    book.write(Plan(writes=[CellWrite("Opportunities", 2, c, v) for c, v in enumerate(new, 1)]))
    sync(book, Config(), as_of=D(2026, 3, 20))
    _stage(book, "Closed Won")
    sync(book, Config(), as_of=D(2026, 3, 25))
    rows = book.read().tabs["Forecast"].rows
    calibration = rows[[r[:1] for r in rows].index(["Stage"]) + 1]
    assert calibration[:4] == ["Prospecting", 0.1, 0.5, 2]


def test_a_column_a_person_inserts_in_stage_history_is_theirs_and_the_log_reads_on(tmp_path):
    """A Note column inserted after Opportunity: read by position, every row was unreadable, each
    deal started again as first seen (Days in Stage 64 from Created, not 1), the note was written
    over. The columns are found by their headers; the note stays beside its row."""
    book = _book(tmp_path, [["OPP-0001", "A1", "Acme", "Ana", "Prospecting", 1000, None, D(2026, 4, 10),
                             D(2026, 1, 1)]])
    sync(book, Config(), as_of=D(2026, 3, 1))
    _stage(book, "Qualification")
    sync(book, Config(), as_of=D(2026, 3, 5))
    path = tmp_path / "crm.xlsx"
    wb = openpyxl.load_workbook(path)  # as a person does in Excel: a column inserted, a note typed
    wb["Stage History"].insert_cols(2)
    wb["Stage History"]["B1"], wb["Stage History"]["B2"] = "Note", "called them"
    wb.save(path)
    book = XlsxWorkbook(path)
    history = [["Opportunity", "Note", "From", "To", "Changed At", "Amount"],
               ["OPP-0001", "called them", None, "Prospecting", D(2026, 3, 1), 1000],
               ["OPP-0001", None, "Prospecting", "Qualification", D(2026, 3, 5), 1000]]
    assert _dated(book.read().tabs["Stage History"].rows) == history
    outcome = sync(book, Config(), as_of=D(2026, 3, 6))
    assert [i.code for i in outcome.crm.report.issues if i.tab == "Stage History"] == []
    assert _column(book, "Days in Stage") == 1
    assert _dated(book.read().tabs["Stage History"].rows) == history
    _stage(book, "Proposal")
    book.write(Plan(writes=[CellWrite("Stage History", 4, c, v)
                            for c, v in enumerate(["OPP-0001", "typed", None, "Lost?", "soon"], 1)]))
    outcome = sync(book, Config(), as_of=D(2026, 3, 9))
    assert _column(book, "Days in Stage") == 0
    # The formats follow the columns: a date on Changed At (E), money on Amount (F), none on To.
    kinds = {f.col: {r[2].type for r in f.rows} for f in outcome.plan.formats if f.tab == "Stage History"}
    assert (kinds[4], kinds[5], kinds[6]) == (set(), {"DATE"}, {"CURRENCY"})
    rows = _dated(book.read().tabs["Stage History"].rows)
    assert rows[:3] == history
    assert rows[3] == ["OPP-0001", None, "Qualification", "Proposal", D(2026, 3, 9), 1000]
    assert rows[4][:5] == ["OPP-0001", "typed", None, "Lost?", "soon"]
    [issue] = [i for i in outcome.crm.report.issues if i.tab == "Stage History"]
    assert (issue.code, issue.row, issue.column, issue.header, issue.value) == (
        "history_row_unread", 5, "E", "Changed At", "soon")
    assert not sync(book, Config(), as_of=D(2026, 3, 9)).plan


def _dated(rows: list[list]) -> list[list]:
    return [[_day(v) for v in row] for row in rows]


@pytest.mark.parametrize(("deleted", "header"), [("B", "From"), ("D", "Changed At"), ("E", "Amount")])
def test_a_column_a_person_deletes_from_stage_history_is_said_and_no_cell_is_read_as_another(tmp_path, deleted,
                                                                                            header):
    """Read by position after a deletion, each cell landed in the field before it: From deleted,
    the dates were read as the To stage (rewritten as the text "2026-03-01") and the amounts as
    the day (1000: 1902); Changed At deleted, Days in Stage 64 and Rotting "yes" instead of 1.
    Now the tab is not read nor written until the column is back, and says so at its header."""
    book = _book(tmp_path, [["OPP-0001", "A1", "Acme", "Ana", "Prospecting", 1000, None, D(2026, 4, 10),
                             D(2026, 1, 1)]])
    sync(book, Config(), as_of=D(2026, 3, 1))
    _stage(book, "Qualification")
    sync(book, Config(), as_of=D(2026, 3, 5))
    path = tmp_path / "crm.xlsx"
    wb = openpyxl.load_workbook(path)
    column = openpyxl.utils.column_index_from_string(deleted)
    kept = [[c.value for c in row] for row in wb["Stage History"].iter_cols(min_col=column, max_col=column)][0]
    wb["Stage History"].delete_cols(column)
    wb.save(path)
    book = XlsxWorkbook(path)
    left = book.read().tabs["Stage History"].rows
    outcome = sync(book, Config(), as_of=D(2026, 3, 6))
    issues = [i for i in outcome.crm.report.issues if i.tab == "Stage History" or i.code == "history_before_created"]
    assert [(i.code, i.row, i.column) for i in issues] == [("history_column_gone", 1, None)]
    assert f'"{header}"' in issues[0].message
    # Not known, so empty: never counted from Created (64) nor said rotting.
    assert _column(book, "Days in Stage") is None and _column(book, "Rotting") is None
    assert book.read().tabs["Stage History"].rows == left  # the person's rows, as they left them
    assert [r[1:4] + r[6:7] for r in book.read().tabs["Validation"].rows if r[6] == "history_column_gone"] == [
        ["Stage History", 1, None, "history_column_gone"]]
    assert not sync(book, Config(), as_of=D(2026, 3, 6)).plan
    wb = openpyxl.load_workbook(path)  # the column put back, as the hint says
    wb["Stage History"].insert_cols(column)
    for row, value in enumerate(kept, 1):
        wb["Stage History"].cell(row, column, value)
    wb.save(path)
    book = XlsxWorkbook(path)
    outcome = sync(book, Config(), as_of=D(2026, 3, 7))
    assert [i.code for i in outcome.crm.report.issues if i.tab == "Stage History"] == []
    assert _column(book, "Days in Stage") == 2
    assert len(_history(book)) == 2


def test_a_column_deleted_from_lead_status_history_is_said_in_spanish_and_the_tab_kept(tmp_path):
    leads = [["ID", "Name", "Email", "Status", "Created"], ["LEAD-0001", "Bo", "bo@example.com", "New", D(2026, 1, 1)]]
    book = xlsx_book(tmp_path / "crm.xlsx", {"Accounts": ACCOUNTS, "Opportunities": [HEADER], "Leads": leads})
    sync(book, Config(), as_of=D(2026, 3, 1))
    book.write(Plan(writes=[CellWrite("Leads", 2, 4, "Contacted")]))
    sync(book, Config(), as_of=D(2026, 3, 5))
    path = tmp_path / "crm.xlsx"
    wb = openpyxl.load_workbook(path)
    wb["Lead Status History"].delete_cols(3)  # To
    wb.save(path)
    book = XlsxWorkbook(path)
    left = book.read().tabs["Lead Status History"].rows
    book.write(Plan(writes=[CellWrite("Leads", 2, 4, "Qualified")]))
    outcome = sync(book, Config(locale="es"), as_of=D(2026, 3, 6))
    [issue] = [i for i in outcome.crm.report.issues if i.tab == "Lead Status History"]
    assert (issue.code, issue.row) == ("history_column_gone", 1)
    assert issue.message.startswith('La fila 1 no tiene la columna "A"') and issue.hint.startswith("Deshaz")
    assert book.read().tabs["Lead Status History"].rows == left


def test_a_change_from_an_unknown_stage_is_said_on_its_own_day_not_today(tmp_path):
    """The change follows a row another computer dated after this sync's day, so it is dated that
    day: the warning said "today" (2026-03-10) of a row dated 2026-03-12."""
    book = _book(tmp_path, [["OPP-0001", "A1", "Acme", "Ana", "Proposal", 1000, None, D(2026, 6, 1), D(2026, 1, 1)]])
    sync(book, Config(), as_of=D(2026, 3, 12))
    _stage(book, "Quote")
    renamed = Config(stages=[s.model_copy(update={"name": "Quote"}) if s.name == "Proposal" else s
                             for s in Config().stages])
    for locale, day in (("en", "on 2026-03-12"), ("es", "el 2026-03-12")):
        outcome = sync(book, renamed.model_copy(update={"locale": locale}), as_of=D(2026, 3, 10), dry_run=True)
        [issue] = [i for i in outcome.crm.report.issues if i.code == "history_unknown_from"]
        assert day in issue.message and "today" not in issue.message and "hoy" not in issue.message


@pytest.mark.parametrize("edit", ["amount deleted", "from copied", "header retyped", "sorted, from deleted"])
def test_a_stage_history_column_row_1_cannot_place_is_said_and_nothing_of_it_read_or_written(tmp_path, edit):
    """Amount deleted with the person's Note after it: Note moved into Amount's place, was read as
    the Amount ("called them": row unread) and its header written over with "Amount". From copied
    next to itself: every row unread, Days in Stage 64 from Created, Rotting "yes", the header
    rewritten over the copy. A header retyped cannot be told from either. Sorted with its header
    row, then From deleted: the header row was not row 1, so the dates were read as To again. Now each is said at row
    1 and the tab kept as it is; a header only cleared over its cells still reads."""
    book = _book(tmp_path, [["OPP-0001", "A1", "Acme", "Ana", "Prospecting", 1000, None, D(2026, 4, 10),
                             D(2026, 1, 1)]])
    sync(book, Config(), as_of=D(2026, 3, 1))
    _stage(book, "Qualification")
    book.write(Plan(writes=[CellWrite("Stage History", 1, 6, "Note"), CellWrite("Stage History", 2, 6, "called them")]))
    sync(book, Config(), as_of=D(2026, 3, 5))
    path = tmp_path / "crm.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb["Stage History"]
    if edit == "amount deleted":
        ws.delete_cols(5)
    elif edit == "from copied":
        ws.insert_cols(2)
        for row in range(1, 4):
            ws.cell(row, 2, ws.cell(row, 3).value)
    elif edit == "header retyped":
        ws["D1"] = "Date"
    else:  # sorted with its header row in the range (the header last), then From deleted
        rows = [[c.value for c in row] for row in ws.iter_rows()]
        for r, row in enumerate([*rows[1:], rows[0]], 1):
            for c, value in enumerate(row, 1):
                ws.cell(r, c, value)
        ws.delete_cols(2)
    wb.save(path)
    book = XlsxWorkbook(path)
    left = book.read().tabs["Stage History"].rows
    outcome = sync(book, Config(), as_of=D(2026, 3, 6))
    assert [(i.code, i.row) for i in outcome.crm.report.issues if i.tab == "Stage History"] == [
        ("history_column_gone", 1)]
    assert book.read().tabs["Stage History"].rows == left
    assert _column(book, "Days in Stage") is None and _column(book, "Rotting") is None
    if edit == "header retyped":  # cleared instead: its cells are still under it, read as they are
        book.write(Plan(writes=[CellWrite("Stage History", 1, 4, None)]))
        outcome = sync(book, Config(), as_of=D(2026, 3, 6))
        assert [i.code for i in outcome.crm.report.issues if i.tab == "Stage History"] == []
        assert _column(book, "Days in Stage") == 1
        assert book.read().tabs["Stage History"].rows[0] == ["Opportunity", "From", "To", "Changed At", "Amount",
                                                              "Note"]


@pytest.mark.parametrize(("deleted", "said"), [(2, '"To", "Changed At"'), (3, '"To", "Changed At"'), (4, '"Changed At"'), (None, None)])
def test_a_history_tab_without_its_header_row_and_a_column_is_said_not_read_shifted(tmp_path, deleted, said):
    """The header row deleted, then From (To, Changed At) deleted: with no header to place the
    columns, the tab was read by position, each date taken as the To stage and rewritten as the
    text "2026-03-01", an amount 1000 as Changed At (1902-09-26), Days in Stage 64 and Rotting
    "yes", said only as a misleading history_before_created. Now it is said at row 1 like a
    column gone, nothing of it read nor written, and the left-out deal's warning no longer
    says its changes are logged. The header row alone deleted still reads by position."""
    deals = [["OPP-0001", "A1", "Acme", "Ana", "Prospecting", 1000, None, D(2026, 4, 10), D(2026, 1, 1)],
             ["OPP-0002", "A2", "Acme", "Ana", "Prospecting", "lots", None, D(2026, 4, 10), D(2026, 1, 1)]]
    book = _book(tmp_path, deals)
    sync(book, Config(), as_of=D(2026, 3, 1))
    _stage(book, "Qualification")
    sync(book, Config(), as_of=D(2026, 3, 5))
    path = tmp_path / "crm.xlsx"
    wb = openpyxl.load_workbook(path)
    wb["Stage History"].delete_rows(1)
    if deleted:
        wb["Stage History"].delete_cols(deleted)
    wb.save(path)
    book = XlsxWorkbook(path)
    left = book.read().tabs["Stage History"].rows
    outcome = sync(book, Config(), as_of=D(2026, 3, 6))
    issues = [i for i in outcome.crm.report.issues if i.tab == "Stage History" or i.code == "history_before_created"]
    [out] = [i.message for i in outcome.crm.report.issues if i.code == "left_out"]
    if deleted is None:
        assert issues == [] and _column(book, "Days in Stage") == 1
        assert "still logged in Stage History" in out
        return
    assert [(i.code, i.row, i.column) for i in issues] == [("history_column_gone", 1, None)]
    assert issues[0].message.startswith("This tab has no header row") and f"({said} hold" in issues[0].message
    assert book.read().tabs["Stage History"].rows == left
    assert _column(book, "Days in Stage") is None and _column(book, "Rotting") is None
    assert "no stage change is logged while Stage History is not read" in out and "still logged" not in out
    assert not sync(book, Config(), as_of=D(2026, 3, 6)).plan
    es = sync(book, Config(locale="es"), as_of=D(2026, 3, 6), dry_run=True).crm.report.issues
    [gone] = [i for i in es if i.code == "history_column_gone"]
    [out] = [i.message for i in es if i.code == "left_out"]
    assert gone.message.startswith("Esta pestaña no tiene fila de encabezados") and gone.hint.startswith("Deshaz")
    assert "mientras no se lea el Historial de etapas" in out


def test_a_history_tab_without_its_header_row_keeps_a_first_row_it_cannot_read(tmp_path):
    """The header row deleted, and the change now on row 1 with its Changed At damaged ("soon"):
    it was taken for the header, skipped, and written over with the header, the row lost
    without a word. It is a row like any other: kept, after the rows that read, and said. A
    headerless Lead Status History whose last column, Changed At, was deleted is said too,
    never each lead logged again as first seen today."""
    book = _book(tmp_path, [["OPP-0001", "A1", "Acme", "Ana", "Prospecting", 1000, None, D(2026, 4, 10),
                             D(2026, 1, 1)]], Leads=[["ID", "Last Name", "Company", "Status"],
                                                     ["LEAD-0001", "Diaz", "Acme", "New"]])
    sync(book, Config(), as_of=D(2026, 3, 1))
    _stage(book, "Qualification")
    book.write(Plan(writes=[CellWrite("Leads", 2, 4, "Contacted")]))
    sync(book, Config(), as_of=D(2026, 3, 5))
    path = tmp_path / "crm.xlsx"
    wb = openpyxl.load_workbook(path)
    wb["Stage History"].delete_rows(1)
    wb["Stage History"]["D1"] = "soon"
    wb["Lead Status History"].delete_rows(1)
    wb["Lead Status History"].delete_cols(4)
    wb.save(path)
    book = XlsxWorkbook(path)
    leads = book.read().tabs["Lead Status History"].rows
    outcome = sync(book, Config(), as_of=D(2026, 3, 6))
    rows = _dated(book.read().tabs["Stage History"].rows)
    assert rows[0] == ["Opportunity", "From", "To", "Changed At", "Amount"]
    assert ["OPP-0001", None, "Prospecting", "soon", 1000] in rows
    [unread] = [i for i in outcome.crm.report.issues if i.code == "history_row_unread"]
    assert (unread.tab, unread.column, unread.value) == ("Stage History", "D", "soon")
    assert [(i.code, i.row) for i in outcome.crm.report.issues if i.tab == "Lead Status History"] == [
        ("history_column_gone", 1)]
    assert book.read().tabs["Lead Status History"].rows == leads


@pytest.mark.parametrize("deleted", [None, 1, 3])
def test_a_google_history_tab_without_its_header_row_reads_its_days_as_serials_and_says_a_shift(emu, deleted):
    """On Google a Changed At comes as its serial number (46086): the header row alone deleted,
    the tab still reads; From or Changed At deleted too, it is said, nothing read nor written."""
    from sheetcrm.workbook.target import open_workbook

    key = emu.create_spreadsheet("CRM", {"Accounts": ACCOUNTS, "Opportunities": [
        HEADER, ["OPP-0001", "A1", "Acme", "Ana", "Prospecting", 1000, "", "2026-04-10", "2026-01-01"]]})

    def book():
        return open_workbook(Config(), spreadsheet=key)
    sync(book(), Config(), as_of=D(2026, 3, 1))
    emu.set_cell(key, "Opportunities", "E2", "Qualification")
    sync(book(), Config(), as_of=D(2026, 3, 5))
    emu.delete_rows(key, "Stage History", 0)
    if deleted is not None:
        emu.apply(key, [{"deleteDimension": {"range": {"sheetId": emu.sheet_id(key, "Stage History"),
                                                       "dimension": "COLUMNS", "startIndex": deleted,
                                                       "endIndex": deleted + 1}}}])
    left = emu.values(key, "Stage History")
    outcome = sync(book(), Config(), as_of=D(2026, 3, 6))
    said = [i.code for i in outcome.crm.report.issues if i.tab == "Stage History"]
    rows = book().read().tabs["Opportunities"].rows
    days = dict(zip(rows[0], rows[1])).get("Days in Stage")
    if deleted is None:
        assert said == [] and days == 1
    else:
        assert said == ["history_column_gone"] and days is None and emu.values(key, "Stage History") == left
