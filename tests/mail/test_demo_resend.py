"""The demo's sent quote is a row `sheetcrm outbox send` would send again after `outbox resend`,
and `outbox resend` refuses a row that `outbox send` would refuse, rather than promise it."""

from __future__ import annotations

import shutil

import openpyxl
from in_process import cli

from sheetcrm.config import Config
from sheetcrm.mail import outbox as ob
from sheetcrm.mail.context import find_opportunity, with_text
from sheetcrm.workbook import CellWrite, Plan
from sheetcrm.workbook.xlsx import XlsxWorkbook


def test_the_demos_sent_quote_can_be_sent_again(demo, tmp_path):
    """Kind: the demo wrote its sent quote with a made-up Version ("1") and no Seal, so
    `outbox resend OUT-0001` said the next send would send it, and that send failed it as
    "not a row sheetcrm queued" (and, with a Seal, as a changed quote)."""
    locale, folder, _ = demo
    shutil.copy(folder / "demo.xlsx", tmp_path / "demo.xlsx")  # the session's demo stays as it was
    shutil.copy(folder / "sheetcrm.toml", tmp_path / "sheetcrm.toml")
    done = cli("outbox", "resend", "OUT-0001", "--workbook", "demo.xlsx", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    desk = ob.Desk.read(XlsxWorkbook(tmp_path / "demo.xlsx").read(), Config(locale=locale))
    row = desk.outbox.find("OUT-0001")
    assert row is not None and row.status == "Approved" and ob.strangers(desk.outbox) == {}
    opportunity = find_opportunity(desk.crm, row.text("opportunity"))
    # The Version is the quote's and, after "~", its email's text as rendered (docs/quotes.md): both as now.
    assert opportunity is not None
    charged = desk.version(desk.quote(opportunity))
    assert row.text("version") == with_text(charged, ob.rendered_mark(desk, desk.templates, desk.quote(opportunity),
                                                                      charged))


def test_resend_refuses_a_row_send_would_never_send(tmp_path):
    """Kind: `outbox resend` set a copied row (its Seal no longer matching its ID) back to
    Approved and promised the next send would send it; the send then failed it."""
    wb = openpyxl.Workbook()
    wb.active.title = "Opportunities"
    wb.active.append(["ID", "Name", "Stage", "Amount"])
    wb.active.append(["OPP-0001", "One", "Proposal", 1000])
    wb.save(tmp_path / "crm.xlsx")
    headers = ["ID", "Created", "Opportunity", "To", "Subject", "Status", "Message-ID", "Sent At", "Error", "Quote",
               "Version", "Attempts", "Last Try", "Next Try", "Seal"]
    sealed = ob.seal("OUT-0001", "OPP-0001", "Q-2026-0001", "abc")
    copied = ["OUT-0002", None, "OPP-0001", "ana@example.com", "Quote Q-2026-0001", "Sent", "<q1@example.com>",
              None, None, "Q-2026-0001", "abc", 1, None, None, sealed]  # a copy of OUT-0001, renumbered
    # The Outbox as sheetcrm makes it (found by its mark, not by its name).
    XlsxWorkbook(tmp_path / "crm.xlsx").write(Plan(
        new_tabs=["Outbox"], mark_owned=["Outbox"],
        writes=[CellWrite("Outbox", r, c, v) for r, row in enumerate([headers, copied], 1)
                for c, v in enumerate(row, 1) if v is not None]))
    done = cli("outbox", "resend", "OUT-0002", "--workbook", "crm.xlsx", cwd=tmp_path)
    assert done.returncode == 2 and "OUT-0002 cannot be sent again: not a row sheetcrm queued" in done.stderr, done
    assert openpyxl.load_workbook(tmp_path / "crm.xlsx")["Outbox"]["F2"].value == "Sent"
