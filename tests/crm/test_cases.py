"""Cases (issue 15): the SLA clock, each case's metrics and the Dashboard's KPIs, against
values counted by hand on a calendar (2026-11-27 is a Friday, 2026-12-25 a Friday holiday)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError

from sheetcrm.crm.cases import (BusinessHours, CaseInput, CaseSettings, case_metrics, first_responses, parse_duration,
                                problems, summarize)

T = dt.datetime
OFFICE = CaseSettings(business_hours=BusinessHours(holidays=[dt.date(2026, 12, 25)]))  # Mon-Fri 09:00-17:00


@pytest.mark.parametrize("start, days, minutes, due", [
    # Friday 16:30 + 1h: 30 minutes on Friday, 30 on Monday morning.
    (T(2026, 11, 27, 16, 30), 0, 60, T(2026, 11, 30, 9, 30)),
    # Friday night: the clock starts at Monday's opening.
    (T(2026, 11, 27, 20, 0), 0, 60, T(2026, 11, 30, 10, 0)),
    # Saturday noon, 4h: Monday 09:00 + 4h.
    (T(2026, 11, 28, 12, 0), 0, 240, T(2026, 11, 30, 13, 0)),
    # Before opening on a weekday: from 09:00.
    (T(2026, 12, 1, 7, 15), 0, 30, T(2026, 12, 1, 9, 30)),
    # A deadline exactly at closing time stays at closing time.
    (T(2026, 12, 1, 9, 0), 1, 0, T(2026, 12, 1, 17, 0)),
    # 1 business day from Tuesday 10:00: 7h on Tuesday, 1h on Wednesday.
    (T(2026, 12, 1, 10, 0), 1, 0, T(2026, 12, 2, 10, 0)),
    # Thursday 24 Dec 16:00 + 2h: 1h on Thursday, Christmas (holiday) and the weekend skipped.
    (T(2026, 12, 24, 16, 0), 0, 120, T(2026, 12, 28, 10, 0)),
    # 5 business days (40h) from Monday 10:00: 7 + 8 + 8 + 8 + 8 = 39h to Friday 17:00, 1h more Monday.
    (T(2026, 11, 30, 10, 0), 5, 0, T(2026, 12, 7, 10, 0)),
])
def test_business_clock_counts_only_business_hours(start, days, minutes, due):
    assert OFFICE.clock().add(start, days, minutes) == due


def test_round_the_clock_counts_real_hours_across_daylight_saving():
    # Madrid leaves summer time on Sunday 2026-10-25 at 03:00: the day has 25 hours.
    madrid = CaseSettings(timezone="Europe/Madrid").clock()
    assert madrid.add(T(2026, 10, 24, 12, 0), 1, 0) == T(2026, 10, 25, 11, 0)
    assert CaseSettings().clock().add(T(2026, 11, 27, 23, 0), 0, 120) == T(2026, 11, 28, 1, 0)  # UTC


@pytest.mark.parametrize("text, parsed", [("4h", (0, 240)), ("30m", (0, 30)), ("2d", (2, 0)), ("1d 4h 30m", (1, 270)),
                                          ("90 min", (0, 90))])
def test_durations(text, parsed):
    assert parse_duration(text) == parsed


@pytest.mark.parametrize("bad", ["", "4", "four hours", "0h", "1w"])
def test_bad_durations_are_config_errors(bad):
    with pytest.raises(ValidationError):
        CaseSettings.model_validate({"sla": {"urgent": {"response": bad, "resolution": "4h"}}})


@pytest.mark.parametrize("section", [{"sla": {"critical": {"response": "1h", "resolution": "4h"}}},
                                     {"timezone": "Mars/Olympus"},
                                     {"business_hours": {"start": "18:00", "end": "09:00"}},
                                     {"business_hours": {"days": ["Funday"]}},
                                     # Read by their first three letters, these were Monday alone.
                                     {"business_hours": {"days": ["Mon-Fri"]}},
                                     {"business_hours": {"days": ["Monday to Friday"]}},
                                     {"business_hours": {"days": ["Mo"]}},
                                     {"business_hours": {"start": "9am"}}])
def test_bad_sections(section):
    with pytest.raises(ValidationError):
        CaseSettings.model_validate(section)


def test_weekdays_by_name_or_abbreviation():
    hours = CaseSettings.model_validate({"business_hours": {"days": ["mon", "Tues", " Wednesday ", "THURS", "Fri"]}})
    assert hours.clock().weekdays == frozenset(range(5))


def _case(priority="Urgent", status="Open", opened=T(2026, 11, 27, 16, 0), resolved=None, first=None,
          account="Initech"):
    return CaseInput("CASE-0001", account, priority, status, opened, resolved, first)


AS_OF = dt.date(2026, 12, 1)  # a Tuesday


def test_urgent_case_opened_late_friday_breaches_both_over_the_weekend():
    # Urgent: response 1h -> Friday 17:00; resolution 4h -> 1h Friday + 3h Monday = Monday 12:00.
    m = case_metrics(_case(first=dt.date(2026, 11, 30)), OFFICE, AS_OF)
    assert (m.response_due, m.sla_due) == (T(2026, 11, 27, 17, 0), T(2026, 11, 30, 12, 0))
    assert m.open and m.age_days == 4
    assert m.response_breached  # answered Monday, due Friday
    assert m.resolution_breached  # still open at the start of Tuesday, due Monday noon
    assert m.decided


def test_open_case_is_measured_at_the_start_of_the_sync_day():
    # Due Tuesday 12:00: a sync on Tuesday does not call it late yet; Wednesday's does.
    case = _case(opened=T(2026, 11, 30, 16, 0), first=dt.date(2026, 11, 30))
    assert case_metrics(case, OFFICE, AS_OF).sla_due == T(2026, 12, 1, 12, 0)
    tuesday = case_metrics(case, OFFICE, AS_OF)
    wednesday = case_metrics(case, OFFICE, AS_OF + dt.timedelta(days=1))
    assert not tuesday.breached and not tuesday.decided
    assert wednesday.resolution_breached and not wednesday.response_breached


def test_resolved_case_met_its_sla():
    # Low: response 1d (8h) and resolution 5d (40h), both well after Monday 15:30.
    m = case_metrics(_case("Low", "Resolved", T(2026, 11, 30, 10, 0), T(2026, 11, 30, 15, 30)), OFFICE, AS_OF)
    assert m.sla_due == T(2026, 12, 7, 10, 0)
    assert m.response_due == T(2026, 12, 1, 10, 0)
    assert not m.breached and m.decided and not m.open
    assert m.age_days == 0  # resolved the day it opened


def test_a_case_resolved_before_its_response_deadline_was_answered_whatever_is_logged_later():
    # Urgent: response 1h -> Tuesday 11:00, resolution 4h -> 14:00. Solved at 10:30; a follow-up
    # call logged on Thursday is its first related activity, not a late first answer.
    case = _case("Urgent", "Resolved", T(2026, 12, 1, 10, 0), T(2026, 12, 1, 10, 30), first=dt.date(2026, 12, 3))
    m = case_metrics(case, OFFICE, dt.date(2026, 12, 4))
    assert (m.response_due, m.sla_due) == (T(2026, 12, 1, 11, 0), T(2026, 12, 1, 14, 0))
    assert m.decided and not m.response_breached and not m.breached
    # Solved after the response deadline, the same call is late, as is no call at all.
    late = _case("Urgent", "Resolved", T(2026, 12, 1, 10, 0), T(2026, 12, 1, 11, 30), first=dt.date(2026, 12, 3))
    assert case_metrics(late, OFFICE, dt.date(2026, 12, 4)).response_breached
    unanswered = _case("Urgent", "Resolved", T(2026, 12, 1, 10, 0), T(2026, 12, 1, 11, 30))
    assert case_metrics(unanswered, OFFICE, dt.date(2026, 12, 1)).response_breached  # resolved today, after 11:00


def test_resolved_late_and_unanswered_before_the_deadline():
    # High: response 4h -> Monday 13:00; resolution 1d (8h) -> Monday 17:00.
    # Synced on the day it was resolved (a Resolved after the sync's day is not measured).
    m = case_metrics(_case("High", "Closed", T(2026, 11, 30, 9, 0), T(2026, 12, 2, 11, 0)), OFFICE,
                     dt.date(2026, 12, 2))
    assert (m.response_due, m.sla_due) == (T(2026, 11, 30, 13, 0), T(2026, 11, 30, 17, 0))
    assert m.resolution_breached
    assert m.response_breached  # no answer at all, and resolved after the response deadline


def test_configured_times_replace_the_default_of_that_priority_only():
    settings = CaseSettings.model_validate({"sla": {"urgent": {"response": "30m", "resolution": "2h"}}})
    assert settings.times("Urgent") == ((0, 30), (0, 120))
    assert settings.times("Normal") == ((0, 480), (3, 0))


def test_no_priority_no_sla():
    m = case_metrics(_case(priority=None), OFFICE, AS_OF)
    assert m.sla_due is None and not m.breached and not m.decided and m.age_days == 4


def test_problems():
    assert problems(_case(resolved=T(2026, 11, 26, 9, 0))) == ["case_resolved_before_opened"]
    assert problems(_case(status="Closed")) == ["case_closed_unresolved"]
    assert problems(_case(resolved=T(2026, 11, 30, 9, 0))) == ["case_resolved_open"]
    assert problems(_case()) == []


def test_an_opened_or_resolved_after_the_sync_day_is_said_and_not_measured():
    """A year typed wrong: Opened 2027 on an open case showed Age 0 and could never breach;
    Resolved a year ahead showed Age 365 and made the average resolution time 365 days."""
    later = _case(opened=T(2027, 11, 20, 9, 0), first=dt.date(2026, 11, 30))
    assert problems(later, AS_OF) == ["case_opened_after_sync"]
    assert problems(later) == []  # without the sync's day, nothing is said
    m = case_metrics(later, OFFICE, AS_OF)
    assert m.age_days is None and m.sla_due is None and m.first_response is None
    assert not m.breached and not m.decided and m.open
    typo = _case(status="Resolved", resolved=T(2027, 11, 27, 17, 0))
    assert problems(typo, AS_OF) == ["case_resolved_after_sync"]
    m = case_metrics(typo, OFFICE, AS_OF)
    assert m.age_days is None and not m.breached and not m.decided and not m.resolution_measured
    assert m.sla_due == T(2026, 11, 30, 12, 0)  # counted from Opened, which is sound
    sound = _case(status="Resolved", resolved=T(2026, 11, 30, 11, 0))
    cases = [later, typo, sound]
    summary = summarize(cases, [case_metrics(c, OFFICE, AS_OF) for c in cases], 5)
    assert summary.avg_resolution_days == Decimal("2.8")   # the sound one alone: 67 h, not 365 days
    assert summary.avg_first_response_days is None         # the later one's "answer" came before it opened
    assert summary.open_by_priority["Urgent"] == 1          # still a case, counted as open
    assert summary.by_account == [("Initech", 3)]


def test_first_response_is_the_earliest_related_activity():
    got = first_responses([("CASE-0001", dt.date(2026, 12, 2)), ("CASE-0001", dt.date(2026, 11, 30)),
                           (None, dt.date(2026, 1, 1)), ("CASE-0002", dt.date(2026, 12, 1))])
    assert got == {"CASE-0001": dt.date(2026, 11, 30), "CASE-0002": dt.date(2026, 12, 1)}


def test_summary_by_hand():
    cases = [
        _case(first=dt.date(2026, 11, 30)),                                               # breached, 3 days
        _case("Low", "Resolved", T(2026, 11, 30, 10, 0), T(2026, 11, 30, 15, 30)),          # met, 5.5 h
        _case("High", "Closed", T(2026, 11, 30, 9, 0), T(2026, 12, 1, 9, 0), dt.date(2026, 11, 30),
              account="Globex"),                                                           # late, 24 h, 0 days
        _case("Normal", "Pending", T(2026, 11, 30, 11, 0), account="Globex"),               # undecided
        _case("Normal", "New", T(2026, 11, 30, 12, 0), account=None),
    ]
    metrics = [case_metrics(c, OFFICE, AS_OF) for c in cases]
    s = summarize(cases, metrics, top=1)
    assert s.open_by_priority == {"Urgent": 1, "High": 0, "Normal": 2, "Low": 0}
    assert s.avg_first_response_days == Decimal("1.5")   # (3 + 0) / 2
    assert s.avg_resolution_days == Decimal("0.6")        # (5.5 h + 24 h) / 2 / 24 h = 0.614...
    assert s.sla_met == Decimal(100) / 3                  # 1 met of 3 decided
    assert s.by_account == [("Globex", 2)]                # ties go by name; top 1


def test_an_activity_before_the_case_was_opened_is_no_first_response():
    # Reopened on 30 Nov: a call on 2 Nov answered the case's earlier life, not this one.
    opened = {"CASE-0001": T(2026, 11, 30, 10, 0), "CASE-0002": T(2026, 11, 30, 10, 0)}
    got = first_responses([("CASE-0001", dt.date(2026, 11, 2)), ("CASE-0002", dt.date(2026, 11, 2)),
                           ("CASE-0002", dt.date(2026, 11, 30))], opened)
    assert got == {"CASE-0002": dt.date(2026, 11, 30)}  # an activity on Opened's day answers it


def test_a_closed_case_with_no_resolved_time_has_no_age():
    m = case_metrics(_case(status="Closed"), OFFICE, AS_OF)
    assert m.age_days is None and not m.open


def test_average_resolution_time_rounds_the_exact_mean_half_up():
    # 21 minutes and 21 h 15 min: a mean of 648 minutes = 0.45 day exactly, so 0.5 to a tenth. Summed
    # as float days it came to 0.44999999999999996 and was shown 0.4.
    opened = T(2026, 11, 30, 10, 0)
    cases = [_case("Low", "Resolved", opened, opened + dt.timedelta(minutes=21)),
             _case("Low", "Resolved", opened, opened + dt.timedelta(minutes=1275))]
    s = summarize(cases, [case_metrics(c, OFFICE, AS_OF) for c in cases], 5)
    assert s.avg_resolution_days == Decimal("0.5")


@pytest.mark.parametrize("priority, resolved, late, undecided", [
    # High, due Monday 30 Nov 09:00 + 1 business day from Friday 16:00 (1 h Friday, 7 h Monday) = Monday 16:00.
    ("High", T(2026, 11, 27), False, False),   # Friday itself: any time that day is before Monday 16:00
    ("High", T(2026, 11, 30), False, True),    # Monday: before or after 16:00, not known
    ("High", T(2026, 12, 1), True, False),     # Tuesday: its start is already after the deadline
    # Urgent on Opened's day, due Monday 12:00: Friday from 16:00 to midnight is before it.
    ("Urgent", T(2026, 11, 27), False, False),
])
def test_a_resolved_date_alone_is_the_whole_day(priority, resolved, late, undecided):
    """Read as 00:00, a Resolved date alone on Monday met a deadline of Monday 16:00 whatever the hour."""
    case = _case(priority, "Resolved", resolved=resolved, first=dt.date(2026, 11, 27))
    m = case_metrics(case, OFFICE, AS_OF)
    assert (m.resolution_breached, m.resolution_undecided, m.decided) == (late, undecided, not undecided)
    assert not m.resolution_measured  # Opened has a time, Resolved has not: off by up to a day
    expected = ["case_resolved_no_time"] + (["case_resolved_day_sla"] if undecided else [])
    assert problems(case, AS_OF, m) == expected



def test_average_resolution_time_is_real_time_across_a_daylight_saving_change():
    # Madrid's clocks go back at 03:00 on Sunday 25 October 2026: Saturday 12:00 to Sunday 10:00 is
    # 23 h (0.96 day, 1.0), not the 22 h (0.92, 0.9) the wall clocks differ by. Both dates alone stay
    # calendar days: Saturday to Sunday is 1 (not 25 h), so beside a case of 2 h the mean is 0.54, 0.5.
    timed = [_case("Low", "Resolved", T(2026, 10, 24, 12, 0), T(2026, 10, 25, 10, 0))]
    days = [_case("Low", "Resolved", T(2026, 10, 24), T(2026, 10, 25)),
            _case("Low", "Resolved", T(2026, 11, 2, 10, 0), T(2026, 11, 2, 12, 0))]
    for cases, average in ((timed, "1.0"), (days, "0.5")):
        metrics = [case_metrics(c, CaseSettings(), AS_OF) for c in cases]
        assert summarize(cases, metrics, 5, "Europe/Madrid").avg_resolution_days == Decimal(average)


MADRID = CaseSettings(timezone="Europe/Madrid")  # around the clock


@pytest.mark.parametrize("settings, opened, status, resolved, as_of, late, decided, said", [
    # Urgent (1h, 4h) opened some time on Monday 30 Nov, solved 15:30: opened by 14:30 it was late, at
    # 15:00 on time (the deadlines run to 16:30 and 19:30 at the latest). Read as 00:00: late, no word.
    (MADRID, T(2026, 11, 30), "Resolved", T(2026, 11, 30, 15, 30), AS_OF, False, False, True),
    # Solved Tuesday 05:00: after 00:59 and 03:59, the deadlines of an opening at 23:59: late whenever.
    (MADRID, T(2026, 11, 30), "Resolved", T(2026, 12, 1, 5, 0), AS_OF, True, True, False),
    # Solved 00:30: before 01:00 and 04:00, the deadlines of an opening at 00:00: met whenever.
    (MADRID, T(2026, 11, 30), "Resolved", T(2026, 11, 30, 0, 30), AS_OF, False, True, False),
    # Open at the start of Tuesday: due by Tuesday 03:59 at the latest, so not late yet, and no word
    # (Wednesday's sync gives the verdict, as for an Opened with a time).
    (MADRID, T(2026, 11, 30), "Open", None, AS_OF, False, False, False),
    (MADRID, T(2026, 11, 30), "Open", None, dt.date(2026, 12, 2), True, True, False),
    # Business hours: opened Friday 27 Nov, solved Monday 09:30: opened Friday morning it was late,
    # opened after 17:00 its clock started Monday 09:00 (due 10:00 and 13:00): not known.
    (OFFICE, T(2026, 11, 27), "Resolved", T(2026, 11, 30, 9, 30), AS_OF, False, False, True),
    # Opened on Christmas (a holiday): whenever that day, the clock starts Monday 28 at 09:00: met.
    (OFFICE, T(2026, 12, 25), "Resolved", T(2026, 12, 28, 9, 30), dt.date(2026, 12, 28), False, True, False),
])
def test_an_opened_date_alone_is_judged_only_when_every_time_of_that_day_agrees(
        settings, opened, status, resolved, as_of, late, decided, said):
    case = _case("Urgent", status, opened, resolved)
    m = case_metrics(case, settings, as_of)
    assert (m.breached, m.decided, m.opened_undecided) == (late, decided, said)
    assert m.sla_due == settings.clock().add(opened, 0, 240)  # from the day's start: the earliest it may be
    found = problems(case, as_of, m)
    assert ("case_opened_day_sla" in found) == said
    assert ("case_opened_no_time" in found) == (resolved is not None)
    # Opened's hour unknown, Resolved's known: the resolution time is off by up to a day.
    assert not m.resolution_measured


def test_an_opened_date_alone_counts_real_hours_across_daylight_saving():
    # Normal (8h, 3d) opened some time on Saturday 24 Oct 2026; Madrid's clocks go back on Sunday, so 3 days
    # are 72 real hours: due by Tuesday 22:59 at the latest (23:59 counting wall-clock hours). Solved 23:30:
    # late whenever it was opened.
    case = _case("Normal", "Resolved", T(2026, 10, 24), T(2026, 10, 27, 23, 30))
    m = case_metrics(case, MADRID, dt.date(2026, 10, 28))
    assert m.resolution_breached and m.decided and not m.opened_undecided


def test_the_dashboard_leaves_out_what_an_opened_date_alone_cannot_measure():
    cases = [_case("Urgent", "Resolved", T(2026, 11, 30), T(2026, 11, 30, 15, 30)),  # not known
             _case("Urgent", "Resolved", T(2026, 11, 30, 10, 0), T(2026, 11, 30, 10, 30))]  # met, 30 min
    metrics = [case_metrics(c, MADRID, AS_OF) for c in cases]
    s = summarize(cases, metrics, 5, "Europe/Madrid")
    # Was 50 % met and a mean of (15.5 h + 0.5 h) / 2 = 0.3 day: the first case's hours are not known.
    assert s.sla_met == 100 and s.avg_resolution_days == Decimal("0.0")


def test_an_activity_after_the_case_was_resolved_is_a_follow_up_not_its_first_response():
    opened = {"CASE-0001": T(2026, 12, 1, 10, 0), "CASE-0002": T(2026, 12, 1, 10, 0)}
    resolved = {"CASE-0001": dt.date(2026, 12, 1), "CASE-0002": dt.date(2026, 12, 1)}
    got = first_responses([("CASE-0001", dt.date(2026, 12, 3)), ("CASE-0002", dt.date(2026, 12, 3)),
                           ("CASE-0002", dt.date(2026, 12, 1))], opened, resolved)
    assert got == {"CASE-0002": dt.date(2026, 12, 1)}  # one on Resolved's day answers it
