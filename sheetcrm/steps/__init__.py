"""A sync is a list of steps, each one capability, run in this order by `sync.plan_sync`.

Adding a capability is a module here with `run(ctx: SyncContext) -> StepResult`, and one line
below, where its place says what it may use (the records are read before any step; `results`
exist after `compute`; the Validation tab holds the issues of every step: none after it raises one).
docs/architecture.md walks through a sync and an example.
"""

from __future__ import annotations

from sheetcrm.steps import (adoption, campaigns, cases, charts, compute, computed_columns, conversion, duplicates, formats,
                            forms, guides, history, ids, merge, overview, quotes, segments, sequences, summaries,
                            sync_log, tab_names, validation, workflows)
from sheetcrm.steps.context import Step, StepResult, SyncContext

STEPS: tuple[Step, ...] = (
    merge.run,              # ticked duplicates merged; every later step plans on the merged read
    tab_names.run,          # a team's tab holding one of sheetcrm's names: a warning, once
    forms.run,              # web form responses become leads (or activities of known people), once
    ids.run,                # IDs for the rows without one
    conversion.run,         # leads asked to convert become an account, a contact, a deal (before compute: it sees them)
    compute.run,            # the engine: histories, metrics, scores, forecast, KPIs
    computed_columns.run,   # sheetcrm's columns in the Opportunities and Leads tabs
    cases.run,              # the Cases tab's Age, SLA Due, SLA Breached, First Response; its rows' problems
    quotes.run,             # quote lines checked; a ticked Send Quote queues a Draft in the Outbox
    campaigns.run,          # each campaign's leads, deals, won revenue, costs and ROI on the Campaigns tab
    duplicates.run,         # likely duplicates on the Duplicates tab, people's ticks carried over
    workflows.run,          # the team's workflow rules fire, each event once, journaled in the Workflow Log
    segments.run,           # the team's segments: the Segments column, the Segment Summary tab
    validation.place,       # where a new workbook gets the Validation tab (its rows: after history)
    summaries.run,          # Pipeline, Forecast, Dashboard
    overview.run,           # the Accounts Overview: each account's 360° view, health, products to offer
    history.run,            # Stage History, Lead Status History
    validation.run,         # every issue of the read and of every step, on the Validation tab
    sequences.run,          # the _sheetcrm marks, when a step moved one
    charts.run,             # charts on Pipeline and Forecast
    guides.run,             # dropdowns and computed-column marks
    sync_log.run,           # Sync Log rows riding along
    adoption.run,           # unmarked tabs of an earlier version get their mark
    formats.run,            # number formats, widths, frozen bold headers, one page wide: where missing
)

# The steps that look at the workflows' World (`workflows.world_of`): built by the first of them,
# let go after the last (`sync.run_steps`), so neither the steps after them (the Accounts
# Overview, the histories) nor the write's buffers (about 200 MB at 100k leads on .xlsx) add to
# a peak that holds it (77 MB at 100k leads).
USES_WORLD: frozenset[Step] = frozenset({workflows.run, segments.run})

__all__ = ["STEPS", "USES_WORLD", "Step", "StepResult", "SyncContext"]
