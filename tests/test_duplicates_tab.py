"""The Duplicates tab on real files and on the emulator: groups, ticks carried over by (Group, ID),
"Not duplicates" for good, a second sync that writes nothing, Spanish."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from sheetcrm.config import Config
from sheetcrm.crm.duplicates import DuplicateSettings, group_key
from sheetcrm.inputs import read_duplicates
from sheetcrm.merging import survivor
from sheetcrm.sync import sync
from sheetcrm.workbook import CellWrite, Plan
from sheetcrm.workbook.credentials import connect
from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy
from sheetcrm.workbook.target import header_tests
from books import xlsx_book

AS_OF = dt.date(2026, 11, 23)
ACCOUNTS = [["ID", "Name", "Domain", "Country", "Created"],
            ["ACC-0001", "Globex S.A.", "globex.com", "Spain", dt.date(2025, 1, 5)],
            ["ACC-0002", "Globex", "https://www.globex.com", "Spain", dt.date(2025, 3, 1)],
            ["ACC-0003", "Initech", "initech.com", "Spain", None]]
CONTACTS = [["ID", "Account", "First Name", "Last Name", "Email", "Phone", "Created"],
            ["CON-0001", "ACC-0003", "Eva", "Martín", "eva@initech.com", "912 345 678", dt.date(2025, 2, 2)],
            ["CON-0002", "ACC-0003", "Raúl", "Soto", "raul@initech.com", "", dt.date(2025, 2, 3)]]
LEADS = [["ID", "First Name", "Last Name", "Company", "Email", "Phone", "Status", "Created"],
         ["LEAD-0001", "Eva", "Martin", "Initech", "EVA@initech.com ", "+34 912-345-678", "New", dt.date(2026, 1, 1)],
         ["LEAD-0002", "Ana", "López", "", "Ana.Lopez@gmail.com", "", "New", dt.date(2026, 2, 1)],
         ["LEAD-0003", "Ana", "Lopez", "", "analopez+web@gmail.com", "", "New", dt.date(2026, 1, 15)],
         ["LEAD-0004", "Jorge", "Vidal", "Acme", "jorge@acme.com", "", "New", dt.date(2026, 1, 1)]]
TABS = {"Accounts": ACCOUNTS, "Contacts": CONTACTS, "Leads": LEADS}
EVA = group_key(["CON-0001", "LEAD-0001"])
ANA = group_key(["LEAD-0002", "LEAD-0003"])
GLOBEX = group_key(["ACC-0001", "ACC-0002"])


def duplicates(book, title="Duplicates") -> list[list]:
    rows = book.read().tabs[title].rows
    return [[None if v == "" else v for v in r] + [None] * (13 - len(r)) for r in rows]


def tick(book, row: int, col: int, value="x", title="Duplicates") -> None:
    """A person's edit: one cell of the Duplicates tab."""
    book.write(Plan(writes=[CellWrite(title, row, col, value)]))


def row_of(rows, group, rid) -> int:
    return next(i + 1 for i, r in enumerate(rows) if r[0] == group and r[4] == rid)


def test_groups_on_xlsx_and_a_second_sync_writes_nothing(tmp_path):
    book = xlsx_book(tmp_path / "crm.xlsx", TABS)
    def people():  # the people's own columns (sheetcrm adds its computed ones to Leads)
        return {t: [r[:len(rows[0])] for r in book.read().tabs[t].rows] for t, rows in TABS.items()}

    before = people()
    out = sync(book, Config(), as_of=AS_OF)
    assert out.cells_written.get("Duplicates")
    rows = duplicates(book)
    assert rows[0] == ["Group", "Score", "Reasons", "Tab", "ID", "Name", "Email", "Phone", "Company", "Created",
                       "Keep", "Merge", "Not duplicates"]
    by_group = {}
    for r in rows[1:]:
        by_group.setdefault(r[0], []).append(r)
    assert set(by_group) == {EVA, ANA, GLOBEX}
    # A group's rows: the oldest record first (the default survivor), phones in E.164.
    eva = by_group[EVA]
    assert [r[4] for r in eva] == ["CON-0001", "LEAD-0001"]
    assert [r[3] for r in eva] == ["Contacts", "Leads"]
    assert [r[7] for r in eva] == ["+34912345678", "+34912345678"]
    assert eva[0][1] == 1.0 and eva[0][2] == "same email; same phone; same name"
    assert [r[4] for r in by_group[ANA]] == ["LEAD-0003", "LEAD-0002"]
    assert by_group[ANA][0][2] == "same email after normalisation; same name"
    assert by_group[GLOBEX][0][2] == "same company name, same domain" and by_group[GLOBEX][0][8] == "Globex S.A."
    # Nothing of the people's columns moved, and nothing is written a second time.
    assert people() == before
    again = sync(book, Config(), as_of=AS_OF)
    assert again.result is None and again.plan.writes == []


def test_ticks_carry_over_and_not_duplicates_is_for_good(tmp_path):
    book = xlsx_book(tmp_path / "crm.xlsx", TABS)
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    kept_at = row_of(rows, GLOBEX, "ACC-0002")
    tick(book, kept_at, 11, "x")                                        # Keep, typed as "x"
    # A new duplicate pair arrives, and the groups below it move down.
    wb = openpyxl.load_workbook(book.path)
    wb["Leads"].append(["LEAD-0005", "Jorge", "Vidal", "Acme", "Jorge@Acme.com", "", "New", dt.date(2026, 3, 1)])
    wb.save(book.path)
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    groups = [r[0] for r in rows[1:]]
    jorge = group_key(["LEAD-0004", "LEAD-0005"])
    assert groups.index(jorge) < groups.index(GLOBEX) and groups.count(jorge) == 2
    # The Keep tick moved with its group and record, as typed.
    assert row_of(rows, GLOBEX, "ACC-0002") != kept_at
    assert rows[row_of(rows, GLOBEX, "ACC-0002") - 1][10] == "x"
    assert [r[10] for r in rows[1:] if r[10] is not None] == ["x"]
    tick(book, row_of(rows, EVA, "LEAD-0001"), 13, True)                # Not duplicates
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    groups = [r[0] for r in rows[1:]]
    # The suppressed group sits at the bottom, as the record of the decision.
    assert groups[-2:] == [EVA, EVA] and rows[-1][12] is True
    assert sync(book, Config(), as_of=AS_OF).result is None
    # For good: edits to the records do not bring the pair back, however alike they get.
    wb = openpyxl.load_workbook(book.path)
    wb["Leads"]["B2"] = "Eva"
    wb["Leads"]["G2"] = "Contacted"
    wb.save(book.path)
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    assert [r[0] for r in rows[1:]].count(EVA) == 2 and rows[-1][0] == EVA
    assert not any(r[4] in ("CON-0001", "LEAD-0001") and r[0] != EVA for r in rows[1:])
    # Unticking revives the group.
    tick(book, row_of(rows, EVA, "LEAD-0001"), 13, None)
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    assert rows[-1][0] != EVA and [r[0] for r in rows].count(EVA) == 2


def test_a_merge_tick_hands_the_group_to_the_merge_step(tmp_path):
    book = xlsx_book(tmp_path / "crm.xlsx", TABS)
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    tick(book, row_of(rows, GLOBEX, "ACC-0002"), 12, "sí")
    tab = read_duplicates(book.read(), "en")
    assert tab.issues == [] and {r.id for r in tab.rows if r.merge} == {"ACC-0002"}
    members = [r for r in tab.rows if r.group == GLOBEX]
    created = {"ACC-0001": dt.date(2025, 1, 5), "ACC-0002": dt.date(2025, 3, 1)}
    assert survivor([r.id for r in members], [r.id for r in members if r.keep], created) == "ACC-0001"
    assert survivor(["ACC-0001", "ACC-0002"], ["ACC-0002"], created) == "ACC-0002"
    assert survivor(["LEAD-0010", "LEAD-0009"], [], {}) == "LEAD-0009"
    sync(book, Config(), as_of=AS_OF)
    # The merged record (not the survivor) is not proposed again, and the group left the tab.
    assert all(r[0] != GLOBEX and r[4] != "ACC-0002" for r in duplicates(book))


def test_a_record_id_retyped_in_another_case_keeps_its_groups_ticks(tmp_path):
    """The tab's IDs compare as every reference does (`cells.match_key`): a record whose ID is
    retyped "acc-0002" over ACC-0002 keeps its group's Keep tick (the group, named by its IDs as
    written, is renamed), and a group ticked Not duplicates is not proposed again."""
    book = xlsx_book(tmp_path / "crm.xlsx", TABS)
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    tick(book, row_of(rows, GLOBEX, "ACC-0002"), 11, "x")              # Keep
    tick(book, row_of(rows, EVA, "LEAD-0001"), 13, True)               # Not duplicates
    wb = openpyxl.load_workbook(book.path)
    wb["Accounts"]["A3"] = "acc-0002"
    wb["Leads"]["A2"] = "lead-0001"
    wb.save(book.path)
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    globex = group_key(["ACC-0001", "acc-0002"])
    assert [(r[4], r[10]) for r in rows[1:] if r[0] == globex] == [("ACC-0001", None), ("acc-0002", "x")]
    assert [r[0] for r in rows[1:]].count(EVA) == 2 and rows[-1][0] == EVA       # still suppressed
    assert not any(r[4] in ("CON-0001", "lead-0001") and r[0] != EVA for r in rows[1:])
    assert sync(book, Config(), as_of=AS_OF).result is None


def test_a_tick_that_is_neither_yes_nor_no_is_reported(tmp_path):
    book = xlsx_book(tmp_path / "crm.xlsx", TABS)
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    tick(book, row_of(rows, ANA, "LEAD-0002"), 12, "maybe")
    out = sync(book, Config(), as_of=AS_OF)
    bad = [i for i in out.crm.report.issues if i.tab == "Duplicates"]
    assert [(i.code, i.row, i.column, i.value) for i in bad] == [("bad_bool", row_of(rows, ANA, "LEAD-0002"), "L",
                                                                  "maybe")]
    # Not acted on, and kept as typed for the person to fix.
    assert any(r[0] == ANA and r[11] == "maybe" for r in duplicates(book))


def test_disabled_writes_no_tab(tmp_path):
    book = xlsx_book(tmp_path / "crm.xlsx", TABS)
    sync(book, Config(duplicates=DuplicateSettings(enabled=False)), as_of=AS_OF)
    assert "Duplicates" not in book.read().tabs


def test_spanish_titles_headers_and_reasons(tmp_path):
    book = xlsx_book(tmp_path / "crm.xlsx", TABS)
    sync(book, Config(locale="es"), as_of=AS_OF)
    rows = duplicates(book, "Duplicados")
    assert rows[0] == ["Grupo", "Puntuación", "Motivos", "Pestaña", "ID", "Nombre", "Correo", "Teléfono", "Empresa",
                       "Creado", "Conservar", "Fusionar", "No son duplicados"]
    reasons = {r[0]: r[2] for r in rows[1:]}
    assert reasons[ANA] == "mismo correo tras normalizarlo; mismo nombre"
    assert reasons[GLOBEX] == "mismo nombre de empresa, mismo dominio"
    assert reasons[EVA] == "mismo correo; mismo teléfono; mismo nombre"



def google_book(key: str) -> GoogleSheetsWorkbook:
    conn = connect(None, policy=RetryPolicy(attempts=2, sleep=lambda s: None))
    return GoogleSheetsWorkbook(conn.client, key, "sheetcrm@project.iam.gserviceaccount.com", **header_tests(Config()))


def test_google_writes_the_same_tab_and_carries_ticks(emu, tmp_path):
    xlsx = xlsx_book(tmp_path / "crm.xlsx", TABS)
    sync(xlsx, Config(), as_of=AS_OF)
    serial = {k: [[(v - dt.date(1899, 12, 30)).days if isinstance(v, dt.date) else v for v in row] for row in rows]
              for k, rows in TABS.items()}
    google = google_book(emu.create_spreadsheet("CRM", serial))
    first = sync(google, Config(), as_of=AS_OF)
    assert first.cells_written.get("Duplicates") == sync_written(xlsx_book(tmp_path / "again.xlsx", TABS))
    mine, theirs = duplicates(google), duplicates(xlsx)
    # Dates come back from Google as serial numbers; everything else cell for cell.
    assert [r[:9] + r[10:] for r in mine] == [r[:9] + r[10:] for r in theirs]
    assert sync(google, Config(), as_of=AS_OF).result is None
    rows = duplicates(google)
    tick(google, row_of(rows, ANA, "LEAD-0003"), 11, True)
    assert sync(google, Config(), as_of=AS_OF).result is None   # a tick is the person's: nothing to write
    tab = read_duplicates(google.read(), "en")
    assert [(r.group, r.id) for r in tab.rows if r.keep] == [(ANA, "LEAD-0003")]


def sync_written(book) -> int:
    return sync(book, Config(), as_of=AS_OF).cells_written["Duplicates"]


def test_score_shows_as_a_percent_and_created_as_a_date_in_the_xlsx(tmp_path):
    path = tmp_path / "crm.xlsx"
    sync(xlsx_book(path, TABS), Config(), as_of=AS_OF)
    ws = openpyxl.load_workbook(path)["Duplicates"]
    assert [ws.cell(1, c).value for c in (2, 10)] == ["Score", "Created"]
    scored = [r for r in range(2, ws.max_row + 1) if ws.cell(r, 2).value is not None]
    dated = [r for r in scored if ws.cell(r, 10).value is not None]
    assert len(scored) >= 6 and dated
    for r in scored:
        assert 0 < ws.cell(r, 2).value <= 1 and ws.cell(r, 2).number_format == "0.0%"
    for r in dated:
        assert ws.cell(r, 10).number_format == "yyyy-mm-dd"


def test_a_duplicates_rows_cells_read_as_the_dict_of_its_cells_without_one(tmp_path):
    """Each row's cells by key are a view of the row as the grid holds it (`RowCells`), not a
    dict per row: they read exactly as the dict did, None past a short row's end, and a key
    the tab has no column for is not there."""
    book = xlsx_book(tmp_path / "crm.xlsx", TABS)
    sync(book, Config(), as_of=AS_OF)
    snapshot = book.read()
    tab = read_duplicates(snapshot, "en")
    grid = snapshot.tabs[tab.title]
    assert tab.rows
    for row in tab.rows:
        cells = grid.rows[row.row - 1]
        as_dict = {k: cells[c] if c < len(cells) else None for k, c in tab.columns.items()}
        assert row.cells == as_dict and dict(row.cells) == as_dict and len(row.cells) == len(as_dict)
        assert row.cells.get("no such key") is None and "no such key" not in row.cells
    short = grid.rows[tab.rows[0].row - 1]
    del short[max(tab.columns.values()):]  # a row that ends before its last column
    assert read_duplicates(snapshot, "en").rows[0].cells[max(tab.columns, key=tab.columns.get)] is None


def test_a_bad_cell_the_rules_do_not_compare_hides_no_duplicate_and_its_merge_waits_for_the_fix(tmp_path):
    """Two accounts that are one company vanished from the tab, with no word, when one had an
    unrelated bad cell (Employees "many"). They are proposed by the cells that read; a Merge
    ticked on them is refused at its cell (`merge_row_errors`: a merge never fills a survivor
    from, or keeps, a row read in part), nothing merged; once the cell is fixed they merge."""
    accounts = [["ID", "Name", "Domain", "Employees"], ["ACC-0001", "Acme Inc", "acme.com", 10],
                ["ACC-0002", "ACME, Inc.", "acme.com", "many"], ["ACC-0003", "Other", "other.com", 5]]
    book = xlsx_book(tmp_path / "crm.xlsx", {"Accounts": accounts})
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    acme = group_key(["ACC-0001", "ACC-0002"])
    assert [(r[0], r[4]) for r in rows[1:]] == [(acme, "ACC-0001"), (acme, "ACC-0002")]
    assert rows[2][2] == "same company name, same domain"
    tick(book, row_of(rows, acme, "ACC-0002"), 12)
    out = sync(book, Config(), as_of=AS_OF)
    [refused] = [i for i in out.crm.report.issues if i.code.startswith("merge_")]
    assert (refused.code, refused.tab, refused.row, refused.column) == (
        "merge_row_errors", "Duplicates", row_of(rows, acme, "ACC-0002"), "L")
    assert "ACC-0002 (row 3) of Accounts" in refused.message and "cannot read" in refused.message
    assert [r[0] for r in book.read().tabs["Accounts"].rows[1:]] == ["ACC-0001", "ACC-0002", "ACC-0003"]
    assert "Merged" not in book.read().tabs
    # The group stays as the person left it, tick included.
    assert [(r[4], r[11]) for r in duplicates(book)[1:]] == [("ACC-0001", None), ("ACC-0002", "x")]
    book.write(Plan(writes=[CellWrite("Accounts", 3, 4, 12)]))  # the person fixes the cell
    out = sync(book, Config(), as_of=AS_OF)
    assert not [i for i in out.crm.report.issues if i.code.startswith("merge_")]
    assert [r[0] for r in book.read().tabs["Accounts"].rows[1:] if r[0]] == ["ACC-0001", "ACC-0003"]


def test_a_record_of_which_nothing_reads_is_said_to_be_left_out_of_the_duplicate_check(tmp_path):
    """A row whose required Name cannot be read is no record to compare (its readable cells make
    none): a `left_out` warning on its tab names it, where the duplicates step leaves it out."""
    accounts = [["ID", "Name", "Domain"], ["ACC-0001", "Acme", "acme.com"], ["ACC-0002", "=1/0", "acme.com"]]
    book = xlsx_book(tmp_path / "crm.xlsx", {"Accounts": accounts})
    out = sync(book, Config(), as_of=AS_OF)
    said = [i.message for i in out.crm.report.issues if i.code == "left_out" and i.tab == "Accounts"]
    assert "1 row with errors in Accounts is left out of the duplicate check until fixed: ACC-0002 (row 3)." in said


def test_a_tab_missing_a_required_column_names_no_row_left_out_by_an_id_it_has_not_got(tmp_path):
    """Without its Name column no row of Accounts is read, which its `missing_column` error says:
    the duplicate check listed every row as left out, "ACC-0002 (row 2)" by the ID the same sync
    hands out, as if the row held it."""
    book = xlsx_book(tmp_path / "crm.xlsx", {"Accounts": [["ID", "Country"], ["", "ES"], ["ACC-0001", "FR"]]})
    out = sync(book, Config(), as_of=AS_OF)
    said = [(i.code, i.row) for i in out.crm.report.issues if i.tab == "Accounts"]
    assert said == [("missing_column", 1)]


def test_a_phone_of_a_row_whose_country_is_typed_short_is_read_in_that_country_never_the_configs(tmp_path):
    """A Mexican team ([duplicates] country = "MX") with a US lead whose País says "EEUU": the
    country was not recognised, so "(415) 555-0199" was read as Mexican and the Duplicates tab
    showed +524155550199 beside the contact's +14155550199 (the same number), the pair joined by
    name alone. Now "EEUU" is the US; and a País naming no known country leaves such a phone out
    rather than read it in the config's country."""
    tabs = {"Cuentas": [["ID", "Nombre", "País"], ["ACC-0001", "Initech", "Estados Unidos"]],
            "Contactos": [["ID", "Cuenta", "Nombre", "Apellido", "Correo", "Teléfono"],
                          ["CON-0001", "ACC-0001", "Bo", "Li", None, "+1 415 555 0199"]],
            "Leads": [["ID", "Nombre", "Apellido", "Empresa", "Correo", "Teléfono", "Estado", "País", "Creado"],
                      ["LEAD-0001", "Bo", "Li", "Initech", None, "(415) 555-0199", "Nuevo", "EEUU", "2026-11-03"],
                      ["LEAD-0002", "Eva", "Sol", "Globex", None, "(415) 555-0123", "Nuevo", "Narnia",
                       "2026-11-03"],
                      ["LEAD-0003", "Eva", "Sol", "Globex", None, "+52 415 555 0123", "Nuevo", "México",
                       "2026-11-03"]]}
    book = xlsx_book(tmp_path / "crm.xlsx", tabs)
    config = Config(locale="es", duplicates=DuplicateSettings(country="MX"))
    sync(book, config, as_of=AS_OF)
    rows = duplicates(book, "Duplicados")
    assert [(r[4], r[7], r[2]) for r in rows[1:]] == [
        ("LEAD-0001", "+14155550199", "mismo teléfono; mismo nombre; nombre de empresa similar al 100 %"),
        ("CON-0001", "+14155550199", "mismo teléfono; mismo nombre; nombre de empresa similar al 100 %"),
        ("LEAD-0002", "(415) 555-0123", "mismo nombre; nombre de empresa similar al 100 %"),
        ("LEAD-0003", "+524155550123", "mismo nombre; nombre de empresa similar al 100 %")]



@pytest.mark.parametrize("when", ["before the re-read", "before the batch"])
def test_google_a_column_inserted_while_a_sync_writes_never_moves_a_tick_under_another_header(emu, when):
    """A person inserts a column on the Duplicates tab while a sync that moves its rows (a
    third Jorge Vidal joins the group above Eva's) is writing it. sheetcrm writes its own tabs
    by position: the Not duplicates tick carried to its row's new place landed one column to
    the left of its header, under Merge, and a tick left behind sat under another group's Not
    duplicates. Now the header row rides with the write's key re-read (a column pin guards the
    instant after it) and the tab is left whole, said in one line; the next sync rewrites it."""
    serial = {k: [[(v - dt.date(1899, 12, 30)).days if isinstance(v, dt.date) else v for v in row] for row in rows]
              for k, rows in TABS.items()}
    key = emu.create_spreadsheet("CRM", serial)
    google = google_book(key)
    sync(google, Config(), as_of=AS_OF)
    emu.set_values(key, "Leads!A6", [["LEAD-0005", "Jorge", "Vidal", "Acme", "jorge@acme.com", "", "New", "2026-01-02"]])
    sync(google, Config(), as_of=AS_OF)  # the tab rewritten: its columns pinned
    tick(google, row_of(duplicates(google), EVA, "CON-0001"), 13, True)
    emu.set_values(key, "Leads!A7", [["LEAD-0006", "Jorge", "Vidal", "Acme", "jorge@acme.com", "", "New", "2026-01-03"]])
    sid = emu.sheet_id(key, "Duplicates")

    def insert(e):
        e.apply(key, [{"insertDimension": {"range": {"sheetId": sid, "dimension": "COLUMNS", "startIndex": 2,
                                                     "endIndex": 3}}}])

    if when == "before the batch":
        emu.before_next(":batchUpdate", insert)
    else:  # the sync's read is one values:batchGet, the write's key re-read the next
        emu.before_next("values:batchGet", lambda e: e.before_next("values:batchGet", insert))

    def ticks():
        tab = read_duplicates(google.read(), "en")
        return ([(r.group, r.id) for r in tab.rows if r.merge], [(r.group, r.id) for r in tab.rows if r.not_duplicates])

    out = sync(google, Config(), as_of=AS_OF)
    assert ticks() == ([], [(EVA, "CON-0001")])
    assert any(w.startswith("Duplicates: a column was inserted") for w in out.result.warnings)
    sync(google, Config(), as_of=AS_OF)
    assert ticks() == ([], [(EVA, "CON-0001")])


def _insert_notes_column(book, emu=None, key=None) -> None:
    """A person's edit between two syncs: a Notes column inserted before Reasons (column C), a
    note typed on Globex's ACC-0002 row, and a third record that puts a new group above Globex's."""
    rows = duplicates(book)
    at = row_of(rows, GLOBEX, "ACC-0002")
    if emu is None:
        wb = openpyxl.load_workbook(book.path)
        ws = wb["Duplicates"]
        ws.insert_cols(3)
        ws["C1"], ws[f"C{at}"] = "Notes", "call Globex first"
        wb["Leads"].append(["LEAD-0005", "Jorge", "Vidal", "Acme", "Jorge@Acme.com", "", "New", dt.date(2026, 3, 1)])
        wb.save(book.path)
        return
    sid = emu.sheet_id(key, "Duplicates")
    emu.apply(key, [{"insertDimension": {"range": {"sheetId": sid, "dimension": "COLUMNS", "startIndex": 2,
                                                   "endIndex": 3}}}])
    emu.set_values(key, "Duplicates!C1", [["Notes"]])
    emu.set_values(key, f"Duplicates!C{at}", [["call Globex first"]])
    emu.set_values(key, "Leads!A6", [["LEAD-0005", "Jorge", "Vidal", "Acme", "Jorge@Acme.com", "", "New", "2026-03-01"]])


@pytest.mark.parametrize("backend", ["xlsx", "google"])
def test_a_column_inserted_on_the_duplicates_tab_between_syncs_keeps_its_header_cells_and_the_ticks(
        backend, request, tmp_path):
    """A person inserts a Notes column among the Duplicates tab's columns between two syncs. The
    read finds every column by its header, but the write put sheetcrm's columns back by
    position: Score over the Notes header, their note lost, a second Not duplicates header after
    the last column and the Not duplicates tick left behind on a row of no group. Now the tab is
    written where its headers are, their column and note kept beside their group's row."""
    if backend == "xlsx":
        book, emu, key = xlsx_book(tmp_path / "crm.xlsx", TABS), None, None
    else:
        emu = request.getfixturevalue("emu")
        serial = {k: [[(v - dt.date(1899, 12, 30)).days if isinstance(v, dt.date) else v for v in row]
                      for row in rows] for k, rows in TABS.items()}
        key = emu.create_spreadsheet("CRM", serial)
        book = google_book(key)
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    tick(book, row_of(rows, GLOBEX, "ACC-0002"), 11, "x")                # Keep
    tick(book, row_of(rows, EVA, "LEAD-0001"), 13, True)                 # Not duplicates
    _insert_notes_column(book, emu, key)
    sync(book, Config(), as_of=AS_OF)
    rows = [r + [None] * (14 - len(r)) for r in duplicates(book)]
    assert rows[0] == ["Group", "Score", "Notes", "Reasons", "Tab", "ID", "Name", "Email", "Phone", "Company",
                       "Created", "Keep", "Merge", "Not duplicates"]
    by = {(r[0], r[5]): r for r in rows[1:] if r[0]}
    jorge = group_key(["LEAD-0004", "LEAD-0005"])
    assert set(by) >= {(jorge, "LEAD-0004"), (GLOBEX, "ACC-0002"), (EVA, "LEAD-0001")}
    assert all(r[0] in (ANA, EVA, GLOBEX, jorge) for r in rows[1:])   # no row of stray cells
    assert by[GLOBEX, "ACC-0002"][2] == "call Globex first" and by[GLOBEX, "ACC-0002"][11] == "x"
    assert by[GLOBEX, "ACC-0002"][3] == "same company name, same domain"
    assert [r[2] for r in rows[1:] if r[2] is not None] == ["call Globex first"]
    assert by[EVA, "LEAD-0001"][13] is True and [r[13] for r in rows[1:] if r[13] is not None] == [True]
    tab = read_duplicates(book.read(), "en")
    assert [(r.group, r.id) for r in tab.rows if r.keep] == [(GLOBEX, "ACC-0002")]
    assert sync(book, Config(), as_of=AS_OF).result is None


@pytest.mark.parametrize("backend", ["xlsx", "google"])
def test_a_tick_columns_header_retyped_leaves_the_tab_and_its_ticks_as_they_are_and_merges_nothing(
        backend, request, tmp_path):
    """A person retypes the Not duplicates header ("Not duplicates?") of a tab whose Eva row is
    ticked Not duplicates and Globex's Merge. The read could not place that column, so the tick
    went unread, the rewrite by position put the header back and wrote the row over: the tick
    lost without a word and the group proposed again. Now the tab is left as it is, said once at
    row 1, and no tick of it merges until the header is back (a Keep or Not duplicates unseen
    would pick the wrong survivor or merge a group ruled out)."""
    if backend == "xlsx":
        book = xlsx_book(tmp_path / "crm.xlsx", TABS)
    else:
        emu = request.getfixturevalue("emu")
        serial = {k: [[(v - dt.date(1899, 12, 30)).days if isinstance(v, dt.date) else v for v in row]
                      for row in rows] for k, rows in TABS.items()}
        book = google_book(emu.create_spreadsheet("CRM", serial))
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    tick(book, row_of(rows, EVA, "LEAD-0001"), 13, True)                 # Not duplicates
    tick(book, row_of(rows, GLOBEX, "ACC-0002"), 12, True)               # Merge
    tick(book, 1, 13, "Not duplicates?")
    left = duplicates(book)
    out = sync(book, Config(), as_of=AS_OF)
    assert duplicates(book) == left
    assert "ACC-0002" in [r[0] for r in book.read().tabs["Accounts"].rows]   # not merged
    said = [i for i in out.crm.report.issues if i.code == "duplicates_column_gone"]
    assert [(i.tab, i.row) for i in said] == [("Duplicates", 1)] and '"Not duplicates"' in said[0].message
    es = sync(book, Config(locale="es"), as_of=AS_OF, dry_run=True)
    [gone] = [i for i in es.crm.report.issues if i.code == "duplicates_column_gone"]
    assert gone.message.startswith("La fila 1 no tiene la columna") and "sheetcrm no fusiona nada" in gone.message
    tick(book, 1, 13, "Not duplicates")                                  # put back: the tick reads again
    sync(book, Config(), as_of=AS_OF)
    tab = read_duplicates(book.read(), "en")
    assert [(r.group, r.id) for r in tab.rows if r.not_duplicates] == [(EVA, "LEAD-0001")]


@pytest.mark.parametrize("backend", ["xlsx", "google"])
def test_a_duplicates_tab_sorted_header_and_all_keeps_every_tick_with_its_group(backend, request, tmp_path):
    """A person sorts the whole Duplicates tab by Group, its header row with it ("Group" sorts
    after "DUP-..."). Read from row 1 alone, no row was found, and the rewrite put the header
    back and each row without its ticks: Globex's Keep and Eva's Not duplicates lost without a
    word, Eva's pair proposed again. Now the header row is found where the sort left it."""
    if backend == "xlsx":
        book, emu = xlsx_book(tmp_path / "crm.xlsx", TABS), None
    else:
        emu = request.getfixturevalue("emu")
        serial = {k: [[(v - dt.date(1899, 12, 30)).days if isinstance(v, dt.date) else v for v in row]
                      for row in rows] for k, rows in TABS.items()}
        key = emu.create_spreadsheet("CRM", serial)
        book = google_book(key)
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    tick(book, row_of(rows, GLOBEX, "ACC-0002"), 11, "x")                # Keep
    tick(book, row_of(rows, EVA, "LEAD-0001"), 13, True)                 # Not duplicates
    if emu is None:
        wb = openpyxl.load_workbook(book.path)
        ws = wb["Duplicates"]
        grid = sorted(([c.value for c in r] for r in ws.iter_rows()), key=lambda r: str(r[0]))
        for r, row in enumerate(grid, 1):
            for c, v in enumerate(row, 1):
                ws.cell(r, c).value = v
        wb.save(book.path)
    else:
        emu.sort_rows(key, "Duplicates", 0, header_rows=0)
    assert duplicates(book)[-1][0] == "Group"
    tab = read_duplicates(book.read(), "en")
    assert [(r.group, r.id) for r in tab.rows if r.keep] == [(GLOBEX, "ACC-0002")]
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    assert rows[0][0] == "Group" and [r[0] for r in rows[1:]].count(EVA) == 2
    assert rows[row_of(rows, GLOBEX, "ACC-0002") - 1][10] == "x"
    assert rows[row_of(rows, EVA, "LEAD-0001") - 1][12] is True
    assert [r[10:] for r in rows[1:] if any(v is not None for v in r[10:])] == [["x", None, None], [None, None, True]]
    assert rows[-1][0] == EVA  # suppressed: at the bottom, as before the sort
    assert sync(book, Config(), as_of=AS_OF).result is None


def test_a_duplicates_tab_whose_header_row_was_deleted_is_left_with_its_ticks_and_said(tmp_path):
    """The header row deleted: nothing tells which column holds a tick, so the tab is left as
    it is (it was rewritten over every tick), nothing of it merged, said at row 1."""
    book = xlsx_book(tmp_path / "crm.xlsx", TABS)
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    tick(book, row_of(rows, EVA, "LEAD-0001"), 13, True)
    tick(book, row_of(rows, GLOBEX, "ACC-0002"), 12, True)
    wb = openpyxl.load_workbook(book.path)
    wb["Duplicates"].delete_rows(1)
    wb.save(book.path)
    left = duplicates(book)
    out = sync(book, Config(), as_of=AS_OF)
    assert duplicates(book) == left
    assert "ACC-0002" in [r[0] for r in book.read().tabs["Accounts"].rows]
    assert [(i.tab, i.row) for i in out.crm.report.issues if i.code == "duplicates_column_gone"] == [("Duplicates", 1)]


def test_a_keep_tick_stays_with_its_record_when_its_group_gains_or_loses_a_record(tmp_path):
    """Keep ticked on Globex's ACC-0002, then a third Globex account arrives: the group's name
    (a digest of its IDs) changes, and the tick, carried by (Group, ID), was dropped from the
    rewritten tab without a word (a later Merge would keep the oldest instead). Now it stays
    beside ACC-0002 in the group it is in now, and again when the third one leaves."""
    book = xlsx_book(tmp_path / "crm.xlsx", TABS)
    sync(book, Config(), as_of=AS_OF)
    tick(book, row_of(duplicates(book), GLOBEX, "ACC-0002"), 11, "x")
    wb = openpyxl.load_workbook(book.path)
    wb["Accounts"].append(["ACC-0004", "Globex", "www.globex.com", "Spain", dt.date(2025, 6, 1)])
    wb.save(book.path)
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    bigger = group_key(["ACC-0001", "ACC-0002", "ACC-0004"])
    assert [r[4] for r in rows[1:] if r[0] == bigger] == ["ACC-0001", "ACC-0002", "ACC-0004"]
    assert [(r[0], r[4], r[10:]) for r in rows[1:] if any(v is not None for v in r[10:])] == [
        (bigger, "ACC-0002", ["x", None, None])]
    wb = openpyxl.load_workbook(book.path)
    wb["Accounts"].delete_rows(5)                                        # ACC-0004 gone again
    wb.save(book.path)
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    assert [(r[0], r[4], r[10:]) for r in rows[1:] if any(v is not None for v in r[10:])] == [
        (GLOBEX, "ACC-0002", ["x", None, None])]
    assert sync(book, Config(), as_of=AS_OF).result is None


def test_a_row_deleted_from_a_suppressed_group_leaves_it_suppressed_and_listed_once(tmp_path):
    """Eva's pair is ticked Not duplicates on LEAD-0001's row; a person deletes CON-0001's row
    of it. The ruling then named LEAD-0001 alone, so the pair was proposed again above it with
    the Not duplicates tick carried along: LEAD-0001 listed twice, the group in two places, for
    good. The group found again is named as the suppressed one (the very same records): it
    stays ruled out, at the bottom, listed once."""
    book = xlsx_book(tmp_path / "crm.xlsx", TABS)
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    tick(book, row_of(rows, EVA, "LEAD-0001"), 13, True)
    sync(book, Config(), as_of=AS_OF)
    wb = openpyxl.load_workbook(book.path)
    wb["Duplicates"].delete_rows(row_of(duplicates(book), EVA, "CON-0001"))
    wb.save(book.path)
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    assert [(r[0], r[4]) for r in rows[1:] if r[0] == EVA] == [(EVA, "LEAD-0001")]
    assert rows[-1][0] == EVA and rows[-1][12] is True
    assert sync(book, Config(), as_of=AS_OF).result is None


def test_a_column_inserted_among_headers_of_both_languages_is_still_written_where_they_say(tmp_path):
    """The same Notes column inserted, on a tab whose Not duplicates header a person retyped in
    Spanish ("No son duplicados", read as the same column). The header row placed each column
    only in one language, so the tab was written by position again: the Notes header and note
    overwritten, the tick left behind. Now sheetcrm's columns go where the read found them."""
    book = xlsx_book(tmp_path / "crm.xlsx", TABS)
    sync(book, Config(), as_of=AS_OF)
    tick(book, row_of(duplicates(book), EVA, "LEAD-0001"), 13, True)
    _insert_notes_column(book)
    wb = openpyxl.load_workbook(book.path)
    wb["Duplicates"]["N1"] = "No son duplicados"
    wb.save(book.path)
    sync(book, Config(), as_of=AS_OF)
    rows = [r + [None] * (14 - len(r)) for r in duplicates(book)]
    assert rows[0][:4] == ["Group", "Score", "Notes", "Reasons"] and len(book.read().tabs["Duplicates"].rows[0]) == 14
    by = {(r[0], r[5]): r for r in rows[1:] if r[0]}
    assert by[GLOBEX, "ACC-0002"][2] == "call Globex first"
    assert by[EVA, "LEAD-0001"][13] is True and [r[13] for r in rows[1:] if r[13] is not None] == [True]


def test_a_merge_of_a_group_that_rejoins_records_ruled_not_duplicates_is_refused(tmp_path):
    """Ana's two leads are ticked Not duplicates. A third Ana López arrives, alike to each, and
    the rules join all three in a new group (the pair ruled out comes back through her). A
    Merge ticked there merged LEAD-0002 and LEAD-0003, which a person said are not one, with no
    word. Now it is refused at the Merge cell, naming the group that rules them apart."""
    book = xlsx_book(tmp_path / "crm.xlsx", TABS)
    sync(book, Config(), as_of=AS_OF)
    tick(book, row_of(duplicates(book), ANA, "LEAD-0002"), 13, True)   # Not duplicates
    wb = openpyxl.load_workbook(book.path)
    wb["Leads"]["F4"] = "+34 600 111 222"                                # LEAD-0003's phone
    wb["Leads"].append(["LEAD-0005", "Ana", "Lopez", "", "ana.lopez@gmail.com", "+34 600 111 222", "New",
                        dt.date(2026, 3, 1)])
    wb.save(book.path)
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    rejoined = group_key(["LEAD-0002", "LEAD-0003", "LEAD-0005"])
    assert [r[4] for r in rows[1:] if r[0] == rejoined] == ["LEAD-0003", "LEAD-0002", "LEAD-0005"]
    at = row_of(rows, rejoined, "LEAD-0005")
    tick(book, at, 12, "x")                                              # Merge
    out = sync(book, Config(), as_of=AS_OF)
    assert [r[0] for r in book.read().tabs["Leads"].rows[1:6]] == [
        "LEAD-0001", "LEAD-0002", "LEAD-0003", "LEAD-0004", "LEAD-0005"]
    [said] = [i for i in out.crm.report.issues if i.code == "merge_ruled_out"]
    assert (said.tab, said.row, said.column) == ("Duplicates", at, "L")
    assert ANA in said.message and "LEAD-0002, LEAD-0003" in said.message
    assert duplicates(book)[at - 1][11] == "x"                           # left as the person left it


@pytest.mark.parametrize("reverse", [False, True])
def test_an_email_block_is_grouped_the_same_whatever_the_leads_order(tmp_path, reverse):
    """Ana's LEAD-0002 and LEAD-0003 are ticked Not duplicates; LEAD-0005 arrives with
    LEAD-0003's very email. The block was joined as a star from its first row: LEAD-0005 was
    proposed with LEAD-0002 only (LEAD-0003's pair with the first ruled out, it joined nothing),
    and with the Leads tab sorted the other way the group was {LEAD-0003, LEAD-0005}: a sort
    renamed the group, its ticks with it. Now the group is the three in either order (a Merge
    of it is refused: merge_ruled_out)."""
    book = xlsx_book(tmp_path / "crm.xlsx", TABS)
    sync(book, Config(), as_of=AS_OF)
    tick(book, row_of(duplicates(book), ANA, "LEAD-0002"), 13, True)   # Not duplicates
    wb = openpyxl.load_workbook(book.path)
    leads = wb["Leads"]
    leads.append(["LEAD-0005", "Ana", "Lopez", "", "analopez+web@gmail.com", "", "New", dt.date(2026, 3, 1)])
    if reverse:
        rows = [[c.value for c in row] for row in leads.iter_rows(min_row=2)]
        for r, values in enumerate(reversed(rows), start=2):
            for c, value in enumerate(values, start=1):
                leads.cell(r, c).value = value
    wb.save(book.path)
    sync(book, Config(), as_of=AS_OF)
    rows = duplicates(book)
    three = group_key(["LEAD-0002", "LEAD-0003", "LEAD-0005"])
    assert sorted(r[4] for r in rows[1:] if r[0] == three) == ["LEAD-0002", "LEAD-0003", "LEAD-0005"]
    assert {r[0] for r in rows[1:] if r[4] == "LEAD-0005"} == {three}
    at = row_of(rows, three, "LEAD-0005")
    tick(book, at, 12, "x")                                              # Merge
    out = sync(book, Config(), as_of=AS_OF)
    assert [i.row for i in out.crm.report.issues if i.code == "merge_ruled_out"] == [at]
    assert sorted(r[0] for r in book.read().tabs["Leads"].rows[1:6]) == [
        "LEAD-0001", "LEAD-0002", "LEAD-0003", "LEAD-0004", "LEAD-0005"]
