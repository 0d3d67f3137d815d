"""`sheetcrm quote --out`: previews are named by opportunity and quote version, so previews of
two opportunities, and of two versions of one quote, all survive side by side."""

from __future__ import annotations

import subprocess
import sys
from email import message_from_bytes, policy

import openpyxl

TABS = {
    "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
    "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                 ["CON-0001", "ACC-0001", "Ana", "Pérez", "ana@example.com"],
                 ["CON-0002", "ACC-0001", "Bo", "Lind", "bo@example.com"]],
    "Opportunities": [["ID", "Name", "Account", "Contact", "Stage", "Amount", "Currency"],
                      ["OPP-0001", "Expansion", "ACC-0001", "CON-0001", "Proposal", 2000, "EUR"],
                      ["OPP-0002", "Renewal", "ACC-0001", "CON-0002", "Proposal", 500, "EUR"]],
    "Products": [["SKU", "Name", "Unit Price", "Currency", "Tax Rate"], ["P1", "Licence", 1000, "EUR", 21]],
    "Quote Lines": [["Opportunity", "SKU", "Quantity", "Unit Price", "Discount %"],
                    ["OPP-0001", "P1", 2, None, None], ["OPP-0002", "P1", 1, None, None]],
}


def quote(folder, opportunity: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sheetcrm", "quote", opportunity, "--workbook", "crm.xlsx",
                           "--out", "previews"], cwd=folder, capture_output=True, text=True, timeout=120)


def test_previews_of_two_opportunities_and_two_versions_never_overwrite_each_other(tmp_path):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in TABS.items():
        sheet = wb.create_sheet(title)
        for row in rows:
            sheet.append(row)
    wb.save(tmp_path / "crm.xlsx")
    out = tmp_path / "previews"

    for opportunity in ("OPP-0001", "OPP-0002"):
        done = quote(tmp_path, opportunity)
        assert done.returncode == 0, done.stderr
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert len(first) == 4  # an .eml and an .html each
    assert {name.split("-")[1] for name in first} == {"0001", "0002"}

    # The same quote, changed: a new version, previewed beside the old one.
    wb = openpyxl.load_workbook(tmp_path / "crm.xlsx")
    wb["Quote Lines"]["C2"] = 3
    wb.save(tmp_path / "crm.xlsx")
    done = quote(tmp_path, "OPP-0001")
    assert done.returncode == 0, done.stderr
    now = {p.name: p.read_bytes() for p in out.iterdir()}
    assert len(now) == 6
    assert {name: now[name] for name in first} == first  # every earlier preview untouched
    versions = {name.rsplit(".", 1)[0] for name in now if name.startswith("OPP-0001-")}
    assert len(versions) == 2
    # Each file holds its own opportunity's quote: 2 and 3 licences for OPP-0001, to Ana.
    totals = set()
    for stem in versions:
        msg = message_from_bytes((out / f"{stem}.eml").read_bytes(), policy=policy.default)
        assert msg["To"].addresses[0].addr_spec == "ana@example.com"
        totals.add("2,420.00" in msg.get_body(("plain",)).get_content())
    assert totals == {True, False}  # 2 × 1000 + 21 % tax in one version only
