"""What the steps of one sync share, and the shape of what each returns.

    ctx = SyncContext(snapshot, config, as_of, crm)     # the read: typed records and the report
    for step in STEPS:                                  # sheetcrm.steps, in their declared order
        part = step(ctx)                                # pure: no I/O, no clock
        ctx.add(part)                                   # its issues to the report, its plan to the plan

A step reads the context and returns a `StepResult`: the cells, tabs, marks, charts and guides
it plans (a `Plan`, the same type a backend writes) and the issues it finds. A step that learns
something a later step needs leaves it on the context (`marks`, `id_fills`, `results`,
`titles`); each such field says which step fills it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Protocol, Sequence, TypeVar

from sheetcrm.config import Config
from sheetcrm.crm.workflows import TemplateShelf
from sheetcrm.engine import Results
from sheetcrm.intake.queue import WebBatch
from sheetcrm.report import Issue
from sheetcrm.validate import Crm
from sheetcrm.warehouse.keep import Archive, Trim, cutoff
from sheetcrm.workbook import CellValue, Plan, Snapshot

T = TypeVar("T")


@dataclass
class StepResult:
    """One step's part of the sync: what it plans, and the issues it reports."""

    plan: Plan = field(default_factory=Plan)
    issues: list[Issue] = field(default_factory=list)


@dataclass
class SyncContext:
    snapshot: Snapshot
    config: Config
    as_of: dt.date
    crm: Crm                                   # the read step's records; every step's issues join its report
    # Sync Log rows waiting to be written (`sheetcrm run` keeps them), and whether they are due
    # on their own (the sync_log step).
    log_rows: Sequence[Sequence[CellValue]] = ()
    log_now: bool = False
    # The quote versions the outbox journal holds as sent (Journal.versions_held): never queued again.
    sent_versions: Collection[str] = ()
    # The website form's submissions waiting in the queue (`sheetcrm serve`); the forms step
    # fills in what it made of them.
    web: WebBatch | None = None
    # The IDs of the Form Submitted activities the forms step appends (form responses, website
    # submissions): records of the next read, whose "form response" rules fire then
    # (crm.workflows.State.intake).
    intake: list[str] = field(default_factory=list)
    # The email templates a workflow rule may name (mail/outbox.template_shelf), read before
    # the sync; None: the rules' Templates are not checked (then only `outbox send` finds out).
    templates: TemplateShelf | None = None
    # The sequences' high-water marks (prefix -> last number handed out), as read; steps that
    # hand out IDs or numbers move them forward in place (ids, quotes), the sequences step
    # writes them when they moved.
    marks: dict[str, int] = field(default_factory=dict)
    # A record's ID -> the (tab, row, col) of the write its history rows wait for (the history
    # step ties them to it): an ID the ids or conversion step handed out, its own write; a lead
    # the conversion step converts, its links.
    id_fills: dict[Any, tuple[str, int, int]] = field(default_factory=dict)
    # The Duplicates tab's ticked groups the merge step refused, by Group (merging.Refused:
    # the issues that say why): the duplicates step keeps their rows as the person left them
    # and reports the issues at the rows it writes them to.
    refused: dict[str, Any] = field(default_factory=dict)
    # The engine's results (the compute step).
    results: Results | None = None
    # What the warehouse holds of the history the sheet keeps only N months of (`[warehouse]
    # keep_months`; `warehouse.keep.Archive`, read by the sync shell before planning); None: not
    # read (no keep_months, or unreachable), so nothing leaves the sheet this sync.
    archive: Archive | None = None
    # A fresh number for the `_sheetcrm` mark naming the workbook's written-cells state
    # (`written.BOOK`), drawn by the shell for a workbook without one; written with the first
    # generation a step moves (`computed_columns.plan_computed`). 0: none is written.
    book_id: int = 0
    # The rows this plan removes from the history tabs and the Sync Log (the history and
    # sync_log steps): the shell marks them in the warehouse before the write.
    trimmed: Trim = field(default_factory=Trim)
    # Learned-model fits kept between syncs by a long-lived caller (`sheetcrm run`): a
    # `crm.learned.FitCache`; None fits afresh. The results are the same either way.
    fit_cache: Any = None
    # The last sync's memo (parse_cache.RowMemo), None without one: `remember` reuses a costly
    # result whose inputs are the same as then. The results are the same either way.
    memo: Any = None
    # What the workflow rules did this sync (the workflows step: steps/workflows.Fired); the
    # Dashboard counts firings per rule, `sheetcrm workflows` lists them.
    workflows: Any = None
    # The segments, their members and KPIs (the segments step: steps/segments.Segmented);
    # `sheetcrm segment` prints a segment's members.
    segments: Any = None
    # sheetcrm's tab key -> the title this plan gives it (the summaries step; charts read it).
    titles: dict[str, str] = field(default_factory=dict)
    # Everything the steps so far planned; a step reads it, and returns its own part.
    plan: Plan = field(default_factory=Plan)
    # The marks as read, before any step moved them (the sequences step compares).
    marks_read: dict[str, int] = field(init=False)
    _shown: tuple[Results, Results] | None = field(default=None, init=False, repr=False, compare=False)
    # The records of every kind a rule or a segment reads (crm.workflows.World), built once per
    # sync by the first step that asks (steps/workflows.world_of), after compute.
    world: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.marks_read = dict(self.marks)

    @property
    def locale(self) -> str:
        return self.config.locale

    @property
    def keep_before(self) -> dt.date | None:
        """With `[warehouse] keep_months` and the warehouse read: the day before which history
        and Sync Log rows the warehouse holds leave the sheet; else None (the sheet keeps all)."""
        settings = self.config.warehouse
        months = settings.keep_months if settings is not None else None
        return cutoff(self.as_of, months) if months and self.archive is not None else None

    @property
    def shown(self) -> Results:
        """The engine's results as the cells show them (`Results.in_team_words`): the computed
        columns and the summaries write the same ones, so they are made once per `results`
        (nothing changes a Results in place; the compute step sets a new one)."""
        assert self.results is not None  # the compute step runs first
        if self._shown is None or self._shown[0] is not self.results:
            self._shown = (self.results, self.results.in_team_words())
        return self._shown[1]

    def remember(self, name: str, inputs: Any, compute: Callable[[], T]) -> T:
        """`compute()`, or its result from the last sync when `inputs` (all it reads) are the
        same (`parse_cache.RowMemo.result`)."""
        return compute() if self.memo is None else self.memo.result(name, inputs, compute)

    def add(self, part: StepResult) -> None:
        """A step's part joins the sync: its issues the report, its plan the plan (a tab
        created or marked once, whichever steps plan it)."""
        for issue in part.issues:
            self.crm.report.add(issue)
        plan, new = self.plan, part.plan
        if plan.appended or new.appended:
            # Rows are opened only for a tab one step adds rows to and no other step writes.
            theirs = {w.tab for w in new.writes}
            for title in [t for t in plan.appended if t in theirs]:
                del plan.appended[title]
            for title, rows in new.appended.items():
                if all(w.tab != title for w in plan.writes):
                    plan.appended[title] = rows
        plan.new_tabs.extend(t for t in new.new_tabs if t not in plan.new_tabs)
        plan.writes.extend(new.writes)
        plan.charts.extend(new.charts)
        plan.guides.extend(new.guides)
        plan.formats.extend(new.formats)
        plan.own_formats |= new.own_formats
        plan.layouts.extend(new.layouts)
        plan.replacements.extend(new.replacements)
        plan.deletes.extend(new.deletes)
        plan.mark_owned.extend(t for t in new.mark_owned if t not in plan.mark_owned)
        plan.hide.extend(t for t in new.hide if t not in plan.hide)
        plan.ticked.extend(t for t in new.ticked if t not in plan.ticked)
        plan.counters = plan.counters or new.counters


class Step(Protocol):
    """A capability's part in a sync: `run(ctx) -> StepResult`, pure."""

    def __call__(self, ctx: SyncContext) -> StepResult: ...
