"""The warehouse mirror, done when (issue 17): after each sync, the tables equal the workbook's
records and computed fields row for row; a sync with nothing changed changes nothing; a merge,
a conversion and a deleted row show as new rows and tombstones. Against SQLite and a real
PostgreSQL (conftest.py), with a real .xlsx workbook edited between syncs as a person would."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from decimal import Decimal

import openpyxl
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import Engine

from books import xlsx_book
from merge_crm import tabs as merge_tabs
from sheetcrm.config import Config
from sheetcrm.mail.outbox import read_outbox
from sheetcrm.starter import demo_config, write_demo
from sheetcrm.sync import sync
from sheetcrm.validate import REFERENCE_FIELDS, read_crm
from sheetcrm.warehouse.settings import WarehouseSettings
from sheetcrm.warehouse.tables import APPENDED, OUTBOX, RECORDS, key_of
from sheetcrm.workbook import Plan
from sheetcrm.workbook.xlsx import XlsxWorkbook

DAY = dt.date(2026, 11, 23)
LEADS = [
    ["ID", "First Name", "Last Name", "Company", "Email", "Status", "Source", "Owner", "Created", "Amount", "Convert"],
    ["LEAD-0001", "Max", "Power", "Umbrella", "max@umbrella.com", "Qualified", "Referral", "ana",
     dt.datetime(2026, 10, 1), 5000, ""],
    ["LEAD-0002", "Ida", "Lin", "Hooli", "ida@hooli.com", "New", "Web", "bo", dt.datetime(2026, 10, 2), "", ""],
]


def engine_of(url: str) -> Engine:
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def live(engine: Engine, kind: str) -> dict[tuple, dict]:
    table = RECORDS[kind]
    with engine.connect() as c:
        rows = c.execute(select(table).where(table.c.deleted_at.is_(None))).mappings().all()
    return {tuple(r[k] for k in key_of(kind)): dict(r) for r in rows}


def tombstoned(engine: Engine, kind: str) -> set[tuple]:
    table = RECORDS[kind]
    with engine.connect() as c:
        rows = c.execute(select(*(table.c[k] for k in key_of(kind))).where(table.c.deleted_at.is_not(None))).all()
    return {tuple(r) for r in rows}


def same(a, b) -> bool:
    if isinstance(a, (Decimal, int, float)) and isinstance(b, (Decimal, int, float)) and not isinstance(a, bool):
        return Decimal(str(a)) == Decimal(str(b))
    return a == b


def assert_mirrors(engine: Engine, book: XlsxWorkbook, config: Config) -> None:
    """Every sound record of the workbook (read again, from the file) is a live row with the same
    values, and no other row is live; the computed fields agree with the cells sheetcrm wrote."""
    crm = read_crm(book.read(), config)
    for kind in RECORDS:
        table = crm.inputs.workflows.table if kind == "workflows" else crm.tables.get(kind)
        records = table.records if table else []
        fields = [n for n, i in RECORDS_MODEL(kind).model_fields.items() if i.title is not None]
        seen: Counter = Counter()
        expected = {}
        for r in records:
            values = {f: getattr(r, f) for f in fields}
            if "currency" in values:
                values["currency"] = values["currency"] or config.currency  # blank: the base currency
            for name, tabs in REFERENCE_FIELDS.get(kind, ()):  # a reference: the ID of the record it names
                named = [row for tab in tabs for row in crm.find(tab, values[name])] if values.get(name) else []
                if name != "sku" and len(named) == 1 and named[0].id:
                    values[name] = named[0].id
            if kind == "quote_lines":
                seen[(values["opportunity"], r.sku)] += 1
                values["line"] = seen[(values["opportunity"], r.sku)]
            expected[tuple(values[k] for k in key_of(kind))] = values
        got = live(engine, kind)
        assert set(got) == set(expected), kind
        for key, values in expected.items():
            bad = {f: (v, got[key][f]) for f, v in values.items() if not same(v, got[key][f])}
            assert not bad, (kind, key, bad)
    # Computed fields, against the cells the sync wrote in the workbook (rounded as cells are).
    opps, leads = live(engine, "opportunities"), live(engine, "leads")
    for kind, rows, checks in (
            ("opportunities", opps, {"weighted_amount": lambda v: None if v is None else round(Decimal(str(v)), 2),
                                     "probability_pct": lambda v: None if v is None else round(Decimal(str(v)) / 100, 3),
                                     "days_in_stage": lambda v: v}),
            ("leads", leads, {"score": lambda v: v, "converted_account": lambda v: v})):
        table = crm.tables.get(kind)
        if table is None:
            continue
        checked = 0
        for row in table.rows:
            if row.record is None:
                continue
            for key, shown in checks.items():
                col = table.header.computed.get(key)
                if col is None:
                    continue
                cell = row.cells[col] if col < len(row.cells) else None
                assert same(shown(rows[(row.id,)][key]), cell if cell != "" else None), (kind, row.id, key)
                checked += 1
        assert checked, f"no computed {kind} cell compared"


def RECORDS_MODEL(kind: str):
    from sheetcrm.warehouse.tables import RECORD_TABS

    return RECORD_TABS[kind].model


class Statements:
    """Every SQL statement any engine sends while counting."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def __enter__(self) -> "Statements":
        event.listen(Engine, "before_cursor_execute", self._heard)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(Engine, "before_cursor_execute", self._heard)

    def _heard(self, conn, cursor, statement, parameters, context, executemany) -> None:
        self.sent.append(statement)

    @property
    def writes(self) -> list[str]:
        return [s for s in self.sent if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "CREATE", "ALTER"))]


def snapshot_of(engine: Engine) -> dict[str, tuple[int, object]]:
    """Rows and the latest updated_at (or first_seen_at) per table: what a re-run must not move."""
    out = {}
    with engine.connect() as c:
        for table in (*RECORDS.values(), *APPENDED.values()):
            stamp = table.c.updated_at if "updated_at" in table.c else table.c.first_seen_at
            out[table.name] = tuple(c.execute(select(func.count(), func.max(stamp)).select_from(table)).one())
    return out


def tick(path, tab: str, where: dict[str, str], column: str, value) -> None:
    """What a person does in the file: set `column` of the row of `tab` whose cells match `where`."""
    wb = openpyxl.load_workbook(path)
    ws = wb[tab]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if all(row[header.index(h)].value == v for h, v in where.items()):
            row[header.index(column)].value = value
            break
    else:
        raise AssertionError(f"no row {where} in {tab}")
    wb.save(path)


def delete_row(path, tab: str, row_id: str) -> None:
    wb = openpyxl.load_workbook(path)
    ws = wb[tab]
    index = next(r[0].row for r in ws.iter_rows(min_row=2) if r[0].value == row_id)
    ws.delete_rows(index)
    wb.save(path)


def test_tables_equal_the_workbook_after_each_sync_a_merge_a_conversion_and_a_deleted_row(tmp_path, warehouse_url):
    t = merge_tabs()
    t["Duplicates"] = t["Duplicates"][:1]  # the sync lists the groups; nothing ticked yet
    t["Leads"] = [list(r) for r in LEADS]
    path = tmp_path / "crm.xlsx"
    book = xlsx_book(path, t)
    book.write(Plan(mark_owned=["Duplicates"]))
    config = Config(warehouse=WarehouseSettings(url=warehouse_url))
    engine = engine_of(warehouse_url)

    first = sync(book, config, as_of=DAY)
    assert first.mirrored.outcome == "mirrored", first.mirrored
    assert_mirrors(engine, book, config)
    assert live(engine, "accounts").keys() == {("ACC-0001",), ("ACC-0002",), ("ACC-0003",), ("ACC-0004",)}
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(APPENDED["stage_history"])).scalar() == 3

    # Twice with no change: the mark holds this state; nothing is written, nothing moves.
    before = snapshot_of(engine)
    with Statements() as statements:
        again = sync(book, config, as_of=DAY)
    assert again.result is None and again.mirrored.outcome == "unchanged"
    assert statements.sent and not statements.writes, statements.writes
    assert snapshot_of(engine) == before

    # A person ticks a merge of two accounts, asks a lead to convert and deletes an activity.
    tick(path, "Duplicates", {"ID": "ACC-0003"}, "Merge", "x")
    tick(path, "Leads", {"ID": "LEAD-0001"}, "Convert", "x")
    delete_row(path, "Activities", "ACT-0002")
    book = XlsxWorkbook(path)
    third = sync(book, config, as_of=DAY + dt.timedelta(days=1))
    assert third.result is not None and third.result.deleted, "the merge removed a row"
    assert third.mirrored.outcome == "mirrored"
    assert_mirrors(engine, book, config)
    assert ("ACC-0003",) in tombstoned(engine, "accounts")  # merged away: a tombstone, not lost
    assert ("ACT-0002",) in tombstoned(engine, "activities")
    with engine.connect() as c:
        kept = c.execute(select(RECORDS["accounts"]).where(RECORDS["accounts"].c.id == "ACC-0003")).mappings().one()
    assert kept["name"] == "ACME Inc" and kept["deleted_at"] is not None
    lead = live(engine, "leads")[("LEAD-0001",)]
    assert lead["converted_account"] and (lead["converted_account"],) in live(engine, "accounts")
    assert live(engine, "accounts")[(lead["converted_account"],)]["from_lead"] == "LEAD-0001"
    assert lead["converted_opportunity"] and (lead["converted_opportunity"],) in live(engine, "opportunities")

    # And again with no change.
    before = snapshot_of(engine)
    with Statements() as statements:
        fourth = sync(book, config, as_of=DAY + dt.timedelta(days=1))
    assert fourth.mirrored.outcome == "unchanged" and not statements.writes
    assert snapshot_of(engine) == before


def test_a_row_with_a_bad_cell_keeps_its_last_sound_version_and_a_row_put_back_comes_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'w.db'}"
    t = merge_tabs()
    del t["Duplicates"]
    path = tmp_path / "crm.xlsx"
    book = xlsx_book(path, t)
    config = Config(warehouse=WarehouseSettings(url=url))
    engine = engine_of(url)
    sync(book, config, as_of=DAY)
    tick(path, "Opportunities", {"ID": "OPP-0002"}, "Amount", "two thousand")
    delete_row(path, "Activities", "ACT-0004")
    outcome = sync(XlsxWorkbook(path), config, as_of=DAY)
    assert outcome.mirrored.outcome == "mirrored"
    held = live(engine, "opportunities")[("OPP-0002",)]
    assert same(held["amount"], 2500)  # what sheetcrm last read soundly, not a guess, not a tombstone
    assert ("ACT-0004",) in tombstoned(engine, "activities")

    wb = openpyxl.load_workbook(path)
    wb["Activities"].append(["ACT-0004", "Note", "Back again", "ACC-0004", dt.datetime(2025, 6, 4), "ana"])
    wb.save(path)
    sync(XlsxWorkbook(path), config, as_of=DAY)
    back = live(engine, "activities")[("ACT-0004",)]
    assert back["subject"] == "Back again" and back["deleted_at"] is None


def test_an_amount_naming_no_currency_is_mirrored_in_the_base_currency(tmp_path):
    """An Amount whose row names no currency is in the base currency for the sync (the forecast
    adds it as EUR); the warehouse said NULL, so `WHERE currency = 'EUR'` or a GROUP BY currency
    (the README's pipeline recipe) left it out or apart. A named one stays its own."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Opportunities"
    ws.append(["ID", "Name", "Account", "Stage", "Amount", "Currency", "Close Date"])
    ws.append(["OPP-0001", "Blank currency", "Acme", "Proposal", "1.234,56", "", dt.datetime(2027, 1, 15)])
    ws.append(["OPP-0002", "Typed currency", "Acme", "Proposal", 2000, "USD", dt.datetime(2027, 1, 15)])
    ws.append(["OPP-0003", "Currency in the cell", "Acme", "Proposal", "£ 300", "", dt.datetime(2027, 1, 15)])
    wb.save(tmp_path / "crm.xlsx")
    config = Config(locale="es", currency="EUR", warehouse=WarehouseSettings(url=url))
    assert sync(XlsxWorkbook(tmp_path / "crm.xlsx"), config, as_of=DAY).mirrored.outcome == "mirrored"
    opps = live(engine_of(url), "opportunities")
    assert {k[0]: (r["currency"], Decimal(str(r["amount"]))) for k, r in opps.items()} == {
        "OPP-0001": ("EUR", Decimal("1234.56")), "OPP-0002": ("USD", Decimal("2000")),
        "OPP-0003": ("GBP", Decimal("300"))}


def test_the_demo_workbook_mirrors_every_kind(tmp_path):
    """The demo has every tab kind (products, quote lines, workflows, an Outbox row): all mirrored, equal."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    book = XlsxWorkbook(tmp_path / "demo.xlsx")
    data = write_demo(book, 30, 5, DAY)
    config = demo_config(Config(warehouse=WarehouseSettings(url=url)), data)
    outcome = sync(book, config, as_of=DAY)
    assert outcome.mirrored.outcome == "mirrored"
    engine = engine_of(url)
    assert_mirrors(engine, book, demo_config(Config(), data))
    for kind in ("products", "quote_lines", "workflows", "tasks", "contacts"):
        assert live(engine, kind), kind
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(APPENDED["lead_status_history"])).scalar() > 0
        in_db = dict(c.execute(select(OUTBOX.c.id, OUTBOX.c.status)).all())
    in_book = {r.text("id"): r.text("status") for r in read_outbox(book.read(), "en").rows}
    assert in_db == in_book and in_db


def test_sheetcrm_run_mirrors_each_sync_and_the_sync_log_is_appended(tmp_path):
    import logging

    from sheetcrm.service import Service
    from sheetcrm.warehouse.tables import SYNC_LOG

    url = f"sqlite:///{tmp_path / 'w.db'}"
    t = merge_tabs()
    del t["Duplicates"]
    book = xlsx_book(tmp_path / "crm.xlsx", t)
    config = Config(warehouse=WarehouseSettings(url=url))
    service = Service(config, book, logging.getLogger("test-warehouse-run"), today=lambda: DAY)
    assert service.run_once()
    assert service.run_once()  # its sync reads the Sync Log row the first run wrote
    engine = engine_of(url)
    assert_mirrors(engine, XlsxWorkbook(tmp_path / "crm.xlsx"), config)
    with engine.connect() as c:
        logged = c.execute(select(SYNC_LOG.c.job, SYNC_LOG.c.status, SYNC_LOG.c.rows_read)).all()
    assert logged and logged[0][:2] == ("sync", "ok") and logged[0][2] > 0


def test_an_id_retyped_in_another_case_updates_the_same_row(tmp_path, warehouse_url):
    """IDs compare as every reference does (`cells.match_key`): "opp-0002" retyped over OPP-0002
    is the same deal, so its row takes the new spelling (first seen when it was), never a
    tombstone and a second row."""
    t = merge_tabs()
    del t["Duplicates"]
    path = tmp_path / "crm.xlsx"
    book = xlsx_book(path, t)
    config = Config(warehouse=WarehouseSettings(url=warehouse_url))
    engine = engine_of(warehouse_url)
    sync(book, config, as_of=DAY)
    first_seen = live(engine, "opportunities")[("OPP-0002",)]["first_seen_at"]
    tick(path, "Opportunities", {"ID": "OPP-0002"}, "ID", "opp-0002")
    outcome = sync(XlsxWorkbook(path), config, as_of=DAY + dt.timedelta(days=1))
    assert outcome.mirrored.outcome == "mirrored"
    assert ("OPP-0002",) not in live(engine, "opportunities") and not tombstoned(engine, "opportunities")
    row = live(engine, "opportunities")[("opp-0002",)]
    assert row["first_seen_at"] == first_seen
    assert_mirrors(engine, XlsxWorkbook(path), config)


def test_an_id_retyped_in_another_case_keeps_its_history_under_the_id_its_row_holds(tmp_path):
    """"opp-0001" retyped over OPP-0001 is the same deal, and opportunities.id follows it; its
    stage_history rows logged before stayed "OPP-0001", so a join on the ID found the deal's
    last change alone, silently. They take the spelling of the record's row, as do a lead's,
    and the sheet's rows are mirrored under it, never appended again. A deleted
    activity's Related names the deal so spelt too, as a live one's does. (SQLite
    alone, to stay cheap: the renaming's SQL is the Spanish test's, on both.)"""
    warehouse_url = f"sqlite:///{tmp_path / 'w.db'}"
    path = tmp_path / "crm.xlsx"
    xlsx_book(path, {"Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date"],
                                       ["OPP-0001", "Uno", "Acme", "Proposal", 1000, dt.datetime(2027, 1, 15)]],
                     "Leads": [list(r) for r in LEADS[:2]],
                     "Activities": [["ID", "Type", "Subject", "Related", "Date", "Owner"],
                                    ["ACT-0001", "Call", "Hello", "OPP-0001", dt.datetime(2026, 11, 2), "ana"],
                                    ["ACT-0002", "Call", "Bye", "OPP-0001", dt.datetime(2026, 11, 3), "ana"]]})
    config = Config(warehouse=WarehouseSettings(url=warehouse_url))
    sync(XlsxWorkbook(path), config, as_of=DAY)
    delete_row(path, "Activities", "ACT-0002")  # its tombstone names the deal as it was spelt
    tick(path, "Opportunities", {"ID": "OPP-0001"}, "Stage", "Negotiation")
    tick(path, "Opportunities", {"ID": "OPP-0001"}, "ID", "opp-0001")
    tick(path, "Leads", {"ID": "LEAD-0001"}, "Status", "Contacted")
    tick(path, "Leads", {"ID": "LEAD-0001"}, "ID", "lead-0001")
    assert sync(XlsxWorkbook(path), config, as_of=DAY + dt.timedelta(days=1)).mirrored.outcome == "mirrored"
    engine = engine_of(warehouse_url)
    stage, lead = APPENDED["stage_history"], APPENDED["lead_status_history"]
    opps, leads = RECORDS["opportunities"], RECORDS["leads"]

    def joined() -> tuple[int, int, int, int]:
        with engine.connect() as c:
            return (c.execute(select(func.count()).select_from(stage.join(opps, stage.c.record_id == opps.c.id))
                              ).scalar_one(),
                    c.execute(select(func.count()).select_from(stage)).scalar_one(),
                    c.execute(select(func.count()).select_from(lead.join(leads, lead.c.record_id == leads.c.id))
                              ).scalar_one(),
                    c.execute(select(func.count()).select_from(lead)).scalar_one())

    # (2, 2): the sheet's first row, still "OPP-0001", is not appended again beside the renamed one.
    assert joined() == (2, 2, 2, 2)
    with engine.connect() as c:
        activities = RECORDS["activities"]
        assert dict(c.execute(select(activities.c.id, activities.c.related)).all()) == {
            "ACT-0001": "opp-0001", "ACT-0002": "opp-0001"}
    assert tombstoned(engine, "activities") == {("ACT-0002",)}


def test_an_id_too_long_for_a_database_key_is_said_at_its_cell_and_the_rest_is_mirrored(tmp_path, postgres_url,
                                                                                       caplog):
    """A paragraph pasted into an ID cell (the sync keeps it as the ID, with a warning): PostgreSQL
    refuses an index entry over 2,704 bytes, so the whole mirror failed at every sync, its line
    promising a catch-up on the next one and naming no cell."""
    import logging
    import random
    import string

    random.seed(3)
    paragraph = "".join(random.choice(string.ascii_letters + " ") for _ in range(2998)).join("[]")  # incompressible
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Activities"
    ws.append(["ID", "Date", "Type", "Subject"])
    ws.append(["ACT-0001", dt.datetime(2026, 11, 1), "Call", "Llamada con Muñoz"])
    ws.append([paragraph, dt.datetime(2026, 11, 2), "Call", "pasted"])
    wb.save(tmp_path / "crm.xlsx")
    caplog.set_level(logging.WARNING, logger="sheetcrm.run.warehouse")
    outcome = sync(XlsxWorkbook(tmp_path / "crm.xlsx"), Config(warehouse=WarehouseSettings(url=postgres_url)),
                   as_of=DAY)
    assert outcome.mirrored.outcome == "mirrored", outcome.mirrored.error
    assert set(live(engine_of(postgres_url), "activities")) == {("ACT-0001",)}
    lines = [r.getMessage() for r in caplog.records if r.name == "sheetcrm.run.warehouse"]
    assert lines == ["warehouse: Activities!A3 is 3000 characters long, too long for the database's key; "
                     "that row is not mirrored until it is shortened"]


def _spanish_deal(path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Oportunidades"
    ws.append(["ID", "Nombre", "Cuenta", "Etapa", "Importe", "Fecha de cierre"])
    ws.append(["OPP-0001", "Uno", "Acme", "Propuesta", 1000, dt.datetime(2027, 1, 15)])
    wb.save(path)


def test_a_spanish_sheets_stage_history_holds_the_stages_opportunities_holds(tmp_path, warehouse_url):
    """The Historial de etapas tab says "Propuesta" and "Ganada"; opportunities.stage holds the
    configured names ("Closed Won"), and stage_history held the sheet's words: a join or a
    report by stage across the two found nothing, silently.

    A warehouse an older sheetcrm filled holds a Spanish sheet's words ("Propuesta"), its mark
    no names: the next sync puts them in the configured names, keeping each row's cells, rather
    than appending every row again under the name (a report then counted each change twice).
    Two spellings of one change on a day become n = 1 and 2, never a clash."""
    path = tmp_path / "crm.xlsx"
    _spanish_deal(path)
    config = Config(locale="es", warehouse=WarehouseSettings(url=warehouse_url))
    sync(XlsxWorkbook(path), config, as_of=DAY)
    history, engine = APPENDED["stage_history"], engine_of(warehouse_url)
    with engine.begin() as c:  # as sheetcrm 0004 left it
        c.execute(history.update().values(to_value="Propuesta"))
        c.execute(history.insert().values(record_id="OPP-0009", changed_at=DAY, from_value="Prospecting",
                                          to_value="Proposal", n=1, amount=5, first_seen_at=dt.datetime(2026, 1, 1)))
        c.execute(history.insert().values(record_id="OPP-0009", changed_at=DAY, from_value="Prospección",
                                          to_value="Propuesta", n=1, amount=7, first_seen_at=dt.datetime(2026, 1, 2)))
        c.execute(APPENDED["lead_status_history"].insert().values(
            record_id="LEAD-0001", changed_at=DAY, from_value="", to_value="Nuevo", n=1,
            first_seen_at=dt.datetime(2026, 1, 1)))
        c.execute(RECORDS["opportunities"].update().values(name="renamed meanwhile"))  # not the unchanged mark
        # Its mark has no names; or (one backend each, to stay cheap) no mark at all: a person
        # deleted it after moving the workbook, as docs/warehouse.md says to.
        c.execute(text("DELETE FROM sheetcrm_mirror" if warehouse_url.startswith("sqlite")
                       else "UPDATE sheetcrm_mirror SET names = NULL"))
        first_seen = c.execute(select(history.c.first_seen_at).where(history.c.record_id == "OPP-0001")).scalar()
    tick(path, "Oportunidades", {"ID": "OPP-0001"}, "Etapa", "Ganada")
    assert sync(XlsxWorkbook(path), config, as_of=DAY + dt.timedelta(days=1)).mirrored.outcome == "mirrored"
    with engine.connect() as c:
        rows = {tuple(r[:5]): (same(r.amount, 1000) or r.amount, r.first_seen_at) for r in c.execute(
            select(history.c.record_id, history.c.from_value, history.c.to_value, history.c.n,
                   history.c.changed_at, history.c.amount, history.c.first_seen_at))}
        leads = c.execute(select(APPENDED["lead_status_history"].c.to_value)).scalars().all()
    assert {k[:4] for k in rows} == {("OPP-0001", "", "Proposal", 1), ("OPP-0001", "Proposal", "Closed Won", 1),
                                     ("OPP-0009", "Prospecting", "Proposal", 1),
                                     ("OPP-0009", "Prospecting", "Proposal", 2)}
    assert rows[("OPP-0001", "", "Proposal", 1, DAY)] == (True, first_seen)  # its cells kept
    assert leads == ["New"]
    with engine.connect() as c:
        joined = c.execute(select(func.count()).select_from(history.join(
            RECORDS["opportunities"], (history.c.record_id == RECORDS["opportunities"].c.id)
            & (history.c.to_value == RECORDS["opportunities"].c.stage)))).scalar()
    assert joined == 1  # the deal's last change names the stage it is in


def test_a_column_or_a_tab_renamed_in_the_sheet_keeps_its_warehouse_values(tmp_path, caplog):
    """A person renames the Close Date header ("Expected Close"): the sync reads no Close Date
    (and says so), and the mirror set every deal's close_date to NULL, its updated_at moved: the
    warehouse lost a column of values over a header's typo. It keeps them, as it keeps a row
    with a bad cell; the other columns still follow the sheet.
    Likewise a tab renamed ("Ventas 2026"): every deal was tombstoned, as if deleted; they stay live
    with their last values, and the mirror says why."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    path = tmp_path / "crm.xlsx"
    _spanish_deal(path)
    config = Config(locale="es", warehouse=WarehouseSettings(url=url))
    sync(XlsxWorkbook(path), config, as_of=DAY)
    wb = openpyxl.load_workbook(path)
    ws = wb["Oportunidades"]
    ws["F1"], ws["B2"] = "Cierre previsto", "Uno bis"
    ws.append(["OPP-0002", "Dos", "Acme", "Propuesta", 500, dt.datetime(2027, 2, 1)])
    wb.save(path)
    assert sync(XlsxWorkbook(path), config, as_of=DAY).mirrored.outcome == "mirrored"
    opps = live(engine_of(url), "opportunities")
    assert (opps[("OPP-0001",)]["name"], opps[("OPP-0001",)]["close_date"]) == ("Uno bis", dt.date(2027, 1, 15))
    assert opps[("OPP-0002",)]["close_date"] is None  # never read: nothing to keep

    wb = openpyxl.load_workbook(path)
    wb["Oportunidades"].title = "Ventas 2026"
    wb.save(path)
    caplog.set_level(logging.WARNING, logger="sheetcrm.run.warehouse")
    assert sync(XlsxWorkbook(path), config, as_of=DAY).mirrored.outcome == "mirrored"
    assert live(engine_of(url), "opportunities") == opps and not tombstoned(engine_of(url), "opportunities")
    assert any("opportunities" in r.getMessage() and "2" in r.getMessage() for r in caplog.records), caplog.records


def test_a_currency_column_renamed_keeps_each_rows_currency(tmp_path, caplog):
    """A person renames the Currency header ("Curr."): with no Currency column every amount reads
    as the base currency, and the mirror turned the USD and GBP deals EUR, their amounts kept: a
    silently wrong total in every query by currency. A held currency stays, as any renamed
    column's values do; a new row gets the base currency (never NULL), one whose amount names
    its own ("£ 300") that one, and the column back, the rows follow their cells again."""
    path = tmp_path / "crm.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Opportunities"
    ws.append(["ID", "Name", "Account", "Stage", "Amount", "Currency", "Close Date"])
    ws.append(["OPP-0001", "Dollars", "Acme", "Proposal", 1000, "USD", dt.datetime(2027, 1, 15)])
    ws.append(["OPP-0002", "Pounds", "Acme", "Proposal", 2000, "GBP", dt.datetime(2027, 1, 15)])
    wb.save(path)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    config, engine = Config(currency="EUR", warehouse=WarehouseSettings(url=url)), engine_of(url)
    sync(XlsxWorkbook(path), config, as_of=DAY)
    wb = openpyxl.load_workbook(path)
    ws = wb["Opportunities"]
    ws["F1"], ws["B2"] = "Curr.", "Dollars bis"
    ws.append(["OPP-0003", "New", "Acme", "Proposal", 300, "", dt.datetime(2027, 1, 15)])
    ws.append(["OPP-0004", "Named", "Acme", "Proposal", "£ 300", "", dt.datetime(2027, 1, 15)])
    wb.save(path)
    caplog.set_level(logging.WARNING, logger="sheetcrm.run.warehouse")
    assert sync(XlsxWorkbook(path), config, as_of=DAY).mirrored.outcome == "mirrored"
    # Kept, and said: the sheet's own figures read those amounts in EUR now.
    said = [r.getMessage() for r in caplog.records if "no Currency column" in r.getMessage()]
    assert said and "2 rows mirrored in GBP, USD keep that currency" in said[0] and "in EUR" in said[0], said
    opps = live(engine, "opportunities")
    assert {k[0]: (r["name"], r["currency"]) for k, r in opps.items()} == {
        "OPP-0001": ("Dollars bis", "USD"), "OPP-0002": ("Pounds", "GBP"), "OPP-0003": ("New", "EUR"),
        "OPP-0004": ("Named", "GBP")}

    wb = openpyxl.load_workbook(path)
    ws = wb["Opportunities"]
    ws["F1"], ws["F2"], ws["F3"] = "Currency", "EUR", ""  # each row's values as with no column: only the header differs
    wb.save(path)
    assert sync(XlsxWorkbook(path), config, as_of=DAY).mirrored.outcome == "mirrored"
    assert [live(engine, "opportunities")[(i,)]["currency"] for i in ("OPP-0001", "OPP-0002")] == ["EUR", "EUR"]


def test_a_reference_named_by_name_is_mirrored_as_the_id_it_names(tmp_path):
    """A deal's Account typed "Acme Corp" (the sync accepts a name) was mirrored as that name
    beside deals holding ACC-0001: `JOIN accounts ON accounts.id = opportunities.account`
    silently dropped it. Every reference holds the ID of the one record it names."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Accounts"
    ws.append(["ID", "Name", "Industry"])
    ws.append(["ACC-0001", "Acme Corp", "Retail"])
    ws = wb.create_sheet("Contacts")
    ws.append(["ID", "First Name", "Last Name", "Email", "Account"])
    ws.append(["CON-0001", "Ida", "Lin", "ida@acme.com", "acme corp"])
    ws = wb.create_sheet("Opportunities")
    ws.append(["ID", "Name", "Account", "Contact", "Stage", "Amount", "Close Date"])
    ws.append(["OPP-0001", "Uno", "Acme Corp", "Ida Lin", "Proposal", 1000, dt.datetime(2027, 1, 15)])
    ws.append(["OPP-0002", "Dos", "ACC-0001", "ida@acme.com", "Proposal", 500, dt.datetime(2027, 1, 15)])
    ws = wb.create_sheet("Activities")
    ws.append(["ID", "Type", "Subject", "Related", "Date", "Owner"])
    ws.append(["ACT-0001", "Call", "Hello", "opp-0001", dt.datetime(2026, 11, 2), "ana"])
    wb.save(tmp_path / "crm.xlsx")
    config = Config(warehouse=WarehouseSettings(url=url))
    assert sync(XlsxWorkbook(tmp_path / "crm.xlsx"), config, as_of=DAY).mirrored.outcome == "mirrored"
    engine = engine_of(url)
    opps = live(engine, "opportunities")
    assert {k[0]: (r["account"], r["contact"]) for k, r in opps.items()} == {
        "OPP-0001": ("ACC-0001", "CON-0001"), "OPP-0002": ("ACC-0001", "CON-0001")}
    assert live(engine, "contacts")[("CON-0001",)]["account"] == "ACC-0001"
    assert live(engine, "activities")[("ACT-0001",)]["related"] == "OPP-0001"


def test_a_base_currency_changed_on_a_tab_with_no_currency_column_is_said(tmp_path, caplog):
    """The side of keeping a held currency: a team with no Currency column whose config's
    currency goes from USD to EUR. The sync reads every amount in EUR; the rows mirrored before
    keep USD. Kept, as a renamed Currency header's rows are, but said at each mirror, never
    quiet: the warehouse and the sheet's figures disagree until each row's currency is typed."""
    path = tmp_path / "crm.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Opportunities"
    wb.active.append(["ID", "Name", "Account", "Stage", "Amount", "Close Date"])
    wb.active.append(["OPP-0001", "One", "Acme", "Proposal", 1000, dt.datetime(2027, 1, 15)])
    wb.save(path)
    url = f"sqlite:///{tmp_path / 'w.db'}"
    sync(XlsxWorkbook(path), Config(currency="USD", warehouse=WarehouseSettings(url=url)), as_of=DAY)
    caplog.set_level(logging.WARNING, logger="sheetcrm.run.warehouse")
    sync(XlsxWorkbook(path), Config(currency="EUR", warehouse=WarehouseSettings(url=url)), as_of=DAY)
    said = [r.getMessage() for r in caplog.records if "no Currency column" in r.getMessage()]
    assert said and "1 row mirrored in USD keeps that currency" in said[0] and "in EUR" in said[0], said


def test_a_tab_sorted_with_its_header_row_keeps_its_warehouse_rows_live(tmp_path, caplog):
    """A person sorts the Actividades tab A→Z with its header row selected: the header lands
    below the rows (out of the header search), the sync finds no ID or Fecha column and reads no
    row of the tab, and says so. The mirror tombstoned every activity, as if all were deleted.
    They stay live with their last values, the mirror says why (in the team's language), and
    once the header is back on top they follow the sheet again: a row deleted meanwhile is then
    tombstoned."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    path = tmp_path / "crm.xlsx"
    header = ["ID", "Fecha", "Tipo", "Asunto", "Relacionado", "Propietario"]
    body = [[f"ACT-{i:04d}", dt.datetime(2026, 10, i), "Llamada", f"Llamada {i}", "", "ana"] for i in range(1, 25)]
    wb = openpyxl.Workbook()
    wb.active.title = "Actividades"
    for row in [header, *body]:
        wb.active.append(row)
    wb.save(path)
    config, engine = Config(locale="es", warehouse=WarehouseSettings(url=url)), engine_of(url)
    assert sync(XlsxWorkbook(path), config, as_of=DAY).mirrored.outcome == "mirrored"
    before = live(engine, "activities")
    assert len(before) == 24

    def rewrite(rows) -> None:
        wb = openpyxl.load_workbook(path)
        ws = wb["Actividades"]
        ws.delete_rows(1, ws.max_row)
        for row in rows:
            ws.append(row)
        wb.save(path)

    rewrite([*body, header])  # dates sort before text: the header row goes last
    caplog.set_level(logging.WARNING, logger="sheetcrm.run.warehouse")
    assert sync(XlsxWorkbook(path), config, as_of=DAY).mirrored.outcome == "mirrored"
    assert live(engine, "activities") == before and not tombstoned(engine, "activities")
    said = [r.getMessage() for r in caplog.records if "Actividades" in r.getMessage()]
    assert said and "no se lee ninguna fila" in said[0] and "columna ID" in said[0] and "24 filas" in said[0], said

    rewrite([header, *body[1:]])  # the header back on top, ACT-0001 deleted meanwhile
    assert sync(XlsxWorkbook(path), config, as_of=DAY).mirrored.outcome == "mirrored"
    assert tombstoned(engine, "activities") == {("ACT-0001",)} and len(live(engine, "activities")) == 23


def test_a_huge_count_in_the_outbox_or_the_sync_log_is_mirrored_not_a_mirror_failed_for_ever(tmp_path, postgres_url,
                                                                                             caplog):
    """An Attempts cell of the Outbox typed 3000000000 (a whole number sheetcrm reads: below
    10^15) overflowed PostgreSQL's integer column: "integer out of range", every mirror failed,
    each saying "caught up on the next sync", until someone found the cell. The counts are
    bigint, as every count read from a cell; a Sync Log number beyond what sheetcrm reads (1e300)
    is no count (NULL), never a failed mirror."""
    path = tmp_path / "crm.xlsx"
    from sheetcrm.schema import OUTBOX as OUTBOX_TAB, SYNC_LOG as SYNC_LOG_TAB
    outbox = ["OUT-0001", "2026-11-20T10:00:00Z", "OPP-0001", "a@example.com", "Quote", "Failed", "", "", "refused",
              "Q-1", "v1", 3000000000, "", ""]
    log = [["2026-11-20T10:00:00.000+01:00", "sync", 1.5, 3000000000, 0, 4, 1, "ok", ""],
           ["2026-11-21T10:00:00.000+01:00", "sync", 1.5, 1e300, 0, 4, 1, "ok", ""]]
    book = xlsx_book(path, {
        "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date"],
                          ["OPP-0001", "Uno", "Acme", "Proposal", 1000, dt.datetime(2027, 1, 15)]],
        OUTBOX_TAB.title: [list(OUTBOX_TAB.headers), outbox], SYNC_LOG_TAB.title: [list(SYNC_LOG_TAB.headers), *log]})
    book.write(Plan(mark_owned=[OUTBOX_TAB.title, SYNC_LOG_TAB.title]))
    caplog.set_level(logging.WARNING, logger="sheetcrm.run.warehouse")
    outcome = sync(book, Config(warehouse=WarehouseSettings(url=postgres_url, attempts=1)), as_of=DAY)
    assert outcome.mirrored.outcome == "mirrored", (outcome.mirrored, caplog.records)
    engine = engine_of(postgres_url)
    from sheetcrm.warehouse.tables import SYNC_LOG
    with engine.connect() as c:
        assert c.execute(select(OUTBOX.c.attempts)).scalar_one() == 3000000000
        assert dict(c.execute(select(SYNC_LOG.c.time, SYNC_LOG.c.rows_read)).all()) == {
            log[0][0]: 3000000000, log[1][0]: None}
    assert live(engine, "opportunities")


def _with_nul(path, tab: str, cell: str, text: str) -> None:
    """Type `text` in `cell`, each "|" of it a NUL character as an .xlsx holds one (`_x0000_`:
    openpyxl refuses to write the character itself), as a paste from another system leaves it."""
    import zipfile

    wb = openpyxl.load_workbook(path)
    wb[tab][cell] = text.replace("|", "NULMARK")
    wb.save(path)
    with zipfile.ZipFile(path) as source:
        parts = [(item, source.read(item.filename)) for item in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item, data in parts:
            out.writestr(item, data.replace(b"NULMARK", b"_x0000_"))


def test_a_nul_character_in_a_cell_is_said_at_its_cell_and_the_rest_is_mirrored(tmp_path, postgres_url, caplog):
    """A NUL character pasted into an account's Name (an .xlsx holds it as `_x0000_`): PostgreSQL
    refuses it in any text column, "text fields cannot contain NUL (0x00) bytes", and the whole
    mirror failed at every sync, saying "caught up on the next sync" and naming no cell. The row
    keeps its last values (not guessed, not tombstoned), the line names the cell, the rest is
    mirrored; with the character deleted, the row follows the sheet again."""
    path = tmp_path / "crm.xlsx"
    book = xlsx_book(path, {
        "Accounts": [["ID", "Name", "Industry"], ["ACC-0001", "Acme", "Retail"], ["ACC-0002", "Beta", "Retail"]],
        "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date"],
                          ["OPP-0001", "Uno", "ACC-0001", "Proposal", 1000, dt.datetime(2027, 1, 15)]]})
    config = Config(warehouse=WarehouseSettings(url=postgres_url, attempts=1))
    assert sync(book, config, as_of=DAY).mirrored.outcome == "mirrored"
    _with_nul(path, "Accounts", "B2", "Acme|Corp")
    _with_nul(path, "Opportunities", "B2", "Uno|")
    wb = openpyxl.load_workbook(path)
    wb["Accounts"].append(["ACC-0003", "Gamma", "Retail"])
    wb.save(path)
    caplog.set_level(logging.WARNING, logger="sheetcrm.run.warehouse")
    outcome = sync(XlsxWorkbook(path), config, as_of=DAY)
    assert outcome.mirrored.outcome == "mirrored", outcome.mirrored
    engine = engine_of(postgres_url)
    accounts = live(engine, "accounts")
    assert {k[0]: r["name"] for k, r in accounts.items()} == {"ACC-0001": "Acme", "ACC-0002": "Beta",
                                                            "ACC-0003": "Gamma"}
    assert live(engine, "opportunities")[("OPP-0001",)]["name"] == "Uno"
    said = [r.getMessage() for r in caplog.records if "NUL" in r.getMessage()]
    assert any("Accounts!B2" in line for line in said) and any("Opportunities!B2" in line for line in said), said

    wb = openpyxl.load_workbook(path)
    wb["Accounts"]["B2"] = "Acme Corp"
    wb.save(path)
    assert sync(XlsxWorkbook(path), config, as_of=DAY).mirrored.outcome == "mirrored"
    assert live(engine, "accounts")[("ACC-0001",)]["name"] == "Acme Corp"


def test_the_outbox_status_is_mirrored_by_its_canonical_name_whatever_the_sheets_language(tmp_path):
    """A Spanish team's Outbox says "Enviado", and a row written before the team switched says
    "Sent"; sheetcrm reads both (and a typed "aprobada") as the one status each is. The warehouse
    held the words as typed: `WHERE status = 'Sent'` found none of the Spanish rows and a GROUP
    BY status split Sent in two. It holds the canonical name, as leads.status does; a word
    sheetcrm does not read ("Aproved", never acted on) stays as typed, not guessed."""
    from sheetcrm.schema import OUTBOX as OUTBOX_TAB

    url = f"sqlite:///{tmp_path / 'w.db'}"
    path = tmp_path / "crm.xlsx"

    def row(n: int, status: str) -> list:
        return [f"OUT-000{n}", "2026-11-20T10:00:00Z", "OPP-0001", "a@example.com", "Presupuesto", status, "", "",
                "", "Q-1", "v1", 0, "", ""]

    book = xlsx_book(path, {
        "Oportunidades": [["ID", "Nombre", "Cuenta", "Etapa", "Importe", "Fecha de cierre"],
                          ["OPP-0001", "Uno", "Acme", "Propuesta", 1000, dt.datetime(2027, 1, 15)]],
        OUTBOX_TAB.title_es: [OUTBOX_TAB.display_headers("es"), row(1, "Enviado"), row(2, "Sent"),
                              row(3, "aprobada"), row(4, "Aproved")]})
    book.write(Plan(mark_owned=[OUTBOX_TAB.title_es]))
    config = Config(locale="es", warehouse=WarehouseSettings(url=url))
    assert sync(book, config, as_of=DAY).mirrored.outcome == "mirrored"
    with engine_of(url).connect() as c:
        held = dict(c.execute(select(OUTBOX.c.id, OUTBOX.c.status)).all())
    assert held == {"OUT-0001": "Sent", "OUT-0002": "Sent", "OUT-0003": "Approved", "OUT-0004": "Aproved"}


def _ref_errors(path, tab: str, refs: tuple[str, ...]) -> None:
    """Make each cell of `refs` an ID formula showing #REF!, as Excel saves one whose source was
    deleted (the formula and its cached error; openpyxl writes no cached value)."""
    import re
    import zipfile

    wb = openpyxl.load_workbook(path)
    for ref in refs:
        wb[tab][ref] = '="ACC-"&#REF!'
    part = f"xl/worksheets/sheet{wb.sheetnames.index(tab) + 1}.xml"
    wb.save(path)
    with zipfile.ZipFile(path) as source:
        parts = [(item, source.read(item.filename)) for item in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for item, data in parts:
            if item.filename == part:
                data = re.sub(rb'<c r="([A-Z]+[0-9]+)"[^>]*><f>([^<]*)</f><v\s*/?>(?:</v>)?</c>',
                              rb'<c r="\1" t="e"><f>\2</f><v>#REF!</v></c>', data)
            out.writestr(item, data)


def test_ids_that_cannot_be_read_tombstone_nothing_until_they_read(tmp_path, caplog):
    """A team's ID column shows #REF! (its formulas lost what they pointed at): the sync cannot
    read which record each row is, and says so at each cell. The mirror tombstoned every account,
    as if all were deleted. Which of the warehouse's rows left cannot be told while an ID does not
    read, so none is tombstoned and the mirror says why, in the team's language; once the IDs
    read, a row deleted meanwhile is tombstoned as any."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    path = tmp_path / "crm.xlsx"
    book = xlsx_book(path, {"Cuentas": [["ID", "Nombre", "Sector"], ["ACC-0001", "Acme", "Retail"],
                                        ["ACC-0002", "Beta", "Retail"], ["ACC-0003", "Gamma", "Retail"]]})
    config, engine = Config(locale="es", warehouse=WarehouseSettings(url=url)), engine_of(url)
    assert sync(book, config, as_of=DAY).mirrored.outcome == "mirrored"
    before = live(engine, "accounts")

    _ref_errors(path, "Cuentas", ("A2", "A3"))
    caplog.set_level(logging.WARNING, logger="sheetcrm.run.warehouse")
    assert sync(XlsxWorkbook(path), config, as_of=DAY).mirrored.outcome == "mirrored"
    assert live(engine, "accounts") == before and not tombstoned(engine, "accounts")
    said = [r.getMessage() for r in caplog.records if "Cuentas!A2" in r.getMessage()]
    assert said and "2 celdas de la columna ID no se pueden leer" in said[0], said

    wb = openpyxl.load_workbook(path)
    ws = wb["Cuentas"]
    ws["A2"] = "ACC-0001"
    ws.delete_rows(3)  # Beta deleted meanwhile
    wb.save(path)
    assert sync(XlsxWorkbook(path), config, as_of=DAY).mirrored.outcome == "mirrored"
    assert tombstoned(engine, "accounts") == {("ACC-0002",)} and set(live(engine, "accounts")) == {
        ("ACC-0001",), ("ACC-0003",)}


def test_an_outbox_row_deleted_from_the_sheet_is_tombstoned_unless_which_left_cannot_be_told(tmp_path, warehouse_url,
                                                                                             caplog):
    """A person deletes a Draft from the Outbox: the warehouse kept it at Draft, live, so it counted
    as waiting for ever in any query (`outbox` has no tombstone). It is tombstoned now, as a record's
    row is. While an Outbox row's ID does not read (cleared), which row left cannot be told, so none
    is tombstoned and the mirror says so, naming the cell; nor while the tab's header row is sorted
    away (no ID column)."""
    from sheetcrm.schema import OUTBOX as OUTBOX_TAB

    path = tmp_path / "crm.xlsx"

    def row(n: int, status: str) -> list:
        return [f"OUT-000{n}", "2026-11-20T10:00:00Z", "OPP-0001", "a@example.com", "Quote", status, "", "", "",
                "Q-1", "v1", 0, "", ""]

    book = xlsx_book(path, {
        "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date"],
                          ["OPP-0001", "Uno", "Acme", "Proposal", 1000, dt.datetime(2027, 1, 15)]],
        OUTBOX_TAB.title: [list(OUTBOX_TAB.headers), row(1, "Draft"), row(2, "Sent"), row(3, "Failed")]})
    book.write(Plan(mark_owned=[OUTBOX_TAB.title]))
    config = Config(warehouse=WarehouseSettings(url=warehouse_url, attempts=1))
    assert sync(book, config, as_of=DAY).mirrored.outcome == "mirrored"
    engine = engine_of(warehouse_url)

    def outbox() -> tuple[dict, set]:
        with engine.connect() as c:
            rows = c.execute(select(OUTBOX.c.id, OUTBOX.c.status, OUTBOX.c.deleted_at)).all()
        return {r.id: r.status for r in rows if r.deleted_at is None}, {r.id for r in rows if r.deleted_at}

    assert outbox() == ({"OUT-0001": "Draft", "OUT-0002": "Sent", "OUT-0003": "Failed"}, set())

    def edit(change) -> None:
        wb = openpyxl.load_workbook(path)
        change(wb[OUTBOX_TAB.title])
        wb.save(path)

    # OUT-0003's ID cleared, and the Draft deleted: which row left cannot be told.
    edit(lambda ws: (setattr(ws.cell(4, 1), "value", None), ws.delete_rows(2)))
    caplog.set_level(logging.WARNING, logger="sheetcrm.run.warehouse")
    assert sync(XlsxWorkbook(path), config, as_of=DAY).mirrored.outcome == "mirrored"
    assert outbox() == ({"OUT-0001": "Draft", "OUT-0002": "Sent", "OUT-0003": "Failed"}, set())
    said = [r.getMessage() for r in caplog.records if "Outbox!A3" in r.getMessage()]
    assert said and "none of its rows is marked deleted" in said[0], [r.getMessage() for r in caplog.records]

    edit(lambda ws: ws.cell(3, 1, "OUT-0003"))  # the ID back: the Draft deleted meanwhile is tombstoned
    assert sync(XlsxWorkbook(path), config, as_of=DAY).mirrored.tombstoned == 1
    assert outbox() == ({"OUT-0002": "Sent", "OUT-0003": "Failed"}, {"OUT-0001"})
    with engine.connect() as c:
        waiting = c.execute(select(func.count()).select_from(OUTBOX).where(
            OUTBOX.c.status == "Draft", OUTBOX.c.deleted_at.is_(None))).scalar_one()
    assert waiting == 0

    # The header row sorted below the rows: no ID column, nothing tombstoned, said.
    def sort(ws) -> None:
        rows = [[c.value for c in r] for r in ws.iter_rows()]
        ws.delete_rows(1, ws.max_row)
        for r in [rows[2], rows[0]]:  # OUT-0002 deleted meanwhile
            ws.append(r)

    caplog.clear()
    edit(sort)
    assert sync(XlsxWorkbook(path), config, as_of=DAY).mirrored.outcome == "mirrored"
    assert outbox() == ({"OUT-0002": "Sent", "OUT-0003": "Failed"}, {"OUT-0001"})
    assert any("no row of the tab Outbox is read" in r.getMessage() for r in caplog.records), \
        [r.getMessage() for r in caplog.records]


def test_a_sync_that_read_before_the_one_the_warehouse_holds_does_not_put_it_back(tmp_path, warehouse_url, caplog):
    """Two syncs of one workbook at once (a person's `sheetcrm sync` while the service syncs): the
    person's sync reads the file, a deal is then changed and another deleted, the service's sync
    reads that and mirrors it; the person's sync, planning nothing, mirrors its older read last.
    The warehouse went back to the older rows (the old amount, the deleted deal live again) until
    the next sync, with nothing said. The mark keeps when the read it holds began, and a mirror of
    an older read is refused, in one line, not as a failure."""
    path = tmp_path / "crm.xlsx"
    xlsx_book(path, {"Opportunities": [
        ["ID", "Name", "Account", "Stage", "Amount", "Close Date"],
        ["OPP-0001", "Uno", "Acme", "Proposal", 1000, dt.datetime(2027, 1, 15)],
        ["OPP-0002", "Dos", "Acme", "Proposal", 2000, dt.datetime(2027, 1, 15)]]})
    config = Config(warehouse=WarehouseSettings(url=warehouse_url, attempts=1))
    assert sync(XlsxWorkbook(path), config, as_of=DAY, cache=False).mirrored.outcome == "mirrored"
    engine = engine_of(warehouse_url)

    def newer_sync_meanwhile(phase: str, done: int, total: int) -> None:
        if (phase, done) != ("reading", 1) or newer:
            return
        wb = openpyxl.load_workbook(path)
        ws = wb["Opportunities"]
        ws["E2"] = 5000
        ws.delete_rows(3)
        wb.save(path)
        newer.append(sync(XlsxWorkbook(path), config, as_of=DAY, cache=False))

    newer: list = []
    caplog.set_level(logging.WARNING, logger="sheetcrm.run.warehouse")
    older = sync(XlsxWorkbook(path), config, as_of=DAY, cache=False, progress=newer_sync_meanwhile)
    assert newer[0].mirrored.outcome == "mirrored" and newer[0].mirrored.tombstoned == 1
    assert not older.plan, "the older sync must plan nothing, so it mirrors its read as it was"
    assert older.mirrored.outcome == "older", older.mirrored
    assert {k: r["amount"] for k, r in live(engine, "opportunities").items()} == {("OPP-0001",): 5000}
    assert tombstoned(engine, "opportunities") == {("OPP-0002",)}
    said = [r.getMessage() for r in caplog.records if "not mirrored" in r.getMessage()]
    assert len(said) == 1 and "keeps the newer rows" in said[0] and "\n" not in said[0], said

    # The next sync reads after both: nothing to catch up, its rows are the warehouse's.
    assert sync(XlsxWorkbook(path), config, as_of=DAY, cache=False).mirrored.outcome == "unchanged"


def test_outbox_rows_sharing_an_id_are_held_and_an_id_retyped_in_another_case_is_the_same_row(tmp_path):
    """A person copies a Sent Outbox row above itself and sets the copy to Draft: the Outbox sends
    neither (a copy cannot be told from the row sheetcrm queued), but the mirror took the first
    row's Status, so the warehouse said the Sent email was a Draft waiting. Both rows are held
    (the warehouse keeps the last sound values), as a record tab's are. An ID retyped in another
    case ("out-0002", the same row to the Outbox) updated nothing: it was a new row and a
    tombstone; it is the same row now, its first_seen_at kept."""
    from sheetcrm.schema import OUTBOX as OUTBOX_TAB

    url = f"sqlite:///{tmp_path / 'w.db'}"
    path = tmp_path / "crm.xlsx"

    def row(row_id: str, status: str) -> list:
        return [row_id, "2026-11-20T10:00:00Z", "OPP-0001", "a@example.com", "Quote", status, "", "", "", "Q-1",
                "v1", 0, "", ""]

    book = xlsx_book(path, {
        "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date"],
                          ["OPP-0001", "Uno", "Acme", "Proposal", 1000, dt.datetime(2027, 1, 15)]],
        OUTBOX_TAB.title: [list(OUTBOX_TAB.headers), row("OUT-0001", "Sent"), row("OUT-0002", "Draft")]})
    book.write(Plan(mark_owned=[OUTBOX_TAB.title]))
    config = Config(warehouse=WarehouseSettings(url=url))
    assert sync(book, config, as_of=DAY).mirrored.outcome == "mirrored"
    engine = engine_of(url)

    def outbox() -> dict:
        with engine.connect() as c:
            return {r.id: (r.status, r.first_seen_at, r.deleted_at) for r in c.execute(select(OUTBOX))}

    before = outbox()
    wb = openpyxl.load_workbook(path)
    ws = wb[OUTBOX_TAB.title]
    ws.insert_rows(2)
    for col, value in enumerate(row("out-0001", "Draft"), start=1):
        ws.cell(2, col).value = value
    ws["A4"] = "out-0002"
    wb.save(path)
    assert sync(XlsxWorkbook(path), config, as_of=DAY).mirrored.outcome == "mirrored"
    assert outbox() == {"OUT-0001": before["OUT-0001"],
                        "out-0002": ("Draft", before["OUT-0002"][1], None)}, outbox()

    wb = openpyxl.load_workbook(path)
    wb[OUTBOX_TAB.title].delete_rows(3)  # the original deleted, the Draft copy kept: it is the row now
    wb.save(path)
    assert sync(XlsxWorkbook(path), config, as_of=DAY).mirrored.outcome == "mirrored"
    now = outbox()
    assert {k: v[0] for k, v in now.items() if v[2] is None} == {"out-0001": "Draft", "out-0002": "Draft"}, now


def test_an_outbox_attempts_cell_that_is_no_whole_number_is_null_not_zero(tmp_path):
    """An Attempts cell typed "tres" or 2.5: the Outbox counts it as 0 for itself, and the
    warehouse held that 0 as if it had been typed, so `WHERE attempts >= 3` missed the row
    without a word. It is NULL (not known); a blank is 0 (no try yet), a number itself."""
    from sheetcrm.schema import OUTBOX as OUTBOX_TAB

    url = f"sqlite:///{tmp_path / 'w.db'}"
    path = tmp_path / "crm.xlsx"

    def row(n: int, attempts) -> list:
        return [f"OUT-000{n}", "2026-11-20T10:00:00Z", "OPP-0001", "a@example.com", "Quote", "Failed", "", "", "",
                "Q-1", "v1", attempts, "", ""]

    book = xlsx_book(path, {
        "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date"],
                          ["OPP-0001", "Uno", "Acme", "Proposal", 1000, dt.datetime(2027, 1, 15)]],
        OUTBOX_TAB.title: [list(OUTBOX_TAB.headers), row(1, "tres"), row(2, 2.5), row(3, ""), row(4, 3)]})
    book.write(Plan(mark_owned=[OUTBOX_TAB.title]))
    assert sync(book, Config(warehouse=WarehouseSettings(url=url)), as_of=DAY).mirrored.outcome == "mirrored"
    with engine_of(url).connect() as c:
        held = dict(c.execute(select(OUTBOX.c.id, OUTBOX.c.attempts)).all())
    assert held == {"OUT-0001": None, "OUT-0002": None, "OUT-0003": 0, "OUT-0004": 3}
