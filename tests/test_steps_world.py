"""The workflows' World is built once per sync (steps/workflows.world_of, kept on
SyncContext.world) and both the workflows and the segments steps read that one; it stays true
because no step after compute changes what it is built from: at every step boundary a World
built afresh is the cached one, value for value."""

from __future__ import annotations

import dataclasses

import datetime as dt

from sheetcrm.config import Config
from sheetcrm.demo import generate
from sheetcrm.steps import STEPS, SyncContext, compute, segments, workflows
from sheetcrm.sync import plan_sync
from sheetcrm.validate import read_crm
from sheetcrm.workbook import Grid, Snapshot

AS_OF = dt.date(2026, 11, 23)


def _snapshot() -> Snapshot:
    demo = generate(rows=120, seed=5, today=AS_OF)
    return Snapshot({title: Grid([list(r) for r in rows]) for title, rows in demo.tabs.items()})


def _seen(world) -> tuple:
    """What a rule or a segment reads of a World, with relations as IDs (Subjects relate both
    ways, so dataclass equality would recurse without end)."""
    subjects = {kind: [(s.id, s.values, s.owner, s.open, s.email, {r: t.id for r, t in s.related.items()})
                       for s in found] for kind, found in world.subjects.items()}
    return (subjects, world.names, world.labels, world.dates, world.enums, world.kind_enums, world.words, world.touched,
            world.forms, world.quotes, world.activities, world.sent_ids, world.sent_quotes)


def test_the_world_is_built_once_and_stays_true():
    snapshot, config = _snapshot(), Config()
    ctx = SyncContext(snapshot, config, AS_OF, read_crm(snapshot, config))
    built: list[int] = []
    real = workflows.build_world

    def counted(c):
        built.append(1)
        return real(c)

    workflows.build_world = counted
    try:
        start = STEPS.index(compute.run) + 1
        for n, step in enumerate(STEPS):
            ctx.add(step(ctx))
            if n >= start:  # from here on any step may use the World: a fresh one is the same
                assert _seen(workflows.world_of(ctx)) == _seen(real(ctx)), step.__module__
    finally:
        workflows.build_world = real
    assert ctx.workflows is not None and ctx.workflows.outcome.firings, "the demo's rules fire"
    assert ctx.segments is not None and ctx.segments.members, "the demo's segments have members"
    assert len(built) == 1  # the workflows step built it; the segments step read the same one
    assert STEPS.index(workflows.run) < STEPS.index(segments.run)


def _steps_part(plan):
    """What the steps plan: `sync.plan_sync` adds the read's header rows after them (for the
    write's re-read of moved columns), which steps run here by hand do not."""
    return dataclasses.replace(plan, header_rows={})


def test_the_plan_is_the_same_with_the_world_shared():
    snapshot, config = _snapshot(), Config()
    _, _, plan = plan_sync(snapshot, config, AS_OF)
    ctx = SyncContext(snapshot, config, AS_OF, read_crm(snapshot, config))
    for step in STEPS:
        if step is segments.run:
            ctx.__dict__.pop("world", None)  # the segments step on a World of its own, as before
        ctx.add(step(ctx))
    assert ctx.plan == _steps_part(plan)


def test_the_results_in_the_teams_words_are_made_once_for_both_steps_that_write_them():
    from sheetcrm.engine import Results

    snapshot, config = _snapshot(), Config()
    ctx = SyncContext(snapshot, config, AS_OF, read_crm(snapshot, config))
    made: list[int] = []
    real = Results.in_team_words

    def counted(self):
        made.append(1)
        return real(self)

    Results.in_team_words = counted
    try:
        for step in STEPS:
            ctx.add(step(ctx))
    finally:
        Results.in_team_words = real
    assert len(made) == 1  # computed_columns made them; summaries wrote the same
    assert ctx.results is not None and ctx.shown == real(ctx.results)
    _, _, plan = plan_sync(snapshot, config, AS_OF)
    assert ctx.plan == _steps_part(plan)


def test_a_plan_lets_go_of_the_world_it_built_before_the_write():
    """The World (a copy of every record's fields) is built once for the steps that read it and
    let go when the plan is made, so a write's buffers do not add to it."""
    from sheetcrm.sync import plan_context

    real, built = workflows.build_world, []

    def counted(ctx):
        built.append(real(ctx))
        return built[-1]

    workflows.build_world = counted
    try:
        ctx = plan_context(_snapshot(), Config(), AS_OF)
    finally:
        workflows.build_world = real
    assert len(built) == 1 and built[0].subjects["lead"]
    assert ctx.world is None and ctx.plan


def test_the_world_goes_after_the_last_step_that_reads_it():
    """`run_steps` lets go of the World once no step left is in `steps.USES_WORLD`; no later
    step builds it again (one build in all), and the plan is the same."""
    from sheetcrm.steps import USES_WORLD
    from sheetcrm.sync import run_steps

    snapshot, config = _snapshot(), Config()
    _, _, plan = plan_sync(snapshot, config, AS_OF)
    ctx = SyncContext(snapshot, config, AS_OF, read_crm(snapshot, config))
    real, built, held = workflows.build_world, [], []

    def counted(c):
        built.append(1)
        return real(c)

    workflows.build_world = counted
    try:
        run_steps(ctx, STEPS, lambda n: held.append(ctx.world is not None))
    finally:
        workflows.build_world = real
    last = max(STEPS.index(step) for step in USES_WORLD)
    assert held[STEPS.index(workflows.run)] and not any(held[last:])
    assert len(built) == 1 and ctx.plan == _steps_part(plan)
