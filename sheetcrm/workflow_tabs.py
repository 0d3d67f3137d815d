"""The workflow tabs, typed in the read: the team's Workflows tab (a people's tab, read like a
CRM tab when the workbook has one), and sheetcrm's Workflow State and Workflow Log (found by
their mark). crm/workflows.py says what they mean; nothing after the read parses their cells.

A damaged row of State or Log is skipped, as a damaged line of history is: a State row lost
means one edge not seen (its value is seen again now), a Log row lost would mean a key that
fires again, so the Log's Key column is read as plain text, whatever else its row holds.

The two tabs are written together (the Log with its header alone until something fires), so
one found without the other was deleted: `lost` says which, and the sync warns. A State lost
is rebuilt from the Log (`state_from_log`); with a Log lost the State still says which days
were evaluated and which values were seen, so no time event or edge fires twice, and the
follow-ups running are forgotten.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sheetcrm import cells
from sheetcrm.config import TabSettings
from sheetcrm.crm.workflows import ACTION_OF, RESULTS, LogEntry, State
from sheetcrm.i18n import every_locale
from sheetcrm.owned import owned_title
from sheetcrm.records import ParseContext
from sheetcrm.report import Report
from sheetcrm.schema import WORKFLOW_LOG, WORKFLOW_STATE, WORKFLOWS, find_tab, tab_names
from sheetcrm.table import Table, parse_table
from sheetcrm.workbook import CellValue, Grid, Snapshot

# A Result cell in any language sheetcrm writes -> done / stopped / skipped.
_RESULTS = cells.enum_choices({key: every_locale(word) for key, word in RESULTS.items()})

# The Workflow Log's columns, in the order of its headers (names.OWNED["workflow_log"]).
LOG_FIELDS = ("time", "rule", "rule_name", "record", "event", "action", "result", "details", "key", "created",
              "chain")
# A Log written before the Details column (issue 14): read by its headers, or in this layout.
_LOG_FIELDS_BEFORE_DETAILS = tuple(f for f in LOG_FIELDS if f != "details")
_LOG_HEADERS = {cells.normalize_key(word): name for header, name in zip(WORKFLOW_LOG.headers, LOG_FIELDS)
                for word in every_locale(header)}


@dataclass
class WorkflowTabs:
    table: Table | None = None                     # the Workflows tab, when the workbook has one
    state: State = field(default_factory=State)
    log: list[LogEntry] = field(default_factory=list)
    log_rows: list[list[CellValue]] = field(default_factory=list)  # the Log's rows as read, to append below
    lost: str | None = None    # "log" or "state": the tab deleted while the other was kept


def read_workflows(snapshot: Snapshot, ctx: ParseContext, report: Report, locale: str,
                   kept: frozenset[str] = frozenset()) -> WorkflowTabs:
    """The Workflows tab and sheetcrm's Workflow State and Log. `kept`: the computed columns
    of the Workflows tab sheetcrm remembers writing (`table.parse_table`)."""
    out = WorkflowTabs()
    title = find_tab(list(snapshot.tabs), tab_names(WORKFLOWS, None))
    if title is not None:
        out.table = parse_table(WORKFLOWS, title, snapshot.tabs[title], TabSettings(), ctx, report, kept=kept)
    state, log = _owned_grid(snapshot, WORKFLOW_STATE), _owned_grid(snapshot, WORKFLOW_LOG)
    out.state = read_state(state, locale)
    out.log, out.log_rows = read_log(log, locale)
    if state is None and log is not None:
        out.lost, out.state = "state", state_from_log(out.log)
    elif log is None and state is not None and out.state != State():
        # Which follow-up steps went out only the Log knew: the follow-ups running are
        # forgotten, their remaining steps never happen rather than twice.
        out.lost, out.state.enrolled = "log", {}
    return out


def state_from_log(log: list[LogEntry]) -> State:
    """What the Log tells of a lost State: each rule that fired was armed by its first firing's
    day, and every running rule was evaluated on the last day anything fired. So a time event
    missed since then still fires (once: its key is not in the Log), and nothing before the
    rule's first firing does. What only the State knew is gone: the values edges compare with
    (watching starts again now), round-robin positions, follow-ups running."""
    days = [e.day for e in log if e.day is not None]
    if not days:
        return State()
    last = max(days)
    armed: dict[str, dt.date] = {}
    for e in log:
        if e.day is not None and e.day < armed.get(e.rule, dt.date.max):
            armed[e.rule] = e.day
    return State(armed=armed, checked={rule: last for rule in armed})


def _owned_grid(snapshot: Snapshot, tab: Any) -> Grid | None:
    title = owned_title(snapshot, tab)
    return snapshot.tabs.get(title) if title else None


def _date(raw: Any, locale: str) -> dt.date | None:
    try:
        return cells.parse_date(raw, locale)
    except cells.CellError:
        return None


def read_state(grid: Grid | None, locale: str) -> State:
    """Kind, Key, Field, Value rows: armed/checked (rule, day), watch (kind, field, day), seen
    (record, field, value as the cell holds it), seen cell (record, field, the cell as typed behind
    that value, where it differs), next (rule, position), sequence ("rule|record",
    sequence name, day enrolled) each followed by its sequence owner (…, owner at enrollment),
    sequence step ("rule|record", sequence name, how many of its steps were taken) and its
    sequence shape (…, `follow_ups.marks` of those steps as they were taken), its sequence
    before (…, `follow_ups.before`: the activities of the enrollment day there at enrollment),
    waiting and unjudged (the firing's key, its event in words, its day), pending (record, fingerprint, day),
    intake (a Form Submitted activity the previous sync appended, the day it did)."""
    state = State()
    for raw in grid.rows[1:] if grid else ():
        raw = list(raw) + [None] * (4 - len(raw))
        kind, key, name, value = (cells.parse_text(raw[0]), cells.parse_text(raw[1]), cells.parse_text(raw[2]),
                                  raw[3])
        if not kind or not key:
            continue
        if kind in ("armed", "checked"):
            day = _date(value, locale)
            if day is not None:
                getattr(state, kind)[key] = day
        elif kind == "watch" and name:
            day = _date(value, locale)
            if day is not None:
                state.watched[(key, name)] = day
        elif kind == "seen" and name:
            state.seen[(key, name)] = value
        elif kind == "seen cell" and name:  # not for people: a State kind
            state.cells[(key, name)] = value
        elif kind in ("sequence", "sequence owner") and name and key.count("|") == 1:  # not for people: State kinds
            rule, record = key.split("|")
            day = _date(value, locale) if kind == "sequence" else None
            if kind == "sequence" and day is not None:
                state.enrolled[(rule, record, name)] = (day, state.enrolled.get((rule, record, name), (day, None))[1])
            elif kind == "sequence owner" and (rule, record, name) in state.enrolled:  # not for people: State kind
                state.enrolled[(rule, record, name)] = (state.enrolled[(rule, record, name)][0],
                                                        cells.parse_text(value))
        elif kind == "sequence step" and name and key.count("|") == 1:  # not for people: a State kind
            rule, record = key.split("|")
            try:
                state.stepped[(rule, record, name)] = cells.parse_integer(value) or 0
            except cells.CellError:
                pass  # a cell a person typed over: the Log's keys still say which steps went out
        elif kind == "sequence shape" and name and key.count("|") == 1:  # not for people: a State kind
            rule, record = key.split("|")
            state.shapes[(rule, record, name)] = (cells.parse_text(value) or "").split()
        elif kind == "sequence before" and name and key.count("|") == 1:  # not for people: a State kind
            rule, record = key.split("|")
            state.known[(rule, record, name)] = (cells.parse_text(value) or "").split()
        elif kind in ("waiting", "unjudged") and key.count("|") >= 2:  # not for people: State kinds
            rule, record, event = key.split("|", 2)
            day = _date(value, locale)
            if day is not None:
                getattr(state, kind)[(rule, record, event)] = (day, name or event)
        elif kind == "pending" and name:  # not for people: a State kind
            day = _date(value, locale)
            if day is not None:
                state.pending[key] = (name, day)
        elif kind == "intake":  # not for people: a State kind
            day = _date(value, locale)
            if day is not None:
                state.intake[key] = day
        elif kind == "next":
            try:
                state.pointers[key] = cells.parse_integer(value) or 0
            except cells.CellError:
                continue
    return state


def read_log(grid: Grid | None, locale: str) -> tuple[list[LogEntry], list[list[CellValue]]]:
    """The Log's entries and its rows as read, each in the order of LOG_FIELDS (to be written
    back below the new ones). Columns are found by their headers in any language, so a Log an
    earlier version wrote (no Details column) keeps every key after an upgrade; a Log whose
    header row is unreadable is read in the layout its rows' keys show."""
    entries: list[LogEntry] = []
    if grid is None or not grid.rows:
        return entries, []
    body = [list(r) for r in grid.rows[1:]]
    where = _log_columns(grid.rows[0], body)
    rows = [[raw[where[f]] if f in where and where[f] < len(raw) else None for f in LOG_FIELDS] for raw in body]
    # A row with none of the Log's cells (a person's note alone, beside it) is no row of it.
    rows = [row for row in rows if any(v is not None and v != "" for v in row)]
    for row in rows:
        cell = dict(zip(LOG_FIELDS, row))
        key = cells.parse_text(cell["key"])
        if not key or key.count("|") < 2:
            continue
        rule, record, event = key.split("|", 2)
        result = _RESULTS.get(cells.normalize_key(cells.parse_text(cell["result"]) or ""), "done")
        chain = tuple(p.strip() for p in (cells.parse_text(cell["chain"]) or "").split("→") if p.strip())
        entries.append(LogEntry(_date(cell["time"], locale), rule, record, event, result, key,
                                cells.parse_text(cell["created"]), chain, name=cells.parse_text(cell["rule_name"]) or "",
                                said=cells.parse_text(cell["event"]) or "",
                                action=ACTION_OF.get(cells.normalize_key(cells.parse_text(cell["action"]) or "")),
                                details=cells.parse_text(cell["details"]) or ""))
    return entries, rows


def _log_columns(header: list[CellValue], body: list[list[CellValue]]) -> dict[str, int]:
    """LOG_FIELDS' field -> 0-based column of the Log as it is."""
    found: dict[str, int] = {}
    for col, text in enumerate(header):
        name = _LOG_HEADERS.get(cells.normalize_key(cells.parse_text(text) or ""))
        if name is not None:
            found.setdefault(name, col)
    if "key" in found:
        return found
    # No Key header: the layout whose Key column holds keys (this version's, else the one before).
    for layout in (LOG_FIELDS, _LOG_FIELDS_BEFORE_DETAILS):
        col = layout.index("key")
        if any(len(r) > col and (cells.parse_text(r[col]) or "").count("|") >= 2 for r in body):
            return {f: i for i, f in enumerate(layout)}
    return {f: i for i, f in enumerate(LOG_FIELDS)}
