"""The reference check's shortcuts (validate._check_references) answer as the long way does:
an ASCII text keyed without `canonical_text`, an ID matched against its pattern as typed, the
ID map built once for the unique-ID check and the targets, and a reference naming one row of
one tab found without `Targets.find_key`. Each case here would take the shortcut wrongly if it
were not exact."""

from __future__ import annotations

import pytest

from sheetcrm import cells
from sheetcrm.config import Config
from sheetcrm.validate import _Keys, build_targets, entries, match_key, read_crm
from sheetcrm.workbook import Grid, Snapshot


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    monkeypatch.setenv("SHEETCRM_LANG", "en")


def snapshot(tabs: dict[str, list[list]]) -> Snapshot:
    return Snapshot({title: Grid(rows) for title, rows in tabs.items()})


def issues(crm, code: str) -> list[tuple]:
    return [(i.tab, i.row, i.column) for i in crm.report.issues if i.code == code]


@pytest.mark.parametrize("text", ["ACC-0001", "acc-0001", "Acme  Corp", " Acme\tCorp\n", "a\x1cb\x1fc", "MiXeD Case",
                                  "", " ", "Acme\u00a0Corp", "\u200bAcme", "O\u2019Brien", "STRASSE Straße",
                                  "\uff21\uff23\uff23-0001", "ǅemal"])
def test_a_text_is_keyed_as_match_key_keys_it(text):
    assert _Keys()[text] == match_key(text) == cells.canonical_text(text).casefold()


def test_ids_off_the_pattern_are_told_as_a_person_reads_them():
    # Full-width letters read as ACC (NFKC); other digits are still digits; a space inside is not.
    accounts = [["ID", "Name"], ["ACC-0001", "A"], ["acc-2", "B"], ["\uff21\uff23\uff23-0003", "C"],
                ["ACC-\u0664", "D"], ["ACC-0005 x", "E"], ["ACC\u00a0-0006", "F"], ["X-7", "G"]]
    crm = read_crm(snapshot({"Accounts": accounts}), Config())
    assert issues(crm, "id_pattern") == [("Accounts", 6, "A"), ("Accounts", 7, "A"), ("Accounts", 8, "A")]


def test_an_id_used_twice_is_said_at_both_rows_and_both_stay_targets():
    tabs = {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"], ["acc-0001", "Beta"], ["ACC-0002", "Gamma"],
                         ["ACC\u00a00001", "Delta"]],
            "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date"],
                              ["OPP-0001", "Deal", "ACC-0001", "Proposal", 100, "2026-12-15"],
                              ["OPP-0002", "Deal 2", "acc-0002", "Proposal", 100, "2026-12-15"]]}
    crm = read_crm(snapshot(tabs), Config())
    # Row 5's ID reads "ACC 0001", another ID; rows 2 and 3 are the same ID.
    # Said at both cells (was: row 3 only), each naming the other, and neither account is
    # counted: which one a reference naming the ID means cannot be told.
    assert sorted(issues(crm, "duplicate_id")) == [("Accounts", 2, "A"), ("Accounts", 3, "A")]
    said = {i.row: (i.value, i.message) for i in crm.report.issues if i.code == "duplicate_id"}
    assert said[2][0] == "ACC-0001" and "row 3" in said[2][1]
    assert said[3][0] == "acc-0001" and "row 2" in said[3][1]
    assert [r.row for r in crm.tables["accounts"].rows if r.record is None] == [2, 3]
    targets = crm.targets["accounts"]
    assert {k: [(form, row.row) for form, row in entries(v)] for k, v in targets.ids.items()} == {
        "acc-0001": [("ACC-0001", 2), ("acc-0001", 3)], "acc-0002": [("ACC-0002", 4)],
        "acc 0001": [("ACC\u00a00001", 5)]}
    # The same map as build_targets makes on its own, from the rows' IDs.
    assert build_targets(crm.tables["accounts"]).ids == targets.ids
    # A deal naming the doubled ID is not resolved, and not said again (the duplicate_id says it).
    deals = {r.row: r.target.account for r in crm.tables["opportunities"].rows}
    assert deals == {2: "ACC-0001", 3: "ACC-0002"}
    assert issues(crm, "ambiguous_reference") == []


def test_an_id_two_tabs_share_is_ambiguous_where_a_record_names_it():
    tabs = {"Leads": [["ID", "First Name", "Last Name", "Company", "Email", "Status"],
                      ["X-1", "Ana", "Ruiz", "Acme", "ana@acme.example", "New"],
                      ["LEAD-0002", "Eva", "Gil", "Beta", "eva@beta.example", "New"]],
            "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                         ["x-1", "", "Luis", "Paz", "luis@x.example"]],
            "Activities": [["ID", "Date", "Type", "Subject", "Related"],
                           ["ACT-0001", "2026-11-01", "Call", "One", "X-1"],
                           ["ACT-0002", "2026-11-02", "Call", "Two", "lead-0002"],
                           ["ACT-0003", "2026-11-03", "Call", "Three", "Ana Ruiz"],
                           ["ACT-0004", "2026-11-04", "Call", "Four", "X-1"]]}
    crm = read_crm(snapshot(tabs), Config())
    assert issues(crm, "ambiguous_reference") == [("Activities", 2, "E"), ("Activities", 5, "E")]
    # Related names records by ID only: a contact's full name is no target there.
    assert issues(crm, "unknown_related") == [("Activities", 4, "E")]
    assert [r.target.related for r in crm.tables["activities"].rows] == ["X-1", "LEAD-0002", "Ana Ruiz", "X-1"]


def test_a_contact_named_by_full_name_or_email_resolves_to_it_as_written_there_and_a_shared_name_is_ambiguous():
    tabs = {"Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                         ["CON-0001", "", "Ana", "Ruiz", "ana@acme.example"],
                         ["CON-0002", "", "Eva", "Gil", "eva@acme.example"],
                         ["CON-0003", "", "Eva", "Gil", "eva2@acme.example"]],
            "Opportunities": [["ID", "Name", "Account", "Contact", "Stage", "Amount", "Close Date"],
                              ["OPP-0001", "A", "Acme", "ana  ruiz", "Proposal", 1, "2026-12-15"],
                              ["OPP-0002", "B", "Acme", "ANA@acme.example", "Proposal", 1, "2026-12-15"],
                              ["OPP-0003", "C", "Acme", "Eva Gil", "Proposal", 1, "2026-12-15"],
                              ["OPP-0004", "D", "Acme", "eva2@acme.example", "Proposal", 1, "2026-12-15"]]}
    crm = read_crm(snapshot(tabs), Config())
    assert [r.target.contact for r in crm.tables["opportunities"].rows] == [
        "Ana Ruiz", "ana@acme.example", "Eva Gil", "eva2@acme.example"]
    assert issues(crm, "ambiguous_reference") == [("Opportunities", 4, "D")]


def test_a_key_naming_one_row_holds_its_pair_and_two_rows_a_list() -> None:
    """Targets keep one (text, row) pair for a key that names one row (most keys), the Row
    alone when the text is its ID, a list for two or more, and `entries` reads each as the
    list of pairs in sheet order."""
    tabs = {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"], ["acc-0001", "Beta"], ["ACC-0002", "Acme"],
                         ["ACC-0003", "Gamma"]]}
    crm = read_crm(snapshot(tabs), Config())
    targets = crm.targets["accounts"]
    from sheetcrm.table import Row

    assert targets.ids["acc-0002"].__class__ is Row and targets.names["gamma"].__class__ is tuple
    assert entries(targets.ids["acc-0002"]) == [("ACC-0002", targets.ids["acc-0002"])]
    assert [(form, row.row) for form, row in entries(targets.ids["acc-0001"])] == [("ACC-0001", 2), ("acc-0001", 3)]
    assert [(form, row.row) for form, row in entries(targets.names["acme"])] == [("Acme", 2), ("Acme", 4)]
    assert entries(None) == []
    assert [row.row for _, row in targets.find("Gamma")[0]] == [5]
    assert [row.row for _, row in targets.find("acme")[0]] == [2, 4]
