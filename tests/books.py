"""Real .xlsx files for tests, built with openpyxl: `from books import xlsx, xlsx_book`.

(Tests import their helpers by module name: pytest puts tests/ on sys.path through
tests/conftest.py, also for the tests in tests/mail and tests/crm.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import openpyxl

from sheetcrm.workbook.xlsx import XlsxWorkbook


def xlsx(path: Path, tabs: Mapping[str, Sequence[Sequence[Any]]], formats: Mapping[tuple[str, str], str] | None = None,
         cells: Mapping[tuple[str, str], Any] | None = None) -> Path:
    """Writes `tabs` (title -> rows, in order; a text starting with "=" is a formula) as the
    .xlsx file `path`, then `cells` ((tab, "Q2") -> value) and `formats` ((tab, "B2") -> number
    format code); returns `path`."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in tabs.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(list(row))
    for (tab, coord), value in (cells or {}).items():
        wb[tab][coord] = value
    for (tab, coord), fmt in (formats or {}).items():
        wb[tab][coord].number_format = fmt
    wb.save(path)
    return Path(path)


def xlsx_book(path: Path, tabs: Mapping[str, Sequence[Sequence[Any]]], **more: Any) -> XlsxWorkbook:
    """`xlsx(path, tabs, ...)` opened as sheetcrm's .xlsx backend."""
    return XlsxWorkbook(xlsx(path, tabs, **more))


def crm_tabs(**overrides) -> dict[str, list[list]]:
    """A small CRM with one quotable opportunity (OPP-0001, EUR, Send Quote ticked)."""
    tabs = {
        "Accounts": [["ID", "Name", "Country"], ["ACC-0001", "Acme <b>Corp</b>", "ES"]],
        "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                     ["CON-0001", "ACC-0001", "Ana", "Pérez", "ana@example.com"]],
        "Opportunities": [["ID", "Name", "Account", "Contact", "Owner", "Stage", "Amount", "Currency", "Send Quote",
                           "PO Number"],
                          ["OPP-0001", "Expansion", "ACC-0001", "CON-0001", "Marta", "Proposal", 2500, "EUR", "yes",
                           "PO-77"]],
        "Products": [["SKU", "Name", "Unit Price", "Currency", "Tax Rate"],
                     ["P1", "Licence", 1000.5, "EUR", 21], ["P2", "Support", 99.99, "EUR", 10]],
        "Quote Lines": [["Opportunity", "SKU", "Quantity", "Unit Price", "Discount %"],
                        ["OPP-0001", "P1", 2, "", 10], ["OPP-0001", "P2", 3, "", ""]],
        "Activities": [["ID", "Date", "Type", "Subject", "Related", "Owner", "Outcome"],
                       ["ACT-0007", "2026-11-01", "Call", "Intro", "OPP-0001", "Marta", ""]],
    }
    tabs.update(overrides)
    return tabs


def edit(book: XlsxWorkbook, change) -> None:
    """A person's edit of `book`'s file: `change(wb)` on it as openpyxl loads it, then saved."""
    wb = openpyxl.load_workbook(book.path)
    change(wb)
    wb.save(book.path)


def tick_duplicates(book: XlsxWorkbook, ids: Mapping[str, str]) -> None:
    """Ticks on the Duplicates tab's rows of these IDs: "merge", "keep" or "merge+keep"."""
    def change(wb):
        ws = wb["Duplicates"]
        header = [c.value for c in ws[1]]
        for r in range(2, ws.max_row + 1):
            what = ids.get(ws.cell(r, header.index("ID") + 1).value, "")
            for word, col in (("merge", "Merge"), ("keep", "Keep")):
                if word in what:
                    ws.cell(r, header.index(col) + 1).value = "x"
    edit(book, change)
