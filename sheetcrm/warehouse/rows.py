"""What one sync mirrors: the workbook as the sync leaves it, as rows of the warehouse's tables. Pure.

The sync's plan is applied to a copy of its snapshot in memory (`workbook.memory`, the backend
with the backends' semantics: expectations, deletes, appended rows), and that copy is read
again (`validate.read_crm`): so the mirror holds exactly the records the workbook holds after
the write, merges, conversions and new IDs included, never the plan's intentions. The computed
fields are the sync's own results (`engine.Results`), by record ID.

A row that is not a sound record (a cell with an error) but shows an ID is *held*: the
warehouse keeps its last sound version, neither updated nor tombstoned, since sheetcrm cannot
be sure what it now says. Two rows sharing a key are both held, for the same reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable

from sheetcrm.cells import CellError, id_spelling, match_key, parse_integer
from sheetcrm.engine import Results
from sheetcrm.mail.outbox import KEYS as OUTBOX_KEYS
from sheetcrm.mail.outbox import read_outbox
from sheetcrm.owned import owned_title
from sheetcrm.report import column_letter
from sheetcrm.schema import SYNC_LOG
from sheetcrm.steps.context import SyncContext
from sheetcrm.table import Table
from sheetcrm.inputs import LEAD_NAMES
from sheetcrm.validate import REFERENCE_FIELDS, Crm, parse_context, read_crm
from sheetcrm.warehouse.keep import LOG_COLUMNS, cell_text, history_ids, history_keys, log_content, log_key
from sheetcrm.warehouse.tables import COMPUTED, RECORDS, key_of
from sheetcrm.workbook import Plan, Snapshot
from sheetcrm.workbook.memory import MemoryWorkbook

Row = dict[str, Any]
Key = tuple[Any, ...]

# The most UTF-8 bytes one text of a key (an ID, a SKU, a stage) may take: PostgreSQL refuses an
# index entry over 2,704 bytes, and a row it refused failed the whole mirror, every sync, over a
# paragraph pasted into one ID cell. A quote line's and a history row's keys hold two texts.
KEY_BYTES = 1000


def _too_long(values: Any) -> bool:
    return any(isinstance(v, str) and len(v.encode()) > KEY_BYTES for v in values)


def _nul(values: Any) -> bool:
    """Whether a text holds a NUL character (an .xlsx's `_x0000_`, a paste): PostgreSQL refuses it in
    any text column, and one such cell failed the whole mirror at every sync."""
    return any(isinstance(v, str) and "\x00" in v for v in values)


@dataclass
class Batch:
    """Every row one sync mirrors, by table name, and per record table the keys held as they are."""

    rows: dict[str, list[Row]] = field(default_factory=dict)
    held: dict[str, set[Key]] = field(default_factory=dict)
    unkeyed: int = 0   # sound records with no key (a tab without an ID column): not mirrored
    # Rows whose key is too long for a database key (KEY_BYTES): (the cell, as "Tab!A3", its
    # length in characters); not mirrored, not tombstoned.
    too_long: list[tuple[str, int]] = field(default_factory=list)
    # The cells ("Tab!B3", or "Tab!3" for a row) whose text holds a NUL character (`_nul`): their
    # row is not mirrored (a record's keeps its last values), in either database, alike.
    nul: list[str] = field(default_factory=list)
    # Per history table ("stage_history", "lead_status_history"): normalize_key(a word) -> the
    # configured stage (status) it names, as the sync read the tabs with. The mirror puts the
    # rows a warehouse already holds in these names when they changed (`names_digest`).
    names: dict[str, dict[str, str]] = field(default_factory=dict)
    # Per history table, the IDs of the records it logs as their rows spell them now
    # (`keep.id_spellings`): the mirror puts the rows it holds under another spelling of one of
    # them ("OPP-0001" before the ID was retyped "opp-0001") in this one, as the record's row.
    ids: dict[str, list[str]] = field(default_factory=dict)
    # Per record table, the fields whose column the tab does not have (renamed, deleted): their
    # warehouse columns keep the values last mirrored, never NULLed by a header's typo.
    absent: dict[str, set[str]] = field(default_factory=dict)
    # The record tables whose tab the workbook does not have (renamed, deleted, never made): their
    # rows are not tombstoned, since a tab renamed is not every record deleted.
    missing: set[str] = field(default_factory=set)
    # Of those, the ones whose tab is there but names no key column (kind -> (its title, the
    # key field)): its header row sorted in among the rows or deleted, so the sync reads no row
    # of it. Tombstoning them said every record of a tab sorted with its header was deleted.
    unread: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Per record table, the cells ("Accounts!A2") whose key cannot be read (a formula error, an
    # ID formula whose source was deleted): which of the warehouse's rows those rows are cannot
    # be told, so none is tombstoned this sync. Tombstoning said every account of a tab whose ID
    # formulas showed #REF! was deleted.
    unsure: dict[str, list[str]] = field(default_factory=dict)
    # Per record table, the keys of the rows whose currency is the base currency only because the
    # tab has no Currency column (renamed, deleted): a new row is inserted with it, a row the
    # warehouse holds keeps its own (a header's typo turned every USD deal EUR there).
    defaulted: dict[str, set[Key]] = field(default_factory=dict)

    # When the read the batch was made from began (`Snapshot.read_at`; None: not known). Not in
    # the digest: the mark keeps it, and a mirror of an older read than the mark's is refused.
    read_at: dt.datetime | None = None

    @property
    def size(self) -> int:
        return sum(len(r) for r in self.rows.values())

    def digest(self) -> str:
        """sha256 of everything in the batch: two syncs that leave the same digest mirror the same."""
        canon = {name: sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)
                 for name, rows in sorted(self.rows.items())}
        canon["held"] = {name: sorted(map(str, keys)) for name, keys in sorted(self.held.items())}  # type: ignore[assignment]
        canon["names"] = self.names_digest()  # type: ignore[assignment]
        canon["missing"] = sorted(self.missing)  # type: ignore[assignment]
        canon["unsure"] = sorted(name for name, cells_ in self.unsure.items() if cells_)  # type: ignore[assignment]
        canon["absent"] = {name: sorted(fields) for name, fields in sorted(self.absent.items()) if fields}  # type: ignore[assignment]
        canon["defaulted"] = {name: sorted(map(str, keys)) for name, keys in sorted(self.defaulted.items())
                              if keys}  # type: ignore[assignment]
        return hashlib.sha256(json.dumps(canon, sort_keys=True).encode()).hexdigest()


    def names_digest(self) -> str:
        """sha256 of `names`: the mark keeps it, so the warehouse's history rows are put in the
        configured names again only when those changed (a stage renamed, an alias added)."""
        return hashlib.sha256(json.dumps(self.names, sort_keys=True).encode()).hexdigest()


def after_write(snapshot: Snapshot, plan: Plan) -> Snapshot:
    """`snapshot` as it is once `plan` is written, in memory."""
    book = MemoryWorkbook(tabs={t: g.rows for t, g in snapshot.tabs.items()},
                          formulas={t: g.formulas for t, g in snapshot.tabs.items()}, owned=snapshot.owned,
                          errors={t: g.errors for t, g in snapshot.tabs.items()},
                          percent={t: g.percent for t, g in snapshot.tabs.items()},
                          merges={t: g.merges for t, g in snapshot.tabs.items()},
                          currency={t: g.currency for t, g in snapshot.tabs.items()},
                          date1904=any(g.date1904 for g in snapshot.tabs.values()),
                          codes={t: g.codes for t, g in snapshot.tabs.items()})
    for title in plan.new_tabs:
        book.tabs.setdefault(title, [])
        book.formulas.setdefault(title, set())
    book.write(plan)
    return book.read()


def batch_of(ctx: SyncContext) -> Batch:
    """The rows the sync of `ctx` (its steps all run) leaves for the warehouse."""
    assert ctx.results is not None  # the compute step is one of STEPS
    after = after_write(ctx.snapshot, ctx.plan)
    # A typed value kept in a computed column leaves that column sheetcrm's, as this sync read it.
    crm = read_crm(after, ctx.config, written=ctx.crm.written.following())
    batch = rows_of(crm, ctx.results, after, ctx.locale, ctx.config.currency)
    batch.names = {"stage_history": dict(parse_context(ctx.config).stages), "lead_status_history": dict(LEAD_NAMES)}
    batch.read_at = ctx.snapshot.read_at
    return batch


def rows_of(crm: Crm, results: Results, after: Snapshot, locale: str, base_currency: str) -> Batch:
    """The batch of `crm` as read after the write. `base_currency`: what a blank Currency means."""
    batch = Batch()
    computed = _computed(crm, results)
    assert crm.inputs is not None
    tables: dict[str, Table | None] = {kind: crm.tables.get(kind) for kind in RECORDS}
    tables["workflows"] = crm.inputs.workflows.table
    batch.unread = {kind: (table.title, unkeyed[0]) for kind, table in tables.items() if table is not None
                    and (unkeyed := [k for k in key_of(kind) if k in table.spec.model.model_fields
                                     and k not in table.header.fields])}
    batch.missing = {kind for kind, table in tables.items() if table is None} | set(batch.unread)
    ids = _Ids(crm)
    for kind, table in tables.items():
        rows, held = _records(kind, None if kind in batch.missing else table, computed.get(kind, {}), batch,
                              base_currency, ids)
        batch.rows[kind], batch.held[kind] = rows, held
    batch.ids = history_ids(crm.tables)
    spell = {name: id_spelling(ids) for name, ids in batch.ids.items()}  # as the mirror spells them
    batch.rows["stage_history"] = _history(crm.inputs.stage_history, True, spell.get("stage_history"))
    batch.rows["lead_status_history"] = _history(crm.inputs.lead_history, False, spell.get("lead_status_history"))
    batch.rows["outbox"] = _outbox(after, locale, batch)
    batch.rows["sync_log"] = _sync_log(after, batch)
    return batch


class _Ids:
    """The ID of the one record a reference names ("Acme Corp" -> ACC-0001), else the text as
    read: the read resolves a reference to the form its target is known by, its name when it
    was named by name, and the warehouse then held names and IDs in one column, which a join on
    the target's `id` silently dropped. Worked out once per text and tabs."""

    def __init__(self, crm: Crm) -> None:
        self.crm = crm
        self.known: dict[tuple[tuple[str, ...], str], str] = {}

    def of(self, tabs: tuple[str, ...], value: str) -> str:
        found = self.known.get((tabs, value))
        if found is None:
            rows = {id(row): row for tab in tabs if tab in self.crm.targets
                    for _form, row in self.crm.targets[tab].find(value)[0]}
            only = next(iter(rows.values())) if len(rows) == 1 else None
            found = self.known[(tabs, value)] = only.id if only is not None and only.id else value
        return found


def _records(kind: str, table: Table | None, computed: dict[str, Row], batch: Batch,
             base_currency: str, ids: _Ids | None = None) -> tuple[list[Row], set[Key]]:
    if table is None:
        return [], set()
    key = key_of(kind)
    fields = [name for name, info in table.spec.model.model_fields.items() if info.title is not None]
    extra = list(COMPUTED.get(kind, {}))
    held = {_held_key(row, key) for row in table.rows if row.record is None} - {None}
    if kind != "quote_lines":  # a quote line with a bad cell is tombstoned until fixed (docs/warehouse.md)
        batch.unsure[kind] = [
            f"{table.title}!{column_letter(table.header.fields[k] + 1)}{row.row}" for row in table.rows
            if row.record is None and (k := next((k for k in key if k in row.unread), None)) is not None]
    out: list[Row] = []
    seen: Counter = Counter()
    defaulted: set[Key] = set()
    for row in table.rows:
        record = row.record
        long = next((k for k in key if _too_long([getattr(row.readable, k, None)])), None)
        if long is not None:
            column = table.header.fields.get(long)
            cell = f"{table.title}!{column_letter(column + 1) if column is not None else ''}{row.row}"
            batch.too_long.append((cell, len(getattr(row.readable, long))))
            held.discard(_held_key(row, key))
            continue
        if record is None:
            continue
        values = {name: getattr(record, name) for name in fields}
        for name, tabs in REFERENCE_FIELDS.get(kind, ()) if ids is not None else ():
            if isinstance(values.get(name), str) and name != "sku":  # a SKU is its product's key already
                values[name] = ids.of(tabs, values[name])
        base_filled = "currency" in values and values["currency"] is None
        if base_filled:
            # A blank Currency (an amount naming none) is the base currency to the sync: a NULL
            # here left `WHERE currency = 'EUR'` or a GROUP BY currency short of those amounts.
            values["currency"] = base_currency
        if kind == "quote_lines":  # by the deal's ID: lines naming it by name and by ID are one deal's
            seen[(values["opportunity"], record.sku)] += 1
            values["line"] = seen[(values["opportunity"], record.sku)]
        if any(values.get(k) is None for k in key):
            batch.unkeyed += 1
            continue
        if base_filled and "currency" not in table.header.fields:
            defaulted.add(tuple(values[k] for k in key))
        own = computed.get(values["id"], {}) if key == ("id",) else {}
        mirrored = {**values, **{name: own.get(name) for name in extra}}
        nul = next((name for name, v in mirrored.items() if _nul([v])), None)
        if nul is not None:
            column = table.header.fields.get(nul, table.header.computed.get(nul))
            batch.nul.append(f"{table.title}!{column_letter(column + 1) if column is not None else ''}{row.row}")
            if not _nul(values[k] for k in key):
                held.add(tuple(values[k] for k in key))  # its last sound values stay, not tombstoned
            continue
        out.append(mirrored)
    # A field with no column, that no row has a value of (the read fills some, as a blank currency):
    # its column was renamed or deleted, and the warehouse keeps what it held (`Batch.absent`).
    absent = {name for name in fields if name not in table.header.fields and name not in key
              and all(r.get(name) is None for r in out)}
    batch.absent[kind] = absent
    out = [{k: v for k, v in r.items() if k not in absent} for r in out] if absent else out
    count = Counter(tuple(r[k] for k in key) for r in out)
    twice = {k for k, n in count.items() if n > 1}
    batch.defaulted[kind] = defaulted - twice
    return [r for r in out if tuple(r[k] for k in key) not in twice], held | twice  # type: ignore[operator]


def _held_key(row: Any, key: tuple[str, ...]) -> Key | None:
    """The key a row with errors still shows: its ID cell, or its SKU when that cell reads.
    A quote line's occurrence cannot be known without it being sound: none."""
    if key == ("id",):
        return (row.id,) if row.id else None
    target = row.target
    values = tuple(getattr(target, k, None) for k in key) if target is not None else (None,)
    return None if any(v is None for v in values) else values


def _computed(crm: Crm, results: Results) -> dict[str, dict[str, Row]]:
    """kind -> record ID -> its computed fields."""
    assert crm.inputs is not None
    conversions = crm.inputs.conversions
    out: dict[str, dict[str, Row]] = {kind: {} for kind in COMPUTED}
    for opp, m in zip(results.opportunities, results.metrics):
        if opp.id:
            out["opportunities"][opp.id] = {
                "probability_pct": m.probability, "weighted_amount": m.weighted_amount,
                "forecast_category": m.forecast_category, "stage_entered": m.stage_entered,
                "days_in_stage": m.days_in_stage, "last_activity": m.last_activity, "rotting": m.rotting,
                "next_step": m.next_step}
    for lead_id, s in results.scoring.scores.items():
        out["leads"][lead_id] = {"score": s.score, "grade": s.grade, "why": s.why,
                                 "conversion_pct": None if s.conversion_pct is None else Decimal(str(s.conversion_pct))}
    for link in conversions.links.values():
        if link.lead:
            out["leads"].setdefault(link.lead, {}).update(
                converted_account=link.account, converted_contact=link.contact,
                converted_opportunity=link.opportunity, converted_on=link.on)
    for kind, made in conversions.from_lead.items():
        for lead_id, record_id in made.items():
            if kind in out:
                out[kind].setdefault(record_id, {})["from_lead"] = lead_id
    return out


def _history(rows: list[Any], with_amount: bool, spell: Callable[[str], str] | None) -> list[Row]:
    out = []
    for h, key in zip(rows, history_keys(rows, spell)):
        if _too_long(key) or _nul(key):
            # The record's own row is said (`too_long`, `nul`); a history row has no cell of its own to name.
            continue
        row = dict(zip(("record_id", "changed_at", "from_value", "to_value", "n"), key))
        if with_amount:
            row["amount"] = h.amount
        out.append(row)
    return out


def _outbox(after: Snapshot, locale: str, batch: Batch) -> list[Row]:
    """The Outbox rows, by ID; and, as for a record tab, what tells which rows the warehouse
    holds left the tab (it tombstones them): no Outbox tab, or one without an ID column
    (`Batch.missing`, `Batch.unread`), or a row whose ID does not read, empty or a formula
    error (`Batch.unsure`), tombstones none."""
    outbox = read_outbox(after, locale)
    grid = after.tabs.get(outbox.title) if outbox.exists else None
    id_col = outbox.columns["id"]
    if grid is None or id_col > len(grid.header):
        # Its header row sorted in among the rows reads a row's cells as headers, and the header
        # row's cells as that row's ("Last Try" an ID): no row is read.
        if grid is not None:
            batch.unread["outbox"] = (outbox.title, "id")
        batch.missing.add("outbox")
        return []
    unsure = batch.unsure.setdefault("outbox", [])
    held = batch.held.setdefault("outbox", set())
    # Rows sharing an ID as IDs compare ("out-0001" is OUT-0001): a copy cannot be told from the
    # row sheetcrm queued (the Outbox sends neither, `outbox.strangers`), so both are held, as a
    # record tab's are. The first one's Status was mirrored: a Draft copy made a Sent email wait.
    shared = Counter(match_key(r.text("id")) for r in outbox.rows if r.text("id"))
    rows: dict[str, Row] = {}
    for r in outbox.rows:
        row_id = r.text("id")
        if not row_id or (r.row - 1, id_col - 1) in grid.errors:  # type: ignore[union-attr]
            # Which row the warehouse holds this is cannot be told (its ID cleared, or a formula
            # showing #REF!, which Google reads as that text): nothing is tombstoned meanwhile.
            unsure.append(f"{outbox.title}!{column_letter(id_col)}{r.row}")
            continue
        if shared[match_key(row_id)] > 1:
            held.add((row_id,))
            continue
        row = {k: (_attempts(r.raw.get(k)) if k == "attempts" else cell_text(r.raw.get(k))) for k in OUTBOX_KEYS}
        # The Status by its canonical name, as leads.status is: the sheet writes it in the team's
        # language and reads it in any ("Enviado", "Sent", "enviada" are one), and the warehouse
        # held those words as typed, so `WHERE status = 'Sent'` missed a Spanish team's rows and
        # a GROUP BY split one status in two. A word sheetcrm does not read stays as typed.
        row["status"] = r.status or row["status"]
        nul = next((k for k, v in row.items() if _nul([v])), None)
        if nul is not None:  # neither upserted nor tombstoned: the warehouse keeps the row as it was
            column = outbox.columns.get(nul)
            batch.nul.append(f"{outbox.title}!{column_letter(column) if column else ''}{r.row}")
            held.add((row_id,))
            continue
        rows[row_id] = row
    return list(rows.values())


def _attempts(value: Any) -> int | None:
    """An Attempts cell as the warehouse holds it: 0 when blank (no try yet), NULL when it is no
    whole number ("tres", 2.5). The Outbox reads such a cell as 0 for its own counting, and the
    warehouse held that 0 as if it were typed, so `attempts >= 3` missed the row, silently."""
    try:
        return parse_integer(value) or 0
    except CellError:
        return None


def _sync_log(after: Snapshot, batch: Batch) -> list[Row]:
    title = owned_title(after, SYNC_LOG)
    out: dict[tuple[str, str], Row] = {}
    seen: set[tuple[str, str]] = set()
    for index, raw in enumerate(after.tabs[title].rows[1:] if title else [], start=2):
        key = log_key(raw)
        if key is not None and key not in seen:
            seen.add(key)
            row = {"time": key[0], "job": key[1], **dict(zip(LOG_COLUMNS, log_content(raw)))}
            if _nul(row.values()):
                batch.nul.append(f"{title}!{index}")  # appended once it reads: nothing held meanwhile
                continue
            out[key] = row
    return list(out.values())
