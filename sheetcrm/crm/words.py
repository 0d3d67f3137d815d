"""The words sheetcrm writes for what a team configured: stages, lead statuses, forecast categories.

The engine works with canonical keys (a stage's configured name, "Qualified", "Best Case");
what it writes into a cell is the team's own word for that key, decided here, once per sync:

1. the name the config file gives it explicitly (a `[[stages]]` name);
2. else the spelling the team uses most in its own column for that value (Stage, Status,
   Category Override), ties to the spelling seen first;
3. else the default's name in the team's language (the message catalogue: "Propuesta",
   "Mejor caso", "Calificado" in Spanish).

Every word chosen reads back as its key: 1 is the key itself, 2 was read as it, and 3 is
one of the default's aliases (`crm.stages.DEFAULT_STAGES`, `records.LEAD_STATUSES`, the
Category Override choices), which tests/crm/test_words.py checks. Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from sheetcrm.i18n import NC_, in_locale

STAGE, LEAD_STATUS, CATEGORY = "stage", "lead status", "forecast category"  # not for people: kinds and keys; the words are in the catalogue

# The built-in values' names, in English here and in every other language in the catalogue.
DEFAULTS: dict[str, dict[str, tuple[str, str]]] = {
    STAGE: {
        "Prospecting": NC_("stage", "Prospecting"), "Qualification": NC_("stage", "Qualification"),
        "Proposal": NC_("stage", "Proposal"), "Negotiation": NC_("stage", "Negotiation"),
        "Closed Won": NC_("stage", "Closed Won"), "Closed Lost": NC_("stage", "Closed Lost"),  # not for people: kinds and keys; the words are in the catalogue
    },
    LEAD_STATUS: {
        "New": NC_("lead status", "New"), "Contacted": NC_("lead status", "Contacted"),
        "Qualified": NC_("lead status", "Qualified"), "Unqualified": NC_("lead status", "Unqualified"),
        "Converted": NC_("lead status", "Converted"),
    },
    CATEGORY: {
        "Pipeline": NC_("forecast category", "Pipeline"), "Best Case": NC_("forecast category", "Best Case"),  # not for people: kinds and keys; the words are in the catalogue
        "Commit": NC_("forecast category", "Commit"), "Closed": NC_("forecast category", "Closed"),
        "Omitted": NC_("forecast category", "Omitted"),
    },
}


@dataclass(frozen=True)
class Words:
    """kind -> canonical key -> the word written for it. A key it does not know is written as is."""

    spelled: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __call__(self, kind: str, key: str | None) -> str | None:
        if key is None:
            return None
        return self.spelled.get(kind, {}).get(key, key)


def most_used(seen: Iterable[tuple[str, str]]) -> dict[str, str]:
    """(canonical key, text as typed) pairs -> each key's most used text; a tie goes to the
    text seen first (Counter keeps first-seen order, and max returns the first maximum)."""
    counts: dict[str, Counter[str]] = {}
    for key, text in seen:
        if text:
            counts.setdefault(key, Counter())[text] += 1
    return {key: max(texts, key=texts.__getitem__) for key, texts in counts.items()}


def team_words(locale: str, keys: Mapping[str, Iterable[str]], seen: Mapping[str, Iterable[tuple[str, str]]],
               explicit: Mapping[str, Iterable[str]] = {}) -> Words:
    """The word for each key of each kind.

    keys: kind -> every canonical key of that kind (the configured stages, the statuses...);
    seen: kind -> (key, text as the team typed it) for each cell of the team's column;
    explicit: kind -> the keys the config file names explicitly (they are their own word).
    """
    spelled: dict[str, dict[str, str]] = {}
    for kind, all_keys in keys.items():
        fixed = set(explicit.get(kind, ()))
        typed = most_used(seen.get(kind, ()))
        defaults = DEFAULTS.get(kind, {})
        words = spelled[kind] = {}
        for key in all_keys:
            if key in fixed:
                words[key] = key
            elif key in typed:
                words[key] = typed[key]
            elif key in defaults:
                words[key] = in_locale(locale, defaults[key])
            else:
                words[key] = key
    return Words(spelled)
