"""A sync is a list of steps: each capability returns its part, and the parts join in order."""

from __future__ import annotations

import dataclasses

import datetime as dt

from sheetcrm.config import Config
from sheetcrm.plan import owned_tab
from sheetcrm.report import Issue
from sheetcrm.schema import OwnedTab
from sheetcrm.steps import STEPS, StepResult, SyncContext, compute, validation
from sheetcrm.sync import plan_sync, run_steps
from sheetcrm.validate import read_crm
from sheetcrm.workbook import Grid, Snapshot

AS_OF = dt.date(2026, 11, 23)
LEADS = [["ID", "Last Name", "Company", "Status"], ["", "Ng", "Acme", "New"], ["LEAD-0007", "Li", "Initech", "Lost?"]]
# A capability of a test's own: one tab that counts the leads, and a warning about it.
COUNTS = OwnedTab("lead_count", "Lead Count", "Número de leads", ("Leads",), ("Leads",))


def count_leads(ctx: SyncContext) -> StepResult:
    part = StepResult(issues=[Issue("warning", "Leads", None, None, None, None, "counted", "counted", "")])
    owned_tab(part.plan, ctx.snapshot, COUNTS, ctx.locale, [[len(ctx.crm.records("leads"))]])
    return part


def _context() -> SyncContext:
    snapshot = Snapshot({"Leads": Grid([list(r) for r in LEADS])})
    config = Config()
    return SyncContext(snapshot, config, AS_OF, read_crm(snapshot, config))


def test_the_declared_steps_are_the_sync():
    snapshot = Snapshot({"Leads": Grid([list(r) for r in LEADS])})
    _, results, plan = plan_sync(snapshot, Config(), AS_OF)
    ctx = _context()
    run_steps(ctx, STEPS)
    assert ctx.plan == dataclasses.replace(plan, header_rows={})  # sync.plan_sync adds the read's header rows after the steps
    assert ctx.results is not None and ctx.results.lead_history == results.lead_history


def test_a_capability_is_a_module_and_one_line():
    mine = list(STEPS)
    mine.insert(mine.index(validation.run), count_leads)
    ctx = _context()
    run_steps(ctx, mine)
    # Its tab is created, marked and written with the rest of the plan, its issue reported on
    # the Validation tab of the same sync (it runs before the validation step).
    assert "Lead Count" in ctx.plan.new_tabs and "Lead Count" in ctx.plan.mark_owned
    assert {(w.tab, w.row, w.col, w.value) for w in ctx.plan.writes if w.tab == "Lead Count"} == {
        ("Lead Count", 1, 1, "Leads"), ("Lead Count", 2, 1, 1)}
    assert any(w.tab == "Validation" and w.value == "counted" for w in ctx.plan.writes)
    # ... and everything else is planned as without it.
    plain = _context()
    run_steps(plain, STEPS)
    others = [w for w in ctx.plan.writes if w.tab not in ("Lead Count", "Validation")]
    assert others == [w for w in plain.plan.writes if w.tab != "Validation"]


def test_a_step_after_validation_reports_too_late_for_the_tab():
    mine = [*STEPS, count_leads]
    ctx = _context()
    run_steps(ctx, mine)
    assert any(i.code == "counted" for i in ctx.crm.report.issues)
    assert not any(w.tab == "Validation" and w.value == "counted" for w in ctx.plan.writes)


def test_steps_share_what_they_learn_through_the_context():
    ctx = _context()
    run_steps(ctx, STEPS[:STEPS.index(compute.run)])  # up to the IDs
    # The ids step handed out LEAD-0008 (past the typed LEAD-0007) and said which write holds it.
    assert ctx.marks == {"LEAD": 8}
    assert ctx.id_fills == {"LEAD-0008": ("Leads", 2, 1)}
    assert ctx.results is None
    compute.run(ctx)
    assert ctx.results is not None and [r.record_id for r in ctx.results.lead_history] == ["LEAD-0008"]
