"""Schedule phrases ("every 5 minutes", "every day at 08:00") and the [schedule] settings
that hold them: when `sheetcrm run` runs each job (docs/service.md).

A time of day is on the team's wall clock (the config's `timezone`, team_time.team_zone), not
the machine's: `next_at` works the next run out in that zone, so a server in UTC runs a Madrid
team's 08:00 digest at 08:00 in Madrid, in winter and in summer (zoneinfo, in a few lines).
Every other phrase is a period in seconds, which `sheetcrm run` counts on a monotonic clock."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from pydantic import field_validator

from sheetcrm.i18n import _
from sheetcrm.settings import DAY, Section, seconds

_UNITS = {"s": "seconds", "sec": "seconds", "second": "seconds", "seconds": "seconds",
          "m": "minutes", "min": "minutes", "minute": "minutes", "minutes": "minutes",
          "h": "hours", "hour": "hours", "hours": "hours",
          "d": "days", "day": "days", "days": "days",
          "w": "weeks", "week": "weeks", "weeks": "weeks"}
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "weeks": 7 * 86400}
_PHRASE = re.compile(r"every(?:\s+(\d+))?\s*([a-z]+)(?:\s+at\s+(\d{1,2}:\d{2}(?::\d{2})?))?")
# Longer is a typo, and past about 10^8 hours the next run is no date a clock can hold
# (OverflowError in the scheduler): a year is more than any job here needs.
_LONGEST = 365 * 86400
# The phrases are sheetcrm.toml's syntax (English whatever the language), quoted in messages.
EXAMPLES = '"every 30 seconds", "every 5 minutes", "every 2 hours", "every day at 08:00", "every monday at 09:30"'  # not for people: config syntax


@dataclass(frozen=True)
class Every:
    """A parsed schedule phrase."""

    interval: int
    unit: str            # seconds … weeks, or a weekday
    at: str | None = None

    @property
    def period(self) -> float:
        """Seconds between two runs: the base of a failing job's backoff."""
        return self.interval * _SECONDS.get(self.unit, _SECONDS["weeks"])

    def next_at(self, after: dt.datetime, zone: ZoneInfo | None) -> dt.datetime:
        """When a job at a time of day is next due after the aware moment `after`: `self.at` on
        the wall clock of `zone` (None: the machine's local zone), as an aware UTC moment.

        The days are those the `schedule` library gave (sheetcrm ran on it once): every day (or
        `interval` days, the first of them `interval` days from today) or every `interval` weeks, or the next such weekday. A time
        a DST change skips (02:30 on the spring-forward night) is run an hour later, at 03:30;
        one it repeats (the autumn night) only the first time. Raises ValueError without `at`."""
        if self.at is None:
            raise ValueError("next_at needs a time of day")  # not for people: a caller's bug
        hour, minute, *second = (int(x) for x in self.at.split(":"))
        at = dt.time(hour, minute, *second)
        after = after.astimezone(dt.timezone.utc)
        day = after.astimezone(zone).date()
        if self.unit in _WEEKDAYS:
            step = 7
            day += dt.timedelta(days=(_WEEKDAYS.index(self.unit) - day.weekday()) % 7)
        else:
            step = self.interval * (7 if self.unit == "weeks" else 1)
            if self.interval != 1:
                day += dt.timedelta(days=step)
        while (due := _instant(day, at, zone)) <= after:
            day += dt.timedelta(days=step)
        return due

    def last_due(self, due: dt.datetime, now: dt.datetime, zone: ZoneInfo | None) -> dt.datetime:
        """The last of this schedule's moments from `due` (one of them) up to `now`: what a run
        at `now` of a job due at `due` is for. After a suspend over several of its times (or a
        service held that long) the job runs once, for the latest, not once per time missed."""
        while (following := self.next_at(due, zone)) <= now:
            due = following
        return due

    def come_round(self, now: dt.datetime, zone: ZoneInfo | None) -> bool:
        """Whether a job at a time of day has come round on the day of the aware moment `now` (on
        the wall clock of `zone`): its weekday, and `at` passed. For `run --once` from cron,
        which starts afresh at every tick and so cannot know the phase of an interval ("every 2
        days" counts from a service's start): any other schedule at a time comes round every
        day at it. True without `at`."""
        if self.at is None:
            return True
        hour, minute, *second = (int(x) for x in self.at.split(":"))
        day = now.astimezone(zone).date()
        if self.unit in _WEEKDAYS and day.weekday() != _WEEKDAYS.index(self.unit):
            return False
        return _instant(day, dt.time(hour, minute, *second), zone) <= now


def _instant(day: dt.date, at: dt.time, zone: ZoneInfo | None) -> dt.datetime:
    """The moment (UTC) the wall clock of `zone` reads `at` on `day`. fold=0 takes the first of
    a time the autumn change repeats and, for one the spring change skips, the offset before
    it: the skipped 02:30 is the moment an hour later on the new clock (03:30)."""
    if zone is None:
        # The machine's zone has no tzinfo to ask, and a naive time's `astimezone` puts a skipped
        # time an hour *early* (02:30 became 01:30 CET on a server in Madrid without a configured
        # timezone). Both folds are read: a time the clock shows is the first of them; in a gap
        # neither reads back as `at`, and the later one is the hour after, as zoneinfo's fold=0.
        naive = dt.datetime.combine(day, at)
        first, second = sorted(naive.replace(fold=f).astimezone(dt.timezone.utc) for f in (0, 1))
        return first if first.astimezone().replace(tzinfo=None) == naive else second
    return dt.datetime.combine(day, at, tzinfo=zone).astimezone(dt.timezone.utc)


def parse_every(text: str) -> Every:
    """"every 5 minutes", "every 30s", "every day at 08:00", "every monday at 09:30"."""
    phrase = " ".join(text.lower().split())
    m = _PHRASE.fullmatch(phrase)
    if m is None:
        raise ValueError(_("cannot read {text} as a schedule; write e.g. {examples}", text=repr(text),
                           examples=EXAMPLES))
    count, word, at = m.groups()
    interval = int(count) if count else 1
    if interval < 1:
        raise ValueError(_("{text}: the interval must be at least 1", text=repr(text)))
    if at:
        # Checked whole here, for every unit: a weekday's time (25:00) or a second past 59
        # passed the check and raised from `next_at` once the service started, a traceback.
        try:
            at = dt.time(*(int(x) for x in at.split(":"))).isoformat("seconds" if at.count(":") == 2 else "minutes")
        except ValueError:
            raise ValueError(_("{text}: {at} is not a time of day", text=repr(text), at=at)) from None
    if word in _WEEKDAYS:
        if count and interval != 1:
            raise ValueError(_("{text}: a weekday runs every week; write e.g. {example}", text=repr(text),
                               example='"every monday at 09:30"'))
        return Every(1, word, at)
    unit = _UNITS.get(word)
    if unit is None:
        raise ValueError(_("cannot read {text} as a schedule: unknown unit {word}; write e.g. {examples}",
                           text=repr(text), word=repr(word), examples=EXAMPLES))
    if interval * _SECONDS[unit] > _LONGEST:
        raise ValueError(_("{text}: at most a year between two runs (every 365 days)", text=repr(text)))
    if at and unit not in ("days", "weeks"):
        raise ValueError(_('{text}: "at" only goes with days, weeks or a weekday', text=repr(text)))
    return Every(interval, unit, at)


class ScheduleSettings(Section):
    """When `sheetcrm run` runs each job: phrases like "every 5 minutes" or "every day at 08:00"."""

    sync: str = "every 5 minutes"
    # The outbox and the digest run only when [smtp] has a host (and the digest, [owners]).
    outbox: str = "every 1 minute"
    digest: str = "every day at 08:00"  # not for people: config syntax
    # The Sync Log tab is written at least this often, even by syncs with nothing else to write.
    log: str = "every 15 minutes"
    # A failing job is retried after its period, doubled per failure up to this.
    max_backoff_seconds: float = seconds(3600, 7 * DAY)

    @field_validator("sync", "outbox", "digest", "log")
    @classmethod
    def _phrase(cls, v: str) -> str:
        parse_every(v)
        return v
