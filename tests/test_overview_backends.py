"""The Accounts Overview through a real sync, on a real .xlsx file and on the Sheets emulator
(gspread over HTTP): the tab holds each account's row as the engine computes it (health, why,
suggested products), in English and in Spanish; a second sync writes nothing; a person's edit
of the tab is put back; the next day only the cells that moved are written; and no cell a
person wrote in the CRM's tabs changes."""

from __future__ import annotations

import datetime as dt

import pytest

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook import same_value
from sheetcrm.workbook.xlsx import XlsxWorkbook
from books import xlsx
from test_workflows import Book, _as_date

DAY = dt.date(2026, 12, 1)
HEADERS = ["Account", "Name", "Owner", "Contacts", "Open Deals", "Open Amount", "Won Revenue", "Last Activity",
           "Next Task Due", "Next Task", "Open Cases", "Urgent Cases", "Health", "Why", "Suggested Products",
           "Why Suggested"]


def _tabs() -> dict[str, list[list]]:
    won = [["OPP-0001", "Acme deal", "ACC-0001", "Closed Won", 5000, "2026-10-01"],
           ["OPP-0002", "Beta deal", "ACC-0002", "Closed Won", 3000, "2026-09-01"],
           ["OPP-0003", "Core deal", "ACC-0003", "Closed Won", 1000, "2026-08-01"]]
    return {
        "Accounts": [["ID", "Name", "Owner", "Status", "Notes"],
                     ["ACC-0001", "Acme", "Sam", "Customer", "key account"],
                     ["ACC-0002", "Beta", "Ana", "Customer", None],
                     ["ACC-0003", "Core", "Sam", "Customer", None],
                     ["ACC-0004", "Gone", "Ana", "Churned", None]],
        "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                     ["CON-0001", "ACC-0001", "Bo", "Li", "bo@acme.com"],
                     ["CON-0002", "Acme", "Di", "Wu", "di@acme.com"]],
        "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date"], *won,
                          ["OPP-0004", "Acme more", "ACC-0001", "Proposal", 2500, "2027-01-15"]],
        "Activities": [["ID", "Date", "Type", "Subject", "Related"],
                       ["ACT-0001", "2026-11-21", "Call", "hi", "CON-0001"],
                       ["ACT-0002", "2026-11-01", "Meeting", "review", "OPP-0004"],
                       ["ACT-0003", "2026-06-01", "Email", "old", "ACC-0003"]],
        "Tasks": [["ID", "Due", "Subject", "Related", "Status"],
                  ["TSK-0001", "2026-12-05", "Renewal call", "ACC-0001", "Open"],
                  ["TSK-0002", "2026-11-20", "Send quote", "ACC-0003", "Open"]],
        "Products": [["SKU", "Name", "Unit Price"], ["P-1", "Widget Pro", 100], ["P-2", "Support Plan", 50]],
        "Quote Lines": [["Opportunity", "SKU", "Quantity"], ["OPP-0001", "P-1", 1], ["OPP-0001", "P-2", 1],
                        ["OPP-0002", "P-1", 2], ["OPP-0002", "P-2", 1], ["OPP-0003", "P-1", 1]],
    }


PEOPLE = ("Accounts", "Contacts", "Opportunities", "Activities", "Tasks", "Products", "Quote Lines")
# Three baskets: {P-1, P-2} twice, {P-1} once. P-1→P-2: confidence 2/3, lift (2/3)/(2/3) = 1 < 1.2,
# so the defaults offer nothing; with min_lift = 1 Core is offered Support Plan.
CONFIG = Config.model_validate({"overview": {"suggestions": {"min_lift": 1}}})


@pytest.fixture(params=["xlsx", "google"])
def kind(request):
    return request.param


def _book(kind, tmp_path, request) -> Book:
    server = request.getfixturevalue("emu") if kind == "google" else None
    return Book(kind, tmp_path, server, _tabs())


def _dated(row: list) -> list:
    return [_as_date(v) if i in (7, 8) and v is not None else v for i, v in enumerate(row)]


def test_the_overview_tab_on_both_backends_idempotent_and_nothing_else_touched(kind, tmp_path, request):
    book = _book(kind, tmp_path, request)
    before = {tab: book.rows(tab) for tab in PEOPLE}
    book.sync(0, CONFIG)
    rows = book.rows("Accounts Overview")
    assert rows[0] == HEADERS
    body = {r[0]: _dated(r) for r in rows[1:]}
    assert list(body) == ["ACC-0001", "ACC-0002", "ACC-0003", "ACC-0004"]
    # Acme: 2 contacts (by ID and by name), the open deal, the won one; last activity 10 days
    # ago (Nov 21), 2 activities in 90 days; no overdue task. 30 + 40 × 0.5^(10/30) + 30 × 2/6 = 71.7
    assert body["ACC-0001"][:13] == ["ACC-0001", "Acme", "Sam", 2, 1, 2500, 5000, dt.date(2026, 11, 21),
                                     dt.date(2026, 12, 5), "Renewal call", None, None, 72]
    assert body["ACC-0001"][13] == "last activity 10 days ago +32; 2 activities in 90 days +10"
    # Core: quiet for 183 days, a task overdue: 30 + 40 × 0.5^(183/30) (0.6) − 5 = 25.6
    core = body["ACC-0003"]
    assert core[12:14] == [26, "1 overdue task -5; last activity 183 days ago +0.6"]
    assert core[14:] == ["Support Plan", "2 of 3 buyers of Widget Pro also bought Support Plan "
                                         "(of all customers, 2 of 3)"]
    assert body["ACC-0004"][12:14] == [0, "churned account (Status)"]
    # The people's tabs: every cell as it was (sheetcrm's computed columns are beyond them).
    for tab, rows_before in before.items():
        after = book.rows(tab)
        for r, row in enumerate(rows_before):
            assert after[r][:len(row)] == row or _same_dates(after[r], row), (tab, r + 1)
    # A second sync on the same day writes nothing at all (on Google: the reads of any sync of
    # this workbook, the money columns' formats among them, with or without the overview).
    _reset(book)
    assert book.sync(0, CONFIG).result is None
    assert _counts(book) in (None, (3, 0))
    # A person's edit of the overview is put back; the next day only what moved is written.
    book.set("Accounts Overview", 2, 13, 5)
    book.set("Accounts Overview", 3, 2, "typo")
    _reset(book)
    assert book.sync(0, CONFIG).result is not None
    # sheetcrm's own tab only: no key-column re-read, no read-back (those guard people's rows).
    assert _counts(book) in (None, (3, 1))
    assert {r[0]: _dated(r) for r in book.rows("Accounts Overview")[1:]} == body
    shown = book.rows("Accounts Overview")
    later = book.sync(1, CONFIG)
    writes = [w for w in later.plan.writes if w.tab == "Accounts Overview"]
    # Recency decays: Health and Why only moved; the rows they moved on are written whole
    # (plan.whole_rows: a sort in the write's window mixes no two accounts' cells).
    moved = [w for w in writes if not same_value(w.value, _at(shown, w.row, w.col))]
    assert moved and all(w.col in (13, 14) for w in moved)
    assert {w.row for w in writes} == {w.row for w in moved}


def _at(rows: list[list], row: int, col: int):
    cells = rows[row - 1] if row <= len(rows) else []
    return cells[col - 1] if col <= len(cells) else None


def _reset(book: Book) -> None:
    if book.kind == "google":
        book.traced.reset()


def _counts(book: Book) -> tuple[int, int] | None:
    """(reads, writes) since `_reset` on Google; None on .xlsx."""
    return book.traced.counts() if book.kind == "google" else None


def _same_dates(after: list, typed: list) -> bool:
    """A date a person typed reads back as a date (a serial number on Google: USER_ENTERED)."""
    for a, t in zip(after, typed):
        if isinstance(t, str) and len(t) == 10 and t[4] == "-":
            if _as_date(a) not in (t, dt.date.fromisoformat(t)):
                return False
        elif a != t:
            return False
    return True


def test_the_overview_in_spanish_and_turned_off(tmp_path):
    book = Book("xlsx", tmp_path, None, _tabs())
    book.sync(0, Config.model_validate({"locale": "es", "overview": {"suggestions": {"min_lift": 1}}}))
    rows = book.rows("Resumen de cuentas")
    assert rows[0][:4] == ["Cuenta", "Nombre", "Propietario", "Contactos"] and rows[0][12] == "Salud"
    core = next(r for r in rows if r[0] == "ACC-0003")
    assert core[13] == "1 tarea vencida -5; última actividad hace 183 días +0,6"
    assert core[15] == ("2 de 3 compradores de Widget Pro también compraron Support Plan "
                        "(de todos los clientes, 2 de 3)")
    (tmp_path / "off").mkdir()
    other = Book("xlsx", tmp_path / "off", None, _tabs())
    other.sync(0, Config.model_validate({"overview": {"enabled": False}}))
    assert other.rows("Accounts Overview") == []


def test_a_name_two_accounts_share_in_any_case_names_neither(tmp_path):
    # "Acme" names both Acme and ACME as the read compares names (case ignored): the read warns at
    # the deal's Account, and the overview credits neither, rather than the one spelled alike.
    path = xlsx(tmp_path / "crm.xlsx", {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"], ["ACC-0002", "ACME"], ["ACC-0003", "Beta"]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date"],
                          ["OPP-0001", "x", "Acme", "Ana", "Closed Won", 1000, dt.date(2026, 10, 1)],
                          ["OPP-0002", "y", "beta", "Ana", "Closed Won", 300, dt.date(2026, 10, 1)]]})
    outcome = sync(XlsxWorkbook(path), Config(), as_of=DAY)
    assert [(i.row, i.column) for i in outcome.crm.report.issues if i.code == "ambiguous_reference"] == [(2, "C")]
    rows = XlsxWorkbook(path).read().tabs["Accounts Overview"].rows
    assert {r[0]: r[6] for r in rows[1:]} == {"ACC-0001": 0, "ACC-0002": 0, "ACC-0003": 300}
    assert outcome.results.kpis.lifetime_value == {"Beta": 300}
