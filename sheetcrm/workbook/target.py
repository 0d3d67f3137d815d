"""Which workbook a command works on.

Flags win over the config: `--workbook PATH` is an .xlsx file, `--spreadsheet ID|URL` a
Google spreadsheet. Without flags, the config's `spreadsheet`, else its `workbook`, else
./crm.xlsx.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from sheetcrm.config import Config
from sheetcrm.cells import normalize_key
from sheetcrm.i18n import _
from sheetcrm.schema import (CAMPAIGNS, CASES, TABS, currency_headers, date_headers, header_keys, money_headers,
                            percent_headers, standard_headers)
from sheetcrm.workbook import Workbook, WorkbookError, xlsx_name_problem
from sheetcrm.workbook.xlsx import XlsxWorkbook

DEFAULT_WORKBOOK = "crm.xlsx"


def open_workbook(config: Config, workbook: str | None = None, spreadsheet: str | None = None,
                  credentials: str | None = None, tracer: Callable | None = None,
                  default: str = DEFAULT_WORKBOOK, ignore_app_lock: bool = False) -> Workbook:
    if spreadsheet or (not workbook and config.spreadsheet):
        from sheetcrm.workbook.credentials import connect
        from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy, spreadsheet_id

        key = spreadsheet_id(spreadsheet or config.spreadsheet)  # type: ignore[arg-type]
        policy = RetryPolicy(attempts=config.google.attempts, base=config.google.backoff_seconds,
                             cap=config.google.max_backoff_seconds, timeout=config.google.timeout_seconds)
        conn = connect(credentials or _relative(config, config.credentials), policy=policy, tracer=tracer)
        return GoogleSheetsWorkbook(conn.client, key, conn.account, **header_tests(config))
    path = workbook or _relative(config, config.workbook) or default
    # The workbook a person names (flag, config, fleet entry) is written as an .xlsx package:
    # under another name it would open in no app as what its name says. (An export that
    # `import` reads may be .xlsm: it is read, never written, and does not come through here.)
    if Path(path).is_dir():
        # Said as the backend says a folder named "x.xlsx": a folder given for the workbook was
        # told "name it /tmp.xlsx", as if it were a file's name missing its ending.
        raise WorkbookError(_("{path}: is a folder, not an .xlsx workbook", path=path))
    wrong = xlsx_name_problem(path)
    if wrong is not None:
        raise WorkbookError(wrong)
    return XlsxWorkbook(path, ignore_app_lock=ignore_app_lock)


def config_target(config: Config, default: str = DEFAULT_WORKBOOK) -> str:
    """What a command given no flag works on, as `open_workbook` picks it: the config's
    spreadsheet (ID or URL, as written), else its workbook (a path, relative to the config
    file's folder), else `default`."""
    if config.spreadsheet:
        return config.spreadsheet
    return _relative(config, config.workbook) or default


def _relative(config: Config, path: str | None) -> str | None:
    """A path in the config is relative to the config file, not to wherever the command runs."""
    if path is None or config.source is None:
        return path
    return str(config.source.parent / Path(path).expanduser())


def header_tests(config: Config) -> dict[str, Callable[[str], bool] | str | None]:
    """The Google backend's tests of which headers name percentages, money, currencies and
    dates, which a team's own column, and which tab titles name a tab of records (Accounts,
    Leads..., whose own columns are typed by their cells), and the team's locale ("en"/"es")
    when the config sets it, else None (`GoogleSheetsWorkbook`'s keyword arguments), from the
    CRM's schema and the config."""
    percent, money, currency = percent_headers(config), money_headers(config), currency_headers(config)
    dates = date_headers(config)

    def names(keys: frozenset[str]) -> Callable[[str], bool]:
        # As table.py matches headers: "Amount:", "Amount*" and "Amount (USD)" are Amount.
        def test(text: str) -> bool:
            whole, bare, bracketed = header_keys(text)
            return whole in keys or bare in keys or bracketed is not None and bracketed[0] in keys
        return test

    standard = standard_headers(config)

    def custom(text: str) -> bool:
        whole, bare, bracketed = header_keys(text)
        return bool(bare) and not (whole in standard or bare in standard
                                   or bracketed is not None and bracketed[0] in standard)

    tabs = {normalize_key(n) for spec in (*TABS.values(), CAMPAIGNS, CASES)
            for n in (spec.title, spec.title_es, *spec.aliases,
                      *([config.tabs[spec.key].title] if spec.key in config.tabs and config.tabs[spec.key].title
                        else []))}

    def record_tab(title: str) -> bool:
        return normalize_key(title) in tabs

    return {"percent_header": names(percent), "money_header": names(money), "currency_header": names(currency),
            "custom_header": custom, "record_tab": record_tab, "date_header": names(dates),
            "team_locale": config.locale if "locale" in config.model_fields_set else None}
