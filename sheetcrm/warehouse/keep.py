"""What the sheet keeps of its long histories with `[warehouse] keep_months`: pure.

Stage History, Lead Status History and the Sync Log grow forever; with `keep_months = N` the
sheet keeps their last N months and the warehouse keeps every row (docs/warehouse.md). The
rules, each for a reason:

- a row leaves the sheet only when it is dated before `cutoff(as_of, N)` (whole months) AND the warehouse
  already holds it by its natural key (`history_keys`, the key `warehouse.rows` mirrors it
  by) with the same cells (a Stage History row's Amount, a Sync Log row's every cell), as the
  sync shell asked before planning (`Archive.held`): a failed or skipped mirror removes
  nothing, and neither does a row a person edited after it was mirrored (the warehouse
  appends a row once, so only the sheet holds the edit) nor the second of two Sync Log rows
  of one Time and Job;
- each record's last history row stays whatever its age: `record_changes`, `stage_entered`
  (Days in Stage, rotting) and the conversion step read it; so do all the rows of a record
  whose last day needs them (`crm.history.told_by_earlier`: a day that went round ends where
  the day before ended);
- rows that share a key but for `n` (the same change twice on one day) leave together or not
  at all, so the kept rows' keys never renumber;
- the forecast's calibration (`crm.history.stage_win_rates`) counts every row ever logged: it
  reads the rows the sheet gave up back from the warehouse (`Archive.stage_rows`, the rows
  sheetcrm marked `trimmed_on` there before removing them), beside the sheet's
  (`calibrated`). The `_sheetcrm` mark `ARCHIVED` counts the Stage History rows the
  sheet gave up; when the warehouse cannot show that many this sync, a `calibration_partial`
  warning on the Forecast tab says the calibration covers only the history the sheet holds
  (`Calibration.partial`), instead of a silently different number.

The shell (`sheetcrm.sync`) reads the `Archive` before planning and marks what a plan removes
(`Trim.stage`, `Trim.lead`) in the warehouse before the write; if that fails it plans again
removing nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping, Sequence

from sheetcrm import cells
from sheetcrm.crm.history import HistoryRow, latest, told_by_earlier, unordered

# The natural key of a history row in the warehouse: record_id, changed_at, from_value ('' on
# a record's first row), to_value, n (1 for the first of identical rows, in tab order). The
# values are the stages (statuses) the words name, by their configured names (`HistoryRow.to_key`),
# as `opportunities.stage` holds them: a Spanish sheet's "Ganada" is "Closed Won" here; and
# record_id is the record's ID as its row spells it now (`id_spellings`), as `opportunities.id`
# holds it: rows logged as "OPP-0001" before the ID was retyped "opp-0001" are "opp-0001" here.
HistoryKey = tuple[str, dt.date, str, str, int]
# A Sync Log row's: its Time and Job cells as text.
LogKey = tuple[str, str]

# The `_sheetcrm` mark counting the Stage History rows the sheet handed to the warehouse.
ARCHIVED = "archived:stage_history"
# The `_sheetcrm` mark naming this workbook's rows in the warehouse (`trimmed_by`): drawn at
# random when the sheet first gives rows up, so a new workbook at the same path or URL (a
# demo made again, a file deleted and made anew) never counts another's archived rows.
ARCHIVE_ID = "archive:workbook"


@dataclass(frozen=True)
class Archive:
    """What the warehouse held of this workbook before the sync (read by `sync.read_archive`).

    `held`: warehouse table name ("stage_history", "lead_status_history", "sync_log") -> the
    rows it holds dated before the cutoff, key -> the row's other cells as it holds them
    (`history_content`, `log_content`); `stage_rows`: the Stage History rows workbooks
    gave up earlier (marked trimmed in the warehouse): (key, amount, the ARCHIVE_ID of the
    workbook that gave it up), oldest first; `new_id`: a fresh ARCHIVE_ID the shell drew, for a
    workbook that has none yet (the core draws nothing)."""

    held: dict[str, Mapping[Any, Any]] = field(default_factory=dict)
    stage_rows: tuple[tuple[HistoryKey, Decimal | None, int | None], ...] = ()
    new_id: int = 0

    def holding_nothing(self) -> "Archive":
        """The same archive for the calibration, with nothing the sheet may remove."""
        return Archive({}, self.stage_rows, self.new_id)

    def given_up_by(self, workbook: int) -> dict[HistoryKey, Decimal | None]:
        """The Stage History rows the workbook of ARCHIVE_ID `workbook` gave up: key -> amount."""
        return {key: amount for key, amount, by in self.stage_rows if workbook and by == workbook}


@dataclass
class Trim:
    """What one plan removes from the sheet, by key: the shell marks the histories' in the
    warehouse before the write."""

    stage: list[HistoryKey] = field(default_factory=list)
    lead: list[HistoryKey] = field(default_factory=list)
    log: int = 0   # Sync Log rows
    by: int = 0    # the workbook's ARCHIVE_ID, which the warehouse marks them with

    def counts(self) -> dict[str, int]:
        """Rows removed per warehouse table name, only those with some."""
        counts = {"stage_history": len(self.stage), "lead_status_history": len(self.lead), "sync_log": self.log}
        return {name: n for name, n in counts.items() if n}


def cutoff(as_of: dt.date, months: int) -> dt.date:
    """The first day of the month `months` months before `as_of`'s: rows dated before it are
    older than `months` months. Whole months, so rows leave a month at a time: the tabs are
    rewritten once a month, not every day."""
    year, month = divmod(as_of.year * 12 + as_of.month - 1 - months, 12)
    return dt.date(year, month + 1, 1)


# Which record tab each history's IDs name: its rows' record_id is spelled as that tab's rows are.
HISTORY_RECORDS = {"stage_history": "opportunities", "lead_status_history": "leads"}

Spell = Callable[[str], str]


def history_ids(tables: Mapping[str, Any]) -> dict[str, list[str]]:
    """Per history table name, the IDs of the records it logs (`HISTORY_RECORDS`) as their
    rows in `tables` (tab kind -> a table whose rows have `.id`) spell them now, sorted."""
    return {name: sorted({r.id for r in table.rows if r.id}) for name, kind in HISTORY_RECORDS.items()
            if (table := tables.get(kind)) is not None}


def id_spellings(tables: Mapping[str, Any]) -> dict[str, Spell]:
    """Per history table name, `spell(record_id)`: the ID as the record's row spells it now
    (`history_ids`, `cells.id_spelling`: as it is when no row, or several, match). Without it
    the warehouse kept the rows logged before an ID was retyped in another case under the old
    spelling, and a join on `opportunities.id` dropped them."""
    return {name: cells.id_spelling(ids) for name, ids in history_ids(tables).items()}


def history_keys(rows: Iterable[HistoryRow], spell: Spell | None = None) -> list[HistoryKey]:
    """Each row's warehouse key, in order (`n` numbers identical rows in tab order): its stages
    by their configured names (`to_key`, `from_key`), never the sheet's words, and its ID as
    `spell` (`id_spellings`) gives it, so the warehouse's histories join `opportunities.stage`,
    `leads.status` and their `id`."""
    seen: Counter = Counter()
    out: list[HistoryKey] = []
    for h in rows:
        base = (spell(h.record_id) if spell is not None else h.record_id, h.changed_at, h.from_key or "", h.to_key)
        seen[base] += 1
        out.append((*base, seen[base]))
    return out


def history_content(row: HistoryRow, with_amount: bool) -> Decimal | None:
    """What the warehouse holds of a history row besides its key: Stage History's Amount."""
    return row.amount if with_amount else None


def same_content(held: Any, sheet: Any) -> bool:
    """Whether the warehouse's copy of a row's cells is the sheet's: numbers by value (a
    database's NUMERIC may come back as 89750.0000000000 for the sheet's 89750)."""
    if isinstance(held, tuple) and isinstance(sheet, tuple):
        return len(held) == len(sheet) and all(map(same_content, held, sheet))
    if isinstance(held, (int, Decimal)) and isinstance(sheet, (int, Decimal)):
        return Decimal(held) == Decimal(sheet)
    return held == sheet


def kept_history(rows: Sequence[HistoryRow], held: Mapping[Any, Any], before: dt.date, with_amount: bool = False,
                 spell: Spell | None = None) -> tuple[list[HistoryRow], list[HistoryKey]]:
    """(the rows the tab keeps, in order; the keys of those it gives up). A group of identical
    rows (one key but for n) is given up only whole, never the group of a record's last row,
    and a row only when the warehouse holds it as the sheet has it (`with_amount`: Stage
    History's Amount compared too), under the key the mirror gives it (`spell`: `id_spellings`)."""
    keys = history_keys(rows, spell)
    last = {id(row) for row in latest(rows).values()}
    # A last day whose rows do not chain stays whole: keeping one of them would settle it silently.
    last.update(id(row) for doubt in unordered(rows) for row in doubt.rows)
    # A last day that went round, or a last row with an empty From after earlier ones, is told
    # by the rows before it: giving those up would make a settled log unordered, or first seen.
    earlier = told_by_earlier(rows)
    last.update(id(row) for row in rows if row.record_key in earlier)
    groups: dict[tuple, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key[:4], []).append(i)
    gone: set[int] = set()
    for base, members in groups.items():
        if base[1] < before and all(keys[i] in held and id(rows[i]) not in last
                                    and same_content(held[keys[i]], history_content(rows[i], with_amount))
                                    for i in members):
            gone.update(members)
    return [r for i, r in enumerate(rows) if i not in gone], [keys[i] for i in sorted(gone)]


def log_key(row: Sequence[Any]) -> LogKey | None:
    """A Sync Log row's key as the warehouse holds it (`warehouse.rows`), None without one."""
    time, job = (cell_text(row[i]) if i < len(row) else None for i in (0, 1))
    return (time, job) if time and job else None


# A Sync Log row's cells after Time and Job, as the warehouse's columns hold them.
LOG_COLUMNS = ("duration_s", "rows_read", "issues", "cells_written", "requests", "status", "message")


def log_content(row: Sequence[Any]) -> tuple[Any, ...]:
    """A Sync Log row's cells after its key, in LOG_COLUMNS order, as the warehouse holds them:
    Duration a number, the counts whole numbers, Status and Message text (None when empty or
    not such)."""
    cells_ = (list(row[2:9]) + [None] * 7)[:7]
    return (_number(cells_[0]), *(_integer(v) for v in cells_[1:5]), cell_text(cells_[5]), cell_text(cells_[6]))


def _number(v: Any) -> Decimal | None:
    # A native number too goes through parse_number's bound (below 10^15): a 1e300 typed in the
    # Sync Log overflowed the warehouse's bigint and failed every mirror until it was fixed.
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        return None
    try:
        return cells.parse_number(v, "en")
    except cells.CellError:
        return None


def _integer(v: Any) -> int | None:
    n = _number(v)
    return int(n) if n is not None and n == n.to_integral_value() else None


def log_day(time: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(time[:10])
    except ValueError:
        return None


def kept_log(rows: Sequence[Sequence[Any]], held: Mapping[Any, Any], before: dt.date) -> list[Sequence[Any]]:
    """The Sync Log rows the tab keeps: all but those dated before `before` that the warehouse
    holds with the same cells (`log_content`). The warehouse holds one row per Time and Job, so
    of rows sharing them only the first may leave: a second one, even identical, stays."""
    out = []
    seen: set[LogKey] = set()
    for row in rows:
        key = log_key(row)
        day = log_day(key[0]) if key else None
        if key is None or day is None or day >= before or key not in held or key in seen \
                or not same_content(held[key], log_content(row)):
            out.append(row)
        if key is not None:
            seen.add(key)
    return out


@dataclass(frozen=True)
class Calibration:
    """What the forecast's calibration counts (`calibrated`), and what it says of it.

    `rows`: the history `crm.history.stage_win_rates` counts; `partial`: the sheet gave up more
    rows (the ARCHIVED mark) than the warehouse shows; `beyond`: how many more rows the
    warehouse holds as given up by this workbook than this copy of it gave up (an older copy
    restored from a backup: which are its own cannot be told, so none counts); `unknown`: the
    stage words of archived rows no configured stage or alias reads (a stage renamed without an
    alias for its old name: the warehouse's rows cannot be edited), in order."""

    rows: list[HistoryRow]
    partial: bool = False
    beyond: int = 0
    unknown: tuple[str, ...] = ()


def calibrated(old: Sequence[HistoryRow], new: Sequence[HistoryRow], archive: Archive | None, archived: int,
               workbook: int = 0, names: Mapping[str, str] | None = None, spell: Spell | None = None) -> Calibration:
    """The calibration's history: the archived rows this workbook (ARCHIVE_ID `workbook`) gave
    up that the sheet no longer holds (older, so first: a record's last row stays the
    sheet's), then the sheet's (`new`: the history with this sync's changes; `old`: as read).
    `archived` is the ARCHIVED mark; `names` reads an archived row's words as the read does a
    tab's (`inputs.read_history`: normalised word -> stage); `spell` the Stage History's IDs
    as the mirror keys them (`id_spellings`), an archived row's too: one the warehouse holds
    under an ID's older spelling is the sheet's row all the same."""
    given_up = archive.given_up_by(workbook) if archive is not None else {}
    have = set(history_keys(old, spell))

    def spelt(key: HistoryKey) -> HistoryKey:
        return (spell(key[0]), *key[1:]) if spell is not None else key  # type: ignore[return-value]

    gone = {key: amount for key, amount in given_up.items() if spelt(key) not in have}
    partial = archived > 0 and (archive is None or len(gone) < archived)
    beyond = max(0, len(gone) - archived)
    words: dict[str, None] = {}
    for (_record, _day, from_, to, _n) in gone if names is not None else ():
        words.update((w, None) for w in (from_, to) if w and cells.normalize_key(w) not in names)
    if beyond or not gone:
        return Calibration(list(new), partial, beyond, tuple(words))

    def key(text: str | None) -> str | None:
        return names.get(cells.normalize_key(text), text) if text and names is not None else text

    have_new = set(history_keys(new, spell))
    rows = [HistoryRow(record, from_ or None, to, day, amount, to_key=key(to) or to, from_key=key(from_ or None))
            for (record, day, from_, to, n), amount in gone.items() if spelt((record, day, from_, to, n)) not in have_new]
    return Calibration(rows + list(new), partial, beyond, tuple(words))


def cell_text(v: Any) -> str | None:
    """A cell as the warehouse's text columns hold it: dates ISO, whole floats without ".0"."""
    if v is None or v == "":
        return None
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
