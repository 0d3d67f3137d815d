"""A merge never puts an amount beside a Currency it is not in (docs/leads.md, "Merging
duplicates"): the survivor's empty cells were filled one by one, so a merged lead's 5,000 EUR
went into the survivor's empty Amount beside its Currency USD as 5,000 USD, and a merged lead's
Currency EUR into the survivor's empty Currency made its own 1,000 (in the base USD) 1,000 EUR,
with nothing said. Such a group is refused at its Merge cell (`merge_currency_differs`) until a
person settles it; one whose currencies agree merges and fills as before. On a real .xlsx file,
the Duplicates tab as the duplicates step wrote it, ticked by a person."""

from __future__ import annotations

import datetime as dt

import openpyxl

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook.xlsx import XlsxWorkbook

from books import edit, tick_duplicates, xlsx_book

DAY1, DAY2, DAY3 = dt.date(2026, 11, 23), dt.date(2026, 11, 24), dt.date(2026, 11, 25)
LEADS = ["ID", "First Name", "Last Name", "Company", "Email", "Status", "Created", "Amount", "Currency"]


def _leads(book: XlsxWorkbook) -> dict[str, dict]:
    rows = [list(r) for r in openpyxl.load_workbook(book.path)["Leads"].iter_rows(values_only=True)]
    return {r[0]: dict(zip(rows[0], r)) for r in rows[1:] if r[0]}


def test_a_merge_never_reads_an_amount_in_another_currency(tmp_path):
    day = dt.datetime(2026, 11, 2)
    book = xlsx_book(tmp_path / "crm.xlsx", {"Leads": [
        LEADS,
        # The survivor (oldest) has Currency USD and no Amount; its twin 5,000 EUR.
        ["LEAD-0001", "Jose", "Munoz", "Perez", "jose@perez.es", "New", day, None, "USD"],
        ["LEAD-0002", "José", "Muñoz", "Perez", "jose@perez.es", "New", day + dt.timedelta(1), 5000, "EUR"],
        # The survivor has 1,000 in the base currency (no Currency); its twin 2,000 EUR.
        ["LEAD-0003", "Ann", "Bee", "Bee", "ann@bee.co", "New", day, 1000, None],
        ["LEAD-0004", "Ann", "Bee", "Bee", "ann@bee.co", "New", day + dt.timedelta(1), 2000, "EUR"],
        # The currencies agree: the survivor's empty Amount takes its twin's 700 EUR.
        ["LEAD-0005", "Eve", "Fox", "Fox", "eve@fox.io", "New", day, None, "EUR"],
        ["LEAD-0006", "Eve", "Fox", "Fox", "eve@fox.io", "New", day + dt.timedelta(1), 700, "EUR"],
    ]})
    sync(book, Config(), DAY1)
    tick_duplicates(book, {f"LEAD-000{i}": "merge" for i in range(1, 7)})
    outcome = sync(book, Config(), DAY2)

    leads = _leads(book)
    assert sorted(leads) == ["LEAD-0001", "LEAD-0002", "LEAD-0003", "LEAD-0004", "LEAD-0005"]
    assert (leads["LEAD-0001"]["Amount"], leads["LEAD-0001"]["Currency"]) == (None, "USD")
    assert (leads["LEAD-0003"]["Amount"], leads["LEAD-0003"]["Currency"]) == (1000, None)
    assert (leads["LEAD-0005"]["Amount"], leads["LEAD-0005"]["Currency"]) == (700, "EUR")
    said = sorted((i.tab, i.header, i.message) for i in outcome.crm.report.issues if i.code == "merge_currency_differs")
    assert [(t, h) for t, h, _m in said] == [("Duplicates", "Merge")] * 2
    assert any('LEAD-0001 would take Amount "5000" from LEAD-0002, where it is in EUR' in m
               and "read as 5000 USD" in m for _t, _h, m in said)
    assert any('LEAD-0003 would take Currency "EUR" from LEAD-0004' in m and "read as 1000 EUR" in m
               for _t, _h, m in said)

    # Settled as the hints say: Keep on the twin in EUR; USD typed into the survivor's Currency.
    tick_duplicates(book, {"LEAD-0002": "keep"})
    edit(book, lambda wb: wb["Leads"].cell(4, LEADS.index("Currency") + 1, "USD"))
    outcome = sync(book, Config(), DAY3)
    leads = _leads(book)
    assert sorted(leads) == ["LEAD-0002", "LEAD-0003", "LEAD-0005"]
    assert (leads["LEAD-0002"]["Amount"], leads["LEAD-0002"]["Currency"]) == (5000, "EUR")
    assert (leads["LEAD-0003"]["Amount"], leads["LEAD-0003"]["Currency"]) == (1000, "USD")
    assert not [i for i in outcome.crm.report.issues if i.code == "merge_currency_differs"]
