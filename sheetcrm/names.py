"""The names people see in what sheetcrm writes, declared once (in English) and looked up by key.

    tab_title("pipeline", "es")      -> "Embudo"
    tab_headers("pipeline", "en")    -> ("Stage", "Count", "Amount", "Weighted")
    computed_name("leads", "score")  -> ("Score", "Puntuación")
    word("yes", "es")                -> "sí"

Here: the English titles of the CRM tabs (their Spanish titles and every other name people
give them are data, in aliases.toml, beside their columns' names), the titles and headers of
sheetcrm's own tabs, the computed columns it adds to people's tabs, and the words it writes
in cells. Their translations are in the message catalogue (`sheetcrm.i18n`), so a language is
one more catalogue, not a search through the code. `schema.py` builds the tabs from these,
and `render.py` writes the words.
"""

from __future__ import annotations

from typing import Literal

from sheetcrm.i18n import N_, NC_, in_locale

Locale = Literal["en", "es"]

# The CRM's tabs, as the code and the config name them; Spanish and other names: aliases.toml.
CRM_TABS: dict[str, str] = {
    "accounts": "Accounts", "contacts": "Contacts", "leads": "Leads", "opportunities": "Opportunities",
    "activities": "Activities", "tasks": "Tasks", "products": "Products", "quote_lines": "Quote Lines",  # not for people: the tabs' keys' English titles; every language's titles are data in aliases.toml
}

# sheetcrm's own tabs (and the input tabs people add): key -> (title, headers), in English;
# every other language's come from the message catalogue (sheetcrm.i18n).
OWNED: dict[str, tuple[str, tuple[str | tuple[str, str], ...]]] = {
    "validation": (N_("Validation"), (N_("Severity"), N_("Tab"), N_("Row"), N_("Column"), N_("Header"),
                                      N_("Value"), N_("Code"), N_("Message"), N_("Hint"))),
    # The marks' tab keeps one name in every language: the name is how it is found.
    "sequences": ("_sheetcrm", (N_("Key"), NC_("setting", "Value"))),
    "pipeline": (N_("Pipeline"), (N_("Stage"), N_("Count"), N_("Amount"), N_("Weighted"))),
    "forecast": (N_("Forecast"), (N_("Month"), N_("Owner"), N_("Pipeline"), N_("Weighted"), N_("Commit"),
                                  N_("Best Case"), N_("Closed Won"), N_("Quota"), N_("Attainment %"))),
    "dashboard": (N_("Dashboard"), (N_("KPI"), N_("Value"), N_("Definition"))),
    "stage_history": (N_("Stage History"), (N_("Opportunity"), N_("From"), N_("To"), N_("Changed At"),
                                            N_("Amount"))),
    "lead_history": (N_("Lead Status History"), (N_("Lead"), N_("From"), N_("To"), N_("Changed At"))),
    "sync_log": (N_("Sync Log"), (N_("Time"), N_("Job"), N_("Duration (s)"), N_("Rows Read"), N_("Issues"),
                                  N_("Cells Written"), N_("Requests"), N_("Status"), N_("Message"))),
    "rates": (N_("Rates"), (N_("Currency"), N_("Rate"))),
    "quotas": (N_("Quotas"), (N_("Owner"), N_("Month"), N_("Quota"))),
    "outbox": (N_("Outbox"), (N_("ID"), N_("Created"), N_("Opportunity"), NC_("email", "To"), N_("Subject"), N_("Status"),
                              "Message-ID", N_("Sent At"), N_("Error"), N_("Quote"), N_("Version"), N_("Attempts"),
                              N_("Last Try"), N_("Next Try"))),
    # Rows a merge removed from people's tabs, whole: "Header=Value" cells after the fixed four.
    "merged": (N_("Merged"), (N_("Merged At"), N_("Survivor"), N_("Tab"), N_("ID"), N_("Cells"))),
    # Likely duplicates, one row per record of a group; people tick Keep, Merge, Not duplicates.
    "duplicates": (N_("Duplicates"), (N_("Group"), N_("Score"), N_("Reasons"), N_("Tab"), N_("ID"), N_("Name"),
                                      N_("Email"), N_("Phone"), N_("Company"), N_("Created"), N_("Keep"),
                                      N_("Merge"), N_("Not duplicates"))),
    # Workflows (crm/workflows.py): what sheetcrm saw at the previous sync, per rule and watched
    # value (Kind: armed, checked, watch, seen, next), and the journal of every firing.
    "workflow_state": (N_("Workflow State"), (N_("Kind"), N_("Key"), N_("Field"), NC_("setting", "Value"))),
    # Event: what happened to the record; Result: done, skipped or stopped; Details: what the
    # action did (the owner chosen) or why it did not. workflow_tabs.LOG_FIELDS names each column.
    "workflow_log": (N_("Workflow Log"), (N_("Time"), N_("Rule"), N_("Rule Name"), N_("Record"), N_("Event"),
                                          N_("Action"), N_("Result"), N_("Details"), N_("Key"), N_("Created Record"),
                                          N_("Chain"))),
    # Segments (crm/segments.py): per named segment, its members and what they bring.
    "segment_summary": (N_("Segment Summary"), (N_("Segment"), N_("Record"), N_("Members"), N_("Accounts"),
                                                N_("Open Pipeline"), N_("Won Revenue"), N_("Churned Accounts"),
                                                N_("Churn %"), N_("Conditions"))),
    # The Accounts Overview (crm/overview.py): one row per account, its 360° view.
    "overview": (N_("Accounts Overview"), (N_("Account"), N_("Name"), N_("Owner"), N_("Contacts"), N_("Open Deals"),
                                          N_("Open Amount"), N_("Won Revenue"), N_("Last Activity"),
                                          N_("Next Task Due"), N_("Next Task"), N_("Open Cases"), N_("Urgent Cases"),
                                          N_("Health"), N_("Why"), N_("Suggested Products"), N_("Why Suggested"))),
}

# The columns sheetcrm computes in people's tabs: tab -> column key -> English header, in the
# order they are added.
COMPUTED: dict[str, dict[str, str]] = {
    "leads": {
        "score": N_("Score"),
        "grade": N_("Grade"),
        "conversion_pct": N_("Conversion %"),
        "why": N_("Why"),
        # A conversion's record (crm/conversion.py): what the lead became, and when.
        "converted_account": N_("Converted Account"),
        "converted_contact": N_("Converted Contact"),
        "converted_opportunity": N_("Converted Opportunity"),
        "converted_on": N_("Converted On"),
        "segments": N_("Segments"),
    },
    # The lead a conversion made the row of: how an interrupted conversion finds its rows.
    "accounts": {"lead": N_("From Lead"), "segments": N_("Segments")},
    "contacts": {"lead": N_("From Lead"), "segments": N_("Segments")},
    # The activity a conversion copied this one from ([conversion] activities = "copy"):
    # how a sync knows an activity was copied already.
    "activities": {"copy_of": N_("Copied From")},
    "opportunities": {
        "probability_pct": N_("Probability %"),
        "weighted_amount": N_("Weighted Amount"),
        "forecast_category": N_("Forecast Category"),
        "days_in_stage": N_("Days in Stage"),
        "last_activity": N_("Last Activity"),
        "rotting": N_("Rotting"),
        "next_step": N_("Next Step"),
        "lead": N_("From Lead"),
    },
    # The Cases tab's (crm/cases.py): how old a case is, its SLA, when it was first answered.
    "cases": {"age": N_("Age (days)"), "sla_due": N_("SLA Due"), "sla_breached": N_("SLA Breached"),
              "first_response": N_("First Response")},
    # The Workflows tab's (people's rules): how often each rule fired, and when last.
    "workflows": {"firings": N_("Firings"), "last_fired": N_("Last Fired")},
    # The Campaigns tab's (crm/campaigns.py): what each campaign brought, in the base currency.
    "campaigns": {
        "leads": N_("Leads"),
        "converted_leads": N_("Converted Leads"),
        "opportunities": N_("Opportunities"),
        "won_deals": N_("Won Deals"),
        "won_revenue": N_("Won Revenue"),
        "cost_per_lead": N_("Cost per Lead"),
        "cost_per_won_deal": N_("Cost per Won Deal"),
        "roi": N_("ROI"),
    },
}

# Computed columns that record what a step did rather than what the sheet says now: added by
# that step when it first writes one (never to every tab), written once, never recomputed
# (`plan.computed_writes` leaves them be, but clears them on a row that is no longer a record).
RECORDED: dict[str, frozenset[str]] = {
    "leads": frozenset({"converted_account", "converted_contact", "converted_opportunity", "converted_on"}),
    "accounts": frozenset({"lead"}), "contacts": frozenset({"lead"}), "opportunities": frozenset({"lead"}),
    "activities": frozenset({"copy_of"}),
}

# Computed columns one step adds and keeps up to date itself, and only when it has something to
# say: the Segments column, once the team defines a segment (steps/segments.py).
BY_STEP: dict[str, frozenset[str]] = {
    "accounts": frozenset({"segments"}), "contacts": frozenset({"segments"}), "leads": frozenset({"segments"}),
}

# Words and short texts sheetcrm writes into cells.
WORDS: dict[str, str] = {
    "yes": N_("yes"),             # a true computed flag (Rotting)
    "team": N_("(all)"),          # the Forecast's rows for the whole team
}

# The Forecast tab's second block: each stage's configured win rate beside its history.
CALIBRATION_HEADER: tuple[str, ...] = (N_("Stage"), N_("Configured %"), N_("Historical %"), N_("Deals"))


def tab_title(key: str, locale: str) -> str:
    return in_locale(locale, OWNED[key][0])


def tab_headers(key: str, locale: str) -> tuple[str, ...]:
    return tuple(in_locale(locale, h) for h in OWNED[key][1])


def computed_name(tab: str, key: str) -> tuple[str, str]:
    """(English, Spanish) header of a computed column."""
    english = COMPUTED[tab][key]
    return english, in_locale("es", english)


def word(key: str, locale: str) -> str:
    return in_locale(locale, WORDS[key])


def calibration_header(locale: str) -> tuple[str, ...]:
    return tuple(in_locale(locale, h) for h in CALIBRATION_HEADER)
