"""A realistic demo CRM, reproducible from a seed, with a few rows broken on purpose.

The history carries a learnable signal (referrals and senior titles convert more often), so
that scoring and forecasts have something true to find.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import unicodedata
from dataclasses import dataclass
from typing import Any

from sheetcrm.schema import STAGE_HISTORY, TABS

OWNERS = ["Ana García", "Ben Carter", "Chloé Martin", "Diego Ruiz"]
FIRST = ["Olivia", "Liam", "Sofía", "Mateo", "Emma", "Noah", "Lucía", "Hugo", "Mia", "Leo", "Valentina",
         "James", "Martina", "Daniel", "Grace", "Pablo", "Zoe", "Samuel", "Carmen", "Jack"]
LAST = ["Smith", "López", "Johnson", "Fernández", "Brown", "Martínez", "Taylor", "Sánchez", "Wilson",
        "Gómez", "Clark", "Díaz", "Lewis", "Moreno", "Walker", "Romero", "Young", "Navarro", "King", "Torres"]
PREFIX = ["Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay", "Soylent", "Tyrell",
          "Cyberdyne", "Aperture", "Massive", "Oscorp", "Nakatomi", "Gringotts", "Wonka", "Monarch", "Duff", "Sirius"]
SUFFIX = ["Labs", "Systems", "Logistics", "Foods", "Health", "Energy", "Media", "Robotics", "Retail", "Capital"]
INDUSTRIES = ["Software", "Manufacturing", "Retail", "Healthcare", "Finance", "Logistics", "Education", "Energy"]
COUNTRIES = ["US", "ES", "MX", "GB", "FR", "DE", "AR", "CO"]
TITLES = [("CEO", 3), ("VP Sales", 3), ("Head of Operations", 2), ("Director", 2), ("Manager", 1),
          ("Analyst", 0), ("Intern", -1), ("Engineer", 0)]
SOURCES = [("Referral", 2.0), ("Event", 0.8), ("Web", 0.0), ("Partner", 1.0), ("Cold Call", -1.2), ("Ads", -0.6)]
CAMPAIGNS = ["Spring Webinar", "Trade Show 2026", "Newsletter", "Partner Program", "Retargeting"]
PRODUCTS = [("SKU-001", "Starter licence", 490, 21), ("SKU-002", "Team licence", 1290, 21),
            ("SKU-003", "Enterprise licence", 4900, 21), ("SKU-004", "Onboarding package", 1500, 21),
            ("SKU-005", "Premium support (year)", 2400, 21), ("SKU-006", "Training day", 850, 10),
            ("SKU-007", "Data migration", 3200, 21), ("SKU-008", "API add-on", 600, 21)]
WIN_ODDS = [0.1, 0.25, 0.5, 0.75]  # by the furthest open stage a closed deal reached
# The newest rows of each tab have no ID yet, as when someone just typed them in; nothing
# refers to them yet.
NEW = 3
OPEN_STAGES = ["Prospecting", "Qualification", "Proposal", "Negotiation"]


@dataclass
class DemoData:
    """The demo as tab title -> rows (header first), ready to write to any workbook."""

    tabs: dict[str, list[list[Any]]]
    planted: list[str]  # what was broken on purpose, for the demo's own summary


def generate(rows: int = 200, seed: int = 7, today: dt.date | None = None) -> DemoData:
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

    contacts = [["ID", "Account", "First Name", "Last Name", "Email", "Phone", "Title", "Owner", "Created"]]
    for i in range(1, n_accounts * 2 + 1):
        acc = accounts[rng.randint(1, n_accounts - NEW)]
        first, last = person()
        contacts.append([f"CON-{i:04d}", acc[0], first, last, email(first, last, acc[1]),
                         f"+1 555 {rng.randint(100, 999)} {rng.randint(1000, 9999)}", rng.choice(TITLES)[0],
                         acc[6], day(700, -30)])

    leads = [["ID", "First Name", "Last Name", "Company", "Email", "Phone", "Title", "Source", "Campaign", "Status",
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
                      rng.choice(["", "", "Asked for pricing", "Met at booth", "Call back in Q3"])])

    first_contact: dict[str, str] = {}
    for c in contacts[1:-NEW]:
        first_contact.setdefault(c[1], c[0])
    opportunities = [["ID", "Name", "Account", "Contact", "Owner", "Stage", "Amount", "Currency", "Probability",
                      "Close Date", "Created"]]
    history: list[list[Any]] = []
    for i in range(1, max(n_leads // 2, 10) + 1):
        acc = accounts[rng.randint(1, n_accounts - NEW)]
        contact = first_contact.get(acc[0], "")
        created = day(400, -5)
        closed = rng.random() < 0.45 and (today - created).days > 20
        # How far a deal got decides its odds, so Stage History teaches calibrated win rates.
        reached = rng.choices(range(len(OPEN_STAGES)), [2, 2, 3, 3])[0]
        if closed:
            stage = "Closed Won" if rng.random() < WIN_ODDS[reached] else "Closed Lost"
        else:
            stage = OPEN_STAGES[reached]
        close = created + dt.timedelta(days=rng.randint(15, 120)) if closed else day(-5, 200)
        if closed and close > today:
            close = today - dt.timedelta(days=rng.randint(1, 10))
        amount = rng.randrange(1500, 90000, 250)
        path = OPEN_STAGES[:reached + 1] + ([stage] if closed else [])
        history.extend(_journey(rng, f"OPP-{i:04d}", path, created, close if closed else today, amount))
        opportunities.append([f"OPP-{i:04d}", f"{acc[1]} – {rng.choice(['Expansion', 'New deal', 'Renewal', 'Pilot'])}",
                              acc[0], contact, acc[6], stage, amount, "USD",
                              rng.choice(["", "", "", 35, 60]) if not closed else "", close, created])

    activities = [["ID", "Date", "Type", "Subject", "Related", "Owner", "Outcome"]]
    related_pool = [r[0] for t in (leads, opportunities, contacts) for r in t[1:-NEW]]
    for i in range(1, n_leads * 2 + 1):
        kind = rng.choice(["Call", "Email", "Meeting", "Note"])
        activities.append([f"ACT-{i:04d}", day(120), kind, f"{kind} about next steps", rng.choice(related_pool),
                           rng.choice(OWNERS), rng.choice(["", "Positive", "No answer", "Sent proposal"])])

    tasks = [["ID", "Due", "Subject", "Related", "Owner", "Status"]]
    for i in range(1, max(n_leads // 2, 10) + 1):
        opp = opportunities[rng.randint(1, len(opportunities) - 1 - NEW)]
        tasks.append([f"TSK-{i:04d}", day(20, 30), rng.choice(["Send proposal", "Follow up", "Book demo",
                                                               "Prepare contract"]),
                      opp[0], opp[4], rng.choices(["Open", "Done"], [3, 2])[0]])

    products = [["SKU", "Name", "Unit Price", "Currency", "Tax Rate"]] + [
        [sku, name, price, "USD", tax] for sku, name, price, tax in PRODUCTS]

    quote_lines = [["Opportunity", "SKU", "Quantity", "Unit Price", "Discount %"]]
    for opp in opportunities[1:-NEW]:
        if opp[5] in ("Proposal", "Negotiation"):
            for _ in range(rng.randint(1, 3)):
                quote_lines.append([opp[0], rng.choice(PRODUCTS)[0], rng.randint(1, 20), "",
                                    rng.choice(["", "", 5, 10, 15])])

    planted = _plant_problems(rng, leads, contacts, opportunities, activities, quote_lines)
    for table in (accounts, contacts, leads, opportunities, activities, tasks):
        for row in table[-NEW:]:
            row[0] = ""
    history = [h for h in history if h[0] not in {o[0] for o in opportunities[-NEW:]}]
    return DemoData({
        TABS["accounts"].title: accounts, TABS["contacts"].title: contacts, TABS["leads"].title: leads,
        TABS["opportunities"].title: opportunities, TABS["activities"].title: activities,
        TABS["tasks"].title: tasks, TABS["products"].title: products, TABS["quote_lines"].title: quote_lines,
        STAGE_HISTORY.title: [list(STAGE_HISTORY.headers), *sorted(history, key=lambda h: h[3])],
    }, planted)


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
    opportunities[3][6] = "twelve hundred"             # not a number
    opportunities[4][2] = "Globex Intl"                # no such account
    opportunities[5][9] = "2026-02-30"                 # no such date
    activities[3][4] = "OPP-9999"                      # related to nothing
    if len(quote_lines) > 1:
        quote_lines[1][1] = "SKU-404"                  # no such product
    return ["a bad email", "a lead with no name, company or email", "an unknown lead status",
            "a duplicated contact email", "an unknown stage", "an amount in words", "an unknown account",
            "an impossible date", "an activity about an unknown record", "a quote line with an unknown SKU"]


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
