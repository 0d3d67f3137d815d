"""`sheetcrm import` (issue 13, item 2): other tools' exports into a tab, on real .xlsx files,
through the real command."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import openpyxl

from sheetcrm.config import Config
from sheetcrm.intake.importer import import_file, read_export
from sheetcrm.workbook.xlsx import XlsxWorkbook

LEADS = ["ID", "First Name", "Last Name", "Company", "Email", "Phone", "Source", "Status", "Created", "Notes"]


def _workbook(tmp_path, leads_rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Leads"
    for row in [LEADS, *leads_rows]:
        ws.append(row)
    acc = wb.create_sheet("Accounts")
    acc.append(["ID", "Name", "Domain", "Industry"])
    acc.append(["ACC-0001", "Acme Corp", "acme.com", None])
    path = tmp_path / "crm.xlsx"
    wb.save(path)
    return path


def _csv(path, header, rows, encoding="utf-8", delimiter=","):
    with open(path, "w", newline="", encoding=encoding) as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def _run(*args, cwd):
    env = {**os.environ, "LANG": "C"}
    return subprocess.run([sys.executable, "-m", "sheetcrm", *args], cwd=cwd, capture_output=True, text=True, env=env)


def test_a_10k_export_with_10_percent_overlap_adds_exactly_the_new_ones(tmp_path):
    existing = [[f"LEAD-{i:04d}", "Old", f"Person{i}", f"Co{i}", f"p{i}@old.com", None, "Referral", "New",
                 "2026-01-02", f"note {i}"] for i in range(1, 1001)]
    path = _workbook(tmp_path, existing)
    # A HubSpot contacts export: 1,000 of its 10,000 people are already leads (by email, in
    # another case); the other 9,000 are new.
    header = ["Record ID", "First Name", "Last Name", "Email", "Phone Number", "Company Name", "Lead Status",
              "Create Date"]
    rows = [[900000 + i, "Known", f"Person{i}", f"P{i}@OLD.com", "", f"Co{i}", "New", "2026-03-01"]
            for i in range(1, 1001)]
    rows += [[i, "New", f"Person{i}", f"n{i}@new.com", f"+34 600 {i:06d}", f"Newco{i}", "Contacted", "2026-03-02"]
             for i in range(1, 9001)]
    export = _csv(tmp_path / "hubspot.csv", header, rows)
    book = XlsxWorkbook(path)
    before = book.read().tabs["Leads"].rows
    result = import_file(book, Config(), export, "leads")
    assert result.counts == {"added": 9000, "matched": 1000, "rejected": 0}
    leads = book.read().tabs["Leads"].rows
    assert len(leads) == 1 + 1000 + 9000
    assert leads[1001][:8] == ["LEAD-1001", "New", "Person1", "Newco1", "n1@new.com", "+34 600 000001", None,
                               "Contacted"]
    assert leads[-1][0] == "LEAD-10000" and len({r[0] for r in leads[1:]}) == 10000
    # Nothing already there changed: the first 1,000 rows are exactly as they were.
    assert leads[:1001] == before
    again = import_file(book, Config(), export, "leads")
    assert again.counts == {"added": 0, "matched": 10000, "rejected": 0} and not again.plan.writes


def test_rejected_rows_say_why_and_dry_run_writes_nothing(tmp_path):
    path = _workbook(tmp_path, [])
    before = path.read_bytes()
    export = _csv(tmp_path / "zoho.csv", ["First Name", "Last Name", "Email", "Lead Source", "Lead Status",
                                         "Created Time", "Annual Revenue"],
                  [["Ana", "Ruiz", "ana@acme.com", "Web", "New", "2026-02-30", "10"],
                   ["Bob", "Stone", "bob@", "Web", "New", "2026-02-01", "10"],
                   ["Cy", "", "", "Web", "Weird", "", ""],
                   ["Dee", "Lane", "dee@d.com", "Ads", "Qualified", "2026-02-03", ""]])
    result = import_file(XlsxWorkbook(path), Config(), export, "leads", dry_run=True)
    assert path.read_bytes() == before
    assert [(r.line, r.status) for r in result.rows] == [(2, "rejected"), (3, "rejected"), (4, "rejected"),
                                                         (5, "added")]
    assert "Created Time" in result.rows[0].reasons[0] and "2026-02-30" in result.rows[0].reasons[0]
    assert "bob@" in result.rows[1].reasons[0]
    assert any("Weird" in r for r in result.rows[2].reasons)
    assert result.ignored == ["Annual Revenue"]
    assert result.plan.writes and result.written is None


def test_fill_blanks_fills_only_empty_cells_of_matched_records(tmp_path):
    path = _workbook(tmp_path, [["LEAD-0001", "Ana", "Ruiz", None, "ana@acme.com", None, "Referral", "New", None,
                                 "keep me"]])
    export = _csv(tmp_path / "sf.csv", ["First Name", "Last Name", "Email", "Company / Account", "Phone",
                                        "Lead Source"],
                  [["Anna", "Ruiz-Other", "ana@acme.com", "Acme", "+1 555 0100", "Web"]])
    book = XlsxWorkbook(path)
    plain = import_file(book, Config(), export, "leads")
    assert plain.counts["matched"] == 1 and not plain.plan.writes
    result = import_file(book, Config(), export, "leads", fill_blanks=True)
    assert result.rows[0].filled == 2
    row = book.read().tabs["Leads"].rows[1]
    # Company and Phone were empty: filled. Names and Source had values: kept.
    assert row[:10] == ["LEAD-0001", "Ana", "Ruiz", "Acme", "ana@acme.com", "+1 555 0100", "Referral", "New", None,
                        "keep me"]


def _accounts(tmp_path, rows, deals=()):
    """A workbook whose Accounts (and Opportunities) tab holds `rows` (and `deals`)."""
    wb = openpyxl.Workbook()
    acc = wb.active
    acc.title = "Accounts"
    for row in [["ID", "Name", "Domain", "Industry"], *rows]:
        acc.append(row)
    opp = wb.create_sheet("Opportunities")
    for row in [["ID", "Name", "Account", "Stage", "Amount", "Close Date"], *deals]:
        opp.append(row)
    path = tmp_path / "crm.xlsx"
    wb.save(path)
    return path


def test_accounts_match_by_name_or_by_domain_with_a_similar_name_and_cp1252_semicolons(tmp_path):
    # A domain alone used to match ("Other name" at acme.com was ACC-0001). It no longer does:
    # two companies share a domain often enough (a reseller, a group's divisions) that the
    # link, made without asking anyone, would be wrong. "Other name" is added, as conversion
    # would add it; "Acme Corporation" at the same domain is a similar name there: matched.
    path = _workbook(tmp_path, [])
    export = _csv(tmp_path / "pipedrive.csv", ["Organization - Name", "Organization - Website", "Sector"],
                  [["ACME CORP", "", "Tech"], ["Other name", "https://www.acme.com/x", ""],
                   ["Ñandú Comunicación", "nandu.es", "Medios"], ["Acme Corporation", "www.acme.com", ""]],
                  encoding="cp1252", delimiter=";")
    book = XlsxWorkbook(path)
    result = import_file(book, Config(), export, "accounts")
    assert [(r.status, r.id) for r in result.rows] == [("matched", "ACC-0001"), ("added", "ACC-0002"),
                                                       ("added", "ACC-0003"), ("matched", "ACC-0001")]
    rows = book.read().tabs["Accounts"].rows
    assert rows[2][:3] == ["ACC-0002", "Other name", "https://www.acme.com/x"]
    assert rows[3][:4] == ["ACC-0003", "Ñandú Comunicación", "nandu.es", "Medios"] and len(rows) == 4


def test_fill_blanks_fills_only_the_account_the_strict_rule_matches(tmp_path):
    path = _accounts(tmp_path, [["ACC-0001", "Acme Corp", "acme.com", None]])
    export = _csv(tmp_path / "a.csv", ["Account Name", "Website", "Industry"],
                  [["Other name", "acme.com", "Retail"],          # the domain alone: a new account
                   ["acme  corp", "https://www.acme.com/", "Tech"]])  # the name and the domain: ACC-0001
    book = XlsxWorkbook(path)
    result = import_file(book, Config(), export, "accounts", fill_blanks=True)
    assert [(r.status, r.id, r.filled) for r in result.rows] == [("added", "ACC-0002", 0), ("matched", "ACC-0001", 1)]
    rows = book.read().tabs["Accounts"].rows
    assert rows[1:] == [["ACC-0001", "Acme Corp", "acme.com", "Tech"], ["ACC-0002", "Other name", "acme.com", "Retail"]]


def test_an_account_two_records_match_alike_is_rejected_naming_both(tmp_path):
    path = _accounts(tmp_path, [["ACC-0001", "Acme Corp", "acme.com", None],
                                ["ACC-0002", "Acme Corp", "acme.co.uk", None]])
    before = path.read_bytes()
    export = _csv(tmp_path / "a.csv", ["Account Name", "Website", "Industry"],
                  [["Acme Corp", "", "Tech"],                     # both by name: no domain to tell them apart
                   ["ACME Corp", "https://acme.co.uk", "Retail"]])  # the domain tells: ACC-0002
    book = XlsxWorkbook(path)
    result = import_file(book, Config(), export, "accounts", fill_blanks=True, dry_run=True)
    tie, one = result.rows
    assert (tie.status, tie.id, tie.candidates) == ("rejected", None, ["ACC-0001", "ACC-0002"])
    assert "ACC-0001, ACC-0002" in tie.reasons[0]
    assert tie.as_dict()["candidates"] == ["ACC-0001", "ACC-0002"]
    assert (one.status, one.id, one.filled) == ("matched", "ACC-0002", 1)
    # The only write is ACC-0002's empty Industry: nothing for the tie, no row appended.
    assert [(w.row, w.col, w.value) for w in result.plan.writes] == [(3, 4, "Retail")]
    assert path.read_bytes() == before


def test_the_command_names_the_candidates_of_a_tie(tmp_path):
    path = _accounts(tmp_path, [["ACC-0001", "Acme Corp", "acme.com", None],
                                ["ACC-0002", "Acme Corp", "acme.co.uk", None]])
    _csv(tmp_path / "a.csv", ["Account Name"], [["Acme Corp"]])
    text = _run("import", "a.csv", "--tab", "accounts", "--workbook", path.name, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert "0 added, 0 matched, 1 rejected" in text.stdout and "ACC-0001, ACC-0002" in text.stdout
    data = json.loads(_run("import", "a.csv", "--tab", "accounts", "--workbook", path.name, "--format", "json",
                           cwd=tmp_path).stdout)
    assert data["rows"][0]["candidates"] == ["ACC-0001", "ACC-0002"] and data["cells_written"] == 0


def test_deals_match_only_the_same_name_at_the_same_account(tmp_path):
    path = _accounts(tmp_path, [["ACC-0001", "Acme Corp", "acme.com", None], ["ACC-0002", "Beta", None, None]],
                     [["OPP-0001", "Big deal", "ACC-0001", "Proposal", 100, "2026-12-01"],
                      ["OPP-0002", "Renewal", "Acme Corp", "Proposal", 100, "2026-12-01"],
                      ["OPP-0003", "Renewal", "acc-0001", "Proposal", 100, "2026-12-01"]])
    export = _csv(tmp_path / "d.csv", ["Deal Name", "Associated Company", "Deal Stage", "Amount", "Close Date"],
                  [["BIG  DEAL", "Acme Corp", "Proposal", "100", "2026-12-01"],   # the account by name: OPP-0001
                   ["Big deal", "Beta", "Proposal", "100", "2026-12-01"],        # another account: new
                   ["Big deals", "ACC-0001", "Proposal", "100", "2026-12-01"],   # never fuzzy: new
                   ["Renewal", "ACC-0001", "Proposal", "100", "2026-12-01"]])    # two alike: rejected
    book = XlsxWorkbook(path)
    result = import_file(book, Config(), export, "opportunities")
    assert [(r.status, r.id) for r in result.rows] == [("matched", "OPP-0001"), ("added", "OPP-0004"),
                                                       ("added", "OPP-0005"), ("rejected", None)]
    assert result.rows[3].candidates == ["OPP-0002", "OPP-0003"]
    assert [r[:3] for r in book.read().tabs["Opportunities"].rows[4:]] == [["OPP-0004", "Big deal", "Beta"],
                                                                          ["OPP-0005", "Big deals", "ACC-0001"]]


def test_a_tie_among_leads_is_rejected_too(tmp_path):
    # Two leads with one email (the Duplicates tab's business): an import does not pick one.
    path = _workbook(tmp_path, [["LEAD-0001", "Ana", "Ruiz", None, "ana@acme.com", None, None, "New", None, None],
                                ["LEAD-0002", "Ana", "Ruiz", None, "ANA@acme.com", None, None, "New", None, None]])
    export = _csv(tmp_path / "l.csv", ["First Name", "Last Name", "Email", "Company"],
                  [["Ana", "Ruiz", "ana@acme.com", "Acme"]])
    result = import_file(XlsxWorkbook(path), Config(), export, "leads", fill_blanks=True)
    assert result.rows[0].candidates == ["LEAD-0001", "LEAD-0002"] and not result.plan.writes


def test_the_matchers_normalise_as_references_do():
    from sheetcrm.crm.matching import match_key as matching_key
    from sheetcrm.validate import match_key
    for text in ["  Acme\u00a0 Corp ", "\u201cBig\u201d deal", "ÑANDÚ", "a\u200bb"]:
        assert matching_key(text) == match_key(text)


def test_an_xlsx_export_of_deals(tmp_path):
    path = _workbook(tmp_path, [])
    wb = openpyxl.load_workbook(path)
    ws = wb.create_sheet("Opportunities")
    ws.append(["ID", "Name", "Account", "Stage", "Amount", "Close Date"])
    wb.save(path)
    export = openpyxl.Workbook()
    e = export.active
    e.append(["Deal Name", "Associated Company", "Deal Stage", "Amount", "Close Date"])
    e.append(["Big deal", "Acme Corp", "Proposal", 12000, "2026-12-01"])
    e.append(["Big deal", "Acme Corp", "Proposal", 12000, "2026-12-01"])  # twice in the file: once in the tab
    e.append(["No stage", "Acme Corp", "Dreaming", 5, "2026-12-01"])
    export.save(tmp_path / "deals.xlsx")
    book = XlsxWorkbook(path)
    result = import_file(book, Config(), tmp_path / "deals.xlsx", "opportunities")
    assert [r.status for r in result.rows] == ["added", "matched", "rejected"]
    rows = book.read().tabs["Opportunities"].rows
    assert rows[1][:5] == ["OPP-0001", "Big deal", "Acme Corp", "Proposal", 12000] and len(rows) == 2
    assert book.read().tabs["_sheetcrm"].rows[1:] == [["OPP", 1]] or ["OPP", 1] in book.read().tabs["_sheetcrm"].rows


def test_read_export_handles_bom_and_one_column(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes("\ufeffEmail\nana@a.com\n".encode("utf-8"))
    assert read_export(p).rows == [["Email"], ["ana@a.com"]]


def test_the_command_in_spanish_and_json(tmp_path):
    path = _workbook(tmp_path, [["LEAD-0001", "Ana", "Ruiz", None, "ana@acme.com", None, "Referral", "New", None,
                                 None]])
    (tmp_path / "sheetcrm.toml").write_text(f'workbook = "{path.name}"\nlocale = "es"\n', encoding="utf-8")
    _csv(tmp_path / "e.csv", ["Nombre", "Apellidos", "Correo electrónico", "Estado del lead"],
         [["Ana", "Ruiz", "ana@acme.com", "Nuevo"], ["Luis", "Gil", "luis@", "Nuevo"],
          ["Eva", "Sanz", "eva@e.com", "Calificado"]])
    dry = _run("import", "e.csv", "--tab", "leads", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "e.csv → Leads (simulación, no se escribió nada): añadidos: 1, coincidentes: 1, rechazados: 1" in dry.stdout
    assert "Fila" in dry.stdout and "rechazado" in dry.stdout and "no es una dirección de correo" in dry.stdout
    done = _run("import", "e.csv", "--tab", "leads", "--format", "json", cwd=tmp_path)
    data = json.loads(done.stdout)
    assert data["counts"] == {"added": 1, "matched": 1, "rejected": 1} and data["cells_written"] > 0
    assert [r["status"] for r in data["rows"]] == ["matched", "rejected", "added"]
    rows = XlsxWorkbook(path).read().tabs["Leads"].rows
    assert rows[2][:8] == ["LEAD-0002", "Eva", "Sanz", None, "eva@e.com", None, None, "Calificado"] or \
        rows[2][7] in ("Qualified", "Calificado")


def test_a_file_that_is_no_export_is_one_line_and_exit_2(tmp_path):
    path = _workbook(tmp_path, [])
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    out = _run("import", "bad.xlsx", "--tab", "leads", "--workbook", path.name, cwd=tmp_path)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
