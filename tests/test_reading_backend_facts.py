"""The realworld fixtures that need the backends' Grid facts (formula errors, percent formats, merges) read
from real .xlsx files. The same readings are tested with the facts given directly in test_reading_realworld.py;
these pass once the .xlsx backend reports the facts."""

from __future__ import annotations

from test_reading_realworld import issues, synced


def test_formula_errors_are_reported_naming_the_error(tmp_path):
    outcome, _ = synced("formula_error_cached_values.xlsx", tmp_path)
    found = {(i.where(), i.code, i.value) for i in issues(outcome.crm) if i.severity == "error"}
    assert found == {("Opportunities!F2", "formula_error", "#N/A"), ("Opportunities!H3", "formula_error", "#VALUE!"),
                     ("Opportunities!C4", "formula_error", "#REF!")}
    assert not any("empty" in i.message for i in issues(outcome.crm))
    # The deal with no readable amount is not counted as 0: only the 8,000 and 2,000 deals can be summed.
    assert not [o for o in outcome.results.opportunities if o.amount == 0]


def test_percent_formatted_probability_needs_no_guess(tmp_path):
    outcome, _ = synced("percent_100_read_as_1.xlsx", tmp_path)
    assert [o.probability for o in outcome.results.opportunities] == [100, 50]
    assert not issues(outcome.crm)  # the cell's format says 100%: nothing is ambiguous


def test_computed_columns_go_after_a_merged_header_block_on_xlsx(tmp_path):
    import datetime as dt

    import openpyxl

    from sheetcrm.config import Config
    from sheetcrm.sync import sync
    from sheetcrm.workbook.xlsx import XlsxWorkbook

    path = tmp_path / "merged.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Opportunities"
    for row in [["ID", "Name", "Account", "Stage", "Amount", "Notes"], ["OPP-0001", "A", "Acme", "Proposal", 10]]:
        ws.append(row)
    ws.merge_cells("F1:I1")  # "Notes" spans F1:I1, over where computed columns would go
    accounts = wb.create_sheet("Accounts")
    accounts.append(["ID", "Name"])
    accounts.append(["ACC-0001", "Acme"])
    wb.save(path)
    book = XlsxWorkbook(path)
    first = sync(book, Config(), as_of=dt.date(2026, 12, 15))
    assert not first.result.skipped
    ws = openpyxl.load_workbook(path)["Opportunities"]
    assert ws["J1"].value == "Probability %" and ws["J2"].value == 0.5 and ws["G2"].value is None
    assert not sync(book, Config(), as_of=dt.date(2026, 12, 15)).plan
