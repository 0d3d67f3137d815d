"""One CRM tab as a table: its header row mapped onto columns, its rows parsed into records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import ValidationError

from sheetcrm import cells
from sheetcrm.config import CustomField, TabSettings
from sheetcrm.records import CUSTOM_PARSERS, ParseContext, Record
from sheetcrm.report import Issue, Report, column_letter
from sheetcrm.schema import TabSpec
from sheetcrm.workbook import Grid


@dataclass
class Header:
    """Where each column of a tab sits (0-based), as found in its header row."""

    fields: dict[str, int] = field(default_factory=dict)   # record field -> column
    custom: dict[str, int] = field(default_factory=dict)   # the team's own header -> column
    computed: dict[str, int] = field(default_factory=dict)  # sheetcrm's computed column key -> column
    labels: dict[int, str] = field(default_factory=dict)   # column -> header text as typed
    width: int = 0


@dataclass
class Row:
    """One non-blank data row. `record` is None when the row has errors: only sound records
    are computed with. `target` is what references and lookups see: the record, or for a row
    with errors the record with its unreadable cells left empty (None when even that cannot be
    made, e.g. a required cell is unreadable), so a bad cell never hides the row's ID or name."""

    row: int                    # the sheet's row number
    id: str | None              # the ID cell as text (trimmed; 4563 -> "4563"), even on an invalid row
    record: Record | None
    cells: list[Any]
    assigned: bool = False      # the ID was handed out by this sync, not read from the sheet
    raw_id: Any = None          # the ID cell exactly as read (4563, "ACC-1 "): what a guarded write expects
    target: Record | None = None

    @property
    def has_errors(self) -> bool:
        return self.record is None


@dataclass
class Table:
    spec: TabSpec
    title: str                  # the sheet's own tab title
    header: Header
    rows: list[Row] = field(default_factory=list)

    @property
    def records(self) -> list[Record]:
        return [r.record for r in self.rows if r.record is not None]


def map_header(spec: TabSpec, title: str, grid: Grid, settings: TabSettings, report: Report) -> Header:
    aliases: dict[str, str] = {}
    for column in spec.columns:
        for name in (column.header, column.header_es, *column.aliases):
            aliases.setdefault(cells.normalize_key(name), column.field)
    # The team's own names win over built-in aliases: "Deal size" = Amount.
    by_title = {c.header: c.field for c in spec.columns}
    for canonical, theirs in settings.headers.items():
        if canonical not in by_title:
            continue  # already rejected when the config was loaded
        aliases[cells.normalize_key(theirs)] = by_title[canonical]

    computed = {cells.normalize_key(n): c.key for c in spec.computed for n in (c.header, c.header_es)}
    header = Header(width=len(grid.header))
    for col, raw in enumerate(grid.header):
        text = cells.parse_text(raw)
        if text is None:
            continue
        header.labels[col] = text
        key = cells.normalize_key(text)
        if key in computed:
            header.computed.setdefault(computed[key], col)
            continue  # sheetcrm's own output is never read back as input
        target = aliases.get(key)
        taken = header.fields if target else header.custom
        key = target or text
        if key in taken:
            report.add(Issue("warning", title, 1, column_letter(col + 1), text, text, "duplicate_header",
                             f'The header "{text}" appears twice; only the first column is read.',
                             "Rename or remove one of the two columns."))
            continue
        taken[key] = col
    return header


def parse_table(spec: TabSpec, title: str, grid: Grid, settings: TabSettings, ctx: ParseContext,
                report: Report) -> Table:
    header = map_header(spec, title, grid, settings, report)
    table = Table(spec, title, header)
    missing = [c for c in spec.columns if c.required and c.field not in header.fields]
    for column in missing:
        report.add(Issue("error", title, 1, None, column.header, None, "missing_column",
                         f'The required column "{column.header}" is missing, so no row of this tab is read.',
                         f'Add a column headed "{column.header}" (or "{column.header_es}").'))
    id_col = header.fields.get("id")
    typed = {cells.normalize_key(name): kind for name, kind in settings.custom_fields.items()}
    custom_types = {name: _custom_parser(typed[key], name)
                    for name in header.custom if (key := cells.normalize_key(name)) in typed}
    for index in range(1, len(grid.rows)):
        raw_row = grid.rows[index]
        if all(cells.is_blank(v) for v in raw_row):
            continue  # blank rows are the team's spacing, not records
        sheet_row = index + 1
        data: dict[str, Any] = {f: (raw_row[c] if c < len(raw_row) else None) for f, c in header.fields.items()}
        custom, custom_ok = _custom_values(header, raw_row, custom_types, ctx, title, sheet_row, report)
        record, target = (None, None) if missing else _validate(spec, data, custom, ctx, header, title, sheet_row,
                                                                report)
        raw_id = data["id"] if id_col is not None else None
        table.rows.append(Row(sheet_row, cells.parse_text(raw_id), record if custom_ok else None, raw_row,
                              raw_id=raw_id, target=target))
    return table


def _custom_parser(kind: CustomField, name: str) -> Callable[[Any, str], Any]:
    if kind.type == "enum":
        choices = cells.enum_choices({v: [] for v in kind.values})
        return lambda raw, locale: cells.parse_enum(raw, choices, name)
    return CUSTOM_PARSERS[kind.type]


def _custom_values(header: Header, raw_row: list[Any], parsers: dict[str, Callable[[Any, str], Any]],
                   ctx: ParseContext, title: str, sheet_row: int, report: Report) -> tuple[dict[str, Any], bool]:
    values: dict[str, Any] = {}
    ok = True
    for name, col in header.custom.items():
        raw = raw_row[col] if col < len(raw_row) else None
        parse = parsers.get(name)
        if parse is None:
            values[name] = raw  # untyped: carried exactly as the team typed it
            continue
        try:
            values[name] = parse(raw, ctx.locale)
        except cells.CellError as e:
            ok = False
            report.add(Issue("error", title, sheet_row, column_letter(col + 1), name, raw, e.code, e.message, e.hint))
    return values, ok


def _validate(spec: TabSpec, data: dict[str, Any], custom: dict[str, Any], ctx: ParseContext, header: Header,
              title: str, sheet_row: int, report: Report) -> tuple[Record | None, Record | None]:
    """(record, target): the record, or None with every problem reported; and the row as a
    reference target, its unreadable cells left empty (see Row)."""
    try:
        record = spec.model.model_validate({**data, "row": sheet_row, "custom": custom}, context=ctx)
        return record, record
    except ValidationError as e:
        for err in e.errors(include_url=False):
            field_name = err["loc"][0] if err["loc"] else None
            col = header.fields.get(field_name) if isinstance(field_name, str) else None
            extra = err.get("ctx") or {}
            report.add(Issue(
                "error", title, sheet_row,
                column_letter(col + 1) if col is not None else None,
                header.labels.get(col) if col is not None else None,
                data.get(field_name) if isinstance(field_name, str) else None,
                err["type"], extra.get("message", err["msg"]), extra.get("hint", ""),
            ))
        unreadable = {err["loc"][0] for err in e.errors() if err["loc"]}
        try:
            target = spec.model.model_validate({**data, **dict.fromkeys(unreadable), "row": sheet_row,
                                                "custom": custom}, context=ctx)
        except ValidationError:
            target = None
        return None, target
