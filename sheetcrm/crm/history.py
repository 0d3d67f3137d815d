"""Stage History: an append-only log of each record's stage (or status) changes, and what it teaches.

Each sync compares every record's current stage with the last one logged for its ID and
appends a row for each change. Keying by ID, never by row position, is what makes sorting
or inserting rows in the Opportunities tab a non-event. A row carries the record's ID, so
opportunity stages ("OPP-0001") and lead statuses ("LEAD-0001") can share one tab or use
two: `record_changes` only looks at the IDs it is given.

The log only knows what sheetcrm saw: a record's first row is the day sheetcrm first saw
it (From empty), and two changes between syncs show as one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Mapping

from sheetcrm.crm.stages import StageTable, configured_probability
from sheetcrm.crm.money import ratio_points
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
    default to the words."""

    record_id: str
    from_value: str | None      # None on the first row of a record
    to_value: str
    changed_at: dt.date
    amount: Decimal | None = None
    to_key: str = field(default="", compare=False)
    from_key: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.to_key:
            object.__setattr__(self, "to_key", self.to_value)
        if self.from_key is None:
            object.__setattr__(self, "from_key", self.from_value)

    def cells(self) -> list[Any]:
        """The row as written to the Stage History tab, in its columns' order (`names.OWNED`)."""
        return [self.record_id, self.from_value or "", self.to_value, self.changed_at, self.amount]


def opportunity_states(opportunities: Iterable[Opportunity]) -> dict[str, State]:
    return {o.id: (o.stage, o.amount) for o in opportunities if o.id}


def lead_states(leads: Iterable[Lead]) -> dict[str, State]:
    return {lead.id: (lead.status, None) for lead in leads if lead.id and lead.status}


def timelines(history: Iterable[HistoryRow]) -> dict[str, list[HistoryRow]]:
    """Each ID's rows, oldest first.

    People may sort the history tab, so order is by Changed At; rows of the same day keep
    their order in the tab, which is the order sheetcrm appended them in unless re-sorted.
    """
    by_id: dict[str, list[HistoryRow]] = defaultdict(list)
    for row in history:
        by_id[row.record_id].append(row)
    for rows in by_id.values():
        rows.sort(key=lambda r: r.changed_at)  # stable: same-day rows keep tab order
    return by_id


def latest(history: Iterable[HistoryRow]) -> dict[str, HistoryRow]:
    """The last logged row of each ID."""
    last: dict[str, HistoryRow] = {}
    for row in history:
        held = last.get(row.record_id)
        if held is None or row.changed_at >= held.changed_at:
            last[row.record_id] = row
    return last


def record_changes(previous: Iterable[HistoryRow], current: Mapping[str, State],
                   as_of: dt.date, words: Words | None = None, kind: str = "stage") -> list[HistoryRow]:
    """The rows to append for this sync, in the order of `current` (ID -> canonical key, amount).

    An ID seen for the first time gets a row with an empty From; an ID whose stage differs
    from its last logged row (compared by canonical key) gets a row from that stage to the
    new one. An amount change alone is not a stage change. IDs in `previous` but not in
    `current` (deleted rows, or the other kind of record in a shared tab) are left alone.
    The new rows' words are `words(kind, key)` (`crm.words`), else the keys themselves.
    """
    spell = (lambda key: words(kind, key)) if words is not None else (lambda key: key)
    last = latest(previous)
    rows: list[HistoryRow] = []
    for record_id, (value, amount) in current.items():
        if not record_id or not value:
            continue
        held = last.get(record_id)
        if held is None:
            rows.append(HistoryRow(record_id, None, spell(value), as_of, amount, to_key=value))
        elif held.to_key != value:
            rows.append(HistoryRow(record_id, spell(held.to_key), spell(value), as_of, amount, to_key=value,
                                   from_key=held.to_key))
    return rows


def stage_entered(history: Iterable[HistoryRow]) -> dict[str, dt.date]:
    """The date each ID entered the stage it is in now (per the log)."""
    return {record_id: row.changed_at for record_id, row in latest(history).items()}


@dataclass(slots=True)
class _Journey:
    """What the log says about one ID, gathered in one pass with no sorting."""

    reached: set[str]
    first_seen: dt.date
    last: HistoryRow
    won_at: dt.date | None = None


def _journeys(history: Iterable[HistoryRow], stages: StageTable) -> dict[str, _Journey]:
    won = {s.name for s in stages.stages if s.kind == "won"}
    journeys: dict[str, _Journey] = {}
    for row in history:
        at = row.changed_at
        j = journeys.get(row.record_id)
        if j is None:
            j = journeys[row.record_id] = _Journey({row.to_key}, at, row)
        else:
            j.reached.add(row.to_key)
            if at >= j.last.changed_at:
                j.last = row
            if at < j.first_seen:
                j.first_seen = at
        if row.from_key:
            # A From is a stage the record was in too, even if the row that logged it was deleted.
            j.reached.add(row.from_key)
        if row.to_key in won and (j.won_at is None or at < j.won_at):
            j.won_at = at
    return journeys


def sales_cycles(history: Iterable[HistoryRow], stages: StageTable) -> dict[str, int]:
    """Days from the first logged row to the first move into a won stage, per won ID."""
    return {record_id: (j.won_at - j.first_seen).days
            for record_id, j in _journeys(history, stages).items() if j.won_at is not None}


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


def stage_conversion(history: Iterable[HistoryRow], stages: StageTable) -> list[StageConversion]:
    """For each open stage, the share of IDs ever in it that got further.

    Lost is not further. Deals still sitting in the stage count as not (yet) advanced.
    """
    order = {s.name: i for i, s in enumerate(stages.stages) if s.kind == "open"}
    won = {s.name for s in stages.stages if s.kind == "won"}
    reached_count = dict.fromkeys(order, 0)
    advanced_count = dict.fromkeys(order, 0)
    for j in _journeys(history, stages).values():
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


def stage_win_rates(history: Iterable[HistoryRow], stages: StageTable) -> list[StageWinRate]:
    """For each open stage: of the IDs ever in it that are now closed (won or lost), the share won.

    "Now" is the last logged row, so run `record_changes` for this sync first.
    """
    kind = {s.name: s.kind for s in stages.stages}
    open_stages = stages.open
    closed = dict.fromkeys((s.name for s in open_stages), 0)
    won = dict.fromkeys((s.name for s in open_stages), 0)
    for j in _journeys(history, stages).values():
        outcome = kind.get(j.last.to_key)
        if outcome not in ("won", "lost"):
            continue
        for name in j.reached:
            if name in closed:
                closed[name] += 1
                won[name] += outcome == "won"
    return [StageWinRate(s.name, configured_probability(s), ratio_points(won[s.name], closed[s.name]),
                         closed[s.name], won[s.name]) for s in open_stages]
