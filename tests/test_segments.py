"""Segments (issue 15): the condition grammar's lists in [brackets], the KPIs against hand-computed
values, the CSV a mailing tool gets, and real syncs on a real .xlsx file and on the Sheets
emulator (gspread over HTTP): the Segments column and the Segment Summary tab, a bad definition
reported at its cell or config key, the second sync planning nothing, every person's cell kept;
and `sheetcrm segment` as a subprocess."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys
from decimal import Decimal

import openpyxl
import pytest

from sheetcrm.config import Config
from sheetcrm.crm.conditions import ConditionError, parse_condition
from sheetcrm.crm.segments import (Deal, Definition, Reach, csv_text, parse_segments, safe_cell, segment_kpis)
from sheetcrm.i18n import using
from sheetcrm.sync import sync
from books import xlsx, xlsx_book
from test_gsheets import Traced

AS_OF = dt.date(2026, 12, 1)


# -- the grammar -----------------------------------------------------------------------------------

def _test(text: str, values: dict, locale: str = "en") -> bool:
    return parse_condition(text, locale).test(lambda relation, column: values.get(column))


def test_a_list_in_brackets_reads_as_one_in_parentheses_in_both_languages():
    text = "Status = Customer AND Industry in [Retail, Food] AND Employees >= 50"
    assert _test(text, {"Status": "Customer", "Industry": "food", "Employees": 50})
    assert not _test(text, {"Status": "Customer", "Industry": "food", "Employees": 49})
    assert not _test(text, {"Status": "Customer", "Industry": "Software", "Employees": 500})
    spanish = "Estado = Customer y Sector en [Retail; Alimentación] y Empleados ≥ 50"
    assert _test(spanish, {"Estado": "Customer", "Sector": "alimentacion", "Empleados": 60}, "es")
    assert _test("Industry not in [Retail, Food]", {"Industry": "Software"})
    assert not _test("Industry not in [Retail, Food]", {"Industry": "Retail"})


@pytest.mark.parametrize("text, message, position", [
    ("Industry in [Retail, Food", 'this "[" is not closed', 12),
    ("Industry in []", "the list is empty", 13),
    ("Industry in [Retail]]", 'this "]" closes no "["', 20),
])
def test_a_broken_bracket_list_says_where(text, message, position):
    with using("en"), pytest.raises(ConditionError) as e:
        parse_condition(text, "en")
    assert e.value.message == message and e.value.position == position


# -- definitions -----------------------------------------------------------------------------------

COLUMNS = {"account": {"industry": "industry", "status": "status"}, "contact": {"email": "email"},
           "lead": {"source": "source"}}
LABELS = {"account": {"industry": "Industry", "status": "Status"}, "contact": {"email": "Email"},
          "lead": {"source": "Source"}}
WHERE = {"name": ("A", "Name"), "record": ("B", "Record"), "conditions": ("C", "Conditions")}


def test_definitions_merge_sorted_and_each_problem_is_at_its_cell():
    defs = [Definition("Retail", "accounts", "Industry = Retail", "sheetcrm.toml", None,
                       {"name": (None, "segments.Retail"), "conditions": (None, "segments.Retail.when")}),
            Definition("retail", "leads", "Source = Web", "Segments", 2, WHERE),      # the same name, folded
            Definition("Alpha", "cuentas", "Status = Cliente", "Segments", 3, WHERE),  # Spanish record word
            Definition("B, C", "leads", "Source = Web", "Segments", 4, WHERE),
            Definition("Deals", "opportunities", "Amount > 5", "Segments", 5, WHERE),
            Definition("Web", "leads", "Source >", "Segments", 6, WHERE),
            Definition("Mail", "contacts", "account.Owner = Sam or Phone is empty", "Segments", 7, WHERE),
            Definition("Empty", "leads", " ", "Segments", 8, WHERE)]
    with using("en"):
        segments, issues = parse_segments(defs, COLUMNS, LABELS, "en")
    assert [(s.name, s.kind) for s in segments] == [("Alpha", "account"), ("Retail", "account")]
    assert [(i.tab, i.row, i.column, i.code) for i in issues] == [
        ("Segments", 2, "A", "segment_duplicate"), ("Segments", 4, "A", "segment_bad_name"),
        ("Segments", 5, "B", "segment_bad_record"), ("Segments", 6, "C", "segment_bad_condition"),
        ("Segments", 7, "C", "segment_unknown_column"), ("Segments", 8, "C", "segment_no_conditions")]
    assert "segments.Retail" in issues[0].hint
    assert issues[4].message == 'the contacts have no column "Phone"'  # sorted: account.Owner is checked after
    assert all(i.severity == "error" for i in issues)


def test_a_bad_config_condition_is_reported_at_its_key():
    config = Config.model_validate({"segments": {"Big": {"record": "accounts", "when": "Employees >> 5"}}})
    from sheetcrm.crm.segments import from_config
    with using("es"):
        _, issues = parse_segments(from_config(config.segments), COLUMNS, LABELS, "es")
    (issue,) = issues
    assert (issue.tab, issue.row, issue.header, issue.code) == ("sheetcrm.toml", None, "segments.Big.when",
                                                                "segment_bad_condition")
    assert issue.message.startswith("no se puede leer la condición")


# -- KPIs, by hand ---------------------------------------------------------------------------------

def test_kpis_count_each_account_and_deal_once_and_leave_out_what_has_no_amount():
    deals = {1: Deal(1, "open", Decimal("1000")), 2: Deal(2, "won", Decimal("3300")),  # 3000 EUR at 1.1
             3: Deal(3, "won", Decimal("250")), 4: Deal(4, "lost", Decimal("9999")),
             5: Deal(5, "open", None),                                                # no amount: counts nothing
             6: Deal(6, "open", Decimal("700"), in_pipeline=False)}                   # forecast as Omitted
    reaches = [Reach(frozenset({"A"}), frozenset({1, 2, 4})),
               Reach(frozenset({"A"}), frozenset({1, 2, 4})),   # a second contact of the same account
               Reach(frozenset({"B"}), frozenset({3, 5, 6})),
               Reach(frozenset({"C"}), frozenset()),
               Reach()]                                          # a lead not converted
    k = segment_kpis(reaches, deals, churned={"B", "Z"})
    assert (k.members, k.accounts, k.pipeline, k.won_revenue, k.churned) == (5, 3, Decimal("1000"),
                                                                            Decimal("3550"), 1)
    assert k.churn == Decimal(1) / 3 * 100
    assert segment_kpis([Reach()], deals, {"B"}).churn is None  # no account reached: no rate, not 0 %



def test_the_json_kpis_write_money_as_plain_decimal_text():
    """A zero-amount deal in a currency worth 0.0000393 of the base (VND in USD) summed to
    Decimal("0E-7"), which the JSON wrote as "0E-7": README promises plain decimal text."""
    deals = {1: Deal(1, "open", Decimal(0) * Decimal("0.0000393")),
             2: Deal(2, "won", Decimal("0.0000393") * Decimal(1000000))}
    k = segment_kpis([Reach(frozenset({"A"}), frozenset({1, 2}))], deals, set()).to_json()
    assert (k["pipeline"], k["won_revenue"], k["churn"]) == ("0.0000000", "39.3000000", 0.0)

# -- the CSV ---------------------------------------------------------------------------------------

def test_csv_cells_that_would_run_as_formulas_are_defused():
    assert [safe_cell(v) for v in ("=HYPERLINK(\"x\")", "+34 600", "-1", "@SUM(A1)", "ok", None, -5,
                                   dt.date(2026, 1, 2), "\tx", "a\x1b[31m")] == [
        "'=HYPERLINK(\"x\")", "'+34 600", "-1", "'@SUM(A1)", "ok", "", "-5", "2026-01-02", "\\u0009x",
        "a\\u001b[31m"]
    text = csv_text(["ID", "Title"], [["CON-1", 'say "hi", =2+3'], ["CON-2", "=cmd|' /C calc'!A0"]])
    assert list(csv.reader(io.StringIO(text))) == [["ID", "Title"], ["CON-1", 'say "hi", =2+3'],
                                                   ["CON-2", "'=cmd|' /C calc'!A0"]]



def test_a_tools_csv_keeps_phones_numbers_and_line_breaks_as_the_cells_hold_them():
    """csv-plain, for a mailing tool, wrote every international phone as "'+34 600 123 456" (the
    tool stored the apostrophe: an SMS tool refuses it), a negative number "-5" as "'-5" in both
    CSVs (a spreadsheet showed the text "'-5"), and a line break typed in a cell (Alt+Enter) as
    the six characters "\\u000a". A text of digits and phone punctuation runs nothing; the CSV
    quotes a line break. What could run still goes out behind the apostrophe."""
    cells = ["+34 600 123 456", "+1 (555) 010-0100", "-5", "Acme\nEurope", "=HYPERLINK(\"x\")", "+1 555 x",
             "-2+A1", "@SUM(1)", "\n=1+1", "a\rb"]
    plain = list(csv.reader(io.StringIO(csv_text(["ID"] * len(cells), [cells]), newline="")))[1]
    assert plain == ["+34 600 123 456", "+1 (555) 010-0100", "-5", "Acme\nEurope", "'=HYPERLINK(\"x\")",
                     "'+1 555 x", "'-2+A1", "'@SUM(1)", "\\u000a=1+1", "a\\u000db"]
    sheet = list(csv.reader(io.StringIO(csv_text(["ID"] * len(cells), [cells], ";", spreadsheet=True),
                                        newline=""), delimiter=";"))[1]
    # In a spreadsheet "+1-555-0100" would open as a sum and "+34600123456" lose its "+": there
    # a phone keeps the apostrophe; a negative number opens as that number.
    assert sheet[:4] == ["'+34 600 123 456", "'+1 (555) 010-0100", "-5", "Acme\nEurope"] and sheet[4:] == plain[4:]

# -- a real sync, both backends --------------------------------------------------------------------

CONDITION = "Status in [Customer, Churned] and Industry in [Retail, Food] and Employees >= 50"
TABS = {
    "Accounts": [["ID", "Name", "Industry", "Employees", "Status", "Owner"],
                 ["ACC-0001", "Initech", "Retail", 120, "Customer", "Sam"],
                 ["ACC-0002", "Globex", "Food", 30, "Customer", "Ana"],
                 ["ACC-0003", "Umbrella", "Retail", 500, "Churned", "Sam"],
                 ["ACC-0004", "Hooli", "Software", 900, "Customer", "Ana"]],
    "Contacts": [["ID", "Account", "First Name", "Last Name", "Email", "Title", "Owner"],
                 ["CON-0001", "ACC-0001", "Bo", "Li", "bo@initech.com", "@SUM(1+1)", "Sam"],
                 ["CON-0002", "Umbrella", "Cy", "Wu", "cy@umbrella.com", "CTO", "Sam"],
                 ["CON-0003", "ACC-0004", "Di", "Ho", "di@hooli.com", "CEO", "Ana"]],
    "Leads": [["ID", "Last Name", "Company", "Email", "Source", "Status", "Owner", "Created"],
              ["LEAD-0001", "Ng", "Acme", "ng@acme.com", "Referral", "New", "Sam", "2026-11-20"],
              ["LEAD-0002", "Ro", "Zeta", "ro@zeta.com", "Web", "New", "Ana", "2026-11-20"]],
    "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date", "Created"],
                      ["OPP-0001", "Big", "ACC-0001", "Sam", "Qualification", 5000, "USD", "2026-12-10",
                       "2026-11-01"],
                      ["OPP-0002", "Won", "Initech", "Sam", "Closed Won", 3000, "EUR", "2026-10-10", "2026-09-01"],
                      ["OPP-0003", "Old", "ACC-0003", "Sam", "Closed Won", 1000, "USD", "2026-01-10", "2025-11-01"],
                      ["OPP-0004", "Hoo", "ACC-0004", "Ana", "Proposal", 7000, "USD", "2026-12-10", "2026-11-01"]],
    "Activities": [["ID", "Date", "Type", "Subject", "Related"]],
    "Tasks": [["ID", "Due", "Subject", "Related", "Owner", "Status"]],
    "Products": [["SKU", "Name", "Unit Price"]],
    "Quote Lines": [["Opportunity", "SKU", "Quantity"]],
    "Rates": [["Currency", "Rate"], ["EUR", 1.1]],
    "Segments": [["Name", "Record", "Conditions", "Notes"],
                 ["Retail customers", "accounts", CONDITION, "for the spring mailing"],
                 ["Retail people", "contactos", "account.Industry = Retail", None],
                 ["Broken", "leads", "Source >", None]],
}
CONFIG = {"segments": {"Referrals": {"record": "leads", "when": "Source = Referral"}}}
PEOPLE = ("Accounts", "Contacts", "Leads", "Opportunities", "Segments", "Rates")
SUMMARY = [["Segment", "Record", "Members", "Accounts", "Open Pipeline", "Won Revenue", "Churned Accounts", "Churn %",
            "Conditions"],
           ["Referrals", "Leads", 1, 0, 0, 0, 0, None, "Source = Referral"],
           ["Retail customers", "Accounts", 2, 2, 5000, 4300, 1, 0.5, CONDITION],
           ["Retail people", "Contacts", 2, 2, 5000, 4300, 1, 0.5, "account.Industry = Retail"]]


@pytest.fixture(params=["xlsx", "google"])
def book(request, tmp_path):
    if request.param == "xlsx":
        # a person's formula beside sheetcrm's column: kept
        cells = {("Accounts", "H1"): "Check", ("Accounts", "H2"): "=LEN(B2)"}
        return xlsx_book(tmp_path / "crm.xlsx", TABS, cells=cells), None
    server = request.getfixturevalue("emu")
    traced = Traced(server.create_spreadsheet("CRM", TABS))
    return traced.book, traced


def _rows(book, tab: str) -> list[list]:
    rows = [[None if v == "" else v for v in r] for r in book.read().tabs[tab].rows]
    return [r[:max((i + 1 for i, v in enumerate(r) if v is not None), default=0)] for r in rows]


def _segments(book, tab: str) -> tuple[int, list]:
    """(0-based column of the Segments header, each record row's value there)."""
    rows = _rows(book, tab)
    col = rows[0].index("Segments")
    return col, [r[col] if col < len(r) else None for r in rows[1:]]


def test_segments_sync_on_both_backends_then_plan_nothing(book):
    book, traced = book
    config = Config.model_validate(CONFIG)
    before = {tab: _rows(book, tab) for tab in PEOPLE}
    first = sync(book, config, AS_OF)
    # After every used column (on .xlsx the person's Check column H, so I).
    assert _segments(book, "Accounts") == (8 if traced is None else 6, ["Retail customers", None,
                                                                        "Retail customers", None])
    assert _segments(book, "Contacts") == (7, ["Retail people", "Retail people", None])
    assert _segments(book, "Leads") == (12, ["Referrals", None])  # after Score, Grade, Conversion %, Why
    assert _rows(book, "Segment Summary") == SUMMARY
    (broken,) = [i for i in first.crm.report.issues if i.code.startswith("segment")]
    assert (broken.tab, broken.row, broken.column, broken.code) == ("Segments", 4, "C", "segment_bad_condition")
    assert ["error", "Segments", 4, "C"] == _rows(book, "Validation")[-1][:4]
    # Every cell a person wrote reads as it did, under sheetcrm's columns and beside them.
    for tab, rows in before.items():
        after = _rows(book, tab)
        for r, row in enumerate(rows):
            assert after[r][:len(row)] == row, (tab, r + 1)
    if traced is None:
        assert openpyxl.load_workbook(book.path)["Accounts"]["H2"].value == "=LEN(B2)"
    else:
        traced.reset()
    second = sync(book, config, AS_OF)
    assert not second.plan.writes and second.result is None
    if traced is not None:
        assert traced.counts() == (2, 0)  # reads only, no batchUpdate


def test_a_changed_record_moves_in_and_out_and_removed_segments_clear_their_column():
    from sheetcrm.workbook.memory import MemoryWorkbook

    book = MemoryWorkbook(TABS)
    sync(book, Config.model_validate(CONFIG), AS_OF)
    book.tabs["Accounts"][2][3] = 80        # Globex grows past 50
    book.tabs["Accounts"][1][4] = "Partner"  # Initech is no customer any more
    sync(book, Config.model_validate(CONFIG), AS_OF)
    assert [r[6] if len(r) > 6 else None for r in book.tabs["Accounts"][1:]] == [None, "Retail customers",
                                                                                 "Retail customers", None]
    book.tabs["Segments"] = [["Name", "Record", "Conditions"]]
    sync(book, Config(), AS_OF)  # no segment left: the columns are emptied, the summary keeps its header
    assert all(len(r) <= 6 or r[6] is None for r in book.tabs["Accounts"][1:])
    assert all(len(r) <= 7 or r[7] is None for r in book.tabs["Contacts"][1:])
    assert [r for r in book.tabs["Segment Summary"] if any(v is not None for v in r)] == [SUMMARY[0]]
    assert not sync(book, Config(), AS_OF).plan.writes


def test_a_teams_own_segments_column_is_kept_and_sheetcrms_goes_beside_it(tmp_path):
    """A Segments column of the team's (their own words, no segment's name) is never written nor
    cleared, with or without segments; sheetcrm's goes beside it as "Segments (sheetcrm)"."""
    tabs = {"Accounts": [["ID", "Name", "Industry", "Segments"], ["ACC-0001", "Acme", "Retail", "Enterprise"],
                         ["ACC-0002", "Initech", "Tech", "SMB, EMEA"]],
            # Without it the figures' warning about it (at the Forecast tab) is planned before the
            # segments step's computed_name_taken on the second sync and after it on the third,
            # which rewrites the Validation tab once (as with any compute warning; not this test's).
            "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date"]]}
    path = tmp_path / "crm.xlsx"
    book = xlsx_book(path, tabs)
    first = sync(book, Config(), AS_OF)  # no segment yet: nothing to clear either
    assert [(i.tab, i.row, i.column, i.code) for i in first.crm.report.issues if i.code == "computed_name_taken"] == [
        ("Accounts", 1, "D", "computed_name_taken")]
    config = Config.model_validate({"segments": {"Retail": {"record": "accounts", "when": "Industry = Retail"}}})
    sync(book, config, AS_OF)
    rows = [list(r) for r in openpyxl.load_workbook(path)["Accounts"].iter_rows(values_only=True)]
    assert rows[0][3] == "Segments" and [r[3] for r in rows[1:]] == ["Enterprise", "SMB, EMEA"]
    col = rows[0].index("Segments (sheetcrm)")
    assert [r[col] for r in rows[1:]] == ["Retail", None]
    assert not sync(book, config, AS_OF).plan.writes


def test_a_workbook_without_segments_gets_no_column_and_no_tab():
    from sheetcrm.workbook.memory import MemoryWorkbook

    tabs = {k: v for k, v in TABS.items() if k != "Segments"}
    book = MemoryWorkbook(tabs)
    sync(book, Config(), AS_OF)
    assert book.tabs["Accounts"][0] == TABS["Accounts"][0]
    assert "Segment Summary" not in book.tabs


# -- the command -----------------------------------------------------------------------------------

def _run(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run([sys.executable, "-m", "sheetcrm", "segment", *args, "--workbook", str(tmp_path / "crm.xlsx"),
                           "--as-of", AS_OF.isoformat()],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_segment_command_prints_the_target_list_as_csv_or_json(tmp_path):
    xlsx(tmp_path / "crm.xlsx", TABS)
    (tmp_path / "sheetcrm.toml").write_text('[segments.Referrals]\nrecord = "leads"\nwhen = "Source = Referral"\n',
                                            encoding="utf-8")
    out = _run(tmp_path, "retail PEOPLE", "--format", "csv-plain")
    assert out.returncode == 0, out.stderr
    assert list(csv.reader(io.StringIO(out.stdout))) == [
        ["ID", "First Name", "Last Name", "Email", "Phone", "Title", "Account", "Owner"],
        ["CON-0001", "Bo", "Li", "bo@initech.com", "", "'@SUM(1+1)", "ACC-0001", "Sam"],
        ["CON-0002", "Cy", "Wu", "cy@umbrella.com", "", "CTO", "Umbrella", "Sam"]]
    out = _run(tmp_path, "Referrals", "--format", "json")
    assert out.returncode == 0, out.stderr
    document = json.loads(out.stdout)
    assert (document["segment"], document["record"], [m["id"] for m in document["members"]]) == (
        "Referrals", "leads", ["LEAD-0001"])
    assert document["kpis"] == {"members": 1, "accounts": 0, "pipeline": "0", "won_revenue": "0", "churned": 0,
                                "churn": None, "missing_rates": 0}
    out = _run(tmp_path, "Nope")
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.strip().splitlines() == [
        'sheetcrm: there is no segment "Nope"; the segments are: Referrals, Retail customers, Retail people']
    # Nothing was written: the command is read-only.
    assert "Segment Summary" not in openpyxl.load_workbook(tmp_path / "crm.xlsx").sheetnames


def test_a_spanish_workbook_gets_spanish_names_and_reads_spanish_conditions():
    from sheetcrm.workbook.memory import MemoryWorkbook

    tabs = {k: v for k, v in TABS.items() if k != "Segments"}
    tabs["Segmentos"] = [["Nombre", "Registro", "Condiciones"],
                         ["Clientes", "cuentas", "Estado = Cliente y Industria en [Retail; Food] y Empleados ≥ 50"]]
    book = MemoryWorkbook(tabs)
    out = sync(book, Config.model_validate({"locale": "es"}), AS_OF)
    assert not [i for i in out.crm.report.issues if i.code.startswith("segment")]
    assert book.tabs["Accounts"][0][-1] == "Segmentos"
    assert [r[-1] if len(r) > 6 else None for r in book.tabs["Accounts"][1:]] == ["Clientes", None, None, None]
    summary = book.tabs["Resumen de segmentos"]
    assert summary[0][:3] == ["Segmento", "Registro", "Miembros"]
    assert summary[1][:8] == ["Clientes", "Cuentas", 1, 1, 5000, 3300, 0, 0]  # Initech: OPP-0001 open, OPP-0002 won (3000 EUR × 1.1)


# -- a condition reads a column by its type (attack2 faults 4, 5, 6) ------------------------------

def _leads(header: str, values: list, spanish: bool = False) -> dict:
    head = (["ID", "Nombre", "Apellidos", "Empresa", "Origen", "Estado"] if spanish else
            ["ID", "First Name", "Last Name", "Company", "Source", "Status"])
    rows = [[f"LEAD-{i:04d}", f"N{i}", f"A{i}", f"Co{i}", "Web", "Nuevo" if spanish else "New", v]
            for i, v in enumerate(values, 1)]
    return {"Leads": [[*head, header], *rows]}


def _members(tmp_path, tabs: dict, config: dict) -> tuple[list, list]:
    """(each lead's Segments cell after a sync of a real .xlsx, the issues of the sync)."""
    book = xlsx_book(tmp_path / "crm.xlsx", tabs)
    out = sync(book, Config.model_validate(config), AS_OF)
    rows = _rows(book, "Leads")
    col = next(i for i, h in enumerate(rows[0]) if h in ("Segments", "Segmentos"))
    return [r[col] if col < len(r) else None for r in rows[1:]], out.crm.report.issues


def test_a_text_column_compared_as_a_number_reads_the_tabs_locale_and_says_each_cell_it_cannot(tmp_path):
    # Half of Dato's cells are numbers: it stays text. Compared as a number, "1.500" is read as the
    # config's locale writes it (1500), never as English 1.5; the notes are said at their cells.
    tabs = _leads("Dato", ["1.500", "900", "n/d", "pendiente"], spanish=True)
    segment = {"segments": {"Grandes": {"record": "leads", "when": "Dato > 1000"}}}
    cells, issues = _members(tmp_path, tabs, {"locale": "es", **segment})
    assert cells == ["Grandes", None, None, None]
    said = [(i.row, i.column, i.value, i.code) for i in issues if i.header == "Dato"]
    assert said == [(4, "G", "n/d", "bad_number"), (5, "G", "pendiente", "bad_number")]
    assert all('segmento "Grandes"' in i.message for i in issues if i.header == "Dato")
    # No locale in the config: "1.500" reads two ways, so it is said at its cell, not compared.
    cells, issues = _members(tmp_path, tabs, segment)
    assert cells == [None, None, None, None]
    assert [(i.row, i.code) for i in issues if i.header == "Dato"] == [
        (2, "ambiguous_number"), (4, "bad_number"), (5, "bad_number")]


def test_a_text_column_compared_as_a_date_reads_day_first_in_a_spanish_team(tmp_path):
    tabs = _leads("Demo", ["03/04/2026", "01/03/2026", "pronto", "?"], spanish=True)
    config = {"locale": "es", "segments": {"Pronto": {"record": "leads", "when": "Demo <= 2026-03-10"}}}
    cells, issues = _members(tmp_path, tabs, config)
    assert cells == [None, "Pronto", None, None]  # 3 April is after 10 March; 1 March is before
    assert [(i.row, i.code) for i in issues if i.header == "Demo"] == [(4, "bad_date"), (5, "bad_date")]


def test_a_column_of_percentages_is_read_as_percentages_and_a_bare_number_is_a_fraction_below_one(tmp_path):
    tabs = _leads("Discount", ["15%", "5%", "20%"])
    for when in ("Discount > 10", "Discount > 10%", "Discount >= 0.1"):
        cells, issues = _members(tmp_path, tabs, {"segments": {"S": {"record": "leads", "when": when}}})
        assert cells == ["S", None, "S"], when
        assert not [i for i in issues if i.code.startswith("segment") or i.header == "Discount"], when
    # 1 could be 1 % or 100 %: refused where it is written, never guessed.
    book = xlsx_book(tmp_path / "crm.xlsx", tabs)
    out = sync(book, Config.model_validate({"segments": {"S": {"record": "leads", "when": "Discount > 1"}}}), AS_OF)
    assert [(i.header, i.code) for i in out.crm.report.issues if i.code.startswith("segment")] == [
        ("segments.S.when", "segment_bad_condition")]


def test_a_column_of_amounts_naming_their_currency_is_money_whatever_its_header(tmp_path):
    tabs = _leads("Dato", ["1.200 €", "300 €", "2.500 €"], spanish=True)
    config = {"locale": "es", "currency": "EUR", "segments": {"S": {"record": "leads", "when": "Dato > 1000"}}}
    cells, issues = _members(tmp_path, tabs, config)
    assert cells == ["S", None, "S"]
    assert not [i for i in issues if i.header == "Dato" or i.code.startswith("segment")]


@pytest.mark.parametrize("values, when", [
    ([46000, 46001], "Demo >= 2025-01-01"),           # serial dates pasted as numbers: a number column
    ([dt.date(2026, 1, 1), dt.date(2026, 2, 1)], "Demo > 5"),
    ([dt.date(2026, 1, 1), dt.date(2026, 2, 1)], "Demo in (5, 6)"),
])
def test_a_value_of_another_type_than_its_column_is_reported_at_the_condition(tmp_path, values, when):
    book = xlsx_book(tmp_path / "crm.xlsx", _leads("Demo", values))
    out = sync(book, Config.model_validate({"segments": {"S": {"record": "leads", "when": when}}}), AS_OF)
    (said,) = [i for i in out.crm.report.issues if i.code.startswith("segment")]
    assert (said.severity, said.header, said.code) == ("error", "segments.S.when", "segment_type_mismatch")
    assert '"Demo" holds' in said.message


def test_an_account_with_a_bad_cell_left_out_of_the_export_is_said_on_stderr(tmp_path):
    """An account whose Employees reads "abc" is in no segment until fixed (it is in no figure);
    the export one member short said nothing: now one line on stderr names the row, in the
    team's language, and the CSV on stdout is the sound members alone."""
    tabs = {"Accounts": [["ID", "Name", "Industry", "Employees", "Status", "Owner"],
                         ["ACC-0001", "Acme", "Retail", 120, "Customer", "Ana"],
                         ["ACC-0002", "Gamma", "Retail", "abc", "Churned", "Ana"]],
            "Segments": [["Name", "Record", "Conditions"], ["Retail", "accounts", "Industry = Retail"]]}
    xlsx(tmp_path / "crm.xlsx", tabs)
    out = _run(tmp_path, "Retail", "--format", "csv-plain")
    assert out.returncode == 0, out.stderr
    assert [r[0] for r in csv.reader(io.StringIO(out.stdout))] == ["ID", "ACC-0001"]
    assert out.stderr.splitlines() == [
        "1 account with errors in Accounts is left out of this export until fixed, whether or not it belongs to "
        "the segment: ACC-0002 (row 3)"]
    out = _run(tmp_path, "Retail", "--format", "json")
    assert [m["id"] for m in json.loads(out.stdout)["members"]] == ["ACC-0001"] and "ACC-0002 (row 3)" in out.stderr
    (tmp_path / "sheetcrm.toml").write_text('locale = "es"\n', encoding="utf-8")
    out = _run(tmp_path, "Retail")
    assert out.stderr.splitlines() == [
        "1 cuenta con errores en Accounts queda fuera de esta exportación hasta que se corrija, pertenezca o no al "
        "segmento: ACC-0002 (fila 3)"]


def _bytes(tmp_path, *args: str) -> bytes:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-m", "sheetcrm", "segment", *args, "--workbook", str(tmp_path / "crm.xlsx"),
                           "--as-of", AS_OF.isoformat()], cwd=tmp_path, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("locale, sep", [("es", ";"), ("en", ",")])
def test_the_csv_opens_in_excel_with_its_accents_and_in_columns(tmp_path, locale, sep):
    """Excel read the export as its system's code page ("Núñez" showed "NÃºÃ±ez") and, in a
    region with a decimal comma, split cells on ";" only (every row in one column). The default
    CSV is UTF-8 behind a byte order mark, separated as the team's locale separates lists;
    csv-plain stays UTF-8 with commas, for a mailing tool."""
    tabs = {k: [list(r) for r in v] for k, v in TABS.items()}
    tabs["Contacts"][2][3] = "Núñez"
    tabs["Contacts"][2][5] = "CTO; Ventas, EMEA"
    xlsx(tmp_path / "crm.xlsx", tabs)
    (tmp_path / "sheetcrm.toml").write_text(f'locale = "{locale}"\n', encoding="utf-8")
    data = _bytes(tmp_path, "retail PEOPLE")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8")), delimiter=sep))
    assert rows[2][:3] == ["CON-0002", "Cy", "Núñez"] and rows[2][5] == "CTO; Ventas, EMEA" and len(rows[0]) == 8
    assert rows[0][0] == "ID" and rows[1][5] == "'@SUM(1+1)"
    plain = _bytes(tmp_path, "retail PEOPLE", "--format", "csv-plain")
    assert not plain.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(plain.decode("utf-8"))))[2][:3] == ["CON-0002", "Cy", "Núñez"]


def test_an_accounts_last_activity_is_the_overviews_its_contacts_and_deals_included(tmp_path):
    # Teams log calls against people and deals, seldom against the account: Initech's latest is a
    # call to its contact, Umbrella's a meeting on its deal, Hooli's a note on the account
    # itself; Globex has none. The segment reads the day the Accounts Overview shows.
    tabs = dict(TABS)
    tabs["Activities"] = [["ID", "Date", "Type", "Subject", "Related"],
                          ["ACT-0001", "2026-11-20", "Call", "x", "CON-0001"],
                          ["ACT-0002", "2026-06-01", "Call", "x", "ACC-0001"],
                          ["ACT-0003", "2026-11-25", "Meeting", "x", "OPP-0003"],
                          ["ACT-0004", "2026-05-02", "Note", "x", "ACC-0004"],
                          ["ACT-0005", "2026-12-20", "Call", "planned", "CON-0003"]]
    tabs["Segments"] = [["Name", "Record", "Conditions"],
                        ["Quiet", "accounts", "Last Activity is empty or Last Activity < 2026-10-01"]]
    book = xlsx_book(tmp_path / "crm.xlsx", tabs)
    sync(book, Config(), AS_OF)
    _, got = _segments(book, "Accounts")
    assert got == [None, "Quiet", None, "Quiet"]  # Initech, Globex, Umbrella, Hooli
    overview = {r[0]: r[7] for r in _rows(book, "Accounts Overview")[1:]}
    assert [overview[a] for a in ("ACC-0001", "ACC-0003")] == [dt.date(2026, 11, 20), dt.date(2026, 11, 25)]


def test_a_contact_whose_account_has_errors_is_left_out_of_a_segment_reading_the_account(tmp_path):
    # Initech is a retail customer with Employees "abc": its row is in no figure. Its contact Bo
    # was judged as if the account's cells were empty, and so listed among the people of
    # non-customers and of accounts with no industry, and exported to the mailing tool. Now he
    # is left out of the segments that read the account, said at the condition and on stderr;
    # a segment that reads the contact alone keeps him.
    from click.testing import CliRunner
    from sheetcrm.cli import main

    tabs = {"Accounts": [["ID", "Name", "Industry", "Employees", "Status"],
                         ["ACC-0001", "Initech", "Retail", "abc", "Customer"],
                         ["ACC-0002", "Globex", "Food", 10, "Prospect"]],
            "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                         ["CON-0001", "Initech", "Bo", "Li", "bo@initech.com"],
                         ["CON-0002", "ACC-0002", "Cy", "Wu", "cy@globex.com"]],
            "Segments": [["Name", "Record", "Conditions"],
                         ["Not customers", "contacts", "account.Status != Customer"],
                         ["No industry", "contacts", "account.Industry is empty"],
                         ["Everyone", "contacts", "Email is not empty"]]}
    book = xlsx_book(tmp_path / "crm.xlsx", tabs)
    out = sync(book, Config(), AS_OF)
    _, got = _segments(book, "Contacts")
    assert got == ["Everyone", "Everyone, Not customers"]
    said = sorted((i.tab, i.row, i.column, i.code, i.message) for i in out.crm.report.issues
                  if i.code == "segment_account_unread")
    assert said == [("Segments", 2, "C", "segment_account_unread",
                     '1 contact is left out of the segment "Not customers" until its account is fixed: the condition '
                     "reads the account, whose row has errors: CON-0001 of ACC-0001 (row 2)."),
                    ("Segments", 3, "C", "segment_account_unread",
                     '1 contact is left out of the segment "No industry" until its account is fixed: the condition '
                     "reads the account, whose row has errors: CON-0001 of ACC-0001 (row 2).")]
    result = CliRunner().invoke(main, ["segment", "not customers", "--format", "csv-plain", "--workbook",
                                       str(tmp_path / "crm.xlsx"), "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert [r[0] for r in csv.reader(io.StringIO(result.stdout))] == ["ID", "CON-0002"]
    assert result.stderr.splitlines() == [
        "1 contact whose account has errors is left out of this export until fixed, whether or not it belongs to "
        "the segment: CON-0001 of ACC-0001 (row 2)"]


def test_a_status_word_of_the_configs_lead_statuses_groups_its_leads_and_a_word_of_none_is_refused(tmp_path):
    """`[lead_statuses]` words read as their status in a segment as in the cell: `Estado =
    "Working - Contacted"` grouped no lead, its cell's own word, while `Estado = Contactado` did.
    A word that names no status (`Contactadoo`) would group nobody, silently: refused at the key."""
    tabs = _leads("Dato", [1, 2, 3], spanish=True)
    tabs["Leads"][1][5], tabs["Leads"][2][5] = "Working - Contacted", "Contactado"
    config = {"locale": "es", "lead_statuses": {"Contactado": ["Working - Contacted"]}, "segments": {
        "Trabajados": {"record": "leads", "when": 'Estado = "Working - Contacted"'},
        "Fuera": {"record": "leads", "when": 'Estado no en ("working contacted")'},
        "Mal": {"record": "leads", "when": "Estado != Contactadoo"}}}
    cells, issues = _members(tmp_path, tabs, config)
    assert cells == ["Trabajados", "Trabajados", "Fuera"]
    assert [(i.header, i.code, i.message) for i in issues if i.code.startswith("segment")] == [
        ("segments.Mal.when", "segment_bad_condition",
         'no se puede leer la condición: "Contactadoo" no es un valor de Estado')]


def test_a_deal_with_no_rate_blanks_the_segment_sums_and_is_said_once_per_currency(tmp_path):
    """A Retail segment reaching an open 50,000 CHF deal (no CHF rate) and a won 9,000 GBP deal
    (its rate "1,170" may mean 1.17): the Segment Summary said Open Pipeline 1,000 and Won
    Revenue 2,000, totals short of them with nothing said, where every other summary leaves
    such a figure blank. Blank now, said below the rows once per currency, and null in JSON."""
    from books import xlsx
    from sheetcrm.workbook.xlsx import XlsxWorkbook

    path = xlsx(tmp_path / "crm.xlsx", {
        "Accounts": [["ID", "Name", "Owner", "Industry"], ["ACC-0001", "Acme", "Ana", "Retail"],
                     ["ACC-0002", "Beta", "Ana", "Retail"], ["ACC-0003", "Gamma", "Ana", "Tech"]],
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date"],
                          ["OPP-0001", "A", "ACC-0001", "Ana", "Proposal", 1000, "USD", "2027-01-31"],
                          ["OPP-0002", "B", "ACC-0001", "Ana", "Proposal", 50000, "CHF", "2027-01-31"],
                          ["OPP-0003", "C", "ACC-0002", "Ana", "Closed Won", 2000, "USD", "2026-11-02"],
                          ["OPP-0004", "D", "ACC-0002", "Ana", "Closed Won", 9000, "GBP", "2026-11-02"],
                          ["OPP-0005", "E", "ACC-0002", "Ana", "Proposal", 700, "CHF", "2027-01-31"],
                          ["OPP-0006", "F", "ACC-0003", "Ana", "Proposal", 300, "USD", "2027-01-31"]],
        "Rates": [["Currency", "Rate"], ["GBP", "1,170"]],
        "Segments": [["Name", "Record", "Conditions"], ["Retail", "accounts", "Industry = Retail"],
                     ["Tech", "accounts", "Industry = Tech"]]})
    with using("en"):
        sync(XlsxWorkbook(path), Config(currency="USD"), AS_OF)
    rows = [list(r) for r in openpyxl.load_workbook(path)["Segment Summary"].iter_rows(values_only=True)]
    assert [r[:6] for r in rows[1:3]] == [["Retail", "Accounts", 2, 2, None, None], ["Tech", "Accounts", 1, 1, 300, 0]]
    assert [r[0] for r in rows[3:]] == [
        None,
        "No exchange rate for CHF on the Rates tab: 2 deals in CHF cannot be put in USD, so the figures that would "
        "count them are blank.",
        "The rate for GBP on the Rates tab may mean something else: 1 deal in GBP is not put in USD, so the figures "
        "that would count it are blank."]
    deals = {1: Deal(1, "open", Decimal(5)), 2: Deal(2, "won", None, unrated=object())}  # type: ignore[arg-type]
    k = segment_kpis([Reach(frozenset({"A"}), frozenset({1, 2}))], deals, set())
    assert (k.to_json()["pipeline"], k.to_json()["won_revenue"], k.to_json()["missing_rates"]) == ("5", None, 1)


def test_a_row_with_conditions_but_no_name_yet_is_said_and_the_other_segments_hold(tmp_path):
    """A person writing a segment fills Record and Conditions before its Name: every sync and
    `sheetcrm segment` then ended in a traceback (AttributeError on the empty Name) instead of the
    `segment_no_name` error at the cell, with the other segments still worked out."""
    from click.testing import CliRunner
    from sheetcrm.cli import main

    tabs = dict(TABS)
    tabs["Segments"] = [["Name", "Record", "Conditions"], ["Retail customers", "accounts", CONDITION],
                        [None, "accounts", "Employees > 200"]]
    book = xlsx_book(tmp_path / "crm.xlsx", tabs)
    out = sync(book, Config(), AS_OF)
    assert [(i.tab, i.row, i.column, i.code) for i in out.crm.report.issues if i.code.startswith("segment")] == [
        ("Segments", 3, "A", "segment_no_name")]
    assert _segments(book, "Accounts")[1] == ["Retail customers", None, "Retail customers", None]
    result = CliRunner().invoke(main, ["segment", "retail customers", "--format", "csv-plain", "--workbook",
                                       str(tmp_path / "crm.xlsx"), "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert [r[0] for r in csv.reader(io.StringIO(result.stdout))] == ["ID", "ACC-0001", "ACC-0003"]


def test_a_contact_whose_account_cell_names_two_accounts_is_left_out_of_a_segment_reading_the_account(tmp_path):
    # Two customer rows are both called Initech, and Bo's Account says "Initech": the read warns
    # (ambiguous_reference), but his account was judged as empty, so he was listed among the people
    # of non-customers and of accounts with no industry, and exported to the mailing tool, though
    # either Initech is a retail customer. Now he is left out of the segments that read the
    # account, said at the condition and on stderr; a segment that reads the contact alone keeps him.
    from click.testing import CliRunner
    from sheetcrm.cli import main

    tabs = {"Accounts": [["ID", "Name", "Industry", "Status"],
                         ["ACC-0001", "Initech", "Retail", "Customer"],
                         ["ACC-0002", "initech", "Retail", "Customer"],
                         ["ACC-0003", "Globex", "Food", "Prospect"]],
            "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                         ["CON-0001", "Initech", "Bo", "Li", "bo@initech.com"],
                         ["CON-0002", "ACC-0003", "Cy", "Wu", "cy@globex.com"]],
            "Segments": [["Name", "Record", "Conditions"],
                         ["Not customers", "contacts", "account.Status != Customer"],
                         ["No industry", "contacts", "account.Industry is empty"],
                         ["Everyone", "contacts", "Email is not empty"]]}
    book = xlsx_book(tmp_path / "crm.xlsx", tabs)
    out = sync(book, Config(), AS_OF)
    _, got = _segments(book, "Contacts")
    assert got == ["Everyone", "Everyone, Not customers"]
    said = sorted((i.row, i.column, i.code, i.message) for i in out.crm.report.issues
                  if i.code == "segment_account_unread")
    assert said == [(2, "C", "segment_account_unread",
                     '1 contact is left out of the segment "Not customers" until its Account names one account: the '
                     "condition reads the account, and the contact's Account cell names more than one: "
                     'CON-0001 ("Initech").'),
                    (3, "C", "segment_account_unread",
                     '1 contact is left out of the segment "No industry" until its Account names one account: the '
                     "condition reads the account, and the contact's Account cell names more than one: "
                     'CON-0001 ("Initech").')]
    result = CliRunner().invoke(main, ["segment", "not customers", "--format", "csv-plain", "--workbook",
                                       str(tmp_path / "crm.xlsx"), "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert [r[0] for r in csv.reader(io.StringIO(result.stdout))] == ["ID", "CON-0002"]
    assert result.stderr.splitlines() == [
        "1 contact whose Account names more than one account is left out of this export until fixed, whether or "
        'not it belongs to the segment: CON-0001 ("Initech")']
    (tmp_path / "sheetcrm.toml").write_text('locale = "es"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["segment", "no industry", "--workbook", str(tmp_path / "crm.xlsx"),
                                       "--config", str(tmp_path / "sheetcrm.toml"), "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "1 contacto cuya Cuenta nombra más de una cuenta queda fuera de esta exportación hasta que se corrija, "
        'pertenezca o no al segmento: CON-0001 ("Initech")']


def test_a_segments_tab_without_a_conditions_column_says_so_once_at_its_header(tmp_path):
    """Conditions written under a header sheetcrm does not know ("Criteria") were read as none:
    each row was a `segment_no_conditions` error, at no cell, telling the person to write the
    conditions they had written. Now the tab's header says the column is missing, once, and how
    to head it; no row is read as a segment with no conditions."""
    tabs = dict(TABS)
    tabs["Segments"] = [["Segment", "Object", "Criteria"], ["Retail customers", "accounts", CONDITION],
                        ["Referrals", "leads", "Source = Referral"]]
    book = xlsx_book(tmp_path / "crm.xlsx", tabs)
    with using("en"):
        out = sync(book, Config(), AS_OF)
    said = [(i.severity, i.tab, i.row, i.code, i.message, i.hint) for i in out.crm.report.issues
            if i.tab == "Segments" and i.code != "left_out"]
    assert said == [("error", "Segments", 1, "missing_column",
                     'The required column "Conditions" is missing, so no row of this tab is read.',
                     'Add a column headed "Conditions" (or "Condiciones").')]
    assert "Segments" not in _rows(book, "Accounts")[0]


def test_the_command_says_why_a_defined_segment_cannot_be_exported(tmp_path):
    """`sheetcrm segment Broken` answered 'there is no segment "Broken"' though the Segments tab
    defines it (its condition does not parse): the person looked for a typo in the name. Now the
    one line says the segment is left out, where its definition is and what is wrong with it."""
    from click.testing import CliRunner
    from sheetcrm.cli import main

    xlsx(tmp_path / "crm.xlsx", TABS)
    config = tmp_path / "sheetcrm.toml"
    config.write_text('[segments.Big]\nrecord = "accounts"\nwhen = "Employees >> 5"\n', encoding="utf-8")

    def run(name: str):
        return CliRunner().invoke(main, ["segment", name, "--workbook", str(tmp_path / "crm.xlsx"), "--config",
                                         str(config), "--as-of", AS_OF.isoformat()])
    result = run("broken")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        'sheetcrm: the segment "Broken" is left out until its definition is fixed (Segments!C4): the condition '
        'cannot be read: expected a value after ">"']
    assert run("BIG").stderr.splitlines() == [
        'sheetcrm: the segment "Big" is left out until its definition is fixed (segments.Big.when): the condition '
        'cannot be read: expected a value after ">"']
    assert run("Nope").stderr.splitlines() == [
        'sheetcrm: there is no segment "Nope"; the segments are: Retail customers, Retail people']
    config.write_text('locale = "es"\n', encoding="utf-8")
    assert run("Broken").stderr.splitlines() == [
        'sheetcrm: el segmento "Broken" queda fuera hasta que se corrija su definición (Segments!C4): no se puede '
        'leer la condición: se esperaba un valor después de ">"']


def test_a_leads_campaign_is_named_by_its_id_or_its_name_and_a_word_naming_none_is_refused(tmp_path):
    """The read writes a Campaign cell as its campaign's name ("cmp-0001" becomes "Fall"), so
    `Campaign = CMP-0001` grouped no lead of that campaign, silently, and `Campaign != CMP-0001`
    every lead, its own included. A campaign is now named by its ID or its name, as a Status by
    any of its words, and a word naming no campaign (`Campaign = Fal`) is refused at the key."""
    campaigns = [["ID", "Name", "Type", "Status", "Start", "End", "Budget", "Actual Cost", "Currency"],
                 ["CMP-0001", "Fall", "Webinar", "Completed", "2026-03-01", "2026-03-31", 3000, 2000, None],
                 ["CMP-0002", "Spring", "Event", "Completed", "2026-05-01", "2026-05-03", 900, 800, None]]
    tabs = {"Leads": [["ID", "Last Name", "Company", "Email", "Status", "Campaign"],
                      ["LEAD-0001", "Ng", "Acme", "ng@acme.com", "New", "Fall"],
                      ["LEAD-0002", "Ro", "Zeta", "ro@zeta.com", "New", "cmp-0001"],
                      ["LEAD-0003", "Zu", "Hooli", "zu@hooli.com", "New", "Spring"]],
            "Campaigns": campaigns}
    config = {"segments": {"By ID": {"record": "leads", "when": "Campaign = CMP-0001"},
                           "Not it": {"record": "leads", "when": "Campaign != cmp-0001"},
                           "Either": {"record": "leads", "when": "Campaign in (Fall, CMP-0002)"},
                           "Typo": {"record": "leads", "when": "Campaign = Fal"}}}
    cells, issues = _members(tmp_path, tabs, config)
    assert cells == ["By ID, Either", "By ID, Either", "Either, Not it"]
    assert [(i.header, i.code, i.message, i.hint) for i in issues if i.code.startswith("segment")] == [
        ("segments.Typo.when", "segment_bad_condition", 'the condition cannot be read: "Fal" is not a value of Campaign',
         "Write a value Campaign holds, e.g. Fall, Spring.")]


def test_a_contacts_account_is_named_by_the_accounts_id_or_name_however_its_cell_spells_it(tmp_path):
    """A contact's Account cell keeps what was typed: a name, or the ID sheetcrm's conversion
    writes. `Account = Initech` left out the contact whose cell says acc-0001, and
    `Account != Initech` listed it, silently. A word now names the cell when both name one
    account; a word naming no account is refused; `contains` still reads the cell as typed."""
    tabs = {"Accounts": [["ID", "Name", "Industry"], ["ACC-0001", "Initech", "Retail"], ["ACC-0002", "Globex", "Food"]],
            "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                         ["CON-0001", "Initech", "Bo", "Li", "bo@initech.com"],
                         ["CON-0002", "acc-0001", "Cy", "Wu", "cy@initech.com"],
                         ["CON-0003", "Globex", "Di", "Ho", "di@globex.com"]]}
    config = {"segments": {"By name": {"record": "contacts", "when": "Account = initech"},
                           "By ID": {"record": "contacts", "when": "Account = ACC-0001"},
                           "Others": {"record": "contacts", "when": "Account != Initech"},
                           "Typed": {"record": "contacts", "when": "Account contains init"},
                           "Typo": {"record": "contacts", "when": "Account = Initek"}}}
    book = xlsx_book(tmp_path / "crm.xlsx", tabs)
    out = sync(book, Config.model_validate(config), AS_OF)
    assert _segments(book, "Contacts")[1] == ["By ID, By name, Typed", "By ID, By name", "Others"]
    assert [(i.header, i.message) for i in out.crm.report.issues if i.code.startswith("segment")] == [
        ("segments.Typo.when", 'the condition cannot be read: "Initek" is not a value of Account')]


def test_with_no_deal_amount_read_a_segments_pipeline_and_won_revenue_are_blank_not_zero(tmp_path):
    """Found by a tester: with no Opportunities tab (or no Amount column) the Segment Summary read
    Open Pipeline 0 and Won Revenue 0 for a segment of customers: nothing known, shown as nothing
    open and nothing won, where the Dashboard's figures are blank. Blank here too; the counts of
    members, accounts and churn, known, stay."""
    opps = [["ID", "Name", "Account", "Owner", "Stage", "Close Date"],
            ["OPP-0001", "Renewal", "ACC-0001", "Marta", "Closed Won", "2026-11-02"]]
    for name, extra in (("no_tab", {}), ("no_amount", {"Opportunities": opps})):
        book = xlsx_book(tmp_path / f"{name}.xlsx", {
            "Accounts": [["ID", "Name", "Status"], ["ACC-0001", "Acme", "Customer"]],
            "Segments": [["Name", "Record", "When"], ["Customers", "accounts", "Status = Customer"]], **extra})
        path = book.path
        sync(book, Config(), dt.date(2026, 11, 20))
        rows = list(openpyxl.load_workbook(path)["Segment Summary"].iter_rows(values_only=True))
        summary = dict(zip(rows[0], rows[1]))
        assert (summary["Members"], summary["Accounts"], summary["Churned Accounts"]) == (1, 1, 0), name
        assert (summary["Open Pipeline"], summary["Won Revenue"]) == (None, None), (name, summary)
