"""Soak of the .xlsx backend: many syncs of one workbook file while a person saves it, a
spreadsheet app opens and closes it, and stale copies of the Outbox come back; then checks
that nothing was lost and no quote went out twice.

    python bench/soak_xlsx.py --syncs 300 --seed 7     # the figures in docs/service.md

The jobs are `sheetcrm run`'s (`Service.run_job`: the sync job, and the outbox job sending to
an aiosmtpd server on 127.0.0.1 as in bench/soak.py, which answers 451 to some messages and
cuts the connection after taking some), and now and then a plain `sheetcrm.sync.sync` (which
reads and plans again on a conflict).

**The person** edits the file the way a spreadsheet app does: loads the whole workbook
(openpyxl), types values (Stage, Amount, Status), appends, inserts, deletes and sorts rows
(sheetcrm's cells in a row move with it), edits formulas, ticks Send Quote, approves Drafts,
changes quote lines, and saves the whole file atomically (a new file renamed over the old).
openpyxl saves formulas without their results, so the person's "app" computes its formulas
and writes their results into the saved file, as Excel and LibreOffice do. Saves happen
between jobs and *during* them: right after any sheetcrm read (between its read and its
write) and right before sheetcrm's final check and rename (`HookedBook`).

Every record carries a token (its Name, or its Last Name) that the person never edits, so it
is recognised wherever it moves. The person's formulas: an "Amount x2" column on
Opportunities (`=F5*2` on every row, its header itself a formula) and a Notes tab of formulas
the person edits now and then; each formula's last result is the one the person's app wrote.

**The app's lock file** (LibreOffice `.~lock.NAME#` or Excel `~$NAME`) appears and disappears
beside the workbook at random, between jobs and between sheetcrm's read and write. While it
is there every sheetcrm write must be refused with a WorkbookError naming the app, leaving
the file's bytes and mtime as they were, and no email may go out.

**A stale Outbox**: when the person approves Drafts, the app keeps that copy of the Outbox;
later, after some of those rows went out, the person's save puts the copy back (rows Sent →
Approved, rows added since gone), as a save of a stale file does. The journal must keep every
quote version from being sent twice and put the reverted rows back at Sent.

Checked, after every job and at the end:
- no user cell lost, changed or moved to another record; deleted rows gone, new rows there;
  the Quote Lines tab as typed;
- every record has an ID, none shared, none ever changed;
- every formula keeps its text, and its cached result (read with calamine) is the one the
  person's app last wrote: checked after every job and before every save, since a save
  recomputes them;
- Stage History: each deal's rows chain from its first stage to its current one;
- the SMTP server received no Message-ID twice and no quote version twice; every reverted row
  ends at Sent with the Message-ID that arrived; nothing is left Approved or Sending;
- every job's Sync Log row is in the tab; after the chaos stops, the sync converges.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import random
import re
import sys
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import openpyxl
import python_calamine

sys.path.insert(0, str(Path(__file__).resolve().parent))

from soak import LINES_HEADER, OUTBOX, PRODUCTS, STAGES, USER, TOKEN, Crashes, Mailbox, SmtpServer  # noqa: E402

from sheetcrm.config import Config  # noqa: E402
from sheetcrm.lock import AppLocked, app_lock  # noqa: E402
from sheetcrm.mail.journal import Journal  # noqa: E402
from sheetcrm.service import Service  # noqa: E402
from sheetcrm.sync import plan_sync, sync  # noqa: E402
from sheetcrm.workbook import Plan, WorkbookConflict, WorkbookError, WriteResult, same_value  # noqa: E402
from sheetcrm.workbook.xlsx import XlsxWorkbook  # noqa: E402

DOUBLE = "Amount x2"             # the person's formula column on Opportunities: =F{row}*2
DOUBLE_HEADER = '="Amount"&" x2"'  # a header computed by a formula (issue 10, item 1)
AMOUNT_COL = 1 + 1 + USER["Opportunities"].index("Amount")  # F, after ID
NOTES = "Notes"                  # the person's own tab of formulas
APPS = ("LibreOffice", "Excel")


@dataclass
class Figures:
    syncs: int = 0                 # sync jobs, `sheetcrm.sync.sync` calls included
    direct_syncs: int = 0          # of which `sheetcrm.sync.sync`
    failed_syncs: int = 0
    outbox_runs: int = 0
    failed_outbox_runs: int = 0
    failures: Counter = field(default_factory=Counter)  # why jobs failed: conflict, app lock, ...
    saves: Counter = field(default_factory=Counter)     # the person's saves, by moment
    edits: Counter = field(default_factory=Counter)
    lock_files: Counter = field(default_factory=Counter)  # lock files put beside the workbook, by app
    conflicts: int = 0             # sheetcrm writes that found the file saved since their read (nothing written)
    writes_refused: int = 0        # sheetcrm writes refused by an app's lock file
    written_while_locked: int = 0  # writes that changed the file while a lock file was there (must be 0)
    wrong_refusals: int = 0        # a refusal without a lock file, or not naming the app
    sent_while_locked: int = 0     # emails that left during a run that a lock file covered throughout
    reverts: int = 0               # stale Outbox copies saved back
    reverted_rows: int = 0         # rows a revert put back from Sent to Approved
    reverted_not_sent: int = 0     # reverted rows not at Sent (with the Message-ID that arrived) at the end
    smtp_faults: Counter = field(default_factory=Counter)
    emails_sent: int = 0
    emails_of_removed_rows: int = 0  # received, for rows a stale Outbox copy removed
    duplicate_emails: int = 0      # the same Message-ID received twice
    versions_sent_twice: int = 0   # the same quote version received twice (whatever the Message-IDs)
    mail_errors: int = 0
    outbox_rows: int = 0
    outbox_status: Counter = field(default_factory=Counter)
    crashes: int = 0               # a job failed with something other than a WorkbookError
    records: int = 0
    stage_changes: int = 0
    lost_or_moved_cells: int = 0
    duplicate_ids: int = 0
    changed_ids: int = 0
    missing_ids: int = 0
    ghost_rows: int = 0
    formula_cells: int = 0         # formula cells checked at the end
    formula_checks: int = 0        # times every formula's text and result were checked
    formula_errors: int = 0        # a formula changed, or its cached result is not the app's
    history_errors: int = 0
    deleted_before_id: int = 0
    sync_log_rows: int = 0
    converged_in: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def losses(self) -> int:
        return (self.lost_or_moved_cells + self.duplicate_ids + self.changed_ids + self.missing_ids + self.ghost_rows
                + self.formula_errors + self.history_errors + self.written_while_locked + self.wrong_refusals
                + self.sent_while_locked + self.reverted_not_sent + self.duplicate_emails + self.versions_sent_twice
                + self.mail_errors + self.crashes)

    def problem(self, text: str) -> None:
        if len(self.problems) < 200:
            self.problems.append(text)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for name in ("failures", "saves", "edits", "lock_files", "smtp_faults", "outbox_status"):
            data[name] = dict(getattr(self, name))
        data["losses"] = self.losses
        data["problems"] = self.problems[:20]
        return data


# -- the file as a person's app sees it ------------------------------------------------------

def calamine_tabs(data: bytes) -> dict[str, list[list[Any]]]:
    """Every tab's values as calamine reads them (cached results for formulas), "" as None."""
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    out = {}
    for name in book.sheet_names:
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        out[name] = [[None if v == "" else v for v in row] for row in rows]
    return out


def cell(rows: list[list[Any]], r: int, c: int) -> Any:
    """1-based."""
    return rows[r - 1][c - 1] if r - 1 < len(rows) and c - 1 < len(rows[r - 1]) else None


_EMPTY_RESULT = re.compile(rb'<c r="([A-Z]+[0-9]+)"([^>]*)><f>(.*?)</f><v\s*/></c>', re.S)


def with_results(saved: bytes, results: dict[int, dict[str, Any]]) -> bytes:
    """openpyxl's `saved` package with each formula's result written in, as an app saves it:
    `results` maps a sheet's position to {cell reference: result}. openpyxl names its sheet
    parts xl/worksheets/sheet{position + 1}.xml."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(saved)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            m = re.fullmatch(r"xl/worksheets/sheet(\d+)\.xml", info.filename)
            wanted = results.get(int(m[1]) - 1) if m else None
            if wanted:
                def put(c: re.Match, wanted: dict[str, Any] = wanted) -> bytes:
                    value = wanted[c[1].decode()]
                    if isinstance(value, str):
                        text = value.replace("&", "&amp;").replace("<", "&lt;").encode()
                        return b'<c r="%s"%s t="str"><f>%s</f><v>%s</v></c>' % (c[1], c[2], c[3], text)
                    return b'<c r="%s"%s><f>%s</f><v>%s</v></c>' % (c[1], c[2], c[3], repr(value).encode())
                data = _EMPTY_RESULT.sub(put, data)
            zout.writestr(info, data)
    return out.getvalue()


def save_atomically(path: Path, data: bytes) -> None:
    """As apps do: a new file beside the workbook, renamed over it (not sheetcrm's temp-file name)."""
    tmp = path.with_name(f".person-{os.getpid()}-{path.name}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def put_lock_file(path: Path, app: str) -> Path:
    """The lock file LibreOffice or Excel keeps beside a workbook it has open."""
    if app == "LibreOffice":
        lock = path.with_name(f".~lock.{path.name}#")
        lock.write_text(",Ana Pérez,ana-laptop,30.11.2026 09:00,file:///home/ana/.config/libreoffice/4;")
    else:
        lock = path.with_name(f"~${path.name}")
        name = b"Ana Perez"
        lock.write_bytes(bytes([len(name)]) + name + b"\0" * (54 - len(name)))
    return lock


class Person:
    """Edits the workbook with a spreadsheet app (openpyxl, plus computed formula results),
    and remembers what they typed."""

    def __init__(self, path: Path, rng: random.Random, figures: Figures) -> None:
        self.path, self.rng, self.figures = path, rng, figures
        self.model: dict[str, dict[str, dict[str, Any]]] = {tab: {} for tab in USER}
        self.notes: dict[int, tuple[str, Any]] = {}    # Notes row -> (formula, its result)
        self.lines: list[list[Any]] = []               # Quote Lines as typed, in order
        self.history: dict[str, list[str]] = {}        # deal token -> the stages it held
        self.changed_at: dict[str, int] = {}           # deal token -> syncs started when last changed
        self.next_token = 0
        self.next_note = 0
        self.started = 0
        self.last_success = 0
        self.stale_outbox: list[list[Any]] | None = None  # the app's old copy of the Outbox rows
        self.reverted: set[str] = set()                # Outbox rows a revert put back to Approved
        self.marked_sent: set[str] = set()             # rows the person set to Sent after checking the inbox
        self.outbox_seen: dict[str, tuple[str, str]] = {}  # row ID -> (opportunity, version), ever seen
        self.formula_problems: set[str] = set()        # reported once each

    # -- records -------------------------------------------------------------------------------

    def new_record(self, tab: str) -> dict[str, Any]:
        self.next_token += 1
        if tab == "Opportunities":
            token = f"Deal {self.next_token:05d}"
            stage = self.rng.choice(STAGES[:4])
            values = {"Name": token, "Account": "ACC-0001", "Contact": "CON-0001", "Stage": stage,
                      "Amount": self.rng.randrange(1, 500) * 100, "Close Date": "2026-12-15"}
            self.history[token] = [stage]
            self.changed_at[token] = self.started
            self.lines.extend([token, sku, self.rng.randrange(1, 6), None, self.rng.choice([None, 5, 10])]
                              for sku in self.rng.sample(["P1", "P2", "P3"], self.rng.randrange(1, 4)))
        else:
            token = f"Lead {self.next_token:05d}"
            values = {"Last Name": token, "Company": f"{token} Co", "Status": self.rng.choice(["New", "Contacted"])}
        self.model[tab][token] = values
        return values

    def new_note(self) -> tuple[str, Any]:
        self.next_note += 1
        a, b = self.rng.randrange(2, 99), self.rng.randrange(2, 99)
        if self.rng.random() < 0.3:
            return f'="note "&"{a}-{b}"', f"note {a}-{b}"
        return f"={a}*{b}", a * b

    def body(self, ws: Any) -> list[list[Any]]:
        """A tab's rows below the header as cells (openpyxl), as wide as the tab."""
        width = ws.max_column
        return [[ws.cell(r, c) for c in range(1, width + 1)] for r in range(2, ws.max_row + 1)]

    def set_body(self, ws: Any, rows: list[list[tuple[Any, Any, str]]]) -> None:
        """Rewrite a tab's body: rows of (value, number format, data type); a whole row moves,
        sheetcrm's cells with it; the person's =F{row}*2 formulas follow their row."""
        width = max([ws.max_column] + [len(r) for r in rows])
        last = max(ws.max_row, len(rows) + 1)
        for i in range(len(rows) + 2, last + 1):
            for c in range(1, width + 1):
                ws.cell(i, c).value = None
        for i, row in enumerate(rows, start=2):
            for c in range(1, width + 1):
                value, fmt, kind = row[c - 1] if c - 1 < len(row) else (None, "General", "n")
                target = ws.cell(i, c)
                if kind == "f" and re.fullmatch(r"=F\d+\*2", str(value)):
                    value = f"=F{i}*2"
                target.value = value
                if kind == "s":
                    target.data_type = "s"  # text that starts with "=" stays text
                target.number_format = fmt

    def rows_of(self, ws: Any) -> list[list[tuple[Any, Any, str]]]:
        return [[(c.value, c.number_format, c.data_type) for c in row] for row in self.body(ws)]

    def token_rows(self, ws: Any, tab: str) -> dict[str, int]:
        """Where each record is now; a record of the model that is not in the file is a loss."""
        header = [c.value for c in ws[1]]
        col = header.index(TOKEN[tab]) + 1
        where = {ws.cell(r, col).value: r for r in range(2, ws.max_row + 1) if ws.cell(r, col).value}
        for token in sorted(set(self.model[tab]) - set(where)):
            self.figures.lost_or_moved_cells += 1
            self.figures.problem(f"{tab}: {token} is not in the file the person opened")
            del self.model[tab][token]
        return where

    def write_record(self, ws: Any, tab: str, r: int, values: dict[str, Any]) -> None:
        header = [c.value for c in ws[1]]
        for h in USER[tab]:
            target = ws.cell(r, header.index(h) + 1)
            target.value = values.get(h)
            if isinstance(values.get(h), str):
                target.data_type = "s"
        if tab == "Opportunities":
            ws.cell(r, len(USER[tab]) + 2).value = f"=F{r}*2"

    # -- one save ------------------------------------------------------------------------------

    def save(self, where: str, edits: int = 1, structural: bool = True) -> bool:
        """Load the workbook as an app does, make `edits` edits, save it atomically with every
        formula's result. False when no edit applied (then nothing is saved)."""
        data = self.path.read_bytes()
        self.check_formulas(data, f"before a save ({where})")
        wb = openpyxl.load_workbook(io.BytesIO(data))
        self.see_outbox(wb)
        done = [kind for kind in (self.edit(wb, structural) for _ in range(edits)) if kind]
        if not done:
            return False
        results = {i: self.results(ws) for i, ws in enumerate(wb.worksheets)}
        buffer = io.BytesIO()
        wb.save(buffer)
        save_atomically(self.path, with_results(buffer.getvalue(), results))
        self.figures.saves[where] += 1
        for kind in done:
            self.figures.edits[kind] += 1
        return True

    def results(self, ws: Any) -> dict[str, Any]:
        """What the person's app computes for each formula of a tab."""
        out = {}
        for row in ws.iter_rows():
            for c in row:
                if c.data_type != "f":
                    continue
                if ws.title == "Opportunities" and c.row == 1:
                    out[c.coordinate] = DOUBLE
                elif ws.title == "Opportunities" and c.value == f"=F{c.row}*2":
                    amount = ws.cell(c.row, AMOUNT_COL).value
                    out[c.coordinate] = amount * 2 if isinstance(amount, (int, float)) else 0
                elif ws.title == NOTES and c.column == 2 and c.row in self.notes:
                    out[c.coordinate] = self.notes[c.row][1]
                else:
                    self.figures.formula_errors += 1
                    self.figures.problem(f"{ws.title}!{c.coordinate}: a formula the person never typed: {c.value!r}")
                    out[c.coordinate] = 0
        return out

    def edit(self, wb: Any, structural: bool) -> str | None:
        kinds = ["type", "type", "type", "append", "formula", "tick", "tick", "approve", "approve", "requote"]
        if self.stale_outbox is not None:
            kinds += ["revert", "revert"]
        if structural:
            kinds += ["insert", "delete", "sort", "sort outbox"]
        kind = self.rng.choice(kinds)
        return getattr(self, "_" + kind.replace(" ", "_"))(wb)

    def _type(self, wb: Any) -> str | None:
        tab = self.rng.choice(["Opportunities", "Opportunities", "Leads"])
        ws = wb[tab]
        where = self.token_rows(ws, tab)
        header = [c.value for c in ws[1]]
        if tab == "Leads":
            token = self.rng.choice(sorted(self.model[tab]))
            now = self.model[tab][token]["Status"]
            status = self.rng.choice([s for s in ("New", "Contacted", "Qualified") if s != now])
            ws.cell(where[token], header.index("Status") + 1).value = status
            self.model[tab][token]["Status"] = status
            return "type status"
        if self.rng.random() < 0.5:
            token = self.rng.choice(sorted(self.model[tab]))
            amount = self.rng.randrange(1, 500) * 100
            ws.cell(where[token], header.index("Amount") + 1).value = amount
            self.model[tab][token]["Amount"] = amount
            return "type amount"
        with_id = {t for t, r in where.items() if ws.cell(r, 1).value}
        ready = [t for t in sorted(self.model[tab]) if self.last_success > self.changed_at[t] and t in with_id]
        if not ready:
            return None
        token = self.rng.choice(ready)
        stage = self.rng.choice([s for s in STAGES if s != self.model[tab][token]["Stage"]])
        ws.cell(where[token], header.index("Stage") + 1).value = stage
        self.model[tab][token]["Stage"] = stage
        self.history[token].append(stage)
        self.changed_at[token] = self.started
        self.figures.stage_changes += 1
        return "type stage"

    def _append(self, wb: Any) -> str:
        tab = self.rng.choice(["Opportunities", "Leads"])
        ws = wb[tab]
        self.write_record(ws, tab, ws.max_row + 1, self.new_record(tab))
        if tab == "Opportunities":
            self._write_lines(wb)
        return "append"

    def _insert(self, wb: Any) -> str:
        tab = self.rng.choice(["Opportunities", "Leads"])
        ws = wb[tab]
        rows = self.rows_of(ws)
        at = self.rng.randrange(0, len(rows) + 1)
        rows.insert(at, [])
        self.set_body(ws, rows)
        self.write_record(ws, tab, at + 2, self.new_record(tab))
        if tab == "Opportunities":
            self._write_lines(wb)
        return "insert"

    def _delete(self, wb: Any) -> str | None:
        tab = self.rng.choice(["Opportunities", "Leads"])
        if len(self.model[tab]) <= 5:
            return None
        ws = wb[tab]
        where = self.token_rows(ws, tab)
        token = self.rng.choice(sorted(self.model[tab]))
        self.figures.deleted_before_id += tab == "Opportunities" and not ws.cell(where[token], 1).value
        rows = self.rows_of(ws)
        del rows[where[token] - 2]
        self.set_body(ws, rows)
        del self.model[tab][token]
        return "delete"

    def _sort(self, wb: Any) -> str:
        tab = self.rng.choice(["Opportunities", "Leads"])
        ws = wb[tab]
        header = [c.value for c in ws[1]]
        col = header.index(self.rng.choice([h for h in USER[tab] if h != "Send Quote"]))
        rows = self.rows_of(ws)
        rows.sort(key=lambda r: (str(type(r[col][0])), r[col][0] if r[col][0] is not None else ""),
                  reverse=self.rng.random() < 0.5)
        self.set_body(ws, rows)
        return "sort"

    def _formula(self, wb: Any) -> str:
        ws = wb[NOTES]
        if self.notes and self.rng.random() < 0.7:
            r = self.rng.choice(sorted(self.notes))
        else:
            r = ws.max_row + 1
            ws.cell(r, 1).value = f"note {r}"
        formula, result = self.new_note()
        ws.cell(r, 2).value = formula
        self.notes[r] = (formula, result)
        return "formula"

    def _write_lines(self, wb: Any) -> None:
        ws = wb["Quote Lines"]
        for i, line in enumerate(self.lines, start=2):
            for c, v in enumerate(line, start=1):
                if ws.cell(i, c).value != v:
                    ws.cell(i, c).value = v

    # -- quotes and the Outbox ---------------------------------------------------------------

    def outbox(self, wb: Any) -> tuple[Any, list[str], list[list[Any]]]:
        if "Outbox" not in wb.sheetnames:
            return None, OUTBOX, []
        ws = wb["Outbox"]
        header = [c.value for c in ws[1]]
        return ws, header, [[c.value for c in row] for row in self.body(ws)]

    def see_outbox(self, wb: Any) -> None:
        _, header, body = self.outbox(wb)
        self.remember_outbox(header, body)

    def remember_outbox(self, header: list[Any], body: list[list[Any]]) -> None:
        if "Version" not in header:
            return
        rid, opp, version = header.index("ID"), header.index("Opportunity"), header.index("Version")
        for r in body:
            if len(r) > version and r[rid]:
                self.outbox_seen.setdefault(r[rid], (r[opp], r[version]))

    def _tick(self, wb: Any) -> str | None:
        ws = wb["Opportunities"]
        where = self.token_rows(ws, "Opportunities")
        deals = self.model["Opportunities"]
        unticked = sorted(t for t, v in deals.items() if not v.get("Send Quote"))
        if not unticked:
            return None
        token = self.rng.choice(unticked)
        header = [c.value for c in ws[1]]
        ws.cell(where[token], header.index("Send Quote") + 1).value = "yes"
        deals[token]["Send Quote"] = "yes"
        return "tick"

    def _requote(self, wb: Any) -> str | None:
        ticked = {t for t, v in self.model["Opportunities"].items() if v.get("Send Quote")}
        mine = [i for i, line in enumerate(self.lines) if line[0] in ticked]
        if not mine:
            return None
        i = self.rng.choice(mine)
        self.lines[i][2] = self.lines[i][2] % 9 + 1
        wb["Quote Lines"].cell(i + 2, 3).value = self.lines[i][2]
        return "requote"

    def _approve(self, wb: Any) -> str | None:
        ws, header, body = self.outbox(wb)
        status = header.index("Status")
        drafts = [i + 2 for i, r in enumerate(body) if r[status] == "Draft"]
        if not drafts:
            return None
        for r in self.rng.sample(drafts, self.rng.randrange(1, len(drafts) + 1)):
            ws.cell(r, status + 1).value = "Approved"
        if self.stale_outbox is None and self.rng.random() < 0.6:
            # The app keeps this copy; a later save of it reverts what sheetcrm wrote since.
            self.stale_outbox = self.rows_of(ws)
        return "approve"

    def _revert(self, wb: Any) -> str | None:
        ws, header, body = self.outbox(wb)
        if self.stale_outbox is None or ws is None:
            return None
        status, rid = header.index("Status"), header.index("ID")
        now = {r[rid]: r[status] for r in body}
        back = {row[rid][0] for row in self.stale_outbox
                if row[status][0] == "Approved" and now.get(row[rid][0]) == "Sent"}
        if not back:
            return None
        self.set_body(ws, self.stale_outbox)
        self.stale_outbox = None
        self.reverted |= back
        self.figures.reverts += 1
        self.figures.reverted_rows += len(back)
        return "revert"

    def _sort_outbox(self, wb: Any) -> str | None:
        ws, header, body = self.outbox(wb)
        if not body:
            return None
        col = header.index(self.rng.choice(["ID", "Status", "Subject", "Opportunity"]))
        rows = self.rows_of(ws)
        rows.sort(key=lambda r: str(r[col][0] or ""), reverse=self.rng.random() < 0.5)
        self.set_body(ws, rows)
        return "sort outbox"

    def settle(self, mailbox: Mailbox, share: float = 0.3) -> None:
        """For rows left at Sending, look for the Message-ID in the inbox: Sent, or Approved."""
        wb = openpyxl.load_workbook(io.BytesIO(self.path.read_bytes()))
        ws, header, body = self.outbox(wb)
        if ws is None:
            return
        status, mid, rid = header.index("Status"), header.index("Message-ID"), header.index("ID")
        arrived = {m for m, _ in mailbox.received}
        changed = False
        for i, r in enumerate(body, start=2):
            if r[status] == "Sending" and self.rng.random() < share:
                ws.cell(i, status + 1).value = "Sent" if r[mid] in arrived else "Approved"
                if r[mid] in arrived:
                    self.marked_sent.add(r[rid])
                self.figures.edits["settle: " + ("Sent" if r[mid] in arrived else "Approved")] += 1
                changed = True
        if changed:
            results = {i: self.results(ws) for i, ws in enumerate(wb.worksheets)}
            buffer = io.BytesIO()
            wb.save(buffer)
            save_atomically(self.path, with_results(buffer.getvalue(), results))
            self.figures.saves["settling Sending rows"] += 1

    # -- formulas ------------------------------------------------------------------------------

    def check_formulas(self, data: bytes, when: str) -> None:
        """Every formula as the person typed it, with the result the person's app last wrote."""
        self.figures.formula_checks += 1
        tabs = calamine_tabs(data)
        wb = openpyxl.load_workbook(io.BytesIO(data))
        opps, rows = wb["Opportunities"], tabs["Opportunities"]
        want: list[tuple[str, int, int, str, Any]] = [("Opportunities", 1, len(USER["Opportunities"]) + 2,
                                                        DOUBLE_HEADER, DOUBLE)]
        for r in range(2, opps.max_row + 1):
            if opps.cell(r, 2).value:  # a record: its formula, and the result for its amount
                amount = cell(rows, r, AMOUNT_COL)
                want.append(("Opportunities", r, len(USER["Opportunities"]) + 2, f"=F{r}*2",
                             amount * 2 if isinstance(amount, (int, float)) else 0))
        want += [(NOTES, r, 2, formula, result) for r, (formula, result) in self.notes.items()]
        for tab, r, c, formula, result in want:
            have_formula, have = wb[tab].cell(r, c).value, cell(tabs[tab], r, c)
            if have_formula != formula or not same_value(have, result):
                text = f"{tab}!{openpyxl.utils.get_column_letter(c)}{r}: {have_formula!r} shows {have!r}, " \
                       f"the app wrote {formula!r} = {result!r} ({when})"
                if text not in self.formula_problems:
                    self.formula_problems.add(text)
                    self.figures.formula_errors += 1
                    self.figures.problem(text)
        self.figures.formula_cells = len(want)


class HookedBook(XlsxWorkbook):
    """The .xlsx backend with a person acting right after each read (so between sheetcrm's read
    and its write) and right before the final check and rename of each write; every write is
    watched: while an app's lock file is there it must be refused and leave the file as it was."""

    def __init__(self, path: Path, figures: Figures) -> None:
        super().__init__(path)
        self.figures = figures
        self.after_read: Callable[[], None] = lambda: None
        self.before_rename: Callable[[], None] = lambda: None

    def read(self):  # type: ignore[override]
        snapshot = super().read()
        self.after_read()
        return snapshot

    def write(self, plan: Plan) -> WriteResult:
        locked = app_lock(self.path)
        before = (os.stat(self.path).st_mtime_ns, self.path.read_bytes())
        try:
            return super().write(plan)
        except WorkbookConflict:
            self.figures.conflicts += 1
            raise
        except AppLocked as e:
            self.figures.writes_refused += 1
            if locked is None or locked[0] not in str(e):
                self.figures.wrong_refusals += 1
                self.figures.problem(f"a write refused with {e!r}, lock file: {locked}")
            raise
        finally:
            if locked is not None and (os.stat(self.path).st_mtime_ns, self.path.read_bytes()) != before:
                self.figures.written_while_locked += 1
                self.figures.problem(f"the file changed during a write while {locked[1].name} was there")

    def _commit(self, new: bytes, base: Any) -> None:
        if base is not None:
            self.before_rename()
        super()._commit(new, base)


def build(path: Path, rng: random.Random, figures: Figures, deals: int, leads: int) -> Person:
    person = Person(path, rng, figures)
    wb = openpyxl.Workbook()
    wb.active.title = "Accounts"
    tabs = {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
            "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                         ["CON-0001", "ACC-0001", "Ana", "Pérez", "ana@example.com"]],
            "Opportunities": [["ID", *USER["Opportunities"], DOUBLE_HEADER]],
            "Leads": [["ID", *USER["Leads"]]],
            "Products": PRODUCTS,
            "Quote Lines": [LINES_HEADER],
            "Activities": [["ID", "Date", "Type", "Subject", "Related", "Owner", "Outcome"]],
            NOTES: [["What", "Formula"]]}
    for title, rows in tabs.items():
        ws = wb[title] if title in wb.sheetnames else wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    for tab, n in (("Opportunities", deals), ("Leads", leads)):
        for _ in range(n):
            person.write_record(wb[tab], tab, wb[tab].max_row + 1, person.new_record(tab))
    person._write_lines(wb)
    for _ in range(4):
        person._formula(wb)
    results = {i: person.results(ws) for i, ws in enumerate(wb.worksheets)}
    buffer = io.BytesIO()
    wb.save(buffer)
    save_atomically(path, with_results(buffer.getvalue(), results))
    return person


# -- the run -------------------------------------------------------------------------------------

def soak_xlsx(syncs: int = 100, seed: int = 1, deals: int = 30, leads: int = 20, folder: Path | None = None,
              outbox_share: float = 0.7, logger: logging.Logger | None = None) -> Figures:
    """Run the soak in `folder` (a new temporary folder by default); $XDG_CACHE_HOME should
    point at a fresh folder too, for the outbox journal and the Sync Log queue of this run."""
    rng = random.Random(seed)
    figures = Figures()
    started = time.monotonic()
    logger = logger or logging.getLogger("soak_xlsx")
    crashes = Crashes(figures)  # type: ignore[arg-type]  # it only counts crashes and problems
    logger.addHandler(crashes)
    server = SmtpServer(Mailbox(random.Random(seed + 1), figures))  # type: ignore[arg-type]
    server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            _soak(Path(folder or tmp) / "soak.xlsx", server, rng, figures, logger, syncs, deals, leads, outbox_share)
    finally:
        server.stop()
        logger.removeHandler(crashes)
    figures.seconds = round(time.monotonic() - started, 1)
    return figures


def _soak(path: Path, server: SmtpServer, rng: random.Random, figures: Figures, logger: logging.Logger,
          syncs: int, deals: int, leads: int, outbox_share: float) -> None:
    person = build(path, rng, figures, deals, leads)
    config = Config(smtp=server.settings())
    book = HookedBook(path, figures)
    service = Service(config, book, logger)
    service.smtp = config.smtp  # the loopback server, whatever $SHEETCRM_SMTP_* may say
    sync_job = service.jobs[0]
    outbox_job = next(j for j in service.jobs if j.name == "outbox")
    watch(sync_job, figures)
    watch(outbox_job, figures)
    ids_seen: dict[tuple[str, str], str] = {}
    lock: list[tuple[Path, int]] = []  # the app's lock file while there is one, and which one

    def toggle_lock() -> None:
        if lock:
            lock.pop()[0].unlink()
        else:
            app = rng.choice(APPS)
            figures.lock_files[app] += 1
            lock.append((put_lock_file(path, app), sum(figures.lock_files.values())))

    def during(job: str) -> None:
        def after_read() -> None:
            if rng.random() < 0.25:
                person.save(f"during a {job}: after a read", rng.randrange(1, 3), structural=rng.random() < 0.6)
            if rng.random() < (0.1 if lock else 0.03):
                toggle_lock()

        def before_rename() -> None:
            if rng.random() < 0.15:
                person.save(f"during a {job}: before the rename", 1, structural=rng.random() < 0.6)

        book.after_read, book.before_rename = after_read, before_rename

    def quiet() -> None:
        book.after_read = book.before_rename = lambda: None

    for n in range(1, syncs + 1):
        for _ in range(rng.randrange(0, 3)):
            person.save("between jobs", rng.randrange(1, 4))
        if rng.random() < (0.4 if lock else 0.08):  # the app stays open for a few jobs
            toggle_lock()
        person.started = n
        during("sync")
        if rng.random() < 0.2:
            ok = direct_sync(book, config, service, figures)
        else:
            ok = service.run_job(sync_job)
        person.started = n + 1
        quiet()
        figures.syncs += 1
        figures.failed_syncs += not ok
        if ok:
            person.last_success = n
        after_job(person, ids_seen, figures)
        if rng.random() < outbox_share:
            run_outbox(person, server, service, outbox_job, rng, figures, lock, during, quiet)
    # Quiet: the app closes, the person stops editing, settles the rows left at Sending; the
    # outbox drains, the sync converges and then has nothing to do.
    if lock:
        toggle_lock()
    quiet()
    mailbox = server.mailbox
    mailbox.busy = mailbox.refuse = mailbox.cut = 0.0
    if not server.up:
        server.start()
    for _ in range(3):
        # Rows at Sending are for a person (an outcome the journal could not know, e.g. a
        # reverted row whose connection was cut): they check the inbox before each run.
        person.settle(mailbox, share=1.0)
        figures.outbox_runs += 1
        if not service.run_job(outbox_job):
            figures.problem("a quiet outbox run failed")
        after_job(person, ids_seen, figures)
    for figures.converged_in in range(1, 4):
        if not service.run_job(sync_job):
            figures.problem("a quiet sync failed")
        # As the service plans: with the quote versions its journal holds (never queued again).
        if not plan_sync(book.read(), config, service.today(), sent_versions=Journal.versions_held(book))[2]:
            break
    else:
        figures.problem("the sync did not converge in 3 quiet syncs")
    service.flush_log()
    after_job(person, ids_seen, figures)
    check(person, ids_seen, figures, figures.syncs - figures.direct_syncs + figures.outbox_runs + figures.converged_in)
    check_mail(person, server.mailbox, figures)


def direct_sync(book: HookedBook, config: Config, service: Service, figures: Figures) -> bool:
    """`sheetcrm sync`: reads and plans again after a conflict, up to 3 times."""
    figures.direct_syncs += 1
    try:
        # As `sheetcrm sync` does: with the versions the outbox journal holds.
        sync(book, config, service.today(), sent_versions=Journal.versions_held(book))
        return True
    except WorkbookError as e:
        figures.failures[f"sync: {kind_of(e)}"] += 1
        return False


def kind_of(e: BaseException) -> str:
    if isinstance(e, AppLocked):
        return "app lock file"
    if isinstance(e, WorkbookConflict):
        return "saved meanwhile"
    return type(e).__name__


def watch(job: Any, figures: Figures) -> None:
    """Count why the job fails (it still fails: `Service.run_job` logs and queues it)."""
    work = job.work

    def watched() -> Any:
        try:
            return work()
        except Exception as e:
            figures.failures[f"{job.name}: {kind_of(e)}"] += 1
            raise

    job.work = watched


def run_outbox(person: Person, server: SmtpServer, service: Service, job: Any, rng: random.Random,
               figures: Figures, lock: list[tuple[Path, int]], during: Callable[[str], None],
               quiet: Callable[[], None]) -> None:
    if not server.up and server.down_runs <= 0:
        server.start()
    if server.up and rng.random() < 0.05:
        server.stop()
        server.down_runs = rng.randrange(1, 3)
        figures.smtp_faults["server stopped"] += 1
    if not server.up:
        server.down_runs -= 1
        figures.smtp_faults["runs with the server down"] += 1
    if rng.random() < 0.5:
        person.settle(server.mailbox)
    locked_before, received = list(lock), len(server.mailbox.received)
    during("outbox run")
    ok = service.run_job(job)
    quiet()
    figures.outbox_runs += 1
    figures.failed_outbox_runs += not ok
    if locked_before and lock == locked_before and len(server.mailbox.received) != received:
        figures.sent_while_locked += len(server.mailbox.received) - received
        figures.problem(f"{len(server.mailbox.received) - received} emails left while {lock[0][0].name} was there")
    after_job(person, None, figures)


def after_job(person: Person, ids_seen: dict[tuple[str, str], str] | None, figures: Figures) -> None:
    """After every job: formulas and their results, the Outbox rows seen, and (after syncs) IDs."""
    data = person.path.read_bytes()
    person.check_formulas(data, "after a job")
    tabs = calamine_tabs(data)
    if "Outbox" in tabs and tabs["Outbox"]:
        person.remember_outbox(tabs["Outbox"][0], tabs["Outbox"][1:])
    if ids_seen is not None:
        check_ids(tabs, ids_seen, figures)


def check_ids(tabs: dict[str, list[list[Any]]], ids_seen: dict[tuple[str, str], str], figures: Figures) -> None:
    """A record's ID, once it has one, never changes."""
    for tab in USER:
        header, *body = tabs[tab]
        col = header.index(TOKEN[tab])
        for r in body:
            if len(r) > col and r[0] and r[col]:
                was = ids_seen.setdefault((tab, r[col]), r[0])
                if was != r[0]:
                    figures.changed_ids += 1
                    figures.problem(f"{r[col]}: ID {was} became {r[0]}")
                    ids_seen[(tab, r[col])] = r[0]


def check(person: Person, ids_seen: dict[tuple[str, str], str], figures: Figures, job_runs: int) -> None:
    tabs = calamine_tabs(person.path.read_bytes())
    check_ids(tabs, ids_seen, figures)
    current_stage: dict[str, str] = {}
    for tab in USER:
        header, *body = tabs[tab]
        col = {h: header.index(h) for h in USER[tab]}
        token_col = col[TOKEN[tab]]
        body = [r for r in body if any(v is not None for v in r)]
        on_sheet = {r[token_col]: r for r in body if len(r) > token_col and r[token_col]}
        ghosts = [r for r in body if not any(r[i] for i in col.values() if i < len(r))]
        figures.ghost_rows += len(ghosts)
        for r in ghosts:
            figures.problem(f"{tab}: a row with only sheetcrm's cells: {r}")
        figures.records += len(on_sheet)
        ids = [r[0] for r in body if r[0]]
        figures.duplicate_ids += len(ids) - len(set(ids))
        figures.missing_ids += sum(1 for r in body if not r[0])
        for token in set(on_sheet) ^ set(person.model[tab]):
            figures.lost_or_moved_cells += 1
            figures.problem(f"{tab}: record {token} is {'extra' if token in on_sheet else 'missing'}")
        for token, values in person.model[tab].items():
            row = on_sheet.get(token)
            if row is None:
                continue
            for h in USER[tab]:
                have, want = row[col[h]] if col[h] < len(row) else None, values.get(h)
                if not same_value(have, want):
                    figures.lost_or_moved_cells += 1
                    figures.problem(f"{tab}: {token} {h} is {have!r}, typed {want!r}")
            if tab == "Opportunities":
                current_stage[row[0]] = values["Stage"]
    lines = [r for r in tabs["Quote Lines"][1:] if any(v is not None for v in r)]
    if [r + [None] * (len(LINES_HEADER) - len(r)) for r in lines] != person.lines:
        figures.lost_or_moved_cells += 1
        figures.problem("Quote Lines is not as the person typed it")
    check_history(person, ids_seen, figures, tabs, current_stage)
    log = [r for r in tabs["Sync Log"][1:] if any(v is not None for v in r)]
    figures.sync_log_rows = len(log)
    if len(log) != min(job_runs, 500):
        figures.history_errors += 1
        figures.problem(f"Sync Log has {len(log)} rows for {job_runs} job runs")


def check_history(person: Person, ids_seen: dict[tuple[str, str], str], figures: Figures,
                  tabs: dict[str, list[list[Any]]], current_stage: dict[str, str]) -> None:
    """Each deal's Stage History rows chain from its first stage to its current one."""
    by_id: dict[str, list[list[Any]]] = {}
    for r in tabs["Stage History"][1:]:
        if r and r[0]:
            by_id.setdefault(r[0], []).append(r)
    holders = {v: token for (tab, token), v in ids_seen.items() if tab == "Opportunities"}
    orphans = []
    for record_id, rows in by_id.items():
        token = holders.get(record_id)
        if token is None:
            orphans.append(record_id)
            continue
        chain = [r[2] for r in rows]
        links_ok = rows[0][1] in (None, "") and all(r[1] == prev[2] for prev, r in zip(rows, rows[1:]))
        alive = token in person.model["Opportunities"]
        real = person.history[token]
        if not links_ok or (alive and chain != real) or (not alive and chain != real[:len(chain)]):
            figures.history_errors += 1
            figures.problem(f"{record_id} ({token}): history {chain}, real {real}")
    if len(orphans) > figures.deleted_before_id:
        figures.history_errors += len(orphans) - figures.deleted_before_id
        figures.problem(f"Stage History has IDs no record ever held: {orphans}")
    for record_id in current_stage:
        if record_id not in by_id:
            figures.history_errors += 1
            figures.problem(f"{record_id} has no Stage History")


def check_mail(person: Person, mailbox: Mailbox, figures: Figures) -> None:
    """No Message-ID and no quote version twice; reverted rows back at Sent; nothing waiting."""
    def problem(text: str) -> None:
        figures.mail_errors += 1
        figures.problem(text)

    tabs = calamine_tabs(person.path.read_bytes())
    header, *body = tabs["Outbox"]
    rows = [dict(zip(header, r)) for r in body if any(v is not None for v in r)]
    figures.outbox_rows = len(rows)
    figures.outbox_status = Counter(r["Status"] for r in rows)
    figures.emails_sent = len(mailbox.received)
    by_id = {r["ID"]: r for r in rows}
    if len(by_id) != len(rows):
        problem(f"Outbox IDs shared: {Counter(r['ID'] for r in rows).most_common(3)}")
    per_message = Counter(m for m, _ in mailbox.received)
    figures.duplicate_emails = sum(n - 1 for n in per_message.values())
    for message_id, n in per_message.items():
        if n > 1:
            figures.problem(f"{message_id} arrived {n} times")
    per_version: Counter = Counter()
    for message_id in per_message:
        m = re.match(r"<(OUT-\d+)\.", message_id)
        version = person.outbox_seen.get(m[1]) if m else None
        if version is None:
            problem(f"{message_id} arrived, and no Outbox row with its ID was ever seen")
            continue
        per_version[version] += 1
    figures.versions_sent_twice = sum(n - 1 for n in per_version.values())
    for version, n in per_version.items():
        if n > 1:
            figures.problem(f"{version[0]} version {version[1]} arrived {n} times")
    for row in rows:
        if row["Status"] == "Sent" and per_message[row["Message-ID"]] != 1:
            problem(f"{row['ID']} is Sent, and its {row['Message-ID']} arrived {per_message[row['Message-ID']]} times")
        elif row["Status"] in ("Approved", "Sending"):
            problem(f"{row['ID']} is still {row['Status']} after the quiet runs")
        elif row["Status"] != "Sent" and row["Message-ID"] in per_message:
            problem(f"{row['ID']} is {row['Status']}, and its {row['Message-ID']} arrived")
    on_rows = {r["Message-ID"] for r in rows}
    # Messages of rows a stale copy took away (their versions may be queued again: never sent again).
    figures.emails_of_removed_rows = sum(1 for m in per_message if m not in on_rows)
    for row_id in sorted(person.reverted):
        row = by_id.get(row_id)
        if row is not None and row["Status"] != "Sent":
            figures.reverted_not_sent += 1
            figures.problem(f"{row_id}, reverted from Sent to Approved, ends at {row['Status']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--syncs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--deals", type=int, default=30)
    parser.add_argument("--leads", type=int, default=20)
    parser.add_argument("--outbox-share", type=float, default=0.7, help="share of syncs followed by an outbox run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    with tempfile.TemporaryDirectory() as cache:
        os.environ["XDG_CACHE_HOME"] = cache  # this run's journal and Sync Log queue
        figures = soak_xlsx(args.syncs, args.seed, args.deals, args.leads, outbox_share=args.outbox_share)
    print(json.dumps(figures.as_dict(), indent=2, default=str))
    raise SystemExit(1 if figures.losses else 0)


if __name__ == "__main__":
    main()
