"""Rendering: built-in templates, overrides, escaping, the sandbox, and errors that say where."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from conftest import config, crm_tabs
from sheetcrm.mail.context import QuoteHeader, find_opportunity, quote_context
from sheetcrm.mail.outbox import Desk
from sheetcrm.i18n import using
from sheetcrm.mail.templates import TemplateError, Templates, builtin_dir
from sheetcrm.workbook.memory import MemoryWorkbook


def context(locale="en"):
    desk = Desk.read(MemoryWorkbook(crm_tabs()).read(), config(locale=locale))
    result = desk.quote(find_opportunity(desk.crm, "OPP-0001"))
    return quote_context(desk.crm, result, QuoteHeader("Q-2026-0001", dt.date(2026, 11, 23)), locale)


def test_built_in_templates_ship_in_the_top_level_folder():
    assert builtin_dir().name == "templates"
    assert {"quote.html.j2", "quote.txt.j2", "followup.txt.j2", "digest.txt.j2"} <= set(Templates().env.list_templates())


def test_quote_renders_totals_and_escapes_html():
    ctx = context()
    html = Templates().render("quote.html.j2", ctx)
    text = Templates().render("quote.txt.j2", ctx)
    assert "€2,509.06" in html and "€2,509.06" in text
    assert "Acme &lt;b&gt;Corp&lt;/b&gt;" in html and "<b>Corp" not in html
    assert "Q-2026-0001" in text and "Licence (P1): 2 × €1,000.50, discount 10% = €1,800.90" in text


def test_spanish_quote():
    html = Templates().render("quote.html.j2", context("es"))
    assert "2509,06\xa0€" in html or "2.509,06\xa0€" in html
    assert "Presupuesto" in html and "23 de noviembre de 2026" in html


def test_template_sees_records_and_custom_fields(tmp_path):
    (tmp_path / "quote.txt.j2").write_text(
        "{{ account.name }}|{{ account.country }}|{{ contact.email }}|{{ opportunity.name }}|{{ owner.name }}|"
        "{{ custom['PO Number'] }}|{{ opportunity.custom['PO Number'] }}|{{ lines|length }}|{{ totals.tax|money }}")
    out = Templates(tmp_path).render("quote.txt.j2", context())
    assert out == "Acme <b>Corp</b>|ES|ana@example.com|Expansion|Marta|PO-77|PO-77|2|€408.19"
    assert "€2,509.06" in Templates(tmp_path).render("quote.html.j2", context())  # the rest stay built-in


def test_sandbox_keeps_python_internals_out_of_reach(tmp_path):
    (tmp_path / "quote.html.j2").write_text("{{ ''.__class__.__mro__ }}")
    (tmp_path / "quote.txt.j2").write_text("{{ lines.append(1) }}")
    with pytest.raises(TemplateError, match=r"quote\.html\.j2, line 1: .*__class__"):
        Templates(tmp_path).render("quote.html.j2", context())
    with pytest.raises(TemplateError, match=r"quote\.txt\.j2, line 1: not allowed"):
        Templates(tmp_path).render("quote.txt.j2", context())


def test_error_names_template_line_and_missing_field(tmp_path):
    (tmp_path / "quote.txt.j2").write_text("Hello\n{{ contact.first_name }}\n{{ opportunity.nope }}\n")
    with pytest.raises(TemplateError) as e:
        Templates(tmp_path).render("quote.txt.j2", context())
    assert str(e.value) == "quote.txt.j2, line 3: the template uses opportunity.nope, but opportunity has no such field"
    (tmp_path / "quote.txt.j2").write_text("{% for x in lines %}\n{{ x }")
    with pytest.raises(TemplateError, match=r"quote\.txt\.j2, line 2"):
        Templates(tmp_path).render("quote.txt.j2", context())


def test_followup_and_digest_render():
    ctx = context() | {"sent_at": dt.date(2026, 11, 23)}
    followup = Templates().render("followup.txt.j2", ctx)
    assert "quote Q-2026-0001, which we sent on November 23, 2026" in followup and "€2,509.06" in followup
    digest = Templates().render("digest.txt.j2", {
        "locale": "en", "owner": "Marta", "as_of": dt.date(2026, 11, 23),
        "overdue": [{"id": "TSK-0001", "subject": "Call <Ana>", "due": dt.date(2026, 11, 20), "related": "OPP-0001"}],
        "rotting": [{"id": "OPP-0002", "name": "Pilot", "stage": "Proposal", "days_in_stage": 40,
                     "last_activity": None}],
        "leads": []})
    assert "Good morning, Marta" in digest and "Overdue tasks (1)" in digest and "Call <Ana> (OPP-0001)" in digest
    assert "OPP-0002 Pilot: Proposal, 40 days in stage" in digest and "Best new leads (0)" in digest


def test_a_missing_templates_folder_is_an_error(tmp_path):
    with pytest.raises(TemplateError, match="does not exist"):
        Templates(tmp_path / "nope")


def test_the_version_covers_what_the_templates_show_and_nothing_else(tmp_path):
    from books import xlsx_book

    from sheetcrm.mail.context import quote_version
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "quote.txt.j2").write_text("{{ contact['first_name'] }}, valid until {{ opportunity.close_date }}"
                                         "{% set c = account %}{{ c.name }}\n")
    (folder / "quote.html.j2").write_text("<p>{% include 'quote.txt.j2' %}</p>")  # what an include shows counts

    def versions(**changes):
        tabs = crm_tabs()
        tabs["Opportunities"][0].append("Close Date")
        tabs["Opportunities"][1].append(changes.get("close", "2026-12-31"))
        tabs["Accounts"][1][2] = changes.get("country", "ES")
        tabs["Contacts"][1][3] = changes.get("last", "Pérez")
        desk = Desk.read(xlsx_book(tmp_path / "q.xlsx", tabs).read(), config())
        quote = desk.quote(find_opportunity(desk.crm, "OPP-0001")).quote
        return quote_version(desk.crm, quote, Templates()), quote_version(desk.crm, quote, Templates(folder))

    builtin, team = versions()
    # The built-in quote shows the contact's last name, not the deal's Close Date or the country.
    assert versions(close="2027-01-31")[0] == builtin and versions(country="FR")[0] == builtin
    assert versions(last="Stone")[0] != builtin
    # The team's template shows the Close Date and the whole account (aliased): both count; it
    # shows no last name.
    assert versions(close="2027-01-31")[1] != team and versions(country="FR")[1] != team
    assert versions(last="Stone")[1] == team


def test_a_missing_field_is_named_as_the_template_names_it_in_the_teams_language(tmp_path):
    # Was: 'la plantilla usa nope de dict object, que no tiene ese campo (jinja2 dice: "'dict
    # object' has no attribute 'nope'")': jinja2's English, and no word of which record.
    (tmp_path / "quote.txt.j2").write_text("{{ quote.number }}\n{{ lines[0].nope }} {{ totals.net }}\n")
    with using("es"), pytest.raises(TemplateError) as e:
        Templates(tmp_path).render("quote.txt.j2", context("es"))
    assert str(e.value) == "quote.txt.j2, línea 2: la plantilla usa lines[0].nope, pero lines[0] no tiene ese campo"
    # Two records missing the same field on one line: which one cannot be told, and no guess.
    (tmp_path / "quote.txt.j2").write_text("{{ account.nope }} {{ contact.nope }}")
    with pytest.raises(TemplateError) as e:
        Templates(tmp_path).render("quote.txt.j2", context())
    assert str(e.value) == "quote.txt.j2, line 1: the template uses nope, a field that is not there"


@pytest.mark.parametrize("locale, expected", [
    ("en", "50% 0.5% 21% 12.5% | 3 2.5 1.3333 | €2.50 €3.00 €0.125 | March 5, 2027 3/5/27"),
    ("es", "50\xa0% 0,5\xa0% 21\xa0% 12,5\xa0% | 3 2,5 1,3333 | 2,50\xa0€ 3,00\xa0€ 0,125\xa0€ | "
           "5 de marzo de 2027 5/3/27"),
])
def test_the_filters_take_ints_floats_and_decimals_alike(tmp_path, locale, expected):
    # Was: {{ 0.5|percent }} raised "TypeError: unsupported operand type(s) for /: 'float' and
    # 'decimal.Decimal'" at the row. A float is taken by its shortest repr: 0.1 is 0.1.
    (tmp_path / "quote.txt.j2").write_text(
        "{{ 50|percent }} {{ 0.5|percent }} {{ 21.0|percent }} {{ dec|percent }} | "
        "{{ 3|qty }} {{ 2.5|qty }} {{ exact|qty }} | "
        "{{ 2.5|money }} {{ 3|money }} {{ 0.125|money }} | {{ day|date }} {{ day|date('short') }}")
    ctx = {**context(locale), "dec": Decimal("12.5"), "exact": Decimal("1.3333"), "day": dt.date(2027, 3, 5)}
    assert Templates(tmp_path).render("quote.txt.j2", ctx) == expected


@pytest.mark.parametrize("source, english, spanish", [
    ('{{ "abc"|money }}', 'the money filter shows a number, and was given "abc"',
     'el filtro money muestra un número, y recibió "abc"'),
    ("{{ opportunity.close_date|date }}", "the date filter shows a date, and was given a blank",
     "el filtro date muestra una fecha, y recibió un valor vacío"),
    ("{{ opportunity.nope|money }}", "the template uses opportunity.nope, but opportunity has no such field",
     "la plantilla usa opportunity.nope, pero opportunity no tiene ese campo"),
])
def test_a_filter_given_what_it_cannot_show_is_a_clear_error_never_a_python_one(tmp_path, source, english, spanish):
    # A blank date was shown as today's date (babel's format_date(None)); text a TypeError.
    (tmp_path / "quote.txt.j2").write_text(source)
    for language, words in (("en", english), ("es", spanish)):
        with using(language), pytest.raises(TemplateError) as e:
            Templates(tmp_path).render("quote.txt.j2", {**context(language), "opportunity": {"close_date": None}})
        assert str(e.value).endswith(": " + words)


def test_a_quote_template_that_fails_fails_its_outbox_row_with_a_clear_reason(tmp_path, server):
    # A team's template with {{ 0.5|percent }} and {{ opportunity.nope }}: the Error a person reads
    # on the row names the template, the line and what is wrong, in the team's words.
    from test_outbox_smtp import AS_OF, Clock, outbox_rows, set_cell, xlsx_book
    from sheetcrm.mail.outbox import send_outbox
    from sheetcrm.mail.smtp import SmtpSender
    from sheetcrm.sync import sync
    folder = tmp_path / "tpl"
    folder.mkdir()
    # Renders when the sync queues the quote (a template that fails then is not queued: below),
    # and is edited after the row was approved into one that fails, showing the same fields.
    (folder / "quote.txt.j2").write_text("IVA {{ 0.5|percent }}\n{% if false %}{{ opportunity.nope }}{% endif %}\n")
    cfg = config(locale="es", templates=str(folder))
    book = xlsx_book(tmp_path, crm_tabs())
    sync(book, cfg, as_of=AS_OF)
    set_cell(book, "Estado", "Aprobado", tab="Bandeja de salida")
    (folder / "quote.txt.j2").write_text("IVA {{ 0.5|percent }}\n{{ opportunity.nope }}\n")
    s = server.settings()
    report = send_outbox(book, cfg, s, Templates(folder), lambda: SmtpSender(s), Clock(), lambda: "t")
    assert report.sent == [] and server.inbox.messages == []
    [row] = outbox_rows(book)
    assert row["status"] == "Fallido"
    assert row["error"].endswith("quote.txt.j2, línea 2: la plantilla usa opportunity.nope, pero opportunity no "
                                 "tiene ese campo"), row["error"]
    assert "dict object" not in row["error"] and "TypeError" not in row["error"]


def test_a_quote_template_edited_after_approval_is_not_sent_unseen_but_back_at_draft(tmp_path, server):
    # A person approved the quote as "Dear customer, ..."; the template then became "50 % off!"
    # (the same fields shown, so the quote's version did not change): that text was sent, unsaid.
    # Now the row goes back to Draft with the new text's version, saying why; approved again, the
    # new text goes out, once. A tick left in place queues no second quote for the edit.
    from test_outbox_smtp import AS_OF, Clock, outbox_rows, set_cell, xlsx_book
    from sheetcrm.mail.outbox import send_outbox
    from sheetcrm.mail.smtp import SmtpSender
    from sheetcrm.sync import sync
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "quote.txt.j2").write_text("Dear customer, quote {{ quote.number }}\n")
    cfg = config(templates=str(folder))
    book = xlsx_book(tmp_path, crm_tabs())
    sync(book, cfg, as_of=AS_OF)
    set_cell(book, "Status", "Approved")
    (folder / "quote.txt.j2").write_text("50 % off! quote {{ quote.number }}\n")
    s = server.settings()
    report = send_outbox(book, cfg, s, Templates(folder), lambda: SmtpSender(s), Clock(), lambda: "t")
    assert report.sent == [] and server.inbox.messages == []
    [row] = outbox_rows(book)
    assert report.redrafted == [row["id"]] and row["status"] == "Draft", row
    assert "templates changed since it was approved" in row["error"], row["error"]
    sync(book, cfg, as_of=AS_OF)
    assert len(outbox_rows(book)) == 1  # the edit queued no second quote
    set_cell(book, "Status", "Approved")
    report = send_outbox(book, cfg, s, Templates(folder), lambda: SmtpSender(s), Clock(), lambda: "t")
    assert len(report.sent) == 1 and len(server.inbox.messages) == 1
    assert "50 % off!" in server.inbox.messages[0].get_body(("plain",)).get_content()
    assert outbox_rows(book)[0]["status"] == "Sent"


def test_a_quote_template_that_fails_queues_nothing_and_says_so_once_at_the_send_quote_cell(tmp_path):
    """A team's template that cannot render the quote: the tick queued a Draft all the same, a
    person approved it, and only the send said why, on each row. Now the sync says it at the
    deal's Send Quote cell, takes no number, and queues the quote once the template renders."""
    from test_outbox_smtp import AS_OF, outbox_rows, xlsx_book
    from sheetcrm.sync import sync
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "quote.html.j2").write_text("<p>{{ opportunity.po }}</p>\n")
    cfg = config(templates=str(folder))
    book = xlsx_book(tmp_path, crm_tabs())
    for _ in range(2):
        outcome = sync(book, cfg, as_of=AS_OF)
        [issue] = [i for i in outcome.crm.report.issues if i.code == "quote_template_error"]
        assert (issue.tab, issue.row, issue.header) == ("Opportunities", 2, "Send Quote")
        assert issue.message.endswith("quote.html.j2, line 1: the template uses opportunity.po, but opportunity has "
                                      "no such field")
    assert "Outbox" not in book.read().tabs
    (folder / "quote.html.j2").write_text("<p>{{ custom['PO Number'] }}</p>\n")
    outcome = sync(book, cfg, as_of=AS_OF)
    assert not [i for i in outcome.crm.report.issues if i.code == "quote_template_error"]
    assert [(r["quote"], r["status"]) for r in outbox_rows(book)] == [("Q-2026-0001", "Draft")]


def test_a_blank_cell_shows_as_nothing_never_as_none(tmp_path):
    """A contact with no Title, an owner with no address: the sheet has nothing, so the email
    shows nothing, never "Dear None" (in `{{ }}`, through a filter of text, in `~` and in the
    words' `%(name)s`, in text and HTML alike)."""
    ctx = context()
    assert ctx["contact"]["title"] is None and ctx["owner"]["email"] is None
    source = ("{{ contact.title }}|{{ contact.title|title }}{{ contact.title|upper|trim }}|{{ 'Dear ' ~ contact.title ~ '!' }}|{{ _('Hello %(name)s,', name=contact.title) }}|"
              "{% trans name=owner.email %}Write to {{ name }}{% endtrans %}|{{ pgettext('quote', 'Net') }}")
    (tmp_path / "quote.txt.j2").write_text(source)
    (tmp_path / "quote.html.j2").write_text(source + "|{{ _('Hello %(name)s,', name='<b>') }}")
    assert Templates(tmp_path).render("quote.txt.j2", ctx) == "||Dear !|Hello ,|Write to |Net"
    assert Templates(tmp_path).render("quote.html.j2", ctx) == "||Dear !|Hello ,|Write to |Net|Hello &lt;b&gt;,"


def test_every_built_in_template_compiles_and_a_teams_edited_one_is_judged_anew(tmp_path):
    """A sync takes the built-in templates as compiling and remembers a team's template's
    verdict by its text (`Templates.compiled`): so each built-in one is compiled here, and a
    file edited between two syncs of one process is judged by its new text."""
    names = sorted(p.name for p in builtin_dir().iterdir() if p.name.endswith(".j2"))
    assert names and set(Templates().compiled()) == set(names)
    for name in names:
        Templates().env.get_template(name)  # raises on a syntax error
    folder = tmp_path / "t"
    folder.mkdir()
    (folder / "welcome.txt.j2").write_text("Hi {{ contact.first_name }\n")
    assert Templates(folder).compiled()["welcome.txt.j2"]
    (folder / "welcome.txt.j2").write_text("Hi {{ contact.first_name }}\n")
    assert Templates(folder).compiled()["welcome.txt.j2"] is None
    (folder / "welcome.txt.j2").write_text("Hi {{ contact.first_name }\n")
    assert "line 1" in Templates(folder).compiled()["welcome.txt.j2"]


def test_a_quote_template_error_without_a_send_quote_column_names_a_cell(tmp_path, monkeypatch):
    """`sheetcrm quote` on a tab with no Send Quote column: the template-error line pointed at
    "Opportunities!2", a row with no column, and promised that the next sync queues the quote
    (no sync does without that column). It names the deal's ID cell and the command to run again."""
    from books import xlsx
    from in_process import cli

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    head = ["ID", "Name", "Account", "Contact", "Owner", "Stage", "Amount", "Currency", "PO Number"]
    xlsx(tmp_path / "crm.xlsx", crm_tabs(Opportunities=[
        head, ["OPP-0001", "Expansion", "ACC-0001", "CON-0001", "Marta", "Proposal", 2500, "EUR", "PO-77"]]))
    (tmp_path / "tpl").mkdir()
    (tmp_path / "tpl" / "quote.html.j2").write_text("<p>{{ opportunity.po }}</p>\n")
    (tmp_path / "sheetcrm.toml").write_text('workbook = "crm.xlsx"\ntemplates = "tpl"\n')
    done = cli("quote", "OPP-0001", cwd=tmp_path)
    first = done.stderr.splitlines()[0]
    assert done.returncode == 1 and first.startswith("  error Opportunities!A2: The quote for OPP-0001"), first
    assert first.endswith("then run `sheetcrm quote OPP-0001` again."), first


def _approved_then(tmp_path, server, first: bytes, then: bytes, monkeypatch=None, words=None):
    """A quote queued and approved with the team's quote.txt.j2 `first`, the file then `then`
    (and, with `words`, the catalogue's words replaced so, as an upgrade of sheetcrm would):
    the send's report and the Outbox row."""
    from test_outbox_smtp import AS_OF, Clock, outbox_rows, set_cell, xlsx_book
    from sheetcrm.mail import templates as tpl
    from sheetcrm.mail.outbox import send_outbox
    from sheetcrm.mail.smtp import SmtpSender
    from sheetcrm.sync import sync
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "quote.txt.j2").write_bytes(first)
    cfg = config(templates=str(folder))
    book = xlsx_book(tmp_path, crm_tabs())
    sync(book, cfg, as_of=AS_OF)
    set_cell(book, "Status", "Approved")
    (folder / "quote.txt.j2").write_bytes(then)
    if words is not None:
        real = tpl._language

        class Words:
            def __init__(self, ctx):
                self.catalogue = real(ctx)

            def __getattr__(self, name):
                return getattr(self.catalogue, name)

            def gettext(self, message):
                return words.get(message, self.catalogue.gettext(message))
        monkeypatch.setattr(tpl, "_language", Words)
    s = server.settings()
    report = send_outbox(book, cfg, s, Templates(folder), lambda: SmtpSender(s), Clock(), lambda: "t")
    return report, outbox_rows(book)[0]


def test_a_template_edit_that_changes_no_word_of_the_email_sends_the_approved_quote(tmp_path, server):
    # A comment reworded and the file saved with Windows line endings (an editor, git's
    # autocrlf on another machine): the email reads exactly as approved. It went back to Draft,
    # and would at every such save, or when an upgrade reworded a built-in template's comment.
    report, row = _approved_then(tmp_path, server, b"{# v1 #}Dear customer, quote {{ quote.number }}\n",
                                 b"{# v2, by Ana #}Dear customer, quote {{ quote.number }}\r\n")
    assert report.redrafted == [] and len(report.sent) == 1, (report, row)
    assert row["status"] == "Sent" and len(server.inbox.messages) == 1


def test_a_quote_whose_words_changed_in_sheetcrms_catalogue_is_not_sent_unseen(tmp_path, server, monkeypatch):
    # The template's words come from the catalogue (`_("...")`): an upgrade that words them
    # otherwise changes what the customer reads with no template file touched.
    source = b'{{ _("The quote is attached.") }} {{ quote.number }}\n'
    report, row = _approved_then(tmp_path, server, source, source, monkeypatch,
                                 words={"The quote is attached.": "Half price, today only!"})
    assert report.sent == [] and server.inbox.messages == [], report
    assert report.redrafted == [row["id"]] and row["status"] == "Draft", row


def test_a_template_edit_that_shows_the_quotes_date_otherwise_is_not_sent_unseen(tmp_path, server):
    # The text's fingerprint renders the quote's number and date as stand-ins (the row's own are
    # its cells): an edit of how they are shown is still new text for the person to see.
    report, row = _approved_then(tmp_path, server, b"Quote {{ quote.number }} of {{ quote.date }}\n",
                                 b"Quote {{ quote.number }} of {{ quote.date.year }}\n")
    assert report.sent == [] and server.inbox.messages == [], report
    assert report.redrafted == [row["id"]] and row["status"] == "Draft", row


# The '~' mark sheetcrm gave these two templates (in English) while it fingerprinted the
# templates' files: Outbox rows queued then carry it, sealed with it.
FILES_TXT = b"Dear customer, quote {{ quote.number }}: {{ totals.total|money }}\n"
FILES_HTML = b"<p>Quote {{ quote.number }}</p>\n"
FILES_MARK_BEFORE = "4edc8f15"


@pytest.mark.parametrize("edited", [False, True])
def test_a_row_approved_with_the_files_mark_of_before_is_sent_while_its_templates_are_those(tmp_path, server, edited):
    """Was: after the upgrade that made the mark the email's as rendered, every quote approved
    before it went back to Draft, "the quote's email templates changed since it was approved",
    with no template touched."""
    from test_outbox_smtp import AS_OF, Clock, outbox_rows, set_cell, xlsx_book
    from sheetcrm.mail.context import charges_of, with_text
    from sheetcrm.mail.outbox import seal, send_outbox
    from sheetcrm.mail.smtp import SmtpSender
    from sheetcrm.sync import sync
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "quote.txt.j2").write_bytes(FILES_TXT)
    (folder / "quote.html.j2").write_bytes(FILES_HTML)
    cfg = config(templates=str(folder))
    book = xlsx_book(tmp_path, crm_tabs())
    sync(book, cfg, as_of=AS_OF)
    [row] = outbox_rows(book)
    before = with_text(charges_of(row["version"]), FILES_MARK_BEFORE)
    set_cell(book, "Version", before)
    set_cell(book, "Seal", seal(row["id"], row["opportunity"], row["quote"], before))
    set_cell(book, "Status", "Approved")
    if edited:
        (folder / "quote.txt.j2").write_bytes(FILES_TXT.replace(b"Dear customer", b"Half price today"))
    s = server.settings()
    report = send_outbox(book, cfg, s, Templates(folder), lambda: SmtpSender(s), Clock(), lambda: "t")
    if edited:
        assert report.sent == [] and report.redrafted == [row["id"]] and server.inbox.messages == [], report
    else:
        assert report.sent == [row["id"]] and report.redrafted == [], report
        assert "Dear customer, quote Q-2026-0001" in server.inbox.messages[0].get_body(("plain",)).get_content()
