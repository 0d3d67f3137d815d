"""`sheetcrm demo` shows a lead's life (issue 13): a form's responses tab whose answers become
leads in the demo's own sync, exactly once (one of them a person who is a lead already, who
gets a Form Submitted activity instead); a lead ticked Convert, converted, its links naming rows
that exist; the planted duplicates on the Duplicates tab. The command runs as a person runs
it, on a real .xlsx, in English and in Spanish; what it wrote is read back with openpyxl."""

from __future__ import annotations

import json

import openpyxl
from demo_runs import CONFIG, run_cli

from sheetcrm.demo import FORM_NAME, FORM_QUESTIONS, FORM_TAB, FORM_TIMESTAMP
from sheetcrm.i18n import in_locale
from sheetcrm.intake.forms import FORM_SUBMITTED, KEY
from sheetcrm.schema import DUPLICATES, TABS


def _table(wb, title):
    rows = [list(r) for r in wb[title].iter_rows(values_only=True)]
    return [dict(zip(rows[0], r)) for r in rows[1:] if any(v not in (None, "") for v in r)]


def _h(tab: str, field: str, locale: str) -> str:
    """The header the demo gives a field's column in `locale`."""
    return next(c.header_es if locale == "es" else c.header for c in TABS[tab].columns if c.field == field)


def _form_config(locale: str) -> str:
    """The demo's [forms.web] as a person copies it into sheetcrm.toml (TOML strings are JSON's)."""
    fields = ", ".join(f"{json.dumps(q, ensure_ascii=False)} = {json.dumps(f)}"
                       for q, f in FORM_QUESTIONS[locale].items())
    return f'[forms.{FORM_NAME}]\ntab = {json.dumps(FORM_TAB[locale], ensure_ascii=False)}\nfields = {{ {fields} }}\n'


def test_the_form_responses_became_leads_once_and_the_known_person_an_activity(demo):
    locale, folder, printed = demo
    wb = openpyxl.load_workbook(folder / "demo.xlsx")
    leads_title, acts_title = TABS["leads"].display_title(locale), TABS["activities"].display_title(locale)
    email_q = next(q for q, f in FORM_QUESTIONS[locale].items() if f == "email")
    responses = _table(wb, FORM_TAB[locale])
    assert len(responses) == 4 and all(r["Lead"] for r in responses)  # each one handled, its record named
    email_h, id_h = _h("leads", "email", locale), "ID"
    leads = _table(wb, leads_title)
    by_email: dict[str, list[dict]] = {}
    for lead in leads:
        by_email.setdefault((lead[email_h] or "").casefold(), []).append(lead)
    created_h, stamp_h = _h("leads", "created", locale), FORM_TIMESTAMP[locale]
    made = [r for r in responses if by_email[r[email_q].casefold()][0][created_h].date() == r[stamp_h].date()]
    known = [r for r in responses if r not in made]
    assert len(made) == 3 and len(known) == 1
    for r in responses:
        people = by_email[r[email_q].casefold()]
        assert len(people) == 1 and people[0][id_h] == r["Lead"]  # one lead per person, the one named
    for r in made:
        lead = by_email[r[email_q].casefold()][0]
        assert lead[_h("leads", "source", locale)] == "Web"
    # Every response has its Form Submitted activity on its record, once: the known person's too.
    activities = _table(wb, acts_title)
    type_h, subject_h, related_h = (_h("activities", f, locale) for f in ("type", "subject", "related"))
    submitted = [a for a in activities if a[type_h] == FORM_SUBMITTED[locale]]
    assert sorted(a[related_h] for a in submitted) == sorted(r["Lead"] for r in responses)
    assert len({KEY.search(a[subject_h]).group(1) for a in submitted}) == 4
    assert FORM_TAB[locale] in printed  # the demo says where to look

    # A second sync, reading the same form, adds no lead and changes nothing.
    (folder / "second.toml").write_text(CONFIG[locale] + _form_config(locale), encoding="utf-8")
    out = run_cli("sync", "--workbook", "demo.xlsx", "--config", "second.toml", "--format", "json", cwd=folder)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["cells_written"]["total"] == 0
    again = openpyxl.load_workbook(folder / "demo.xlsx")
    assert len(_table(again, leads_title)) == len(leads)
    assert len(_table(again, acts_title)) == len(activities)


def test_the_lead_ticked_convert_is_converted_and_its_links_name_rows_that_exist(demo):
    locale, folder, _printed = demo
    wb = openpyxl.load_workbook(folder / "demo.xlsx")
    heads = {k: in_locale(locale, k) for k in ("Converted Account", "Converted Contact", "Converted Opportunity",
                                               "Converted On", "From Lead")}
    leads = _table(wb, TABS["leads"].display_title(locale))
    converted = [lead for lead in leads if lead.get(heads["Converted Account"])]
    assert len(converted) == 1
    lead = converted[0]
    assert lead[_h("leads", "convert", locale)] == ("yes" if locale == "en" else "sí")
    assert lead[heads["Converted On"]] is not None
    rows = {key: {r["ID"]: r for r in _table(wb, TABS[key].display_title(locale))}
            for key in ("accounts", "contacts", "opportunities")}
    account = rows["accounts"][lead[heads["Converted Account"]]]
    contact = rows["contacts"][lead[heads["Converted Contact"]]]
    deal = rows["opportunities"][lead[heads["Converted Opportunity"]]]
    for made in (account, contact, deal):
        assert made[heads["From Lead"]] == lead["ID"]
    assert contact[_h("contacts", "account", locale)] == account["ID"]
    assert (deal[_h("opportunities", "account", locale)], deal[_h("opportunities", "contact", locale)]) == (
        account["ID"], contact["ID"])
    # Made once: nothing else names the lead in From Lead.
    assert sum(r.get(heads["From Lead"]) == lead["ID"] for tab in rows.values() for r in tab.values()) == 3


def test_the_planted_duplicates_are_on_the_duplicates_tab(demo):
    locale, folder, _printed = demo
    wb = openpyxl.load_workbook(folder / "demo.xlsx")
    heads = DUPLICATES.display_headers(locale)
    groups: dict[str, set[tuple[str, str]]] = {}
    for row in _table(wb, DUPLICATES.display_title(locale)):
        groups.setdefault(row[heads[0]], set()).add((row[heads[3]], row[heads[4]]))
    contacts_t, leads_t = TABS["contacts"].display_title(locale), TABS["leads"].display_title(locale)
    # The planted ones: two contacts sharing an email, a lead who is a contact already.
    assert any({(contacts_t, "CON-0002"), (contacts_t, "CON-0003")} <= g for g in groups.values())
    assert any({(leads_t, "LEAD-0009"), (contacts_t, "CON-0008")} <= g for g in groups.values())
