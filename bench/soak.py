"""Soak: many consecutive syncs of `sheetcrm run`'s sync job against the Sheets API emulator,
with a person editing between syncs and during them, and 429/503 bursts and dropped
connections, then checks that nothing was lost; between syncs, `sheetcrm run`'s outbox job
sends quote emails to a real SMTP server on loopback, and no email may go out twice, even
when the person (or an app's save) puts the Outbox back to an earlier state.

    python bench/soak.py --syncs 300 --seed 7           # the figures in docs/service.md
    python bench/soak.py --syncs 150 --no-window        # no structural edits in the write window

Every record carries a token (its Name, or its Last Name) that the person never edits, so a
record is recognised wherever it moves. The soak keeps its own model of every cell the person
typed, and at the end compares the sheet with it:

- no user cell lost, changed or moved to another record; deleted rows gone, new rows there;
- every record has an ID, no two share one, and no record's ID ever changed (checked after
  every sync, not only at the end);
- Stage History holds exactly the real stage changes: each deal's rows form a chain from its
  first stage to its current one, one row per change the person made;
- computed values are right: after the edits stop, a sync converges and a fresh plan is empty,
  and every row's computed cells are its own record's (deals of one stage show one Probability
  and Forecast Category, and Weighted Amount is the row's Amount times its Probability; leads
  of one Status show one Score and Grade), so none is left on another record's row;
- the Sync Log holds one row per sync that ran.

Edits land between any two requests of a sync (`between_requests`), and in the write window
too: just before a `batchUpdate` of planned cells, after the key-column re-read, half the
time the person inserts a row (typed, or left blank), deletes one or sorts the tab
("window insert", "window delete", "window sort" in the figures). docs/concurrency.md says
why that is safe now (the read-back after the write) and what remains; `--no-window` keeps
the window to typing, as before the read-back. The Outbox gets the same in the windows of
the outbox job's claim and outcome writes: a sort of the tab, or an older copy of it
restored, right before the batchUpdate (the Outbox's read-back, `workbook/keyed.py`);
`--no-outbox-window` keeps those windows to typing.
Stage changes to one deal are spaced so that a successful sync sees each of them: two changes
that no sync saw apart would, rightly, be one change in the history.

Quotes. Every deal has Quote Lines (naming it by Name) and a Send Quote column. The person
ticks random deals (the sync queues a Draft per quote version in the Outbox tab), now and
then changes a ticked deal's quote line (a new version: an older approved row must then fail,
not go out), approves random Draft rows, sorts the Outbox, and, for a row left at Sending,
does what docs/quotes.md asks of a person: looks for its Message-ID in the server's inbox and
sets Sent, or Approved to send it again. Now and then the Outbox goes back to an earlier state,
as a spreadsheet app's save of the copy it loaded would put it ("outbox revert"): a Sent row
back to Approved, with or without its Message-ID, or the whole tab as an older copy had it
(rows queued since then gone, later statuses undone). After most syncs `sheetcrm run`'s outbox
job runs (`send_outbox`: read, claim write, SMTP, read, outcome write; its journal of sent
messages in a temporary $XDG_CACHE_HOME of the soak's own) against an aiosmtpd server on
127.0.0.1 that answers 451 (now and then 550) to some messages, sometimes cuts the connection
after taking one (outcome unknown), and is stopped for a few runs at times; 429/503 bursts,
dropped connections and answers lost after applying are aimed at the claim and outcome
writes. At the end, besides the checks above:

- the server accepted no Message-ID twice, and no Outbox row and no quote version was
  delivered twice (the row named by the quote number in the Subject, as the soak saw the
  Outbox rows; the version that row was queued with);
- every Sent row's Message-ID arrived exactly once, and is a message of that row's own quote
  version; every message that arrived is on one row of its version at Sent (or at Sending: a
  lost answer leaves a row there, by design), unless an older copy took its row away, or on
  that row and a second row of its version (below) at Sent, whose Error names the row it went
  out from;
- every row the Outbox went back on ends at Sent with the Message-ID that went out, and its
  Error cell says that sheetcrm's journal put it back;
- every quote sheetcrm marked Sent has exactly one Email activity;
- no quote version was queued twice, except when an older copy took its row away before its
  quote went out (then the sync rightly queues it again, and a later copy may bring the first
  row back: every row of one version but one was taken away by some copy); a version the
  journal holds is never queued again; no Outbox ID is shared; once the chaos stops, the
  outbox drains: no Approved row is left.

Workflows. The Workflows tab holds four rules (a deal entering Closed Won, Amount changes, 2
days before Close Date, a lead created with If Status = New), and the day moves on by one at
each sync; `check_workflows` compares the Workflow Log with the soak's own record of the
person's edits: no key twice, no edge missed, no firing extra, the Firings column = the Log.

Fault coverage does not hang on the seed (any change to the requests a sync makes shifts what
the random draws hit): every kind tests/test_soak.py requires is scheduled at its first
chance, and the draws are random after that. Syncs 3, 5 and 7 start with a dropped
connection, a failing burst and an answer lost after applying (SYNC_FAULTS); the claim and the
outcome write each get a dropped connection, a lost answer and a failing burst at their first
windows, one per run (WRITE_FAULTS); the server answers 451 to the 2nd message, cuts the
connection after taking the 4th (again, until the person has found a row left at Sending whose
message arrived); a run with the server down whose outcome write fails leaves claimed rows at
Sending, unsent (again, until the person has found one); the person looks at the rows left at
Sending right after such a run; and the first SINGLE_REVERTS Outbox reverts that find a Sent
row put that row back, with and without its Message-ID in turn.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import random
import re
import socket
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from typing import Any, Callable

import gspread
from aiosmtpd.controller import Controller
from google.auth.credentials import AnonymousCredentials

from sheetcrm.config import Config, GoogleSettings, SmtpSettings
from sheetcrm.crm.workflows import WorkflowSettings
from sheetcrm.emulator import Emulator
from sheetcrm.emulator.session import emulator_session
from sheetcrm.mail.journal import Journal
from sheetcrm.service import RequestCounter, Service
from sheetcrm.sync import plan_sync
from sheetcrm.workbook import same_value
from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy, SheetsHTTPClient

STAGES = ["Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]
# The columns a person types, per tab; sheetcrm owns ID and adds its computed columns after these.
USER = {
    "Opportunities": ["Name", "Account", "Contact", "Stage", "Amount", "Close Date", "Send Quote"],
    "Leads": ["Last Name", "Company", "Status"],
}
TOKEN = {"Opportunities": "Name", "Leads": "Last Name"}
PRODUCTS = [["SKU", "Name", "Unit Price", "Currency", "Tax Rate"],
            ["P1", "Licence", 1000.5, "USD", 21], ["P2", "Support", 99.99, "USD", 10],
            ["P3", "Training", 450, "USD", 0]]
LINES_HEADER = ["Opportunity", "SKU", "Quantity", "Unit Price", "Discount %"]
# Workflow rules of four trigger kinds (a stage entered, a field changed, a time event, a record
# created); the day moves on by one at each sync of the soak, so every edge has a day of its own.
START = dt.date(2026, 11, 1)
CLOSE_SPAN = 60  # deals close within this many days of START (plus 5): their reminders fall in the run
WORKFLOWS = [["ID", "Name", "Active", "Record", "When", "If", "Then", "Subject", "Due (days)", "Assign To"],
             ["WF-0001", "Won", "yes", "opportunity", "enters Closed Won", "", "create task", "Thank {{ Name }}", 1,
              ""],
             ["WF-0002", "Amount moved", "yes", "opportunity", "Amount changes", "", "notify", "", "", "Sam"],
             ["WF-0003", "Closing soon", "yes", "opportunity", "2 days before Close Date", "", "log activity",
              "Closes soon: {{ Name }}", "", ""],
             ["WF-0004", "New lead", "yes", "lead", "created", "Status = New", "create task", "Call {{ Last_Name }}",
              2, ""]]
# Fault coverage that does not hang on the seed: the kinds tests/test_soak.py requires are each
# made to happen at least once, at the first chance of their place, and the draws are random
# after that (any change to the requests a sync makes shifts what random draws hit).
SYNC_FAULTS = {3: "dropped connection", 5: "429/503 burst", 7: "answer lost after applying"}  # sync -> kind
WRITE_FAULTS = ("dropped connection", "answer lost after applying", "429/503 burst")  # claim and outcome, in turn
SMTP_FAULTS = {2: "451 replies"}  # message handed over -> answer
SINGLE_REVERTS = 6  # Outbox reverts of one Sent row (the rest pick a row or a whole older copy at random)
OUTBOX = ["ID", "Created", "Opportunity", "To", "Subject", "Status", "Message-ID", "Sent At", "Error", "Quote",
          "Version", "Attempts", "Last Try", "Next Try"]


@dataclass
class Figures:
    syncs: int = 0
    failed_syncs: int = 0
    edits: Counter = field(default_factory=Counter)
    edits_during_syncs: int = 0
    edits_during_outbox: int = 0
    window_edits: int = 0        # structural edits between a key re-read and its batchUpdate
    outbox_window_edits: int = 0  # Outbox sorts and restored copies there (none with --no-outbox-window)
    outbox_repairs: int = 0      # Outbox writes found on another row by the read-back, and put right
    faults: Counter = field(default_factory=Counter)
    outbox_runs: int = 0
    failed_outbox_runs: int = 0
    smtp_faults: Counter = field(default_factory=Counter)
    emails_sent: int = 0         # messages the SMTP server accepted
    outbox_rows: int = 0
    outbox_status: Counter = field(default_factory=Counter)  # at the end
    left_at_sending: Counter = field(default_factory=Counter)  # what the person found, and did
    reverts: Counter = field(default_factory=Counter)   # how the Outbox went back, and to what
    reverted_rows: int = 0       # Sent rows the Outbox went back on (each must end at Sent)
    removed_sent_rows: int = 0   # Sent rows an older copy took away (no row to end at Sent)
    sent_by_journal: int = 0     # rows at Sent at the end whose Error says the journal put them back
    second_rows: int = 0         # of those, second rows of a version that went out from another row
    duplicate_emails: int = 0    # the same Message-ID accepted more than once
    rows_sent_twice: int = 0     # an Outbox row delivered more than once (whatever its Message-IDs)
    mail_errors: int = 0         # a Sent row not received, a message on no row or a wrong one, ...
    crashes: int = 0             # a job failed with something other than a WorkbookError
    requests: int = 0
    stage_changes: int = 0
    records: int = 0
    lost_or_moved_cells: int = 0
    duplicate_ids: int = 0
    changed_ids: int = 0
    missing_ids: int = 0
    history_errors: int = 0
    orphan_history_ids: int = 0
    ghost_rows: int = 0          # rows with sheetcrm's cells but none of the person's
    misplaced_computed: int = 0  # after convergence, a row whose computed cells are not its record's
    deleted_before_id: int = 0   # deals deleted before their ID landed: their first history row may stay
    sync_log_rows: int = 0
    workflow_firings: Counter = field(default_factory=Counter)  # done firings per rule, from the Workflow Log
    duplicate_keys: int = 0      # a Workflow Log key on more than one row
    missed_edges: int = 0        # an edge the person's edits made that no firing answered
    extra_firings: int = 0       # a firing no edit explains (or a result other than done)
    converged_in: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def losses(self) -> int:
        return (self.lost_or_moved_cells + self.duplicate_ids + self.changed_ids + self.missing_ids
                + self.history_errors + self.orphan_history_ids + self.ghost_rows + self.misplaced_computed
                + self.duplicate_emails + self.rows_sent_twice + self.mail_errors + self.crashes
                + self.duplicate_keys + self.missed_edges + self.extra_firings)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(edits=dict(self.edits), faults=dict(self.faults), smtp_faults=dict(self.smtp_faults),
                    outbox_status=dict(self.outbox_status), left_at_sending=dict(self.left_at_sending),
                    workflow_firings=dict(self.workflow_firings),
                    reverts=dict(self.reverts),
                    losses=self.losses)
        data["problems"] = self.problems[:20]
        return data


@dataclass
class Owed:
    """What the soak still owes tests/test_soak.py, whatever the seed: the write fault kinds
    each of the outbox job's two writes gets in turn (WRITE_FAULTS) at its first chances, and
    the two things a person finds at Sending: a message that arrived (a connection cut after
    the server took it) and one that did not (a run with the server down whose outcome write
    fails, so its claimed rows stay at Sending, unsent)."""
    writes: dict[str, list[str]] = field(default_factory=lambda: {p: list(WRITE_FAULTS)
                                                                  for p in ("claim", "outcome")})
    arrived: bool = True
    not_arrived: bool = True


class Person:
    """Edits the spreadsheet as a person would, and remembers what they typed."""

    def __init__(self, emu: Emulator, key: str, rng: random.Random, figures: Figures) -> None:
        self.emu, self.key, self.rng, self.figures = emu, key, rng, figures
        self.owed = Owed()
        self.model: dict[str, dict[str, dict[str, Any]]] = {tab: {} for tab in USER}
        self.history: dict[str, list[str]] = {}       # deal token -> stages it held, in order
        # Records whose ID was on them when a sync had ended: an ID seen in the middle of one
        # may be a misplaced fill that the same sync takes back (docs/concurrency.md).
        self.settled_ids: set[str] = set()
        self.changed_at: dict[str, int] = {}          # deal token -> syncs started when last changed
        self.settled_at: dict[str, int] = {}          # token -> the sync at whose end its ID was first seen
        self.amount_changes: Counter = Counter()      # deal token -> Amount changes, each seen by a sync
        self.deleted: set[str] = set()                # tokens of the rows the person deleted
        self.statuses: dict[str, str] = {}            # lead token -> its Status (never edited here)
        self.next_token = 0
        self.started = 0                              # syncs started so far
        self.last_success = 0                         # index of the last sync that completed
        self.first_success = 0                        # index of the first (the rules are armed by then)
        self.epoch = 0                                # jobs started: a callback of an ended job does nothing
        self.lines: list[list[Any]] = []              # the Quote Lines tab as typed, in order
        self.typing = False                           # whether new deals' quote lines go to the sheet now
        self.before_rules: set[str] = set()           # the records typed before the first sync armed the rules
        self.marked_sent: set[str] = set()            # Outbox rows the person set to Sent
        self.seen: dict[str, dict[str, Any]] = {}     # Outbox row ID -> the row as first seen (its quote, version)
        self.copies: list[list[list[Any]]] = []       # older copies of the Outbox tab, as an app loaded them
        self.reverted: dict[str, str] = {}            # Sent row ID -> its Message-ID, for rows set back
        self.removed: dict[str, str | None] = {}      # row ID a copy took away -> its Message-ID if it was Sent
        self.removed_sent = 0                         # how many of them were Sent
        self.ever_removed: set[str] = set()           # every row ID an older copy ever took away
        self.settled: set[str] = set()                # reverted rows back at Sending that the person set Sent
        self.typed_at: dict[str, int] = {}            # record token -> `started` when the person typed it

    def new_record(self, tab: str) -> list[Any]:
        self.next_token += 1
        if tab == "Opportunities":
            token = f"Deal {self.next_token:05d}"
            stage = self.rng.choice(STAGES[:4])
            close = START + dt.timedelta(days=5 + self.next_token * 7 % CLOSE_SPAN)
            values = {"Name": token, "Account": "ACC-0001", "Contact": "CON-0001", "Stage": stage,
                      "Amount": self.rng.randrange(1, 500) * 100, "Close Date": close.isoformat()}
            self.history[token] = [stage]
            self.changed_at[token] = self.started
            lines = [[token, sku, self.rng.randrange(1, 6), "", self.rng.choice(["", 5, 10])]
                     for sku in self.rng.sample(["P1", "P2", "P3"], self.rng.randrange(1, 4))]
            if self.typing:
                self.emu.set_values(self.key, f"'Quote Lines'!A{len(self.lines) + 2}", lines, value_input="RAW")
            self.lines.extend(lines)
        else:
            token = f"Lead {self.next_token:05d}"
            values = {"Last Name": token, "Company": f"{token} Co", "Status": self.rng.choice(["New", "Contacted"])}
            self.statuses[token] = values["Status"]
        self.model[tab][token] = values
        self.typed_at[token] = self.started
        if not self.typing:
            self.before_rules.add(token)
        return values  # type: ignore[return-value]

    def rows(self, tab: str) -> tuple[list[Any], list[list[Any]]]:
        rows = self.emu.values(self.key, tab)
        return rows[0], rows[1:]

    def locate(self, tab: str, token: str) -> int | None:
        header, body = self.rows(tab)
        col = header.index(TOKEN[tab])
        return next((i + 2 for i, r in enumerate(body) if len(r) > col and r[col] == token), None)

    def set(self, tab: str, row: int, column: str, value: Any) -> None:
        header, _ = self.rows(tab)
        letter = chr(ord("A") + header.index(column))
        self.emu.set_values(self.key, f"'{tab}'!{letter}{row}", [[value]], value_input="RAW")

    def write_row(self, tab: str, row: int, values: dict[str, Any]) -> None:
        header, _ = self.rows(tab)
        cells = [values.get(h, "") if h in USER[tab] else "" for h in header[:header.index(USER[tab][-1]) + 1]]
        self.emu.set_values(self.key, f"'{tab}'!A{row}", [cells], value_input="RAW")

    def edit(self, structural: bool = True, kind: str | None = None, label: str = "") -> None:
        """One edit of a random kind (or `kind`), counted in the figures as `label` + kind."""
        tab = self.rng.choice(["Opportunities", "Opportunities", "Leads"])
        kinds = ["stage", "amount", "append"] + (["insert", "delete", "sort"] if structural else [])
        kind = kind or self.rng.choice(kinds if tab == "Opportunities" else [k for k in kinds
                                                                               if k not in ("stage", "amount")])
        tokens = sorted(self.model[tab])
        # A deal's Stage or Amount changes only once a successful sync has read it with its ID
        # since its last change: each change is then an edge of its own for the workflows (and a
        # row of its own in Stage History).
        ready = [t for t in tokens if tab == "Opportunities" and t in self.settled_ids
                 and self.last_success > max(self.changed_at[t], self.settled_at.get(t, self.started))]
        if kind == "stage":
            if not ready or not (ready := [t for t in ready if t in self._with_id(tab)]):
                return
            token = self.rng.choice(ready)
            stage = self.rng.choice([s for s in STAGES if s != self.model[tab][token]["Stage"]])
            self.set(tab, self.locate(tab, token), "Stage", stage)  # type: ignore[arg-type]
            self.model[tab][token]["Stage"] = stage
            self.history[token].append(stage)
            self.changed_at[token] = self.started
            self.figures.stage_changes += 1
        elif kind == "amount" and ready:
            token = self.rng.choice(ready)
            amount = self.rng.randrange(1, 500) * 100
            if amount == self.model[tab][token]["Amount"]:
                return
            self.set(tab, self.locate(tab, token), "Amount", amount)  # type: ignore[arg-type]
            self.model[tab][token]["Amount"] = amount
            self.changed_at[token] = self.started
            self.amount_changes[token] += 1
        elif kind == "append":
            _, body = self.rows(tab)
            self.write_row(tab, len(body) + 2, self.new_record(tab))
        elif kind == "insert":
            _, body = self.rows(tab)
            index = self.rng.randrange(1, len(body) + 2)
            self.emu.insert_rows(self.key, tab, index)
            if label and self.rng.random() < 0.3:
                kind = "blank insert"  # typed into later, or never: a blank row among the records
            else:
                self.write_row(tab, index + 1, self.new_record(tab))
        elif kind == "delete" and len(tokens) > 5:
            token = self.rng.choice(tokens)
            self.figures.deleted_before_id += tab == "Opportunities" and not self._has_id(tab, token)
            self.emu.delete_rows(self.key, tab, self.locate(tab, token) - 1)  # type: ignore[operator]
            del self.model[tab][token]
            self.deleted.add(token)
        elif kind == "sort":
            header, _ = self.rows(tab)
            column = header.index(self.rng.choice(USER[tab][:1] + USER[tab][2:]))
            self.emu.sort_rows(self.key, tab, column, descending=self.rng.random() < 0.5)
        else:
            return
        self.figures.edits[label + kind] += 1

    def window_edit(self) -> None:
        """An insert, a delete or a sort between the key re-read and the batchUpdate."""
        before = sum(self.figures.edits.values())
        self.edit(kind=self.rng.choice(["insert", "delete", "sort"]), label="window ")
        self.figures.window_edits += sum(self.figures.edits.values()) > before

    # -- quotes and the Outbox ---------------------------------------------------------------

    def outbox(self) -> tuple[list[Any], list[list[Any]]]:
        try:
            self.emu.sheet_id(self.key, "Outbox")
        except KeyError:
            return OUTBOX, []
        header, body = self.rows("Outbox")
        body = [r + [""] * (len(header) - len(r)) for r in body]
        for r in body:
            row = dict(zip(header, r))
            if row["ID"]:
                self.seen.setdefault(row["ID"], row)
        return header, body

    def set_status(self, row: int, status: str) -> None:
        header, _ = self.outbox()
        letter = chr(ord("A") + header.index("Status"))
        self.emu.set_values(self.key, f"'Outbox'!{letter}{row}", [[status]], value_input="RAW")

    def mail_edit(self, structural: bool = True) -> None:
        """Tick a deal's Send Quote, change a ticked deal's quote, approve a Draft, sort the Outbox."""
        kind = self.rng.choice(["tick", "tick", "approve", "approve", "approve", "requote", "outbox revert"]
                               + (["sort outbox"] if structural else []))
        if kind == "outbox revert":
            self.revert_outbox(whole_tab=structural)
            return
        deals = self.model["Opportunities"]
        header, body = self.outbox()
        if kind == "tick":
            unticked = sorted(t for t, v in deals.items() if not v.get("Send Quote"))
            if not unticked:
                return
            token = self.rng.choice(unticked)
            row = self.locate("Opportunities", token)
            self.set("Opportunities", row, "Send Quote", "yes")  # type: ignore[arg-type]
            deals[token]["Send Quote"] = "yes"
        elif kind == "requote":
            ticked = {t for t, v in deals.items() if v.get("Send Quote")}
            mine = [i for i, line in enumerate(self.lines) if line[0] in ticked]
            if not mine:
                return
            i = self.rng.choice(mine)
            self.lines[i][2] = self.lines[i][2] % 9 + 1
            self.emu.set_values(self.key, f"'Quote Lines'!C{i + 2}", [[self.lines[i][2]]], value_input="RAW")
        elif kind == "approve":
            status = header.index("Status")
            drafts = [i + 2 for i, r in enumerate(body) if r[status] == "Draft"]
            if not drafts:
                return
            self.set_status(self.rng.choice(drafts), "Approved")
        else:
            if not body:
                return
            column = self.rng.choice([header.index(h) for h in ("ID", "Status", "Subject", "Opportunity")])
            self.emu.sort_rows(self.key, "Outbox", column, descending=self.rng.random() < 0.5)
        self.figures.edits[kind] += 1

    def outbox_window_edit(self) -> None:
        """A sort of the Outbox, or an older copy of it restored, between the claim's or the
        outcome's key re-read and its batchUpdate ("window sort outbox", "window outbox revert")."""
        edits = sum(self.figures.edits.values())
        if self.rng.random() < 0.5:
            header, body = self.outbox()
            if body:
                column = self.rng.choice([header.index(h) for h in ("ID", "Status", "Subject", "Opportunity")])
                self.emu.sort_rows(self.key, "Outbox", column, descending=self.rng.random() < 0.5)
                self.figures.edits["window sort outbox"] += 1
        else:
            self.revert_outbox(whole_tab=True)
            if sum(self.figures.edits.values()) > edits:
                self.figures.edits["window outbox revert"] += 1
        self.figures.outbox_window_edits += sum(self.figures.edits.values()) > edits

    def copy_outbox(self) -> None:
        """Remember the Outbox as it is now, as an app that loads the workbook would (the last 3)."""
        header, body = self.outbox()
        if body:
            self.copies = [*self.copies[-2:], [header, *body]]

    def revert_outbox(self, whole_tab: bool = True) -> None:
        """Put the Outbox back to an earlier state, as an app's save of an older copy would: a
        Sent row back to Approved, with or without its Message-ID, or the whole tab as a copy
        had it. Remembers which Sent rows went back (each must end at Sent again)."""
        header, body = self.outbox()
        status, mid, rid, sent_at = (header.index(h) for h in ("Status", "Message-ID", "ID", "Sent At"))
        sent = [i for i, r in enumerate(body) if genuinely_sent(dict(zip(header, r)), self.seen)]
        # Owed (whatever the seed): the first SINGLE_REVERTS reverts that find a Sent row put
        # that one row back, with and without its Message-ID in turn.
        single = sum(n for how, n in self.figures.reverts.items() if how.startswith("a Sent row"))
        if whole_tab and self.copies and (not sent or (single >= SINGLE_REVERTS and self.rng.random() < 0.35)):
            copy = self.rng.choice(self.copies)
            if copy[0] != header:
                return
            was = {r[rid]: r for r in copy[1:]}
            for r in body:
                if r[rid] not in was:  # gone, whatever its state: a message of it may be on its way
                    genuine = genuinely_sent(dict(zip(header, r)), self.seen)
                    sent_as = self.reverted.pop(r[rid], r[mid] if genuine else None)
                    self.removed[r[rid]] = sent_as
                    self.ever_removed.add(r[rid])
                    self.removed_sent += sent_as is not None
                elif genuinely_sent(dict(zip(header, r)), self.seen) and was[r[rid]][status] != "Sent":
                    self.reverted[r[rid]] = r[mid]
                    self.settled.discard(r[rid])
            for row_id, r in was.items():
                if row_id in self.removed:  # a row an even older copy took away is back
                    sent_as = self.removed.pop(row_id)
                    if sent_as is not None:
                        self.reverted.setdefault(row_id, sent_as)
                if r[status] == "Sent":  # back as it was when Sent, if it had gone back since
                    self.reverted.pop(row_id, None)
            blank = [""] * len(header)
            rows = [r + [""] * (len(header) - len(r)) for r in copy[1:]] + [blank] * (len(body) - len(copy) + 1)
            self.emu.set_values(self.key, "'Outbox'!A2", rows, value_input="RAW")
            how = "an older copy of the tab"
        elif sent:
            i = self.rng.choice(sent)
            row = body[i]
            self.reverted[row[rid]] = row[mid]
            self.settled.discard(row[rid])
            keep = self.rng.random() < 0.5 if single >= SINGLE_REVERTS else single % 2 == 0
            earlier = {status: "Approved", sent_at: "", mid: row[mid] if keep else ""}
            letter = chr(ord("A") + min(earlier))
            cells = [earlier.get(c, row[c]) for c in range(min(earlier), max(earlier) + 1)]
            self.emu.set_values(self.key, f"'Outbox'!{letter}{i + 2}", [cells], value_input="RAW")
            how = f"a Sent row to Approved, {'with' if keep else 'without'} its Message-ID"
        else:
            return
        self.figures.edits["outbox revert"] += 1
        self.figures.reverts[how] += 1

    def check_sending(self, mailbox: "Mailbox", share: float = 0.3) -> None:
        """For some rows left at Sending, look for the Message-ID in the server's inbox (the
        recipient's, here) and set Sent, or Approved to have it sent again."""
        header, body = self.outbox()
        status, mid, rid = header.index("Status"), header.index("Message-ID"), header.index("ID")
        arrived = {m for m, _ in mailbox.received}
        for i, r in enumerate(body):
            if r[status] == "Sending" and self.rng.random() < share:
                if r[mid] in arrived:
                    self.set_status(i + 2, "Sent")
                    self.marked_sent.add(r[rid])
                    if r[rid] in self.reverted:
                        self.settled.add(r[rid])  # the journal had no say: a person's Sent needs no note
                    self.figures.left_at_sending["had arrived: set Sent"] += 1
                else:
                    self.set_status(i + 2, "Approved")
                    self.figures.left_at_sending["had not arrived: set Approved"] += 1

    def _has_id(self, tab: str, token: str) -> bool:
        return token in self._with_id(tab)

    def _with_id(self, tab: str) -> set[str]:
        header, body = self.rows(tab)
        col = header.index(TOKEN[tab])
        return {r[col] for r in body if len(r) > col and r[0]}


def genuinely_sent(row: dict[str, Any], seen: dict[str, dict[str, Any]]) -> bool:
    """A Sent row with its own message, or a second row of a version saying whose it is: what
    a revert takes back and the journal must put back. A person may see, for the instant
    between an Outbox write and its read-back, a row that write hit by mistake: not that. A
    second row's cells are genuine only on a row of the version of the row its Message-ID
    names (`seen`: row ID -> the row as first seen); a journal write of them moved by a sort
    onto a row of another quote is a mistake the read-back takes off (seed 15, 55 syncs: the
    person reverted such a row in that instant, and it was counted as one the journal owed)."""
    if row["Status"] != "Sent":
        return False
    if str(row["Message-ID"]).startswith(f"<{row['ID']}."):
        return True
    named = re.match(r"<([^.>]+)\.", str(row["Message-ID"]))
    first = seen.get(named.group(1)) if named else None
    return ("this row is a second one" in str(row["Error"]) and first is not None
            and (first["Opportunity"], first["Version"]) == (row["Opportunity"], row["Version"]))


def edit_during(person: Person, mail: bool, risky: bool, window: bool, outbox_window: bool) -> None:
    """A person's edit while a job runs. Inside a write window (docs/concurrency.md) an edit of
    the people's tabs may be structural unless the soak runs with --no-window, and one of the
    Outbox (a sort, an older copy of the tab) unless it runs with --no-outbox-window.
    Otherwise it keeps to typing into cells."""
    if mail:
        person.mail_edit(structural=outbox_window or not risky)
    else:
        person.edit(structural=window or not risky)


def is_outbox_repair(prev: Any, request: Any) -> bool:
    """Whether `request` is the repair that follows a read-back of the Outbox's rows."""
    return (request.method == "POST" and request.path.endswith(":batchUpdate") and prev.method == "GET"
            and prev.query.get("valueRenderOption") == ["UNFORMATTED_VALUE"]
            and prev.query.get("majorDimension") == ["COLUMNS"]
            and any("Outbox" in r for r in prev.query.get("ranges", [])))


def in_write_window(emu: Emulator) -> bool:
    """Whether the request about to be served is (probably) a batchUpdate of planned cells:
    the last one was the key-column re-read, or a write attempt that failed."""
    if not emu.requests:
        return False
    last = emu.requests[-1]
    if last.method == "POST" and last.path.endswith(":batchUpdate"):
        return last.status != 200
    return "FORMULA" in last.query.get("valueRenderOption", [])


def build(emu: Emulator, rng: random.Random, figures: Figures, deals: int, leads: int) -> tuple[str, Person]:
    key = emu.create_spreadsheet("Soak", {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
                                          "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                                                       ["CON-0001", "ACC-0001", "Ana", "Pérez", "ana@example.com"]],
                                          "Opportunities": [["ID", *USER["Opportunities"]]],
                                          "Leads": [["ID", *USER["Leads"]]],
                                          "Products": PRODUCTS,
                                          "Quote Lines": [LINES_HEADER],
                                          "Activities": [["ID", "Date", "Type", "Subject", "Related", "Owner",
                                                          "Outcome"]],
                                          "Tasks": [["ID", "Due", "Subject", "Related", "Owner", "Status"]],
                                          "Workflows": WORKFLOWS})
    person = Person(emu, key, rng, figures)
    for tab, n in (("Opportunities", deals), ("Leads", leads)):
        rows = [[""] + [record.get(h, "") for h in USER[tab]] for record in (person.new_record(tab) for _ in range(n))]
        emu.set_values(key, f"'{tab}'!A2", rows, value_input="RAW")
    emu.set_values(key, "'Quote Lines'!A2", person.lines, value_input="RAW")
    person.typing = True
    return key, person


class Mailbox:
    """The SMTP server's handler: keeps the Message-ID and Subject of each message it accepts;
    answers 451 (busy) or 550 to some, and cuts the connection after taking some."""

    def __init__(self, rng: random.Random, figures: Figures) -> None:
        self.rng, self.figures = rng, figures
        self.received: list[tuple[str, str]] = []
        self.busy, self.refuse, self.cut = 0.08, 0.02, 0.03
        self.handed = 0  # messages handed over so far (SMTP_FAULTS plans some answers by this count)
        self.owe_cut = True  # cut the connection after taking the next message from the 4th on

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        r = self.rng.random()
        self.handed += 1
        answer = SMTP_FAULTS.get(self.handed) if self.cut else None  # none once the soak is quiet
        if self.owe_cut and self.cut and self.handed >= 4:
            answer, self.owe_cut = "connection cut after accepting", False
        if answer is None:
            answer = ("451 replies" if r < self.busy else "550 replies" if r < self.busy + self.refuse
                      else "connection cut after accepting" if r >= 1 - self.cut else "250")
        if answer == "451 replies":
            self.figures.smtp_faults[answer] += 1
            return "451 4.3.0 Mailbox busy, try later"
        if answer == "550 replies":
            self.figures.smtp_faults[answer] += 1
            return "550 5.7.1 Message refused"
        headers = BytesHeaderParser(policy=default_policy).parsebytes(envelope.original_content)
        self.received.append((str(headers["Message-ID"]), str(headers["Subject"])))
        if answer == "connection cut after accepting":
            # Taken, and the connection is gone before the 250: the sender cannot know.
            self.figures.smtp_faults[answer] += 1
            server.transport.abort()
        return "250 2.0.0 Queued"


class SmtpServer:
    """aiosmtpd on 127.0.0.1, stopped and started again on the same port."""

    def __init__(self, mailbox: Mailbox) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.mailbox = mailbox
        self.controller: Controller | None = None
        self.down_runs = 0

    @property
    def up(self) -> bool:
        return self.controller is not None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def settings(self) -> SmtpSettings:
        return SmtpSettings.model_validate({
            "host": "127.0.0.1", "port": self.port, "security": "none", "from": "Sales <sales@example.com>",
            "timeout": 5, "max_attempts": 6, "retry_seconds": 0.001, "max_retry_seconds": 0.001})


class Crashes(logging.Handler):
    """A job that fails with anything but a WorkbookError (logged with its traceback) is a bug."""

    def __init__(self, figures: Figures) -> None:
        super().__init__(logging.ERROR)
        self.figures = figures

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.figures.crashes += 1
            self.figures.problems.append(f"crash: {record.getMessage()}")


def soak(syncs: int = 100, seed: int = 1, deals: int = 30, leads: int = 20, window: bool = True,
         outbox_share: float = 0.7, logger: logging.Logger | None = None, outbox_window: bool = True) -> Figures:
    """Run the soak; `window`: inserts, deletes and sorts of the people's tabs between the key
    re-read and the batchUpdate; `outbox_window`: sorts and older copies of the Outbox there.
    The outbox journal lives beside the lock under $XDG_CACHE_HOME: a temporary one here, so
    runs never share (or leave behind) a journal."""
    rng = random.Random(seed)
    figures = Figures()
    started = time.monotonic()
    logger = logger or logging.getLogger("soak")
    crashes = Crashes(figures)
    logger.addHandler(crashes)
    mailbox = Mailbox(random.Random(seed + 1), figures)
    server = SmtpServer(mailbox)
    server.start()
    config = Config(google=GoogleSettings(attempts=4, backoff_seconds=0.001, max_backoff_seconds=0.01),
                    smtp=server.settings(), workflows=WorkflowSettings(max_per_record=1000))
    cache, was = tempfile.TemporaryDirectory(prefix="soak-cache-"), os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = cache.name
    try:
        with Emulator() as emu:
            _soak(emu, server, config, rng, figures, logger, syncs, seed, deals, leads, window, outbox_share,
                  outbox_window)
    finally:
        server.stop()
        logger.removeHandler(crashes)
        if was is None:
            del os.environ["XDG_CACHE_HOME"]
        else:
            os.environ["XDG_CACHE_HOME"] = was
        cache.cleanup()
    figures.seconds = round(time.monotonic() - started, 1)
    return figures


def _soak(emu: Emulator, server: SmtpServer, config: Config, rng: random.Random, figures: Figures,
          logger: logging.Logger, syncs: int, seed: int, deals: int, leads: int, window: bool,
          outbox_share: float, outbox_window: bool) -> None:
    key, person = build(emu, rng, figures, deals, leads)
    counter = RequestCounter()
    policy = RetryPolicy(attempts=config.google.attempts, base=config.google.backoff_seconds,
                         cap=config.google.max_backoff_seconds, rng=random.Random(seed))
    client = gspread.Client(AnonymousCredentials(), session=emulator_session(emu.host),
                            http_client=SheetsHTTPClient)
    client.http_client.policy, client.http_client.tracer = policy, counter  # type: ignore[attr-defined]
    book = GoogleSheetsWorkbook(client, key)
    today = [START]
    service = Service(config, book, logger, counter=counter, today=lambda: today[0])
    service.smtp = config.smtp  # the loopback server, whatever $SHEETCRM_SMTP_* may say
    sync_job = service.jobs[0]
    outbox_job = next(j for j in service.jobs if j.name == "outbox")
    ids_seen: dict[tuple[str, str], str] = {}
    for n in range(1, syncs + 1):
        if rng.random() < 0.15:
            person.copy_outbox()
        for _ in range(rng.randrange(0, 4)):
            person.edit()
        for _ in range(rng.randrange(0, 3)):
            person.mail_edit()
        inject_faults(emu, rng, figures, config.google.attempts, SYNC_FAULTS.get(n))
        person.started = n
        person.epoch += 1
        today[0] = START + dt.timedelta(days=n)

        def during(e: Emulator, epoch: int = person.epoch) -> None:
            if person.epoch != epoch:
                return  # a leftover from a job that has ended
            risky = in_write_window(e)
            if risky and window and rng.random() < 0.5:
                person.window_edit()
                figures.edits_during_syncs += 1
            elif rng.random() < 0.3:
                edit_during(person, rng.random() < 0.25, risky, window, outbox_window)
                figures.edits_during_syncs += 1
            if rng.random() < 0.05:
                e.fail_next(1, rng.choice([429, 503]))
                figures.faults["mid-sync 429/503"] += 1
            e.between_requests(during)

        emu.between_requests(during)
        ok = service.run_job(sync_job)
        person.started = n + 1  # stage changes from now on are for the next sync to see
        person.epoch += 1       # leftover callbacks see a newer job and do nothing
        figures.syncs += 1
        figures.failed_syncs += not ok
        if ok:
            person.last_success = n
            person.first_success = person.first_success or n
        check_ids(person, ids_seen, figures)
        if rng.random() < outbox_share:
            run_outbox(emu, rng, figures, person, server, service, outbox_job, config.google.attempts, window,
                       outbox_window)
    # Quiet: no more edits or faults. The person settles the rows left at Sending, the outbox
    # drains, the sync converges, and then has nothing to do.
    person.epoch += 1
    emu.between_requests(lambda e: None)
    # A burst armed for a write that never came (its run had failed already) would otherwise
    # hit the quiet runs.
    emu.clear_faults()
    mailbox = server.mailbox
    mailbox.busy = mailbox.refuse = mailbox.cut = 0.0
    if not server.up:
        server.start()
    for _ in range(2):
        # A run sets reverted rows whose outcome the journal does not know back to Sending,
        # for the person to check.
        person.check_sending(mailbox, share=1.0)
        figures.outbox_runs += 1
        if not service.run_job(outbox_job):
            figures.problems.append("a quiet outbox run failed")
    for figures.converged_in in range(1, 4):
        assert service.run_job(sync_job)
        # As the service plans: the quote versions its journal holds are not queued again.
        if not plan_sync(book.read(), config, service.today(), sent_versions=Journal.versions_held(book))[2]:
            break
    else:
        figures.problems.append("the sync did not converge in 3 quiet syncs")
    service.flush_log()
    figures.requests = len(emu.requests)
    figures.outbox_repairs = sum(1 for prev, r in zip(emu.requests, emu.requests[1:]) if is_outbox_repair(prev, r))
    check(person, ids_seen, figures, emu, key)
    check_workflows(person, ids_seen, figures, emu, key, today[0])
    check_mail(person, mailbox, figures, emu, key)


def run_outbox(emu: Emulator, rng: random.Random, figures: Figures, person: Person, server: SmtpServer,
               service: Service, job: Any, attempts: int, window: bool, outbox_window: bool) -> None:
    """One run of the outbox job, with the server's outages, the person's checks of rows left at
    Sending, edits during the run, and faults aimed at the claim and the outcome writes."""
    owed = person.owed
    if not server.up and server.down_runs <= 0:
        server.start()
    header, body = person.outbox()
    # Owed: a run with the server down that claims rows and whose outcome write then fails.
    down_run = (owed.not_arrived and figures.outbox_runs >= 3 and server.up
                and any(r[header.index("Status")] == "Approved" for r in body))
    if server.up and (down_run or rng.random() < 0.06):
        server.stop()
        server.down_runs = 1 if down_run else rng.randrange(1, 4)
        figures.smtp_faults["server stopped"] += 1
    if not server.up:
        server.down_runs -= 1
        figures.smtp_faults["runs with the server down"] += 1
    if rng.random() < 0.5:
        person.check_sending(server.mailbox)
    person.epoch += 1
    first = len(emu.requests)
    cuts = figures.smtp_faults["connection cut after accepting"]
    forced = [False]  # one owed write fault per run, so the run gets on to its next write

    def during(e: Emulator, epoch: int = person.epoch) -> None:
        if person.epoch != epoch:
            return
        risky = in_write_window(e)
        # The batchUpdate about to go, if any, is the claim until one has landed, then the outcome.
        phase = "outcome" if any(r.method == "POST" and r.path.endswith(":batchUpdate") and r.status == 200
                                 for r in e.requests[first:]) else "claim"
        if risky and down_run:
            if phase == "outcome" and not forced[0]:  # none on the claim: the run must get to its outcome
                forced[0] = True
                write_fault(e, rng, figures, phase, attempts, "429/503 burst")
        elif risky and not forced[0] and owed.writes[phase]:
            forced[0] = True
            write_fault(e, rng, figures, phase, attempts, owed.writes[phase].pop(0))
        elif risky and rng.random() < (0.5 if phase == "claim" else 0.3):
            write_fault(e, rng, figures, phase, attempts)
        elif rng.random() < 0.05:
            e.fail_next(1, rng.choice([429, 503]))
            figures.faults["mid-outbox 429/503"] += 1
        if risky and outbox_window and rng.random() < 0.3:
            person.outbox_window_edit()
            figures.edits_during_outbox += 1
        elif rng.random() < 0.25:
            edit_during(person, rng.random() < 0.6, risky, window, outbox_window)
            figures.edits_during_outbox += 1
        e.between_requests(during)

    emu.between_requests(during)
    ok = service.run_job(job)
    person.epoch += 1
    figures.outbox_runs += 1
    figures.failed_outbox_runs += not ok
    # After an owed run, the person looks at the rows left at Sending at once (an older copy of
    # the Outbox restored later could take them away); until they find what is owed, it is owed.
    cut = figures.smtp_faults["connection cut after accepting"] > cuts
    if (owed.not_arrived and down_run) or (owed.arrived and cut):
        person.check_sending(server.mailbox, share=1.0)
        owed.not_arrived = "had not arrived: set Approved" not in figures.left_at_sending
        owed.arrived = "had arrived: set Sent" not in figures.left_at_sending
        server.mailbox.owe_cut = owed.arrived


def write_fault(emu: Emulator, rng: random.Random, figures: Figures, phase: str, attempts: int,
                kind: str | None = None) -> None:
    """A fault on the claim's or the outcome's write (`phase`): `kind`, or a random one."""
    r = rng.random()
    kind = kind or ("429/503 retried" if r < 0.3 else "429/503 burst" if r < 0.45
                    else "dropped connection" if r < 0.7 else "answer lost after applying")
    if kind == "429/503 retried":
        k = rng.randrange(1, attempts)
        emu.fail_next(k, rng.choice([429, 503]))
        figures.faults[f"{phase}: 429/503 retried"] += k
    elif kind == "429/503 burst":
        # The write's attempt, then every attempt of the tab-list re-read before its retry: it fails.
        emu.fail_next(attempts + 1, rng.choice([429, 503]))
        figures.faults[f"{phase}: 429/503 burst"] += attempts + 1
    elif kind == "dropped connection":
        emu.drop_next(1)
        figures.faults[f"{phase}: dropped connection"] += 1
    else:
        emu.drop_next(1, after_applying=True)
        figures.faults[f"{phase}: answer lost after applying"] += 1


def inject_faults(emu: Emulator, rng: random.Random, figures: Figures, attempts: int,
                  kind: str | None = None) -> None:
    """A fault on a sync's first request: `kind` (a key of `figures.faults`), or a random one."""
    r = rng.random()
    kind = kind or ("429/503 retried" if r < 0.15 else "429/503 burst" if r < 0.20
                    else "dropped connection" if r < 0.30 else "answer lost after applying" if r < 0.35 else None)
    if kind == "429/503 retried":
        k = rng.randrange(1, attempts)
        emu.fail_next(k, rng.choice([429, 503]))
        figures.faults["429/503 retried"] += k
    elif kind == "429/503 burst":
        emu.fail_next(attempts, rng.choice([429, 503]))  # more than a request's retries: the sync fails
        figures.faults["429/503 burst"] += attempts
    elif kind == "dropped connection":
        emu.drop_next(1)
        figures.faults["dropped connection"] += 1
    elif kind == "answer lost after applying":
        emu.drop_next(1, after_applying=True)
        figures.faults["answer lost after applying"] += 1


def check_ids(person: Person, ids_seen: dict[tuple[str, str], str], figures: Figures) -> None:
    """A record's ID, once it has one, never changes."""
    for tab in USER:
        header, body = person.rows(tab)
        col = header.index(TOKEN[tab])
        for r in body:
            if len(r) > col and r[0] and r[col]:
                person.settled_ids.add(r[col])
                person.settled_at.setdefault(r[col], person.started - 1)
                was = ids_seen.setdefault((tab, r[col]), r[0])
                if was != r[0]:
                    figures.changed_ids += 1
                    figures.problems.append(f"{r[col]}: ID {was} became {r[0]}")
                    ids_seen[(tab, r[col])] = r[0]


def check(person: Person, ids_seen: dict[tuple[str, str], str], figures: Figures, emu: Emulator, key: str) -> None:
    check_ids(person, ids_seen, figures)
    current_stage: dict[str, str] = {}
    for tab in USER:
        header, body = person.rows(tab)
        col = {h: header.index(h) for h in USER[tab]}
        token_col = col[TOKEN[tab]]
        on_sheet = {r[token_col]: r for r in body if len(r) > token_col and r[token_col]}
        ghosts = [r for r in body if any(r) and not any(r[i] for i in col.values() if i < len(r))]
        figures.ghost_rows += len(ghosts)
        figures.problems.extend(f"{tab}: a row with only sheetcrm's cells: {r}" for r in ghosts)
        figures.records += len(on_sheet)
        ids = [r[0] for r in body if r and r[0]]
        figures.duplicate_ids += len(ids) - len(set(ids))
        figures.missing_ids += sum(1 for r in body if r and not r[0])
        for token in set(on_sheet) ^ set(person.model[tab]):
            figures.lost_or_moved_cells += 1
            figures.problems.append(f"{tab}: record {token} is {'extra' if token in on_sheet else 'missing'}")
        for token, values in person.model[tab].items():
            row = on_sheet.get(token)
            if row is None:
                continue
            for h, want in values.items():
                have = row[col[h]] if col[h] < len(row) else None
                if not same_value(have, want):
                    figures.lost_or_moved_cells += 1
                    figures.problems.append(f"{tab}: {token} {h} is {have!r}, typed {want!r}")
            if tab == "Opportunities":
                current_stage[row[0]] = values["Stage"]
    history = [r for r in emu.values(key, "Stage History")[1:] if r]
    by_id: dict[str, list[list[Any]]] = {}
    for r in history:
        by_id.setdefault(r[0], []).append(r)
    holders = {v: token for (tab, token), v in ids_seen.items() if tab == "Opportunities"}
    orphans = []
    for record_id, rows in by_id.items():
        token = holders.get(record_id)
        if token is None:
            orphans.append(record_id)
            continue
        chain = [rows[0][2]] + [r[2] for r in rows[1:]]
        links_ok = rows[0][1] in (None, "") and all(r[1] == prev[2] for prev, r in zip(rows, rows[1:]))
        alive = token in person.model["Opportunities"]
        if not links_ok or (alive and chain != person.history[token]) or (not alive and chain !=
                                                                          person.history[token][:len(chain)]):
            figures.history_errors += 1
            figures.problems.append(f"{record_id} ({token}): history {chain}, real {person.history[token]}")
    if len(orphans) > figures.deleted_before_id:
        figures.orphan_history_ids = len(orphans) - figures.deleted_before_id
        figures.problems.append(f"Stage History has IDs no record ever held: {orphans}")
    for record_id in current_stage:
        if record_id not in by_id:
            figures.history_errors += 1
            figures.problems.append(f"{record_id} has no Stage History")
    log = [r for r in emu.values(key, "Sync Log")[1:] if r]
    figures.sync_log_rows = len(log)
    runs = figures.syncs + figures.converged_in + figures.outbox_runs
    if len(log) != min(runs, 500):
        figures.problems.append(f"Sync Log has {len(log)} rows for {runs} job runs")
        figures.history_errors += 1
    check_computed(person, figures)
    lines = [r for r in emu.values(key, "Quote Lines")[1:] if r]
    if [r + [""] * (len(LINES_HEADER) - len(r)) for r in lines] != person.lines:
        figures.lost_or_moved_cells += 1
        figures.problems.append("Quote Lines is not as the person typed it")


def check_workflows(person: Person, ids_seen: dict[tuple[str, str], str], figures: Figures, emu: Emulator,
                    key: str, last_day: dt.date) -> None:
    """The Workflow Log against the edits the person made: no key twice, and each rule fired
    exactly once per edge (the soak's own count of them, not sheetcrm's code):

    - WF-0001, a deal entering Closed Won: once per change into Closed Won (deals are never made
      in it), each seen by a sync of its own day;
    - WF-0002, Amount changes: once per change the person made;
    - WF-0003, 2 days before the Close Date: once for a deal whose ID was on the sheet before
      that day; once too for one typed after the rules were armed whose ID came on or after
      it (its due day was evaluated without it: due at the sync that first sees it); never
      for one due before the rules were armed (a new rule does not flood);
    - WF-0004, a lead created, If Status = New: once for each such lead the person typed after
      the first sync armed the rules (one typed before or during the first sync that completed
      may fire or not: that sync, or a failed one before it, may have read it when arming them),
      never for another: the leads typed before it (without IDs,
      handed out by that sync, and dropped and handed out again when a window edit hits them)
      were there when the rule was armed (docs/workflows.md: a new rule never floods).

    A deleted record's last change may have gone with it before any sync saw it: one firing
    fewer is allowed there, never one more."""
    log = emu.values(key, "Workflow Log")
    header, rows = log[0], [dict(zip(log[0], r)) for r in log[1:] if r]
    keys = Counter(r["Key"] for r in rows)
    for k, n in keys.items():
        if n > 1:
            figures.duplicate_keys += n - 1
            figures.problems.append(f"Workflow Log: {k} on {n} rows")
    fired: Counter = Counter()
    for r in rows:
        if r.get("Result") != "done":
            figures.extra_firings += 1
            figures.problems.append(f"Workflow Log: {r['Key']} is {r.get('Result')}: {r.get('Event')}")
            continue
        fired[(r["Rule"], r["Record"])] += 1
        figures.workflow_firings[r["Rule"]] += 1
    expected: dict[tuple[str, str], tuple[int, int]] = {}   # (rule, ID) -> (fewest, most) firings
    for (tab, token), record_id in ids_seen.items():
        gone = token in person.deleted
        if tab == "Opportunities":
            stages = person.history[token]
            won = stages[1:].count("Closed Won")
            expected[("WF-0001", record_id)] = (won - (gone and stages[-1] == "Closed Won"), won)
            moved = person.amount_changes[token]
            expected[("WF-0002", record_id)] = (max(moved - gone, 0), moved)
            number = int(token.split()[1])
            due = START + dt.timedelta(days=5 + number * 7 % CLOSE_SPAN - 2)
            settled = START + dt.timedelta(days=person.settled_at[token])
            sure = settled < due <= last_day
            # Its ID landing on or after its due day. The first sync may arm the rules though it
            # failed (its answer lost after applying), and a deal typed before the arming sync
            # read the sheet is no new record: due on or before the day of the first sync that
            # surely armed them, it may fire or not.
            late = due <= settled and token not in person.before_rules and due >= START + dt.timedelta(days=1)
            armed = START + dt.timedelta(days=person.first_success)
            sure = sure or (late and due > armed)
            expected[("WF-0003", record_id)] = (0, 1) if gone else (int(sure), int(sure or late or settled < due))
        else:
            new = person.statuses[token] == "New" and token not in person.before_rules
            # Typed before or during the first sync that completed: the sync that armed the rules
            # (that one, or an earlier one that failed after applying) may have read it already,
            # and a record there when a rule is armed is no new one (a new rule never floods).
            early = person.typed_at[token] <= person.first_success
            expected[("WF-0004", record_id)] = (0, int(new)) if gone or early else (int(new), int(new))
    for (rule, record_id), (fewest, most) in sorted(expected.items()):
        n = fired.pop((rule, record_id), 0)
        if n < fewest:
            figures.missed_edges += fewest - n
            figures.problems.append(f"{rule} fired {n} times on {record_id}, {fewest} edges")
        elif n > most:
            figures.extra_firings += n - most
            figures.problems.append(f"{rule} fired {n} times on {record_id}, at most {most} edges")
    for (rule, record_id), n in fired.items():
        figures.extra_firings += n
        figures.problems.append(f"{rule} fired {n} times on {record_id}, a record the person never had")
    # The Workflows tab's Firings column says the same as the Log.
    wf = emu.values(key, "Workflows")
    col = wf[0].index("Firings") if "Firings" in wf[0] else None
    for r in wf[1:]:
        have = r[col] if col is not None and len(r) > col else ""
        if (have or 0) != figures.workflow_firings[r[0]]:
            figures.extra_firings += 1
            figures.problems.append(f"Workflows: {r[0]} shows {have!r} firings, the Log {figures.workflow_firings[r[0]]}")


# Computed columns that are a function of the row's own typed cells in this soak: deals of one
# Stage share a Probability and a Forecast Category, leads of one Status a Score and a Grade.
# (Days in Stage, Last Activity and the like depend on history and activities, not checked.)
SAME_FOR = {"Opportunities": ("Stage", ["Probability %", "Forecast Category"]),
            "Leads": ("Status", ["Score", "Grade"])}


def check_computed(person: Person, figures: Figures) -> None:
    """After convergence, every row's computed cells are its own record's: rows alike hold
    alike values, and Weighted Amount is the row's own Amount times its Probability."""
    for tab, (by, columns) in SAME_FOR.items():
        header, body = person.rows(tab)
        token, key = header.index(TOKEN[tab]), header.index(by)
        cols = [header.index(c) for c in columns]
        rows = [r + [""] * (len(header) - len(r)) for r in body if len(r) > token and r[token]]
        groups: dict[Any, Counter] = {}
        for r in rows:
            groups.setdefault(r[key], Counter())[tuple(r[c] for c in cols)] += 1
        for value, seen in groups.items():
            for computed, n in seen.most_common()[1:]:
                figures.misplaced_computed += n
                figures.problems.append(f"{tab}: {n} rows with {by} {value} show {computed}, "
                                        f"{seen.most_common(1)[0][0]} on the others")
        if tab == "Opportunities":
            amount, p, weighted = (header.index(h) for h in ("Amount", "Probability %", "Weighted Amount"))
            for r in rows:
                # Probability % holds a fraction under a percent format (0.75 shows 75 %).
                if r[p] == "" or abs(float(r[weighted] or 0) - r[amount] * r[p]) > 0.005:
                    figures.misplaced_computed += 1
                    figures.problems.append(f"{r[token]}: Weighted Amount {r[weighted]!r} for Amount "
                                            f"{r[amount]!r} at {r[p]!r}")


def check_mail(person: Person, mailbox: Mailbox, figures: Figures, emu: Emulator, key: str) -> None:
    """No email twice; the Outbox tells the truth about what the server accepted."""
    def problem(text: str) -> None:
        figures.mail_errors += 1
        figures.problems.append(text)

    header, body = person.outbox()
    rows = [dict(zip(header, r)) for r in body if any(r)]
    figures.outbox_rows = len(rows)
    figures.outbox_status = Counter(r["Status"] for r in rows)
    figures.emails_sent = len(mailbox.received)
    by_id = {r["ID"]: r for r in rows}
    by_quote = {r["Quote"]: r for r in rows}
    if len(by_id) != len(rows) or len(by_quote) != len(rows):
        problem(f"Outbox IDs or quote numbers shared: {Counter(r['ID'] for r in rows).most_common(3)}")
    queued = Counter((r["Opportunity"], r["Version"]) for r in rows)
    for (opp, version), n in queued.items():
        # One version on two rows is right only when an older copy took the first row away
        # before its quote went out (the sync then queues it again; a version the journal
        # holds it never does) and a later copy brought the row back: every row of the
        # version but one is a row some copy took away (docs/quotes.md, "The journal").
        same = [r["ID"] for r in rows if (r["Opportunity"], r["Version"]) == (opp, version)]
        if n > 1 and sum(row_id not in person.ever_removed for row_id in same) > 1:
            problem(f"{opp} version {version} queued {n} times: {same}")

    # Every row that ever sent was seen by the person (they approved it): its quote number
    # names the row and the version it was queued with, even if an older copy took it away.
    ever = {r["Quote"]: r for r in person.seen.values()}
    version_of = {m: (row["Opportunity"], row["Version"]) for m, subject in mailbox.received
                  for q in [re.search(r"Q-\d{4}-\d{4}", subject)] if q
                  for row in [ever.get(q.group(0))] if row}
    per_message = Counter(m for m, _ in mailbox.received)
    per_row: Counter = Counter()
    per_version: Counter = Counter()
    for message_id, subject in mailbox.received:
        quote = re.search(r"Q-\d{4}-\d{4}", subject)
        row = ever.get(quote.group(0)) if quote else None
        if row is None:
            problem(f"{message_id} ({subject!r}) arrived, and no Outbox row ever had its quote")
            continue
        per_row[row["ID"]] += 1
        per_version[version_of[message_id]] += 1
        if not message_id.startswith(f"<{row['ID']}."):
            problem(f"{message_id} arrived with the subject of {row['ID']}")
        holders = [r for r in rows if r["Message-ID"] == message_id]
        if not holders:
            if row["ID"] in by_id or row["ID"] not in person.removed:
                problem(f"{message_id} arrived, but {row['ID']} is {by_id.get(row['ID'], {}).get('Status')} "
                        f"with {by_id.get(row['ID'], {}).get('Message-ID')!r}")
        elif any(r["Status"] not in ("Sent", "Sending") for r in holders) or len(holders) > 1 and not all(
                r["Status"] == "Sent" and (r["Opportunity"], r["Version"]) == version_of[message_id]
                and f"from {row['ID']} (sheetcrm's journal)" in str(r["Error"])
                for r in holders if r["ID"] != row["ID"]):
            # Besides the row it was made for, a message may show only on a second row of its
            # version (above), at Sent, whose Error names the row it went out from.
            problem(f"{message_id} arrived, and is on {[(r['ID'], r['Status']) for r in holders]}")
    figures.duplicate_emails = sum(n - 1 for n in per_message.values())
    figures.rows_sent_twice = (sum(n - 1 for n in per_row.values())
                               + sum(n - 1 for n in per_version.values()))
    for message_id, n in per_message.items():
        if n > 1:
            figures.problems.append(f"{message_id} arrived {n} times")
    for what, n in [*per_row.items(), *per_version.items()]:
        if n > 1:
            figures.problems.append(f"{what} was delivered {n} times")

    acts = emu.values(key, "Activities")
    act_header, act_rows = acts[0], [r for r in acts[1:] if r]
    act_ids = [r[0] for r in act_rows if r and r[0]]
    if len(act_ids) != len(set(act_ids)) or len(act_ids) != len(act_rows):
        problem(f"Activities: {len(act_rows)} rows, {len(set(act_ids))} distinct IDs")
    outcome = act_header.index("Outcome")
    # "Quote Q-2026-0001 sent to Ana Pérez <ana@example.com> (<OUT-0001.…@example.com>)"
    logged = Counter(m.group(1) for r in act_rows if len(r) > outcome
                     for m in [re.search(r"\((<[^>]+>)\)\Z", str(r[outcome]))] if m)
    for row in rows:
        if row["Status"] in ("Sent", "Sending") and row["Message-ID"] in version_of and \
                version_of[row["Message-ID"]] != (row["Opportunity"], row["Version"]):
            problem(f"{row['ID']} ({row['Opportunity']} version {row['Version']}) holds {row['Message-ID']}, "
                    f"a message of {version_of[row['Message-ID']]}")
        if row["Status"] == "Sent":
            arrived = per_message[row["Message-ID"]]
            if arrived != 1:
                problem(f"{row['ID']} is Sent, and its {row['Message-ID']} arrived {arrived} times")
            if row["ID"] not in person.marked_sent and logged[row["Message-ID"]] != 1:
                problem(f"{row['ID']} is Sent, with {logged[row['Message-ID']]} Email activities")
        elif logged[row["Message-ID"]]:
            problem(f"{row['ID']} is {row['Status']}, with an Email activity")
        if row["Status"] in ("Approved", "Sending"):
            problem(f"{row['ID']} is still {row['Status']} after the quiet runs")

    # The rows the Outbox went back on: Sent again, with the message that went out, saying why.
    figures.reverted_rows = len(person.reverted)
    journaled = [r for r in rows if r["Status"] == "Sent" and "sheetcrm's journal" in str(r["Error"])]
    figures.sent_by_journal = len(journaled)
    figures.second_rows = sum(not r["Message-ID"].startswith(f"<{r['ID']}.") for r in journaled)
    figures.removed_sent_rows = person.removed_sent
    for row_id, message_id in person.reverted.items():
        row = by_id.get(row_id)
        if row is None:
            problem(f"{row_id} went back to an earlier state, and is gone")
        elif row["Status"] != "Sent" or row["Message-ID"] != message_id:
            problem(f"{row_id} went back from Sent as {message_id}, and ends {row['Status']} with "
                    f"{row['Message-ID']!r}")
        elif row_id not in person.settled and "sheetcrm's journal" not in str(row["Error"]):
            problem(f"{row_id} is Sent again, and its Error does not say why: {row['Error']!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--syncs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--deals", type=int, default=30)
    parser.add_argument("--leads", type=int, default=20)
    parser.add_argument("--no-window", dest="window", action="store_false",
                        help="no inserts, deletes or sorts between the key re-read and the batchUpdate")
    parser.add_argument("--no-outbox-window", dest="outbox_window", action="store_false",
                        help="no Outbox sorts or older copies between a key re-read and the batchUpdate")
    parser.add_argument("--outbox-share", type=float, default=0.7, help="share of syncs followed by an outbox run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    figures = soak(args.syncs, args.seed, args.deals, args.leads, args.window, args.outbox_share,
                   outbox_window=args.outbox_window)
    print(json.dumps(figures.as_dict(), indent=2))
    raise SystemExit(1 if figures.losses else 0)


if __name__ == "__main__":
    main()
