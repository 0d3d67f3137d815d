"""A realistic demo CRM, reproducible from a seed, with a few rows broken on purpose.

The history carries a learnable signal (referrals and senior titles convert more often), so
that scoring and forecasts have something true to find.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
import unicodedata
import dataclasses
from dataclasses import dataclass
from typing import Any

from sheetcrm.crm.stages import DEFAULT_STAGES
from sheetcrm.i18n import N_, in_locale
from sheetcrm.intake.settings import FormSettings
from sheetcrm.mail.journal import stamp
from sheetcrm.mail.outbox import SEAL_HEADER, seal, status_label
from sheetcrm.schema import CAMPAIGNS as CAMPAIGNS_TAB
from sheetcrm.schema import CASES, OUTBOX, SEGMENTS, STAGE_HISTORY, TABS, WORKFLOWS

OWNERS = ["Ana García", "Ben Carter", "Chloé Martin", "Diego Ruiz"]  # not for people: sample data; Spanish in _SPANISH
FIRST = ["Olivia", "Liam", "Sofía", "Mateo", "Emma", "Noah", "Lucía", "Hugo", "Mia", "Leo", "Valentina",  # not for people: sample data; Spanish in _SPANISH
         "James", "Martina", "Daniel", "Grace", "Pablo", "Zoe", "Samuel", "Carmen", "Jack"]  # not for people: sample data; Spanish in _SPANISH
LAST = ["Smith", "López", "Johnson", "Fernández", "Brown", "Martínez", "Taylor", "Sánchez", "Wilson",  # not for people: sample data; Spanish in _SPANISH
        "Gómez", "Clark", "Díaz", "Lewis", "Moreno", "Walker", "Romero", "Young", "Navarro", "King", "Torres"]  # not for people: sample data; Spanish in _SPANISH
PREFIX = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent", "Tyrell",  # not for people: sample data; Spanish in _SPANISH
          "Cyberdyne", "Aperture", "Massive", "Oscorp", "Nakatomi", "Gringotts", "Wonka", "Monarch", "Duff", "Sirius"]  # not for people: sample data; Spanish in _SPANISH
SUFFIX = ["Labs", "Systems", "Logistics", "Foods", "Care", "Energy", "Media", "Robotics", "Retail", "Capital"]  # not for people: sample data; Spanish in _SPANISH
INDUSTRIES = ["Software", "Manufacturing", "Retail", "Healthcare", "Finance", "Logistics", "Education", "Energy"]  # not for people: sample data; Spanish in _SPANISH
COUNTRIES = ["US", "ES", "MX", "GB", "FR", "DE", "AR", "CO"]  # not for people: sample data; Spanish in _SPANISH
TITLES = [("CEO", 3), ("VP Sales", 3), ("Head of Operations", 2), ("Director", 2), ("Manager", 1),  # not for people: sample data; Spanish in _SPANISH
          ("Analyst", 0), ("Intern", -1), ("Engineer", 0)]  # not for people: sample data; Spanish in _SPANISH
SOURCES = [("Referral", 2.0), ("Event", 0.8), ("Web", 0.0), ("Partner", 1.0), ("Cold Call", -1.2), ("Ads", -0.6)]  # not for people: sample data; Spanish in _SPANISH
CAMPAIGNS = ["Spring Webinar", "Trade Show 2026", "Newsletter", "Partner Program", "Retargeting"]  # not for people: sample data; Spanish in _SPANISH
PRODUCTS = [("SKU-001", "Starter licence", 490, 21), ("SKU-002", "Team licence", 1290, 21),  # not for people: sample data; Spanish in _SPANISH
            ("SKU-003", "Enterprise licence", 4900, 21), ("SKU-004", "Onboarding package", 1500, 21),  # not for people: sample data; Spanish in _SPANISH
            ("SKU-005", "Premium support (year)", 2400, 21), ("SKU-006", "Training day", 850, 10),  # not for people: sample data; Spanish in _SPANISH
            ("SKU-007", "Data migration", 3200, 21), ("SKU-008", "API add-on", 600, 21)]  # not for people: sample data; Spanish in _SPANISH
WIN_ODDS = [0.1, 0.25, 0.5, 0.75]  # by the furthest open stage a closed deal reached
# The newest rows of each tab have no ID yet, as when someone just typed them in; nothing
# refers to them yet.
NEW = 3
OPEN_STAGES = ["Prospecting", "Qualification", "Proposal", "Negotiation"]

# The demo in Spanish: the same CRM, drawn from the same seed in English and then every sample
# value put in Spanish (values a Spanish team would type; stages, statuses and types are among
# the aliases sheetcrm reads). Unknown values (names, emails, IDs) stay as they are.
_SPANISH = {  # not for people: sample data
    "Prospect": "Prospecto", "Customer": "Cliente", "Churned": "Baja", "Partner": "Socio",
    "CEO": "Director general", "VP Sales": "VP de Ventas", "Head of Operations": "Jefe de Operaciones",  # not for people: sample data
    "Manager": "Gerente", "Analyst": "Analista", "Intern": "Becario", "Engineer": "Ingeniero",
    "Referral": "Referido", "Event": "Evento", "Cold Call": "Llamada en frío", "Ads": "Anuncios",  # not for people: sample data
    "Completed": "Completada", "In Progress": "En curso", "Webinar": "Webinar",  # not for people: sample data
    "Spring Webinar": "Webinar de primavera", "Trade Show 2026": "Feria 2026", "Newsletter": "Boletín",  # not for people: sample data
    "Partner Program": "Programa de socios",  # not for people: sample data
    "New": "Nuevo", "Contacted": "Contactado", "Qualified": "Calificado", "Unqualified": "No calificado",  # not for people: sample data
    "Converted": "Convertido", "Hot": "Caliente",
    "Asked for pricing": "Pidió precios", "Met at booth": "Conocido en la feria",  # not for people: sample data
    "Call back in Q3": "Volver a llamar en el T3",  # not for people: sample data
    "Prospecting": "Prospección", "Qualification": "Calificación", "Proposal": "Propuesta",
    "Negotiation": "Negociación", "Closed Won": "Ganada", "Closed Lost": "Perdida", "Closing": "Cerrando",  # not for people: sample data
    "twelve hundred": "mil doscientos",  # not for people: sample data
    "Call": "Llamada", "Email": "Correo", "Meeting": "Reunión", "Note": "Nota", "Called back": "Devolvió la llamada",  # not for people: sample data
    "Positive": "Positivo", "No answer": "Sin respuesta", "Sent proposal": "Propuesta enviada",  # not for people: sample data
    "Send proposal": "Enviar propuesta", "Follow up": "Hacer seguimiento", "Book demo": "Agendar demo",  # not for people: sample data
    "Prepare contract": "Preparar contrato", "Open": "Abierta", "Done": "Hecha",  # not for people: sample data
    "Renewal call": "Llamada de renovación", "Send renewal quote": "Enviar presupuesto de renovación",  # not for people: sample data
    "Starter licence": "Licencia básica", "Team licence": "Licencia de equipo",  # not for people: sample data
    "Enterprise licence": "Licencia empresarial", "Onboarding package": "Paquete de puesta en marcha",  # not for people: sample data
    "Premium support (year)": "Soporte prémium (año)", "Training day": "Día de formación",  # not for people: sample data
    "Data migration": "Migración de datos", "API add-on": "Complemento API",  # not for people: sample data
    "Expansion": "Expansión", "New deal": "Nueva venta", "Renewal": "Renovación", "Pilot": "Piloto",  # not for people: sample data
    "Notes": "Notas", "yes": "sí",
}

# The demo's web form: a Google Form's responses tab as Google writes it, in the demo's
# language, and the [forms.web] section that reads it (`demo_forms`), which the demo's own
# sync uses. Its people are not in the CRM, but for one (REPEAT), who is a lead already.
FORM_NAME = "web"  # not for people: the [forms.<name>] key
FORM_TAB = {"en": "Form Responses 1", "es": "Respuestas de formulario 1"}  # not for people: what Google Forms names it
FORM_QUESTIONS = {  # the responses tab's headers -> Leads fields
    "en": {"Email Address": "email", "Full Name": "name", "Company": "company", "Phone Number": "phone"},  # not for people: what the form asks
    "es": {"Dirección de correo electrónico": "email", "Nombre y apellidos": "name", "Empresa": "company",  # not for people: what the form asks
           "Número de teléfono": "phone"},  # not for people: what the form asks
}
FORM_TIMESTAMP = {"en": "Timestamp", "es": "Marca temporal"}  # not for people: what Google Forms writes
FORM_PEOPLE = [  # (days ago, hour, minute, name, email, company, phone); None: the repeat lead's
    (6, 9, 14, "Valentina Ruiz", "valentina.ruiz@bluebird.example", "Bluebird Foods", "+34 611 222 333"),  # not for people: sample data
    (4, 16, 2, "Hugo Navarro", "hugo@lumen.example", "Lumen Capital", ""),  # not for people: sample data
    (2, 11, 30, None, None, None, ""),
    (1, 18, 45, "Grace Moreno", "grace.moreno@kestrel.example", "Kestrel Media", "+44 7700 900123"),  # not for people: sample data
]
REPEAT = 12  # the Leads row (list index) of the person who fills in the form again
CONVERT = "Northwind Labs"  # not for people: sample data; the company of the lead ticked Convert (no account yet)
CONVERT_AMOUNT = 24000
DUPLICATE_LEAD = 9  # the Leads row (list index) of the person who is a contact already
_SUBJECT = re.compile(r"(Call|Email|Meeting|Note) about next steps")
_DEAL = re.compile(r"(.*) – (Expansion|New deal|Renewal|Pilot)")


@dataclass
class DemoData:
    """The demo as tab title -> rows (header first), ready to write to any workbook."""

    tabs: dict[str, list[list[Any]]]
    planted: list[str]  # what was broken on purpose, for the demo's own summary
    forms: dict[str, FormSettings] = dataclasses.field(default_factory=dict)  # the [forms] its sync reads
    converting: str = ""  # the ID of the lead ticked Convert
    workflows: dict[str, str] = dataclasses.field(default_factory=dict)  # rule ID -> the deal placed for it
    at_risk: str = ""  # the account the Accounts Overview shows at risk (`_account_story`)
    # A person's edit the demo makes after its first sync: (tab, sheet row, column, the cell's
    # value, the value typed), a deal moved into Proposal, which the follow-up rule answers.
    move: tuple[str, int, int, Any, Any] | None = None


def generate(rows: int = 200, seed: int = 7, today: dt.date | None = None, locale: str = "en",
             currency: str = "USD") -> DemoData:
    """The demo CRM; in `locale` "es" its tabs, headers and sample values are Spanish (the same
    CRM as the English one of the same seed, value for value). Deals and products are in
    `currency` (the config's base currency, so the demo's totals need no Rates tab)."""
    rng = random.Random(seed)
    today = today or dt.date.today()
    n_leads = max(rows, 20)
    n_accounts = max(n_leads // 4, 8)

    def day(back: int, ahead: int = 0) -> dt.date:
        return today + dt.timedelta(days=rng.randint(-back, ahead))

    def person() -> tuple[str, str]:
        return rng.choice(FIRST), rng.choice(LAST)

    def email(first: str, last: str, company: str) -> str:
        local = f"{first}.{last}".lower()
        domain = company.split()[0].lower()
        return _ascii(f"{local}@{domain}.example")

    names = _unique_companies(rng, n_accounts)
    accounts = [["ID", "Name", "Domain", "Industry", "Employees", "Country", "Owner", "Status", "Created"]]
    for i, name in enumerate(names, 1):
        status = rng.choices(["Prospect", "Customer", "Churned", "Partner"], [4, 5, 1, 1])[0]
        accounts.append([f"ACC-{i:04d}", name, _ascii(name.split()[0].lower()) + ".example", rng.choice(INDUSTRIES),
                         rng.choice([8, 25, 60, 120, 450, 1200, 5000]), rng.choice(COUNTRIES), rng.choice(OWNERS),
                         status, day(900, -200)])

    contacts = [["ID", "Account", "First Name", "Last Name", "Email", "Phone", "Title", "Owner", "Created"]]  # not for people: sample data
    for i in range(1, n_accounts * 2 + 1):
        acc = accounts[rng.randint(1, n_accounts - NEW)]
        first, last = person()
        contacts.append([f"CON-{i:04d}", acc[0], first, last, email(first, last, acc[1]),
                         f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}", rng.choice(TITLES)[0],
                         acc[6], day(700, -30)])

    leads = [["ID", "First Name", "Last Name", "Company", "Email", "Phone", "Title", "Source", "Campaign", "Status",  # not for people: sample data
              "Owner", "Created", "Notes"]]
    for i in range(1, n_leads + 1):
        first, last = person()
        company = f"{rng.choice(PREFIX)} {rng.choice(SUFFIX)}"
        title, seniority = rng.choice(TITLES)
        source, pull = rng.choice(SOURCES)
        created = day(540)
        age = (today - created).days
        if age < 30:
            status = rng.choice(["New", "Contacted"])
        else:
            # The learnable signal: the log-odds of converting rise with source and seniority.
            odds = 1.3 * pull + 0.8 * seniority - 1.0 + rng.gauss(0, 0.35)
            status = rng.choices(["Converted", "Unqualified", "Qualified"],
                                 [_sigmoid(odds) * 0.85, (1 - _sigmoid(odds)) * 0.85, 0.15])[0]
        leads.append([f"LEAD-{i:04d}", first, last, company, email(first, last, company),
                      f"+34 6{rng.randint(10, 99)} {rng.randint(100, 999)} {rng.randint(100, 999)}", title, source,
                      rng.choice(CAMPAIGNS), status, rng.choice(OWNERS), created,
                      rng.choice(["", "", "Asked for pricing", "Met at booth", "Call back in Q3"])])  # not for people: sample data

    first_contact: dict[str, str] = {}
    for c in contacts[1:-NEW]:
        first_contact.setdefault(c[1], c[0])
    opportunities = [["ID", "Name", "Account", "Contact", "Owner", "Stage", "Amount", "Currency", "Probability",
                      "Close Date", "Created"]]  # not for people: sample data
    history: list[list[Any]] = []
    for i in range(1, max(n_leads // 2, 10) + 1):
        acc = accounts[rng.randint(1, n_accounts - NEW)]
        contact = first_contact.get(acc[0], "")
        created = day(400, -5)
        closed = rng.random() < 0.45 and (today - created).days > 20
        # How far a deal got decides its odds, so Stage History teaches calibrated win rates.
        reached = rng.choices(range(len(OPEN_STAGES)), [2, 2, 3, 3])[0]
        if closed:
            stage = "Closed Won" if rng.random() < WIN_ODDS[reached] else "Closed Lost"  # not for people: sample data
        else:
            stage = OPEN_STAGES[reached]
        close = created + dt.timedelta(days=rng.randint(15, 120)) if closed else day(-5, 200)
        if closed and close > today:
            close = today - dt.timedelta(days=rng.randint(1, 10))
        amount = rng.randrange(1500, 90000, 250)
        path = OPEN_STAGES[:reached + 1] + ([stage] if closed else [])
        history.extend(_journey(rng, f"OPP-{i:04d}", path, created, close if closed else today, amount))
        opportunities.append([f"OPP-{i:04d}", f"{acc[1]} – {rng.choice(['Expansion', 'New deal', 'Renewal', 'Pilot'])}",  # not for people: sample data
                              acc[0], contact, acc[6], stage, amount, currency,
                              rng.choice(["", "", "", 35, 60]) if not closed else "", close, created])

    activities = [["ID", "Date", "Type", "Subject", "Related", "Owner", "Outcome"]]
    related_pool = [r[0] for t in (leads, opportunities, contacts) for r in t[1:-NEW]]
    for i in range(1, n_leads * 2 + 1):
        kind = rng.choice(["Call", "Email", "Meeting", "Note"])
        activities.append([f"ACT-{i:04d}", day(120), kind, f"{kind} about next steps", rng.choice(related_pool),  # not for people: sample data
                           rng.choice(OWNERS), rng.choice(["", "Positive", "No answer", "Sent proposal"])])  # not for people: sample data

    tasks = [["ID", "Due", "Subject", "Related", "Owner", "Status"]]
    for i in range(1, max(n_leads // 2, 10) + 1):
        opp = opportunities[rng.randint(1, len(opportunities) - 1 - NEW)]
        tasks.append([f"TSK-{i:04d}", day(20, 30), rng.choice(["Send proposal", "Follow up", "Book demo",  # not for people: sample data
                                                               "Prepare contract"]),  # not for people: sample data
                      opp[0], opp[4], rng.choices(["Open", "Done"], [3, 2])[0]])

    products = [["SKU", "Name", "Unit Price", "Currency", "Tax Rate"]] + [  # not for people: sample data
        [sku, name, price, currency, tax] for sku, name, price, tax in PRODUCTS]

    quote_lines = [["Opportunity", "SKU", "Quantity", "Unit Price", "Discount %"]]  # not for people: sample data
    for opp in opportunities[1:-NEW]:
        if opp[5] in ("Proposal", "Negotiation"):
            for _ in range(rng.randint(1, 3)):
                quote_lines.append([opp[0], rng.choice(PRODUCTS)[0], rng.randint(1, 20), "",
                                    rng.choice(["", "", 5, 10, 15])])

    planted = _plant_problems(rng, leads, contacts, opportunities, activities, quote_lines)
    # What the lead's life shows, placed without the random draws, so every other value stays
    # what the same seed gave before: a lead who is a contact already (a duplicate across
    # tabs), a form's responses, and a lead ticked Convert.
    person = contacts[8]
    company = next(a[1] for a in accounts if a[0] == person[1])
    leads[DUPLICATE_LEAD][1:5] = [person[2], person[3], company, person[4]]
    planted.append(N_("a lead who is already a contact"))
    responses = _form_responses(leads[REPEAT], today, locale)
    converting = _tick_convert(leads, currency)
    rules, outbox, staged = _arrange_workflows(today, leads, opportunities, activities, history, quote_lines,
                                               contacts, locale)
    campaigns = _campaigns(opportunities, currency)
    at_risk = _account_story(today, accounts, opportunities, tasks, quote_lines, currency)
    for table in (accounts, contacts, leads, opportunities, activities, tasks):
        for row in table[-NEW:]:
            row[0] = ""
    history = [h for h in history if h[0] not in {o[0] for o in opportunities[-NEW:]}]
    cases = _demo_cases(today, accounts, contacts, activities)
    tables = {"accounts": accounts, "contacts": contacts, "leads": leads, "opportunities": opportunities,
              "activities": activities, "tasks": tasks, "products": products, "quote_lines": quote_lines}
    tabs = {TABS[key].display_title(locale): _in_locale(TABS[key].columns, table, locale)
            for key, table in tables.items()}
    tabs[CASES.display_title(locale)] = [_in_locale(CASES.columns, cases, locale)[0],
                                         *([_CASE_WORDS.get(v, v) for v in row] if locale == "es" else row
                                           for row in cases[1:])]
    tabs[STAGE_HISTORY.display_title(locale)] = _in_locale(
        (), [STAGE_HISTORY.display_headers(locale), *sorted(history, key=lambda h: h[3])], locale)
    tabs[FORM_TAB[locale]] = responses
    tabs[WORKFLOWS.display_title(locale)] = rules
    tabs[OUTBOX.display_title(locale)] = outbox
    tabs[CAMPAIGNS_TAB.display_title(locale)] = _in_locale(CAMPAIGNS_TAB.columns, campaigns, locale)
    tabs[SEGMENTS.display_title(locale)] = demo_segments(locale)
    move = None
    moved = next((o for o in opportunities[1:] if o[0] == staged.get("WF-0002")), None)
    if moved is not None:
        stage = TABS["opportunities"].columns.index(next(c for c in TABS["opportunities"].columns if c.field == "stage"))
        words = [_spanish_value(w) if locale == "es" else w for w in (moved[5], "Proposal")]
        move = (TABS["opportunities"].display_title(locale), opportunities.index(moved) + 1, stage + 1, *words)
    return DemoData(tabs, [in_locale(locale, p) for p in planted], demo_forms(locale), converting, staged, at_risk,
                    move)


# What the won deals' quote lines hold, per account (SKUs): buyers of the Enterprise licence
# also take Premium support and Onboarding, buyers of the Team licence a Training day; the
# accounts with a lone licence are offered the rest on the Accounts Overview (docs/overview.md).
BASKETS = (("SKU-003", "SKU-005", "SKU-004"), ("SKU-003", "SKU-005"), ("SKU-003", "SKU-005", "SKU-004"),
           ("SKU-003",), ("SKU-002", "SKU-006"), ("SKU-002", "SKU-006"), ("SKU-002",))
AT_RISK = 3  # the BASKETS entry whose account is at risk: a lone licence, tasks overdue


def _account_story(today: dt.date, accounts: list, opportunities: list, tasks: list, quote_lines: list,
                   currency: str) -> str:
    """The Accounts Overview's story, placed without random draws (every other value stays what
    the seed gave): a won deal per account of BASKETS, its quote lines those products, inserted
    above the rows typed without an ID; and an account at risk: the first customer (the one the
    demo's urgent case is about) takes the lone Enterprise licence and two overdue renewal
    tasks. Returns the at-risk account's ID ("" when the demo is too small for the story)."""
    chosen = [a for a in accounts[1:-NEW] if a[7] != "Churned"][:len(BASKETS)]
    risk = next((a for a in accounts[1:-NEW] if a[7] == "Customer"), None)
    if len(chosen) < len(BASKETS) or risk is None:
        return ""
    if risk in chosen:
        chosen.remove(risk)
    else:
        chosen.pop()
    chosen.insert(AT_RISK, risk)
    prices = {sku: price for sku, _, price, _ in PRODUCTS}
    deals = []
    for n, (acc, basket) in enumerate(zip(chosen, BASKETS)):
        number = len(opportunities) - 1 + len(deals) + 1
        close = today - dt.timedelta(days=40 + 30 * n)
        deals.append([f"OPP-{number:04d}", f"{acc[1]} – New deal", acc[0], "", acc[6], "Closed Won",  # not for people: sample data
                      sum(prices[sku] for sku in basket), currency, "", close, close - dt.timedelta(days=45)])
        quote_lines.extend([deals[-1][0], sku, 1, "", ""] for sku in basket)
    opportunities[-NEW:-NEW] = deals
    for days, subject in ((12, "Renewal call"), (5, "Send renewal quote")):  # not for people: sample data
        tasks[-NEW:-NEW] = [[f"TSK-{len(tasks):04d}", today - dt.timedelta(days=days), subject, risk[0], risk[6],
                             "Open"]]
    return risk[0]


# The demo's three segments (docs/segments.md), as a team types them in its Segments tab:
# (Name, Record, Conditions) in each language; the values are the demo's own (crm/segments.py).
SEGMENT_ROWS = {  # not for people: sample data, a team's own segments
    "en": [("Large accounts", "accounts", "Industry in [Software, Finance, Retail] and Employees >= 100"),  # not for people: sample data
           ("Decision makers", "contacts", "Title in [CEO, VP Sales, Director]"),  # not for people: sample data
           ("Hot referrals", "leads", "Source = Referral and Grade in [A, B]")],  # not for people: sample data
    "es": [("Cuentas grandes", "cuentas", "Industria en [Software, Finance, Retail] y Empleados >= 100"),  # not for people: sample data
           ("Decisores", "contactos", "Cargo en [Director general, VP de Ventas, Director]"),  # not for people: sample data
           ("Referidos calientes", "leads", "Origen = Referido y Grado en [A, B]")],  # not for people: sample data
}


def demo_segments(locale: str) -> list[list[Any]]:
    """The demo's Segments tab: its header and three segments, one per record they group."""
    return [SEGMENTS.headers(locale), *[list(row) for row in SEGMENT_ROWS["es" if locale == "es" else "en"]]]


# The demo's four workflow rules (docs/workflows.md), as a team types them in its Workflows tab:
# (Name, Record, When, If, Then, Subject, Due (days)) in each language; Assign To and Cap of
# the first are the demo's owners and the busiest one's load (`_arrange_workflows`).
QUOTE_WAIT = 7  # the quote chaser's days, as its When says
RULES = {  # not for people: sample data, a team's own rules
    "en": [("Round-robin new leads", "lead", "created", "Owner is empty", "assign owner", None, None),  # not for people: sample data
           ("Proposal follow-up", "opportunity", "enters Proposal", "", "create task",  # not for people: sample data
            "Follow up on the proposal: {{ Name }}", 3),  # not for people: sample data
           ("Rotting deal reminder", "opportunity", "rotting", "", "create task",  # not for people: sample data
            "Revive {{ Name }}: no sign of life for too long", 1),  # not for people: sample data
           ("Quote chaser", "opportunity", f"quote unanswered {QUOTE_WAIT} days", "", "create task",  # not for people: sample data
            "Chase the unanswered quote: {{ Name }}", 1)],  # not for people: sample data
    "es": [("Reparto de leads nuevos", "lead", "creado", "Propietario está vacío", "asignar propietario", None, None),  # not for people: sample data
           ("Seguimiento de propuesta", "oportunidad", "entra en Propuesta", "", "crear tarea",  # not for people: sample data
            "Seguimiento de la propuesta: {{ Nombre }}", 3),  # not for people: sample data
           ("Aviso de oportunidad estancada", "oportunidad", "estancada", "", "crear tarea",  # not for people: sample data
            "Reactivar {{ Nombre }}: demasiado tiempo sin actividad", 1),  # not for people: sample data
           ("Recordatorio de presupuesto", "oportunidad", f"presupuesto sin respuesta {QUOTE_WAIT} días", "", "crear tarea",  # not for people: sample data
            "Reclamar el presupuesto sin respuesta: {{ Nombre }}", 1)],  # not for people: sample data
}
_ROTTING = {s.name: s.rotting_days for s in DEFAULT_STAGES if s.rotting_days}
_OPEN_LEAD = ("New", "Contacted", "Qualified")


def _arrange_workflows(today: dt.date, leads: list, opportunities: list, activities: list, history: list,
                       quote_lines: list, contacts: list, locale: str) -> tuple[list[list[Any]], list[list[Any]],
                                                                                dict[str, str]]:
    """The Workflows tab (four active rules), an Outbox holding one quote Sent QUOTE_WAIT days
    ago, and the data placed (without random draws) so that each rule fires in the demo's own
    syncs on `today`: the web form's leads come without an owner (round-robin, at the second
    sync, the first that sees them); an open deal before Proposal is the one a person moves into
    Proposal after the first sync (`DemoData.move`: the follow-up, at the second sync; the newest
    deal, typed without an ID straight into Proposal, was there when the rule was armed, so it
    is no new deal to the rule); one open deal's last activity is moved to the
    day that makes it start rotting today (the reminder, at the first sync: a time rule fires
    on its arming day); the quoted deal has no activity since the quote went out (the chaser,
    at the first sync). Returns (Workflows rows, Outbox rows, rule ID -> the deal placed for it)."""
    # Rows 2-5 hold the planted problems; test scenarios edit some of the first deals, so the
    # demo's picks prefer later ones.
    last_seen: dict[str, dt.date] = {}
    for act in activities[1:]:
        if act[4] and isinstance(act[1], dt.date):
            last_seen[act[4]] = max(act[1], last_seen.get(act[4], act[1]))
    entered = {h[0]: h[3] for h in sorted(history, key=lambda h: h[3])}

    def alive(opp: list) -> dt.date:
        return max(d for d in (entered.get(opp[0], opp[10]), last_seen.get(opp[0]), last_seen.get(opp[3])) if d)

    lined = {q[0] for q in quote_lines[1:]}
    known = [o for i, o in enumerate(opportunities[1:-NEW], 1) if i > 5 and o[5] in _ROTTING]
    # The chaser: a quoted deal with a contact, preferably with quote lines; nothing about it
    # since the quote went out.
    sent = today - dt.timedelta(days=QUOTE_WAIT)
    # (A demo of a few rows may have no open deal to spare: then no quote, and no reminder.)
    quoted = max(known, default=None, key=lambda o: (bool(o[3]), o[0] in lined, o[5] in ("Proposal", "Negotiation"),
                                                     opportunities.index(o) > 7, -opportunities.index(o)))
    for act in activities[1:] if quoted else ():
        if act[4] in (quoted[0], quoted[3]) and isinstance(act[1], dt.date) and act[1] > sent:
            act[1] -= dt.timedelta(days=QUOTE_WAIT + 1)
    # The reminder: a deal already rotting gets its last call on the day that makes today its
    # first day of rotting (the later of entering the stage and the last activity, + rotting_days
    # + 1): one of its own calls moved, or else a note about a lead made about it.
    rotting = None
    movable = [a for a in activities[1:-NEW] if a is not activities[3]]
    for opp in sorted(known, key=lambda o: opportunities.index(o) <= 7):
        start = today - dt.timedelta(days=_ROTTING[opp[5]] + 1)
        if opp is quoted or alive(opp) >= start:
            continue
        call = next((a for a in movable if a[4] == opp[0]), None) or next(
            (a for a in movable if str(a[4]).startswith("LEAD-")), None)
        if call is not None:
            call[1], call[4], rotting = start, opp[0], opp
            break
    # The follow-up: a deal a person moves into Proposal after the first sync (the latest open one
    # before Proposal that no other rule uses); the newest deal (no ID yet) sits in Proposal.
    moved = next((o for o in reversed(opportunities[1:-NEW]) if o[5] in ("Prospecting", "Qualification")
                  and o is not quoted and o is not rotting), None)
    new_deal = opportunities[-1]
    new_deal[5], new_deal[8] = "Proposal", ""
    if not isinstance(new_deal[9], dt.date) or new_deal[9] < today:
        new_deal[9] = today + dt.timedelta(days=45)
    # The round-robin's cap: the busiest owner's open leads, so that one is passed over.
    load: dict[str, int] = {}
    for row in leads[1:]:
        if row[9] in _OPEN_LEAD and row[-1] != "yes":
            load[row[10]] = load.get(row[10], 0) + 1
    cap = max(load.get(o, 0) for o in OWNERS)
    # With its Seal, as `sheetcrm quote --queue` writes it: `outbox resend` then sends it again.
    outbox = [[*OUTBOX.display_headers(locale), in_locale(locale, SEAL_HEADER)]]
    if quoted is not None:
        number = f"Q-{today.year}-0001"
        contact = next((c for c in contacts[1:] if c[0] == quoted[3]), None)
        moment = stamp(dt.datetime.combine(sent, dt.time(10, 12), tzinfo=dt.timezone.utc))
        name = _spanish_value(quoted[1]) if locale == "es" else quoted[1]
        outbox.append([f"OUT-{1:04d}", moment, quoted[0], contact[4] if contact else "",
                       in_locale(locale, "Quote {number} – {name}", number=number, name=name),
                       status_label("Sent", locale), f"<{number.lower()}-v1@demo.example>", moment, None, number, 1, 1,
                       moment, None, seal(f"OUT-{1:04d}", quoted[0], number, "1")])
    headers = [*WORKFLOWS.headers(locale), *(c.display(locale) for c in WORKFLOWS.computed)]
    yes = "sí" if locale == "es" else "yes"  # not for people: a tick box's word
    rules = [headers]
    for n, (name, record, when, cond, then, subject, due) in enumerate(RULES[locale], 1):
        assign, limit = (", ".join(OWNERS), cap) if n == 1 else (None, None)
        rules.append([f"WF-{n:04d}", name, yes, record, when, cond, then, subject, due, None, assign, limit, None,
                      None, None])
    staged = {"WF-0002": moved[0] if moved else "", "WF-0003": rotting[0] if rotting else "",
              "WF-0004": quoted[0] if quoted else ""}
    return rules, outbox, staged


# The demo's cases' words in Spanish (their own: "Open" is a case's Abierto, a task's Abierta).
_CASE_WORDS = {"Urgent": "Urgente", "High": "Alta", "Normal": "Normal", "Low": "Baja", "New": "Nuevo",  # not for people: sample data
               "Open": "Abierto", "Pending": "Pendiente", "Resolved": "Resuelto", "Closed": "Cerrado",  # not for people: sample data
               "Phone": "Teléfono", "Email": "Correo", "Chat": "Chat", "Site down": "Web caída",  # not for people: sample data
               "Invoice question": "Duda sobre la factura", "Login fails": "No puede iniciar sesión",  # not for people: sample data
               "Data export": "Exportar datos", "Feature request": "Petición de mejora",  # not for people: sample data
               "Slow reports": "Informes lentos"}  # not for people: sample data


def _demo_cases(today: dt.date, accounts: list, contacts: list, activities: list) -> list[list[Any]]:
    """The Cases tab's rows, placed without the random draws (every other value stays what the
    seed gave): a customer at risk, its urgent case unanswered past its SLA and a pending one,
    and cases of other accounts met, late and still in time. Two calls answering cases are
    appended to `activities` (their First Response)."""
    risk = next((a for a in accounts[1:-NEW] if a[7] == "Customer"), accounts[1])
    other, third = [a for a in accounts[1:-NEW] if a is not risk][:2]
    contact = {c[1]: c[0] for c in reversed(contacts[1:-NEW])}

    def at(days: int, hour: int) -> str:
        return f"{(today - dt.timedelta(days=days)).isoformat()} {hour:02d}:00"

    rows = [["ID", "Account", "Contact", "Subject", "Priority", "Status", "Channel", "Opened", "Resolved", "Owner"],  # not for people: sample data
            ["CASE-0001", risk[0], contact.get(risk[0], ""), "Site down", "Urgent", "Open", "Phone", at(2, 10), "",  # not for people: sample data
             risk[6]],
            ["CASE-0002", risk[0], contact.get(risk[0], ""), "Login fails", "High", "Pending", "Email", at(6, 11), "",  # not for people: sample data
             risk[6]],
            ["CASE-0003", other[0], contact.get(other[0], ""), "Invoice question", "Normal", "Resolved", "Email",  # not for people: sample data
             at(9, 9), at(8, 15), other[6]],
            ["CASE-0004", other[0], "", "Data export", "Low", "Closed", "Chat", at(20, 14), at(5, 12), other[6]],  # not for people: sample data
            ["CASE-0005", third[0], contact.get(third[0], ""), "Slow reports", "High", "Open", "Phone", at(1, 16), "",  # not for people: sample data
             third[6]],
            ["CASE-0006", third[0], "", "Feature request", "Low", "New", "Email", at(0, 0), "", third[6]]]  # not for people: sample data
    last = max(int(a[0].split("-")[1]) for a in activities[1:] if a[0])
    activities.append([f"ACT-{last + 1:04d}", today - dt.timedelta(days=9), "Call", "Called back", "CASE-0003",  # not for people: sample data
                       other[6], ""])
    activities.append([f"ACT-{last + 2:04d}", today - dt.timedelta(days=1), "Call", "Called back", "CASE-0005",  # not for people: sample data
                       third[6], ""])
    return rows


def demo_forms(locale: str) -> dict[str, FormSettings]:
    """The [forms.web] section that reads the demo's responses tab in `locale`."""
    return {FORM_NAME: FormSettings(tab=FORM_TAB[locale], fields=FORM_QUESTIONS[locale])}


def _form_responses(repeat: list[Any], today: dt.date, locale: str) -> list[list[Any]]:
    """The responses tab as a Google Form fills it: the time, then the answers in the
    questions' order. One response is the `repeat` lead's (a Leads row), by the same email."""
    questions = list(FORM_QUESTIONS[locale])
    rows: list[list[Any]] = [[FORM_TIMESTAMP[locale], *questions]]
    for back, hour, minute, name, email, company, phone in FORM_PEOPLE:
        if name is None:
            name, email, company, phone = f"{repeat[1]} {repeat[2]}", repeat[4], repeat[3], repeat[5]
        answers = {"email": email, "name": name, "company": company, "phone": phone}
        when = dt.datetime.combine(today - dt.timedelta(days=back), dt.time(hour, minute, 5))
        rows.append([when, *(answers[FORM_QUESTIONS[locale][q]] for q in questions)])
    return rows


def _tick_convert(leads: list[list[Any]], currency: str) -> str:
    """Adds the Amount, Currency and Convert columns to Leads and ticks Convert on one
    qualified lead of a new company (so the conversion makes an account, a contact and a
    deal); its ID. The amount names its currency, so no reader needs a cell format for it."""
    leads[0] += ["Amount", "Currency", "Convert"]
    for row in leads[1:]:
        row += ["", "", ""]
    free = [i for i in range(11, len(leads) - NEW) if i not in (REPEAT, DUPLICATE_LEAD)]
    row = leads[next((i for i in free if leads[i][9] == "Qualified"), free[0])]
    row[9] = "Qualified"
    row[3] = CONVERT
    row[4] = _ascii(f"{row[1]}.{row[2]}@{CONVERT.split()[0]}.example".lower())
    row[-3:] = [CONVERT_AMOUNT, currency, "yes"]
    return row[0]


def _campaigns(opportunities: list[list[Any]], currency: str) -> list[list[Any]]:
    """The Campaigns tab, and a Campaign on some deals, for the story docs/campaigns.md tells: the
    Spring Webinar brought three won deals for a quarter of what they are worth (it paid off);
    the Trade Show cost three times its one small won deal (it did not), in the default demo
    (200 rows, seed 7; a small one may have too few won deals). The leads already name
    all five campaigns. Placed without random draws, from the deals as drawn, so every other
    value stays what the seed gave; the other three campaigns have a Budget and no Actual Cost
    (no ROI: a budget is not a cost)."""
    header = opportunities[0]
    header.append("Campaign")
    won_stage, running = "Closed Won", "In Progress"  # not for people: sample data
    won = [o for o in opportunities[1:-NEW] if o[5] == won_stage and isinstance(o[6], int)]
    others = [o for o in opportunities[1:-NEW] if o[5] != won_stage and isinstance(o[6], int)]
    webinar, show = won[:3], sorted(won[3:], key=lambda o: o[6])[:1]
    for deal in webinar:
        deal.append(CAMPAIGNS[0])
    for deal in (*show, *others[:2]):
        deal.append(CAMPAIGNS[1])
    # A small demo may hold no won deal to credit: the costs stay plausible, the ROIs then −100 %.
    webinar_cost = max(sum(o[6] for o in webinar) // 4, 2000)
    show_cost = max(3 * sum(o[6] for o in show), 15000)
    return [["ID", "Name", "Type", "Status", "Start", "End", "Budget", "Actual Cost", "Currency", "Owner"],  # not for people: sample data
            ["CMP-0001", CAMPAIGNS[0], "Webinar", "Completed", dt.date(2026, 3, 10), dt.date(2026, 3, 31),
             webinar_cost, webinar_cost, currency, OWNERS[0]],
            ["CMP-0002", CAMPAIGNS[1], "Event", "Completed", dt.date(2026, 5, 4), dt.date(2026, 5, 6),
             show_cost // 2, show_cost, currency, OWNERS[1]],
            ["CMP-0003", CAMPAIGNS[2], "Email", running, dt.date(2026, 1, 1), None, 1200, None, currency,
             OWNERS[2]],
            ["CMP-0004", CAMPAIGNS[3], "Partner", running, dt.date(2026, 2, 1), None, 5000, None, currency,
             OWNERS[3]],
            ["CMP-0005", CAMPAIGNS[4], "Ads", running, dt.date(2026, 4, 1), None, 8000, None, currency,
             OWNERS[0]]]


def _in_locale(columns: Any, table: list[list[Any]], locale: str) -> list[list[Any]]:
    """The table with its header row and its sample values in `locale` (as it is, in English)."""
    if locale != "es":
        return table
    spanish = {c.header: c.header_es for c in columns}
    header = [spanish.get(h, _SPANISH.get(h, h)) for h in table[0]]
    return [header, *([_spanish_value(v) for v in row] for row in table[1:])]


def _spanish_value(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if value in _SPANISH:
        return _SPANISH[value]
    if m := _SUBJECT.fullmatch(value):
        return f"{_SPANISH[m[1]]} sobre los próximos pasos"  # not for people: sample data
    if m := _DEAL.fullmatch(value):
        return f"{m[1]} – {_SPANISH[m[2]]}"
    return value


def _journey(rng: random.Random, opp_id: str, path: list[str], start: dt.date, end: dt.date,
             amount: int) -> list[list[Any]]:
    """Stage History rows as earlier syncs would have logged them: one per stage, in order."""
    span = max((end - start).days, len(path))
    days = sorted(rng.sample(range(1, span), len(path) - 1)) if len(path) > 1 else []
    when = [start] + [start + dt.timedelta(days=d) for d in days]
    return [[opp_id, path[k - 1] if k else "", stage, when[k], amount] for k, stage in enumerate(path)]


def _plant_problems(rng: random.Random, leads: list, contacts: list, opportunities: list, activities: list,
                    quote_lines: list) -> list[str]:
    leads[2][4] = "maria@@example"                     # bad email
    leads[4][2], leads[4][3], leads[4][4] = "", "", ""  # no Last Name, Company or Email
    leads[6][9] = "Hot"                                # not a lead status
    contacts[3][4] = contacts[2][4]                    # the same email twice (a warning)
    opportunities[2][5] = "Closing"                    # not a stage
    opportunities[3][6] = "twelve hundred"             # not a number  # not for people: sample data
    opportunities[4][2] = "Globex Intl"                # no such account  # not for people: sample data
    opportunities[5][9] = "2026-02-30"                 # no such date
    activities[3][4] = "OPP-9999"                      # related to nothing
    if len(quote_lines) > 1:
        quote_lines[1][1] = "SKU-404"                  # no such product
    return [N_("a bad email"), N_("a lead with no name, company or email"), N_("an unknown lead status"),
            N_("a duplicated contact email"), N_("an unknown stage"), N_("an amount in words"),
            N_("an unknown account"), N_("an impossible date"), N_("an activity about an unknown record"),
            N_("a quote line with an unknown SKU")]


def _unique_companies(rng: random.Random, n: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        name = f"{rng.choice(PREFIX)} {rng.choice(SUFFIX)}"
        if name in seen:
            name = f"{name} {len(names)}"
        seen.add(name)
        names.append(name)
    return names


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
