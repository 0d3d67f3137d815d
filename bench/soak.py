"""Soak: many consecutive syncs of `sheetcrm run`'s sync job against the Sheets API emulator,
with a person editing between syncs and during them, and 429/503 bursts and dropped
connections, then checks that nothing was lost.

    python bench/soak.py --syncs 1000 --seed 1          # the figures in docs/service.md
    python bench/soak.py --syncs 300 --window           # edits in the write window too

Every record carries a token (its Name, or its Last Name) that the person never edits, so a
record is recognised wherever it moves. The soak keeps its own model of every cell the person
typed, and at the end compares the sheet with it:

- no user cell lost, changed or moved to another record; deleted rows gone, new rows there;
- every record has an ID, no two share one, and no record's ID ever changed;
- Stage History holds exactly the real stage changes: each deal's rows form a chain from its
  first stage to its current one, one row per change the person made;
- computed values are right: after the edits stop, a sync converges and a fresh plan is empty;
- the Sync Log holds one row per sync that ran.

Edits land between any two requests of a sync (`between_requests`), except, by default,
structural edits (insert, delete, sort) in the write window: just before a `batchUpdate`
attempt, after the key-column re-read. docs/concurrency.md documents that window (and a
retried write widens it); `--window` puts edits there too and counts what they cost.
Stage changes to one deal are spaced so that a successful sync sees each of them: two changes
that no sync saw apart would, rightly, be one change in the history.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import gspread
from google.auth.credentials import AnonymousCredentials

from sheetcrm.config import Config, GoogleSettings
from sheetcrm.emulator import Emulator
from sheetcrm.emulator.session import emulator_session
from sheetcrm.service import RequestCounter, Service
from sheetcrm.sync import plan_sync
from sheetcrm.workbook import same_value
from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy, SheetsHTTPClient

STAGES = ["Prospecting", "Qualification", "Proposal", "Negotiation", "Closed Won", "Closed Lost"]
# The columns a person types, per tab; sheetcrm owns ID and adds its computed columns after these.
USER = {
    "Opportunities": ["Name", "Account", "Stage", "Amount", "Close Date"],
    "Leads": ["Last Name", "Company", "Status"],
}
TOKEN = {"Opportunities": "Name", "Leads": "Last Name"}


@dataclass
class Figures:
    syncs: int = 0
    failed_syncs: int = 0
    edits: Counter = field(default_factory=Counter)
    edits_during_syncs: int = 0
    window_edits: int = 0
    faults: Counter = field(default_factory=Counter)
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
    deleted_before_id: int = 0   # deals deleted before their ID landed: their first history row may stay
    sync_log_rows: int = 0
    converged_in: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def losses(self) -> int:
        return (self.lost_or_moved_cells + self.duplicate_ids + self.changed_ids + self.missing_ids
                + self.history_errors + self.orphan_history_ids + self.ghost_rows)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(edits=dict(self.edits), faults=dict(self.faults), losses=self.losses)
        data["problems"] = self.problems[:20]
        return data


class Person:
    """Edits the spreadsheet as a person would, and remembers what they typed."""

    def __init__(self, emu: Emulator, key: str, rng: random.Random, figures: Figures) -> None:
        self.emu, self.key, self.rng, self.figures = emu, key, rng, figures
        self.model: dict[str, dict[str, dict[str, Any]]] = {tab: {} for tab in USER}
        self.history: dict[str, list[str]] = {}       # deal token -> stages it held, in order
        self.changed_at: dict[str, int] = {}          # deal token -> syncs started when last changed
        self.next_token = 0
        self.started = 0                              # syncs started so far
        self.last_success = 0                         # index of the last sync that completed

    def new_record(self, tab: str) -> list[Any]:
        self.next_token += 1
        if tab == "Opportunities":
            token = f"Deal {self.next_token:05d}"
            stage = self.rng.choice(STAGES[:4])
            values = {"Name": token, "Account": "ACC-0001", "Stage": stage,
                      "Amount": self.rng.randrange(1, 500) * 100, "Close Date": "2026-12-15"}
            self.history[token] = [stage]
            self.changed_at[token] = self.started
        else:
            token = f"Lead {self.next_token:05d}"
            values = {"Last Name": token, "Company": f"{token} Co", "Status": self.rng.choice(["New", "Contacted"])}
        self.model[tab][token] = values
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

    def edit(self, structural: bool = True) -> None:
        tab = self.rng.choice(["Opportunities", "Opportunities", "Leads"])
        kinds = ["stage", "amount", "append"] + (["insert", "delete", "sort"] if structural else [])
        kind = self.rng.choice(kinds if tab == "Opportunities" else [k for k in kinds if k not in ("stage", "amount")])
        tokens = sorted(self.model[tab])
        if kind == "stage":
            ready = [t for t in tokens if self.last_success > self.changed_at[t] and self._has_id(tab, t)]
            if not ready:
                return
            token = self.rng.choice(ready)
            stage = self.rng.choice([s for s in STAGES if s != self.model[tab][token]["Stage"]])
            self.set(tab, self.locate(tab, token), "Stage", stage)  # type: ignore[arg-type]
            self.model[tab][token]["Stage"] = stage
            self.history[token].append(stage)
            self.changed_at[token] = self.started
            self.figures.stage_changes += 1
        elif kind == "amount" and tokens:
            token = self.rng.choice(tokens)
            amount = self.rng.randrange(1, 500) * 100
            self.set(tab, self.locate(tab, token), "Amount", amount)  # type: ignore[arg-type]
            self.model[tab][token]["Amount"] = amount
        elif kind == "append":
            _, body = self.rows(tab)
            self.write_row(tab, len(body) + 2, self.new_record(tab))
        elif kind == "insert":
            _, body = self.rows(tab)
            index = self.rng.randrange(1, len(body) + 2)
            self.emu.insert_rows(self.key, tab, index)
            self.write_row(tab, index + 1, self.new_record(tab))
        elif kind == "delete" and len(tokens) > 5:
            token = self.rng.choice(tokens)
            self.figures.deleted_before_id += tab == "Opportunities" and not self._has_id(tab, token)
            self.emu.delete_rows(self.key, tab, self.locate(tab, token) - 1)  # type: ignore[operator]
            del self.model[tab][token]
        elif kind == "sort":
            header, _ = self.rows(tab)
            column = header.index(self.rng.choice(USER[tab][:1] + USER[tab][2:]))
            self.emu.sort_rows(self.key, tab, column, descending=self.rng.random() < 0.5)
        else:
            return
        self.figures.edits[kind] += 1

    def _has_id(self, tab: str, token: str) -> bool:
        header, body = self.rows(tab)
        col = header.index(TOKEN[tab])
        return any(r[0] for r in body if len(r) > col and r[col] == token)


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
                                          "Opportunities": [["ID", *USER["Opportunities"]]],
                                          "Leads": [["ID", *USER["Leads"]]]})
    person = Person(emu, key, rng, figures)
    for tab, n in (("Opportunities", deals), ("Leads", leads)):
        rows = [[""] + [record[h] for h in USER[tab]] for record in (person.new_record(tab) for _ in range(n))]
        emu.set_values(key, f"'{tab}'!A2", rows, value_input="RAW")
    return key, person


def soak(syncs: int = 100, seed: int = 1, deals: int = 30, leads: int = 20, window: bool = False,
         logger: logging.Logger | None = None) -> Figures:
    rng = random.Random(seed)
    figures = Figures()
    started = time.monotonic()
    logger = logger or logging.getLogger("soak")
    config = Config(google=GoogleSettings(attempts=4, backoff_seconds=0.001, max_backoff_seconds=0.01))
    with Emulator() as emu:
        key, person = build(emu, rng, figures, deals, leads)
        counter = RequestCounter()
        policy = RetryPolicy(attempts=config.google.attempts, base=config.google.backoff_seconds,
                             cap=config.google.max_backoff_seconds, rng=random.Random(seed))
        client = gspread.Client(AnonymousCredentials(), session=emulator_session(emu.host),
                                http_client=SheetsHTTPClient)
        client.http_client.policy, client.http_client.tracer = policy, counter  # type: ignore[attr-defined]
        book = GoogleSheetsWorkbook(client, key)
        service = Service(config, book, logger, counter=counter)
        ids_seen: dict[tuple[str, str], str] = {}
        for n in range(1, syncs + 1):
            for _ in range(rng.randrange(0, 4)):
                person.edit()
            inject_faults(emu, rng, figures, config.google.attempts)
            person.started = n

            def during(e: Emulator, n: int = n) -> None:
                if person.started != n:
                    return  # a leftover from a sync that has ended
                if rng.random() < 0.3:
                    risky = in_write_window(e)
                    if not risky or window:
                        person.edit()
                        figures.window_edits += risky
                    else:
                        person.edit(structural=False)
                    figures.edits_during_syncs += 1
                if rng.random() < 0.05:
                    e.fail_next(1, rng.choice([429, 503]))
                    figures.faults["mid-sync 429/503"] += 1
                e.between_requests(during)

            emu.between_requests(during)
            ok = service.run_job(service.jobs[0])
            person.started = n + 1  # leftover callbacks see a newer sync and do nothing
            figures.syncs += 1
            figures.failed_syncs += not ok
            if ok:
                person.last_success = n
            check_ids(person, ids_seen, figures)
        # Quiet: no more edits or faults. The sync converges, and then has nothing to do.
        emu.between_requests(lambda e: None)
        for figures.converged_in in range(1, 4):
            assert service.run_job(service.jobs[0])
            if not plan_sync(book.read(), config, service.today())[2]:
                break
        else:
            figures.problems.append("the sync did not converge in 3 quiet syncs")
        service.flush_log()
        figures.requests = len(emu.requests)
        check(person, ids_seen, figures, emu, key)
    figures.seconds = round(time.monotonic() - started, 1)
    return figures


def inject_faults(emu: Emulator, rng: random.Random, figures: Figures, attempts: int) -> None:
    r = rng.random()
    if r < 0.15:
        k = rng.randrange(1, attempts)
        emu.fail_next(k, rng.choice([429, 503]))
        figures.faults["429/503 retried"] += k
    elif r < 0.20:
        emu.fail_next(attempts, rng.choice([429, 503]))  # more than a request's retries: the sync fails
        figures.faults["429/503 burst"] += attempts
    elif r < 0.30:
        emu.drop_next(1)
        figures.faults["dropped connection"] += 1
    elif r < 0.35:
        emu.drop_next(1, after_applying=True)
        figures.faults["answer lost after applying"] += 1


def check_ids(person: Person, ids_seen: dict[tuple[str, str], str], figures: Figures) -> None:
    """A record's ID, once it has one, never changes."""
    for tab in USER:
        header, body = person.rows(tab)
        col = header.index(TOKEN[tab])
        for r in body:
            if len(r) > col and r[0] and r[col]:
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
    if len(log) != min(figures.syncs + figures.converged_in, 500):
        figures.problems.append(f"Sync Log has {len(log)} rows for {figures.syncs + figures.converged_in} syncs")
        figures.history_errors += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--syncs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--deals", type=int, default=30)
    parser.add_argument("--leads", type=int, default=20)
    parser.add_argument("--window", action="store_true", help="structural edits in the write window too")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    figures = soak(args.syncs, args.seed, args.deals, args.leads, args.window)
    print(json.dumps(figures.as_dict(), indent=2))
    raise SystemExit(1 if figures.losses else 0)


if __name__ == "__main__":
    main()
