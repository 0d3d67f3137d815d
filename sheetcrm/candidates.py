"""The rows of a tab that a "who is already here" look-up (a lead's conversion, an import, a form
response) may link to, each with the key cells it cannot read.

    for c in candidates(table, grid):          # table: Accounts, Contacts or Leads, as read
        known.add(c.row, c.record, c.unread_fields)

A row with a bad cell is still the record it names (docs/leads.md, "Who is already here"): an
account "Acme" whose Employees says "many" is Acme, and a lead of Acme converts into it, never
into a second Acme. So every row is a candidate, by what of it reads (`Row.record`, else
`Row.target`, else its key cells read one by one when even the target cannot be made). What a
look-up cannot decide is the row whose *key* cell (a name, an email, a phone, a domain: what
the matcher compares) cannot be read, or whose ID another row of the tab has too: it may be the
record, or not. Those cells are listed in `unread`, so the matcher (`crm.matching.Known`) can
say "this may be that row" and the caller waits, naming the cell, instead of guessing either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from sheetcrm import cells
from sheetcrm.records import Record
from sheetcrm.report import column_letter
from sheetcrm.table import Row, Table
from sheetcrm.workbook import Grid

# What the matcher compares, per tab (crm.duplicates.entity): the cells a link depends on.
KEYS: dict[str, tuple[str, ...]] = {
    "accounts": ("name", "domain"),
    "contacts": ("first_name", "last_name", "email", "phone"),
    "leads": ("first_name", "last_name", "company", "email", "phone"),
    "opportunities": ("name", "account"),  # crm.matching.KnownDeals
}
_READERS: dict[str, Callable[[Any], Any]] = {"email": cells.parse_email}


@dataclass(frozen=True)
class Unread:
    """A key cell a look-up cannot read: where it is (tab title, sheet row, column letter, header
    as typed), what it holds (as read: a formula's error text, a malformed email), the record
    field; `also` is the other sheet row holding the same ID when the cell is the ID."""

    tab: str
    row: int
    column: str | None
    header: str | None
    value: Any
    field: str
    also: int | None = None

    @property
    def cell(self) -> str:
        """Where it is, as a sheet names a cell: "Contacts!E2"."""
        return f"{self.tab}!{self.column or ''}{self.row}"


@dataclass(frozen=True)
class Candidate:
    """One row as a look-up sees it: the record of what reads (its unreadable cells empty) and
    the key cells it cannot read (none for a row whose keys all read, whatever else is bad)."""

    row: Row
    record: Record
    unread: tuple[Unread, ...] = ()

    @property
    def unread_fields(self) -> frozenset[str]:
        return frozenset(u.field for u in self.unread)


def candidates(table: Table, grid: Grid | None = None) -> list[Candidate]:
    """Every row of `table` as a match candidate, in sheet order (rules in the module
    docstring). `grid`: the tab as read, for the formula errors an .xlsx read leaves empty
    (None: only the cells' own values say)."""
    keys = KEYS.get(table.spec.key, ())
    columns = {f: table.header.fields[f] for f in keys if f in table.header.fields}
    errors = grid.errors if grid is not None else {}
    first: dict[str, int] = {}
    shared: dict[str, list[int]] = {}
    for row in table.rows:
        if row.id:
            key = cells.match_key(row.id)
            if key in first:
                shared.setdefault(key, [first[key]]).append(row.row)
            else:
                first[key] = row.row
    out = []
    for row in table.rows:
        record = row.record or row.target
        unread: list[Unread] = []
        values: dict[str, Any] = {}
        for name, col in columns.items():
            raw = row.cells[col] if col < len(row.cells) else None
            error = errors.get((row.row - 1, col))
            if record is not None and error is None:
                if getattr(record, name, None) is not None or cells.is_blank(raw):
                    continue
            elif error is None:
                try:
                    values[name] = _READERS.get(name, cells.parse_text)(raw)
                    continue
                except cells.CellError:
                    pass
            unread.append(Unread(table.title, row.row, column_letter(col + 1), table.header.labels.get(col),
                                 error if error is not None else raw, name))
        if row.id and (rows := shared.get(cells.match_key(row.id))):
            col = table.header.fields.get("id")
            unread.append(Unread(table.title, row.row, column_letter(col + 1) if col is not None else None,
                                 table.header.labels.get(col) if col is not None else None, row.raw_id, "id",
                                 next(r for r in rows if r != row.row)))
        if record is None:
            # Not even the row's target could be made (a required cell unreadable): what its
            # key cells say, read one by one, is still who it is.
            record = table.spec.model.model_construct(id=row.id, row=row.row, **values)
        out.append(Candidate(row, record, tuple(unread)))
    return out
