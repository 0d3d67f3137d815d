"""Rendering: built-in templates, overrides, escaping, the sandbox, and errors that say where."""

from __future__ import annotations

import datetime as dt

import pytest

from conftest import config, crm_tabs
from sheetcrm.mail.context import QuoteHeader, find_opportunity, quote_context
from sheetcrm.mail.outbox import Desk
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
    assert "quote.txt.j2, line 3" in str(e.value) and "nope" in str(e.value)
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
