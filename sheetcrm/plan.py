"""Turn what sheetcrm wants a tab to hold into the fewest cell writes against what it holds now."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Collection

from sheetcrm.ids import row_key
from sheetcrm.owned import KEPT, locate
from sheetcrm.schema import ROW_KEYS, SEQUENCES, WHOLE_ROWS, OwnedTab
from sheetcrm.table import Table
from sheetcrm.workbook import CellValue, CellWrite, Grid, Plan, Snapshot, cell_key, same_value, serial_number
from sheetcrm.written import Columns, Typed, Written


def cell_value(v: Any) -> CellValue:
    """A computed value as a cell can hold it; Decimal becomes a float only at this edge."""
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


def tab_writes(title: str, current: Grid | None, wanted: list[list[Any]]) -> list[CellWrite]:
    """Writes that make a sheetcrm-owned tab hold exactly `wanted`, clearing any leftovers."""
    writes: list[CellWrite] = []
    have_rows = current.rows if current else []
    serials: dict[dt.date, float] = {}  # a tab's dates repeat (a day per history row)
    for r in range(max(len(wanted), len(have_rows))):
        want_row = wanted[r] if r < len(wanted) else []
        have_row = have_rows[r] if r < len(have_rows) else []
        if want_row == have_row:
            if _no_bool_as_number(want_row, have_row):
                continue  # most rows of a quiet tab: compared whole, in C, not cell by cell
        elif want_row and have_row:
            # Google reads a date back as its serial number (a history row's Changed At) and a
            # Decimal reads back as the number written: a row holding either is compared as
            # read (`_as_read`) unless the read row holds dates itself (an .xlsx read). Either
            # way trailing empty cells are let be: sheetcrm pads a row where the read trimmed it.
            # These are shortcuts for whole equal rows (26k history rows at 10k leads); any
            # other row is compared cell by cell below.
            row = want_row
            if not _AS_READ.isdisjoint(map(type, want_row)) and _DATES.isdisjoint(map(type, have_row)):
                row = _as_read(want_row, serials)
            if _equal_but_trailing_blanks(row, have_row):
                continue
        for c in range(max(len(want_row), len(have_row))):
            want = cell_value(want_row[c]) if c < len(want_row) else None
            have = have_row[c] if c < len(have_row) else None
            if not same_value(want, have):
                writes.append(CellWrite(title, r + 1, c + 1, want))
    return writes


def _equal_but_trailing_blanks(want: list[Any], have: list[Any]) -> bool:
    """Whether two rows are equal as whole lists once their trailing empty cells (None or "",
    the same to `same_value` as a cell the row does not reach) are cut off."""
    # Mostly the read trimmed the row and sheetcrm pads it: the shorter is the longer's start,
    # the rest blank (then their bools are where the shorter's are, or they differ).
    longer, shorter = (want, have) if len(want) >= len(have) else (have, want)
    n = len(shorter)
    if longer[:n] == shorter and all(v is None or (isinstance(v, str) and v == "") for v in longer[n:]):
        return _no_bool_as_number(longer[:n], shorter)
    want, have = _trimmed(want), _trimmed(have)
    return want == have and _no_bool_as_number(want, have)


# The types `_as_read` changes, and the ones of them a read may hold (.xlsx; Google gives numbers).
_AS_READ = frozenset({dt.date, dt.datetime, Decimal})
_DATES = frozenset({dt.date, dt.datetime})


def _as_read(row: list[Any], serials: dict[dt.date, float]) -> list[Any]:
    """`row` as a read gives its cells back: each date or datetime as its serial number (as
    Google reports it; `serials` remembers each one worked out) and each Decimal as the number
    `cell_value` writes. For such a row, Python's == of the whole lists then agrees with
    `same_value` cell by cell (bools aside, which `_no_bool_as_number` checks), in one
    comprehension instead of two `_canonical` calls per cell. Other types are left as they are
    (a subclass of date too: its row is then compared cell by cell). Only plain dates are
    remembered: two aware datetimes of one instant in two zones are equal keys, with two
    serial numbers."""
    return [v if (kind := v.__class__) not in _AS_READ else cell_value(v) if kind is Decimal
            else serial_number(v) if kind is not dt.date
            else serials[v] if v in serials else serials.setdefault(v, serial_number(v)) for v in row]


def _trimmed(row: list[Any]) -> list[Any]:
    n = len(row)
    while n and (row[n - 1] is None or (isinstance(row[n - 1], str) and row[n - 1] == "")):
        n -= 1
    return row if n == len(row) else row[:n]


def _no_bool_as_number(want: list[Any], have: list[Any]) -> bool:
    """For two rows Python finds equal: whether `same_value` finds every pair of cells equal too.
    Python's == agrees with it (5 == 5.0, Decimal("2.5") == 2.5, equal text and dates) except
    that True == 1 and False == 0, which a spreadsheet keeps apart."""
    if bool not in map(type, want) and bool not in map(type, have):
        return True  # most rows hold no tick at all: looked for in C, not cell by cell
    return [type(v) is bool for v in want] == [type(v) is bool for v in have]


def owned_tab(plan: Plan, snapshot: Snapshot, tab: OwnedTab, locale: str, body: list[list[Any]],
              columns: tuple[int, ...] | None = None) -> str:
    """Plan one of sheetcrm's own tabs: header row plus body, created when missing. Returns its title.

    The tab is the one `owned.locate` finds: never a team's tab of the same name. A new tab,
    or an adopted unmarked one that this plan writes, is marked as sheetcrm's in the same write.
    A `hidden` tab not hidden yet is hidden with the write (`Plan.hide`: it rides along).
    `columns`: where a person moved the tab's columns (`inputs.history_columns`); they are
    written there, and the columns a person put among them stay theirs, beside their rows."""
    place = locate(snapshot, tab, locale)
    title = place.title
    if not place.exists and title not in plan.new_tabs:
        plan.new_tabs.append(title)
    current = snapshot.tabs.get(title)
    wanted = [tab.display_headers(locale), *body]
    if current is not None and place.exists and columns is not None:
        order = [*columns, *(c for c in range(max(map(len, current.rows), default=0)) if c not in columns)]
        wanted = with_their_columns(_reordered(current, order), wanted, len(tab.headers), ROW_KEYS.get(tab.key))
        wanted = [_placed(row, order) for row in wanted]
    elif current is not None and place.exists and tab.key not in WHOLE_ROWS:
        wanted = with_their_columns(current, wanted, len(tab.headers), ROW_KEYS.get(tab.key))
    writes = tab_writes(title, current, wanted)
    if current is not None and place.exists:
        writes = whole_rows(title, current, wanted, writes)
        # A tab of the past (a history, Merged) only adds rows: one written over is lost for
        # good, so Google opens them (`Plan.appended`); a summary's next sync writes it again.
        body = {w.row for w in writes if w.row > 1} if tab.key in KEPT else set()
        if (body and min(body) > len(current.rows) and max(body) - min(body) + 1 == len(body)
                and title not in plan.appended and all(w.tab != title for w in plan.writes)):
            plan.appended[title] = (min(body), max(body))
        else:
            plan.appended.pop(title, None)
    plan.writes.extend(writes)
    if writes and tab.key == SEQUENCES.key:
        plan.counters = title
    if (not place.exists or (place.adopt and writes)) and title not in plan.mark_owned:
        plan.mark_owned.append(title)
    if tab.hidden and title not in snapshot.hidden and title not in plan.hide:
        plan.hide.append(title)
    return title


def whole_rows(title: str, current: Grid, wanted: list[list[Any]], writes: list[CellWrite]) -> list[CellWrite]:
    """`writes` (`tab_writes` of one of sheetcrm's tabs, row by row) with every body row they
    touch written whole: each cell of it up to the tab's width (a person's columns included,
    their cells as `with_their_columns` carried them), formulas aside.

    These writes carry no expectation and land by position, while people may edit the tab
    between sheetcrm's read and its write (Google) or a rewrite moves a row to where another
    was. A row written only where its cells changed would keep the cells it left alone: a Merge
    tick or a note typed there in that window, or left there by a sort or an insert, would stay
    beside another record's Group and ID (a merge of records nobody ticked). Written whole, a
    row is one record's or left as it stands; a tick typed in that window on a row that is
    rewritten is lost, never moved (docs/concurrency.md, "What remains")."""
    if not writes:
        return writes
    have_rows = current.rows
    width = max(len(wanted[0]) if wanted else 0, len(have_rows[0]) if have_rows else 0)
    by_row: dict[int, list[CellWrite]] = {}
    for w in writes:
        by_row.setdefault(w.row, []).append(w)
    out: list[CellWrite] = []
    for row, some in by_row.items():
        if row == 1:
            out.extend(some)  # the header names columns, no record: a person's header cells stay theirs
            continue
        r = row - 1
        want_row = wanted[r] if r < len(wanted) else []
        have_row = have_rows[r] if r < len(have_rows) else []
        done = {w.col: w for w in some}
        for c in range(max(len(want_row), len(have_row), width)):
            if c + 1 in done:
                out.append(done[c + 1])
            elif (r, c) not in current.formulas:
                value = cell_value(want_row[c]) if c < len(want_row) else None
                out.append(CellWrite(title, row, c + 1, None if value == "" else value))
    return out


def _reordered(grid: Grid, order: list[int]) -> Grid:
    """`grid` with its column `order[i]` as column i: sheetcrm's columns first, then theirs."""
    at = {c: i for i, c in enumerate(order)}
    return Grid(rows=[[row[c] if c < len(row) else None for c in order] for row in grid.rows],
                formulas={(r, at[c]) for r, c in grid.formulas if c in at})


def _placed(row: list[Any], order: list[int]) -> list[Any]:
    """A row of `_reordered`'s columns back in the tab's own."""
    out: list[Any] = [None] * max(order, default=-1) + [None]
    for i, value in enumerate(row[:len(order)]):
        out[order[i]] = value
    while out and out[-1] is None:
        out.pop()
    return out


def with_their_columns(current: Grid, wanted: list[list[Any]], width: int,
                       key: tuple[int, ...] | None = None) -> list[list[Any]]:
    """`wanted` (header row first) with the cells people typed after sheetcrm's `width` columns
    of `current` (one of sheetcrm's tabs as read): never written over, each goes with its row.

    The header row's are left as they are. A body row's go with the wanted row that has its
    `key` cells (0-based columns; None: all of sheetcrm's cells, a log row's whole content),
    the same key taken in the order of the rows: a sorted log keeps each note beside its row, and
    a row sheetcrm moves (a new row above it, one dropped) takes its notes along. A row no longer
    written (a summary's row gone, a log row kept_months let go) leaves its cells below the
    tab's rows, in order, sheetcrm's columns empty: a person's cell is never cleared.

    A row whose cells there hold a formula stays on its sheet row, whole: a read gives a
    formula's result, not its text, so moved it would arrive as that result and its formula
    would be lost. Rows carried along go around it."""
    have = current.rows
    head = wanted[0]
    if have and any(v is not None and v != "" for v in have[0][width:]):
        head = [*head, *[None] * (width - len(head)), *have[0][width:]]
    pinned = {r for r, c in current.formulas if r >= 1 and c >= width}
    theirs: dict[Any, list[list[Any]]] = {}
    order: list[tuple[Any, list[Any]]] = []
    stay: dict[int, list[Any]] = {}
    for r, raw in enumerate(have[1:], 1):
        if len(raw) <= width:
            continue  # most rows: nothing after sheetcrm's columns
        extra = list(raw[width:])
        if not any(v is not None and v != "" for v in extra):
            continue
        if r in pinned:
            stay[r] = extra
            continue
        k = _row_key(raw, width, key)
        theirs.setdefault(k, []).append(extra)
        order.append((k, extra))
    if not order and not stay:
        return [head, *wanted[1:]] if head is not wanted[0] else wanted
    taken: set[int] = set()
    out = [head]
    for row in wanted[1:]:
        if len(out) in stay:
            out.append([*row, *[None] * (width - len(row)), *stay.pop(len(out))])
            continue
        k = _row_key(row, width, key)
        extras = theirs.get(k) if any(part is not None for part in k) else None
        if extras and len(row) <= width:
            extra = extras.pop(0)
            taken.add(id(extra))
            out.append([*row, *[None] * (width - len(row)), *extra])
        else:
            out.append(row)
    for _k, extra in order:
        if id(extra) in taken:
            continue
        while len(out) in stay:
            out.append([*[None] * width, *stay.pop(len(out))])
        out.append([*[None] * width, *extra])
    for r in sorted(stay):
        out.extend([] for _ in range(r - len(out)))
        out.append([*[None] * width, *stay[r]])
    return out


def _row_key(row: list[Any], width: int, key: tuple[int, ...] | None) -> tuple[Any, ...]:
    """A row's cells `key` (all of sheetcrm's `width` when None) as `same_value` compares them."""
    columns = key if key is not None else range(width)
    return tuple(cell_key(cell_value(row[c])) if c < len(row) else None for c in columns)


def computed_writes(table: Table, values_by_row: dict[int, dict[str, Any]], locale: str,
                    written: Written | None = None, formulas: Collection[tuple[int, int]] = ()) -> list[CellWrite]:
    """Writes that bring sheetcrm's computed columns in a people's tab up to date.

    A missing column goes where `table.py` placed it (after the last used column and every
    merged block), its header in the tab's header row. Every write is keyed to its row
    (`ids.row_key`); rows whose record is invalid, and rows that are no longer records, have
    their stale values cleared rather than left to mislead. A tab with no room for the
    columns (`Header.full`) gets no write at all. A recorded column (`Computed.recorded`, a
    record of what a step did) and a column one step keeps (`Computed.by_step`) are neither added
    nor rewritten here: only cleared off leftovers.

    `written`, `formulas`: as for `computed_cells`, which writes the records' cells (a value a
    person typed over one is kept, and told in `written.typed`).
    """
    header = table.header
    writes: list[CellWrite] = []
    if header.full or "id" not in header.fields:
        return writes
    columns: dict[str, int] = {}
    recorded: dict[str, int] = {}
    for computed in table.spec.computed:
        col = header.computed.get(computed.key)
        if computed.recorded or computed.by_step:
            # Its step adds and writes it; here it is only cleared off rows that are no record.
            if col is not None:
                recorded[computed.key] = col
            continue
        if col is None:
            col = header.new[computed.key]
            header.computed[computed.key] = col
            writes.append(CellWrite(table.title, header.row, col + 1, header.computed_title(computed, locale),
                                    expect=((col + 1, None),)))
        columns[computed.key] = col
    writes.extend(computed_cells(table, list(columns.items()), values_by_row, written, formulas))
    id_col = header.fields["id"]
    for row in table.leftovers:
        # No record, no ID: the write holds only while the row still shows exactly these
        # stale values and no ID.
        stale = [(col + 1, row.cells[col]) for col in (*columns.values(), *recorded.values())
                 if col < len(row.cells) and not same_value(row.cells[col], None)]
        expect = ((id_col + 1, None), *stale)
        writes.extend(CellWrite(table.title, row.row, col, None, expect=expect) for col, _ in stale)
    return writes


def _also(cells: dict[str, tuple[CellValue, ...]], rid: str, *values: CellValue) -> None:
    """Add `values` to what sheetcrm counts as its own in the cells of a shared ID's rows."""
    have = cells.get(rid, ())
    cells[rid] = (*have, *(v for v in values if all(not same_value(v, h) for h in have)))


def _copies(before: Columns, keys: list[str]) -> set[tuple]:
    """Every known record's cells in columns `keys` as `cell_key`s, one tuple per way its
    values could read (a cell holding one of two values until a read shows which)."""
    out: set[tuple] = set()
    for rid in set().union(*(before[k] for k in keys)) if keys else ():
        ways: list[tuple] = [()]
        for k in keys:
            held = {cell_key(v) for v in before[k].get(rid, (None,))} or {None}
            ways = [(*w, h) for w in ways for h in held]
        out.update(ways)
    return out


def computed_cells(table: Table, columns: list[tuple[str, int]], values_by_row: dict[int, dict[str, Any]],
                   written: Written | None = None, formulas: Collection[tuple[int, int]] = (),
                   assigned: bool = True) -> list[CellWrite]:
    """Writes that bring the cells of computed `columns` ((key, 0-based column)) of the
    records of `table` to `values_by_row` (sheet row -> key -> value; a row or key missing is
    nothing: its cell cleared), each keyed to its row (`ids.row_key`). `assigned`: whether
    rows whose ID this sync hands out are written too (else they are left for the next sync).

    Every step writing a computed column of a people's tab writes its cells through this, so a
    value a person typed over any of them is told the same way: `written` (written.Written) is
    what sheetcrm last wrote in these cells, by tab, column key and record ID. A cell that
    holds neither that (nor what is computed now, nor nothing) was typed over by a person: it
    is not written, and is added to `written.typed` for the step to report at the cell; so is
    a cell holding a formula (`formulas`: the grid's, 0-based), which sheetcrm never writes.
    What this plan counts as its own in each cell of a record goes to `written.after` (a
    shared ID's, every value its rows hold: once the duplicate is resolved, they are known). A
    tab or column the state does not know (no state, a new column) is sheetcrm's, as before
    the state was kept. A record it does not know (a row added since, an ID typed) holds
    nothing sheetcrm wrote, unless the row is a copy of a known record's (a row copied and
    pasted to start a new one: its cells are what the state holds for that record, column for
    column): a value in one of its cells is a person's, kept and told as any other.
    """
    writes: list[CellWrite] = []
    nothing: dict[str, Any] = {}
    before = written.tab(table.spec.key) if written is not None else None
    after: Columns = {key: {} for key, _col in columns}
    typed: list[Typed] = []
    # The state is keyed by ID: a row whose ID another row shares has none to go by.
    seen: set[str] = set()
    shared = {row.id for row in table.rows if row.id is not None and (row.id in seen or seen.add(row.id))}
    formulas = set(formulas)
    copies: list[set[tuple]] = []  # the known records' cells, column for column (`_copies`), once asked
    for row in table.rows:
        if not assigned and row.assigned:
            continue
        wanted = values_by_row.get(row.row, nothing)
        cells = row.cells
        rid = row.id if row.id is not None and row.id not in shared else None
        fresh: bool | None = None  # a record the state does not know, its row no copy of a known one's
        for key, col in columns:
            value = wanted.get(key)
            if isinstance(value, Decimal):
                value = cell_value(value)
            have = cells[col] if col < len(cells) else None
            formula = (row.row - 1, col) in formulas if formulas else False
            if not formula and (value is have or (type(value) is type(have) and value == have)):
                if rid is not None:
                    after[key][rid] = (have,)
                elif row.id is not None:
                    _also(after[key], row.id, have)
                continue  # most cells of a quiet sync; of one type, == is same_value's answer
            own = before[key].get(rid) if before is not None and rid is not None and key in before else None
            if own is None and before is not None and rid is not None and key in before and cell_key(have) is not None:
                if fresh is None:
                    if not copies:
                        copies.append(_copies(before, [k for k, _ in columns if k in before]))
                    fresh = tuple(cell_key(cells[c] if c < len(cells) else None)
                                  for k, c in columns if k in before) not in copies[0]
                own = () if fresh else None  # () : sheetcrm wrote nothing of its own there
            if formula or own is not None and not same_value(have, None) and not same_value(have, value) \
                    and not any(same_value(have, o) for o in own):
                typed.append(Typed(row.row, col, key, have, value, formula))
                if own is not None:
                    after[key][rid] = own  # still sheetcrm's to fill once the person clears it
                continue
            if not same_value(value, have):
                writes.append(CellWrite(table.title, row.row, col + 1, value, expect=row_key(table, row), held=(have,)))
            if rid is not None:
                # Both, until a read shows which: the write may be dropped (a guarded write on
                # Google) or refused (a conflicting save of an .xlsx), leaving sheetcrm's old value.
                after[key][rid] = (value,) if same_value(have, None) or same_value(have, value) else (value, have)
            elif row.id is not None:
                _also(after[key], row.id, value, have)
    if written is not None:
        # Several steps write columns of one tab (a lead's Score, its Segments): each adds its own.
        written.after.setdefault(table.spec.key, {}).update(after)
        written.typed.setdefault(table.spec.key, []).extend(typed)
    return writes


def append_writes(table: Table, grid: Grid, rows: list[dict[str, Any]], *, start: int | None = None
                  ) -> tuple[list[CellWrite], int]:
    """Writes that add `rows` (field or team header -> value, the "id" field included) as new
    records at the end of a people's tab, and the sheet row after the last one written.

    Shapes: `rows` keyed by record field ("name", "email"...) or by a custom column's header;
    a key the tab has no column for is left out (the caller reports it). Rows go below the
    last non-empty row of the whole grid (side tables and totals rows included, so nothing a
    person wrote is ever overwritten); `start` (a sheet row) continues a previous call of the
    same plan. Every cell of a new row expects that row's cells in the tab's columns to be
    empty when it lands, so a row a person types there meanwhile makes the write skip (the next
    sync appends again, below it); every cell `requires` the row's ID cell, so a row never
    lands without its ID. Raises KeyError when the tab has no ID column.
    """
    header = table.header
    id_col = header.fields["id"]
    row_no = start if start is not None else _last_used_row(grid, table) + 1
    columns = {**header.fields, **header.custom}
    own = sorted({*header.fields.values(), *header.custom.values()})
    writes: list[CellWrite] = []
    for values in rows:
        expect = tuple((col + 1, None) for col in own)
        anchor = (table.title, row_no, id_col + 1)
        writes.append(CellWrite(table.title, row_no, id_col + 1, cell_value(values["id"]), expect=expect))
        for key, value in values.items():
            col = columns.get(key)
            if key == "id" or col is None or value is None or value == "":
                continue
            writes.append(CellWrite(table.title, row_no, col + 1, cell_value(value), expect=expect, requires=anchor))
        row_no += 1
    return writes, row_no


def _last_used_row(grid: Grid, table: Table) -> int:
    """The sheet row of the grid's last row holding anything (the header row at least): a
    value, a formula (even one showing nothing) or a merged block."""
    last = table.header.row
    for index, row in enumerate(grid.rows):
        if any(v is not None and v != "" for v in row):
            last = max(last, index + 1)
    last = max([last, *(r + 1 for r, _ in grid.formulas), *(m[2] + 1 for m in grid.merges)])
    return last

