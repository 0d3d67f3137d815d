"""Which workbook a command works on: the flags, else the config, else ./crm.xlsx."""

from __future__ import annotations

from sheetcrm.config import Config
from sheetcrm.workbook import Workbook
from sheetcrm.workbook.xlsx import XlsxWorkbook

DEFAULT_WORKBOOK = "crm.xlsx"


def open_workbook(config: Config, workbook: str | None = None) -> Workbook:
    return XlsxWorkbook(workbook or config.workbook or DEFAULT_WORKBOOK)
