"""A small CRM with planted duplicates and a Duplicates tab ticked by a person (tests of merging)."""

from __future__ import annotations

import datetime as dt

ACCOUNTS = [
    ["ID", "Name", "Domain", "Industry", "Employees", "Country", "Owner", "Status", "Created"],
    ["ACC-0001", "Acme", "acme.com", "", 50, "", "ana", "Customer", dt.datetime(2025, 1, 5)],
    ["ACC-0002", "Globex", "globex.com", "Energy", 900, "US", "bo", "Prospect", dt.datetime(2025, 2, 1)],
    ["ACC-0003", "ACME Inc", "", "Manufacturing", 55, "DE", "cy", "Customer", dt.datetime(2025, 3, 9)],
    ["ACC-0004", "Initech", "initech.com", "Software", 20, "US", "ana", "Prospect", dt.datetime(2025, 4, 2)],
]
CONTACTS = [
    ["ID", "Account", "First Name", "Last Name", "Email", "Phone", "Title", "Owner", "Created"],
    ["CON-0001", "ACC-0003", "Eve", "Ray", "eve@acme.com", "", "CTO", "ana", dt.datetime(2025, 3, 10)],
    ["CON-0002", "ACC-0002", "Hal", "Lee", "hal@globex.com", "555", "CEO", "bo", dt.datetime(2025, 2, 3)],
    # Eve again, typed another way: a duplicate by the rules (the merge checks it does).
    ["CON-0003", "ACC-0001", "Eve", "Ray", " Eve@Acme.com", "", "", "ana", dt.datetime(2025, 1, 6)],
    ["CON-0004", "ACC-0004", "Jo", "Kim", "jo@initech.com", "", "", "ana", dt.datetime(2025, 4, 3)],
]
OPPORTUNITIES = [
    ["ID", "Name", "Account", "Contact", "Owner", "Stage", "Amount", "Currency", "Close Date", "Created"],
    ["OPP-0001", "Acme renewal", "ACC-0003", "CON-0001", "ana", "Prospecting", 1000, "USD",
     dt.datetime(2026, 12, 1), dt.datetime(2025, 5, 1)],
    ["OPP-0002", "Globex pilot", "ACC-0002", "CON-0002", "bo", "Qualification", 2500, "USD",
     dt.datetime(2026, 12, 15), dt.datetime(2025, 5, 2)],
    ["OPP-0003", "Acme upsell", "ACC-0001", "CON-0003", "ana", "Proposal", 4000, "USD",
     dt.datetime(2027, 1, 10), dt.datetime(2025, 5, 3)],
]
ACTIVITIES = [
    ["ID", "Type", "Subject", "Related", "Date", "Owner"],
    ["ACT-0001", "Call", "Intro", "ACC-0003", dt.datetime(2025, 6, 1), "ana"],
    ["ACT-0002", "Email", "Follow up", "CON-0001", dt.datetime(2025, 6, 2), "ana"],
    ["ACT-0003", "Call", "Pilot", "OPP-0002", dt.datetime(2025, 6, 3), "bo"],
    ["ACT-0004", "Note", "Not an ID: ACC-0003 in a sentence", "ACC-0004", dt.datetime(2025, 6, 4), "ana"],
]
DUPLICATES_HEADER = ["Group", "Score", "Reasons", "Tab", "ID", "Name", "Email", "Phone", "Company", "Created",
                     "Keep", "Merge", "Not duplicates"]
DUPLICATES = [
    DUPLICATES_HEADER,
    # Accounts: no Keep tick, so the oldest (ACC-0001) survives; merged: ACC-0003.
    ["DUP-aaaa0001", 0.9, "company name 94% similar, same domain", "Accounts", "ACC-0001", "Acme", "", "", "Acme",
     dt.datetime(2025, 1, 5), "", "", ""],
    ["DUP-aaaa0001", 0.9, "company name 94% similar, same domain", "Accounts", "ACC-0003", "ACME Inc", "", "", "ACME Inc",
     dt.datetime(2025, 3, 9), "", "x", ""],
    # Contacts: Keep on the younger one (CON-0001) wins over age; merged: CON-0003.
    ["DUP-bbbb0002", 0.8, "same email after normalisation", "Contacts", "CON-0001", "Eve Ray", "eve@acme.com", "", "",
     dt.datetime(2025, 3, 10), "TRUE", "TRUE", ""],
    ["DUP-bbbb0002", 0.8, "same email after normalisation", "Contacts", "CON-0003", "Eve Ray", " Eve@Acme.com", "", "",
     dt.datetime(2025, 1, 6), "", "", ""],
    # Not ticked: nothing happens to these.
    ["DUP-cccc0003", 0.7, "same phone", "Accounts", "ACC-0002", "Globex", "", "", "Globex", "", "", "", ""],
    ["DUP-cccc0003", 0.7, "same phone", "Accounts", "ACC-0004", "Initech", "", "", "Initech", "", "", "", ""],
]


def tabs() -> dict[str, list[list]]:
    return {"Accounts": [list(r) for r in ACCOUNTS], "Contacts": [list(r) for r in CONTACTS],
            "Opportunities": [list(r) for r in OPPORTUNITIES], "Activities": [list(r) for r in ACTIVITIES],
            "Duplicates": [list(r) for r in DUPLICATES]}
