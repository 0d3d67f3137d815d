"""Conditions on money (crm/conditions.py `Money`): a workflow's If and a segment's Conditions
compare an amount in the team's base currency, through the Rates tab the forecast converts
with; a value written with a currency ("5000 EUR") is converted too, a bare number is in the
base currency. A side that cannot be converted leaves the condition not holding, said at the
cell: the record's Amount (no rate for its currency) or the rule's If (no rate for the
value's). Real .xlsx files synced through the library, as a team's would be."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import openpyxl
import pytest

from sheetcrm import parse_cache
from sheetcrm.config import Config
from sheetcrm.i18n import using
from sheetcrm.sync import sync
from sheetcrm.validate import read_crm, team_config
from sheetcrm.workbook.xlsx import XlsxWorkbook
from books import xlsx

DAY0 = dt.date(2026, 12, 1)
WF_HEADER = ["ID", "Name", "Active", "Record", "When", "If", "Then", "Subject", "Due (days)"]
RATES = [["Currency", "Rate"], ["JPY", 0.0065], ["EUR", 1.1]]


def _opportunities(stage: str) -> list[list]:
    return [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date", "Created"],
            ["OPP-0001", "Yen deal", "ACC-0001", "Ana", stage, "JPY 100,000", None, "2027-01-31", "2026-11-01"],
            ["OPP-0002", "Dollar deal", "ACC-0001", "Ana", stage, 6000, "USD", "2027-01-31", "2026-11-01"],
            ["OPP-0003", "Small euro deal", "ACC-0001", "Ana", stage, 4000, "EUR", "2027-01-31", "2026-11-01"],
            ["OPP-0004", "Big euro deal", "ACC-0001", "Ana", stage, 6000, "EUR", "2027-01-31", "2026-11-01"],
            ["OPP-0005", "Pound deal", "ACC-0001", "Ana", stage, 9000, "GBP", "2027-01-31", "2026-11-01"]]


def _workflow_book(tmp_path, rules: list[list]) -> tuple[XlsxWorkbook, object]:
    path = xlsx(tmp_path / "crm.xlsx", {
        "Accounts": [["ID", "Name", "Owner", "Employees"], ["ACC-0001", "Acme", "Ana", 50]],
        "Opportunities": _opportunities("Qualification"),
        "Tasks": [["ID", "Due", "Subject", "Related", "Owner", "Status"]],
        "Rates": RATES,
        "Workflows": [WF_HEADER, *rules],
    })
    return XlsxWorkbook(path), path


def _enter_proposal(path) -> None:
    """A person moves every deal to Proposal between two syncs: the rules' `enters` edge."""
    wb = openpyxl.load_workbook(path)
    ws = wb["Opportunities"]
    for r in range(2, ws.max_row + 1):
        ws.cell(r, 5).value = "Proposal"
    wb.save(path)


def _fired(path, rule: str) -> list[str]:
    ws = openpyxl.load_workbook(path)["Tasks"]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    return sorted(r[3] for r in rows if r[0] and str(r[2]).startswith(rule))


def _rule(rid: str, condition: str) -> list:
    return [rid, f"Big {rid}", "yes", "opportunity", "enters Proposal", condition, "create task", f"{rid} {{{{ Name }}}}",
            1]


def test_an_amount_condition_compares_in_the_base_currency_and_converts_a_currency_value(tmp_path):
    book, path = _workflow_book(tmp_path, [_rule("WF-0001", "Amount > 5000"), _rule("WF-0002", "Amount > 5000 EUR"),
                                           _rule("WF-0003", "Amount <= 5000"),
                                           _rule("WF-0004", "Amount = 4000 EUR or Amount = 650")])
    config = Config(currency="USD")
    sync(book, config, DAY0)
    _enter_proposal(path)
    with using("en"):
        result = sync(book, config, DAY0 + dt.timedelta(days=1))
    # JPY 100,000 = $650; 6000 USD; 4000 EUR = $4,400; 6000 EUR = $6,600; GBP has no rate.
    assert _fired(path, "WF-0001") == ["OPP-0002", "OPP-0004"]
    # 5000 EUR = $5,500: the 4000 EUR deal is below it, the 6000 EUR and 6000 USD deals above.
    assert _fired(path, "WF-0002") == ["OPP-0002", "OPP-0004"]
    assert _fired(path, "WF-0003") == ["OPP-0001", "OPP-0003"]
    assert _fired(path, "WF-0004") == ["OPP-0001", "OPP-0003"]
    # The pound deal fires no rule. One cell, one fault: its Amount (F6) has one warning, the
    # missing rate's (totals that would count it blank), which names the four rules it leaves undecided too.
    at_f6 = [i for i in result.crm.report.issues if (i.tab, i.row, i.column) == ("Opportunities", 6, "F")]
    assert [(i.code, i.severity) for i in at_f6] == [("missing_rate", "warning")]
    [said] = at_f6
    # (It said "is left out of totals": the totals are blank now, not short of it.)
    assert said.message.startswith("No exchange rate for GBP: 9,000 GBP cannot be put in USD, so every total in USD "
                                   "that would count it is left blank.")
    assert "the condition of rule WF-0001, the condition of rule WF-0002, the condition of rule WF-0003, and the " \
           "condition of rule WF-0004 do not hold for this record" in said.message
    assert "GBP" in said.hint and "Rates" in said.hint


def test_a_value_in_a_currency_with_no_rate_decides_nothing_and_is_said_at_the_rule(tmp_path):
    book, path = _workflow_book(tmp_path, [_rule("WF-0001", "Amount > 5000 CHF"),
                                           _rule("WF-0002", "not Amount > 5000 CHF"),
                                           _rule("WF-0003", "Amount > 5000 CHF or Name = \"Yen deal\"")])
    config = Config(currency="USD")
    sync(book, config, DAY0)
    _enter_proposal(path)
    with using("en"):
        result = sync(book, config, DAY0 + dt.timedelta(days=1))
    assert _fired(path, "WF-0001") == [] and _fired(path, "WF-0002") == []  # `not` of undecided is no yes
    assert _fired(path, "WF-0003") == ["OPP-0001"]  # the rest of the condition decides it
    at_rules = sorted((i.tab, i.row, i.column) for i in result.crm.report.issues
                      if i.code == "missing_rate" and i.tab == "Workflows")
    assert at_rules == [("Workflows", 2, "F"), ("Workflows", 3, "F"), ("Workflows", 4, "F")]


def test_a_currency_on_a_column_that_holds_no_money_is_refused_at_the_rule(tmp_path):
    rules = [[*_rule("WF-0001", "account.Employees > 10 EUR")], _rule("WF-0002", "Amount > 5000 kr")]
    book, _path = _workflow_book(tmp_path, rules)
    with using("en"):
        result = sync(book, Config(currency="USD"), DAY0)
    bad = sorted((i.row, i.column, i.code) for i in result.crm.report.issues if i.tab == "Workflows")
    assert bad == [(2, "F", "workflow_bad_condition"), (3, "F", "workflow_bad_condition")]
    messages = [i.message for i in result.crm.report.issues if i.tab == "Workflows"]
    assert any("holds no money" in m for m in messages) and any('"kr"' in m for m in messages)


SEGMENT_TABS = {
    "Accounts": [["ID", "Name", "Owner", "Budget"],
                 ["ACC-0001", "Yen", "Ana", "JPY 900,000"],     # $5,850
                 ["ACC-0002", "Euro", "Ana", "4000 EUR"],       # $4,400
                 ["ACC-0003", "Dollar", "Ana", 6000],           # the base currency
                 ["ACC-0004", "Pound", "Ana", "7000 GBP"]],     # no rate
    "Leads": [["ID", "Last Name", "Company", "Status", "Owner", "Amount", "Currency"],
              ["LEAD-0001", "Ito", "Yen Co", "New", "Ana", "JPY 100,000", None],
              ["LEAD-0002", "Ruiz", "Euro Co", "New", "Ana", 6000, "EUR"],
              ["LEAD-0003", "Weber", "Small Co", "New", "Ana", 4000, "EUR"],
              ["LEAD-0004", "Smith", "Pound Co", "New", "Ana", 9000, "GBP"]],
    "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date", "Created"]],
    "Rates": RATES,
    "Segments": [["Name", "Record", "Conditions"],
                 ["Big leads", "leads", "Amount > 5000 EUR"],
                 ["Big budgets", "accounts", "Budget > 5000"],
                 ["Small leads", "leads", "not Amount >= 5000"]],
}


def _segment_of(path, tab: str) -> dict[str, str | None]:
    rows = list(openpyxl.load_workbook(path)[tab].iter_rows(values_only=True))
    col = rows[0].index("Segments")
    return {r[0]: r[col] for r in rows[1:] if r[0]}


def test_segments_compare_money_in_the_base_currency_and_say_what_they_cannot(tmp_path):
    path = xlsx(tmp_path / "crm.xlsx", SEGMENT_TABS)
    with using("en"):
        result = sync(XlsxWorkbook(path), Config(currency="USD"), DAY0)
    leads = _segment_of(path, "Leads")
    assert leads == {"LEAD-0001": "Small leads", "LEAD-0002": "Big leads", "LEAD-0003": "Small leads",
                     "LEAD-0004": None}
    # A team's own Budget column: its cells name their currency, which the read keeps (Record.priced).
    assert _segment_of(path, "Accounts") == {"ACC-0001": "Big budgets", "ACC-0002": None,
                                             "ACC-0003": "Big budgets", "ACC-0004": None}
    said = sorted((i.tab, i.row, i.column, i.code) for i in result.crm.report.issues if "condition of segment" in i.message)
    assert said == [("Accounts", 5, "D", "missing_rate"), ("Leads", 5, "F", "missing_rate")]  # one per cell
    [lead] = [i for i in result.crm.report.issues if (i.tab, i.row) == ("Leads", 5)]
    assert 'segment "Big leads" and the condition of segment "Small leads" compare Amount in USD' in lead.message


def test_the_core_three_valued_verdict_and_spanish_values():
    from sheetcrm.crm.conditions import ConditionError, Money, Unsure, parse_condition  # new with the fix
    from sheetcrm.crm.money import Rates
    rates = Rates("EUR", {"USD": Decimal("0.9")})
    es = parse_condition("Importe > 1.000,50 € y Etapa = Propuesta", "es", rates)
    assert es.verdict(lambda r, c: Money(Decimal("1200"), "USD") if c == "Importe" else "Propuesta") is True
    assert es.verdict(lambda r, c: Money(Decimal("1100"), "USD") if c == "Importe" else "Propuesta") is False
    unsure = es.verdict(lambda r, c: Money(Decimal("1100"), "MXN") if c == "Importe" else "Propuesta")
    assert isinstance(unsure, Unsure) and unsure.doubts[0].currency == "MXN"
    assert es.verdict(lambda r, c: Money(Decimal("1100"), "MXN") if c == "Importe" else "Ganada") is False
    with pytest.raises(ConditionError):
        parse_condition("Importe > 5000 $", "es", rates)  # a dollar of which country, in a euro team?
    # A non-money number compares as it always has.
    assert parse_condition("Employees >= 50", "en", rates).test(lambda r, c: 50)


def test_a_budget_keeps_its_currency_in_the_read_for_the_rules_segments_and_conversion(tmp_path):
    """A team's own Budget column, typed by its cells as money, keeps each cell's currency in
    the records the read makes (`Record.priced`): named in its text ("4600 EUR", Spanish
    "8.000,50 €") or by its number format, also in the rows the parse memo gives back and
    after only a cell's format changed. A workflow's If, a segment's Conditions and a lead's
    conversion take it from there: 4600 EUR is $5,060, above 5000."""
    from sheetcrm.records import Priced

    leads = [["ID", "Last Name", "Company", "Email", "Status", "Owner", "Convert", "Budget"],
             ["LEAD-0001", "Ito", "Acme", "ito@acme.com", "New", "Ana", "yes", "4600 EUR"],
             ["LEAD-0002", "Ruiz", "Beta", "ruiz@beta.com", "New", "Ana", None, 4600],      # € by its format
             ["LEAD-0003", "Weber", "Gamma", "weber@gamma.com", "New", "Ana", None, 4600],  # dollars
             ["LEAD-0004", "Smith", "Delta", "smith@delta.com", "New", "Ana", None, "8.000,50 €"]]
    path = xlsx(tmp_path / "crm.xlsx", {
        "Accounts": [["ID", "Name", "Owner"], ["ACC-0001", "Zeta", "Ana"]],
        "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"]],
        "Leads": leads,
        "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Currency", "Close Date", "Created"]],
        "Tasks": [["ID", "Due", "Subject", "Related", "Owner", "Status"]],
        "Rates": RATES,
        "Workflows": [WF_HEADER, ["WF-0001", "Big budget", "yes", "lead", "created", "Budget > 5000", "create task",
                                  "WF-0001 {{ Company }}", 1]],
        "Segments": [["Name", "Record", "Conditions"], ["Big budgets", "leads", "Budget > 5000"]],
    }, formats={("Leads", "H3"): "[$€-2] #,##0"})
    book, config = XlsxWorkbook(path), Config(currency="USD")
    first = sync(book, config, DAY0)

    def priced(crm) -> dict[str, Priced | None]:
        return {r.id: (r.record.priced or {}).get("Budget") for r in crm.tables["leads"].rows if r.id}
    assert priced(first.crm) == {"LEAD-0001": Priced("EUR"), "LEAD-0002": Priced("EUR"), "LEAD-0003": None,
                                 "LEAD-0004": Priced("EUR")}
    assert _segment_of(path, "Leads") == {"LEAD-0001": "Big budgets", "LEAD-0002": "Big budgets",
                                          "LEAD-0003": None, "LEAD-0004": "Big budgets"}
    deals = [r.record for r in first.crm.tables["opportunities"].rows]
    assert [(d.amount, d.currency) for d in deals] == [(Decimal("4600"), "EUR")]

    memo = parse_cache.RowMemo()
    read_crm(book.read(), team_config(book.read(), config), memo=memo)

    # Two new leads (the rule fires on a lead it sees created), and LEAD-0002's format now shows pounds (no rate).
    wb = openpyxl.load_workbook(path)
    ws = wb["Leads"]
    ws.append(["LEAD-0005", "Kim", "Eta", "kim@eta.com", "New", "Ana", None, "4600 EUR"])
    ws.append(["LEAD-0006", "Lee", "Theta", "lee@theta.com", "New", "Ana", None, 4600])
    ws["H3"].number_format = "[$£-809] #,##0"
    wb.save(path)
    memo.parsed = memo.reused = 0
    again = read_crm(book.read(), team_config(book.read(), config), memo=memo)
    assert memo.reused >= 3  # the rows left as they were come from the parse memo, their currency with them
    second = sync(book, config, DAY0 + dt.timedelta(days=1))
    for crm in (again, second.crm):
        assert priced(crm) == {"LEAD-0001": Priced("EUR"), "LEAD-0002": Priced("GBP"), "LEAD-0003": None,
                               "LEAD-0004": Priced("EUR"), "LEAD-0005": Priced("EUR"), "LEAD-0006": None}
    assert _fired(path, "WF-0001") == ["LEAD-0005"]
    assert _segment_of(path, "Leads")["LEAD-0002"] is None


def test_a_rate_that_may_mean_something_else_is_said_as_that_not_as_no_rate(tmp_path):
    """GBP's rate typed "1,170" (1170, or 1.17?): segments comparing a GBP Amount, or a value in
    GBP, decided nothing, rightly, but said "No exchange rate for GBP" and "Add GBP to the Rates
    tab", which the Rates tab already has. Said as the doubted rate it is, at both cells."""
    tabs = {"Leads": [["ID", "Last Name", "Company", "Status", "Owner", "Amount", "Currency"],
                      ["LEAD-0001", "Smith", "Pound Co", "New", "Ana", 9000, "GBP"]],
            "Opportunities": [["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date", "Created"]],
            "Rates": [["Currency", "Rate"], ["GBP", "1,170"]],
            "Segments": [["Name", "Record", "Conditions"], ["Big leads", "leads", "Amount > 5000"],
                         ["Pounds", "leads", "Amount > 5000 GBP"]]}
    path = xlsx(tmp_path / "crm.xlsx", tabs)
    with using("en"):
        result = sync(XlsxWorkbook(path), Config(currency="USD"), DAY0)
    assert _segment_of(path, "Leads") == {"LEAD-0001": None}
    said = {(i.tab, i.row, i.column): i for i in result.crm.report.issues if i.code == "missing_rate"}
    assert sorted(said) == [("Leads", 2, "F"), ("Segments", 3, "C")]
    doubt = 'The rate for GBP on the Rates tab may mean something else ("1,170" read as 1170; could be 1.17): '
    assert said[("Leads", 2, "F")].message == doubt + (
        'the condition of segment "Big leads" and the condition of segment "Pounds" compare Amount in USD, so they '
        'do not hold for this record.')
    assert said[("Segments", 3, "C")].message.startswith(doubt + "this condition compares amounts in USD")
    assert {i.hint for i in said.values()} == {"Write the rate for GBP on the Rates tab so that it reads one way."}
