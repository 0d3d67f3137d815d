"""Stage History and Lead Status History: the rows the engine logged, old and new, as the tabs hold them.

A history row of a record whose ID this sync hands out requires that ID's write, so history
never names an ID that did not land (`ctx.id_fills`, from the ids step).

With `[warehouse] keep_months` and the warehouse read before planning (`ctx.archive`), rows
older than that the warehouse already holds leave the tabs with a plan that writes anyway,
each record's last row staying (`warehouse.keep.kept_history`); what leaves is on
`ctx.trimmed`, and the Stage History rows given up are counted in the `_sheetcrm` mark
`keep.ARCHIVED` (moved in `ctx.marks`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sheetcrm import cells
from sheetcrm.crm import HistoryRow
from sheetcrm.crm.history import last_rows
from sheetcrm.crm.words import LEAD_STATUS, STAGE
from sheetcrm.i18n import LOCALES, _
from sheetcrm.inputs import UnreadRow, has_header_row, history_columns
from sheetcrm.names import tab_headers
from sheetcrm.owned import locate
from sheetcrm.plan import owned_tab
from sheetcrm.render import history_body
from sheetcrm.records import LEAD_STATUSES
from sheetcrm.report import Issue, column_letter
from sheetcrm.schema import LEAD_HISTORY, STAGE_HISTORY, OwnedTab
from sheetcrm.steps import validation
from sheetcrm.steps.context import StepResult, SyncContext
from sheetcrm.warehouse.keep import ARCHIVE_ID, ARCHIVED, id_spellings, kept_history
from sheetcrm.workbook import CellWrite

HISTORY_ROW_UNREAD = "history_row_unread"
HISTORY_UNORDERED = "history_unordered"
HISTORY_AFTER_SYNC = "history_after_sync"
HISTORY_UNKNOWN_FROM = "history_unknown_from"
HISTORY_COLUMN_GONE = "history_column_gone"


def run(ctx: SyncContext) -> StepResult:
    results = ctx.results
    assert results is not None  # the compute step runs first
    histories = {STAGE_HISTORY: results.stage_history, LEAD_HISTORY: results.lead_history}
    part = _planned(ctx, histories)
    before, archive = ctx.keep_before, ctx.archive
    # Rows keep_months lets go ride along with a plan that writes anyway: an idle sync stays idle
    # (on Google: no write), and a sync that writes makes the same requests as without it. The
    # Validation tab is planned after this step (its rows name history rows as kept), so whether
    # it would change is asked here, of the issues as they are before a trim.
    if before is None or archive is None or not (
            ctx.plan or part.plan or validation.tab_plan(ctx, [*ctx.crm.report.issues, *part.issues])):
        return part
    spell = id_spellings(ctx.crm.tables)  # the keys the mirror holds the rows under
    gone = ctx.crm.inputs.history_gone if ctx.crm.inputs is not None else {}
    # A tab not read (a column deleted) holds no row sheetcrm knows: none of it is trimmed.
    for tab in (STAGE_HISTORY, LEAD_HISTORY):
        if tab.key in gone:
            histories[tab] = []
    stage, ctx.trimmed.stage = kept_history(histories[STAGE_HISTORY], archive.held.get("stage_history", {}), before,
                                            with_amount=True, spell=spell.get("stage_history"))
    lead, ctx.trimmed.lead = kept_history(histories[LEAD_HISTORY], archive.held.get("lead_status_history", {}), before,
                                          spell=spell.get("lead_status_history"))
    if ctx.trimmed.stage or ctx.trimmed.lead:
        # The warehouse marks what leaves with the workbook's ARCHIVE_ID, drawn the first time.
        ctx.marks[ARCHIVE_ID] = ctx.trimmed.by = ctx.marks.get(ARCHIVE_ID) or archive.new_id
    if ctx.trimmed.stage:
        ctx.marks[ARCHIVED] = ctx.marks.get(ARCHIVED, 0) + len(ctx.trimmed.stage)
    return _planned(ctx, {STAGE_HISTORY: stage, LEAD_HISTORY: lead})


def _planned(ctx: SyncContext, histories: dict[OwnedTab, list[HistoryRow]]) -> StepResult:
    """Each history tab as `histories` has it, then the rows the read could not read, as they
    are (a person's damaged cell is theirs to fix, not the rewrite's to drop), each said at the
    row it is planned to."""
    part = StepResult()
    assert ctx.crm.inputs is not None  # the read
    for tab, history in histories.items():
        gone = ctx.crm.inputs.history_gone.get(tab.key)
        if gone:
            part.issues.append(_gone_issue(ctx, tab, gone))
            continue  # its rows are the person's to put back: not rewritten, nothing appended
        unread = ctx.crm.inputs.unread_history.get(tab.key, [])
        first = len(part.plan.writes)
        owned_tab(part.plan, ctx.snapshot, tab, ctx.locale,
                  [*history_body(history, tab is STAGE_HISTORY), *(u.cells for u in unread)], _columns(ctx, tab))
        part.plan.writes[first:] = tie_to_ids(part.plan.writes[first:], history, ctx.id_fills)
        part.issues.extend(_unread_issue(ctx, tab, u, row) for row, u in enumerate(unread, len(history) + 2))
        part.issues.extend(_order_issues(ctx, tab, history))
        part.issues.extend(_unknown_from(ctx, tab, history))
    return part


def _gone_issue(ctx: SyncContext, tab: OwnedTab, gone: tuple[int, ...]) -> Issue:
    """A column of the tab that row 1 does not place (`inputs.history_gone`), said once, at row 1."""
    title = locate(ctx.snapshot, tab, ctx.locale).title
    headers = tab_headers(tab.key, ctx.locale)
    missing = ", ".join(cells.quoted(headers[i]) for i in gone)
    if not has_header_row(ctx.snapshot.tabs.get(title), len(tab.headers),
                          [tab_headers(tab.key, lang) for lang in LOCALES]):
        # No header row to say a column is missing from: what is seen is cells out of place.
        message = _("This tab has no header row, and its cells are not under the columns sheetcrm reads them as "
                    "({columns} hold cells of another kind: a date, or a number): was a column deleted, or were "
                    "the rows moved? Its rows cannot be read, so sheetcrm reads none of this history and writes "
                    "nothing to this tab until they are.", columns=missing)
        hint = _("Undo that change (or restore an earlier version of the file), or put the header row back on row "
                 "1 and the column where it was, with its cells: your rows are kept as they are.")
        return Issue("warning", title, 1, None, None, None, HISTORY_COLUMN_GONE, message, hint)
    if tab is STAGE_HISTORY:
        message = _("Row 1 does not hold the {columns} column once under its header: was it deleted, copied or "
                    "its header retyped? Its rows cannot be read (a cell could be taken for another column's), so "
                    "sheetcrm reads none of this history and writes nothing to this tab until it does: Days in "
                    "Stage is left empty, the win rates have no past and no stage change is logged.",
                    columns=missing)
    else:
        message = _("Row 1 does not hold the {columns} column once under its header: was it deleted, copied or "
                    "its header retyped? Its rows cannot be read (a cell could be taken for another column's), so "
                    "sheetcrm reads none of this history and writes nothing to this tab until it does: no lead "
                    "status change is logged.", columns=missing)
    return Issue("warning", title, 1, None, None, None, HISTORY_COLUMN_GONE, message,
                 _("Undo that change (or restore an earlier version of the file), or put the column back where it "
                   "was, once, with its header and its cells: your rows are kept as they are."))


def _unknown_from(ctx: SyncContext, tab: OwnedTab, history: list[HistoryRow]) -> list[Issue]:
    """A change this sync logs from a stage (lead status) the config does not know, said at its
    From: the record's last row names a stage since renamed without an alias (then the record
    did not move, and its Days in Stage starts again from today), or removed, or a typo."""
    assert ctx.results is not None and ctx.crm.inputs is not None
    stages = tab is STAGE_HISTORY
    logged = ctx.results.stage_history if stages else ctx.results.lead_history
    old = len(ctx.crm.inputs.stage_history if stages else ctx.crm.inputs.lead_history)
    known = {s.name for s in ctx.config.stages} if stages else set(LEAD_STATUSES)
    new = {id(row) for row in logged[old:] if row.from_key is not None and row.from_key not in known}
    if not new:
        return []
    title = locate(ctx.snapshot, tab, ctx.locale).title
    headers = tab_headers(tab.key, ctx.locale)
    issues = []
    for at, row in enumerate(history, 2):  # the tab's row 2 holds history[0]
        if id(row) not in new:
            continue
        old, now = cells.quoted(row.from_value), cells.quoted(row.to_value)
        if stages:
            # The row's own day: a change is dated no earlier than the one it follows, which may
            # be after today (a computer's clock ahead).
            message = _("{record} is logged moving from {old} to {new} on {day}, but {old} is no stage of the "
                        "config: if that stage was renamed {new}, the deal did not move, and its Days in Stage "
                        "starts again from that day.", record=row.record_id, old=old, new=now,
                        day=row.changed_at.isoformat())
            hint = _("If the stage was renamed, add {old} to its aliases in sheetcrm.toml (`[[stages]]` aliases) "
                     "and delete this row; if it was removed, or {record} did move, leave the row.",
                     old=old, record=row.record_id)
        else:
            message = _("{record} is logged moving from {old} to {new} on {day}, but {old} is no lead status: if "
                        "it is another word for {new}, the lead did not change status.",
                        record=row.record_id, old=old, new=now, day=row.changed_at.isoformat())
            hint = _("If it is another word for a lead status, add it under `[lead_statuses]` in sheetcrm.toml "
                     "and delete this row; if it is a typo in the history, correct it and delete this row.")
        issues.append(Issue("warning", title, at, _letter(ctx, tab, 1), headers[1], row.from_value,
                            HISTORY_UNKNOWN_FROM, message, hint))
    return issues


def _order_issues(ctx: SyncContext, tab: OwnedTab, history: list[HistoryRow]) -> list[Issue]:
    """A record whose last day's rows do not chain (`crm.history.unordered`), said at the first
    of them; a Stage History record whose last change is dated after this sync's day, said at
    its Changed At (its Days in Stage is empty: `crm.stages.opportunity_metrics`)."""
    issues: list[Issue] = []
    last, unsure = last_rows(history)
    doubts = list(unsure.values())
    ahead = [row for row in last.values() if row.changed_at > ctx.as_of] if tab is STAGE_HISTORY else []
    if not doubts and not ahead:
        return issues
    title = locate(ctx.snapshot, tab, ctx.locale).title
    headers = tab_headers(tab.key, ctx.locale)
    at = {id(row): i + 2 for i, row in enumerate(history)}  # the tab's row 2 holds history[0]
    for doubt in doubts:
        first = doubt.rows[0]
        words = ctx.results.words if ctx.results is not None else None
        kind = STAGE if tab is STAGE_HISTORY else LEAD_STATUS
        ends = ", ".join(sorted((words(kind, end) if words else None) or end for end in doubt.ends))
        issues.append(Issue(
            "warning", title, at[id(first)], _letter(ctx, tab, 2), headers[2], first.to_value, HISTORY_UNORDERED,
            _("The rows of {record} dated {day} do not chain (each From the To of the change before it), so "
              "which one came last cannot be told: it may be in {ends}. No change is logged while it is in one "
              "of those; a change to another is logged with an empty From.",
              record=doubt.record_id, day=doubt.day.isoformat(), ends=ends),
            _("Correct that day's From and To cells so each row starts where the one before it ended, or "
              "delete the row that does not belong.")))
    for row in ahead:
        issues.append(Issue(
            "warning", title, at[id(row)], _letter(ctx, tab, 3), headers[3], row.changed_at, HISTORY_AFTER_SYNC,
            _("This change of {record} is dated {day}, after this sync's day ({today}): Days in Stage is left "
              "empty until that day, and a later change is dated no earlier.",
              record=row.record_id, day=row.changed_at.isoformat(),
              today=ctx.as_of.isoformat()),
            _("A computer that syncs this workbook has its clock or time zone ahead of this one's (or --as-of "
              "is before that day): sync from one time zone, or leave the row; it is right once the day "
              "comes.")))
    return issues


def _unread_issue(ctx: SyncContext, tab: OwnedTab, unread: UnreadRow, row: int) -> Issue:
    title = locate(ctx.snapshot, tab, ctx.locale).title
    grid = ctx.snapshot.tabs.get(title)
    columns = _columns(ctx, tab)
    at = columns[unread.column] if columns is not None else unread.column
    header = grid.header[at] if grid is not None and at < len(grid.header) else None
    value = unread.cells[unread.column] if unread.column < len(unread.cells) else None
    problem = (unread.problem or _("the cell is empty")).rstrip(".")
    # Lead Status History has no Amount column: its hint does not ask for one.
    hint = (_("Fix the cell (the ID and To filled in, Changed At a date, Amount a number), or delete the row.")
            if tab is STAGE_HISTORY else _("Fix the cell (the ID and To filled in, Changed At a date), or delete the row."))
    return Issue("warning", title, row, column_letter(at + 1), header, value, HISTORY_ROW_UNREAD,
                 _("This history row cannot be read ({problem}): it is not counted, and is kept as it is, after "
                   "the rows that can be.", problem=problem), hint)


def _columns(ctx: SyncContext, tab: OwnedTab) -> tuple[int, ...] | None:
    """Where a person moved the tab's columns (`inputs.history_columns`), else None."""
    grid = ctx.snapshot.tabs.get(locate(ctx.snapshot, tab, ctx.locale).title)
    return history_columns(grid, len(tab.headers), [tab_headers(tab.key, lang) for lang in LOCALES])


def _letter(ctx: SyncContext, tab: OwnedTab, column: int) -> str:
    """The letter of the tab's `column` (0-based, sheetcrm's order) where the tab has it."""
    columns = _columns(ctx, tab)
    return column_letter((columns[column] if columns is not None else column) + 1)


def tie_to_ids(writes: list[CellWrite], history: list[HistoryRow],
               id_fills: dict[Any, tuple[str, int, int]]) -> list[CellWrite]:
    """History cells of a record whose ID this sync hands out require that ID's write: if a
    concurrent edit drops the ID, its history waits for the ID the next sync gives."""
    out = []
    for w in writes:
        index = w.row - 2  # the tab's row 2 holds history[0]
        fill = id_fills.get(history[index].record_id) if 0 <= index < len(history) else None
        out.append(dataclasses.replace(w, requires=fill) if fill else w)
    return out
