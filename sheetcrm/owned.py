"""Which tab of a workbook is each of sheetcrm's own tabs: by its mark, never by its title alone.

A team may have a tab of its own called Pipeline, Dashboard or Outbox. sheetcrm writes only
tabs that carry its mark (`Snapshot.owned`, set by the backend from `Plan.mark_owned`), so the
resolution of one of its tabs (`locate`) is, in this order:

1. a marked tab with one of its names ("Pipeline", "Embudo"), or with a name sheetcrm gave it
   to step aside ("Pipeline (sheetcrm)", "Pipeline (sheetcrm 2)"), or else, for a tab that keeps
   the past (`KEPT`: Stage History, the Outbox…), a marked tab a person renamed (the mark follows
   the sheet) whose header row still starts with the one sheetcrm writes there;
2. migration: an unmarked tab with such a name whose header row is exactly the one sheetcrm
   writes for that tab, in English or Spanish (the Outbox may have columns a person added after
   sheetcrm's), in a workbook sheetcrm wrote before: its `_sheetcrm` or its Validation tab is
   there (`EVIDENCE`: every version wrote its Validation tab at every sync). That is a
   workbook synced before tabs were marked; the tab is adopted, and marked with the next
   write. A workbook sheetcrm never wrote has neither: a team's Pipeline there whose header
   happens to read Stage, Count, Amount, Weighted is the team's own, with their figures and
   formulas;
3. otherwise a new tab: the usual name when it is free, else the first free
   "NAME (sheetcrm)", "NAME (sheetcrm 2)"… The team's tab is never written, and the sync says
   so once (a warning on the Validation tab, a line from the command).

Every reader and writer of sheetcrm's tabs goes through `locate`/`owned_title`, so the team's
"Stage History" is never read as sheetcrm's history either. Input tabs that people make
(Rates, Quotas) are not sheetcrm's and are still found by name.

Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from sheetcrm.cells import normalize_key
from sheetcrm.i18n import N_, _
from sheetcrm.report import Issue
from sheetcrm.schema import (DUPLICATES, LEAD_HISTORY, MERGED, OUTBOX, OWNED_TABS, SEQUENCES, STAGE_HISTORY, SYNC_LOG,
                             VALIDATION, WORKFLOW_LOG, WORKFLOW_STATE, OwnedTab)
from sheetcrm.workbook import Snapshot

# Excel refuses sheet names longer than this; Google allows more, so the stricter limit rules.
MAX_TITLE = 31
# sheetcrm's tabs that every version wrote and no team would lay out so: one of them in the
# workbook says sheetcrm wrote it before (`_written_before`).
EVIDENCE = (SEQUENCES, VALIDATION)
# sheetcrm's tabs that hold what no sync can compute again: the histories, the Outbox's queue,
# the workflows' state and journal, the merged rows, the sync log, the marks, people's ticks.
KEPT = frozenset(t.key for t in (STAGE_HISTORY, LEAD_HISTORY, OUTBOX, WORKFLOW_STATE, WORKFLOW_LOG, MERGED, SYNC_LOG,
                                 SEQUENCES, DUPLICATES))
_STEP_ASIDE = re.compile(r"^(?P<base>.*?)\s*\(sheetcrm(?:\s+(?P<n>\d+))?\)\s*$", re.IGNORECASE)

TAB_NAME_TAKEN = "tab_name_taken"
MESSAGE = N_("this tab has the name of sheetcrm's {name} tab but is not sheetcrm's (it carries no sheetcrm mark): "
             "sheetcrm never writes it, and keeps its own {name} in '{ours}'")
HINT = N_("nothing to do: your tab stays as it is. Rename it if you would rather sheetcrm used the name.")


@dataclass(frozen=True)
class Place:
    """Where one of sheetcrm's tabs is, or will be created."""

    title: str
    exists: bool                  # the tab is in the snapshot
    adopt: bool = False           # unmarked, but evidently sheetcrm's own output: mark it
    team_tab: str | None = None   # the team's tab holding sheetcrm's usual name, left alone


def locate(snapshot: Snapshot, tab: OwnedTab, locale: str) -> Place:
    """Where sheetcrm's `tab` lives in `snapshot` (rules in the module docstring)."""
    titles = list(snapshot.tabs)
    exact = _keys(tab)
    named = [t for t in titles if normalize_key(t) in exact]
    aside = [t for t in titles if t not in named and _stepped_aside(t, tab)]
    unmarked = [t for t in named if t not in snapshot.owned]
    # The mark belongs to the sheet, not its title: a person's rename keeps it, and a new tab
    # under the old name would start a record of the past afresh without a word. A marked tab
    # of another name is this one by its header. A summary renamed is a snapshot people keep:
    # the next sync makes a new one, as it always could.
    renamed = [t for t in titles if t in snapshot.owned and t not in named and tab.key in KEPT
               and _is_ours(snapshot, t, tab, True)]
    for candidates in (named, aside, renamed):
        marked = next((t for t in candidates if t in snapshot.owned), None)
        if marked is not None:
            # Beside sheetcrm's marked tab, a tab of its name is the team's whatever its header.
            return Place(marked, True, team_tab=next(iter(unmarked), None))
    adoptable = tab in EVIDENCE or _written_before(snapshot)
    team = next((t for t in unmarked if not (adoptable and _is_ours(snapshot, t, tab))), None)
    if adoptable:
        for candidates in (named, aside):
            adopted = next((t for t in candidates if _is_ours(snapshot, t, tab)), None)
            if adopted is not None:
                return Place(adopted, True, adopt=True, team_tab=team)
    name = tab.display_title(locale)
    taken = normalize_key(name) in {normalize_key(t) for t in titles}
    return Place(free_title(titles, name) if taken else name, False, team_tab=team)


def owned_title(snapshot: Snapshot, tab: OwnedTab) -> str | None:
    """The title of sheetcrm's `tab` in the snapshot, or None when it has none yet (a team's
    tab of that name does not count)."""
    place = locate(snapshot, tab, "en")
    return place.title if place.exists else None


def synced_before(snapshot: Snapshot) -> bool:
    """Whether sheetcrm has written this workbook before: one of its tabs is in it, marked or
    evidently its own (an earlier version's). Until then every filled cell is a person's."""
    return bool(snapshot.owned) or any(locate(snapshot, tab, "en").exists for tab in OWNED_TABS.values())


def adoptions(snapshot: Snapshot) -> list[str]:
    """Unmarked tabs that are evidently sheetcrm's own output: to mark with the next write."""
    out = []
    for tab in OWNED_TABS.values():
        place = locate(snapshot, tab, "en")
        if place.adopt and place.title not in out:
            out.append(place.title)
    return out


def conflicts(snapshot: Snapshot, locale: str) -> list[Issue]:
    """A warning per team tab holding one of sheetcrm's names, naming where sheetcrm's own goes."""
    issues = []
    for tab in OWNED_TABS.values():
        place = locate(snapshot, tab, locale)
        # Only when sheetcrm's tab had to take another name: a team's "Embudo" beside
        # sheetcrm's "Pipeline" is no conflict.
        if place.team_tab is not None and normalize_key(place.title) not in _keys(tab):
            name = tab.display_title(locale)
            issues.append(Issue("warning", place.team_tab, None, None, None, place.title, TAB_NAME_TAKEN,
                                _(MESSAGE, name=name, ours=place.title), _(HINT)))
    return issues


def free_title(titles: list[str], name: str) -> str:
    """The first of "NAME (sheetcrm)", "NAME (sheetcrm 2)"… no tab is called (ignoring case,
    accents and spacing), cut to Excel's 31 characters."""
    taken = {normalize_key(t) for t in titles}
    n = 1
    while True:
        suffix = " (sheetcrm)" if n == 1 else f" (sheetcrm {n})"
        title = name[:MAX_TITLE - len(suffix)].rstrip() + suffix
        if normalize_key(title) not in taken:
            return title
        n += 1


def _written_before(snapshot: Snapshot) -> bool:
    """Whether the workbook holds a tab only sheetcrm writes (its `_sheetcrm`, or its Validation
    tab: nine headers no team types), marked or with its header: the evidence that an unmarked
    tab with sheetcrm's header is an earlier sheetcrm's output."""
    return any(normalize_key(t) in _keys(tab) and (t in snapshot.owned or _is_ours(snapshot, t, tab))
               for tab in EVIDENCE for t in snapshot.tabs)


def _stepped_aside(title: str, tab: OwnedTab) -> bool:
    m = _STEP_ASIDE.match(title)
    return bool(m) and normalize_key(m.group("base")) in _bases(tab)


def _is_ours(snapshot: Snapshot, title: str, tab: OwnedTab, marked: bool = False) -> bool:
    """Whether the tab's header row is exactly what sheetcrm writes there (en or es); on a
    `marked` tab, followed by columns people added after sheetcrm's, which they may on any of its tabs."""
    header = [None if v is None else str(v) for v in snapshot.tabs[title].header]
    while header and header[-1] in (None, ""):
        header.pop()
    for wanted in (list(tab.headers), list(tab.headers_es)):
        # People add columns of their own beside the Outbox's; every other tab is sheetcrm's whole.
        have = header[:len(wanted)] if marked or tab.key == OUTBOX.key else header
        if have == wanted:
            return True
    return False


@lru_cache(maxsize=None)
def _keys(tab: OwnedTab) -> frozenset[str]:
    return frozenset(normalize_key(n) for n in (tab.title, tab.title_es))


@lru_cache(maxsize=None)
def _bases(tab: OwnedTab) -> frozenset[str]:
    """The names a step-aside title can start with: each name, and its cuts to fit 31 characters."""
    cuts = {len(" (sheetcrm)"), *(len(f" (sheetcrm {n})") for n in (2, 10, 100))}
    return frozenset(normalize_key(name[:MAX_TITLE - c].rstrip()) for name in (tab.title, tab.title_es)
                     for c in cuts) | _keys(tab)
