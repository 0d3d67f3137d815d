"""The warehouse's typed tables, derived from the record models: one table per tab kind.

A record table has the model's columns (typed from its annotations: text, numeric, bigint,
date, boolean), the columns sheetcrm computes for that kind (`COMPUTED`), and three of the
mirror's own: `first_seen_at`, `updated_at` (moved only when a value changed) and `deleted_at`
(a tombstone: set when the record leaves the workbook, cleared if it comes back). Its primary
key is the natural key (`KEYS`): the record's ID, a product's SKU, a quote line's opportunity,
SKU and occurrence. A new tab kind is one line in `RECORD_TABS`, then an Alembic migration
(`python -m sheetcrm.warehouse.mirror revision "…"`; tests/warehouse/test_migrations.py fails until it exists).

Beside them: the two histories and the Sync Log (appended: never tombstoned), the Outbox
(upserted by ID, tombstoned as a record table is), and
`sheetcrm_mirror`, the "mirrored up to" mark the catch-up reads.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, get_args

from sqlalchemy import (BigInteger, Boolean, Column, Date, DateTime, Integer, MetaData, Numeric, Table, Text,
                        types)

from sheetcrm import records
from sheetcrm.schema import OPTIONAL_TABS, TABS, WORKFLOWS, TabSpec

METADATA = MetaData()

# The tab kinds mirrored, by their key in `schema` (and the table's name). Issue 15's cases and
# campaigns join here when their specs exist: one line each.
RECORD_TABS: dict[str, TabSpec] = {**TABS, "workflows": WORKFLOWS, **OPTIONAL_TABS}

# Each kind's natural key. A quote line has no ID: its opportunity and SKU, and which of the
# lines with both it is, in sheet order ("line", 1 for the first).
KEYS: dict[str, tuple[str, ...]] = {"products": ("sku",), "quote_lines": ("opportunity", "sku", "line")}


def key_of(kind: str) -> tuple[str, ...]:
    return KEYS.get(kind, ("id",))


# What sheetcrm computes for a kind, beside the record's own fields (sheetcrm.warehouse.rows
# fills them): the opportunities' metrics (probability in points, as the engine has it), the
# leads' scores and conversion links, and which lead a converted row came from.
COMPUTED: dict[str, dict[str, types.TypeEngine]] = {
    "opportunities": {"probability_pct": Numeric(), "weighted_amount": Numeric(), "forecast_category": Text(),
                      "stage_entered": Date(), "days_in_stage": Integer(), "last_activity": Date(),
                      "rotting": Boolean(), "next_step": Text(), "from_lead": Text()},
    "leads": {"score": Integer(), "grade": Text(), "conversion_pct": Numeric(), "why": Text(),
              "converted_account": Text(), "converted_contact": Text(), "converted_opportunity": Text(),
              "converted_on": Date()},
    "accounts": {"from_lead": Text()},
    "contacts": {"from_lead": Text()},
}

STAMPS = ("first_seen_at", "updated_at", "deleted_at")


def sql_type(annotation: Any) -> types.TypeEngine:
    """The column type of a record field's annotation (`records.Text`, `Money`, `Day`...)."""
    kinds = {a for a in get_args(annotation) or (annotation,) if a is not type(None)}
    base = next(iter(kinds))
    while get_args(base):  # Annotated[str | None, ...] -> str | None -> str
        kinds = {a for a in get_args(base) if a is not type(None) and not callable(getattr(a, "func", None))}
        base = next(iter(kinds))
    if base is bool:
        return Boolean()
    if base is int:
        return BigInteger()
    if base is Decimal:
        return Numeric()
    if base is dt.datetime:  # a case's Opened and Resolved: the sheet's wall time, no zone
        return DateTime()
    if base is dt.date:
        return Date()
    return Text()


def _record_table(kind: str, model: type[records.Record]) -> Table:
    key = key_of(kind)
    fields = [(name, info) for name, info in model.model_fields.items() if info.title is not None]
    columns = [Column(name, sql_type(info.annotation), primary_key=name in key, nullable=name not in key)
               for name, info in fields]
    columns += [Column(name, Integer(), primary_key=True)  # its occurrence in sheet order
                for name in key if name not in model.model_fields]
    columns += [Column(name, type_) for name, type_ in COMPUTED.get(kind, {}).items()]
    columns += [Column("first_seen_at", DateTime(timezone=True), nullable=False),
                Column("updated_at", DateTime(timezone=True), nullable=False),
                Column("deleted_at", DateTime(timezone=True))]
    return Table(kind, METADATA, *columns)


RECORDS: dict[str, Table] = {kind: _record_table(kind, spec.model) for kind, spec in RECORD_TABS.items()}


def _history(name: str, with_amount: bool) -> Table:
    return Table(
        name, METADATA,
        Column("record_id", Text(), primary_key=True),
        Column("changed_at", Date(), primary_key=True),
        # The stages (statuses) by their configured names, as opportunities.stage holds them, not
        # the sheet's words ("Closed Won" for a Spanish sheet's "Ganada"); "" on a record's first row.
        Column("from_value", Text(), primary_key=True),
        Column("to_value", Text(), primary_key=True),
        # Two identical changes on one day (A->B, B->A, A->B) are two rows: n = 1, 2.
        Column("n", Integer(), primary_key=True),
        *([Column("amount", Numeric())] if with_amount else []),
        Column("first_seen_at", DateTime(timezone=True), nullable=False),
        # The sync's day when `keep_months` removed the row from the sheet (warehouse.keep);
        # set before that write, so the calibration finds every row the sheet gave up.
        Column("trimmed_on", Date()),
        # The `_sheetcrm` ARCHIVE_ID of the workbook that gave the row up (warehouse.keep).
        Column("trimmed_by", BigInteger()),
    )


STAGE_HISTORY = _history("stage_history", with_amount=True)
LEAD_HISTORY = _history("lead_status_history", with_amount=False)

OUTBOX = Table(
    "outbox", METADATA,
    Column("id", Text(), primary_key=True),
    *(Column(name, Text()) for name in ("created", "opportunity", "to", "subject", "status", "message_id",
                                       "sent_at", "error", "quote", "version")),
    # bigint, as every count read from a cell (`cells.parse_integer`: below 10^15): an Attempts cell
    # typed 3000000000 overflowed PostgreSQL's integer and failed every mirror until it was fixed.
    Column("attempts", BigInteger()),
    Column("last_try", Text()), Column("next_try", Text()),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # A row deleted from the tab (0007): before it, a deleted Draft stayed in the warehouse at
    # its last status, waiting for ever in any query.
    Column("deleted_at", DateTime(timezone=True)),
)

SYNC_LOG = Table(
    "sync_log", METADATA,
    Column("time", Text(), primary_key=True),  # ISO 8601, as the Sync Log tab shows it
    Column("job", Text(), primary_key=True),
    Column("duration_s", Numeric()), Column("rows_read", BigInteger()), Column("issues", BigInteger()),  # as attempts
    Column("cells_written", BigInteger()), Column("requests", BigInteger()),
    Column("status", Text()), Column("message", Text()),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
)

# Appended tables: a row once mirrored stays, whatever the sheet keeps (docs/warehouse.md).
APPENDED: dict[str, Table] = {"stage_history": STAGE_HISTORY, "lead_status_history": LEAD_HISTORY,
                              "sync_log": SYNC_LOG}

# The mark: one row per workbook mirrored here (`source`: its path or spreadsheet ID).
MIRROR = Table(
    "sheetcrm_mirror", METADATA,
    Column("source", Text(), primary_key=True),
    Column("as_of", Date(), nullable=False),  # the sync's day
    Column("mirrored_at", DateTime(timezone=True), nullable=False),
    Column("digest", Text(), nullable=False),  # sha256 of every row mirrored: equal means nothing to do
    Column("rows", BigInteger(), nullable=False),
    # sha256 of the stage and status names (word -> configured name) the histories' from_value and
    # to_value were last put in (`Batch.names_digest`); NULL: never, they may hold a sheet's words.
    Column("names", Text()),
    # When the read the rows were mirrored from began (`Batch.read_at`, UTC; 0008); NULL: not
    # known. A mirror of an older read is refused: two syncs at once (a service and a person's
    # CLI) committed out of order put the warehouse back to the older one's rows, silently.
    Column("read_at", DateTime(timezone=True)),
)

# The table Alembic keeps its revision in, named so it never meets another app's.
VERSION_TABLE = "sheetcrm_alembic_version"
