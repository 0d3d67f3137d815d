"""Faults a tester found in merging and duplicates (issue 13, m13test), fixed as kinds: a Merge tick
is acted on only when the group's cells say one thing and its records are still duplicates by the
rules; a group that cannot merge keeps its tick and says why; a dry run and the summary show the
rows a merge removes and the references it moves; a converted lead is not its contact's duplicate;
a merged lead's status history stays its own; a converted lead naming a deleted record says so.

End to end through the real CLI (`python -m sheetcrm`) on real .xlsx files made by `sheetcrm demo`,
edited as a person would (openpyxl standing in for the spreadsheet app); the backend-independent
rules also on the in-memory backend and on Google (the emulator, over real gspread)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from sheetcrm.config import Config
from sheetcrm.emulator import Emulator
from sheetcrm.sync import sync
from sheetcrm.workbook import Plan
from sheetcrm.workbook.memory import MemoryWorkbook

from merge_crm import tabs
from test_merge_google import Book, _plain

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 11, 23)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LANG": "C.UTF-8"}
    return subprocess.run([sys.executable, "-m", "sheetcrm", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("demo")
    r = cli("demo", "--workbook", "demo.xlsx", "--rows", "60", cwd=d)
    assert r.returncode == 0, r.stderr
    return d / "demo.xlsx"


@pytest.fixture
def book(demo, tmp_path) -> Path:
    p = tmp_path / "crm.xlsx"
    shutil.copyfile(demo, p)
    return p


def rows(path: Path, tab: str) -> list[dict]:
    ws = openpyxl.load_workbook(path)[tab]
    header = [c.value for c in ws[1]]
    return [{h: v for h, v in zip(header, r)} for r in ws.iter_rows(min_row=2, values_only=True)
            if any(v is not None for v in r)]


def groups(path: Path) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in rows(path, "Duplicates"):
        out.setdefault(r["Group"], []).append(r)
    return out


def set_cells(path: Path, tab: str, cells: dict[str, object]) -> None:
    wb = openpyxl.load_workbook(path)
    for ref, v in cells.items():
        wb[tab][ref].value = v
    wb.save(path)


def dup_row(path: Path, rid: str) -> int:
    ws = openpyxl.load_workbook(path)["Duplicates"]
    return next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 5).value == rid)


def sync_json(path: Path, *more: str) -> dict:
    r = cli("sync", "--workbook", str(path), "--format", "json", *more, cwd=path.parent)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def people(path: Path) -> dict[str, list[dict]]:
    return {t: rows(path, t) for t in ("Leads", "Contacts", "Accounts", "Activities")}


# -- 1. an ID edited on the Duplicates tab ----------------------------------------------------

def test_a_hand_edited_duplicates_id_never_merges_an_unrelated_record(book):
    """The Duplicates tab is the person's to edit: an ID typed over one of a group's names another
    record, and Merge is ticked. The merge checks the records as read now with the duplicate
    rules, refuses (an issue at the group's cell), merges nothing of the group, and keeps the rows
    as the person left them; a second sync writes nothing."""
    contact_group = next(g for g in groups(book).values() if all(r["Tab"] == "Contacts" for r in g))
    in_groups = {r["ID"] for g in groups(book).values() for r in g}
    emails = {r["Email"] for r in contact_group}
    stranger = next(c for c in rows(book, "Contacts")
                    if c["ID"] not in in_groups and c["Email"] not in emails and c["Last Name"] not in
                    {r["Name"].split()[-1] for r in contact_group})
    first, edited = dup_row(book, contact_group[0]["ID"]), dup_row(book, contact_group[1]["ID"])
    set_cells(book, "Duplicates", {f"E{edited}": stranger["ID"], f"L{edited}": "yes"})
    before = people(book)
    out = sync_json(book)
    assert people(book) == before, "nothing of the group is merged, and nothing else changes in people's tabs"
    assert "Merged" not in openpyxl.load_workbook(book).sheetnames
    said = [i for i in out["issues"] if i["code"] == "merge_not_duplicates_now"]
    assert [(i["tab"], i["row"], i["column"], i["value"]) for i in said] == [
        ("Duplicates", first, "A", contact_group[0]["Group"])]
    assert stranger["ID"] in said[0]["message"] and contact_group[0]["ID"] in said[0]["message"]
    assert said[0]["hint"]
    # The rows stay as the person left them, tick and edited ID included, where they were.
    ws = openpyxl.load_workbook(book)["Duplicates"]
    assert (ws.cell(edited, 5).value, ws.cell(edited, 12).value) == (stranger["ID"], "yes")
    assert ws.cell(first, 5).value == contact_group[0]["ID"]
    again = cli("sync", "--workbook", str(book), cwd=book.parent)
    assert again.returncode == 0 and "nothing to change" in again.stdout, again.stdout


def test_put_back_the_id_and_the_group_merges(book):
    """The refusal is about the cells, not the records: with the ID typed back the group merges."""
    contact_group = next(g for g in groups(book).values() if all(r["Tab"] == "Contacts" for r in g))
    gone = contact_group[1]["ID"]
    other = next(c["ID"] for c in rows(book, "Contacts") if c["ID"] not in {r["ID"] for r in contact_group})
    edited = dup_row(book, gone)
    set_cells(book, "Duplicates", {f"E{edited}": other, f"L{edited}": "yes"})
    sync_json(book)
    set_cells(book, "Duplicates", {f"E{edited}": gone})
    out = sync_json(book)
    assert not [i for i in out["issues"] if i["code"].startswith("merge_")]
    assert gone not in {c["ID"] for c in rows(book, "Contacts")}
    assert [r["ID"] for r in rows(book, "Merged")] == [gone]


def test_records_edited_apart_since_they_were_proposed_are_not_merged():
    """A person may edit the records after sheetcrm proposed them: what counts is whether they are
    duplicates as read now. Two accounts told apart (another domain, another name) are refused."""
    t = tabs()
    t["Accounts"][3][1:3] = ["Umbrella", "umbrella.com"]   # ACC-0003 was "ACME Inc"
    book = MemoryWorkbook(t, owned={"Duplicates"})
    outcome = sync(book, Config(), AS_OF)
    assert {"ACC-0001", "ACC-0003"} <= {r[0] for r in book.tabs["Accounts"][1:]}
    assert [(i.code, i.row, i.column) for i in outcome.crm.report.issues if i.code.startswith("merge_")] == [
        ("merge_not_duplicates_now", 2, "A")]
    assert {r[0] for r in book.tabs["Merged"][1:]} and [r[3] for r in book.tabs["Merged"][1:]] == ["CON-0003"]


def test_merge_and_not_duplicates_both_ticked_merge_nothing():
    t = tabs()
    t["Duplicates"][1][12] = "x"   # Not duplicates on the accounts' group, Merge still ticked on it
    book = MemoryWorkbook(t, owned={"Duplicates"})
    outcome = sync(book, Config(), AS_OF)
    assert {"ACC-0001", "ACC-0003"} <= {r[0] for r in book.tabs["Accounts"][1:]}
    assert [(i.code, i.row, i.column) for i in outcome.crm.report.issues if i.code.startswith("merge_")] == [
        ("merge_not_duplicates", 3, "L")]


# -- 3. a group across two tabs ---------------------------------------------------------------

def test_a_merge_tick_on_a_lead_beside_a_contact_stays_and_says_convert(book):
    """A lead and a contact are not merged (a conversion is how a lead joins a contact). The tick
    was dropped silently and came back unticked; now the group keeps its tick, an issue at the
    Merge cell says why and hints at Convert on the lead, and nothing is merged."""
    cross = next(g for g in groups(book).values() if len({r["Tab"] for r in g}) > 1)
    lead = next(r["ID"] for r in cross if r["Tab"] == "Leads")
    at = dup_row(book, cross[0]["ID"])
    set_cells(book, "Duplicates", {f"L{at}": "yes"})
    before = people(book)
    out = sync_json(book)
    assert people(book) == before
    said = [i for i in out["issues"] if i["code"] == "merge_across_tabs"]
    assert [(i["tab"], i["row"], i["column"], i["value"]) for i in said] == [("Duplicates", at, "L", "yes")]
    assert lead in said[0]["hint"] and "Convert" in said[0]["hint"]
    after = groups(book)[cross[0]["Group"]]
    assert {r["ID"] for r in after} == {r["ID"] for r in cross}
    assert [r["Merge"] for r in after if r["ID"] == cross[0]["ID"]] == ["yes"]
    again = cli("sync", "--workbook", str(book), cwd=book.parent)
    assert again.returncode == 0 and "nothing to change" in again.stdout, again.stdout


def test_google_refuses_a_group_across_tabs_and_keeps_its_tick(monkeypatch):
    """The same rule on Google (backend-independent, checked over real gspread): a lead beside a
    contact, ticked, is left as it is, tick included; the other ticked groups merge."""
    t = tabs()
    t["Leads"] = [["ID", "First Name", "Last Name", "Company", "Email", "Status", "Created"],
                  ["LEAD-0001", "Hal", "Lee", "Globex", "HAL@globex.com", "New", dt.datetime(2025, 1, 1)]]
    t["Duplicates"] += [["DUP-dddd0004", 0.95, "same email", "Contacts", "CON-0002", "Hal Lee", "", "", "", "", "",
                         "x", ""],
                        ["DUP-dddd0004", 0.95, "same email", "Leads", "LEAD-0001", "Hal Lee", "", "", "", "", "",
                         "", ""]]
    with Emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.host)
        key = emu.create_spreadsheet("CRM", {n: _plain(r) for n, r in t.items()}, value_input="USER_ENTERED")
        Book(key).book.read()
        Book(key).book.write(Plan(mark_owned=["Duplicates"]))
        outcome = sync(Book(key).book, Config(), AS_OF)
        said = [(i.code, i.row, i.column) for i in outcome.crm.report.issues if i.code.startswith("merge_")]
        at = next(n + 1 for n, r in enumerate(emu.values(key, "Duplicates")) if r and r[0] == "DUP-dddd0004")
        assert said == [("merge_across_tabs", at, "L")]
        assert {r[0] for r in emu.values(key, "Contacts")[1:]} == {"CON-0001", "CON-0002", "CON-0004"}
        assert [r[0] for r in emu.values(key, "Leads")[1:]] == ["LEAD-0001"]
        kept = [r for r in emu.values(key, "Duplicates") if r and r[0] == "DUP-dddd0004"]
        assert [(r[4], r[11] if len(r) > 11 else "") for r in kept] == [("CON-0002", "x"), ("LEAD-0001", "")]
        assert not sync(Book(key).book, Config(), AS_OF).plan


# -- 4. what a dry run and the summary say ----------------------------------------------------

def test_a_dry_run_shows_rows_removed_and_references_moved_per_tab(book):
    contact_group = next(g for g in groups(book).values() if all(r["Tab"] == "Contacts" for r in g))
    merged = sorted(contact_group, key=lambda r: r["Created"])[1]["ID"]   # the oldest survives
    # Two activities about the record to merge (a person's edit), besides any it has.
    acts = openpyxl.load_workbook(book)["Activities"]
    related = 1 + [c.value for c in acts[1]].index("Related")
    set_cells(book, "Activities", {f"{openpyxl.utils.get_column_letter(related)}{r}": merged for r in (2, 3)})
    refs = sum(1 for t in ("Opportunities", "Activities", "Tasks") for r in rows(book, t)
               if merged in (r.get("Contact"), r.get("Related")))
    set_cells(book, "Duplicates", {f"L{dup_row(book, contact_group[0]['ID'])}": "yes"})
    planned = sync_json(book, "--dry-run")["planned"]
    assert planned["rows_removed"] == {"Contacts": 1}
    assert sum(planned["references_moved"].values()) == refs > 0
    text = cli("sync", "--workbook", str(book), "--dry-run", cwd=book.parent).stdout
    assert f"removed 1 row from Contacts; re-pointed {planned['references_moved']['Activities']} references in Activities" in text
    done = cli("sync", "--workbook", str(book), cwd=book.parent)
    assert "removed 1 row from Contacts" in done.stdout, done.stdout
    assert merged not in {c["ID"] for c in rows(book, "Contacts")}


def test_the_summary_is_spanish_in_spanish(book, tmp_path):
    contact_group = next(g for g in groups(book).values() if all(r["Tab"] == "Contacts" for r in g))
    set_cells(book, "Duplicates", {f"L{dup_row(book, contact_group[0]['ID'])}": "yes"})
    (book.parent / "sheetcrm.toml").write_text('locale = "es"\n')
    text = cli("sync", "--workbook", str(book), "--dry-run", cwd=book.parent).stdout
    assert "1 fila quitada de Contacts" in text, text


# -- 5. a converted lead and what it became ---------------------------------------------------

def test_a_converted_lead_is_not_proposed_as_a_duplicate_of_what_it_became(demo):
    linked = {(r["ID"], r["Converted Contact"]) for r in rows(demo, "Leads") if r.get("Converted Contact")}
    assert linked, "the demo converts a lead"
    for g in groups(demo).values():
        members = {r["ID"] for r in g}
        assert not any({lead, contact} <= members for lead, contact in linked), g


# -- 6. a merged lead's status history --------------------------------------------------------

def test_a_merged_leads_status_history_stays_its_own(tmp_path):
    """Re-pointed, the merged lead's history would be the survivor's past: "New → Unqualified"
    on a survivor that is Converted, and its next change logged from a status it never had.
    It stays under its own ID; the survivor's history is untouched and the next sync logs
    nothing for it. The survivor is the lead whose Status says Converted, though the other is
    older: a merge keeps a conversion with its lead, so the KPIs still count the person as
    converted (test_merge_conversion.py)."""
    leads = [["ID", "First Name", "Last Name", "Company", "Email", "Status", "Created"],
             ["LEAD-0001", "Ana", "Ruiz", "Acme", "ana@acme.com", "Unqualified", dt.datetime(2025, 1, 1)],
             ["LEAD-0002", "Ana", "Ruiz", "Acme", "ANA@acme.com", "Converted", dt.datetime(2025, 2, 1)]]
    history = [["Lead", "From", "To", "Changed At"],
               ["LEAD-0001", "", "New", dt.datetime(2025, 1, 1)],
               ["LEAD-0001", "New", "Unqualified", dt.datetime(2025, 1, 5)],
               ["LEAD-0002", "", "New", dt.datetime(2025, 2, 1)],
               ["LEAD-0002", "New", "Converted", dt.datetime(2025, 3, 1)]]
    dups = [tabs()["Duplicates"][0],
            ["DUP-eeee0005", 1, "same email", "Leads", "LEAD-0001", "Ana Ruiz", "", "", "", "", "", "x", ""],
            ["DUP-eeee0005", 1, "same email", "Leads", "LEAD-0002", "Ana Ruiz", "", "", "", "", "", "", ""]]
    book = MemoryWorkbook({"Leads": leads, "Lead Status History": history, "Duplicates": dups},
                          owned={"Duplicates", "Lead Status History"})
    sync(book, Config(), AS_OF)
    assert [r[0] for r in book.tabs["Leads"][1:] if r and r[0]] == ["LEAD-0002"]
    assert [[r[0], r[1] or None, r[2]] for r in book.tabs["Lead Status History"][1:]] == [
        ["LEAD-0001", None, "New"], ["LEAD-0001", "New", "Unqualified"],
        ["LEAD-0002", None, "New"], ["LEAD-0002", "New", "Converted"]]
    assert [r[1:4] for r in book.tabs["Merged"][1:]] == [["LEAD-0002", "Leads", "LEAD-0001"]]
    assert not sync(book, Config(), AS_OF).plan


# -- 7. a converted lead naming a record that is gone ----------------------------------------

def test_a_deleted_converted_account_is_reported_at_the_leads_cell(book):
    lead = next(r for r in rows(book, "Leads") if r.get("Converted Account"))
    account = lead["Converted Account"]
    wb = openpyxl.load_workbook(book)
    ws = wb["Accounts"]
    ws.delete_rows(next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == account))
    wb.save(book)
    out = sync_json(book)
    leads = openpyxl.load_workbook(book)["Leads"]
    header = [c.value for c in leads[1]]
    row = next(r for r in range(2, leads.max_row + 1) if leads.cell(r, 1).value == lead["ID"])
    col = openpyxl.utils.get_column_letter(header.index("Converted Account") + 1)
    said = [i for i in out["issues"] if i["code"] == "converted_record_missing"]
    assert [(i["severity"], i["tab"], i["row"], i["column"], i["value"]) for i in said] == [
        ("warning", "Leads", row, col, account)]
    assert leads.cell(row, header.index("Converted Account") + 1).value == account   # not cleared quietly


def test_a_merged_account_moves_the_leads_converted_account_to_the_survivor():
    """The lead's Converted Account is a reference like any other: merged away, it names the
    survivor, so it is never reported as a record gone."""
    t = tabs()
    t["Leads"] = [["ID", "First Name", "Last Name", "Company", "Email", "Status", "Created", "Converted Account"],
                  ["LEAD-0001", "Ivy", "Tan", "ACME Inc", "ivy@acme.com", "Converted", dt.datetime(2025, 1, 1),
                   "ACC-0003"]]
    book = MemoryWorkbook(t, owned={"Duplicates"})
    outcome = sync(book, Config(), AS_OF)
    assert book.tabs["Leads"][1][7] == "ACC-0001"
    assert not [i for i in outcome.crm.report.issues if i.code == "converted_record_missing"]
    assert not sync(book, Config(), AS_OF).plan
