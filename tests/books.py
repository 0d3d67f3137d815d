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
