"""Stage History: an append-only log of each record's stage (or status) changes, and what it teaches.

Each sync compares every record's current stage with the last one logged for its ID and
appends a row for each change. Keying by ID, never by row position, is what makes sorting
or inserting rows in the Opportunities tab a non-event. IDs compare as everywhere else
(`cells.match_key`: case and spacing ignored), so an ID retyped "opp-0002" continues the
history of OPP-0002; each row keeps the ID as it was written, as it keeps its stage's words. A row carries the record's ID, so
opportunity stages ("OPP-0001") and lead statuses ("LEAD-0001") can share one tab or use
two: `record_changes` only looks at the IDs it is given.

The log only knows what sheetcrm saw: a record's first row is the day sheetcrm first saw
it (From empty), and two changes between syncs show as one.

Changed At is a day, and `run` syncs every few minutes: a record's changes of one day are
ordered by how they chain (each From is the To before it), never by their rows' order in the
tab, which a person may sort. When a day's rows do not chain to one last stage (a row deleted
or typed by hand), the log says so (`unordered`) rather than picking one.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal
from itertools import groupby
from typing import Any, Iterable, Mapping, Sequence

from sheetcrm.cells import match_key
from sheetcrm.crm.stages import StageTable, configured_probability
from sheetcrm.crm.money import Rates, ratio_points, to_base
from sheetcrm.crm.words import Words
from sheetcrm.records import Lead, Opportunity

# An ID's state as of this sync: its stage (or lead status) and, for deals, its amount.
State = tuple[str, Decimal | None]


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One logged change. `from_value`/`to_value` are the words as the tab shows them (a row
    keeps the text it was written with); `from_key`/`to_key` the canonical stage or status
    they name (the configured name), which is what every comparison uses, so "Proposal"
    logged by an older sync and "Propuesta" logged today are the same stage. The keys
    default to the words. Likewise `record_key` is `match_key(record_id)`, by which rows are
    grouped per record: "OPP-0002" and "opp-0002" are one record's rows."""

    record_id: str
    from_value: str | None      # None on the first row of a record
    to_value: str
    changed_at: dt.date
    amount: Decimal | None = None
    to_key: str = field(default="", compare=False)
    from_key: str | None = field(default=None, compare=False)
    record_key: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.record_key:
            object.__setattr__(self, "record_key", match_key(self.record_id))
        if not self.to_key:
            object.__setattr__(self, "to_key", self.to_value)
        if self.from_key is None:
            object.__setattr__(self, "from_key", self.from_value)

    def cells(self) -> list[Any]:
        """The row as written to the Stage History tab, in its columns' order (`names.OWNED`)."""
        return [self.record_id, self.from_value or "", self.to_value, self.changed_at, self.amount]


def opportunity_states(opportunities: Iterable[Opportunity], rates: Rates | None = None) -> dict[str, State]:
    """Each deal's stage and amount. With `rates`, the amount in the base currency at these
    rates (None without a rate: its `missing_rate` warning says so), which is what the Stage
    History's Amount column holds and shows: a row is a fact of its day, so the rate of that
    day stays in it. Without `rates`, the amount as typed (a single-currency team's)."""
    if rates is None:
        return {o.id: (o.stage, o.amount) for o in opportunities if o.id}
    return {o.id: (o.stage, to_base(o.amount, o.currency, rates)) for o in opportunities if o.id}


def lead_states(leads: Iterable[Lead]) -> dict[str, State]:
    return {lead.id: (lead.status, None) for lead in leads if lead.id and lead.status}


def timelines(history: Iterable[HistoryRow]) -> dict[str, list[HistoryRow]]:
    """Each ID's rows, oldest first: the rows whose IDs `match_key` makes equal, under the ID as
    the last of them spells it.

    People may sort the history tab, so order is by Changed At, and rows of one day by how
    they chain (`_chained`); a day whose rows do not chain keeps their order in the tab.
    """
    by_id: dict[str, list[HistoryRow]] = defaultdict(list)
    for row in history:
        by_id[row.record_key].append(row)
    for record_id, rows in by_id.items():
        rows.sort(key=lambda r: r.changed_at)  # stable: same-day rows keep tab order
        out: list[HistoryRow] = []
        state: Any = _UNKNOWN
        for _day, group in groupby(rows, key=lambda r: r.changed_at):
            day = list(group)
            out.extend(_chained(day, state) or day)
            ends = _day_ends(day, state)
            state = next(iter(ends)) if len(ends) == 1 else _UNKNOWN
        by_id[record_id] = out
    return {rows[-1].record_id: rows for rows in by_id.values()}


# The stage a record was in before a day's rows, when it cannot be told.
_UNKNOWN: Any = object()


def _balance(day: list[HistoryRow]) -> Counter:
    """How many more times each stage (key; None: not yet seen) is entered than left."""
    balance: Counter = Counter()
    for r in day:
        balance[r.from_key] -= 1
        balance[r.to_key] += 1
    return balance


def _day_ends(day: list[HistoryRow], start: Any = _UNKNOWN) -> frozenset[str]:
    """The stages (keys) a record's rows of one day can end in: one when they chain to one last
    stage, else each it may be.

    Each row leaves its From and enters its To, so a run of changes ends in the one stage
    entered more often than left, whatever the rows' order (an Euler path's end; identical
    rows, the same change twice, agree). When every stage is entered as often as left, the day
    went round and ended where it began, `start` (the previous day's end, or `_UNKNOWN`).
    """
    if len(day) == 1:
        return frozenset((day[0].to_key,))
    balance = _balance(day)
    sinks = frozenset(k for k, b in balance.items() if b > 0)
    if sinks:
        return sinks
    if start is not _UNKNOWN and start in balance:
        return frozenset((start,))
    return frozenset(r.to_key for r in day)


def _chained(day: list[HistoryRow], start: Any) -> list[HistoryRow] | None:
    """A day's rows in the order they chain, from `start` (the previous day's end) when a row
    leaves it, else from the one stage the day leaves more than enters; None when they do not
    chain into one order (identical rows are interchangeable)."""
    if start is _UNKNOWN or all(r.from_key != start for r in day):
        starts = [k for k, b in _balance(day).items() if b < 0]
        if len(starts) != 1:
            return None
        start = starts[0]
    rest, out, state = list(day), [], start
    while rest:
        nexts = [r for r in rest if r.from_key == state]
        if not nexts or len({r.to_key for r in nexts}) > 1:
            return None
        out.append(nexts[0])
        rest.remove(nexts[0])
        state = nexts[0].to_key
    return out


@dataclass(frozen=True, slots=True)
class Unordered:
    """An ID whose last day's rows do not chain to one last stage: `ends` are the stages
    (keys) it may be in, `rows` that day's rows, in tab order."""

    record_id: str
    day: dt.date
    rows: tuple[HistoryRow, ...]
    ends: frozenset[str]


def last_rows(history: Sequence[HistoryRow]) -> tuple[dict[str, HistoryRow], dict[str, Unordered]]:
    """(each ID's last row, the IDs whose last day cannot be ordered), both by `match_key` of
    the ID: `latest` and `unordered` in one go. The last row is the
    last day's row into the stage that day ends in (`_day_ends`); for an unordered day, the
    last of that day in tab order. One pass; an ID whose last day has several rows that only
    their start can order is looked at whole (a rare second pass)."""
    last: dict[str, HistoryRow] = {}
    days: dict[str, list[HistoryRow]] = {}   # IDs with more than one row on their last day
    for row in history:
        record_id = row.record_key
        held = last.get(record_id)
        if held is None:
            last[record_id] = row
            continue
        at, was = row.changed_at, held.changed_at
        if at > was:
            last[record_id] = row
            if record_id in days:
                del days[record_id]
        elif at == was:
            day = days.get(record_id)
            if day is None:
                day = days[record_id] = [held]
            day.append(row)
            last[record_id] = row
    unordered: dict[str, Unordered] = {}
    if not days:
        return last, unordered
    # A day that went round ends where it began: the previous day's end, from the ID's timeline.
    round_trip = {record_id for record_id, day in days.items() if not any(b > 0 for b in _balance(day).values())}
    starts: dict[str, Any] = {}
    if round_trip:
        earlier: dict[str, list[HistoryRow]] = defaultdict(list)
        for row in history:
            if row.record_key in round_trip and row.changed_at < last[row.record_key].changed_at:
                earlier[row.record_key].append(row)
        for before in timelines([r for rows in earlier.values() for r in rows]).values():
            ends = _day_ends([r for r in before if r.changed_at == before[-1].changed_at])
            starts[before[-1].record_key] = next(iter(ends)) if len(ends) == 1 else _UNKNOWN
    for record_id, day in days.items():
        ends = _day_ends(day, starts.get(record_id, _UNKNOWN))
        if len(ends) == 1:
            end = next(iter(ends))
            last[record_id] = next(r for r in reversed(day) if r.to_key == end)
        else:
            unordered[record_id] = Unordered(day[0].record_id, day[0].changed_at, tuple(day), ends)
    return last, unordered


def latest(history: Iterable[HistoryRow]) -> dict[str, HistoryRow]:
    """The last logged row of each ID (under the ID as that row spells it; IDs `match_key` makes
    equal are one): of its last Changed At, the row into the stage that
    day's rows chain to (sorting the tab changes nothing); see `unordered` for a day that
    does not chain."""
    last = last_rows(history if isinstance(history, (list, tuple)) else list(history))[0]
    return {row.record_id: row for row in last.values()}


def unordered(history: Iterable[HistoryRow]) -> list[Unordered]:
    """The IDs whose last day's rows do not chain to one last stage, in the order of their
    first row of that day: which stage they are in per the log cannot be told."""
    return list(last_rows(history if isinstance(history, (list, tuple)) else list(history))[1].values())


def told_by_earlier(history: Sequence[HistoryRow]) -> set[str]:
    """The IDs (by `match_key`) whose last stage or day entered their last day's rows cannot
    tell alone: a last day that went round, which ends where the day before ended
    (`_day_ends`), and a last row with an empty From after earlier days (a change whose From
    could not be told, dated its own day by `stage_entered`, not Created). A sheet that gives
    up old rows (`warehouse.keep`) keeps these IDs' earlier rows, else the same log would read
    as unordered, or as first seen."""
    days: dict[str, list[HistoryRow]] = {}
    first: dict[str, dt.date] = {}
    for row in history:
        key, at = row.record_key, row.changed_at
        if key not in first or at < first[key]:
            first[key] = at
        day = days.get(key)
        if day is None or at > day[0].changed_at:
            days[key] = [row]
        elif at == day[0].changed_at:
            day.append(row)
    out = set()
    for key, day in days.items():
        if first[key] == day[0].changed_at:
            continue  # nothing earlier to keep
        if (len(day) > 1 and not any(b > 0 for b in _balance(day).values())) \
                or any(r.from_key is None for r in day):
            out.add(key)
    return out


def logged_before_created(history: Iterable[HistoryRow], created: Mapping[str, dt.date | None],
                          as_of: dt.date) -> dict[str, dt.date]:
    """The IDs of `created` (ID -> Created, as the records spell them) whose log begins before
    the record was created, on or before `as_of` (a Created after it is `created_after_sync`'s
    to say): ID -> the day its log begins. No record is in a stage before it exists, so those
    rows are another record's under the same ID (a deleted row's ID typed again for a new
    deal), or Created is wrong: which, sheetcrm cannot tell."""
    made = {match_key(record_id): (record_id, day) for record_id, day in created.items()
            if day is not None and day <= as_of}
    first: dict[str, dt.date] = {}
    if made:
        for row in history:
            key = row.record_key
            if key in made and (key not in first or row.changed_at < first[key]):
                first[key] = row.changed_at
    return {made[key][0]: day for key, day in first.items() if day < made[key][1]}


def record_changes(previous: Iterable[HistoryRow], current: Mapping[str, State],
                   as_of: dt.date, words: Words | None = None, kind: str = "stage",
                   created: Mapping[str, dt.date | None] | None = None) -> list[HistoryRow]:
    """The rows to append for this sync, in the order of `current` (ID -> canonical key, amount).

    An ID seen for the first time gets a row with an empty From; an ID whose stage differs
    from its last logged row (compared by canonical key; `latest`) gets a row from that stage
    to the new one. An ID whose last day does not chain (`unordered`) gets a row only when
    its stage is none that day may have ended in, with an empty From: where it came from
    cannot be told. An amount change alone is not a stage change. IDs in `previous` but not in
    `current` (deleted rows, or the other kind of record in a shared tab) are left alone.
    A change is dated `as_of`, or the day of the row it follows when that is later (another
    computer's clock ahead of this one's): a change never sorts before the one it follows.
    The new rows' words are `words(kind, key)` (`crm.words`), else the keys themselves.
    An ID is the logged one when `match_key` makes them equal (retyped in another case, a
    non-breaking space): its new row names it as `current` spells it now, the record's ID as
    its tab shows it today, as the row's stage words are today's.
    `created` (ID -> Created): a record whose last logged row is dated before its Created is
    not the one that row logged (`logged_before_created`): its change is logged with an empty
    From, never as a move from another record's stage ("Closed Won" to "Prospecting").
    """
    made = {match_key(record_id): day for record_id, day in created.items() if day is not None} if created else {}
    spell = (lambda key: words(kind, key)) if words is not None else (lambda key: key)
    last, unsure = last_rows(previous if isinstance(previous, (list, tuple)) else list(previous))
    rows: list[HistoryRow] = []
    for record_id, (value, amount) in current.items():
        if not record_id or not value:
            continue
        key = match_key(record_id)
        held = last.get(key)
        if held is None:
            rows.append(HistoryRow(record_id, None, spell(value), as_of, amount, to_key=value))
            continue
        day = max(as_of, held.changed_at)
        doubt = unsure.get(key)
        if doubt is not None:
            if value not in doubt.ends:
                rows.append(HistoryRow(record_id, None, spell(value), day, amount, to_key=value))
        elif held.to_key != value and key in made and held.changed_at < made[key] <= as_of:
            rows.append(HistoryRow(record_id, None, spell(value), day, amount, to_key=value))
        elif held.to_key != value:
            rows.append(HistoryRow(record_id, spell(held.to_key), spell(value), day, amount, to_key=value,
                                   from_key=held.to_key))
    return rows


def stage_entered(history: Iterable[HistoryRow], created: Mapping[str, dt.date | None] | None = None
                  ) -> dict[str, dt.date]:
    """The date each ID entered the stage it is in now (per the log), under the ID as its last
    row spells it: a record whose ID is spelt otherwise now is found by `match_key`.

    A last row with an empty From says when sheetcrm first saw the ID in that stage, not when
    it entered it: then the ID's Created (`created`, ID -> date) when earlier, the earliest it
    can have, so a deal idle since long before sheetcrm's first sync shows its age and rots,
    rather than 0 days (`crm.stages.opportunity_metrics` counts Days in Stage from it).
    Only on the ID's first day, though: an empty From after earlier rows is a change whose
    From could not be told (`record_changes` after an `unordered` day), made since the row
    before it, so it counts from its own day like any change.
    Never before Created: no record is in a stage before it exists, so a log that says so is
    another record's under the same ID, or Created is wrong (`logged_before_created`)."""
    entered = {}
    history = history if isinstance(history, (list, tuple)) else list(history)
    made_on = {match_key(record_id): day for record_id, day in created.items()} if created else {}
    last = latest(history)
    # The IDs whose last row has an empty From, until a row of theirs dated earlier turns up.
    seen = {row.record_key: row.changed_at for row in last.values() if row.from_key is None} if made_on else {}
    if seen:
        for row in history:
            day = seen.get(row.record_key)
            if day is not None and row.changed_at < day:
                del seen[row.record_key]
    for record_id, row in last.items():
        day = row.changed_at
        made = made_on.get(row.record_key)
        if made is not None and (made > day or (made < day and row.record_key in seen)):
            day = made
        entered[record_id] = day
    return entered


@dataclass(slots=True)
class _Journey:
    """What the log says about one ID, gathered in one pass with no sorting (`last`: `latest`'s)."""

    reached: set[str]
    first_seen: dt.date
    last: HistoryRow
    won_at: dt.date | None = None
    ends: frozenset[str] | None = None  # the stages an `unordered` last day may end in


# The key suffix of the rows an ID logged before its record's Created (`_apart`).
_BEFORE = "\x00before"


def _apart(history: Sequence[HistoryRow], created: Mapping[str, dt.date | None] | None,
           as_of: dt.date | None) -> Sequence[HistoryRow]:
    """`history` with the rows each ID logged before its record's Created (`logged_before_created`)
    keyed apart, as another record's. A deleted deal's ID typed again for a new one: the old
    deal's Closed Lost and the new one's Closed Won were one journey, last Won, so a stage
    both passed counted one won deal where there were a lost and a won one. Record changes
    and Days in Stage read those rows as another record's already; history_before_created
    says at the ID that Created may be wrong instead."""
    if not created:
        return history
    early = logged_before_created(history, created, as_of or dt.date.max)
    if not early:
        return history
    made = {match_key(record_id): created[record_id] for record_id in early}
    return [replace(row, record_key=row.record_key + _BEFORE)
            if (day := made.get(row.record_key)) is not None and row.changed_at < day else row
            for row in history]


def _journeys(history: Iterable[HistoryRow], stages: StageTable, created: Mapping[str, dt.date | None] | None = None,
              as_of: dt.date | None = None) -> dict[str, _Journey]:
    won = {s.name for s in stages.stages if s.kind == "won"}
    history = _apart(history if isinstance(history, (list, tuple)) else list(history), created, as_of)
    journeys: dict[str, _Journey] = {}
    for row in history:
        at = row.changed_at
        j = journeys.get(row.record_key)
        if j is None:
            j = journeys[row.record_key] = _Journey({row.to_key}, at, row)
        else:
            j.reached.add(row.to_key)
            if at < j.first_seen:
                j.first_seen = at
        if row.from_key:
            # A From is a stage the record was in too, even if the row that logged it was deleted.
            j.reached.add(row.from_key)
        if row.to_key in won and (j.won_at is None or at < j.won_at):
            j.won_at = at
    last, unsure = last_rows(history)  # same-day rows chained, not in tab order
    for key, row in last.items():
        journeys[key].last = row
    for key, doubt in unsure.items():
        journeys[key].ends = doubt.ends
    return journeys


def sales_cycles(history: Iterable[HistoryRow], stages: StageTable, created: Mapping[str, dt.date | None] | None = None,
                 as_of: dt.date | None = None) -> dict[str, int]:
    """Days from the first logged row to the first move into a won stage, per won ID (as its
    last row spells it); `created` (ID -> Created): the rows before it are another record's
    (`_apart`), not this one's."""
    return {j.last.record_id: (j.won_at - j.first_seen).days
            for key, j in _journeys(history, stages, created, as_of).items()
            if j.won_at is not None and not key.endswith(_BEFORE)}


@dataclass(frozen=True)
class StageConversion:
    stage: str
    reached: int            # IDs that were ever in this stage
    advanced: int           # of those, IDs that were ever in a later open stage or a won stage
    rate: Decimal | None    # advanced ÷ reached, in points


@dataclass(frozen=True)
class StageWinRate:
    """A stage's configured probability beside what its deals actually did."""

    stage: str
    configured: Decimal     # points
    historical: Decimal | None  # won ÷ closed of the deals ever in this stage, in points
    n: int                  # closed deals ever in this stage
    won: int


def stage_conversion(history: Iterable[HistoryRow], stages: StageTable,
                     created: Mapping[str, dt.date | None] | None = None,
                     as_of: dt.date | None = None) -> list[StageConversion]:
    """For each open stage, the share of IDs ever in it that got further (`created`: as in
    `stage_win_rates`).

    Lost is not further. Deals still sitting in the stage count as not (yet) advanced.
    """
    order = {s.name: i for i, s in enumerate(stages.stages) if s.kind == "open"}
    won = {s.name for s in stages.stages if s.kind == "won"}
    reached_count = dict.fromkeys(order, 0)
    advanced_count = dict.fromkeys(order, 0)
    for j in _journeys(history, stages, created, as_of).values():
        open_reached = [name for name in j.reached if name in order]
        if not open_reached:
            continue
        furthest = max(order[name] for name in open_reached)
        ever_won = not won.isdisjoint(j.reached)
        for name in open_reached:
            reached_count[name] += 1
            if ever_won or furthest > order[name]:
                advanced_count[name] += 1
    return [StageConversion(name, reached_count[name], advanced_count[name],
                            ratio_points(advanced_count[name], reached_count[name])) for name in order]


def stage_win_rates(history: Iterable[HistoryRow], stages: StageTable,
                    created: Mapping[str, dt.date | None] | None = None,
                    as_of: dt.date | None = None) -> list[StageWinRate]:
    """For each open stage: of the IDs ever in it that are now closed (won or lost), the share won.

    "Now" is the last logged row, so run `record_changes` for this sync first; an ID whose last
    day does not chain (`unordered`) counts only when each stage it may end in is of one kind.
    `created` (ID -> Created) and `as_of`: an ID's rows from before its record's Created (up
    to `as_of`) are another record's, counted as one of their own (`_apart`).
    """
    kind = {s.name: s.kind for s in stages.stages}
    open_stages = stages.open
    closed = dict.fromkeys((s.name for s in open_stages), 0)
    won = dict.fromkeys((s.name for s in open_stages), 0)
    for j in _journeys(history, stages, created, as_of).values():
        # A last day that does not chain counts only when every stage it may end in agrees:
        # else the tab's order would decide whether the deal was won (history_unordered says it).
        outcomes = {kind.get(end) for end in j.ends} if j.ends else {kind.get(j.last.to_key)}
        outcome = outcomes.pop() if len(outcomes) == 1 else None
        if outcome not in ("won", "lost"):
            continue
        for name in j.reached:
            if name in closed:
                closed[name] += 1
                won[name] += outcome == "won"
    return [StageWinRate(s.name, configured_probability(s), ratio_points(won[s.name], closed[s.name]),
                         closed[s.name], won[s.name]) for s in open_stages]
