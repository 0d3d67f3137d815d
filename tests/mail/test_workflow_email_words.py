"""A workflow email says the team's words for stages and statuses, as every cell sheetcrm writes
them (crm/words.py): a Spanish team's email says "Propuesta", a team that writes "Won" sees
Won, never the canonical "Proposal" / "Closed Won". A real sync queues the email, a person
approves it, `send_outbox` sends it to a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import datetime as dt

import pytest

from sheetcrm.config import Config
from sheetcrm.mail.outbox import read_outbox, send_outbox, status_label, templates_for
from sheetcrm.mail.smtp import SmtpSender
from sheetcrm.sync import sync
from sheetcrm.workbook import CellWrite, Plan
from sheetcrm.workbook.xlsx import XlsxWorkbook
from books import xlsx_book

D0 = dt.date(2026, 12, 1)
WF_HEADER = ["ID", "Name", "Active", "Record", "When", "If", "Then", "Subject", "Due (days)", "Template"]


def _book(tmp_path, other_stage: str) -> XlsxWorkbook:
    return xlsx_book(tmp_path / "crm.xlsx", {
        "Accounts": [["ID", "Name", "Owner"], ["ACC-0001", "Initech", "Sam"]],
        "Contacts": [["ID", "Account", "First Name", "Last Name", "Email", "Owner"],
                     ["CON-0001", "ACC-0001", "Bo", "Li", "bo@initech.com", "Sam"]],
        "Opportunities": [["ID", "Name", "Account", "Contact", "Owner", "Stage", "Amount", "Close Date"],
                          ["OPP-0001", "Big", "ACC-0001", "CON-0001", "Sam", other_stage, 5000, "2027-01-10"]],
        "Activities": [["ID", "Date", "Type", "Subject", "Related"]],
        "Tasks": [["ID", "Due", "Subject", "Related", "Owner", "Status"]],
        "Workflows": [WF_HEADER, ["WF-0001", "Stage mail", "yes", "opportunity", "Stage changes", "", "send email",
                                  "{{ ID }}", None, "stage"]],
    })


@pytest.mark.parametrize(("locale", "typed", "before", "template", "said"), [
    # Spanish: the template names the fields by the Spanish headers, the stage is the team's word.
    ("es", "Propuesta", "Calificación", "{{ Nombre }}: {{ Etapa }} ({{ event }})\n",
     "Big: Propuesta (Etapa cambió de Calificación a Propuesta)\n"),
    # English, a team that writes Won for Closed Won (one of its aliases).
    ("en", "Won", "Negotiation", "{{ Name }}: {{ Stage }} ({{ event }})\n",
     "Big: Won (Stage changed from Negotiation to Won)\n"),
])
def test_a_workflow_email_names_the_stage_in_the_teams_words(tmp_path, server, locale, typed, before, template, said):
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "stage.txt.j2").write_text(template)
    config = Config(locale=locale, templates=str(folder))
    book = _book(tmp_path, before)
    sync(book, config, D0)
    book.write(Plan(writes=[CellWrite("Opportunities", 2, 6, typed)]))  # a person moves the deal on
    sync(book, config, D0 + dt.timedelta(days=1))
    outbox = read_outbox(book.read(), locale)
    [row] = outbox.rows
    book.write(Plan(writes=[CellWrite(outbox.title, row.row, outbox.columns["status"],
                                      status_label("Approved", locale))]))

    s = server.settings()
    now = dt.datetime(2026, 12, 2, 10, tzinfo=dt.timezone.utc)
    report = send_outbox(book, config, s, templates_for(config), lambda: SmtpSender(s), lambda: now, lambda: "t0")
    assert report.sent == [row.text("id")]
    [msg] = server.inbox.messages
    assert msg.get_content().replace("\r\n", "\n") == said
