"""The shared request budget: Google's per-minute quotas as token buckets, taken before each request.

Google counts Sheets API requests per minute: reads and writes separately, per project and
per user per project (`settings.BudgetSettings` has the numbers and their source). Every
Google workbook of a fleet takes one token from its kind's project bucket and one from its
user's (the account its credentials file signs in as) bucket before each HTTP attempt, retries included; when
either is empty the job waits for the token, so the fleet never sends more than the quota.

A bucket here gives each token back `window` seconds after it was spent, rather than
trickling tokens in at limit/60 per second: a trickling bucket of capacity L lets 2L requests
through in some rolling minute (a full bucket spent, then the minute's trickle), which Google
answers with 429s; this one never lets more than L through in any window, and still lets a
burst of L go at once. Reads are GETs and everything else is a write, as the Google backend
classifies them (`SheetsHTTPClient`): values.batchGet and spreadsheets.get read,
spreadsheets.batchUpdate writes. .xlsx workbooks make no requests and take no tokens.
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass, field

import requests
from requests.adapters import BaseAdapter

from sheetcrm.i18n import _
from sheetcrm.workbook import WorkbookError

from .clock import Clock
from .settings import BudgetSettings

KINDS = ("read", "write")
# POST methods Google counts as reads ("a method that retrieves data"); sheetcrm sends none
# today, but a read must never be taken for a write and spend the wrong bucket.
READ_POSTS = (":getByDataFilter", ":batchGetByDataFilter", "/developerMetadata:search")


class Stopped(WorkbookError):
    """The fleet is stopping while a job waited for request tokens."""


class TokenBucket:
    """At most `limit` tokens spent in any `window` seconds (each comes back `window` after it went)."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._spent: collections.deque[float] = collections.deque()

    def _expire(self, now: float) -> None:
        while self._spent and self._spent[0] <= now - self.window:
            self._spent.popleft()

    def ready_at(self, now: float) -> float:
        """When a token can be spent: `now` if one is left, else when the oldest comes back."""
        self._expire(now)
        return now if len(self._spent) < self.limit else self._spent[0] + self.window

    def spend(self, now: float) -> None:
        self._spent.append(now)

    def used(self, now: float) -> int:
        self._expire(now)
        return len(self._spent)


@dataclass
class Budget:
    """The fleet's buckets: one per kind for the project, one per kind per user. Thread-safe."""

    settings: BudgetSettings
    clock: Clock
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        s = self.settings
        self.project = {"read": TokenBucket(s.project_reads_per_minute, s.window_seconds),
                        "write": TokenBucket(s.project_writes_per_minute, s.window_seconds)}
        self.users: dict[str, dict[str, TokenBucket]] = {}
        self.waited = 0.0  # seconds jobs spent waiting for tokens, for the bench and the status
        self._lock = threading.Lock()

    def _user(self, user: str) -> dict[str, TokenBucket]:
        if user not in self.users:
            s = self.settings
            self.users[user] = {"read": TokenBucket(s.user_reads_per_minute, s.window_seconds),
                                "write": TokenBucket(s.user_writes_per_minute, s.window_seconds)}
        return self.users[user]

    def take(self, user: str, kind: str) -> None:
        """Spend a `kind` token of the project and of `user`, waiting until both have one.
        Raises Stopped when the fleet stops meanwhile."""
        buckets = (self.project[kind], self._user(user)[kind])
        while True:
            with self._lock:
                now = self.clock.now()
                ready = max(b.ready_at(now) for b in buckets)
                if ready <= now:
                    for b in buckets:
                        b.spend(now)
                    return
            if self.clock.wait(self.stopping, ready - now):
                raise Stopped(_("stopping: the request budget was spent, the request was not sent"))
            self.waited += ready - now

    def used(self, kind: str) -> int:
        """The project's `kind` requests in the current window."""
        with self._lock:
            return self.project[kind].used(self.clock.now())


class Gate:
    """One Google workbook's way through the budget: its user, and the times of its own
    requests (what `fleet status` shows as requests in the last minute)."""

    def __init__(self, budget: Budget, user: str) -> None:
        self.budget = budget
        self.user = user
        self._sent: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def __call__(self, kind: str) -> None:
        self.budget.take(self.user, kind)
        with self._lock:
            self._sent.append(self.budget.clock.now())

    def last_minute(self) -> int:
        now = self.budget.clock.now()
        with self._lock:
            while self._sent and self._sent[0] <= now - 60:
                self._sent.popleft()
            return len(self._sent)


class GatedAdapter(BaseAdapter):
    """A requests transport adapter that passes each request through the gate before the
    adapter it wraps sends it: requests' own extension point, so gspread, google-auth and the
    backend's retries are untouched and every attempt is counted."""

    def __init__(self, inner: BaseAdapter, gate: Gate) -> None:
        super().__init__()
        self.inner = inner
        self.gate = gate

    def send(self, request: requests.PreparedRequest, **kwargs):  # type: ignore[no-untyped-def, override]
        self.gate(kind(request.method or "", request.path_url.split("?", 1)[0]))
        return self.inner.send(request, **kwargs)

    def close(self) -> None:
        self.inner.close()


def kind(method: str, path: str) -> str:
    """"read" or "write", as Google's quotas count a request."""
    return "read" if method.upper() == "GET" or path.endswith(READ_POSTS) else "write"


def gate_session(session: requests.Session, gate: Gate) -> None:
    """Route every request of `session` (the Google backend's) through `gate`."""
    for prefix, adapter in list(session.adapters.items()):
        if not isinstance(adapter, GatedAdapter):
            session.mount(prefix, GatedAdapter(adapter, gate))
