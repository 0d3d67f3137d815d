"""Where a Google write into people's rows landed, and what puts a misplaced one right.

The Sheets API has no conditional write: between the key-column re-read that aims the
writes (`gsheets._aim`) and the `batchUpdate`, a person may insert, delete or sort rows, and
then a write addressed by row lands on another record. This module compares the key columns
read back after the write with what the plan meant, and says how to repair it. It is pure:
`gsheets` does the reading and the writing.

The writes it checks are recognised by the shape `ids.row_key` gives their `expect`:

    ID fill        target = the row's ID cell, expect ((id, None), *fingerprint): the ID cell
                   was empty and the row's first cells held the fingerprint (non-blank values;
                   for a row whose first cells another row holds too, every own cell, empty
                   ones as None: `ids._fingerprints`)
    computed cell  target = a computed column, expect ((id, ID),) or ((id, None), *fingerprint)

Other guarded writes (an Outbox status, a new Activities row) carry other shapes and are left
to their own protocols.

What is decided, row by row of the read-back (`after`):

* A new ID sits on a row whose fingerprint is its record's: it landed.
* A new ID sits on no row (it landed on a row deleted before the read-back): the fill did
  not land, and the history rows tied to it are cleared.
* A new ID sits on another row: the fill is undone, with a write addressed by content (find
  the new ID in the ID column, replace the whole cell) that puts back the ID the row had at
  the re-read (found by the row's fingerprint cells in the re-read), or empties the cell when
  the row had none. Its record gets an ID from the next sync, and the history rows tied to
  the fill are cleared. An ID the row had is restored by content only when it is shaped like
  sheetcrm's own IDs (PREFIX-digits), text that Sheets keeps as typed; any other is written
  back by position. A row whose cells were not on the sheet at the re-read (typed in
  meanwhile) had no ID, unless exactly one ID went missing whose record is on no other row;
  an ID whose record is still on the sheet belongs to that record, wherever the new IDs
  landed. When the row's earlier ID cannot be told (rows with equal fingerprints), the new
  ID is left where it is: a unique ID on that record rather than a guessed one.
* Every row's computed cells, in the columns this write touched, must hold what the sync
  planned for the record now on that row, or (not planned) what the read before the sync
  saw for it; a row with no ID that is no record of the plan holds none. Cells that differ
  are written again by position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from . import CellValue, CellWrite, Plan, Snapshot, cell_key, dependents, same_value

Columns = dict[tuple[str, int], list[Any]]  # (tab, 1-based column) -> its cells from row 1 down
Record = tuple  # ("id", key) | ("fp", fingerprint) | ("none",)
NONE: Record = ("none",)
_AMBIGUOUS = object()


@dataclass(frozen=True)
class Restore:
    """Put `right` (None: empty) back where this sync's new ID `wrong` landed on another record."""

    tab: str
    col: int   # the ID column, 1-based
    row: int   # where the read-back saw it
    wrong: str
    right: CellValue

    @property
    def by_content(self) -> bool:
        return self.right is None or _shaped_like(self.right, self.wrong)


@dataclass
class Landing:
    restores: list[Restore] = field(default_factory=list)
    cells: list[CellWrite] = field(default_factory=list)   # positional repairs (computed cells, history)
    undone: set[tuple[str, int, int]] = field(default_factory=set)  # plan keys of fills taken back

    def __bool__(self) -> bool:
        return bool(self.restores or self.cells)


def is_fill(w: CellWrite) -> bool:
    return (w.row > 1 and len(w.expect) > 1 and w.expect[0] == (w.col, None)
            and any(not _blank(v) for _, v in w.expect[1:]))


def is_computed(w: CellWrite) -> bool:
    if w.row <= 1 or not w.expect or w.expect[0][0] == w.col:
        return False
    (_, key), *rest = w.expect
    if not _blank(key):
        return not rest
    return bool(rest) and any(not _blank(v) for _, v in rest) and w.col not in {c for c, _ in rest}


def columns_to_check(applied: list[CellWrite]) -> dict[str, set[int]]:
    """Per tab, the columns to read back after writing `applied`: ID, fingerprints, targets."""
    out: dict[str, set[int]] = {}
    for w in applied:
        if is_fill(w) or is_computed(w):
            out.setdefault(w.tab, set()).update({c for c, _ in w.expect} | {w.col})
    return out


def inspect(plan: Plan, pairs: list[tuple[CellWrite, CellWrite]], before: Columns, after: Columns,
            snapshot: Snapshot | None) -> Landing:
    """What to repair after `pairs` (written write, plan's write) landed as `after` shows.

    `before` is the key-column re-read the writes were aimed by (rendered as FORMULA), `after`
    the same columns and the written computed columns read back as values (UNFORMATTED, as the
    snapshot holds them); `snapshot` the read the plan was made from (None: only planned
    values are known)."""
    landing = Landing()
    tabs = {origin.tab for _, origin in pairs if is_fill(origin) or is_computed(origin)}
    sent = {origin.key for _, origin in pairs if is_fill(origin)}
    aimed = {origin.key for _, origin in pairs}
    for tab in sorted(tabs):
        _Tab(tab, plan, snapshot, aimed, before).inspect(before, after, landing, sent)
    # What requires a write taken back, down a chain (history of an ID taken back; a sequence's
    # later steps, their Log rows and the State's count), is cleared with it.
    lost = dependents((origin for _, origin in pairs), landing.undone)
    for w, origin in pairs:
        if origin.key in lost:
            landing.cells.append(CellWrite(w.tab, w.row, w.col, None))
    return landing


class _Tab:
    def __init__(self, tab: str, plan: Plan, snapshot: Snapshot | None, aimed: set[tuple[str, int, int]],
                 before: Columns) -> None:
        self.tab = tab
        self.aimed, self.before = aimed, before
        # The first row of records: below the header, which title rows may push down. Read
        # back from row 2, the header row of such a tab was a record's row whose computed cells
        # held nothing at the read, and sheetcrm's new headers there were "repaired" to empty.
        self.first = plan.header_rows.get(tab, 1) + 1
        writes = [w for w in plan.writes if w.tab == tab and (is_fill(w) or is_computed(w))]
        self.id_col = writes[0].expect[0][0]
        writes = [w for w in writes if w.expect[0][0] == self.id_col]
        self.fills: dict[tuple, Any] = {}          # fingerprint -> the plan's fill (or _AMBIGUOUS)
        self.new_ids: dict[str, tuple] = {}         # new ID -> fingerprint
        self.planned: dict[tuple[Record, int], Any] = {}   # (record, column) -> the plan's write
        self.computed_cols: set[int] = set()
        for w in writes:
            record = _record(w)
            if is_fill(w):
                fp = record[1]
                self.fills[fp] = _AMBIGUOUS if fp in self.fills else w
                if isinstance(w.value, str):
                    self.new_ids[w.value] = fp
            else:
                self.computed_cols.add(w.col)
                slot = (record, w.col)
                self.planned[slot] = _AMBIGUOUS if slot in self.planned else w
        self.by_cols: dict[tuple[int, ...], dict[tuple, list[tuple]]] = {}
        for fp in self.fills:
            cols = tuple(c for c, _ in fp)
            self.by_cols.setdefault(cols, {}).setdefault(tuple(v for _, v in fp), []).append(fp)
        self.grid = snapshot.tabs.get(tab) if snapshot else None
        self.snapshot_rows: dict[Record, Any] = {}
        if self.grid is not None:
            for r, row in enumerate(self.grid.rows[self.first - 1:], start=self.first):
                key = cell_key(row[self.id_col - 1]) if self.id_col - 1 < len(row) else None
                if key is not None:
                    slot = ("id", key)
                    self.snapshot_rows[slot] = _AMBIGUOUS if slot in self.snapshot_rows else r
            for fp, fill in self.fills.items():
                if fill is not _AMBIGUOUS:
                    self.snapshot_rows[("fp", fp)] = fill.row

    # -- the read-back, row by row ---------------------------------------------------------

    def inspect(self, before: Columns, after: Columns, landing: Landing, sent: set[tuple[str, int, int]]) -> None:
        height = max((len(after.get((self.tab, c), [])) for c in self._read_cols(after)), default=0)
        claimed: set[Any] = set()
        seen: set[Any] = set()
        for r in range(self.first, height + 1):
            now = _cell(after, self.tab, self.id_col, r)
            seen.add(cell_key(now))
            if isinstance(now, str) and now in self.new_ids:
                fp = self.new_ids[now]
                if _holds(after, self.tab, r, fp):
                    record: Record | None = ("fp", fp)
                else:
                    record = self._misplaced(now, fp, r, before, after, claimed, landing)
            elif _blank(now):
                record = self._by_fingerprint(after, r)
            else:
                record = ("id", cell_key(now))
            if record is not None:
                self._check_computed(record, r, after, landing)
        # A new ID on no row at all landed on a row deleted before the read-back (or was typed
        # over): no record holds it, so nothing may name it.
        for fill in self.fills.values():
            if fill is not _AMBIGUOUS and fill.key in sent and cell_key(fill.value) not in seen:
                landing.undone.add(fill.key)

    def _read_cols(self, after: Columns) -> list[int]:
        return [c for (tab, c) in after if tab == self.tab]

    def _misplaced(self, wrong: str, fp: tuple, r: int, before: Columns, after: Columns, claimed: set,
                   landing: Landing) -> Record | None:
        fill = self.fills.get(fp)
        right, known = self._earlier_id(fp, r, before, after, claimed)
        if fill is None or fill is _AMBIGUOUS:
            return None
        if not known:
            # Leave the new ID: guessing an old one could give a record another's ID. It is not
            # its own record's, so nothing written for that record may name it (its history).
            landing.undone.add(fill.key)
            return None
        claimed.add(cell_key(right))
        landing.undone.add(fill.key)
        landing.restores.append(Restore(self.tab, self.id_col, r, wrong, right))
        if not _blank(right):
            return ("id", cell_key(right))
        return self._by_fingerprint(after, r)

    def _earlier_id(self, fp: tuple, r: int, before: Columns, after: Columns, claimed: set) -> tuple[CellValue, bool]:
        """The ID the record now on row `r` had at the re-read, found by its cells in the
        fingerprint's columns; (value, True) when known, None meaning it had none."""
        cols = [c for c, _ in fp]
        here = tuple(cell_key(_cell(after, self.tab, c, r)) for c in cols)
        if all(v is None for v in here):
            return None, True  # an empty row (inserted meanwhile) had no ID
        height = max((len(before.get((self.tab, c), [])) for c in [self.id_col, *cols]), default=0)
        rows = [u for u in range(self.first, height + 1)
                if tuple(cell_key(_cell(before, self.tab, c, u)) for c in cols) == here]
        if len(rows) == 1:
            earlier = _cell(before, self.tab, self.id_col, rows[0])
            if _blank(earlier):
                return None, True
            return earlier, cell_key(earlier) not in claimed
        # Equal fingerprints, or none (a row typed in meanwhile, or its cells changed): an ID
        # that was there and is gone now is the one overwritten, if it is the only one. An ID
        # whose record is still on the sheet on another row (by its fingerprint cells) was
        # overwritten there, and is that record's, never this row's.
        last = max((len(after.get((self.tab, c), [])) for c in [self.id_col, *cols]), default=0)
        now = {cell_key(_cell(after, self.tab, self.id_col, u)) for u in range(self.first, last + 1)}
        elsewhere = {tuple(cell_key(_cell(after, self.tab, c, u)) for c in cols) for u in range(self.first, last + 1) if u != r}
        gone = []
        for u in range(self.first, height + 1):
            earlier = _cell(before, self.tab, self.id_col, u)
            if _blank(earlier) or cell_key(earlier) in now or cell_key(earlier) in claimed:
                continue
            was = tuple(cell_key(_cell(before, self.tab, c, u)) for c in cols)
            if was == here or was not in elsewhere:
                gone.append(earlier)
        if not rows:
            # Not on the sheet at the re-read by its cells: a row typed in meanwhile (it had no
            # ID), or a record whose cells changed too. An ID gone meanwhile may be this row's,
            # or a record's deleted in the same window (soak seed 26: a deleted deal's ID was
            # put on a deal typed in, and a workflow fired on it): which cannot be told.
            return (None, not gone)
        return (gone[0], True) if len(gone) == 1 else (None, False)

    def _by_fingerprint(self, after: Columns, r: int) -> Record | None:
        found: list[tuple] = []
        for cols, index in self.by_cols.items():
            values = tuple(cell_key(_cell(after, self.tab, c, r)) for c in cols)
            found.extend(fp for fp in index.get(values, []) if _holds(after, self.tab, r, fp))
        if not found:
            return NONE
        if len(found) > 1 or self.fills[found[0]] is _AMBIGUOUS:
            return None
        return ("fp", found[0])

    def _check_computed(self, record: Record, r: int, after: Columns, landing: Landing) -> None:
        for c in sorted(self.computed_cols):
            if (self.tab, c) not in after:
                continue
            have = _cell(after, self.tab, c, r)
            if _is_formula(have):
                continue  # a formula is never written over
            want = self._truth(record, c)
            if want is _AMBIGUOUS or (want is None and record != NONE):
                continue
            value, formula = (None, False) if want is None else want
            if not same_value(have, value):
                landing.cells.append(CellWrite(self.tab, r, c, value, formula=formula))

    def _truth(self, record: Record, col: int) -> Any:
        """(value, formula) the record's cell in `col` should hold; None when it should be
        empty (a row no plan covers) or is unknown; _AMBIGUOUS when records collide."""
        if record == NONE:
            return None
        planned = self.planned.get((record, col))
        if planned is _AMBIGUOUS:
            return _AMBIGUOUS
        if planned is not None and planned.key not in self.aimed:
            # Not sent (a person typed over the cell since the read: `CellWrite.held`): the
            # cell is as the re-read found it, the person's.
            return self._at_re_read(record, col)
        if planned is not None:
            return (planned.value, planned.formula)
        row = self.snapshot_rows.get(record)
        if row is None or row is _AMBIGUOUS or self.grid is None:
            return _AMBIGUOUS
        if (row - 1, col - 1) in self.grid.formulas:
            return _AMBIGUOUS
        return (self.grid.cell(row - 1, col - 1), False)


    def _at_re_read(self, record: Record, col: int) -> Any:
        if record[0] != "id" or (self.tab, col) not in self.before:
            return _AMBIGUOUS
        height = len(self.before.get((self.tab, self.id_col), []))
        rows = [u for u in range(self.first, height + 1) if cell_key(_cell(self.before, self.tab, self.id_col, u)) == record[1]]
        if len(rows) != 1:
            return _AMBIGUOUS
        value = _cell(self.before, self.tab, col, rows[0])
        return _AMBIGUOUS if _is_formula(value) else (value, False)


def _record(w: CellWrite) -> Record:
    (_, key), *rest = w.expect
    if not _blank(key):
        return ("id", cell_key(key))
    return ("fp", tuple((c, cell_key(v)) for c, v in rest))


def _holds(cols: Columns, tab: str, r: int, fp: tuple) -> bool:
    for c, want in fp:
        have = _cell(cols, tab, c, r)
        if not _is_formula(have) and cell_key(have) != want:
            return False
    return True


def _cell(cols: Columns, tab: str, col: int, row: int) -> Any:
    values = cols.get((tab, col), [])
    v = values[row - 1] if row - 1 < len(values) else None
    return None if v == "" else v


def _blank(v: Any) -> bool:
    return v is None or v == ""




def _is_formula(v: Any) -> bool:
    return isinstance(v, str) and v.startswith("=")


def _shaped_like(right: CellValue, wrong: str) -> bool:
    """Whether `right` is text of the same PREFIX-digits shape as sheetcrm's new ID `wrong`:
    such text is kept as typed when Sheets enters a replacement (no number, date or formula)."""
    m = re.fullmatch(r"([A-Za-z]+)-\d+", wrong)
    return bool(m) and isinstance(right, str) and re.fullmatch(rf"{m.group(1)}-\d+", right) is not None


# -- columns moved in the window ------------------------------------------------------------
#
# A person may insert, delete or move columns between the key re-read and the batchUpdate,
# as well as rows: then every write addressed to a column right of the edit lands in another
# column, a person's (a note, a name) or an empty one. The header row is read with the key
# re-read and with the read-back (ranges of the same requests); when it reads back otherwise
# than the re-read and this write's header cells make it, the edit is found by trying every
# single column edit (`explain`), and each written cell is judged by what its cell held before.

MOVE_BLOCK = 10      # columns moved at once that `explain` tries (a person drags a few)
WIDEST = 200         # header rows wider than this are not explained: their cells are reported


@dataclass
class Shift:
    """What a column edit in the window did to the writes into one tab."""

    tab: str
    restores: list[CellWrite] = field(default_factory=list)   # written cells put back as they were
    undone: set[tuple[str, int, int]] = field(default_factory=set)   # plan keys that did not land as meant
    unknown: list[tuple[int, int]] = field(default_factory=list)     # (row, col) that cannot be told
    landed_elsewhere: bool = False   # the edit came after the batch: every cell moved with its column


def moved_columns(was: list[Any], now: list[Any]) -> set[int]:
    """1-based columns whose header cell differs between two reads of the header row: the
    sync's read (values) and the key re-read (FORMULA; a formula there is taken as unchanged,
    its text never equals its value)."""
    return {c + 1 for c in range(max(len(was), len(now)))
            if not _is_formula(_at(now, c)) and cell_key(_at(was, c)) != cell_key(_at(now, c))}


def explain(was: list[Any], now: list[Any], ours: dict[int, Any], over: bool) -> list[list[int | None]]:
    """Every single column edit (an insert, a delete, or a move of up to MOVE_BLOCK columns,
    as Google's insertDimension, deleteDimension and moveDimension make them) that turns the
    header row `was` (the re-read, before the write) into `now` (read back); each as the map
    from a 0-based column of `now` to the column of `was` it came from (None: inserted).

    `ours` are the header cells the write set (0-based column -> value). With `over` False
    the edit came before the batch: those cells landed where they were sent, whatever they
    covered, so they say nothing. With `over` True it came after: they moved with their
    columns. A formula in `was` (FORMULA rendering) matches anything."""
    base = list(was) + [None] * max(0, max(ours, default=-1) + 1 - len(was))
    if over:
        for c, v in ours.items():
            base[c] = v
    width = max(len(base), len(now), max(ours, default=-1) + 1)
    if width > WIDEST:
        return []
    wild = set() if over else set(ours)
    found: list[list[int | None]] = []

    def fits(src: Any, span: int) -> bool:
        for x in range(span):
            if x in wild:
                continue
            y = src(x)
            if y is not None and _is_formula(_at(base, y)):
                continue
            if cell_key(_at(now, x)) != (None if y is None else cell_key(_at(base, y))):
                return False
        return True

    for k in range(1, width + 1):
        for p in range(width + 1):
            def ins(x: int, p: int = p, k: int = k) -> int | None:
                return x if x < p else None if x < p + k else x - k
            if fits(ins, width + k):
                found.append([ins(x) for x in range(width + k)])
            if p < width:
                def dele(x: int, p: int = p, k: int = k) -> int | None:
                    return x if x < p else x + k
                if fits(dele, width):
                    found.append([dele(x) for x in range(width)])
    for k in range(1, min(MOVE_BLOCK, width) + 1):
        for s in range(width - k + 1):
            rest = [c for c in range(width) if not s <= c < s + k]
            for d in range(width + 1):
                if s <= d <= s + k:
                    continue  # no move
                at = d if d < s else d - k
                order = rest[:at] + list(range(s, s + k)) + rest[at:]
                if fits(lambda x, order=order: order[x] if x < width else x, width):
                    found.append(order)
    return found


def shifted(tab: str, header_row: int, pairs: list[tuple[CellWrite, CellWrite]], was: list[Any], now: list[Any],
            before: Columns, after: Columns, snapshot: Snapshot | None) -> Shift | None:
    """What to do about the writes into `tab` (`pairs`: written write, plan's write) when its
    header row read back (`now`) is not what the re-read (`was`) and this write's header cells
    make it; None when it is (no column moved). `before` is the key re-read (FORMULA),
    `after` the read-back (values) of the key columns and the columns written: where a header
    row alone cannot say whether the edit came before or after the batch (a column moved
    past empty ones), the written cells say it.

    A single column edit before the batch that explains the header row says, for every cell
    written, what that cell held just before: the re-read's cell of the column that now sits
    there (the key columns), else the sync's read of it for the same record (the plan's row);
    that is put back (an inserted column's cell was empty), and the write did not land, for
    the next sync to plan again. A cell whose column did not move landed. An edit after the
    batch moved every written cell with its column: nothing was covered. When no single edit
    explains the row, or the explanations disagree on what a cell held, the cells in columns
    from the first change on are not touched again, and are named (`unknown`)."""
    ours = {w.col - 1: w.value for w, _ in pairs if w.row == header_row}
    expected = list(was) + [None] * max(0, max(ours, default=-1) + 1 - len(was))
    for c, v in ours.items():
        expected[c] = v
    changed = [c for c in range(max(len(expected), len(now)))
               if not _is_formula(_at(expected, c)) and cell_key(_at(expected, c)) != cell_key(_at(now, c))]
    if not changed:
        return None
    shift = Shift(tab)
    grid = snapshot.tabs.get(tab) if snapshot else None
    sent = {(w.row, w.col - 1): w for w, _ in pairs if not w.formula}

    def shows(src: list[int | None], over: bool) -> bool:
        """Whether the written cells read back as an edit `src` before (`over` False) or after
        the batch leaves them, where that can be told."""
        for (r, x), w in sent.items():
            if (tab, x + 1) not in after:
                continue
            if not over:
                want: Any = w.value
            else:
                y = _at(src, x, x)
                if y is None:
                    want = None
                elif (r, y) in sent:
                    want = sent[(r, y)].value
                elif r == header_row:
                    want = _at(was, y)
                elif (tab, y + 1) in before and not _is_formula(_cell(before, tab, y + 1, r)):
                    want = _cell(before, tab, y + 1, r)
                else:
                    continue
            if not same_value(_cell(after, tab, x + 1, r), want):
                return False
        return True

    early = [src for src in explain(was, now, ours, over=False) if shows(src, False)]
    late = [src for src in explain(was, now, ours, over=True) if shows(src, True)]

    def prior(w: CellWrite, origin: CellWrite, y: int | None) -> Any:
        """What the cell at the written row, in the column at re-read `y` (0-based), held just
        before the write; _AMBIGUOUS when nobody read it."""
        if y is None:
            return None  # an inserted column is empty
        if w.row == header_row:
            return _at(was, y)
        if (tab, y + 1) in before:
            return _cell(before, tab, y + 1, w.row)
        if grid is not None:
            return grid.cell(origin.row - 1, y)
        return _AMBIGUOUS

    if late and not early:
        shift.landed_elsewhere = True
        return shift
    for w, origin in pairs:
        x = w.col - 1
        if early and not late:
            if all(_at(src, x, x) == x for src in early):
                continue  # its column did not move: it landed
            held = {cell_key(v) if v is not _AMBIGUOUS else _AMBIGUOUS: v
                    for v in (prior(w, origin, _at(src, x, x)) for src in early)}
            shift.undone.add(origin.key)
            if len(held) == 1 and _AMBIGUOUS not in held:
                value = next(iter(held.values()))
                shift.restores.append(CellWrite(tab, w.row, w.col, value, formula=_is_formula(value)))
                continue
        elif x < changed[0]:
            continue  # left of every change: no single edit moved it
        shift.undone.add(origin.key)
        shift.unknown.append((w.row, w.col))
    return shift


def _at(seq: list[Any], i: int, default: Any = None) -> Any:
    v = seq[i] if 0 <= i < len(seq) else default
    return None if v == "" else v
