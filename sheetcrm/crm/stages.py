"""The sales stages and what each opportunity's stage says about it today.

`opportunity_metrics` gives the computed columns of the Opportunities tab. Activities and
tasks are indexed by their `related` ID once (`RelatedIndex`), so the per-opportunity work
is a few dict lookups even with hundreds of thousands of activities.

A future-dated activity (a meeting booked for next month) is a plan, not a sign of life
(`is_plan`): every "last activity" sheetcrm works out skips it until its day comes, so a deal
nobody has touched for weeks rots though a meeting is booked, and Last Activity never shows a
day that has not come. The same rule holds for the lead score's engagement (crm/rules.py),
the account's health (crm/overview.py), a case's First Response (engine.case_results) and the
workflows' Last Activity (steps/workflows.py).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable, Literal, Mapping, Sequence, get_args

from pydantic import Field

from sheetcrm.cells import match_key
from sheetcrm.records import Activity, Contact, Opportunity, Task
from sheetcrm.settings import Section

_HUNDRED = Decimal(100)

Category = Literal["Pipeline", "Best Case", "Commit", "Closed", "Omitted"]  # not for people: the engine's keys; cells get the team's words (crm.words)
CATEGORIES: tuple[str, ...] = get_args(Category)  # the forecast categories, as the engine keys them
PIPELINE: Category = "Pipeline"  # the category of deals a team may leave undated (steps/compute.py)
# An open deal in this category is out of every pipeline figure (Pipeline tab, Forecast,
# Dashboard, Segments, Accounts Overview), as Salesforce's Omitted forecast category is.
OMITTED: Category = "Omitted"
COMMIT: Category = "Commit"  # not for people: the engine's keys
BEST_CASE: Category = "Best Case"  # not for people: the engine's keys
# A closed deal's category whatever its row says: won revenue is Closed, a lost deal is Omitted.
_CLOSED: dict[str, Category] = {"won": "Closed", "lost": "Omitted"}  # not for people: the engine's keys


class Stage(Section):
    """One sales stage, as the [[stages]] of sheetcrm.toml declare it (probability in points)."""

    name: str
    probability: float = Field(ge=0, le=100, allow_inf_nan=False)
    kind: Literal["open", "won", "lost"] = "open"
    forecast_category: Category = "Pipeline"
    rotting_days: int | None = Field(default=None, ge=1)
    aliases: list[str] = []


DEFAULT_STAGES = [
    Stage(name="Prospecting", probability=10, forecast_category="Pipeline", rotting_days=14,
          aliases=["Prospección", "Prospeccion"]),
    Stage(name="Qualification", probability=20, forecast_category="Pipeline", rotting_days=14,
          aliases=["Calificación", "Cualificación"]),
    Stage(name="Proposal", probability=50, forecast_category="Best Case", rotting_days=10,  # not for people: config keys and the aliases a team may type
          aliases=["Propuesta", "Cotización"]),  # Latin America's word for the quote this stage sends
    Stage(name="Negotiation", probability=75, forecast_category="Commit", rotting_days=7,
          aliases=["Negociación"]),
    Stage(name="Closed Won", probability=100, kind="won", forecast_category="Closed",  # not for people: config keys and the aliases a team may type
          aliases=["Won", "Ganada", "Ganado", "Cerrada ganada", "Cerrado ganado", "Cierre ganado"]),  # not for people: config keys and the aliases a team may type
    Stage(name="Closed Lost", probability=0, kind="lost", forecast_category="Omitted",  # not for people: config keys and the aliases a team may type
          aliases=["Lost", "Perdida", "Perdido", "Cerrada perdida", "Cerrado perdido", "Cierre perdido"]),  # not for people: config keys and the aliases a team may type
]


@dataclass(frozen=True)
class StageTable:
    """The configured stages in pipeline order, looked up by canonical name."""

    stages: tuple[Stage, ...]
    _by_name: dict[str, Stage] = field(init=False, repr=False, compare=False)
    _order: dict[str, int] = field(init=False, repr=False, compare=False)

    @classmethod
    def of(cls, stages: Iterable[Stage]) -> "StageTable":
        """The table of the configured stages (`config.stages`), in their order."""
        return cls(tuple(stages))

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {s.name: s for s in self.stages})
        object.__setattr__(self, "_order", {s.name: i for i, s in enumerate(self.stages)})

    def get(self, name: str | None) -> Stage | None:
        return self._by_name.get(name) if name is not None else None

    def order(self, name: str) -> int | None:
        """The stage's position in the pipeline; later stages have larger numbers."""
        return self._order.get(name)

    def kind(self, name: str | None) -> str | None:
        stage = self.get(name)
        return stage.kind if stage else None

    def probability(self, name: str) -> Decimal | None:
        stage = self.get(name)
        return configured_probability(stage) if stage else None

    @property
    def open(self) -> tuple[Stage, ...]:
        return tuple(s for s in self.stages if s.kind == "open")


def contradicts_stage(stage: Stage | None, override: str | None) -> bool:
    """Whether a Category Override says what the deal's stage cannot be: Closed on an open deal
    (the stage says it is not closed), or on a closed deal any category but its own (Closed when
    won, Omitted when lost: a closed deal is no longer a forecast). Such an override is not
    applied, and the sync warns at its cell (engine.compute)."""
    if stage is None or not override:
        return False
    if stage.kind == "open":
        return override == _CLOSED["won"]
    return override != _CLOSED[stage.kind]


def forecast_category(stage: Stage | None, override: str | None) -> str | None:
    """A deal's forecast category (a key of CATEGORIES): Closed for a won deal and Omitted for a
    lost one; else its Category Override, unless that contradicts the stage (`contradicts_stage`);
    else its stage's. None when the stage is unknown and there is no override."""
    if stage is not None and stage.kind != "open":
        return _CLOSED[stage.kind]
    if override and not contradicts_stage(stage, override):
        return override
    return stage.forecast_category if stage is not None else None


def in_pipeline(stage: Stage | None, category: str | None) -> bool:
    """Whether a deal counts in the open pipeline: an open stage, in any category but Omitted."""
    return stage is not None and stage.kind == "open" and category != OMITTED


def is_plan(day: dt.date, as_of: dt.date) -> bool:
    """Whether an activity dated `day` is still a plan on `as_of` (the sync's day, never the
    clock's): dated after it. A plan counts for no "last activity" (see the module docstring)."""
    return day > as_of


@dataclass(frozen=True)
class RelatedIndex:
    """Activities and open tasks by the ID they relate to, built once per sync for `as_of`:
    `last_activity` holds each ID's latest activity on or before `as_of` (`is_plan`)."""

    last_activity: Mapping[str, dt.date]
    first_open_task: Mapping[str, Task]
    # A contact's ID, full name or email -> its ID: the Contact column accepts all three; a
    # name or email two contacts share is in it for neither.
    contact_ids: Mapping[str, str]

    @classmethod
    def build(cls, activities: Iterable[Activity] = (), tasks: Iterable[Task] = (),
              contacts: Iterable[Contact] = (), *, as_of: dt.date) -> "RelatedIndex":
        last: dict[str, dt.date] = {}
        for a in activities:
            if a.related is not None and not is_plan(a.date, as_of) and (a.related not in last
                                                                          or a.date > last[a.related]):
                last[a.related] = a.date
        first: dict[str, Task] = {}
        for t in tasks:
            if t.related is not None and is_open_task(t):
                held = first.get(t.related)
                if held is None or t.due < held.due:
                    first[t.related] = t
        ids: dict[str, str] = {}
        shared: set[str] = set()
        for c in contacts:
            if c.id is None:
                continue
            ids[c.id] = c.id
            for key in (f"{c.first_name} {c.last_name}" if c.first_name else None, c.email):
                if key is not None and ids.setdefault(key, c.id) != c.id:
                    shared.add(key)
        # A name two contacts share names neither (the read warns at the Contact cell): the
        # first one's activities would keep the deal from rotting on a guess.
        for key in shared:
            del ids[key]
        return cls(last, first, ids)


def configured_probability(stage: Stage) -> Decimal:
    # str() first: the config holds floats, and Decimal(0.1) is not 0.1.
    points = Decimal(str(stage.probability))
    return points.quantize(Decimal(1)) if points == points.to_integral_value() else points


def is_open_task(task: Task) -> bool:
    # A blank status is a task nobody has ticked off yet.
    return task.status != "Done"


@dataclass(frozen=True, slots=True)
class OpportunityMetrics:
    probability: Decimal | None          # points, 0-100
    weighted_amount: Decimal | None      # in the opportunity's own currency, unrounded
    forecast_category: str | None
    stage_entered: dt.date | None
    days_in_stage: int | None
    last_activity: dt.date | None
    rotting: bool
    next_step: str | None                # "YYYY-MM-DD Subject"


def opportunity_metrics(opportunities: Sequence[Opportunity], stages: StageTable, as_of: dt.date, *,
                        stage_entered: Mapping[str, dt.date] | None = None,
                        related: RelatedIndex | None = None,
                        category_overrides: Mapping[str, str] | None = None,
                        history_unread: bool = False) -> list[OpportunityMetrics]:
    """The computed columns of each opportunity, in the same order as `opportunities`.

    - probability: the row's own Probability if filled, else its stage's; a closed stage
      always gives its own (100 won, 0 lost) since a closed deal is no longer a bet.
    - days_in_stage: from the date the current stage was entered (`history.stage_entered`,
      IDs compared by `match_key`), else from Created; None if neither is known, or if it is after `as_of`.
      `history_unread`: the Stage History cannot be read (a column deleted), so no deal's day
      is known: Created is no stand-in (a deal that moved yesterday would show its age), and
      none is said rotting, since its last sign of life may be that unknown change.
    - last_activity: the latest activity related to the opportunity itself or to its contact,
      on or before the day `related` was built for (a future-dated one is a plan: `is_plan`).
      Activities on the account are not counted: one busy deal would keep every other deal
      of that account from ever rotting.
    - rotting: an open deal whose last sign of life (the later of last activity and
      entering the stage) is more than the stage's rotting_days ago. Unknown dates never rot.
    - next_step: the open task related to the opportunity that is due first.
    """
    # Keyed as the log spells each ID; a deal whose ID is retyped in another case is still found.
    entered_by_id = {match_key(record_id): day for record_id, day in (stage_entered or {}).items()}
    index = related or RelatedIndex({}, {}, {})
    overrides = category_overrides or {}
    configured = {s.name: configured_probability(s) for s in stages.stages}
    out: list[OpportunityMetrics] = []
    for o in opportunities:
        stage = stages.get(o.stage)
        if stage is None:
            probability = o.probability
        elif stage.kind == "open" and o.probability is not None:
            probability = o.probability
        else:
            # A closed deal is no longer a bet: its stage's 100 or 0 wins over any override.
            probability = configured[stage.name]
        weighted = o.amount * probability / _HUNDRED if o.amount is not None and probability is not None else None
        category = forecast_category(stage, overrides.get(o.id) if o.id else None)
        entered = None if history_unread else (entered_by_id.get(match_key(o.id)) if o.id else None) or o.created
        last = _last_activity(o, index)
        task = index.first_open_task.get(o.id) if o.id else None
        out.append(OpportunityMetrics(
            probability=probability,
            weighted_amount=weighted,
            forecast_category=category,
            stage_entered=entered,
            # A stage entered after as_of (another computer's clock ahead) has no days yet: empty, never
            # negative (the history step warns at the row).
            days_in_stage=(as_of - entered).days if entered and entered <= as_of else None,
            last_activity=last,
            rotting=not history_unread and _rotting(stage, entered, last, as_of),
            next_step=f"{task.due.isoformat()} {task.subject}" if task else None,
        ))
    return out


def _last_activity(o: Opportunity, index: RelatedIndex) -> dt.date | None:
    dates = []
    if o.id and (d := index.last_activity.get(o.id)):
        dates.append(d)
    contact_id = index.contact_ids.get(o.contact, o.contact) if o.contact else None
    if contact_id and (d := index.last_activity.get(contact_id)):
        dates.append(d)
    return max(dates, default=None)


def _rotting(stage: Stage | None, entered: dt.date | None, last: dt.date | None, as_of: dt.date) -> bool:
    if stage is None or stage.kind != "open" or stage.rotting_days is None:
        return False
    alive = max((d for d in (entered, last) if d is not None), default=None)
    return alive is not None and (as_of - alive).days > stage.rotting_days
