"""`sheetcrm import` (issue 13, item 2): other tools' exports into a tab, on real .xlsx files,
through the real command."""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import subprocess
import sys

import openpyxl
import pytest

from sheetcrm.config import Config
from sheetcrm.intake.importer import ImportFileError, import_file, read_export
from sheetcrm.validate import read_crm
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



def test_fill_blanks_never_plans_nor_reports_a_fill_of_a_formula_cell(tmp_path):
    """A formula a person typed that shows nothing (`=IF(1,"","")`, its value never stored by
    openpyxl, or stored as "") read as an empty cell: --fill-blanks planned a fill there and
    reported "1 empty cell of matched records filled", though the write (expecting the cell
    empty) left the formula alone and said "changed meanwhile". A formula is a person's cell:
    neither planned nor reported; the truly empty cell beside it is filled."""
    path = _workbook(tmp_path, [["LEAD-0001", "Ana", "Ruiz", "Acme", "ana@acme.com", None, '=IF(1,"","")', "New",
                                 None, None]])
    export = _csv(tmp_path / "zoho.csv", ["First Name", "Last Name", "Email", "Lead Source", "Phone"],
                  [["Ana", "Ruiz", "ana@acme.com", "Web", "+1 555 0100"]])
    book = XlsxWorkbook(path)
    result = import_file(book, Config(), export, "leads", fill_blanks=True, dry_run=True)
    assert result.rows[0].filled == 1
    assert [(w.row, w.col, w.value) for w in result.plan.writes] == [(2, 6, "+1 555 0100")]
    out = _run("import", str(export), "--tab", "leads", "--workbook", str(path), "--fill-blanks", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "1 empty cell of matched records filled" in out.stdout and "meanwhile" not in out.stdout, out.stdout
    ws = openpyxl.load_workbook(path)["Leads"]
    assert ws["G2"].value == '=IF(1,"","")' and ws["F2"].value == "+1 555 0100"

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


def _json(out):
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_an_ambiguous_date_is_reported_at_its_cell_in_text_and_json(tmp_path):
    """03/04/2026 is March or April: the import says both readings and a hint, per row, as
    sync's ambiguous_date does (found by m13test: it was guessed silently), and leaves the
    lead's Created empty (written, the next sync read the import's guess and said nothing)."""
    path = _workbook(tmp_path, [])
    _csv(tmp_path / "export.csv", ["First Name", "Last Name", "Email", "Company", "Create Date"],
         [["Ann", "One", "ann.one@x1.example", "X1 Ltd", "03/04/2026"],
          ["Bob", "Two", "bob.two@x2.example", "X2 Ltd", "2026-05-04"]])
    data = _json(_run("import", "export.csv", "--tab", "leads", "--workbook", path.name, "--dry-run", "--format",
                      "json", cwd=tmp_path))
    first, second = data["rows"]
    assert [w["code"] for w in first["warnings"]] == ["import_left_empty"] and second["warnings"] == []
    warning = first["warnings"][0]
    assert warning["column"] == "Create Date" and warning["value"] == "03/04/2026"
    assert "2026-03-04" in warning["message"] and "2026-04-03" in warning["message"] and "locale" in warning["hint"]
    text = _run("import", "export.csv", "--tab", "leads", "--workbook", path.name, cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    assert "1 value was read with a doubt" in text.stdout
    assert ('export.csv!E2: Created left empty in LEAD-0001, since this cell cannot be read with confidence: '
            '"03/04/2026" read as 2026-03-04 (month first); could be 2026-04-03.') in text.stdout
    assert "new IDs: LEAD-0001, LEAD-0002" in text.stdout
    created = [(r + [None] * 9)[8] for r in XlsxWorkbook(path).read().tabs["Leads"].rows[1:]]
    assert created[0] is None and created[1] == dt.date(2026, 5, 4)


def test_a_dates_reading_does_not_depend_on_the_files_other_columns(tmp_path):
    """The same dates in a Spanish semicolon file with decimal commas and in a plain English
    one are read the same way: by the config's locale (or the tab's language) unless the date
    column itself proves its order. Found by m13test: the Spanish headers made 03/04/2026 the
    3rd of April, the English ones the 4th of March."""
    path = _workbook(tmp_path, [])
    _csv(tmp_path / "es.csv", ["Nombre", "Apellidos", "Correo electrónico", "Fecha de creación", "Importe"],
         [["Ann", "One", "a1@x.example", "03/04/2026", "1.234,50"]], delimiter=";")
    _csv(tmp_path / "en.csv", ["First Name", "Last Name", "Email", "Create Date", "Amount"],
         [["Ann", "One", "a1@x.example", "03/04/2026", "1234.50"]])
    _csv(tmp_path / "proved.csv", ["First Name", "Last Name", "Email", "Create Date"],
         [["Ann", "One", "a1@x.example", "03/04/2026"], ["Bob", "Two", "b2@x.example", "13/04/2026"]])

    def created(file, config=None):
        args = ["import", file, "--tab", "leads", "--workbook", path.name, "--format", "json"]
        if config:
            (tmp_path / "c.toml").write_text(config, encoding="utf-8")
            args += ["--config", "c.toml"]
        data = _json(_run(*args, cwd=tmp_path))
        rows = XlsxWorkbook(path).read().tabs["Leads"].rows
        dates = [r[8] if len(r) > 8 else None for r in rows[1:]]
        codes = [w["code"] for r in data["rows"] for w in r["warnings"]]
        wb = openpyxl.load_workbook(path)  # back to no leads for the next import
        wb["Leads"].delete_rows(2, 10)
        wb.save(path)
        return [d and d.isoformat()[:10] for d in dates], codes

    # A date in doubt is not written (`import_left_empty`), whichever the file's other columns.
    assert created("es.csv") == created("en.csv") == ([None], ["import_left_empty"])
    assert created("es.csv", 'locale = "es"\n') == created("en.csv", 'locale = "es"\n') == (["2026-04-03"], [])
    assert created("proved.csv") == (["2026-04-03", "2026-04-13"], [])


def test_an_empty_file_or_one_without_headers_is_one_line_and_exit_2(tmp_path):
    path = _workbook(tmp_path, [])
    before = path.read_bytes()
    (tmp_path / "empty.csv").write_text("", encoding="utf-8")
    (tmp_path / "blank.csv").write_text("\n;\n\n", encoding="utf-8")
    _csv(tmp_path / "noheader.csv", ["Ann", "One", "ann@x.example"], [["Bob", "Two", "bob@x.example"]])
    for name, said in (("empty.csv", "the file is empty"), ("blank.csv", "the file is empty"),
                       ("noheader.csv", "no header row names a column of the Leads tab")):
        out = _run("import", name, "--tab", "leads", "--workbook", path.name, cwd=tmp_path)
        assert out.returncode == 2 and out.stderr.count("\n") == 1 and said in out.stderr, (name, out.stderr)
        assert out.stdout == "" and "Traceback" not in out.stderr
    assert path.read_bytes() == before


def test_a_line_break_or_control_character_rejects_the_row_at_its_cell(tmp_path):
    """"Eve\\r\\nBcc: victim@x.example" in a name is never written: the row is rejected, the
    reason names the column and shows the invisible characters; a free-text column of the
    team's may keep \\n (never \\r), and text over a cell's 32,767 characters is rejected."""
    path = _workbook(tmp_path, [])
    _csv(tmp_path / "e.csv", ["First Name", "Last Name", "Email", "Notes"],
         [["Eve\r\nBcc: victim@x.example", "One", "eve@x.example", ""],
          ["Ann", "Two", "ann@x.example", "line one\nline two"],
          ["Bob", "Three", "bob@x.example", "bad\r\nbreak"],
          ["Cy", "Four\x1b[2J", "cy@x.example", ""],
          ["Dee", "Five", "dee@x.example", "x" * 40_000]])
    data = _json(_run("import", "e.csv", "--tab", "leads", "--workbook", path.name, "--format", "json",
                      cwd=tmp_path))
    assert [r["status"] for r in data["rows"]] == ["rejected", "added", "rejected", "rejected", "rejected"]
    eve, _ann, bob, cy, dee = (r["reasons"] for r in data["rows"])
    assert eve[0].startswith('First Name: "Eve\\u000d\\u000aBcc: victim@x.example" holds a line break')
    assert bob[0].startswith("Notes: ") and "U+000D" in bob[0]
    assert cy[0].startswith("Last Name: ") and "\\u001b" in cy[0]
    assert dee[0].startswith("Notes: ") and "40,000" in dee[0] and "32,767" in dee[0]
    rows = XlsxWorkbook(path).read().tabs["Leads"].rows
    assert [r[4] for r in rows[1:]] == ["ann@x.example"] and rows[1][9] == "line one\nline two"


def test_a_read_only_workbook_is_never_rewritten(tmp_path):
    """chmod 444: import and sync refuse with one line and exit 2, the file untouched, even
    for root (whom os.access lets write anything). Found by m13test."""
    import stat

    path = _workbook(tmp_path, [])
    _csv(tmp_path / "e.csv", ["First Name", "Last Name", "Email"], [["Ann", "One", "ann@x.example"]])
    path.chmod(0o444)
    before, mtime = path.read_bytes(), path.stat().st_mtime_ns
    try:
        for args in (["import", "e.csv", "--tab", "leads"], ["sync"]):
            out = _run(*args, "--workbook", path.name, cwd=tmp_path)
            assert out.returncode == 2, (args, out.stdout, out.stderr)
            assert out.stderr.count("\n") == 1 and "the workbook is read-only" in out.stderr, out.stderr
        assert path.read_bytes() == before and path.stat().st_mtime_ns == mtime
        assert stat.S_IMODE(path.stat().st_mode) == 0o444
    finally:
        path.chmod(0o644)


def test_a_deal_whose_name_or_account_cannot_be_read_is_never_twinned(tmp_path):
    """A deal row whose Name or Account shows an error may be the imported deal (its other key
    cell agrees): the row is rejected naming that cell, neither linked nor added as a twin. A
    deal whose readable key disagrees is someone else's: added. Both unreadable: nothing points
    at the row, so it does not hold the import up."""
    path = _accounts(tmp_path, [["ACC-0001", "Acme Corp", "acme.com", None], ["ACC-0002", "Beta", None, None]],
                     [["OPP-0001", "#N/A", "ACC-0001", "Proposal", 100, "2026-12-01"],
                      ["OPP-0002", "Renewal", "#REF!", "Proposal", 100, "2026-12-01"],
                      ["OPP-0003", "#N/A", "#REF!", "Proposal", 100, "2026-12-01"]])
    export = _csv(tmp_path / "d.csv", ["Deal Name", "Associated Company", "Deal Stage", "Amount", "Close Date"],
                  [["Big deal", "Acme Corp", "Proposal", "100", "2026-12-01"],   # may be OPP-0001
                   ["Big deal", "Beta", "Proposal", "100", "2026-12-01"],        # another account: new
                   ["Renewal", "Beta", "Proposal", "100", "2026-12-01"],         # may be OPP-0002
                   ["Upsell", "Beta", "Proposal", "100", "2026-12-01"]])         # nothing points: new
    book = XlsxWorkbook(path)
    result = import_file(book, Config(), export, "opportunities")
    assert [(r.status, r.id, r.candidates) for r in result.rows] == [
        ("rejected", None, ["OPP-0001"]), ("added", "OPP-0004", []), ("rejected", None, ["OPP-0002"]),
        ("added", "OPP-0005", [])]
    assert 'it may be OPP-0001, but Opportunities!B2 ("#N/A") cannot be read' in result.rows[0].reasons[0]
    assert 'it may be OPP-0002, but Opportunities!C3 ("#REF!") cannot be read' in result.rows[2].reasons[0]


def test_a_spanish_excel_csv_with_quoted_line_breaks_reads_its_semicolons(tmp_path):
    """Excel in Spanish saves ';' between cells, a decimal comma in amounts and a note's line
    breaks inside quotes, in Windows-1252. `csv.Sniffer` counted characters per physical line:
    the quoted line break (or the decimal commas alone) made it answer ',', the header was read
    as one cell, and the import refused a sound file ("no header row names a column")."""
    path = _workbook(tmp_path, [])
    lines = ["Nombre;Apellidos;Empresa;Correo electrónico;Fecha de creación;Notes",
             'José;Núñez;Café Ñandú S.A.;jose@cafe.example;05/03/2024;"llamar el lunes;\nsin falta"',
             "María;Peña;Peña y Cía;maria@pena.example;13/03/2024;1.234,56",
             "Iñigo;Ureña;Ureña SL;inigo@urena.example;01/04/2024;750,5"]
    export = tmp_path / "excel-es.csv"
    export.write_bytes("\r\n".join(lines).encode("cp1252") + b"\r\n")
    book = XlsxWorkbook(path)
    result = import_file(book, Config(), export, "leads")
    assert result.counts == {"added": 3, "matched": 0, "rejected": 0}
    rows = book.read().tabs["Leads"].rows
    assert [r[1:5] for r in rows[1:]] == [["José", "Núñez", "Café Ñandú S.A.", "jose@cafe.example"],
                                          ["María", "Peña", "Peña y Cía", "maria@pena.example"],
                                          ["Iñigo", "Ureña", "Ureña SL", "inigo@urena.example"]]
    assert [r[8].isoformat()[:10] for r in rows[1:]] == ["2024-03-05", "2024-03-13", "2024-04-01"]
    assert [r[9] for r in rows[1:]] == ["llamar el lunes;\nsin falta", "1.234,56", "750,5"]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_stray_quote_a_later_stray_quote_closes_refuses_the_file_never_swallows_the_rows_between(tmp_path,
                                                                                                   newline):
    """Zed's Notes open a quote that the 24" in Bob's closes: the rows between were one cell,
    imported as Zed's Notes ("Big deal\nBob,Lee,Beta,bob@beta.com,wants 24 screen"), Bob's lead
    never added, and the import said "2 added". Refused in one line naming both lines, in the
    team's language; a note's own lines, commas and all, still read as a note."""
    path = _workbook(tmp_path, [])
    export = tmp_path / "stray-quotes.csv"
    export.write_bytes(newline.join(['First Name,Last Name,Company,Email,Notes',
                                     'Zed,Ruiz,Acme,zed@acme.com,"Big deal',
                                     'Amy,Fox,Delta,amy@delta.com,called',
                                     'Bob,Lee,Beta,bob@beta.com,wants 24" screen',
                                     'Cy,Dee,Ceta,cy@ceta.com,fine', '']).encode())
    text = _run("import", export.name, "--tab", "leads", "--workbook", path.name, cwd=tmp_path)
    assert text.returncode == 2 and "Traceback" not in text.stderr
    assert text.stderr.count("\n") == 1 and "line 2 opens and line 4 closes" in text.stderr
    assert len(XlsxWorkbook(path).read().tabs["Leads"].rows) == 1  # nothing imported
    (tmp_path / "sheetcrm.toml").write_text('locale = "es"\n', encoding="utf-8")
    text = _run("import", export.name, "--tab", "leads", "--workbook", path.name, cwd=tmp_path)
    assert text.returncode == 2 and "la línea 2 abre y la línea 4 cierra" in text.stderr
    sound = tmp_path / "notes.csv"
    sound.write_text('First Name,Last Name,Notes\nZed,Ruiz,"Met at the fair, liked it\nwants A, B and C\nok"\n'
                     'Bob,Lee,"two\nlines"\n', encoding="utf-8")
    assert read_export(sound).rows[1:] == [["Zed", "Ruiz", "Met at the fair, liked it\nwants A, B and C\nok"],
                                           ["Bob", "Lee", "two\nlines"]]


def test_a_stray_quote_closed_within_its_row_refuses_the_file_never_joins_its_cells(tmp_path):
    """A Last Name typed with a stray quote ("Ruiz) closed by another in the Notes (Big" deal):
    the CSV reader joins the cells between into one, so Zed was added with the Last Name
    "Ruiz,Acme,zed@acme.com,Big deal" and no Company nor Email, and the import said "2 added".
    Text right after a closing quote is written by no CSV writer: the file is refused in one
    line naming the lines and that text; quoted cells closed before their separator read as
    before, spaces after the closing quote too."""
    path = _workbook(tmp_path, [])
    export = tmp_path / "joined.csv"
    export.write_text('First Name,Last Name,Company,Email,Notes\n'
                      'Zed,"Ruiz,Acme,zed@acme.com,Big" deal\n'
                      'Cy,Dee,Ceta,cy@ceta.com,fine\n', encoding="utf-8")
    with pytest.raises(ImportFileError, match='line 2 opens is closed on line 2 with text right after its closing '
                                              'quote \\(" deal"\\)'):
        import_file(XlsxWorkbook(path), Config(), export, "leads")
    assert len(XlsxWorkbook(path).read().tabs["Leads"].rows) == 1  # nothing imported
    sound = tmp_path / "sound.csv"
    sound.write_text('First Name,Last Name,Company\n"Zed" ,Ruiz,"Acme, Inc."\nBob,"Lee ""Jr""",Beta\n',
                     encoding="utf-8")
    assert read_export(sound).rows[1:] == [["Zed ", "Ruiz", "Acme, Inc."], ["Bob", 'Lee "Jr"', "Beta"]]


def test_an_account_with_or_without_the_dots_of_its_legal_form_is_matched_not_added(tmp_path):
    """"Café Ñandú S.A." in the tab and "CAFE NANDU SA" in a HubSpot companies export are one
    company (punctuation aside): the row used to be added as a second account."""
    path = _accounts(tmp_path, [["ACC-0001", "Café Ñandú S.A.", None, None]])
    export = _csv(tmp_path / "companies.csv", ["Company name", "Industry"], [["CAFE NANDU SA", "Food"]])
    book = XlsxWorkbook(path)
    result = import_file(book, Config(), export, "accounts")
    assert [(r.status, r.id) for r in result.rows] == [("matched", "ACC-0001")]
    assert len(book.read().tabs["Accounts"].rows) == 2


def test_a_person_with_no_email_or_phone_is_not_added_again_by_a_second_import(tmp_path):
    """Nothing links a row with no email and no phone (a name at a company never links), so a
    second import of the same file added every such person again: a twin per row. Now a row
    like that whose name is at its company already is rejected naming the record; a person's
    email typed into the record meanwhile changes nothing."""
    path = _workbook(tmp_path, [])
    export = _csv(tmp_path / "hubspot.csv", ["First Name", "Last Name", "Company Name", "Email", "Create Date"],
                  [["Carl", "Dee", "Dee Corp", "", "2024-03-06"], ["", "Solo", "Solo Inc", "", "2024-03-07"],
                   ["Ann", "Bee", "Bee SL", "ann@bee.example", "2024-03-05"]])
    book = XlsxWorkbook(path)
    first = import_file(book, Config(), export, "leads")
    assert [(r.status, r.id) for r in first.rows] == [("added", "LEAD-0001"), ("added", "LEAD-0002"),
                                                      ("added", "LEAD-0003")]
    wb = openpyxl.load_workbook(path)
    wb["Leads"]["E2"] = "carl@dee.example"  # a person completes the record
    wb.save(path)
    again = import_file(book, Config(), export, "leads")
    assert [(r.status, r.id, r.candidates) for r in again.rows] == [
        ("rejected", None, ["LEAD-0001"]), ("rejected", None, ["LEAD-0002"]), ("matched", "LEAD-0003", [])]
    assert "no email or phone" in again.rows[0].reasons[0]
    assert [r[0] for r in book.read().tabs["Leads"].rows[1:]] == ["LEAD-0001", "LEAD-0002", "LEAD-0003"]
    # The same person twice in one file, with nothing to link the second: not added twice.
    twice = _csv(tmp_path / "twice.csv", ["First Name", "Last Name", "Company Name"],
                 [["Eve", "Fox", "Fox SA"], ["EVE", "FOX", "Fox, S.A."], ["Eve", "Fox", "Other Co"]])
    result = import_file(book, Config(), twice, "leads")
    assert [(r.status, r.id) for r in result.rows] == [("added", "LEAD-0004"), ("rejected", None),
                                                       ("added", "LEAD-0005")]


def test_an_amount_in_another_currency_is_not_written_where_no_column_says_its_currency(tmp_path):
    """A Pipedrive export in EUR into an Opportunities tab with no Currency column: the numbers
    were written alone ("EUR 900" as 900, the Deal - Currency column "left out"), and the
    pipeline counted 1,500 EUR as 1,500 USD with nothing to say so. Such a row is rejected,
    saying why; an amount in the base currency is added; with a Currency column both are."""
    path = _accounts(tmp_path, [["ACC-0001", "Zenith Labs", None, None]])
    export = _csv(tmp_path / "pipedrive.csv", ["Deal - Title", "Deal - Organization", "Deal - Value",
                                               "Deal - Currency", "Deal - Stage"],
                  [["Pipe one", "Zenith Labs", "1500", "EUR", "Prospecting"],
                   ["Pipe two", "Zenith Labs", "2000.75", "USD", "Prospecting"],
                   ["Pipe three", "Zenith Labs", "EUR 900", "", "Prospecting"]])
    book = XlsxWorkbook(path)
    result = import_file(book, Config(), export, "opportunities")
    assert [(r.status, r.id) for r in result.rows] == [("rejected", None), ("added", "OPP-0001"), ("rejected", None)]
    assert "its amount is in EUR, and the Opportunities tab has no Currency column" in result.rows[0].reasons[0]
    assert [r[:5] for r in book.read().tabs["Opportunities"].rows[1:]] == [
        ["OPP-0001", "Pipe two", "Zenith Labs", "Prospecting", 2000.75]]
    wb = openpyxl.load_workbook(path)
    wb["Opportunities"]["G1"] = "Currency"
    wb.save(path)
    again = import_file(book, Config(), export, "opportunities")
    assert [(r.status, r.id) for r in again.rows] == [("added", "OPP-0002"), ("matched", "OPP-0001"),
                                                      ("added", "OPP-0003")]
    rows = book.read().tabs["Opportunities"].rows
    assert [(r[1], r[4], r[6]) for r in rows[2:]] == [("Pipe one", 1500, "EUR"), ("Pipe three", 900, "EUR")]


def test_excels_unicode_text_utf16_is_read(tmp_path):
    """Excel's "Unicode Text" is UTF-16 with a byte order mark, tab between cells. Read as
    Windows-1252 it had a NUL between every letter: "no header row names a column"."""
    path = _workbook(tmp_path, [])
    export = tmp_path / "excel.txt"
    export.write_bytes("First Name\tLast Name\tEmail\r\nJosé\tNúñez\tjose@x.example\r\n".encode("utf-16"))
    book = XlsxWorkbook(path)
    result = import_file(book, Config(), export, "leads")
    assert [(r.status, r.id) for r in result.rows] == [("added", "LEAD-0001")]
    assert book.read().tabs["Leads"].rows[1][:5] == ["LEAD-0001", "José", "Núñez", None, "jose@x.example"]


def test_a_file_of_two_encodings_or_utf16_without_its_mark_is_refused_with_one_line(tmp_path):
    """A file that is not UTF-8 throughout is read as Windows-1252: a UTF-8 line in it (exports
    of two tools joined) was imported as "PeÃ±a" for Peña, with nothing said. And UTF-16 without
    its byte order mark said "no header row names a column", naming nothing of the cause."""
    path = _workbook(tmp_path, [])
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes("First Name;Last Name;Email\r\n".encode() + "José;Muñoz;j@x.example\r\n".encode("cp1252")
                      + "Ana;Peña;a@x.example\r\n".encode("utf-8"))
    with pytest.raises(ImportFileError) as e:
        import_file(XlsxWorkbook(path), Config(), mixed, "leads")
    assert 'line 3 is UTF-8 ("ñ"), line 2 is not (byte 0xE9)' in str(e.value) and '"Ã±"' in str(e.value)
    assert len(XlsxWorkbook(path).read().tabs["Leads"].rows) == 1  # nothing imported
    bare = tmp_path / "bare.csv"
    bare.write_bytes("First Name,Last Name,Email\r\nJosé,Núñez,j@x.example\r\n".encode("utf-16-le"))
    with pytest.raises(ImportFileError, match="UTF-16 text without its byte order mark"):
        read_export(bare)
    # One encoding, either one, reads as before.
    for encoding in ("utf-8", "cp1252"):
        one = tmp_path / f"{encoding}.csv"
        one.write_bytes("First Name;Last Name\r\nJosé;Muñoz\r\nAna;Peña\r\n".encode(encoding))
        assert read_export(one).rows[1:] == [["José", "Muñoz"], ["Ana", "Peña"]]


def test_a_person_merged_away_is_found_in_their_survivor_not_imported_again(tmp_path):
    """Two leads of one person (one phone, two emails) merged on the Duplicates tab: the
    survivor keeps its email, and the merged one's is only in the Merged tab. A second import
    of the export that held the merged lead matched nothing and added the person again, for the
    Duplicates tab to propose once more. The Merged tab names the survivor: the row matches it."""
    import datetime as dt

    from sheetcrm.sync import sync

    path = _workbook(tmp_path, [
        ["LEAD-0001", "Ana", "García", "Acme", "ana@acme.example", "+34 600 111 222", None, "New", "2026-01-02", None],
        ["LEAD-0002", "Ana", "Garcia", "Acme", "ana.garcia@gmail.com", "+34 600 111 222", None, "New", "2026-02-02",
         None]])
    book = XlsxWorkbook(path)
    sync(book, Config(), dt.date(2026, 3, 1))
    wb = openpyxl.load_workbook(path)
    dup = wb["Duplicates"]
    header = [c.value for c in dup[1]]
    dup.cell(2, header.index("Merge") + 1, "x")
    wb.save(path)
    sync(book, Config(), dt.date(2026, 3, 2))
    assert [r[0] for r in book.read().tabs["Leads"].rows[1:]] == ["LEAD-0001"]
    export = _csv(tmp_path / "hubspot.csv", ["First Name", "Last Name", "Email", "Company Name"],
                  [["Ana", "Garcia", "ana.garcia@gmail.com", "Acme"], ["Bo", "Li", "bo@li.example", "Li SL"]])
    result = import_file(book, Config(), export, "leads")
    assert [(r.status, r.id) for r in result.rows] == [("matched", "LEAD-0001"), ("added", "LEAD-0003")]
    assert [r[0] for r in book.read().tabs["Leads"].rows[1:]] == ["LEAD-0001", "LEAD-0003"]


def test_a_reports_footer_below_an_empty_row_is_rejected_not_added_as_records(tmp_path):
    """Salesforce's "Export Details" CSV ends, below an empty line, with one-cell lines: its
    grand total, copyright, "Generated By" and the company's name. Each was added as a new
    account (its Name the first cell). They are rejected, each saying why; a one-cell row
    among the data (no empty row above it) is still a record."""
    path = _accounts(tmp_path, [])
    export = tmp_path / "report.csv"
    export.write_text('"Account Name","Account Owner","Billing Country"\n"Stark Industries","Jane Doe","US"\n'
                      '"Name Only Co"\n""\n"Grand Totals (2 records)"\n""\n'
                      '"Copyright (c) 2000-2024 salesforce.com, inc. All rights reserved."\n'
                      '"Generated By:  Jane Doe  3/15/2024 10:22 AM"\n"Acme Inc."\n', encoding="utf-8")
    book = XlsxWorkbook(path)
    result = import_file(book, Config(), export, "accounts")
    assert [(r.line, r.status) for r in result.rows] == [(2, "added"), (3, "added"), (5, "rejected"),
                                                         (7, "rejected"), (8, "rejected"), (9, "rejected")]
    assert '"Grand Totals (2 records)"' in result.rows[2].reasons[0] and "footer" in result.rows[2].reasons[0]
    assert [r[1] for r in book.read().tabs["Accounts"].rows[1:]] == ["Stark Industries", "Name Only Co"]


def test_a_pipedrive_deal_won_or_lost_is_imported_closed_not_in_its_pipeline_stage(tmp_path):
    """Pipedrive keeps a closed deal in the pipeline stage it was in and says won or lost in
    "Deal - Status": read by its Stage alone, the won deal was open Negotiation (pipeline and
    forecast counted it) and the lost one open Proposal. A won (lost) deal takes the won (lost)
    stage and the day it closed; a deleted one is rejected; an open one keeps its stage."""
    path = _accounts(tmp_path, [["ACC-0001", "Acme Corp", "acme.com", None]])
    export = _csv(tmp_path / "deals.csv", ["Deal - Title", "Deal - Value", "Deal - Organization", "Deal - Stage",
                                           "Deal - Status", "Deal - Expected close date", "Deal - Won time", "Next Step"],
                  [["Big", "5000", "Acme Corp", "Negotiation", "won", "2024-02-01", "2024-02-03 10:00:00", ""],
                   ["Lost one", "700", "Acme Corp", "Proposal", "Lost", "2024-03-01", "", ""],
                   ["Open one", "900", "Acme Corp", "Proposal", "open", "2024-04-01", "", "Call Ann"],
                   ["Gone", "100", "Acme Corp", "Proposal", "deleted", "2024-04-01", "", ""]])
    book = XlsxWorkbook(path)
    result = import_file(book, Config(), export, "opportunities")
    assert [r.status for r in result.rows] == ["added", "added", "added", "rejected"]
    # Its Next Step is left out as any column with no place; no word about where sheetcrm
    # would write its own Next Step in the file.
    assert result.ignored == ["Next Step"] and not result.warnings  # Status and Won time were read
    assert '"deleted"' in result.rows[3].reasons[0]
    rows = book.read().tabs["Opportunities"].rows
    assert [(r[1], r[3], r[5]) for r in rows[1:]] == [
        ("Big", "Closed Won", dt.date(2024, 2, 3)), ("Lost one", "Closed Lost", dt.date(2024, 3, 1)),
        ("Open one", "Proposal", dt.date(2024, 4, 1))]
    # Two won stages: which one is the deal's is for a person to say.
    config = Config.model_validate({"stages": [{"name": "Open", "probability": 50},
                                               {"name": "Won new", "probability": 100, "kind": "won"},
                                               {"name": "Won renewal", "probability": 100, "kind": "won"}]})
    again = import_file(book, config, export, "opportunities", dry_run=True)
    assert again.rows[0].status == "rejected" and "Won new, Won renewal" in again.rows[0].reasons[0]


def test_hubspots_deal_probability_is_its_stages_not_an_override_and_is_left_out(tmp_path):
    """HubSpot's "Deal probability" is its pipeline stage's probability (a 0-1 fraction). It
    read as Probability (normalize_key makes it Pipedrive's "Deal - Probability"), an override
    of the stage's that stayed when the deal moved on: left out, as aliases.toml meant, and
    listed. Pipedrive's, a person's 0-100 on the deal, is still the deal's Probability."""
    path = _accounts(tmp_path, [["ACC-0001", "Acme Corp", "acme.com", None]])
    wb = openpyxl.load_workbook(path)
    wb["Opportunities"].cell(1, 7, "Probability")
    wb.save(path)
    book = XlsxWorkbook(path)
    hubspot = _csv(tmp_path / "hubspot.csv", ["Record ID", "Deal Name", "Deal Stage", "Amount", "Associated Company",
                                              "Deal probability"], [["1001", "Expansion", "Proposal", "500",
                                                                     "Acme Corp", "0.2"]])
    result = import_file(book, Config(), hubspot, "opportunities")
    assert result.rows[0].status == "added" and "Deal probability" in result.ignored
    pipedrive = _csv(tmp_path / "pipedrive.csv", ["Deal - Title", "Deal - Stage", "Deal - Organization",
                                                  "Deal - Probability"], [["Renewal", "Proposal", "Acme Corp", "30"]])
    assert import_file(book, Config(), pipedrive, "opportunities").rows[0].status == "added"
    assert [(r[1], (r + [None] * 7)[6]) for r in book.read().tabs["Opportunities"].rows[1:]] == [
        ("Expansion", None), ("Renewal", 30)]


def test_another_crms_stage_or_status_word_is_rejected_saying_which_words_are_read_and_how_to_map_one(tmp_path):
    """Another CRM's word ("Proposal Made", HubSpot's "In Progress") is refused, and the reason
    used to stop at "is not a valid stage": it now lists the words read and, for a stage, the
    mapping the config has for it (a stage's `aliases`), which then imports the row."""
    path = _accounts(tmp_path, [["ACC-0001", "Acme Corp", "acme.com", None]])
    export = _csv(tmp_path / "deals.csv", ["Deal - Title", "Deal - Stage", "Deal - Organization"],
                  [["A", "Proposal Made", "Acme Corp"]])
    book = XlsxWorkbook(path)
    reason = import_file(book, Config(), export, "opportunities", dry_run=True).rows[0].reasons[0]
    assert "Use one of: Prospecting, Qualification, Proposal" in reason and "`aliases`" in reason
    stages = [s.model_dump() for s in Config().stages]
    stages[2]["aliases"].append("Proposal Made")
    mapped = import_file(book, Config.model_validate({"stages": stages}), export, "opportunities")
    assert mapped.rows[0].status == "added" and book.read().tabs["Opportunities"].rows[1][3] == "Proposal"
    leads = _workbook(tmp_path, [])
    hubspot = _csv(tmp_path / "contacts.csv", ["Email", "Lead Status"], [["a@b.example", "In Progress"]])
    reason = import_file(XlsxWorkbook(leads), Config(), hubspot, "leads", dry_run=True).rows[0].reasons[0]
    assert "Use one of: New, Contacted" in reason and "aliases" not in reason


def test_another_crms_lead_status_is_read_once_the_config_maps_it(tmp_path):
    """HubSpot's, Salesforce's and Zoho's lead statuses had no mapping: a file of them could not
    be imported but by editing every cell. `[lead_statuses]` gives a status other words, as a
    stage's `aliases` do: the row is imported in the team's word, the reason of a word still
    unmapped says where to map it, and a word given to two statuses is refused."""
    path = _workbook(tmp_path, [["LEAD-0001", "Ann", "Bee", "Bee", "ann@bee.example", None, None, "Contactado",
                                 None, None]])
    export = _csv(tmp_path / "leads.csv", ["First Name", "Last Name", "Email", "Lead Status"],
                  [["Eve", "Fox", "eve@fox.example", "Working - Contacted"],  # Salesforce
                   ["Gil", "Hay", "gil@hay.example", "ATTEMPTED_TO_CONTACT"],  # HubSpot's internal value
                   ["Ida", "Ivy", "ida@ivy.example", "Junk Lead"],  # Zoho
                   ["Jo", "Jay", "jo@jay.example", "BAD_TIMING"]])
    config = Config.model_validate({"lead_statuses": {
        "Contacted": ["Working - Contacted", "Attempted to Contact"], "No calificado": ["Junk Lead"]}})
    book = XlsxWorkbook(path)
    result = import_file(book, config, export, "leads")
    assert [r.status for r in result.rows] == ["added", "added", "added", "rejected"]
    assert "[lead_statuses]" in result.rows[3].reasons[0] and "BAD_TIMING" in result.rows[3].reasons[0]
    assert [r[7] for r in book.read().tabs["Leads"].rows[1:]] == ["Contactado", "Contactado", "Contactado",
                                                                  "Unqualified"]
    with pytest.raises(ValueError, match="Open"):
        Config.model_validate({"lead_statuses": {"New": ["Open"], "Contacted": ["OPEN"]}})
    with pytest.raises(ValueError, match="Hot"):
        Config.model_validate({"lead_statuses": {"Hot": ["x"]}})


def test_a_salesforce_data_loader_export_is_read_by_its_field_api_names(tmp_path):
    """Salesforce's Data Loader and weekly Data Export write field API names ("FirstName",
    "LastName", "LeadSource", "CreatedDate"): unknown, the leads were added with no name (the
    name columns only listed as left out). Its record IDs ("OwnerId") are still left out."""
    path = _workbook(tmp_path, [])
    export = _csv(tmp_path / "Lead.csv", ["Id", "FirstName", "LastName", "Company", "Email", "Phone", "MobilePhone",
                                          "LeadSource", "CreatedDate", "OwnerId"],
                  [["00Q5g000001", "Ann", "Bee", "Bee Ltd", "ann@bee.example", "", "+1 617 555 0100", "Web",
                    "2024-01-15", "0055g0001"]])
    book = XlsxWorkbook(path)
    result = import_file(book, Config(), export, "leads")
    assert result.ignored == ["OwnerId"]
    assert book.read().tabs["Leads"].rows[1][:9] == ["LEAD-0001", "Ann", "Bee", "Bee Ltd", "ann@bee.example",
                                                     "+1 617 555 0100", "Web", None, dt.date(2024, 1, 15)]


def test_a_second_column_of_one_field_fills_the_rows_the_first_leaves_empty(tmp_path):
    """HubSpot's "Phone Number" and "Mobile Phone Number" both read as Phone: the second was
    dropped ("appears twice; only the first column is read"), so a person with only a mobile
    was imported with no phone. It fills the rows whose first is empty; where both are filled
    and differ, a warning at the row says the second is left out."""
    path = _workbook(tmp_path, [])
    export = _csv(tmp_path / "hubspot.csv", ["First Name", "Last Name", "Email", "Phone Number", "Mobile Phone Number"],
                  [["Ann", "Bee", "ann@b.example", "+1 617 555 0100", "+1 617 555 0199"],
                   ["Cy", "Dee", "cy@d.example", "", "+1 617 555 0198"],
                   ["Di", "Eh", "di@e.example", "+1 617 555 0111", "+1 617 555 0111"]])
    book = XlsxWorkbook(path)
    result = import_file(book, Config(), export, "leads")
    assert [w.code for w in result.warnings] == ["shared_field"]
    assert [[(w.code, w.column, w.value) for w in r.warnings] for r in result.rows] == [
        [("shared_field_left_out", "E", "+1 617 555 0199")], [], []]
    assert [r[5] for r in book.read().tabs["Leads"].rows[1:]] == ["+1 617 555 0100", "+1 617 555 0198",
                                                                  "+1 617 555 0111"]


def test_a_whole_name_column_alone_is_split_as_a_forms_name_not_left_out(tmp_path):
    """Pipedrive's People export ("Person - Name"), a list's "Full Name": with no First or Last
    Name column, the name was left out (a leads import added people with no name; a contacts
    one rejected every row). Split at the first space as a form's name is, a name of three
    words or more said at its cell; a problem of the name is said at the file's column."""
    path = _workbook(tmp_path, [])
    export = _csv(tmp_path / "people.csv", ["Person - Name", "Person - Email", "Person - Organization"],
                  [["Ann Bee", "ann@bee.example", "Bee"], ["Mary Ann Smith", "mas@x.example", ""],
                   ["Cher", "cher@x.example", ""], ["Eve\nBcc: x@y.example", "eve@x.example", ""]])
    book = XlsxWorkbook(path)
    result = import_file(book, Config(), export, "leads")
    assert result.ignored == [] and [r.status for r in result.rows] == ["added"] * 3 + ["rejected"]
    assert [[w.code for w in r.warnings] for r in result.rows[:3]] == [[], ["name_split"], []]
    assert result.rows[3].reasons[0].startswith("Person - Name: ")
    assert [r[1:3] for r in book.read().tabs["Leads"].rows[1:]] == [["Ann", "Bee"], ["Mary", "Ann Smith"],
                                                                     [None, "Cher"]]


def test_a_whole_name_is_said_only_where_its_split_is_in_doubt(tmp_path):
    """A first name and two surnames ("Juan Pérez Gómez", the usual Spanish name) or a surname
    with particles ("Ann de la Vega") split right at the first space: a `name_split` warning on
    each was noise that hid the ones that matter, a second word that may be a given name ("María
    José García López": María / José García López; "José Luis Rodríguez") or an initial."""
    path = _workbook(tmp_path, [])
    names = ["Juan Pérez Gómez", "Ann de la Vega", "María José García López", "José Luis Rodríguez",
             "María del Carmen Ruiz", "John F. Kennedy"]
    export = _csv(tmp_path / "people.csv", ["Full Name", "Email"],
                  [[n, f"p{i}@x.example"] for i, n in enumerate(names)])
    result = import_file(XlsxWorkbook(path), Config(), export, "leads")
    assert [r.status for r in result.rows] == ["added"] * 6
    assert [[(w.code, w.column) for w in r.warnings] for r in result.rows] == [[], []] + [[("name_split", "A")]] * 4


def test_fill_blanks_fills_a_cell_once_when_two_rows_of_the_file_are_one_record(tmp_path):
    """A person exported twice with two phones: both rows match the lead, each found its Phone
    empty, both fills were planned and counted, and the later silently overwrote the earlier in
    the same write. The first row fills it; the other value is said at its cell."""
    path = _workbook(tmp_path, [["LEAD-0001", "Ann", "Bee", "Bee", "ann@bee.example", None, None, None, None, None]])
    export = _csv(tmp_path / "leads.csv", ["Email", "Phone", "Source"],
                  [["ann@bee.example", "+34 600 111 222", "Web"], ["ANN@bee.example", "+34 600 999 999", "Web"]])
    book = XlsxWorkbook(path)
    result = import_file(book, Config(), export, "leads", fill_blanks=True)
    assert [(r.status, r.filled) for r in result.rows] == [("matched", 2), ("matched", 0)]
    assert [(w.code, w.column, w.value) for w in result.rows[1].warnings] == [("fill_taken", "B", "+34 600 999 999")]
    assert "row 2" in result.rows[1].warnings[0].message
    assert book.read().tabs["Leads"].rows[1][5:7] == ["+34 600 111 222", "Web"]
    # A row matching a record added from an earlier row of the file filled nothing of it.
    export = _csv(tmp_path / "more.csv", ["Email", "Phone", "Source", "Last Name"],
                  [["cy@dee.example", None, "Web", "Dee"], ["cy@dee.example", "+34 600 222 333", "Fair", "Dee"]])
    result = import_file(book, Config(), export, "leads", fill_blanks=True)
    assert [(r.status, r.id, r.filled) for r in result.rows] == [("added", "LEAD-0002", 0), ("matched", "LEAD-0002", 1)]
    assert [(w.code, w.column, w.value) for w in result.rows[1].warnings] == [("fill_taken", "C", "Fair")]
    assert book.read().tabs["Leads"].rows[2][:7] == ["LEAD-0002", None, "Dee", None, "cy@dee.example",
                                                     "+34 600 222 333", "Web"]


def test_a_whole_name_written_last_name_first_splits_at_its_comma(tmp_path):
    """"Bee, Ann" (a list sorted by surname) split at the first space was First Name "Bee,"
    and Last Name "Ann", with nothing said; the comma says where it splits. A suffix after the
    comma is no first name; a form's or a website post's name splits alike."""
    from sheetcrm.intake.forms import web_lead_values

    path = _workbook(tmp_path, [])
    export = _csv(tmp_path / "people.csv", ["Full Name", "Email"],
                  [["Bee, Ann", "a@x.example"], ["García López, María José", "b@x.example"],
                   ["John Smith, Jr.", "c@x.example"], ["Smith, John, Jr.", "d@x.example"]])
    book = XlsxWorkbook(path)
    result = import_file(book, Config(), export, "leads")
    assert [[w.code for w in r.warnings] for r in result.rows] == [[], [], [], ["name_split"]]
    assert [r[1:3] for r in book.read().tabs["Leads"].rows[1:4]] == [
        ["Ann", "Bee"], ["María José", "García López"], ["John", "Smith, Jr."]]
    web = web_lead_values({"name": "Bee, Ann"}, "Web", "New", None)
    assert (web["first_name"], web["last_name"]) == ("Ann", "Bee")


def test_a_phone_excel_saved_in_scientific_notation_is_rejected_not_written(tmp_path):
    """Excel shows "+34612345678" as a number and saves the CSV with "3.46123E+11" (a Spanish
    Excel "3,46123E+11"): the last digits are gone. It was written as the lead's Phone, a
    value that is neither the number nor empty, with nothing said."""
    path = _workbook(tmp_path, [])
    export = _csv(tmp_path / "excel.csv", ["Nombre", "Apellidos", "Correo electrónico", "Teléfono"],
                  [["Ana", "Ruiz", "ana@ruiz.example", "3,46123E+11"], ["Bo", "Li", "bo@li.example", "+34 612 345 678"]],
                  encoding="cp1252", delimiter=";")
    result = import_file(XlsxWorkbook(path), Config(), export, "leads", dry_run=True)
    assert [r.status for r in result.rows] == ["rejected", "added"]
    assert '"3,46123E+11"' in result.rows[0].reasons[0] and "scientific notation" in result.rows[0].reasons[0]


def test_a_row_naming_no_account_is_rejected_as_the_next_sync_would_find_it(tmp_path):
    """A HubSpot contact whose Associated Company is no account (not imported yet, or "Acme;
    Globex") was added, and the next sync made it an error (`unknown_account`), the contact
    left out of every figure. It is rejected now, at the file's cell, saying to import the
    account first; an Account that names one account, however cased, is imported."""
    path = _accounts(tmp_path, [["ACC-0001", "Acme Corp", "acme.com", None]])
    wb = openpyxl.load_workbook(path)
    wb.create_sheet("Contacts").append(["ID", "Account", "First Name", "Last Name", "Email"])
    wb.save(path)
    export = _csv(tmp_path / "contacts.csv", ["First Name", "Last Name", "Email", "Associated Company"],
                  [["Ann", "Bee", "ann@acme.example", "acme corp"], ["Bob", "Cee", "bob@x.example", "Nowhere Ltd"],
                   ["Cat", "Dee", "cat@x.example", "Acme Corp;Globex"]])
    book = XlsxWorkbook(path)
    result = import_file(book, Config(), export, "contacts")
    assert [r.status for r in result.rows] == ["added", "rejected", "rejected"]
    assert result.rows[1].reasons[0].startswith('Associated Company: "Nowhere Ltd" does not match any account.')
    assert "import it into the Accounts tab first" in result.rows[1].reasons[0]
    assert [r[1:4] for r in book.read().tabs["Contacts"].rows[1:]] == [["acme corp", "Ann", "Bee"]]


def test_a_second_columns_value_keeps_the_currency_its_cells_format_shows(tmp_path):
    """An .xlsx with Amount empty and Deal Value "€1,200.00" (a format, the cell a number): the
    value moved to Amount without its format's currency and read as the base currency's."""
    path = _accounts(tmp_path, [["ACC-0001", "Acme Corp", "acme.com", None]])
    wb = openpyxl.load_workbook(path)
    wb["Opportunities"].cell(1, 7, "Currency")
    wb.save(path)
    export = openpyxl.Workbook()
    ws = export.active
    ws.append(["Deal Name", "Account Name", "Stage", "Amount", "Deal Value"])
    ws.append(["X", "Acme Corp", "Proposal", None, 1200])
    ws["E2"].number_format = '[$€-x-euro2] #,##0.00'
    export.save(tmp_path / "deals.xlsx")
    book = XlsxWorkbook(path)
    assert import_file(book, Config(), tmp_path / "deals.xlsx", "opportunities").counts["added"] == 1
    assert book.read().tabs["Opportunities"].rows[1][4:7] == [1200, None, "EUR"]


@pytest.mark.parametrize("whole, first, last", [
    ("Mrs. Smith", None, "Smith"), ("Dr. Juan Pérez", "Juan", "Pérez"), ("Sr. García", None, "García"),
    ("Ing. Ana López", "Ana", "López"), ("Sra. Ana García López", "Ana", "García López"),
    ("Prof. Dr. Hans Müller", "Hans", "Müller"), ("Ms Jane Doe", "Jane", "Doe"), ("Smith, Mrs. Jane", "Jane", "Smith"),
    ("Doña Carmen Ruiz", "Carmen", "Ruiz"), ("Dª Carmen Ruiz", "Carmen", "Ruiz"), ("D.ª Carmen Ruiz", "Carmen", "Ruiz"),
    ("Dona Reed", "Dona", "Reed"), ("Judge Reinhold", "Judge", "Reinhold"),
    ("Don Johnson", "Don", "Johnson"), ("Dr.", None, "Dr."),
    # "D." is Don before two more words; before a surname alone it is an initial, kept.
    ("D. Pedro Ruiz", "Pedro", "Ruiz"), ("Sr. D. Pedro Ruiz García", "Pedro", "Ruiz García"), ("D. Ruiz", "D.", "Ruiz")])
def test_a_courtesy_title_before_a_whole_name_is_no_first_name(whole, first, last):
    """Known at stop 39: "Mrs. Smith" was First Name "Mrs." (an email greeting "Dear Mrs."),
    "Dr. Juan Pérez" First "Dr." and Last "Juan Pérez", in an import, a form or a website post.
    A title in English or Spanish is left out; a word that is also a given name (Judge, Don, Dona
    without its ñ) is the first name, and "Don" before two more words is said as in doubt."""
    from sheetcrm.intake.forms import split_in_doubt, split_name, web_lead_values
    from sheetcrm.intake.web import lead_fields

    assert split_name(whole) == (first, last)
    assert not split_in_doubt(whole)
    assert split_in_doubt("Don Pedro Sánchez") and split_in_doubt("Dr. Mary Ann Smith")
    web = web_lead_values({"name": whole}, "Web", "New", None)
    assert (web["first_name"], web["last_name"]) == (first, last)
    # A website post whose first_name agrees with the name less its title is not refused.
    assert lead_fields({"name": ["Dr. Juan Pérez"], "first_name": ["Juan"]}, {})[1] == {}


def _deals_book(tmp_path, deal):
    from books import xlsx_book

    return xlsx_book(tmp_path / "deals.xlsx", {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
        "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Currency", "Probability", "Close Date"], deal]})


def test_a_value_read_with_a_doubt_is_left_empty_not_written(tmp_path):
    """An Amount "1,234" in a column whose "1.234,50" proves a decimal comma was written as
    1.234 (warned once), and every later sync read a clean number: the doubt baked into the
    sheet. Like a conversion, an import writes no value it doubts (a number's separator, a
    date's order, a bare 1 as a percentage, a symbol of several currencies, which holds back
    the amount too): the cell is left empty and the row's warning says so, at the file's cell."""
    book = _deals_book(tmp_path, ["OPP-0001", "a", "Acme", "Proposal", None, None, None, None])
    export = _csv(tmp_path / "deals.csv", ["Name", "Account", "Stage", "Amount", "Probability", "Close Date"],
                  [["b", "Acme", "Proposal", "1.234,50", "50", "2026-05-01"],
                   ["d", "Acme", "Proposal", "1,234", "1", "03/04/2026"],
                   ["e", "Acme", "Proposal", "¥1200", "40", "2026-05-02"]])
    result = import_file(book, Config(), export, "opportunities")
    assert result.counts == {"added": 3, "matched": 0, "rejected": 0}
    rows = [(r + [None] * 8)[:8] for r in book.read().tabs["Opportunities"].rows[2:]]
    assert [r[4:] for r in rows] == [[1234.5, None, 50, dt.date(2026, 5, 1)], [None] * 4,
                                     [None, None, 40, dt.date(2026, 5, 2)]]
    said = [[(w.code, w.column, w.value) for w in r.warnings] for r in result.rows]
    assert said == [[], [("import_left_empty", "D", "1,234"), ("import_left_empty", "E", "1"),
                         ("import_left_empty", "F", "03/04/2026")], [("import_left_empty", "D", "¥1200")]]
    d, e = result.rows[1].warnings[0], result.rows[2].warnings[0]
    assert d.message.startswith("Amount left empty in OPP-0003") and "could be 1234" in d.message
    assert e.message.startswith("Amount, Currency left empty in OPP-0004") and "CNY" in e.message
    assert "Type the value into OPP-0003 in the Opportunities tab" in d.hint
    # The column's "1.234,50" shows its separator: the hint said "Nothing else in this column shows".
    assert d.hint.startswith("This column writes decimals with a comma, but an amount rarely has three decimals")


def test_a_spanish_exports_amounts_read_as_their_column_proves_under_an_english_config(tmp_path):
    """A ';' export whose Importe (EUR) shows "1.234,50", under locale "en": "2.000" was left
    empty as "could be 2" though the column's cells prove the decimal comma (the sync read
    2000), and "500,25", which "en" alone does not read, kept no EUR: 500.25 of the base
    currency, with no word at that row."""
    book = _deals_book(tmp_path, ["OPP-0001", "a", "Acme", "Proposal", 1, None, None, None])
    export = _csv(tmp_path / "tratos.csv", ["Name", "Account", "Stage", "Importe (EUR)"],
                  [["b", "Acme", "Proposal", "1.234,50"], ["c", "Acme", "Proposal", "2.000"],
                   ["d", "Acme", "Proposal", "500,25"]], encoding="cp1252", delimiter=";")
    result = import_file(book, Config(locale="en"), export, "opportunities")
    assert result.counts["added"] == 3
    assert not result.warnings and not [w for r in result.rows for w in r.warnings]
    assert [(r + [None] * 6)[4:6] for r in book.read().tabs["Opportunities"].rows[2:]] == [
        [1234.5, "EUR"], [2000, "EUR"], [500.25, "EUR"]]


def test_a_percentage_goes_into_a_column_of_fractions_as_a_fraction(tmp_path):
    """The team writes Probability as fractions (0.2 for 20 %); an imported "15%" was written as
    15, which made the column one of points: every 0.2 a person typed there read 0.2 %."""
    book = _deals_book(tmp_path, ["OPP-0001", "a", "Acme", "Proposal", 100, None, 0.2, None])
    export = _csv(tmp_path / "deals.csv", ["Name", "Account", "Stage", "Probability"],
                  [["b", "Acme", "Proposal", "15%"]])
    result = import_file(book, Config(), export, "opportunities")
    assert result.counts["added"] == 1
    assert [(r + [None] * 8)[6] for r in book.read().tabs["Opportunities"].rows[1:]] == [0.2, 0.15]
    crm = read_crm(book.read(), Config())
    assert [o.probability for o in crm.records("opportunities")] == [20, 15]


def test_a_doubted_value_does_not_fill_a_matched_records_empty_cell(tmp_path):
    book = _deals_book(tmp_path, ["OPP-0001", "a", "Acme", "Proposal", None, None, 30, None])
    export = _csv(tmp_path / "deals.csv", ["Name", "Account", "Stage", "Amount", "Probability", "Close Date"],
                  [["a", "Acme", "Proposal", "1200", "1", "03/04/2026"]])
    result = import_file(book, Config(), export, "opportunities", fill_blanks=True)
    assert result.rows[0].filled == 1  # the Amount; not the Close Date in doubt
    assert (book.read().tabs["Opportunities"].rows[1] + [None] * 8)[4:8] == [1200, None, 30, None]
    # Probability was filled already: its doubt is said as read, nothing about filling it.
    assert [(w.code, w.column) for w in result.rows[0].warnings] == [("ambiguous_percent", "E"),
                                                                     ("import_left_empty", "F")]
    assert result.rows[0].warnings[1].message.startswith("Close Date of OPP-0001 not filled in")


@pytest.mark.parametrize("deal, row, said", [
    # 1,000 USD into the empty Amount of a deal in EUR: it read as 1,000 EUR.
    (["OPP-0001", "a", "Acme", "Proposal", None, "EUR", None, None], ["1000", "USD"], "Amount"),
    # EUR into the empty Currency of a deal whose 5,000 is in the base currency: 5,000 EUR.
    (["OPP-0001", "a", "Acme", "Proposal", 5000, None, None, None], ["5000", "EUR"], "Currency"),
])
def test_fill_blanks_never_mixes_a_records_currency_with_the_files(tmp_path, deal, row, said):
    book = _deals_book(tmp_path, deal)
    export = _csv(tmp_path / "deals.csv", ["Name", "Account", "Stage", "Amount", "Currency"],
                  [["a", "Acme", "Proposal", *row]])
    result = import_file(book, Config(), export, "opportunities", fill_blanks=True)
    assert result.rows[0].filled == 0 and not result.plan.writes
    assert (book.read().tabs["Opportunities"].rows[1] + [None] * 8)[4:6] == deal[4:6]
    [warning] = result.rows[0].warnings
    assert (warning.code, warning.column, warning.value) == ("fill_currency_differs", "D", row[0])
    assert warning.message.startswith(f"{said} not filled in OPP-0001: the file's amount is in {row[1]}")


def test_a_number_merged_over_rows_of_an_xlsx_export_is_left_empty_on_each(tmp_path):
    """9,000 merged over three deals' rows is each one's or their total: the sheet says so at
    the block (merged_number), but imported, three deals of 9,000 each were written, plainly,
    and the pipeline counted 27,000 from then on with nothing said."""
    book = _deals_book(tmp_path, ["OPP-0001", "a", "Acme", "Proposal", 1, None, None, None])
    wb = openpyxl.Workbook()
    for row in [["Name", "Account", "Stage", "Amount"], ["b", "Acme", "Proposal", 9000], ["c", "Acme", "Proposal"],
                ["d", "Acme", "Proposal"], ["e", "Acme", "Proposal", 100]]:
        wb.active.append(row)
    wb.active.merge_cells("D2:D4")
    wb.save(tmp_path / "export.xlsx")
    result = import_file(book, Config(), tmp_path / "export.xlsx", "opportunities")
    assert [(r + [None] * 5)[4] for r in book.read().tabs["Opportunities"].rows[2:]] == [None, None, None, 100]
    # Said on each row, at the block's cell (D2:D4 is one cell, D2), naming each row's record.
    assert [[(w.code, w.row, w.column) for w in r.warnings] for r in result.rows] == [
        [("import_left_empty", 2, "D")]] * 3 + [[]]
    assert [r.warnings[0].message.split(",")[0] for r in result.rows[:3]] == [
        f"Amount left empty in OPP-000{n}" for n in (2, 3, 4)]


def test_an_amount_columns_header_currency_is_the_currency_of_its_amounts(tmp_path):
    """"Amount (EUR)": 1200 was written as a plain 1,200 under Amount, with the Currency empty,
    read as 1,200 USD from then on (the header_currency warning said once, at the file's
    header). The header says the amounts' currency, as a lead's Budget (EUR) does for its
    deal; an amount or a Currency cell naming its own still wins."""
    book = _deals_book(tmp_path, ["OPP-0001", "a", "Acme", "Proposal", 1, None, None, None])
    export = _csv(tmp_path / "deals.csv", ["Name", "Account", "Stage", "Amount (EUR)", "Currency"],
                  [["b", "Acme", "Proposal", "1200", ""], ["c", "Acme", "Proposal", "USD 300", ""],
                   ["d", "Acme", "Proposal", "400", "JPY"]])
    result = import_file(book, Config(), export, "opportunities")
    assert not result.warnings and result.counts["added"] == 3
    assert [(r + [None] * 6)[4:6] for r in book.read().tabs["Opportunities"].rows[2:]] == [
        [1200, "EUR"], [300, "USD"], [400, "JPY"]]


def test_a_csv_row_split_at_an_unquoted_separator_is_rejected_not_imported_shifted(tmp_path):
    """A row whose text held the separator without quotes ("Called, no answer") has more cells
    than the header: imported, its Notes read "Called" and " no answer" was dropped, nothing
    said. Rejected now, at the cell right of the header's last column; a row with empty cells
    there (a trailing separator) is imported as before."""
    path = _workbook(tmp_path, [])
    export = tmp_path / "hand-edited.csv"
    export.write_text("First Name,Last Name,Company,Email,Notes\n"
                      "Ana,Ruiz,Acme,ana@acme.com,Called, no answer\n"
                      "Bob,Stone,Acme,bob@acme.com,fine,,\n", encoding="utf-8")
    book = XlsxWorkbook(path)
    result = import_file(book, Config(), export, "leads")
    assert [(r.line, r.status) for r in result.rows] == [(2, "rejected"), (3, "added")]
    assert 'F2 holds " no answer"' in result.rows[0].reasons[0] and "(Notes)" in result.rows[0].reasons[0]
    leads = book.read().tabs["Leads"].rows
    assert len(leads) == 2 and leads[1][1:3] == ["Bob", "Stone"] and leads[1][9] == "fine"
    # A whole name in one column: the First and Last Name columns added after the file's last
    # cell (`_whole_names`) are no header the stray cell is under.
    whole = tmp_path / "whole-names.csv"
    whole.write_text("Full Name,Company,Email,Notes\nCy Dee,Acme,cy@acme.com,Called, no answer\n", encoding="utf-8")
    again = import_file(book, Config(), whole, "leads", dry_run=True)
    assert [(r.line, r.status) for r in again.rows] == [(2, "rejected")]
    assert 'E2 holds " no answer"' in again.rows[0].reasons[0] and "(Notes)" in again.rows[0].reasons[0]


def test_a_stray_cell_of_a_spreadsheet_export_is_said_as_one_of_no_column_not_a_split(tmp_path):
    """Found reviewing the split-row fix: its reason ("its cells may be split in the wrong places
    (a value holding the file's separator without quotes)") was given for an .xlsx file too,
    whose cells no separator splits: a hint that sent the person looking for commas. An .xlsx's
    cell right of the header is said as what it is, a cell of no column; a CSV's as before."""
    path = _workbook(tmp_path, [])
    export = tmp_path / "leads.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["First Name", "Last Name", "Company", "Email", "Notes"])
    wb.active.append(["Ana", "Ruiz", "Acme", "ana@acme.com", "fine", None, "call Tue"])
    wb.save(export)
    result = import_file(XlsxWorkbook(path), Config(), export, "leads", dry_run=True)
    assert [(r.line, r.status) for r in result.rows] == [(2, "rejected")]
    assert result.rows[0].reasons == ['G2 holds "call Tue", right of the header row\'s last column (Notes), under no '
                                      'column name, so which field it is cannot be told; give its column a header or '
                                      'clear the cell in the file, then import again']


def test_a_mac_roman_csv_is_refused_never_imported_as_windows_1252(tmp_path):
    """Excel for Mac saves "Comma Separated Values" in Mac Roman. Not UTF-8, it was read as
    Windows-1252: "José Peña" and "María García" were imported as "JosŽ Pe–a" and "Mar’a
    Garc’a", nothing said. A byte that is an accented letter in Mac Roman inside a word now
    refuses the file, in one line showing both readings; a Windows-1252 file with its curly
    apostrophes, dashes and quotes reads as before."""
    path = _workbook(tmp_path, [])
    mac = tmp_path / "excel-for-mac.csv"
    mac.write_bytes("First Name,Last Name,Email\r\nMaría,García,m@x.example\r\nJosé,Peña,j@x.example\r\n"
                    .encode("mac_roman"))
    with pytest.raises(ImportFileError) as e:
        import_file(XlsxWorkbook(path), Config(), mac, "leads")
    assert 'line 2 holds "Mar’a" read as Windows-1252 or "María" read as Mac Roman' in str(e.value)
    assert len(XlsxWorkbook(path).read().tabs["Leads"].rows) == 1  # nothing imported
    windows = tmp_path / "windows.csv"
    windows.write_bytes("First Name;Last Name;Notes\r\nSeán;O’Brien;don’t call – busy “soon”, it’s 5€\r\n"
                        .encode("cp1252"))
    assert read_export(windows).rows[1:] == [["Seán", "O’Brien", "don’t call – busy “soon”, it’s 5€"]]


def test_a_quote_never_closed_refuses_the_file_never_swallows_the_rows_after_it(tmp_path):
    """A cell opening a quote it never closes: the CSV reader (as Excel) takes the rest of the
    file as that cell, so Bob's and Cy's rows became the Notes of Zed's lead and the import said
    "1 added", nothing else. The file is refused in one line naming where the quote opens;
    quotes closed, doubled inside, or in the middle of a cell read as before."""
    path = _workbook(tmp_path, [])
    export = tmp_path / "stray-quote.csv"
    export.write_text('First Name,Last Name,Company,Email,Notes\n'
                      'Zed,Ruiz,Acme,zed@acme.com,"Big deal\n'
                      'Bob,Lee,Beta,bob@beta.com,wants 24 inch\n'
                      'Cy,Dee,Ceta,cy@ceta.com,fine\n', encoding="utf-8")
    with pytest.raises(ImportFileError, match='line 2 opens a quoted cell'):
        import_file(XlsxWorkbook(path), Config(), export, "leads")
    assert len(XlsxWorkbook(path).read().tabs["Leads"].rows) == 1  # nothing imported
    sound = tmp_path / "sound.csv"
    sound.write_text('First Name,Notes\nZed,"a ""big"" deal,\nover two lines"\nBob,wants 24" screen\n"Cy",""\n',
                     encoding="utf-8")
    assert read_export(sound).rows[1:] == [["Zed", 'a "big" deal,\nover two lines'], ["Bob", 'wants 24" screen'],
                                           ["Cy", None]]


class _SavedAfterFirstRead(XlsxWorkbook):
    """A person's app saves the workbook (load, type a lead into the row the import would fill,
    write a new file, rename it into place) right after sheetcrm's first read."""

    def __init__(self, path):
        super().__init__(path)
        self.reads = 0

    def read(self, *args, **kwargs):
        snapshot = super().read(*args, **kwargs)
        self.reads += 1
        if self.reads == 1:
            wb = openpyxl.load_workbook(self.path)
            wb["Leads"].append([None, "Typed", "ByAna", "Ana Co", "ana@typed.com"])
            wb.save(self.path.with_name("app-save.xlsx"))
            os.replace(self.path.with_name("app-save.xlsx"), self.path)
        return snapshot


def test_a_workbook_saved_between_the_imports_read_and_its_write_is_read_again_and_keeps_the_typed_row(tmp_path):
    path = _workbook(tmp_path, [["LEAD-0001", "Old", "One", "Co1", "one@old.com", None, "Referral", "New",
                                 "2026-01-02", None]])
    export = _csv(tmp_path / "new.csv", ["First Name", "Last Name", "Email", "Company Name"],
                  [["New", "Two", "two@new.com", "Newco"]])
    book = _SavedAfterFirstRead(path)
    result = import_file(book, Config(), export, "leads")
    assert book.reads == 2 and result.counts["added"] == 1
    leads = XlsxWorkbook(path).read().tabs["Leads"].rows
    assert [r[:5] for r in leads[1:]] == [["LEAD-0001", "Old", "One", "Co1", "one@old.com"],
                                          [None, "Typed", "ByAna", "Ana Co", "ana@typed.com"],
                                          ["LEAD-0002", "New", "Two", "Newco", "two@new.com"]]


def test_on_google_a_row_inserted_in_the_instant_before_the_imports_batch_is_never_written_over(tmp_path,
                                                                                                  monkeypatch):
    from sheetcrm.emulator import Emulator
    from sheetcrm.workbook.credentials import connect
    from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy

    export = _csv(tmp_path / "new.csv", ["First Name", "Last Name", "Email", "Company Name"],
                  [["New", "Two", "two@new.com", "Newco"], ["New", "Three", "three@new.com", "Newco"]])
    with Emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.host)
        key = emu.create_spreadsheet("CRM", {"Leads": [LEADS, ["LEAD-0001", "Old", "One", "Co1", "one@old.com", "",
                                                               "Referral", "New", "2026-01-02", "a note"]]})
        book = GoogleSheetsWorkbook(connect(None, policy=RetryPolicy(attempts=2, sleep=lambda s: None)).client, key)
        sheet = emu.sheet_id(key, "Leads")
        # The re-read found rows 3 and 4 empty; then a person inserts a row at the top, and Old
        # One moves onto row 3: it used to be replaced, note and all, by New Two.
        emu.before_next(":batchUpdate", lambda e: e.apply(key, [{"insertDimension": {"range": {
            "sheetId": sheet, "dimension": "ROWS", "startIndex": 1, "endIndex": 2}}}]))
        result = import_file(book, Config(), export, "leads")
        assert result.counts["added"] == 2
        rows = [r for r in emu.values(key, "Leads")[1:] if any(r)]
        assert ["LEAD-0001", "Old", "One", "Co1", "one@old.com", "", "Referral", "New", "2026-01-02", "a note"] in rows
        assert sorted(r[4] for r in rows) == ["one@old.com", "three@new.com", "two@new.com"]
