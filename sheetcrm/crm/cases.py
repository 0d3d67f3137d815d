"""Cases (after-sales tickets): age, SLA deadlines counted in business time, first response,
breaches, and the Dashboard's case KPIs. Pure: no I/O and no clock; `as_of` is the sync's day.
docs/cases.md gives every formula.

The [cases] section of sheetcrm.toml (`CaseSettings`) sets, per priority, how soon a case must
first be answered (response) and solved (resolution):

    [cases.sla]
    urgent = { response = "1h", resolution = "4h" }
    high   = { response = "4h", resolution = "1d" }

    [cases.business_hours]          # without it the SLA clock runs 24 hours a day, 7 days a week
    days = ["Mon", "Tue", "Wed", "Thu", "Fri"]
    start = "09:00"
    end = "17:00"
    holidays = [2026-12-25]

The sheet's times are wall-clock times in the team's zone (the config's `timezone`, or
`[cases] timezone`, its older place; sheetcrm.team_time): business hours count the wall clock;
the 24-hour clock counts real hours across a daylight-saving change. With no zone set, the
sync's day is the machine's, and the 24-hour clock counts a day as 24 wall-clock hours (UTC's
rule: it knows of no daylight-saving change).

Why a small calendar of our own rather than `businesstimedelta` (its last release 2019, pytz
time zones) or pandas' CustomBusinessHour (a 30 MB dependency for one addition): the rule
is twenty lines (`BusinessClock.add`), and it is tested against hand-counted cases.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from sheetcrm.i18n import N_, NC_, _
from sheetcrm.settings import Section

PRIORITIES = ("Urgent", "High", "Normal", "Low")   # the order the Dashboard lists them
CLOSED = frozenset({"Resolved", "Closed"})          # a case in these statuses is no longer open
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# How the Dashboard names a priority, in the team's language.
PRIORITY_WORDS = {"Urgent": NC_("case priority", "Urgent"), "High": NC_("case priority", "High"),
                  "Normal": NC_("case priority", "Normal"), "Low": NC_("case priority", "Low")}

_DURATION = re.compile(r"\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*", re.IGNORECASE)
_CLOCK = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def parse_duration(text: str) -> tuple[int, int]:
    """"1d 4h 30m" -> (days, minutes): (1, 270). Raises ValueError on anything else or on zero."""
    m = _DURATION.fullmatch(text)
    if m is None or not any(m.groups()):
        raise ValueError(_('"{text}" is not a duration: write it like "4h", "30m", "2d" or "1d 4h"', text=text))
    days, hours, minutes = (int(g or 0) for g in m.groups())
    if days == hours == minutes == 0:
        raise ValueError(_("a duration must be more than zero"))
    return days, hours * 60 + minutes


class SlaTimes(Section):
    """How soon a case of one priority must be answered and solved ("1h", "30m", "2d", "1d 4h").
    A day ("d") is a business day (start to end) when business hours are set, else 24 hours."""

    response: str
    resolution: str

    @field_validator("response", "resolution")
    @classmethod
    def _duration(cls, text: str) -> str:
        parse_duration(text)
        return text


_DEFAULT_SLA = {"urgent": ("1h", "4h"), "high": ("4h", "1d"), "normal": ("8h", "3d"), "low": ("1d", "5d")}


class BusinessHours(Section):
    """When the SLA clock runs: these weekdays from start to end (local wall-clock time in
    `timezone`), not on the holidays."""

    days: list[str] = Field(default_factory=lambda: ["Mon", "Tue", "Wed", "Thu", "Fri"], min_length=1)
    start: str = "09:00"
    end: str = "17:00"
    holidays: list[dt.date] = []

    @field_validator("days")
    @classmethod
    def _days(cls, days: list[str]) -> list[str]:
        for d in days:
            if weekday(d) is None:
                raise ValueError(_('"{day}" is not a weekday: write Mon, Tue, Wed, Thu, Fri, Sat or Sun', day=d))
        return days

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, text: str) -> str:
        if _CLOCK.fullmatch(text.strip()) is None:
            raise ValueError(_('"{text}" is not a time of day: write it like "09:00"', text=text))
        return text

    @model_validator(mode="after")
    def _order(self) -> "BusinessHours":
        if _minutes(self.end) <= _minutes(self.start):
            raise ValueError(_("end must be later than start"))
        return self


def check_zone(name: str) -> str:
    """An IANA time zone name, as typed; ValueError, one line, for any other text."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(_('"{name}" is not a time zone: write it like "Europe/Madrid"', name=name)) from None
    return name


class CaseSettings(Section):
    """The [cases] section: `sla` per priority (urgent, high, normal, low; a priority left out
    keeps its default), `business_hours` (none: the clock runs around the clock), `timezone`
    (an IANA name: the team's zone, where the sheet's times are written; the config's top-level
    `timezone` is its place now, and this one, kept working, must name the same zone),
    `top_accounts`: how many accounts the Dashboard lists by number of cases."""

    sla: dict[str, SlaTimes] = Field(default_factory=dict)
    business_hours: BusinessHours | None = None
    timezone: str | None = None
    top_accounts: int = Field(default=5, ge=0, le=100)

    @field_validator("sla")
    @classmethod
    def _priorities(cls, sla: dict[str, SlaTimes]) -> dict[str, SlaTimes]:
        for key in sla:
            if key not in _DEFAULT_SLA:
                raise ValueError(_("unknown priority {key}; expected one of {keys}", key=key,
                                   keys=", ".join(_DEFAULT_SLA)))
        return sla

    @field_validator("timezone")
    @classmethod
    def _zone(cls, name: str | None) -> str | None:
        return None if name is None else check_zone(name)

    def times(self, priority: str) -> tuple[tuple[int, int], tuple[int, int]]:
        """(response, resolution) of a priority ("Urgent"...), each (days, minutes)."""
        key = priority.casefold()
        set_ = self.sla.get(key)
        response, resolution = (set_.response, set_.resolution) if set_ else _DEFAULT_SLA[key]
        return parse_duration(response), parse_duration(resolution)

    def clock(self, zone: str | None = None) -> "BusinessClock | Clock":
        """The SLA clock; `zone`: the team's (config.Config.zone_name), else this section's, else
        UTC (no daylight-saving change)."""
        hours = self.business_hours
        if hours is None:
            return Clock(ZoneInfo(zone or self.timezone or "UTC"))
        return BusinessClock(frozenset(n for d in hours.days if (n := weekday(d)) is not None),
                             _minutes(hours.start), _minutes(hours.end), frozenset(hours.holidays))


def weekday(text: str) -> int | None:
    """0 (Monday) to 6 for a day's English name or its start of three letters or more ("Mon",
    "Tues", "Thursday"), any case; None for anything else. The whole text must name one day: by
    its first three letters "Mon-Fri" read as Monday alone, and every SLA ran on Mondays only."""
    word = text.strip().casefold()
    if len(word) < 3:
        return None
    return next((n for n, name in enumerate(WEEKDAYS) if name.startswith(word)), None)


def _minutes(clock: str) -> int:
    h, m = clock.strip().split(":")
    return int(h) * 60 + int(m)


@dataclass(frozen=True)
class Clock:
    """The SLA clock around the clock: a day is 24 hours. Sheet times are local wall-clock
    times in `zone`, so an addition across a daylight-saving change counts real hours."""

    zone: ZoneInfo

    def add(self, start: dt.datetime, days: int, minutes: int) -> dt.datetime:
        aware = start.replace(tzinfo=self.zone).astimezone(dt.timezone.utc)
        return (aware + dt.timedelta(days=days, minutes=minutes)).astimezone(self.zone).replace(tzinfo=None)


@dataclass(frozen=True)
class BusinessClock:
    """The SLA clock in business hours: it runs on `weekdays` (0 = Monday) from `start` to `end`
    (minutes after midnight, wall clock), never on `holidays`.

    `add(t, days, minutes)`: the clock starts at t, or at the next opening when t is outside
    business hours; each day is one business day's length (end − start); the due time is where
    the clock has run that long, on the day it reaches it (a deadline that falls exactly at
    closing time stays at closing time, it does not move to the next opening)."""

    weekdays: frozenset[int]
    start: int
    end: int
    holidays: frozenset[dt.date] = frozenset()

    def open_on(self, day: dt.date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def add(self, t: dt.datetime, days: int, minutes: int) -> dt.datetime:
        left = days * (self.end - self.start) + minutes
        day = t.date()
        now = t.hour * 60 + t.minute
        for _ in range(366 * 10):  # a calendar with no open day in ten years is a config no one means
            if self.open_on(day) and now < self.end:
                now = max(now, self.start)
                if now + left <= self.end:
                    return dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=now + left)
                left -= self.end - now
            day += dt.timedelta(days=1)
            now = 0
        raise ValueError("no business day in ten years")  # not for people: the config forbids it (days non-empty)


@dataclass(frozen=True)
class CaseInput:
    """What the engine needs of one case (a records.Case, its first related activity's day)."""

    id: str | None
    account: str | None
    priority: str | None
    status: str | None
    opened: dt.datetime
    resolved: dt.datetime | None
    first_response: dt.date | None = None


@dataclass(frozen=True)
class CaseMetrics:
    """One case's computed columns and what the KPIs count.

    age_days: whole calendar days from Opened's day to Resolved's day (closed cases) or to
    `as_of`; None for a closed case with no Resolved time (its end is unknown), or when Opened
    or Resolved is after `as_of` (not measured); response_due, resolution_due: None without a
    priority or with Opened after `as_of`; sla_due: the resolution deadline; breached:
    "response", "resolution", both, or none (see `case_metrics`); resolution_measured: a closed
    case's Resolved time is one the Dashboard's average may count (on or before `as_of`)."""

    open: bool
    age_days: int | None
    response_due: dt.datetime | None
    resolution_due: dt.datetime | None
    first_response: dt.date | None
    response_breached: bool
    resolution_breached: bool
    decided: bool  # the SLA's outcome is known: resolved, or already breached
    resolution_measured: bool = False
    # A Resolved date alone on the day the resolution deadline falls in: met or late is not known.
    resolution_undecided: bool = False
    # An Opened date alone leaves met or late not known (for every time of that day they differ);
    # latest_due: SLA Due had it been opened at the day's end (or at Resolved, that day).
    opened_undecided: bool = False
    latest_due: dt.datetime | None = None

    @property
    def sla_due(self) -> dt.datetime | None:
        return self.resolution_due

    @property
    def breached(self) -> bool:
        return self.response_breached or self.resolution_breached


def case_metrics(case: CaseInput, settings: CaseSettings, as_of: dt.date,
                 clock: "BusinessClock | Clock | None" = None) -> CaseMetrics:
    """A case's Age, SLA deadlines and breaches on `as_of`.

    A case is open unless its Status is Resolved or Closed; a closed case is measured at its
    Resolved time (none: its resolution is not measured). The sync knows the day, not the
    hour, so an open case is measured at the start of `as_of` (00:00): it is never called
    late before it may be. Response: met when the case was resolved by the response deadline
    (a resolution answers it, however late a follow-up activity is logged) or the first
    related activity's day is on or before the response deadline's day (activities record
    days, not hours); breached when that day is later, or when no activity answered it and
    the deadline is before now.
    Resolution: breached when Resolved is after the deadline, or, still open, the deadline
    is before now.

    An Opened or Resolved after `as_of` (a year typed wrong, `problems`) is not measured: no
    case is opened or solved on a day that has not come, and an age of 0 or 365 or a deadline
    never reached would be a figure that looks sound. Opened after it: no Age, deadline, first
    response or verdict. Resolved after it (a closed case): no Age and no verdict; the
    deadlines, counted from Opened, stand."""
    clock = clock or settings.clock()
    is_open = case.status not in CLOSED
    if case.opened.date() > as_of:
        return CaseMetrics(is_open, None, None, None, None, False, False, False)
    if not is_open and case.resolved is not None and case.resolved.date() > as_of:
        due = (None, None) if case.priority is None else \
            tuple(clock.add(case.opened, *t) for t in settings.times(case.priority))
        return CaseMetrics(False, None, due[0], due[1], case.first_response, False, False, False)
    day_only = not is_open and resolved_whole_day(case)
    # A Resolved date alone is the whole of that day (from Opened on Opened's own day): read as
    # 00:00 it made a case resolved that afternoon met by a deadline at noon, and counted hours
    # that were never known in the average resolution time. The day is known (Age), the time is
    # not: the response is judged by that day, the resolution by where the deadline falls.
    resolved = None if is_open or day_only else case.resolved
    end_day = case.resolved.date() if day_only else resolved.date() if resolved is not None else as_of
    # Both dates alone: the calendar days between them are the resolution time, exact to the day.
    # Opened with a time, Resolved without: off by up to a day, so not measured (said at the cell).
    # Opened without a time, Resolved with one: off by up to a day too (said at the Opened cell).
    measured = resolved is not None and not opened_whole_day(case) or day_only and opened_whole_day(case)
    # A closed case with no Resolved time has no known end: its Age is unknown, not 0.
    age = max((end_day - case.opened.date()).days, 0) if is_open or resolved is not None or day_only else None
    if case.priority is None:
        return CaseMetrics(is_open, age, None, None, case.first_response, False, False, False, measured)
    (r_days, r_min), (s_days, s_min) = settings.times(case.priority)
    now = dt.datetime.combine(as_of, dt.time())

    def judge(opened: dt.datetime) -> tuple[bool, bool, bool]:
        """(response late, resolution late, resolution not known) for a case opened at `opened`."""
        response_due = clock.add(opened, r_days, r_min)
        resolution_due = clock.add(opened, s_days, s_min)
        # A resolution answers the case: one resolved by the response deadline is answered in time,
        # whatever activity is logged about it later (a follow-up call is no late first answer).
        if resolved is not None and resolved <= response_due or day_only and end_day <= response_due.date():
            response_late = False
        elif case.first_response is not None:
            response_late = case.first_response > response_due.date()
        else:  # unanswered: resolved after the deadline, or not resolved by now and the deadline passed
            response_late = resolved is not None or response_due < now
        if resolved is not None:
            return response_late, resolved > resolution_due, False
        if day_only:
            # Resolved some time in [start, end): met if the deadline is at or after the day's end,
            # late if it is before the day's start (or before Opened, on Opened's day), else unknown.
            start = max(dt.datetime.combine(end_day, dt.time()), opened)
            end = dt.datetime.combine(end_day + dt.timedelta(days=1), dt.time())
            return response_late, resolution_due < start, start <= resolution_due < end
        return response_late, is_open and resolution_due < now, False

    response_due = clock.add(case.opened, r_days, r_min)
    resolution_due = clock.add(case.opened, s_days, s_min)
    early = late = judge(case.opened)
    last = case.opened
    if opened_whole_day(case):
        # Opened is a day: the case was opened some time in it (by Resolved, when that is on the same
        # day with a time). Read as 00:00, its deadlines were the earliest they can be, and a case
        # opened at 15:00 and solved at 15:30 within a 1h SLA was called late. A later opening never
        # makes a case later, so what holds opened at the day's first and at its last minute holds
        # for every time of the day; where the two differ, the verdict is not known.
        last = dt.datetime.combine(case.opened.date(), dt.time(23, 59))
        if resolved is not None and resolved.date() == case.opened.date():
            last = min(last, resolved)
        late = judge(last)
    response_late, resolution_late = late[0], late[1]
    # Late for the latest opening: late for all; met for the earliest: met for all; else not known.
    response_unknown = early[0] and not late[0]
    resolution_unknown = not late[1] and (early[1] or early[2])
    known_end = resolved is not None or day_only
    decided = response_late or resolution_late or known_end and not response_unknown and not resolution_unknown
    # Said at the cell whose missing time leaves it unknown. An open case's deadline not yet past
    # for every opening is no verdict yet (a later sync gives it), as for an Opened with a time.
    if opened_whole_day(case):
        undecided = False
        opened_undecided = resolution_unknown and not is_open or \
            response_unknown and (not is_open or case.first_response is not None)
    else:
        undecided, opened_undecided = resolution_unknown, False
    latest_due = clock.add(last, s_days, s_min) if opened_undecided else None
    return CaseMetrics(is_open, age, response_due, resolution_due, case.first_response, response_late,
                       resolution_late, decided, measured, undecided, opened_undecided, latest_due)


# code -> (severity, field, message, hint): what a case's own cells contradict.
PROBLEMS = {
    "case_resolved_before_opened": ("error", "resolved", N_("Resolved is before Opened, so this case's SLA cannot "
                                                            "be measured."),
                                    N_("Correct Opened or Resolved.")),
    "case_closed_unresolved": ("warning", "resolved", N_("This case is {status} but has no Resolved time, so its "
                                                         "resolution time is not measured."),
                               N_("Fill in when the case was resolved.")),
    "case_resolved_no_time": ("warning", "resolved", N_("Resolved has no time but Opened has one, so when that "
                                                        "day the case was resolved is not known: it counts as "
                                                        "closed that day, and its resolution time is left out of "
                                                        "the Dashboard's average resolution time."),
                              N_("Type the time it was resolved after the date, as 2026-11-30 15:00.")),
    "case_resolved_day_sla": ("warning", "resolved", N_("Resolved has no time, and this case's SLA Due ({due}) "
                                                        "falls within that day, so whether it was resolved in time "
                                                        "is not known: its resolution is not judged, and the "
                                                        "Dashboard's SLA met leaves it out unless its response was "
                                                        "late."),
                              N_("Type the time it was resolved after the date, as 2026-11-30 15:00.")),
    "case_opened_no_time": ("warning", "opened", N_("Opened has no time but Resolved has one, so how long the case "
                                                    "took is not known to the hour: its resolution time is left "
                                                    "out of the Dashboard's average resolution time."),
                            N_("Type the time it was opened after the date, as 2026-11-30 15:00.")),
    "case_opened_day_sla": ("warning", "opened", N_("Opened has no time, so this case's deadlines are known only "
                                                    "to the day (SLA Due {due} if it was opened as that day "
                                                    "began, {latest} if as it ended), and whether it was answered "
                                                    "or resolved in time is not known: it is not called late for "
                                                    "it, and the Dashboard's SLA met leaves it out unless it was "
                                                    "late anyway."),
                            N_("Type the time it was opened after the date, as 2026-11-30 15:00.")),
    "case_opened_after_sync": ("warning", "opened", N_("Opened is {day}, after this sync's day ({today}): this "
                                                       "case's Age, SLA Due, SLA Breached and First Response are "
                                                       "left empty, and it is out of the Dashboard's average "
                                                       "first response and SLA met (still counted as a case)."),
                               N_("Correct the date if it is a typo; if the computer that syncs has its clock or "
                                  "time zone behind, correct that.")),
    "case_resolved_after_sync": ("warning", "resolved", N_("Resolved is {day}, after this sync's day ({today}): "
                                                           "this case's Age and SLA Breached are left empty, and it "
                                                           "is out of the Dashboard's average resolution time and "
                                                           "SLA met."),
                                 N_("Correct the date if it is a typo; if the computer that syncs has its clock or "
                                    "time zone behind, correct that.")),
    "case_resolved_open": ("warning", "resolved", N_("This case has a Resolved time but its Status is {status}, so "
                                                     "it is counted as open."),
                           N_("Set Status to Resolved or Closed, or clear Resolved.")),
}


def resolved_day_only(case: CaseInput) -> bool:
    """Whether Resolved is a date alone (read as 00:00) on Opened's day, before Opened's time:
    a day typed without its time, not a resolution before the case was opened."""
    r = case.resolved
    return (r is not None and r < case.opened and r.date() == case.opened.date()
            and r.time() == dt.time(0))


def resolved_whole_day(case: CaseInput) -> bool:
    """Whether Resolved is a date alone (a day read as 00:00: a date cell, a text date with no
    time, or a time of exactly 00:00) on or after Opened's day: the case was resolved some time
    that day, when is not known. An exact midnight reads so too, which never misjudges: the
    moment is within the day."""
    r = case.resolved
    return r is not None and r.time() == dt.time(0) and r.date() >= case.opened.date()


def opened_whole_day(case: CaseInput | Any) -> bool:
    """Whether Opened is a date alone (read as 00:00, as `resolved_whole_day`): the case was
    opened some time that day. An exact midnight reads so too, which never misjudges."""
    return case.opened.time() == dt.time(0)


def resolved_before_opened(case: CaseInput | Any) -> bool:
    """Whether a case (anything with `opened` and `resolved`) has the error
    `case_resolved_before_opened`: a Resolved before its Opened that is not a day typed without
    its time (`resolved_day_only`). Such a case is left out of every figure: the Dashboard's,
    and the Accounts Overview's open cases and health."""
    return case.resolved is not None and case.resolved < case.opened and not resolved_day_only(case)


def problems(case: CaseInput, as_of: dt.date | None = None, metrics: CaseMetrics | None = None) -> list[str]:
    """The codes of PROBLEMS a case's cells show; with `as_of` (the sync's day), an Opened or
    Resolved after it too; with its `metrics` (`case_metrics`), a resolution that a date
    alone cannot judge. A case with an error is left out of every computation (its computed
    cells cleared); a warning only says what is not measured (`case_metrics`)."""
    day_only = resolved_day_only(case)
    found = []
    if day_only and case.status not in CLOSED:
        found.append("case_resolved_open")
    elif case.resolved is not None and case.resolved < case.opened and not day_only:
        return ["case_resolved_before_opened"]
    later = as_of is not None and case.resolved is not None and case.resolved.date() > as_of
    if case.status in CLOSED and resolved_whole_day(case) and not later:
        if case.opened.time() != dt.time(0):
            found.append("case_resolved_no_time")
        if metrics is not None and metrics.resolution_undecided:
            found.append("case_resolved_day_sla")
    if case.status in CLOSED and opened_whole_day(case) and case.resolved is not None \
            and not resolved_whole_day(case) and not later:
        found.append("case_opened_no_time")
    if metrics is not None and metrics.opened_undecided:
        found.append("case_opened_day_sla")
    if as_of is not None and case.opened.date() > as_of:
        found.append("case_opened_after_sync")
    if as_of is not None and case.resolved is not None and case.resolved.date() > as_of:
        found.append("case_resolved_after_sync")
    if case.status in CLOSED and case.resolved is None:
        found.append("case_closed_unresolved")
    if case.status not in CLOSED and case.resolved is not None and not day_only:
        found.append("case_resolved_open")
    return found


def first_responses(activities: Iterable[tuple[str | None, dt.date]],
                    opened: Mapping[str, dt.datetime] | None = None,
                    resolved: Mapping[str, dt.date] | None = None) -> dict[str, dt.date]:
    """Case ID -> the day of its earliest related activity, from (Related, Date) pairs.

    `opened`: case ID -> its Opened time. An activity dated before its case's Opened day
    cannot answer it (the case was opened, or reopened, after it: counted, a reopened case
    looked answered weeks before it was raised, never late, and pulled the average first
    response below zero); activities record days, so an activity on Opened's day counts.
    `resolved`: case ID -> the day a closed case was resolved. An activity after it is a
    follow-up, not a first response (counted, a case solved in half an hour showed a First
    Response days later and added those days to the average first response); one on that
    day counts, as on Opened's."""
    out: dict[str, dt.date] = {}
    for related, day in activities:
        if not related or (opened is not None and related in opened and day < opened[related].date()):
            continue
        if resolved is not None and related in resolved and day > resolved[related]:
            continue
        if related not in out or day < out[related]:
            out[related] = day
    return out


# The Dashboard's case KPIs: key -> (label, definition).
CASE_KPIS: dict[str, tuple[str, str]] = {
    "open_cases": (N_("Open cases, {name}"), N_("Cases of this priority whose Status is not Resolved or Closed.")),
    "avg_first_response_days": (N_("Average first response (days)"),
                                N_("Average calendar days from a case's Opened day to the day of its first "
                                   "related activity, over cases that have one.")),
    "avg_resolution_days": (N_("Average resolution time (days)"),
                            N_("Average real time from Opened to Resolved, in days of 24 hours, over "
                               "resolved and closed cases whose times are known: both with a time, or both "
                               "dates alone (then whole calendar days).")),
    "sla_met": (N_("SLA met"), N_("Cases whose SLA outcome is known (resolved, or already late) that met both "
                                  "their response and resolution times ÷ those cases.")),
    "cases_by_account": (N_("Cases, {name}"), N_("Cases of this account, open or not (the accounts with most).")),
}


@dataclass
class CaseSummary:
    """The case KPIs. Averages are None when nothing is measured; sla_met is in points."""

    open_by_priority: dict[str, int] = field(default_factory=dict)
    avg_first_response_days: Decimal | None = None
    avg_resolution_days: Decimal | None = None
    sla_met: Decimal | None = None
    by_account: list[tuple[str, int]] = field(default_factory=list)


_TENTH = Decimal("0.1")


def summarize(cases: Sequence[CaseInput], metrics: Sequence[CaseMetrics], top: int,
              zone: str | None = None) -> CaseSummary:
    """The Dashboard's KPIs over the sound cases and their metrics (same order); O(n). `zone`:
    the team's (an IANA name), where Opened and Resolved are wall-clock times: a resolution
    time is the real time between them, as the SLA clock counts it; None: wall-clock time."""
    out = CaseSummary(open_by_priority={p: 0 for p in PRIORITIES})
    responses: list[int] = []
    resolutions: list[int] = []  # minutes: exact, so the mean's rounding is exact too
    decided = met = 0
    accounts: Counter[str] = Counter()
    for case, m in zip(cases, metrics):
        if m.open and case.priority in out.open_by_priority:
            out.open_by_priority[case.priority] += 1
        if m.first_response is not None:
            responses.append(max((m.first_response - case.opened.date()).days, 0))
        if m.resolution_measured and case.resolved is not None and case.resolved >= case.opened:
            # Both dates alone: calendar days (a day of 23 h is still one), else the real time.
            days_only = case.opened.time() == case.resolved.time() == dt.time(0)
            resolutions.append(_elapsed(case.opened, case.resolved, None if days_only else zone)
                               // dt.timedelta(minutes=1))
        if m.decided:
            decided += 1
            met += not m.breached
        if case.account:
            accounts[case.account] += 1
    if responses:
        out.avg_first_response_days = _tenth(Decimal(sum(responses)) / len(responses))
    if resolutions:
        # Days of 1440 minutes, as Decimals: a sum of float days (21 min and 21 h 15 min is a mean of
        # 0.45 day) came to 0.4499999… and was rounded down to 0.4.
        out.avg_resolution_days = _tenth(Decimal(sum(resolutions)) / (len(resolutions) * 1440))
    if decided:
        out.sla_met = Decimal(met * 100) / decided
    out.by_account = sorted(accounts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return out


def _elapsed(start: dt.datetime, end: dt.datetime, zone: str | None) -> dt.timedelta:
    # Subtracting two times of one zone subtracts their wall clocks: Saturday 12:00 to Sunday 10:00
    # across the night the clocks go back was 22 h, not the 23 that passed. In UTC it is real time.
    if zone is None:
        return end - start
    tz = ZoneInfo(zone)
    return end.replace(tzinfo=tz).astimezone(dt.timezone.utc) - start.replace(tzinfo=tz).astimezone(dt.timezone.utc)


def _tenth(v: Decimal) -> Decimal:
    return v.quantize(_TENTH, rounding=ROUND_HALF_UP)
