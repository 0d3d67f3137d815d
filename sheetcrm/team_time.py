"""The team's clock: every "today" and "now" sheetcrm takes comes from here, in the team's time zone.

The team's zone is the config's top-level `timezone` (an IANA name, "America/New_York"), or
`[cases] timezone` when only that is set (its older place: config.Config.zone_name). Without
either, it is the machine's local zone. The sync's day, and every day sheetcrm derives from a
moment (an email's Sent At, a web form's arrival), is the wall-clock day there: a server whose
clock runs in UTC for a team in New York starts the team's next day at 19:00 or 20:00 New York
time, and a case would be called late hours before it may be (docs/cases.md).

Moments sheetcrm keeps as instants (the Outbox's Created, Sent At, Last Try and Next Try; the
journal; the web form queue; the warehouse's timestamps) stay written in UTC with their zone
("2026-12-01T03:00:00Z"): an instant means the same in every zone. Only the day cut from one
is the team's.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Protocol
from zoneinfo import ZoneInfo


class Zoned(Protocol):
    def zone_name(self) -> str | None: ...


def team_zone(config: Zoned) -> ZoneInfo | None:
    """The team's zone; None is the machine's local zone (`datetime.astimezone(None)`)."""
    name = config.zone_name()
    return ZoneInfo(name) if name else None


def now(config: Zoned) -> dt.datetime:
    """The present moment, aware, on the team's wall clock."""
    return dt.datetime.now(dt.timezone.utc).astimezone(team_zone(config))


def today(config: Zoned) -> dt.date:
    """The team's day now: the sync's default day (`--as-of` overrides it)."""
    return now(config).date()


def day_of(config: Zoned, moment: dt.datetime) -> dt.date:
    """The team's day of an aware moment (a naive one is taken as UTC, as sheetcrm writes them)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(team_zone(config)).date()


# Linux's clock that goes on while the machine sleeps; None elsewhere.
_BOOTTIME = getattr(time, "CLOCK_BOOTTIME", None)


def elapsed() -> float:
    """Seconds from an arbitrary start, for intervals: never stepped with the wall clock (a clock
    set back by NTP or by hand, a DST change on a machine in local time) and, on Linux, counting
    the time the machine slept. `time.monotonic` stands still during a suspend: after a laptop
    slept for hours, a sync due half an hour after it went to sleep was still half an hour away
    when it woke (elsewhere it is what there is: a job at a time of day reads the wall clock anyway)."""
    return time.clock_gettime(_BOOTTIME) if _BOOTTIME is not None else time.monotonic()
