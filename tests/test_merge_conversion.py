"""A merge never converts a lead a second time (docs/leads.md, "Merging duplicates"): the
survivor of a group holding a converted lead is that lead, its Converted cells its own, so no
step converts it again and the KPIs, the Campaigns tab and the workflows count the person
converted once; a group with two leads converted into different records, or with Keep on a
lead that is not the converted one, is refused at the Duplicates tab. And a form responses
tab's Lead column, which sheetcrm writes, follows the survivor as the other references do.
On real .xlsx files, the Duplicates tab as the duplicates step wrote it, ticked by a person."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook.xlsx import XlsxWorkbook

from books import edit, tick_duplicates, xlsx_book

DAY1, DAY2, DAY3 = dt.date(2026, 11, 23), dt.date(2026, 11, 24), dt.date(2026, 11, 25)
LEADS = ["ID", "First Name", "Last Name", "Company", "Email", "Source", "Campaign", "Status", "Owner", "Created",
         "Amount", "Convert"]


def _book(tmp_path) -> XlsxWorkbook:
    """Ana of Acme, ticked Convert with an Amount: DAY1's sync makes ACC-0002, CON-0002 and OPP-0001."""
    return xlsx_book(tmp_path / "crm.xlsx", {
        "Accounts": [["ID", "Name", "Domain", "Owner"], ["ACC-0001", "Initech", "initech.com", "Sam"]],
        "Contacts": [["ID", "Account", "First Name", "Last Name", "Email", "Owner"],
                     ["CON-0001", "ACC-0001", "Bo", "Li", "bo@initech.com", "Sam"]],
        "Leads": [LEADS, ["LEAD-0001", "Ana", "Ng", "Acme", "ana@acme.com", "Web", "Spring", "Qualified", "Eva",
                          dt.datetime(2026, 11, 3), 5000, "yes"]],
        "Opportunities": [["ID", "Name", "Account", "Contact", "Owner", "Stage", "Amount", "Close Date", "Created"]],
        "Activities": [["ID", "Date", "Type", "Related"]],
        "Campaigns": [["ID", "Name", "Status"], ["CMP-0001", "Spring", "In Progress"]],
    })


def _values(book: XlsxWorkbook, tab: str) -> list[dict]:
    ws = openpyxl.load_workbook(book.path)[tab]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    return [dict(zip(rows[0], r)) for r in rows[1:] if any(v is not None for v in r)]


def _add_lead(book: XlsxWorkbook, **cells) -> None:
    edit(book, lambda wb: wb["Leads"].append([cells.get(h) for h in LEADS]))


def _group(book: XlsxWorkbook) -> list[str]:
    return [r["ID"] for r in _values(book, "Duplicates")]


def _older_twin(tmp_path) -> XlsxWorkbook:
    """LEAD-0001 converted on DAY1; then LEAD-0002, the same Ana typed in earlier with her full
    first name (older Created, no Convert tick), proposed beside it on the Duplicates tab on
    DAY2. (Typed "Ana Ng", CON-0002 is as alike to her: still the group is the two leads,
    test_a_third_record_alike_to_a_converted_lead_and_its_contact_groups_with_the_lead.)"""
    book = _book(tmp_path)
    sync(book, Config(), DAY1)
    assert [o["ID"] for o in _values(book, "Opportunities")] == ["OPP-0001"]
    _add_lead(book, ID="LEAD-0002", **{"First Name": "Ana María", "Last Name": "Ng", "Company": "Acme",
                                        "Email": "ana@acme.com", "Source": "Web", "Campaign": "Spring",
                                        "Status": "Contacted", "Owner": "Sam", "Created": dt.datetime(2025, 3, 1)})
    sync(book, Config(), DAY2)
    assert sorted(_group(book)) == ["LEAD-0001", "LEAD-0002"]
    return book


def test_merging_an_older_lead_into_a_converted_one_never_converts_it_again(tmp_path):
    """The oldest used to survive: LEAD-0002 took LEAD-0001's Convert tick into its empty Convert
    cell, and the same sync converted it again (OPP-0002 beside OPP-0001, the same 5,000, the
    same account and contact), with no warning. Now the converted lead survives with its
    Converted cells, and everything that keys on conversion counts the person once."""
    book = _older_twin(tmp_path)
    tick_duplicates(book, {"LEAD-0002": "merge"})
    outcome = sync(book, Config(), DAY2)

    assert [(o["ID"], o["Account"], o["Contact"], o["Amount"]) for o in _values(book, "Opportunities")] == [
        ("OPP-0001", "ACC-0002", "CON-0002", 5000)]
    assert [a["ID"] for a in _values(book, "Accounts")] == ["ACC-0001", "ACC-0002"]
    assert [c["ID"] for c in _values(book, "Contacts")] == ["CON-0001", "CON-0002"]
    leads = _values(book, "Leads")
    assert [(lead["ID"], lead["Converted Account"], lead["Converted Contact"], lead["Converted Opportunity"])
            for lead in leads] == [("LEAD-0001", "ACC-0002", "CON-0002", "OPP-0001")]
    assert leads[0]["Converted On"].date() == DAY1 and leads[0]["Created"].date() == dt.date(2026, 11, 3)
    assert [(m["Survivor"], m["ID"]) for m in _values(book, "Merged")] == [("LEAD-0001", "LEAD-0002")]
    # Converted once: the KPIs, the Campaigns tab and the workflows' view of the lead.
    kpis = outcome.results.kpis
    assert (kpis.lead_conversion_by_source["Web"].leads, kpis.lead_conversion_by_source["Web"].converted) == (1, 1)
    assert kpis.days_to_convert == 20
    spring = _values(book, "Campaigns")[0]
    assert (spring["Leads"], spring["Converted Leads"], spring["Opportunities"]) == (1, 1, 1)
    assert outcome.crm.inputs.conversions.converted_ids().keys() == {"LEAD-0001"}
    # Nothing left to do, on this day or the next.
    assert not sync(book, Config(), DAY2).plan
    sync(book, Config(), DAY3)
    assert [o["ID"] for o in _values(book, "Opportunities")] == ["OPP-0001"]


def test_keep_on_the_lead_that_is_not_converted_is_refused_at_its_keep_cell(tmp_path):
    """Keep on LEAD-0002 asks for a survivor the conversion is not on: moving the conversion
    would read it as another lead's (and the tick it carries would convert it again), so
    nothing of the group is merged, and the Keep cell says why until the person decides."""
    book = _older_twin(tmp_path)
    tick_duplicates(book, {"LEAD-0002": "merge+keep"})
    for _ in range(2):
        outcome = sync(book, Config(), DAY2)
        said = [i for i in outcome.crm.report.issues if i.code == "merge_keep_not_converted"]
        assert len(said) == 1, outcome.crm.report.issues
        ws = openpyxl.load_workbook(book.path)["Duplicates"]
        header = [c.value for c in ws[1]]
        assert (said[0].tab, said[0].header, said[0].column) == (
            "Duplicates", "Keep", openpyxl.utils.get_column_letter(header.index("Keep") + 1))
        assert ws.cell(said[0].row, header.index("ID") + 1).value == "LEAD-0002"
        assert "LEAD-0001" in said[0].message and "ACC-0002, CON-0002, OPP-0001" in said[0].message
        assert "LEAD-0001" in said[0].hint
        assert [r["ID"] for r in _values(book, "Leads")] == ["LEAD-0001", "LEAD-0002"]
        assert [o["ID"] for o in _values(book, "Opportunities")] == ["OPP-0001"]
        assert "Merged" not in openpyxl.load_workbook(book.path).sheetnames
        # The ticks stay as the person left them.
        assert {(r["ID"], r["Keep"], r["Merge"]) for r in _values(book, "Duplicates")} == {
            ("LEAD-0001", None, None), ("LEAD-0002", "x", "x")}
    # Keep moved onto the converted lead: merged, converted once.
    def move_keep(wb):
        ws = wb["Duplicates"]
        header = [c.value for c in ws[1]]
        for r in range(2, ws.max_row + 1):
            ws.cell(r, header.index("Keep") + 1).value = "x" if ws.cell(r, header.index("ID") + 1).value == \
                "LEAD-0001" else None
    edit(book, move_keep)
    sync(book, Config(), DAY2)
    assert [r["ID"] for r in _values(book, "Leads")] == ["LEAD-0001"]
    assert [o["ID"] for o in _values(book, "Opportunities")] == ["OPP-0001"]


def test_two_leads_converted_into_different_records_are_not_merged(tmp_path):
    """LEAD-0002 converted on DAY2 into the same account and contact but a deal of its own
    (OPP-0002): merging would drop one conversion (its deal's From Lead naming a lead gone) or
    leave the survivor converted twice. Refused at the Merge cell, naming both conversions."""
    book = _book(tmp_path)
    sync(book, Config(), DAY1)
    _add_lead(book, ID="LEAD-0002", **{"First Name": "Ana", "Last Name": "Ng", "Company": "Acme",
                                        "Email": "ana@acme.com", "Source": "Web", "Status": "Qualified",
                                        "Created": dt.datetime(2025, 3, 1), "Amount": 7000, "Convert": "yes"})
    sync(book, Config(), DAY2)
    assert [(o["ID"], o["Amount"]) for o in _values(book, "Opportunities")] == [("OPP-0001", 5000),
                                                                                 ("OPP-0002", 7000)]
    assert sorted(_group(book)) == ["LEAD-0001", "LEAD-0002"]
    tick_duplicates(book, {"LEAD-0001": "merge"})
    outcome = sync(book, Config(), DAY3)
    said = [i for i in outcome.crm.report.issues if i.code == "merge_two_conversions"]
    assert len(said) == 1 and (said[0].tab, said[0].header) == ("Duplicates", "Merge")
    assert "LEAD-0001: ACC-0002, CON-0002, OPP-0001" in said[0].message
    assert "LEAD-0002: ACC-0002, CON-0002, OPP-0002" in said[0].message
    leads = _values(book, "Leads")
    assert [(r["ID"], r["Converted Opportunity"]) for r in leads] == [("LEAD-0001", "OPP-0001"),
                                                                        ("LEAD-0002", "OPP-0002")]
    assert "Merged" not in openpyxl.load_workbook(book.path).sheetnames


def test_a_form_responses_lead_cell_follows_the_survivor(tmp_path):
    """The forms step wrote LEAD-0002 into the response's Lead cell (the same Hugo, from another
    address: a new lead); merged into the older LEAD-0001, the cell names LEAD-0001, as the
    response's Form Submitted activity does, and no later sync makes a lead of it again."""
    config = Config.model_validate({"forms": {"web": {"tab": "Form Responses 1", "fields": {
        "Email Address": "email", "Full Name": "name", "Company": "company", "Phone Number": "phone"}}}})
    book = xlsx_book(tmp_path / "crm.xlsx", {
        "Leads": [LEADS[:10], ["LEAD-0001", "Hugo", "Navarro", "Lumen", "hugo@lumen.example", "Referral", None,
                               "Contacted", "Ana", dt.datetime(2025, 3, 1)]],
        "Activities": [["ID", "Date", "Type", "Subject", "Related"]],
        "Form Responses 1": [["Timestamp", "Email Address", "Full Name", "Company", "Phone Number"],
                             [dt.datetime(2026, 11, 22, 10, 0), "hugo@lumen.example ", "Hugo Navarro", "Lumen",
                              None],
                             [dt.datetime(2026, 11, 23, 10, 0), "hugo.navarro@lumen.example", "Hugo Navarro",
                              "Lumen", None]],
    })
    sync(book, config, DAY1)
    sync(book, config, DAY2)
    assert [r["Lead"] for r in _values(book, "Form Responses 1")] == ["LEAD-0001", "LEAD-0002"]
    assert sorted(_group(book)) == ["LEAD-0001", "LEAD-0002"]
    tick_duplicates(book, {"LEAD-0002": "merge"})
    outcome = sync(book, config, DAY3)
    assert [r["ID"] for r in _values(book, "Leads")] == ["LEAD-0001"]
    assert [r["Lead"] for r in _values(book, "Form Responses 1")] == ["LEAD-0001", "LEAD-0001"]
    assert {a["Related"] for a in _values(book, "Activities")} == {"LEAD-0001"}
    assert outcome.plan.replaced_by_tab().get("Form Responses 1") == 1
    assert not sync(book, config, DAY3).plan
    assert [r["ID"] for r in _values(book, "Leads")] == ["LEAD-0001"]


def test_a_conversion_whose_links_are_cleared_still_keeps_its_lead_as_survivor(tmp_path):
    """Converted Account and the other Converted cells cleared (or a conversion cut short before
    its links landed): the rows whose From Lead names LEAD-0001 are still its conversion, which
    the next sync links again. So LEAD-0001 survives and is linked, never LEAD-0002 converted
    a second time with LEAD-0001's Convert tick."""
    book = _older_twin(tmp_path)

    def clear_links(wb):
        ws = wb["Leads"]
        header = [c.value for c in ws[1]]
        for name in ("Converted Account", "Converted Contact", "Converted Opportunity", "Converted On"):
            ws.cell(2, header.index(name) + 1).value = None
    edit(book, clear_links)
    tick_duplicates(book, {"LEAD-0002": "merge"})
    sync(book, Config(), DAY2)
    assert [o["ID"] for o in _values(book, "Opportunities")] == ["OPP-0001"]
    assert [(r["ID"], r["Converted Account"], r["Converted Contact"], r["Converted Opportunity"])
            for r in _values(book, "Leads")] == [("LEAD-0001", "ACC-0002", "CON-0002", "OPP-0001")]
    assert not sync(book, Config(), DAY2).plan


@pytest.mark.parametrize("above", [False, True])
def test_a_third_record_alike_to_a_converted_lead_and_its_contact_groups_with_the_lead(tmp_path, above):
    """LEAD-0001 converted into CON-0002; LEAD-0002 "Ana Ng" of Acme typed again, alike to each
    by email and by name at the company. The name block joined her to CON-0002 and the email
    block to LEAD-0001, so the group held the lead and the contact it became (one person on
    purpose), and a Merge of it was refused with a false hint: "tick Convert on LEAD-0002,
    LEAD-0001", the lead converted already. Now the converted lead and its contact are never in
    one group: she is grouped with the lead, whatever the rows' order, and the Merge merges."""
    book = _book(tmp_path)
    sync(book, Config(), DAY1)
    _add_lead(book, ID="LEAD-0002", **{"First Name": "Ana", "Last Name": "Ng", "Company": "Acme",
                                        "Email": "ana@acme.com", "Source": "Web", "Status": "Contacted",
                                        "Owner": "Sam", "Created": dt.datetime(2025, 3, 1)})
    if above:  # the Leads tab sorted by Created: LEAD-0002 first
        def swap(wb):
            ws = wb["Leads"]
            for c in range(1, ws.max_column + 1):
                ws.cell(2, c).value, ws.cell(3, c).value = ws.cell(3, c).value, ws.cell(2, c).value
        edit(book, swap)
    sync(book, Config(), DAY2)
    assert sorted(_group(book)) == ["LEAD-0001", "LEAD-0002"]
    tick_duplicates(book, {"LEAD-0002": "merge"})
    outcome = sync(book, Config(), DAY2)
    assert not [i for i in outcome.crm.report.issues if i.code.startswith("merge")]
    assert [(m["Survivor"], m["ID"]) for m in _values(book, "Merged")] == [("LEAD-0001", "LEAD-0002")]
    assert [c["ID"] for c in _values(book, "Contacts")] == ["CON-0001", "CON-0002"]


def test_a_lead_and_contact_group_whose_lead_is_converted_is_not_hinted_to_convert_it(tmp_path):
    """A contact CON-0003 typed again for Ana (Acme, ana@acme.com) after her lead LEAD-0001 was
    converted into CON-0002 is grouped with the lead, never with the lead's own contact. A Merge
    there is refused (a lead is not merged into a contact), and the hint said "tick Convert on
    LEAD-0001", the lead converted already, which does nothing. It says the lead is converted,
    into what, and what the person can do; in Spanish too."""
    from sheetcrm.i18n import in_locale
    from sheetcrm.merging import ACROSS_TABS_CONVERTED_HINT

    book = _book(tmp_path)
    sync(book, Config(), DAY1)
    edit(book, lambda wb: wb["Contacts"].append(["CON-0003", "ACC-0002", "Ana", "Ng", "ana@acme.com", "Sam"]))
    sync(book, Config(), DAY2)
    assert sorted(_group(book)) == ["CON-0003", "LEAD-0001"]
    tick_duplicates(book, {"CON-0003": "merge"})
    outcome = sync(book, Config(), DAY2)
    [said] = [i for i in outcome.crm.report.issues if i.code == "merge_across_tabs"]
    assert said.hint.startswith("LEAD-0001 is converted already (ACC-0002, CON-0002, OPP-0001)"), said.hint
    assert "if CON-0003 is the same person" in said.hint and "Convert" not in said.hint, said.hint
    assert [c["ID"] for c in _values(book, "Contacts")] == ["CON-0001", "CON-0002", "CON-0003"]
    assert "Merged" not in openpyxl.load_workbook(book.path).sheetnames
    spanish = in_locale("es", ACROSS_TABS_CONVERTED_HINT, leads="LEAD-0001", made="CON-0002", contacts="CON-0003")
    assert spanish.startswith("LEAD-0001 ya está convertido (CON-0002): desmarca Fusionar"), spanish
