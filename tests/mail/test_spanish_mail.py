"""The mail side in the team's language: the Outbox's Status words (written in the team's
language, read in either), the quote email and its subject, and the lines people meet when a
quote cannot be sent. Real SMTP on loopback (aiosmtpd), real .xlsx files."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import NOW, config, crm_tabs
from sheetcrm.i18n import using
from sheetcrm.mail.context import QuoteHeader, find_opportunity, quote_context
from sheetcrm.mail.message import HeaderError, check_mailbox
from sheetcrm.mail.outbox import Desk, OutboxRow, read_outbox, status_label
from sheetcrm.mail.smtp import SmtpSender
from sheetcrm.mail.templates import Templates
from sheetcrm.sync import sync
from sheetcrm.workbook import CellWrite, Plan
from sheetcrm.workbook.memory import MemoryWorkbook
from test_outbox_smtp import send, xlsx_book

AS_OF = NOW.date()
# What each language calls the statuses sheetcrm writes.
WORDS = {"en": {"Draft": "Draft", "Sent": "Sent", "Approved": "Approved", "Failed": "Failed"},
         "es": {"Draft": "Borrador", "Sent": "Enviado", "Approved": "Aprobado", "Failed": "Fallido"}}


def test_status_words_are_written_in_the_teams_language_and_read_in_either():
    for locale, words in WORDS.items():
        for status, word in words.items():
            assert status_label(status, locale) == word
    typed = {"Aprobado": "Approved", "aprobada": "Approved", "APPROVED": "Approved", " Approved ": "Approved",
             "Borrador": "Draft", "Enviando": "Sending", "Enviado": "Sent", "Enviada": "Sent", "Sent": "Sent",
             "Fallido": "Failed", "Failed": "Failed"}
    for cell, status in typed.items():
        assert OutboxRow(2, {"status": cell}).status == status, cell
    # A word that is no status is never acted on, in any language.
    assert OutboxRow(2, {"status": "Aprobar"}).status is None and OutboxRow(2, {"status": "OK"}).status is None


def queued(tmp_path, locale):
    book = xlsx_book(tmp_path, crm_tabs())
    sync(book, config(locale=locale), as_of=AS_OF)
    return book


def approve(book, locale, word):
    """A person types `word` in the Status cell of the Outbox's only row."""
    outbox = read_outbox(book.read(), locale)
    [row] = outbox.rows
    book.write(Plan(writes=[CellWrite(outbox.title, row.row, outbox.columns["status"], word)]))


@pytest.mark.parametrize(("locale", "typed"), [("es", "Aprobado"), ("es", "Approved"), ("en", "Approved"),
                                               ("en", "Aprobado")])
def test_an_approval_typed_in_either_language_sends_once(tmp_path, server, locale, typed):
    book = queued(tmp_path, locale)
    [draft] = read_outbox(book.read(), locale).rows
    assert draft.text("status") == WORDS[locale]["Draft"] and draft.status == "Draft"
    approve(book, locale, typed)
    report = send(book, server, cfg=config(locale=locale))
    assert report.sent == ["OUT-0001"] and len(server.inbox.messages) == 1
    [row] = read_outbox(book.read(), locale).rows
    assert row.text("status") == WORDS[locale]["Sent"] and row.text("error") == ""
    # The Email activity is written in the team's words too, and read back as an Email.
    last = book.read().tabs["Activities"].rows[-1]
    assert last[2] == {"en": "Email", "es": "Correo"}[locale]
    assert last[6].startswith({"en": "Quote Q-2026-0001 sent to ", "es": "Presupuesto Q-2026-0001 enviado a "}[locale])
    assert not any(vars(send(book, server, cfg=config(locale=locale))).values())  # and only once


def test_the_spanish_quote_email_has_spanish_words_subject_and_money(tmp_path, server):
    book = queued(tmp_path, "es")
    approve(book, "es", "Aprobado")
    send(book, server, cfg=config(locale="es"))
    [msg] = server.inbox.messages
    assert msg["Subject"] == "Presupuesto Q-2026-0001 – Expansion"
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = msg.get_body(("html",)).get_content()
    assert "Hola, Ana:" in text and "Le enviamos el presupuesto Q-2026-0001 para Expansion." in text
    # babel's Spanish (CLDR): decimal comma, thousands dot, the sign after a no-break space,
    # for percentages too ("63,2 %", README).
    assert "Licence (P1): 2 × 1.000,50\xa0€, dto. 10\xa0% = 1.800,90\xa0€" in text
    assert "Base imponible: 2.100,87\xa0€" in text and "Total: 2.509,06\xa0€" in text
    assert "IVA 21\xa0%: 378,19\xa0€" in text and "El presupuesto va adjunto." in text
    assert "Precio unitario" in html and "IVA 21\xa0% sobre 1.800,90\xa0€" in html and "Importes en EUR" in html
    assert '<html lang="es">' in html and "23 de noviembre de 2026" in html
    for english in ("Hello", "Here is quote", "Net", "Unit price", "Amounts in", "attached", "discount"):
        assert english not in text and english not in html, english


def test_the_english_quote_email_is_unchanged(tmp_path, server):
    book = queued(tmp_path, "en")
    approve(book, "en", "Approved")
    send(book, server, cfg=config(locale="en"))
    [msg] = server.inbox.messages
    assert msg["Subject"] == "Quote Q-2026-0001 – Expansion"
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith("Hello Ana,\n\nHere is quote Q-2026-0001 for Expansion.\n")
    assert "Net: €2,100.87" in text and "Tax 21%: €378.19" in text and "Total: €2,509.06" in text


def test_templates_follow_the_contexts_locale_not_the_ambient_language():
    desk = Desk.read(MemoryWorkbook(crm_tabs()).read(), config(locale="es"))
    result = desk.quote(find_opportunity(desk.crm, "OPP-0001"))
    context = quote_context(desk.crm, result, QuoteHeader("Q-2026-0001", dt.date(2026, 11, 23)), "es")
    with using("en"):
        text = Templates().render("quote.txt.j2", context)
    assert "Le enviamos el presupuesto" in text
    followup = Templates().render("followup.txt.j2", context | {"sent_at": dt.date(2026, 11, 23)})
    assert "¿Ha podido revisar el presupuesto Q-2026-0001 que le enviamos el 23 de noviembre de 2026?" in followup
    assert "Asciende a 2.509,06\xa0€." in followup


def test_the_spanish_digest():
    digest = Templates().render("digest.txt.j2", {
        "locale": "es", "owner": "Marta", "as_of": dt.date(2026, 11, 23),
        "overdue": [], "rotting": [{"id": "OPP-0002", "name": "Piloto", "stage": "Propuesta", "days_in_stage": 1,
                                    "last_activity": dt.date(2026, 10, 2)}],
        "leads": []})
    assert digest.startswith("Buenos días, Marta. Resumen del 23 nov 2026.")
    assert "Tareas vencidas (0)\n  Ninguna." in digest and "Mejores leads nuevos (0)\n  Ninguno." in digest
    assert "OPP-0002 Piloto: Propuesta, 1 día en la etapa, última actividad 2 oct 2026" in digest


def test_a_spanish_digest_names_a_rotting_deals_stage_as_the_sheet_does(tmp_path):
    # Was: "OPP-0001 Piloto: Proposal, 322 días en la etapa": the digest printed the engine's
    # key for the stage, not the team's word that every cell says.
    from books import xlsx
    from sheetcrm.mail.digest import owner_digests
    from sheetcrm.sync import plan_sync
    from sheetcrm.workbook.xlsx import XlsxWorkbook

    tabs = {"Cuentas": [["ID", "Nombre"], ["ACC-0001", "Acme"]],
            "Oportunidades": [["ID", "Nombre", "Cuenta", "Propietario", "Etapa", "Importe", "Moneda",
                               "Fecha de cierre", "Creado"],
                              ["OPP-0001", "Piloto", "ACC-0001", "Marta", "Propuesta", 1000, "EUR", "2027-01-31",
                               "2026-01-05"]]}
    book = XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", tabs))
    settings = config(locale="es", owners={"Marta": "marta@example.com"})
    sync(book, settings, as_of=AS_OF)
    crm, results, _ = plan_sync(book.read(), settings, AS_OF)
    [digest] = owner_digests(crm, results, settings, Templates())
    assert "- OPP-0001 Piloto: Propuesta, 322 días en la etapa" in digest.text


def test_a_quote_that_cannot_be_addressed_says_so_in_spanish(tmp_path):
    tabs = crm_tabs(Contacts=[["ID", "Account", "First Name", "Last Name", "Email"],
                              ["CON-0001", "ACC-0001", "Ana", "Pérez", ""]])
    book = xlsx_book(tmp_path, tabs)
    sync(book, config(locale="es"), as_of=AS_OF)
    validation = book.read().tabs["Validación"].rows
    [issue] = [r for r in validation if "sin_destinatario" in r]  # the code no_recipient, as the tab shows it
    assert "El presupuesto de OPP-0001 no tiene destinatario: su contacto no tiene dirección de correo." in issue
    assert "Pon en Contacto un contacto que tenga Correo." in issue


def test_a_header_problem_is_said_in_the_current_language():
    with using("es"), pytest.raises(HeaderError) as e:
        check_mailbox("To", "ana@example.com, eve@example.com")
    assert str(e.value).startswith("To debe contener exactamente una dirección válida")
    with using("en"), pytest.raises(HeaderError, match="must hold exactly one valid address"):
        check_mailbox("To", "ana@example.com, eve@example.com")


def test_an_smtp_setting_to_change_is_named_in_spanish(tmp_path, server):
    """A server that refuses the login: the row waits with the one line naming the setting."""
    settings = server.settings(user="quotes", password="s3cret-pw")
    with using("es"), SmtpSender(settings) as smtp:
        outcome = smtp._classify(ConnectionRefusedError(111, "Connection refused"))
    assert outcome.kind == "transient"
    assert outcome.reply.startswith(f"no se puede conectar con 127.0.0.1:{server.port}:")
    assert "revisa host y port en [smtp]" in outcome.reply and "s3cret-pw" not in outcome.reply
    # The system's refusal in Spanish too, never Python's "[Errno 111] Connection refused".
    assert ": conexión rechazada (" in outcome.reply and "Errno" not in outcome.reply


def test_a_spanish_rows_error_names_its_columns_as_the_team_reads_them(tmp_path, server):
    # The Error said "To debe contener…" under a column the team reads as "Para".
    book = queued(tmp_path, "es")
    outbox = read_outbox(book.read(), "es")
    [row] = outbox.rows
    book.write(Plan(writes=[CellWrite(outbox.title, row.row, outbox.columns["to"], "ana@example.com, eve@example.com"),
                            CellWrite(outbox.title, row.row, outbox.columns["status"], "Aprobado")]))
    send(book, server, cfg=config(locale="es"))
    [row] = read_outbox(book.read(), "es").rows
    assert row.text("status") == "Fallido" and not server.inbox.messages
    assert row.text("error").startswith("Para debe contener exactamente una dirección válida"), row.text("error")
    assert "To " not in row.text("error")


def test_a_spanish_workbook_with_no_locale_gets_its_quote_sent_in_spanish_from_an_english_shell(tmp_path, server,
                                                                                                monkeypatch):
    """Kind: the workbook's language (its CRM tabs' titles, as the config sets none) decided what
    `sync` wrote, but `outbox send` read the workbook under the environment's: a Spanish team's
    server with an English shell sent the customer an English quote (English words, $1,234.50
    money) under the Spanish subject sync had queued, and wrote Sent and an Email activity in
    English into the Spanish tabs."""
    monkeypatch.setenv("SHEETCRM_LANG", "en")
    spanish = {"Accounts": "Cuentas", "Contacts": "Contactos", "Opportunities": "Oportunidades",
               "Products": "Productos", "Quote Lines": "Líneas de presupuesto", "Activities": "Actividades"}
    book = xlsx_book(tmp_path, {spanish[title]: rows for title, rows in crm_tabs().items()})
    sync(book, config(), as_of=AS_OF)
    approve(book, "es", "Aprobado")
    report = send(book, server, cfg=config())
    assert report.sent == ["OUT-0001"]
    [msg] = server.inbox.messages
    assert msg["Subject"] == "Presupuesto Q-2026-0001 – Expansion"
    text = msg.get_body(("plain",)).get_content()
    assert "Le enviamos el presupuesto Q-2026-0001" in text and "Total: 2.509,06\xa0€" in text, text
    [row] = read_outbox(book.read(), "es").rows
    assert row.text("status") == "Enviado"
    assert book.read().tabs["Actividades"].rows[-1][2] == "Correo"
