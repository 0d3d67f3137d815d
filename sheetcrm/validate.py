"""Read a whole workbook snapshot into typed tables, checking each cell, row and cross-tab reference.

Validation never raises for data problems and never stops at the first one: every problem
becomes an Issue in the Report, and the rows that are sound go on to the CRM engine.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable

from sheetcrm import cells
from sheetcrm.config import Config
from sheetcrm.records import ParseContext
from sheetcrm.report import Issue, Report, column_letter
from sheetcrm.schema import TABS, find_tab, tab_names
from sheetcrm.table import Row, Table, parse_table
from sheetcrm.workbook import Snapshot


@dataclass
class Crm:
    """The CRM as read: one Table per CRM tab that the workbook has, plus the report."""

    tables: dict[str, Table] = field(default_factory=dict)
    report: Report = field(default_factory=Report)

    def records(self, key: str) -> list[Any]:
        table = self.tables.get(key)
        return table.records if table else []

    def stats(self) -> dict[str, Any]:
        tabs = {
            key: {"tab": t.title, "rows": len(t.rows), "valid": len(t.records)}
            for key, t in self.tables.items()
        }
        return {"tabs": tabs, "rows": sum(t["rows"] for t in tabs.values()),
                "errors": self.report.errors, "warnings": self.report.warnings}


def parse_context(config: Config) -> ParseContext:
    stages = cells.enum_choices({s.name: s.aliases for s in config.stages})
    return ParseContext(locale=config.locale, stages=stages, locale_set="locale" in config.model_fields_set,
                        currency=config.currency)


def read_crm(snapshot: Snapshot, config: Config) -> Crm:
    crm = Crm(report=Report(limit=config.validation.max_issues))
    ctx = parse_context(config)
    titles = list(snapshot.tabs)
    for key, spec in TABS.items():
        settings = config.tab(key)
        title = find_tab(titles, tab_names(spec, settings.title))
        if title is None:
            crm.report.add(Issue("warning", settings.title or spec.title, None, None, None, None, "missing_tab",
                                 f'There is no "{settings.title or spec.title}" tab.',
                                 "Run `sheetcrm init` to add the missing tabs with their headers."))
            continue
        crm.tables[key] = parse_table(spec, title, snapshot.tabs[title], settings, ctx, crm.report)
    _check_references(crm)
    # Cross-tab findings come last in discovery order; people read the tab in sheet order.
    order = {t.title: i for i, t in enumerate(crm.tables.values())}
    crm.report.issues.sort(key=lambda i: (order.get(i.tab, -1), i.row or 0, len(i.column or ""), i.column or ""))
    return crm


def _check_references(crm: Crm) -> None:
    report = crm.report
    ids = {key: _check_unique_ids(t, report) for key, t in crm.tables.items() if t.spec.id_prefix}
    accounts = ids.get("accounts", set()) | {a.name for a in crm.records("accounts")}
    contacts = ids.get("contacts", set()) | set(_contact_names(crm.records("contacts")))
    opportunities = ids.get("opportunities", set()) | {o.name for o in crm.records("opportunities")}
    related = set().union(*(ids.get(k, set()) for k in ("leads", "contacts", "accounts", "opportunities")))
    skus = _check_unique_skus(crm.tables.get("products"), report)

    checks = {
        "contacts": [("account", "account", accounts, "unknown_account", "an account ID or the exact name of an account")],
        "opportunities": [
            ("account", "account", accounts, "unknown_account", "an account ID or the exact name of an account"),
            ("contact", "contact", contacts, "unknown_contact", "a contact ID, full name or email"),
        ],
        "activities": [("related", "record", related, "unknown_related", "the ID of a lead, contact, account or opportunity")],
        "tasks": [("related", "record", related, "unknown_related", "the ID of a lead, contact, account or opportunity")],
        "quote_lines": [
            ("opportunity", "opportunity", opportunities, "unknown_opportunity", "an opportunity ID or its exact name"),
            ("sku", "product SKU", skus, "unknown_sku", "a SKU from the Products tab"),
        ],
    }
    for key, rules in checks.items():
        table = crm.tables.get(key)
        if table is None:
            continue
        for row in table.rows:
            if row.record is None:
                continue
            for field_name, noun, known, code, expected in rules:
                value = getattr(row.record, field_name)
                if value is not None and value not in known:
                    _cell_issue(report, "error", table, row, field_name, value, code,
                                f'"{value}" does not match any {noun}.',
                                f"Use {expected}.")

    for key in ("contacts", "leads"):
        table = crm.tables.get(key)
        if table is not None:
            _check_duplicate_emails(table, report)


def _check_unique_ids(table: Table, report: Report) -> set[str]:
    seen: dict[str, int] = {}
    for row in table.rows:
        if row.id is None:
            continue
        if row.id in seen:
            _cell_issue(report, "error", table, row, "id", row.id, "duplicate_id",
                        f'The ID "{row.id}" is also used on row {seen[row.id]}.',
                        "Give one of the two rows another ID, or clear it and sheetcrm assigns a new one.")
        else:
            seen[row.id] = row.row
    return set(seen)


def _check_unique_skus(table: Table | None, report: Report) -> set[str]:
    if table is None:
        return set()
    seen: dict[str, int] = {}
    for row in table.rows:
        if row.record is None:
            continue
        sku = row.record.sku
        if sku in seen:
            _cell_issue(report, "error", table, row, "sku", sku, "duplicate_sku",
                        f'The SKU "{sku}" is also used on row {seen[sku]}.', "Each product needs its own SKU.")
        else:
            seen[sku] = row.row
    # Products on invalid rows still exist as far as Quote Lines are concerned.
    sku_col = table.header.fields.get("sku")
    raw = {cells.parse_text(r.cells[sku_col]) for r in table.rows if sku_col is not None and sku_col < len(r.cells)}
    return set(seen) | (raw - {None})


def _check_duplicate_emails(table: Table, report: Report) -> None:
    seen: dict[str, int] = {}
    for row in table.rows:
        email = getattr(row.record, "email", None)
        if email is None:
            continue
        key = email.casefold()
        if key in seen:
            _cell_issue(report, "warning", table, row, "email", email, "duplicate_email",
                        f'The email "{email}" is also on row {seen[key]}.',
                        "Merge the two rows if they are the same person.")
        else:
            seen[key] = row.row


def _contact_names(contacts: Iterable[Any]) -> Iterable[str]:
    for c in contacts:
        if c.first_name:
            yield f"{c.first_name} {c.last_name}"
        if c.email:
            yield c.email


def _cell_issue(report: Report, severity: str, table: Table, row: Row, field_name: str, value: Any, code: str,
                message: str, hint: str) -> None:
    col = table.header.fields.get(field_name)
    report.add(Issue(severity, table.title, row.row, column_letter(col + 1) if col is not None else None,  # type: ignore[arg-type]
                     table.header.labels.get(col) if col is not None else None, value, code, message, hint))
