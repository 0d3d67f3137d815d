"""Google Sheets backend: gspread over HTTP, at the request limit.

A sync costs, whatever the number of rows or tabs:

    read   1. spreadsheets.get        tab titles, sheet IDs, grid sizes and merged blocks, by key
                                      (no Drive)
           2. values.batchGet         every tab's values, UNFORMATTED, dates as serial numbers
          (2b. spreadsheets.get       only when a percent column may hold percent-formatted
                                      numbers, a money column numbers whose row names no
                                      currency, or a team's own column numbers a date, percent
                                      or time format may show: see "What cells show"; and
                                      which cells of a column marked FORMULA_KEY hold a
                                      formula)
    write  3. values.batchGet         (only when the plan writes into people's rows) the key
                                      columns and those tabs' header rows again, as FORMULA,
                                      just before writing: see "Concurrent edits" below
          (3b. spreadsheets.get       only when a guide is applied, at a tab's first write or a
                                      new version: the validation rules of its dropdown columns,
                                      so a team's own rule stays, and its header row: see
                                      "Charts and guides"; and, in the same request, the number
                                      formats of the columns whose formats change or that a
                                      people's tab had before sheetcrm first formatted them, so a
                                      person's format stays: docs/formats.md)
           4. spreadsheets.batchUpdate one atomic request: new tabs, grid growth, charts and
                                      guides not there yet, sheetcrm's tab marks, every cell
           5. values.batchGet         (only when 4 filled IDs, wrote computed cells or wrote
                                      Outbox rows) the same columns, header rows and the
                                      columns written, read back as values
           6. spreadsheets.batchUpdate (only when 5 shows a write misplaced by a concurrent
                                      insert, delete or sort) the repair: see `landing`, `keyed`
          (7. values.batchGet         only after a repair written by position (Outbox rows,
                                      computed cells): where the repair landed, and 6 and 7
                                      again while something is misplaced, at most
                                      KEYED_ROUNDS times in all)

and nothing is written when the plan is empty. Only a batch over Google's recommended 2 MB
is split into parts of at most 2 MB; each part is atomic, so a re-run converges.

Charts and guides ride along with the cells. The metadata read lists each tab's charts, its
protected ranges and sheetcrm's guide mark, so a chart is added once (by title; on sheetcrm's own
tabs its spec comes along, and a chart of sheetcrm's whose rows changed gets an updateChartSpec in
the same batch, `_fitted_spec`) and a guide is applied once per version: its dropdowns, a warning-only protection of its computed columns,
and a mark (developer metadata holding a hash of the guide) that says this version is there.
The mark, not the protection, is what is checked, because a tab may have dropdowns and nothing
computed, and because a person who removes the protection should not see it come back. A cell
holds one validation rule, so setting sheetcrm's dropdown over a team's own rule would replace
it: applying a guide first reads the rules of its dropdown columns, and puts sheetcrm's only on
the rows that hold none or sheetcrm's own (known by its help text, `DROPDOWN_TAG`). That read
is the sync's one extra request, and only when a guide is applied (a tab's first, or a new
version): a sync whose guides are in place reads nothing more. A guide is set by column
position, like the cells, so the same read carries the tab's header row: a column inserted,
deleted, moved or renamed since the sync's read (under a dropdown or a computed column, or left
of one) leaves the guide for the next sync, said in one line, as `_aim` drops the writes into
such columns. A column edit in the instant between that read and the batch is not seen. IDs of
everything added are chosen here, so a batch retried after a lost answer fails on them rather
than adding a second chart, and the IDs found afterwards prove the first attempt committed.

Cells are written with `updateCells`, whose `stringValue` Google never parses: a lead named
"=IMPORTXML(...)" or an ID like "0042" stays text. Only writes marked `formula` are formulas.
A merge's references are re-pointed by content with `findReplace`, whose replacement Google
does enter as typed: one that would not stay text ("0042") is written by position instead,
guarded by its row's ID (`_retyped`).
A row a new record is added into is shown in the same batch (`_shown_rows`), as on .xlsx.

What cells show beyond their values (`Grid.errors`, `.percent`, `.currency`, `.merges`): a formula's error
comes back in the values as its text ("#N/A"; "Loading..." for one whose outside data, an
IMPORTRANGE's or GOOGLEFINANCE's, Google has not fetched yet), and merged blocks ride along with the metadata
read. Google's values read cannot tell an error from text that reads the same ("#N/A" typed
after an apostrophe), so such text is listed in `errors` and also stays in `rows`: readers of
people's tabs go by `errors`, and a sheetcrm tab that shows "#N/A" as text reads back the
same. A percent format is invisible in unformatted values (100% reads as 1), so when a
column of percentages (its header names one: Probability, Tax Rate, Discount %, their aliases,
renames and custom percent fields; `percent_header`) holds a number from -1 to 1 other than 0,
the read asks once more, for the number format type of just those columns' rows: one more
read, and only for workbooks that keep percentages as percent-formatted numbers. Sheets that
keep them as points (50 for 50%), like sheetcrm's demo, never pay it, and neither do other
columns with small numbers (exchange rates, durations). Built without `percent_header`, the
backend asks about any column holding a fraction. A currency format is as invisible (a person
typing "€1.000" or formatting 10000 as `[$¥-411]#,##0` leaves a bare number), so the same read
also asks for the number format pattern of the money columns (`money_header`: Amount, Unit
Price, their aliases and renames, and the Quotas tab's Quota) that hold a number on a row whose Currency cell
(`currency_header`) is blank or that have no Currency column: there the format is the only
thing that names the amount's currency. An amount beside a filled Currency cell is read in
that currency without this read, so a currency format that contradicts the Currency cell is
reported on .xlsx but not on Google; sheets that fill Currency, like the demo, pay nothing.
Likewise a currency format on a number in a column that holds no money (50 shown "50,00 €"
under Discount %: an error at the cell, `table._refuse_formatted_money`) is seen on .xlsx
always, on Google only in the percent columns asked about: asking about every number column
would cost a third read on every sync of most workbooks. A team's own column on a tab of
records (`custom_header`, `record_tab`: Renewal, Margin, Call time on Accounts) is typed by
its cells, and a format changes what a number there is: 46447 formatted as a date is
2027-03-01, 0.15 formatted as a percentage 15 %, 1.5 formatted `[h]:mm` shows 36:00. The same
read asks about such a column when it holds a number with a fraction or a whole number of the
days 1950-2099 (`_shown_candidates`), and puts in the grid what .xlsx gives for such cells: a
date, a datetime, the text a time code shows (`_show_dates_and_times`), the code a zero-padded
whole number shows (`Grid.codes`: 8001 under `00000` is "08001", `_show_codes`). Whole numbers outside
those days cost nothing. When the read is made anyway, it asks about every number of the
percent columns too (a Probability of 20 formatted 0% shows 2,000 %). The formats of every cell in the metadata read (1) would spare the
request but cost every sync several times the values read (docs/formats.md).

Concurrent edits: people edit while a scheduled sync runs. Every write into a tab people own
carries the values its row had when the plan was made (its ID, or for an ID fill, the row's
first cells). Just before writing, the key columns are read again; a write whose row moved is
re-aimed at the row that now holds those values, and one whose row is gone, ambiguous or
already filled is dropped for the next sync to plan again; so is one whose column has
another header than the read saw (a column inserted, deleted or moved meanwhile). A column
edited between that re-read and the write is found in the header row read back, and the
cells the batch put into other columns are put back as they were (`landing.shifted`). A row moved between that re-read
and the write is caught by reading the columns back: an ID written over another record's is
put back by content (findReplace of the new ID in the ID column), computed cells are written
again where they belong (`landing.py`). The Outbox's writes (rows known by their ID) are
read back too: cells that landed on another row are put back as that row had them, and the
write is re-aimed at its own row while that still holds what it expects (`keyed.py`).
A merge's removed rows are copied whole into a hidden holding tab in the same batch, read
back with the rest and dropped after; a person's row a sort put where a merged row was is
put back from it (`holding.py`). docs/concurrency.md says what remains.

Sign-in failures (a revoked or malformed key, an unreachable token endpoint) surface from
google-auth inside the first request and become one `CredentialsError` line.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import dataclasses
import json
import os
import random
import secrets
import re
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import gspread
import orjson
import requests
from google.auth import exceptions as auth_errors
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient
from gspread.urls import SPREADSHEET_VALUES_BATCH_URL
from gspread.utils import absolute_range_name

from sheetcrm.cells import quoted, show_number, typed_order
from sheetcrm.i18n import N_, _, ngettext

from .numformat import format_currency, is_digits_format, is_time_format, moment_decimals, percent_depends, \
    show_digits, show_time, shown_moment, shows_percent
from . import (LOADING, SERIAL_EPOCH, CellValue, CellWrite, Chart, ColumnFormat, Grid, Guide, Plan, Snapshot,
               WorkbookConflict, WorkbookError, WorkbookUnreachable, WriteResult, blanks_to_none, dependents,
               drop_orphans, cell_key, holding, holds_target, keyed, landing, same_value, serial_number, share_text)

MAX_PAYLOAD = 2_000_000  # Google's recommended maximum for one request body
MAX_BLOCK_ROWS = 2_000   # rows per updateCells request, so no single request nears the payload limit
# Google counts every cell of every tab's grid, empty or not, against this cap ("Files you can
# store in Google Drive": up to 10 million cells for spreadsheets created in or converted to Sheets).
MAX_CELLS = 10_000_000
RETRY_STATUSES = {429, 500, 502, 503, 504}
# Every request sheetcrm makes asks for compact JSON (`SheetsHTTPClient.request`): Google
# indents its answers unless told `prettyPrint=false` (a standard query parameter of every
# Google API, default true; Google's own Python clients send it, googleapis/python-cloud-core#28).
# A 10k-lead values read is 23 MB indented, about half that compact, and a read's peak memory
# holds it twice (bytes and parser).
COMPACT = {"prettyPrint": "false"}  # not for people: query parameter
METADATA = {"includeGridData": "false",
            "fields": "properties(title,locale),sheets(merges,"
                      "properties(sheetId,title,index,hidden,gridProperties(rowCount,columnCount)),"
                      # The whole spec: a chart sheetcrm drew gets it back with its blocks
                      # moved (`_fitted_spec`), since updateChartSpec replaces all of it.
                      "charts(chartId,spec),"
                      # Which protections sheetcrm may not write through (`_protected`).
                      "protectedRanges(protectedRangeId,description,range,unprotectedRanges,warningOnly,"
                      "requestingUserCanEdit),"
                      "developerMetadata(metadataId,metadataKey,metadataValue),"
                      # A team's filter and filter views, grown over sheetcrm's columns beside
                      # them (`_grown_filters`).
                      "basicFilter,filterViews,"
                      # Column widths and sheetcrm's format marks, which sit on the columns.
                      "data.columnMetadata(pixelSize,developerMetadata(metadataId,metadataKey,metadataValue)))"}
# The number format type of the cells of some columns, with where each block starts (a range's
# first row or column is left out when it is 0).
FORMATS = ("sheets(properties.title,data(startRow,startColumn,"
           "rowData.values.effectiveFormat.numberFormat(type,pattern)))")
# Which cells of some ranges hold a formula (`FORMULA_KEY`), alone or with their formats.
FORMULAS = "sheets(properties.title,data(startRow,startColumn,rowData.values.userEnteredValue.formulaValue))"
FORMATS_AND_FORMULAS = ("sheets(properties.title,data(startRow,startColumn,rowData.values("
                        "effectiveFormat.numberFormat(type,pattern),userEnteredValue.formulaValue)))")
# A column's number formats as people set them (`_format_asks`).
ENTERED_FORMATS = "sheets(properties.title,data(startRow,rowData.values.userEnteredFormat.numberFormat.pattern))"
HEADER_ROWS = 20  # a tab's header row is looked for this far down (title rows may sit above it)
# What Google shows for a formula that failed (ErrorValue.type: N_A, REF, VALUE, DIVIDE_BY_ZERO,
# NAME, NUM, NULL_VALUE, ERROR), as its values read returns it; and for one whose data Google
# fetches from outside (IMPORTRANGE, GOOGLEFINANCE...) and has not yet (LOADING): no value either.
ERROR_TEXTS = frozenset({"#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!", "#ERROR!",
                         LOADING})
GUIDE_KEY = "sheetcrm.guide"
OWNED_KEY = "sheetcrm.tab"  # on each of sheetcrm's own tabs; the value is the title it was marked under
# On a team's tab, one per chart sheetcrm drew there (the value its chartId): a chart of the same
# title and columns there may be a person's own, so only these follow their rows (`_fitted_spec`).
CHART_KEY = "sheetcrm.chart"
# On each column sheetcrm formatted (a column location, so it moves with the column): a hash of
# the formats set, the rows they reached and a hash of the codes alone, "<hash>:<rows>:<codes>"
# (see `_format_requests`; a mark from before has no codes part).
FORMAT_KEY = "sheetcrm.format"
# On the tab of sequence marks (`Plan.counters`): the write generation of those marks, as the
# metadata's ID. A write that moves them creates the next ID in its atomic batch, and Google
# refuses an ID that exists: of two syncs made from one read, the second's batch fails whole
# (docs/concurrency.md, "Two syncs at once"). The value is the writing attempt's own token, so a
# retried batch whose answer was lost knows its own generation from another writer's.
COUNTER_KEY = "sheetcrm.counter"
# On each header column of a team's tab that a batch writes guarded cells into (a column
# location: Google moves it with its column, and deletes it with it). The batch deletes each pin
# at the column the re-read found it in and creates it again under the same ID there: when a
# person inserted, deleted or moved a column in the instant between the re-read and the batch,
# the delete matches nothing, the creation of an ID that exists is refused, and the atomic batch
# lands nothing; the tab list is read again and the write aimed again (`_pin_requests`).
PIN_KEY = "sheetcrm.column"
# On a column of a team's tab (a column location: it moves with its column) where a guarded
# write met a formula in its own cell at the key re-read. The values read shows only a formula's
# value: an ID cell whose formula shows nothing read as empty, and each sync handed its row a new
# ID the guard then dropped; a computed cell whose formula shows what sheetcrm wrote there read
# as sheetcrm's, and each sync planned its new value, dropped too. While the mark is there, the
# read asks which cells of the column are formulas (`_read_formats`, in the formats read when
# that is made anyway) and puts them in `Grid.formulas`, as .xlsx does: the cell is said and
# kept, and nothing is planned into it. A batch after a read that found none removes the mark.
FORMULA_KEY = "sheetcrm.formulas"
# Above every ID `_fresh_id` picks, so no other mark of sheetcrm's takes a generation's ID.
COUNTER_BASE = 2_000_000_000
# Earlier generations kept: a sync whose read is older than this many writes elsewhere could
# take an ID that was freed again (never seen: a sync writes seconds after it reads).
COUNTER_KEEP = 32
PIXELS_PER_CHAR = 7    # Sheets' default font (Arial 10) is about 7 pixels a character
DEFAULT_PIXELS = 100   # a column's width until someone sets one
PROTECTION = "sheetcrm: computed columns"  # not for people: how sheetcrm knows its own protections
# The help text of sheetcrm's dropdowns starts with this: how sheetcrm knows its own rules,
# and how people see whose dropdown it is.
DROPDOWN_TAG = "sheetcrm:"
DROPDOWN_HELP = N_("pick one of the listed values; another value is kept and reported on the Validation tab.")
# The validation rules of some columns' cells, with where each block starts; the same read
# carries the tabs' header rows (what a cell holds as typed: a formula as its text), so a
# column moved since the sync's read is seen before a guide is set by position.
RULES = "sheets(properties.title,data(startRow,startColumn,rowData.values(dataValidation,userEnteredValue)))"
# Both in one read, when a sync needs both (a people's tab's first guide and first formats).
RULES_AND_FORMATS = ("sheets(properties.title,data(startRow,startColumn,"
                     "rowData.values(dataValidation,userEnteredValue,userEnteredFormat.numberFormat.pattern)))")
CHART_TYPES = {"column": "COLUMN", "line": "LINE"}
DATE_FORMAT = {"type": "DATE", "pattern": "yyyy-mm-dd"}
DATETIME_FORMAT = {"type": "DATE_TIME", "pattern": "yyyy-mm-dd hh:mm"}  # not for people: a format pattern
# Read-backs after a write (of the Outbox's rows, and of repairs written by position into
# people's rows), each answered by a repair if something is misplaced; a sheet still moving
# after these is reported rather than written on blindly.
KEYED_ROUNDS = 5


@dataclass(frozen=True)
class RequestTrace:
    """One HTTP attempt, as the tracer sees it."""

    method: str
    url: str
    kind: str            # "read" or "write"
    status: int | None   # None when the connection failed
    sent: int            # request body bytes
    received: int        # response body bytes


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter, honouring Retry-After, within a bound."""

    attempts: int = 6
    base: float = 1.0
    cap: float = 32.0
    # Seconds an attempt may wait to connect, and then between bytes of the answer, before it
    # is a timeout (retried as a reset is). gspread sends with none: a connection gone silent
    # held the request for ever ([google] timeout_seconds).
    timeout: float = 190.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: str | None) -> float:
        if retry_after:
            try:
                return min(float(retry_after), self.cap)
            except ValueError:
                pass  # an HTTP-date Retry-After; fall back to our own backoff
        return self.rng.uniform(0, min(self.cap, self.base * 2 ** attempt))


class SheetsHTTPClient(HTTPClient):
    """gspread's HTTP client with retries and a tracer; gspread itself makes every request."""

    policy: RetryPolicy = RetryPolicy()
    tracer: Callable[[RequestTrace], None] | None = None
    # Set while the caller retries by itself (a write re-aims between attempts).
    single_attempt: bool = False

    def __init__(self, auth: Any, session: requests.Session | None = None) -> None:
        super().__init__(auth, session)
        # Google gzips an answer for a client that asks (a 100k-lead read: 159 MB as JSON,
        # about 14 MB gzipped), and urllib3 decodes it. requests asks by default; this keeps
        # it so for any session handed in, and adds what Google's performance guide asks
        # for as well, "gzip" in the User-Agent (developers.google.com, "Performance Tips").
        headers = self.session.headers
        if "gzip" not in str(headers.get("Accept-Encoding", "")):
            headers["Accept-Encoding"] = "gzip, deflate"  # not for people: HTTP
        agent = str(headers.get("User-Agent", ""))
        if "gzip" not in agent:
            headers["User-Agent"] = f"{agent} sheetcrm (gzip)".strip()

    def request(self, method: str, endpoint: str, params: Any = None, data: Any = None, json: Any = None,
                files: Any = None, headers: Any = None) -> requests.Response:
        kind = "read" if method.lower() == "get" else "write"
        params = _compact(params)
        if json is not None:
            # Compact, and encoded the same way `_parts` measures it, so "every part <= 2 MB"
            # holds for the bytes on the wire (requests' own encoding adds spaces and escapes).
            data, json = _json_bytes(json), None
            headers = {**(headers or {}), "Content-Type": "application/json; charset=UTF-8"}  # not for people: HTTP
        last = ""
        attempts = 1 if self.single_attempt else self.policy.attempts
        for attempt in range(attempts):
            try:
                response = self.session.request(method=method, url=endpoint, json=json, params=params, data=data,
                                                files=files, headers=headers,
                                                timeout=self.timeout if self.timeout is not None else self.policy.timeout)
            except auth_errors.RefreshError as e:
                # Asking again cannot help: the key is revoked, deleted or malformed.
                raise CredentialsError(refused(e)) from None
            except auth_errors.TransportError:
                raise CredentialsError(_(TOKEN_UNREACHABLE)) from None
            except (requests.ConnectionError, requests.Timeout) as e:
                self._trace(method, endpoint, kind, None, _body_size(getattr(e, "request", None)), 0)
                last = _("connection failed ({error})", error=type(e).__name__)
                retry_after = None
            else:
                self._trace(method, endpoint, kind, response.status_code, _body_size(response.request),
                            len(response.content))
                if response.ok:
                    return response
                if response.status_code not in RETRY_STATUSES:
                    raise APIError(response)
                last = f"HTTP {response.status_code} {_status(response)}"
                retry_after = response.headers.get("Retry-After")
            if self.single_attempt:
                raise Transient(last, retry_after)
            if attempt + 1 < attempts:
                self.policy.sleep(self.policy.delay(attempt, retry_after))
        raise exhausted(attempts, kind, last)

    def _trace(self, method: str, url: str, kind: str, status: int | None, sent: int, received: int) -> None:
        if self.tracer is not None:
            self.tracer(RequestTrace(method.upper(), url, kind, status, sent, received))


class Transient(Exception):
    """One attempt failed in a way worth retrying (429, 5xx, timeout, reset)."""

    def __init__(self, last: str, retry_after: str | None) -> None:
        super().__init__(last)
        self.last, self.retry_after = last, retry_after


# Google's answer to a write into a range protected against the caller (400 INVALID_ARGUMENT).
PROTECTED_TEXT = "You are trying to edit a protected cell or object"  # not for people: Google's text
READ_ATTEMPTS = 3  # reads of the values when tabs keep being renamed or deleted meanwhile


class _TabGone(Exception):
    """A write's request was refused because a tab it addressed was renamed or deleted since
    the tab list was read; the list has been read again, and the write is aimed again."""


class CredentialsError(WorkbookUnreachable):
    """Google would not give sheetcrm an access token: no spreadsheet can be reached."""


TOKEN_UNREACHABLE = N_("could not reach Google's sign-in service (the token endpoint) to get an access token; "
                       "check the network, proxy or firewall")


def refused(e: auth_errors.RefreshError) -> str:
    """One line for a token request Google refused, naming only its error code: the
    library's own message can carry the server's whole answer."""
    details = e.args[1] if len(e.args) > 1 else None
    code = details.get("error") if isinstance(details, dict) else None
    if not (isinstance(code, str) and re.fullmatch(r"[a-z_]{1,40}", code)):
        code = "refused"
    return _("Google refused sheetcrm's credentials ({code}): the key may be revoked, deleted or malformed, "
             "or this machine's clock is wrong; create a new key and pass it with --credentials", code=code)


# Where the emulator is, when sheetcrm talks to it instead of Google (`sheetcrm emulator`).
EMULATOR_ENV = "SHEETS_EMULATOR_HOST"


def exhausted(attempts: int, kind: str, last: str) -> WorkbookUnreachable:
    error = _exhausted(attempts, kind, last)
    if host := os.environ.get(EMULATOR_ENV):
        # Not Google's fault: say what was asked, so the emulator is what gets checked.
        return WorkbookUnreachable(_("{problem} ({variable} is set: this was the emulator at {host}, not Google; is "
                               "`sheetcrm emulator` running there?)", problem=str(error), variable=EMULATOR_ENV,
                               host=host))
    return error


def _exhausted(attempts: int, kind: str, last: str) -> WorkbookUnreachable:
    if kind == "read":
        return WorkbookUnreachable(ngettext("Google Sheets did not answer: {n} attempt of a read request failed "
                                      "(last: {last}); retries exhausted",
                                      "Google Sheets did not answer: {n} attempts of a read request all failed "
                                      "(last: {last}); retries exhausted", attempts, last=last))
    return WorkbookUnreachable(ngettext("Google Sheets did not answer: {n} attempt of a write request failed "
                                  "(last: {last}); retries exhausted",
                                  "Google Sheets did not answer: {n} attempts of a write request all failed "
                                  "(last: {last}); retries exhausted", attempts, last=last))


def _status(response: requests.Response) -> str:
    try:
        return response.json()["error"]["status"]
    except (ValueError, KeyError, TypeError):
        return response.reason or ""


def _body_size(request: Any) -> int:
    body = getattr(request, "body", None)
    return len(body) if body else 0


def _compact(params: Any) -> Any:
    """A request's query parameters with `COMPACT` added, unless the caller set them itself."""
    if params is None:
        return dict(COMPACT)
    if isinstance(params, Mapping):
        return {**COMPACT, **params}
    return [*COMPACT.items(), *params]  # (name, value) pairs, as requests also takes them


def _json_bytes(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


SPREADSHEET_URL = re.compile(r"/spreadsheets/d/([a-zA-Z0-9_-]+)")


def spreadsheet_id(target: str) -> str:
    """The ID from an ID or a full spreadsheet URL."""
    m = SPREADSHEET_URL.search(target)
    key = m.group(1) if m else target.strip()
    if not re.fullmatch(r"[a-zA-Z0-9_-]{10,}", key):
        raise WorkbookError(_("{target} is not a spreadsheet ID or URL", target=repr(target)))
    return key


_Box = tuple[int | None, int | None, int | None, int | None]


def _grid_box(grid_range: dict) -> _Box:
    """A GridRange (0-based, end-exclusive, ends may be missing) as a 1-based closed box."""
    def first(key: str) -> int | None:
        return grid_range[key] + 1 if key in grid_range else None

    return (first("startRowIndex"), grid_range.get("endRowIndex"), first("startColumnIndex"),
            grid_range.get("endColumnIndex"))


def _in_box(box: _Box, row: int, col: int) -> bool:
    top, bottom, left, right = box
    return (top or 1) <= row and (bottom is None or row <= bottom) and (left or 1) <= col and (
        right is None or col <= right)


def _box_text(tab: str, box: _Box, rows: int, cols: int) -> str:
    """A protected range as Google's "Protected sheets and ranges" pane shows it: "Leads",
    "Leads!1:1", "Leads!A:A", "Leads!A2:C9" (a tab title other than a plain word quoted)."""
    top, bottom, left, right = box
    if box == (None, None, None, None):
        return tab
    name = tab if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tab) else "'" + tab.replace("'", "''") + "'"
    if left is None and right is None:
        return f"{name}!{top or 1}:{bottom or rows}"
    first, last = _letters((left or 1) - 1), _letters((right or cols) - 1)
    if top is None and bottom is None:
        return f"{name}!{first}:{last}"
    return f"{name}!{first}{top or 1}:{last}{bottom or rows}"


@dataclass
class _Sheet:
    sheet_id: int
    rows: int
    cols: int
    charts: dict[int, str] = field(default_factory=dict)      # chartId -> title
    specs: dict[int, dict] = field(default_factory=dict)      # chartId -> ChartSpec, as read
    protected: dict[int, str] = field(default_factory=dict)   # protectedRangeId -> description
    # The protections the account may not edit through: (box, boxes excepted, description),
    # a box as (first row, last row, first column, last column), 1-based, None for an open end.
    locked: list[tuple[_Box, list[_Box], str]] = field(default_factory=list)
    marks: dict[int, str] = field(default_factory=dict)       # metadataId -> guide hash, sheetcrm's only
    owned: dict[int, str] = field(default_factory=dict)       # metadataId -> OWNED_KEY's value
    drawn: dict[int, int] = field(default_factory=dict)      # metadataId -> the chartId CHART_KEY names
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # as Grid.merges
    formats: dict[int, tuple[int, str]] = field(default_factory=dict)  # 0-based column -> (metadataId, value)
    widths: dict[int, int] = field(default_factory=dict)               # 0-based column -> pixels
    hold: holding.Hold | None = None  # a holding tab of a merge's removed rows (`holding`)
    hidden: bool = False
    counters: dict[int, str] = field(default_factory=dict)   # metadataId -> COUNTER_KEY's value
    pins: dict[int, list[int]] = field(default_factory=dict)  # 1-based column -> PIN_KEY metadataIds there
    formula_cols: dict[int, list[int]] = field(default_factory=dict)  # 1-based column -> FORMULA_KEY metadataIds
    basic_filter: dict | None = None  # the tab's BasicFilter, as read
    filter_views: list[dict] = field(default_factory=list)  # its FilterViews, as read

    def ids(self) -> set[int]:
        return {self.sheet_id, *self.charts, *self.protected, *self.marks, *self.owned, *self.counters, *self.drawn,
                *(mid for mid, _ in self.formats.values()), *(mid for mids in self.pins.values() for mid in mids),
                *(mid for mids in self.formula_cols.values() for mid in mids)}


class GoogleSheetsWorkbook:
    def __init__(self, client: gspread.Client, key: str, account: str | None = None,
                 percent_header: Callable[[str], bool] | None = None,
                 money_header: Callable[[str], bool] | None = None,
                 currency_header: Callable[[str], bool] | None = None,
                 custom_header: Callable[[str], bool] | None = None,
                 record_tab: Callable[[str], bool] | None = None,
                 date_header: Callable[[str], bool] | None = None, team_locale: str | None = None) -> None:
        self.client = client
        self.key = key
        self.account = account  # the service account's email, for the "share it with" hint
        # Whether a header names a column of percentages (the CRM's schema, given by
        # target.py); without it, any column holding a fraction is asked about.
        self.percent_header = percent_header
        # Whether a header names an amount of money whose currency its row may name, and the
        # Currency column itself: money columns are asked about only when both are given.
        self.money_header = money_header
        # Whether a header names a team's own column, typed by its cells: those holding numbers
        # a date, percent or time format would show otherwise are asked about (`_shown_candidates`).
        self.custom_header = custom_header
        self.record_tab = record_tab  # whether a tab title names a tab of records (Accounts, Leads...)
        self.currency_header = currency_header
        # Whether a header names a date column, and the team's locale ("en"/"es") as its config
        # sets it: where the spreadsheet's locale reads typed dates in the other day/month
        # order, the formats of date columns holding a date either order reads are read
        # (`_turned_candidates`).
        self.date_header = date_header
        self.team_locale = team_locale
        self._sheets: dict[str, _Sheet] = {}
        self._locale: str | None = None  # the spreadsheet's properties.locale, as the tab list read gives it
        self._snapshot: Snapshot | None = None  # the last read: what unplanned computed cells hold
        self._written_to: dict[str, _Sheet] = {}
        # Rows the next batch removes, as aimed (bottom first), with the ID column and the ID
        # each was aimed at; the holds of those rows that batch makes, and each tab's row
        # count once it has landed.
        self._deletes: list[tuple[str, int, int, CellValue]] = []
        self._holds: list[holding.Hold] = []
        self._sizes: dict[str, int] = {}
        self._restored: dict[str, int] = {}  # rows the last write put back, per tab (its own holds)
        # Each people's tab's header row as the key re-read found it: (row, cells), for the
        # read-back to see whether a column moved since; and the header cells sheetcrm wrote
        # since the last read, which the next write's re-read finds there by right.
        self._heads: dict[str, tuple[int, list[Any]]] = {}
        self._repinned: list[tuple[str, int, int]] = []  # the column pins the last batch re-created
        self._ticked: set[str] = set()  # the running write's `Plan.ticked` tabs it writes to
        self._own_heads: dict[tuple[str, int], CellValue] = {}
        self._views: set[tuple[str, int]] = set()  # the filter views the last batch grows (tab, filterViewId)
        self._warnings: list[str] = []  # the WriteResult's, while a write runs
        self._plan: Plan | None = None  # the plan the running write applies (`_gone_or_error`)
        # The sequence marks' generations as the last read saw them (tab -> metadataId -> token),
        # moved along by this object's own writes; and the running write's generation
        # (tab, metadataId, token) once its batch carries one.
        self._counted: dict[str, dict[int, str]] | None = None
        self._counter: tuple[str, int, str] | None = None
        # Outbox row writes of a write that ended before its read-back though a batch of it may
        # have landed (an answer lost, then Google gone): each with the re-read from before it
        # was sent. The next write's read-back puts back what they misplaced (`_verify`).
        self._unsettled: list[tuple[list[keyed.RowWrite], _Columns]] = []
        self._sent, self._prior = False, None  # the running write's: a batch sent yet, its first re-read
        # The columns (tab, 1-based column) marked FORMULA_KEY in which the last read found a
        # formula (None before a read), and those where the running write's re-read met one in
        # a guarded write's own cell: a batch keeps or sets the marks of these, removes the others.
        self._formulas_found: set[tuple[str, int]] | None = None
        self._formula_met: set[tuple[str, int]] = set()

    def __repr__(self) -> str:
        return f"GoogleSheetsWorkbook({self.key!r})"

    def describe(self) -> str:
        return _("Google spreadsheet {key}", key=self.key)

    def exists(self) -> bool:
        try:
            self._open()
        except WorkbookUnreachable:
            # Not "missing": Google (or the emulator) did not answer or would not sign in, and
            # `init` then said "create it in Google Sheets" of a spreadsheet that may well be there.
            raise
        except WorkbookError:
            return False
        return True

    def create(self) -> None:
        raise WorkbookError(_("{book} is not reachable; create it in Google Sheets and share it with {who}",
                              book=self.describe(), who=self.account or _("the account sheetcrm uses")))

    def read(self) -> Snapshot:
        self._open()
        # The generations of the sequence marks this read saw: a plan made from it may write
        # them only as their next generation (`_counter_requests`).
        self._counted = {title: dict(sheet.counters) for title, sheet in self._sheets.items()}
        for attempt in range(READ_ATTEMPTS):
            try:
                tabs = self._read_tabs()
                break
            except APIError as e:
                # A tab renamed or deleted since the tab list was read (a round trip or two
                # ago): Google refuses its range (400). Read the list again, and the tabs as
                # they are now.
                if e.response.status_code != 400 or attempt + 1 == READ_ATTEMPTS:
                    raise self._error(e) from None
                was = self._sheet_ids()
                self._open()
                if self._sheet_ids() == was:
                    raise self._error(e) from None
        self._own_heads = {}
        for grid in tabs.values():
            grid.locale = self._locale
        self._snapshot = Snapshot(tabs=tabs, owned={title for title, sheet in self._sheets.items() if sheet.owned},
                                  hidden={title for title in tabs if self._sheets[title].hidden}, locale=self._locale)
        return self._snapshot

    def _read_tabs(self) -> dict[str, Grid]:
        """Every tab of the tab list `_open` read, as Grids (the values, then the formats that
        `_read_formats` needs). Raises APIError."""
        # A holding tab is this backend's own business for one write, nobody's data.
        titles = [title for title, sheet in self._sheets.items() if sheet.hold is None]
        # gspread's values_batch_get, but decoded from the bytes as received (`decode`).
        response = self.client.http_client.request(
            "get", SPREADSHEET_VALUES_BATCH_URL % self.key,
            params={"ranges": [absolute_range_name(t) for t in titles], "valueRenderOption": "UNFORMATTED_VALUE",
                    "dateTimeRenderOption": "SERIAL_NUMBER", "majorDimension": "ROWS"})
        value_ranges = decode(response.content).get("valueRanges", [])
        del response  # the body, a read's largest object, is let go before the grids are built
        tabs = {}
        for title, value_range in zip(titles, value_ranges):
            tabs[title] = _grid(value_range.get("values", []), self._sheets[title].merges)
        self._read_formats(tabs)
        return tabs

    def _read_formats(self, tabs: dict[str, Grid]) -> None:
        """Mark the percent-formatted cells of the columns whose values a percent format may
        change, and the currency-formatted cells of the money columns whose currency only a
        format may name: one read of their number formats, none when there is no such column
        (see the module docstring). Raises APIError."""
        # sheetcrm's own tabs (Pipeline, Stage History) hold amounts in the base currency and
        # its percentages as fractions (Dashboard, Forecast): nothing there is a person's.
        own = {title: _shown_candidates(grid.rows, self.custom_header)
               if not self._sheets[title].owned and self.record_tab is not None and self.record_tab(title) else set()
               for title, grid in tabs.items()}
        turned = (self.date_header is not None and self.team_locale is not None
                  and typed_order(self._locale) not in (None, self.team_locale))
        dated = {title: _turned_candidates(grid.rows, self.date_header) if turned and not self._sheets[title].owned
                 else set() for title, grid in tabs.items()}
        wanted = {title: set() if self._sheets[title].owned else
                  _percent_candidates(grid.rows, self.percent_header)
                  | _money_candidates(grid.rows, self.money_header, self.currency_header) | own[title] | dated[title]
                  for title, grid in tabs.items()}
        asked = {title: {col - 1 for col in self._sheets[title].formula_cols if col - 1 < max(map(len, grid.rows))}
                 for title, grid in tabs.items()
                 if self._sheets[title].formula_cols and not self._sheets[title].owned and grid.rows}
        self._formulas_found = set()
        if not any(wanted.values()) and not any(asked.values()):
            return
        # The read is made anyway: it asks too, at no request more, about the percent columns
        # holding whole numbers (a Probability of 20 formatted 0% shows 2,000 %, out of range).
        # Not about a team's own columns of whole numbers (a code 8001 under 00000, a whole Fee
        # under `#,##0 "€"`): each of their cells would cost bytes at every such sync (a
        # 10,000-lead tab with three such columns: 11 KB read became 382 KB, on a 649 KB values read).
        for title, grid in tabs.items():
            if not self._sheets[title].owned:
                wanted[title] |= _percent_candidates(grid.rows, self.percent_header, every=True)
        ranges = [absolute_range_name(title, f"{_letters(col)}1:{_letters(col)}{len(tabs[title].rows)}")
                  for title, cols in wanted.items() for col in sorted(cols)]
        ids = [absolute_range_name(title, f"{_letters(col)}1:{_letters(col)}{len(tabs[title].rows)}")
               for title, cols in asked.items() for col in sorted(cols)]
        fields_ = FORMATS_AND_FORMULAS if ranges and ids else FORMATS if ranges else FORMULAS
        answer = self.client.http_client.fetch_sheet_metadata(self.key, params={"ranges": ranges + ids,
                                                                                "fields": fields_})
        for sheet in answer.get("sheets", []):
            grid = tabs.get(sheet.get("properties", {}).get("title"))
            if grid is None:
                continue
            title = sheet["properties"]["title"]
            for block in sheet.get("data", []):
                for r, c in _formula_cells(block):
                    if c in asked.get(title, {}):
                        grid.formulas.add((r, c))
                        self._formulas_found.add((title, c + 1))
                percent, currency, shown = _format_cells(block)
                cols = wanted[title]  # a marked column's block was asked for its formulas alone
                grid.percent |= {p for p, pattern in percent.items() if p[1] in cols
                                 and (not pattern or shows_percent(pattern, grid.cell(*p)))}
                grid.currency.update({p: v for p, v in currency.items() if p[1] in cols})
                shown = {p: v for p, v in shown.items() if p[1] in cols}
                if turned:
                    grid.date_formats.update({p: pattern for p, (kind, pattern) in shown.items()
                                              if kind != "TIME" and p[1] in dated[title] | own[title]})
                _show_dates_and_times(grid, {p: f for p, f in shown.items() if p[1] in own[title]})
                _show_codes(grid, {p: f for p, f in shown.items() if p[1] in own[title]})

    def write(self, plan: Plan) -> WriteResult:
        result = WriteResult()
        if not plan:
            return result
        policy: RetryPolicy = self.client.http_client.policy
        if not self._sheets:
            self._open()
        # Outbox rows written by any attempt (a lost answer may hide one that landed), and the
        # key columns as the first attempt found them, before anything of this plan landed.
        tried: dict[tuple, keyed.RowWrite] = {}
        plan, retyped = _retyped(plan)
        self._sent, self._prior, self._plan = False, None, plan
        self._counter = None
        try:
            result = self._attempts(plan, policy, tried)
            # Those writes are the replacements' cells: said as references moved, not as cells written.
            skipped = {w.key for w in result.skipped}
            for w in retyped:
                if w.key not in skipped:
                    result.written[w.tab] -= 1
                    result.replaced[w.tab] = result.replaced.get(w.tab, 0) + 1
            result.written = {tab: n for tab, n in result.written.items() if n}
            return result
        except BaseException:
            if tried and self._sent:
                self._unsettled.append((list(tried.values()), self._prior))
            raise

    def _attempts(self, plan: Plan, policy: RetryPolicy, tried: dict[tuple, keyed.RowWrite]) -> WriteResult:
        """`write`'s attempts; `tried` collects the Outbox row writes any attempt aimed."""
        last = ""
        result = WriteResult()
        fresh = False  # the tab list was just read again (`_TabGone`)
        for attempt in range(policy.attempts):
            if attempt and not fresh:
                # Between attempts people go on editing, and a lost answer may hide a batch
                # that landed: aim again at the sheet as it is now, never at stale positions.
                self._open()
            fresh = False
            result = WriteResult()
            self._warnings = result.warnings
            try:
                aimed, before = self._aim(plan, result)
            except _TabGone:
                fresh = True
                continue
            if self._prior is None:
                self._prior = before
            was_tried = {slot: set(group.rows) for slot, group in tried.items()}
            for slot, group in keyed.row_writes(aimed).items():
                if slot in tried:
                    tried[slot].rows |= group.rows
                else:
                    tried[slot] = group
            writes = [w for w, _ in aimed]
            try:
                requests_ = self._requests(plan, writes)
                self._sent = True
                # The holds, their copies and the deletes land in one atomic part.
                changed = self._send(requests_, keep=sum(3 + len(h.rows) for h in self._holds) + len(self._deletes))
                if self._counter is not None and self._counted is not None:
                    title, mid, token = self._counter
                    kept = {i: v for i, v in self._counted.get(title, {}).items() if i > mid - COUNTER_KEEP}
                    self._counted[title] = {**kept, mid: token}
                titles = {sheet.sheet_id: title for title, sheet in self._sheets.items()}
                result.replaced = {titles[i]: n for i, n in changed.items() if n and i in titles}
            except _TabGone:
                # Google refused the batch whole: none of this attempt's row writes landed, and
                # one the next attempt drops (a link whose deal's row is gone with its tab or
                # its columns) must not be taken for a write of this one to re-aim.
                for slot in [slot for slot in tried if slot not in was_tried]:
                    del tried[slot]
                for slot, rows_ in was_tried.items():
                    tried[slot].rows = rows_
                fresh = True  # nothing of that part landed: aim again without the tab
                continue
            except Transient as e:
                last = e.last
                if attempt + 1 < policy.attempts:
                    policy.sleep(policy.delay(attempt, e.retry_after))
                continue
            undone, rows = self._verify(plan, aimed, before, list(tried.values()), self._prior)
            for tab, n in self._restored.items():
                result.deleted[tab] -= n
                result.restored[tab] = n
            result.deleted = {tab: n for tab, n in result.deleted.items() if n}
            lost = dependents((origin for _, origin in aimed), undone)
            for w, origin in aimed:
                if origin.key in undone or origin.key in lost or origin.key in rows.missed:
                    result.skipped.append(origin)
                else:
                    result.written[w.tab] = result.written.get(w.tab, 0) + 1
            # An Outbox write dropped at this attempt's re-read because an earlier attempt had
            # landed it (its answer was lost) was written after all.
            for origin in [w for w in result.skipped if w.key in rows.landed and w.key not in rows.missed]:
                result.skipped.remove(origin)
                result.written[origin.tab] = result.written.get(origin.tab, 0) + 1
            return result
        raise exhausted(policy.attempts, "write", last)

    def _send(self, requests_: list[dict], keep: int = 0) -> dict[int, int]:
        """Send the batch in parts; returns the cells each findReplace changed, by sheet ID, as
        Google answers (a part whose answer was lost counts none)."""
        http = self.client.http_client
        http.single_attempt = True
        changed: dict[int, int] = {}
        try:
            for part in _parts(requests_, keep):
                try:
                    answer = http.batch_update(self.key, {"requests": part})
                    for request, reply in zip(part, (answer or {}).get("replies", [])):
                        if "findReplace" in request:
                            sheet_id = request["findReplace"]["range"]["sheetId"]
                            n = (reply or {}).get("findReplace", {}).get("valuesChanged", 0)
                            changed[sheet_id] = changed.get(sheet_id, 0) + n
                except APIError as e:
                    was = self._sheet_ids()  # before `_already_applied` reads the tab list again
                    if not self._already_applied(e, part):
                        raise self._gone_or_error(e, was) from None
        finally:
            http.single_attempt = False
        return changed

    # -- reading ---------------------------------------------------------------------------

    def _open(self) -> None:
        """Read the tab titles, sheet IDs and grid sizes: one request, by key (Drive is never needed)."""
        try:
            self._remember(self.client.http_client.fetch_sheet_metadata(self.key, params=METADATA))
        except APIError as e:
            raise self._error(e) from None

    def _remember(self, metadata: dict) -> None:
        self._sheets = {}
        # What Google reads typed values in (File > Settings > Locale): see `Grid.locale`.
        self._locale = metadata.get("properties", {}).get("locale")
        for sheet in metadata.get("sheets", []):
            props = sheet["properties"]
            grid = props.get("gridProperties", {})
            self._sheets[props["title"]] = _Sheet(
                props["sheetId"], grid.get("rowCount", 0), grid.get("columnCount", 0),
                charts={c["chartId"]: c.get("spec", {}).get("title", "") for c in sheet.get("charts", [])},
                specs={c["chartId"]: c.get("spec", {}) for c in sheet.get("charts", [])},
                protected={p["protectedRangeId"]: p.get("description", "") for p in sheet.get("protectedRanges", [])},
                locked=[(_grid_box(p.get("range", {})), [_grid_box(u) for u in p.get("unprotectedRanges", [])],
                         p.get("description", "")) for p in sheet.get("protectedRanges", [])
                        if p.get("requestingUserCanEdit") is False and not p.get("warningOnly")],
                marks={m["metadataId"]: m.get("metadataValue", "") for m in sheet.get("developerMetadata", [])
                       if m.get("metadataKey") == GUIDE_KEY},
                owned={m["metadataId"]: m.get("metadataValue", "") for m in sheet.get("developerMetadata", [])
                       if m.get("metadataKey") == OWNED_KEY},
                drawn={m["metadataId"]: int(m["metadataValue"]) for m in sheet.get("developerMetadata", [])
                       if m.get("metadataKey") == CHART_KEY and str(m.get("metadataValue", "")).isdigit()},
                counters={m["metadataId"]: m.get("metadataValue", "") for m in sheet.get("developerMetadata", [])
                          if m.get("metadataKey") == COUNTER_KEY},
                merges=[_block(m) for m in sheet.get("merges", [])], hidden=bool(props.get("hidden")),
                basic_filter=sheet.get("basicFilter"), filter_views=sheet.get("filterViews", []))
            intent = next((m.get("metadataValue", "") for m in sheet.get("developerMetadata", [])
                           if m.get("metadataKey") == holding.HOLD_KEY), None)
            if intent is not None:
                self._sheets[props["title"]].hold = holding.Hold.parse(props["title"], props["sheetId"], intent)
            for block in sheet.get("data", []):
                for i, column in enumerate(block.get("columnMetadata", [])):
                    col = block.get("startColumn", 0) + i
                    self._sheets[props["title"]].widths[col] = column.get("pixelSize", DEFAULT_PIXELS)
                    for m in column.get("developerMetadata", []):
                        if m.get("metadataKey") == FORMAT_KEY:
                            self._sheets[props["title"]].formats[col] = (m["metadataId"], m.get("metadataValue", ""))
                        elif m.get("metadataKey") == PIN_KEY:
                            self._sheets[props["title"]].pins.setdefault(col + 1, []).append(m["metadataId"])
                        elif m.get("metadataKey") == FORMULA_KEY:
                            self._sheets[props["title"]].formula_cols.setdefault(col + 1, []).append(m["metadataId"])

    def _error(self, e: APIError) -> WorkbookError:
        code = e.response.status_code
        if code == 403:
            who = self.account or _("the account sheetcrm uses")
            return WorkbookError(_("{book}: permission denied; share the spreadsheet with {who} (as Editor)",
                                   book=self.describe(), who=who))
        if code == 404:
            return WorkbookError(_("{book}: spreadsheet not found; check the ID or URL", book=self.describe()))
        # Google's own words stay as Google wrote them (English): only the frame is translated.
        detail = e.error.get("message", "") if isinstance(e.error, dict) else ""
        return WorkbookError(_("{book}: Google Sheets answered {code} {status}: {detail}", book=self.describe(),
                               code=code, status=_status(e.response), detail=detail))

    # -- writing ---------------------------------------------------------------------------

    def _aim(self, plan: Plan, result: WriteResult) -> tuple[list[tuple[CellWrite, CellWrite]], _Columns]:
        """Re-read the key columns of guarded writes and re-aim or drop each write.

        Returns each write to send with the plan's write it came from, and the re-read columns."""
        # A delete is aimed as a write to its key cell would be: at the row that now holds it.
        doomed = [CellWrite(d.tab, d.row, d.expect[0][0], None, expect=d.expect)
                  for d in plan.deletes if d.expect and d.tab in self._sheets]
        self._deletes = []
        self._heads = {}
        guarded = [w for w in plan.writes if w.expect and w.tab in self._sheets] + doomed
        # sheetcrm's tabs people tick in, written by position: their header row rides along
        # with the re-read (read for them alone when nothing else is guarded).
        ticked = {tab for tab in plan.ticked if tab in self._sheets and any(w.tab == tab for w in plan.writes)}
        self._ticked = ticked
        known = set(self._sheets) | set(plan.new_tabs)
        gone = [w for w in plan.writes if w.tab not in known]
        result.skipped.extend(gone)
        for tab in dict.fromkeys(w.tab for w in gone):
            n = sum(1 for w in gone if w.tab == tab)
            self._warnings.append(ngettext(
                "{tab}: the tab was renamed or deleted since sheetcrm read the spreadsheet; {n} cell meant for it "
                "was not written", "{tab}: the tab was renamed or deleted since sheetcrm read the spreadsheet; {n} "
                "cells meant for it were not written", n, tab=tab, n=n))
        if not guarded and not ticked:
            kept = drop_orphans([w for w in plan.writes if w.tab in known], result.skipped)
            return [(w, w) for w in kept], {}
        # A column beyond the grid is empty by definition, and asking Google for it is a 400.
        # An Outbox write's own cells are read too: what to put back if it lands on another row.
        wanted = {(w.tab, col) for w in guarded for col, _ in w.expect} | {(w.tab, w.col) for w in guarded
                                                                          if keyed.is_keyed(w) or w.held}
        columns = sorted((tab, col) for tab, col in wanted if col <= self._sheets[tab].cols)
        # Each tab's header row rides along (a range of the same request): a column inserted,
        # deleted or moved since the read moves the cells the plan addressed by column.
        heads = [(tab, plan.header_rows.get(tab, 1)) for tab in sorted({w.tab for w in guarded} | ticked)
                 if self._snapshot is not None and tab in self._snapshot.tabs]
        ranges = [absolute_range_name(tab, _column_range(col)) for tab, col in columns]
        ranges += [absolute_range_name(tab, f"{row}:{row}") for tab, row in heads]
        try:
            answer = ranges and self.client.http_client.values_batch_get(
                self.key, ranges, params={"valueRenderOption": "FORMULA", "dateTimeRenderOption": "SERIAL_NUMBER",
                                          "majorDimension": "COLUMNS"})
        except APIError as e:
            raise self._gone_or_error(e) from None
        now = _columns(columns, answer)
        self._heads = {tab: (row, cells) for (tab, row), cells in zip(heads, _header_rows(answer, len(columns)))}
        # A header cell this plan writes, found there already, is no change: an earlier
        # attempt whose answer was lost wrote it.
        own = {(w.tab, w.col): w.value for w in plan.writes if w.tab in self._heads and w.row == self._heads[w.tab][0]}
        moved = {tab: {col for col in landing.moved_columns(self._read_header(tab, row), cells)
                       if not ((tab, col) in own and same_value(own[(tab, col)], cells[col - 1] if col <= len(cells)
                                                                else None))}
                 for tab, (row, cells) in self._heads.items()}
        aimed: dict[tuple[str, int, int], CellWrite] = {}
        # After an attempt whose answer was lost, an ID fill of it may have landed: its row then
        # holds that ID where the plan read an empty cell, and the fill (with the computed cells
        # and history tied to it) is aimed there again, so the result says it was written.
        filled = {w.key: w.value for w in plan.writes if landing.is_fill(w)} if self._sent else None
        finder = _RowFinder(now, filled)
        self._formula_met = set()
        met: dict[str, list[tuple[int, int]]] = {}  # tab -> (row, column) of the cells
        for w in plan.writes:
            if w.tab not in known:
                continue
            if not w.expect:
                if w.tab in ticked and moved.get(w.tab):
                    # By position, a rewrite of the tab would put its cells (a Not duplicates
                    # tick) under other headers: left whole as it is, for the next sync.
                    result.skipped.append(w)
                    continue
                aimed[w.key] = w
                continue
            if moved.get(w.tab, set()) & {w.col, *(col for col, _ in w.expect)}:
                result.skipped.append(w)  # its column is not where the plan found it: the next sync plans it
                continue
            row = finder.locate(w)
            if row is None:
                result.skipped.append(w)
                if w.tab in self._sheets and not self._sheets[w.tab].owned and finder.formula_under(w):
                    self._formula_met.add((w.tab, w.col))
                    met.setdefault(w.tab, []).append((w.row, w.col))
            else:
                aimed[w.key] = w if row == w.row else dataclasses.replace(w, row=row)
        # Records added below a team's tab go into rows the batch opens for them, which only a
        # block below every other row it writes there can have. A row typed among them before
        # this re-read (or a record moved below them) splits them: written by position, a row
        # inserted above in the instant before the batch put Ana's record and the typed row where
        # two of them were aimed, and their cells replaced those rows'. Such a tab's additions
        # wait for the next sync, which adds them below everything then (docs/concurrency.md).
        split = {tab for tab, block in _added_blocks(list(aimed.values()), (), plan.header_rows).items()
                 if block is None}
        for w in plan.writes:
            if w.tab in split and w.key in aimed and _adds_a_row(aimed[w.key]) and len(w.expect) > 1:
                del aimed[w.key]
                result.skipped.append(w)
        kept = {w.key for w in drop_orphans([w for w in plan.writes if w.key in aimed], result.skipped)}
        for tab, at in sorted(met.items()):
            cells = ", ".join(f"{_letters(col - 1)}{row}" for row, col in sorted(at, key=lambda p: (p[1], p[0])))
            self._warnings.append(ngettext(
                "{tab}: the cell {cells} holds a formula where sheetcrm was to write, and sheetcrm never writes "
                "over a formula: it is kept, and from the next sync on read as a formula",
                "{tab}: the cells {cells} hold formulas where sheetcrm was to write, and sheetcrm never writes "
                "over a formula: they are kept, and from the next sync on read as formulas",
                len(at), tab=tab, cells=cells))
        for tab in sorted(moved):
            if tab in ticked and moved[tab]:
                self._warnings.append(_(
                    "{tab}: a column was inserted, deleted, moved or renamed since sheetcrm read the sheet; the tab "
                    "was left as it is, so that no tick lands under another header, and the next sync writes it",
                    tab=tab))
                continue
            n = sum(1 for w in plan.writes if w.tab == tab and w.key not in kept and w.expect
                    and moved[tab] & {w.col, *(col for col, _ in w.expect)})
            if n:
                self._warnings.append(ngettext(
                    "{tab}: a column was inserted, deleted, moved or renamed since sheetcrm read the sheet; {n} cell "
                    "in the columns it moved was left alone, and the next sync writes it",
                    "{tab}: a column was inserted, deleted, moved or renamed since sheetcrm read the sheet; {n} cells "
                    "in the columns it moved were left alone, and the next sync writes them", n, tab=tab, n=n))
        rows = {(d.tab, row): (d.col, d.expect[0][1]) for d in doomed
                if not moved.get(d.tab, set()) & {col for col, _ in d.expect} and (row := finder.locate(d)) is not None}
        self._deletes = sorted(((tab, row, *key) for (tab, row), key in rows.items()), key=lambda d: -d[1])
        for tab, *_rest in self._deletes:
            result.deleted[tab] = result.deleted.get(tab, 0) + 1
        return [(aimed[w.key], w) for w in plan.writes if w.key in kept], now

    def _requests(self, plan: Plan, writes: list[CellWrite]) -> list[dict]:
        out: list[dict] = []
        used = {i for s in self._sheets.values() for i in s.ids()}
        need: dict[str, tuple[int, int]] = {}
        for w in writes:
            rows, cols = need.get(w.tab, (0, 0))
            need[w.tab] = (max(rows, w.row), max(cols, w.col))
        # The charts to add: a block without rows has nothing to draw (a later sync adds the
        # chart once it has). Each one's anchor cell inside its tab's grid: new tabs have no
        # spare columns.
        adding = [c for c in plan.charts if c.last_row >= c.first_row and (
            c.title not in self._sheets[c.tab].charts.values() if c.tab in self._sheets else c.tab in plan.new_tabs)]
        for chart in adding:
            rows, cols = need.get(chart.tab, (1, 1))
            need[chart.tab] = (rows, max(cols, chart.anchor_col))
        sheets = dict(self._sheets)
        for title in plan.new_tabs:
            if title in sheets:
                continue
            sheet_id = _fresh_id(used)
            rows, cols = need.get(title, (1, 1))
            # Rows to type into below, but no empty columns: Google counts every cell of a
            # grid against its 10M-cell cap, and a 4-column history tab of 200k rows padded to
            # 10 columns would spend 1.2M of them on nothing.
            rows = max(rows, 100)
            sheets[title] = _Sheet(sheet_id, rows, cols)
            out.append({"addSheet": {"properties": {
                "sheetId": sheet_id, "title": title,
                "gridProperties": {"rowCount": rows, "columnCount": cols, "frozenRowCount": 1},
                **({"hidden": True} if title in plan.hide else {})}}})
            out.append({"repeatCell": {
                "range": {"sheetId": sheet_id, "startRowIndex": 0, "endRowIndex": 1},
                "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
                "fields": "userEnteredFormat.textFormat.bold"}})
        # Right after the tabs it may need, so it lands in the batch's first (atomic) part.
        out.extend(self._counter_requests(plan, sheets))
        out.extend(self._pin_requests(writes, used))
        out.extend(self._formula_requests(used))
        opened = _room_for_added_rows({t: s.sheet_id for t, s in self._sheets.items()}, writes,
                                      [(tab, row) for tab, row, *_rest in self._deletes], plan.header_rows)
        if not self._sent:
            opened.extend(_room_for_appended_rows(plan, sheets, writes))
        # The rows opened grow the grid themselves: the grid is first grown only to what the
        # writes need beyond them. Grown to the writes' last row and then opened, a tab took
        # those rows twice, empty ones left below, and a sync near Google's cap was refused
        # for cells it did not need.
        inserted: dict[str, int] = {}
        for title, request in opened:
            rng = request["insertDimension"]["range"]
            inserted[title] = inserted.get(title, 0) + rng["endIndex"] - rng["startIndex"]
        for title, (rows, cols) in need.items():
            sheet = sheets[title]
            rows -= inserted.get(title, 0)
            if title in self._sheets and (rows > sheet.rows or cols > sheet.cols):
                # Absolute sizes, not appendDimension: a retried batch must not grow the grid twice.
                out.append({"updateSheetProperties": {
                    "properties": {"sheetId": sheet.sheet_id,
                                   "gridProperties": {"rowCount": max(rows, sheet.rows),
                                                      "columnCount": max(cols, sheet.cols)}},
                    "fields": "gridProperties.rowCount,gridProperties.columnCount"}})
            if title in inserted:
                sheets[title] = dataclasses.replace(sheet, rows=max(rows, sheet.rows))
        # Before every request below that addresses rows (dropdowns, formats, filters, cells):
        # each then sees the grid as it is once the rows are opened, which grows it.
        for title, request in opened:
            rng = request["insertDimension"]["range"]
            grown = sheets[title].rows + rng["endIndex"] - rng["startIndex"]
            sheets[title] = dataclasses.replace(sheets[title], rows=grown)
            out.append(request)
        for title in dict.fromkeys(plan.hide):
            sheet = sheets.get(title)
            if sheet is not None and title in self._sheets and not sheet.hidden:
                out.append({"updateSheetProperties": {"properties": {"sheetId": sheet.sheet_id, "hidden": True},
                                                      "fields": "hidden"}})
        for title in dict.fromkeys(plan.mark_owned):
            sheet = sheets.get(title)
            if sheet is not None and not sheet.owned:
                out.append(_sheet_mark(_fresh_id(used), OWNED_KEY, title, sheet.sheet_id))
        for chart in adding:
            sheet, chart_id = sheets[chart.tab], _fresh_id(used)
            out.append(_add_chart(chart, sheet.sheet_id, chart_id))
            if not sheet.owned and chart.tab not in plan.mark_owned:  # a team's tab: say which chart is ours
                out.append(_sheet_mark(_fresh_id(used), CHART_KEY, str(chart_id), sheet.sheet_id))
        # A chart drawn before follows its rows (fewer months, more stages, a campaign added):
        # left on the rows it was first drawn over, it shows another block's figures or leaves
        # rows out. On a team's tab, only the charts sheetcrm drew there (CHART_KEY).
        for chart in plan.charts:
            sheet = self._sheets.get(chart.tab)
            if sheet is None or chart.last_row < chart.first_row:
                continue
            for chart_id, spec in sheet.specs.items():
                if not sheet.owned and chart_id not in sheet.drawn.values():
                    continue
                if sheet.charts.get(chart_id) == chart.title and (fitted := _fitted_spec(spec, chart, sheet.sheet_id)):
                    out.append({"updateChartSpec": {"chartId": chart_id, "spec": fitted}})
        applying = [g for g in plan.guides if g.tab in sheets and _version(g) not in sheets[g.tab].marks.values()]
        theirs, heads, current = self._team_rules(applying, plan, self._format_asks(plan))
        for guide in applying:
            if self._guide_moved(guide, plan, heads):
                continue
            out.extend(_apply_guide(guide, sheets[guide.tab], used, theirs.get(guide.tab, {})))
        shown = _first_formats(plan, writes, self._snapshot)
        for title, block in _blocks(writes, shown):
            out.append(_update_cells(sheets[title].sheet_id, block, shown))
        # After the cells and the grid's growth it covers.
        out.extend(self._grown_filters(plan, writes))
        out.extend(_shown_rows({title: s.sheet_id for title, s in self._sheets.items()}, writes))
        for fmt in plan.formats:
            sheet = sheets.get(fmt.tab)
            if sheet is not None:
                rows = max(need.get(fmt.tab, (0, 0))[0], sheet.rows, 100 if fmt.tab not in self._sheets else 0)
                out.extend(_format_requests(fmt, sheet, rows, used, self._kept_current(fmt, current),
                                            plan.own_formats))
        for rep in plan.replacements:
            sheet = sheets.get(rep.tab)
            if sheet is not None:
                # By what the cell holds, not where it is: a sort meanwhile cannot misplace it.
                out.append({"findReplace": {
                    "find": rep.find, "replacement": rep.replace, "matchCase": True, "matchEntireCell": True,
                    "searchByRegex": False, "includeFormulas": False,
                    "range": {"sheetId": sheet.sheet_id, "startRowIndex": 1,
                              "startColumnIndex": rep.col - 1, "endColumnIndex": rep.col}}})
        # Each row to go is first copied whole into a hidden holding tab, so a row a sort put
        # there in the instant since the re-read can be put back (`holding`).
        self._holds, self._sizes = [], {}
        for tab in dict.fromkeys(tab for tab, *_rest in self._deletes):
            mine = sorted((row, col, value) for t, row, col, value in self._deletes if t == tab)
            sheet_id = _fresh_id(used)
            hold = holding.Hold(tab, f"{holding.PREFIX}{sheet_id}", sheet_id, mine[0][1], sheets[tab].cols,
                                tuple((row, value) for row, _col, value in mine), time.time_ns())
            out.extend(holding.open_requests(hold, OWNED_KEY, (_fresh_id(used), _fresh_id(used))))
            out.extend(holding.copy_requests(hold, sheets[tab].sheet_id))
            self._holds.append(hold)
            self._sizes[tab] = max(sheets[tab].rows, need.get(tab, (0, 0))[0]) - len(mine)
        for tab, row, *_key in self._deletes:
            # Last, bottom row first: every request above is addressed by the rows as re-read.
            out.append({"deleteDimension": {"range": {"sheetId": sheets[tab].sheet_id, "dimension": "ROWS",
                                                      "startIndex": row - 1, "endIndex": row}}})
        self._check_cells(sheets, need)
        self._written_to = sheets  # with the tabs this batch adds, for a repair that follows it
        return out

    def _grown_filters(self, plan: Plan, writes: list[CellWrite]) -> list[dict]:
        """A setBasicFilter for each tab whose filter (Data > Create a filter) this write grows,
        and an updateFilterView for each filter view it grows, as .xlsx grows a sheet's
        AutoFilter (`xlsx_patch.grow_filter`): over the rows it fills just below the filter and
        sheetcrm's columns it heads, or headed before, just right of it, never over a team's
        column. Sorting through a filter's buttons sorts its range alone: outside it,
        Probability % and Weighted Amount would stay put while the team's cells moved, each row
        showing another deal's figures with nothing to say so. A filter's criteria, filterSpecs
        and sortSpecs name sheet columns and stay as they are."""
        out = []
        self._views = set()
        planned = {(w.tab, w.row, w.col) for w in plan.writes}
        for title in dict.fromkeys(w.tab for w in writes):
            sheet = self._sheets.get(title)
            grid = self._snapshot.tabs.get(title) if self._snapshot is not None else None
            if sheet is None or grid is None or not (sheet.basic_filter or sheet.filter_views):
                continue
            mine = [w for w in writes if w.tab == title]
            if any((w.tab, w.row, w.col) not in planned for w in mine):
                continue  # rows moved since the read, and the filters with them: the next sync grows them
            cells = {(w.row, w.col): w.value for w in mine}
            ours = {f.col for f in plan.formats if f.tab == title}
            flt = sheet.basic_filter
            if flt and not flt.get("tableId") and (grown := _grown_range(flt.get("range") or {}, grid, cells, ours)):
                out.append({"setBasicFilter": {"filter": {**copy.deepcopy(flt),
                                                          "range": {**grown, "sheetId": sheet.sheet_id}}}})
            for view in sheet.filter_views:
                if "filterViewId" in view and not view.get("tableId") and not view.get("namedRangeId") \
                        and (grown := _grown_range(view.get("range") or {}, grid, cells, ours)):
                    self._views.add((title, view["filterViewId"]))
                    out.append({"updateFilterView": {"filter": {"filterViewId": view["filterViewId"],
                                                                "range": {**grown, "sheetId": sheet.sheet_id}},
                                                     "fields": "range"}})
        return out

    def _team_rules(self, guides: list[Guide], plan: Plan, formats: list[tuple[str, int]] = ()
                    ) -> tuple[dict[str, dict[int, list[tuple[int, int]]]], dict[str, list[Any]],
                               dict[tuple[str, int], list[str | None]]]:
        """The rows of each guide's dropdown columns that hold a validation rule of the team's
        (any rule `_own_rule` does not recognise), as {tab: {column: [(first, end)]}}, 0-based
        rows, end exclusive; the header row of each of those tabs (`Plan.header_rows`) as
        it is now, {tab: cells}; and the number format pattern of each cell of the `formats`
        columns ((tab, 0-based column), `_format_asks`), {(tab, column): [pattern or None from
        row 1 down]}. One read of just those columns and rows, only when a guide is to be
        applied (a new version) to a tab with a dropdown column inside its grid or a column's
        formats are asked about: nothing is read for tabs this batch adds, nor at a sync whose
        guides and formats are in place. Within one tab the answer's blocks come in the order
        of the ranges asked."""
        asked: dict[str, list[int]] = {}
        for guide in guides:
            sheet = self._sheets.get(guide.tab)
            if sheet is None or sheet.rows < 2:
                continue
            cols = [col for col, _ in guide.dropdowns if col <= sheet.cols]
            if cols:
                asked.setdefault(guide.tab, []).extend(c for c in cols if c not in asked.get(guide.tab, []))
        patterns: dict[str, list[int]] = {}
        for tab, col in formats:
            patterns.setdefault(tab, []).append(col)
        if not asked and not patterns:
            return {}, {}, {}
        ranges = []
        for tab in dict.fromkeys([*asked, *patterns]):  # a tab's ranges together, rules first
            if tab in asked:
                row = plan.header_rows.get(tab, 1)
                ranges.append(absolute_range_name(tab, f"{row}:{row}"))
                ranges.extend(absolute_range_name(tab, f"{_letters(col - 1)}2:{_letters(col - 1)}"
                                                       f"{self._sheets[tab].rows}") for col in asked[tab])
            ranges.extend(absolute_range_name(tab, f"{_letters(col)}1:{_letters(col)}{self._sheets[tab].rows}")
                          for col in patterns.get(tab, []))
        fields = RULES if not patterns else ENTERED_FORMATS if not asked else RULES_AND_FORMATS
        try:
            answer = self.client.http_client.fetch_sheet_metadata(self.key, params={"ranges": ranges,
                                                                                    "fields": fields})
        except APIError as e:
            raise self._gone_or_error(e) from None
        out: dict[str, dict[int, list[tuple[int, int]]]] = {}
        heads: dict[str, list[Any]] = {}
        current: dict[tuple[str, int], list[str | None]] = {}
        for found in answer.get("sheets", []):
            title = found.get("properties", {}).get("title")
            sheet = self._sheets.get(title)
            if sheet is None or title not in asked and title not in patterns:
                continue
            data = found.get("data", []) or [{}]
            ruled = 1 + len(asked[title]) if title in asked else 0
            for col, block in zip(patterns.get(title, []), data[ruled:]):
                cells: list[str | None] = [None] * block.get("startRow", 0)
                for row in block.get("rowData", []):
                    cell = next(iter(row.get("values", [])), {})
                    cells.append(cell.get("userEnteredFormat", {}).get("numberFormat", {}).get("pattern"))
                current[(title, col)] = cells
            if title not in asked:
                continue
            head, *blocks = data[:ruled]
            heads[title] = [_entered(cell) for cell in next(iter(head.get("rowData", [])), {}).get("values", [])]
            for col, block in zip(asked[title], blocks):
                first = block.get("startRow", 0)
                spans = out.setdefault(title, {}).setdefault(col, [])
                for i, row in enumerate(block.get("rowData", [])):
                    rule = next(iter(row.get("values", [])), {}).get("dataValidation")
                    if rule and not _own_rule(rule, legacy=bool(sheet.marks)):
                        r = first + i
                        if spans and spans[-1][1] == r:
                            spans[-1] = (spans[-1][0], r + 1)
                        else:
                            spans.append((r, r + 1))
        return out, heads, current

    def _format_asks(self, plan: Plan) -> list[tuple[str, int]]:
        """(tab, 0-based column) of the columns whose cells' number formats this plan must know
        (read with the rules, `_team_rules`), so a format a person gave a cell stays
        (`_format_requests` skips those): the columns sheetcrm formatted before whose formats
        this plan changes (its mark says others: a base currency or language changed, a
        Dashboard row's kind), and the columns of people's tabs sheetcrm formats for the first
        time that were there before this sync. None at a sync whose formats are in place."""
        asked: list[tuple[str, int]] = []
        for fmt in plan.formats:
            sheet = self._sheets.get(fmt.tab)
            mark = sheet.formats.get(fmt.col - 1) if sheet is not None else None
            if sheet is None or not fmt.rows or sheet.rows < 2:
                continue
            if mark is None:
                # Never formatted by sheetcrm, yet there before this sync on a people's tab (a
                # workbook brought from Excel, a column the team headed and formatted, one from
                # before marks): what a person formatted there keeps its format, as on .xlsx.
                # Read once: the mark follows in this batch. A column this sync adds is empty.
                if not sheet.owned and self._column_read(fmt.tab, fmt.col - 1):
                    asked.append((fmt.tab, fmt.col - 1))
                continue
            codes = _mark(mark[1])[2]
            # Other codes (not the same codes on other rows: a Dashboard row whose kind changed,
            # set again over the column as before, no read); a mark from before says none.
            if codes and codes != _codes(fmt):
                asked.append((fmt.tab, fmt.col - 1))
        return asked

    def _kept_current(self, fmt: ColumnFormat, current: dict) -> list[str | None] | None:
        """The column's formats as read (`_format_asks`); for a log's kept column
        (`ColumnFormat.kept`), a cell the sync's read found empty counts as unformatted: the
        open-ended format of an older config covers the empty rows below a log too, and a row
        this sync writes there is a figure of today's currency, not of that config's."""
        have = current.get((fmt.tab, fmt.col - 1))
        grid = self._snapshot.tabs.get(fmt.tab) if self._snapshot is not None else None
        if have is None or not fmt.kept or grid is None:
            return have
        col = fmt.col - 1
        return [code if r < len(grid.rows) and col < len(grid.rows[r]) and grid.rows[r][col] not in (None, "")
                else None for r, code in enumerate(have)]

    def _column_read(self, tab: str, col: int) -> bool:
        """Whether the sync's read of `tab` holds a cell (its header too) in 0-based column `col`."""
        grid = self._snapshot.tabs.get(tab) if self._snapshot is not None else None
        return grid is not None and any(col < len(row) and row[col] is not None for row in grid.rows)

    def _guide_moved(self, guide: Guide, plan: Plan, heads: dict[str, list[Any]]) -> bool:
        """Whether a column the guide addresses (a dropdown's, a computed one) has another
        header now than the sync's read saw there: a column inserted, deleted, moved or renamed
        meanwhile, which moves every column right of it. The guide is set by position, like the
        cells, so it is then left for the next sync to set (said in one line), as the writes
        into those columns are (`_aim`). "Now" is the header row read with the rules under the
        dropdowns, else the key re-read's; a tab with neither, or not in the sync's read, is
        not checked (nothing was read to check it by)."""
        row = plan.header_rows.get(guide.tab, 1)
        if guide.tab in heads:
            now = heads[guide.tab]
        elif guide.tab in self._heads:
            row, now = self._heads[guide.tab]
        else:
            return False
        if self._snapshot is None or guide.tab not in self._snapshot.tabs:
            return False
        # A header cell this plan writes (a computed column sheetcrm adds), found there already,
        # is no change: an earlier attempt whose answer was lost wrote it.
        own = {w.col: w.value for w in plan.writes if w.tab == guide.tab and w.row == row}
        moved = {col for col in landing.moved_columns(self._read_header(guide.tab, row), now)
                 if not (col in own and same_value(own[col], now[col - 1] if col <= len(now) else None))}
        if not moved & {*(col for col, _ in guide.dropdowns), *guide.computed_cols}:
            return False
        self._warnings.append(_(
            "{tab}: a column was inserted, deleted, moved or renamed since sheetcrm read the sheet; its dropdowns "
            "and the marks on its computed columns were left as they were, and the next sync sets them",
            tab=guide.tab))
        return True

    def _check_cells(self, sheets: dict[str, _Sheet], need: dict[str, tuple[int, int]]) -> None:
        """Raise WorkbookError, before anything is sent, when the batch would take the
        spreadsheet past Google's cap (MAX_CELLS): Google refuses the whole batch then, so the
        sync could never write again until someone makes room. The message names what grows,
        the most first, so the team knows what the room is for."""
        def size(title: str, sheet: _Sheet) -> int:
            rows, cols = need.get(title, (0, 0))
            return max(rows, sheet.rows) * max(cols, sheet.cols)

        now = sum(sheet.rows * sheet.cols for sheet in self._sheets.values())
        after = {title: size(title, sheet) for title, sheet in sheets.items()}
        for hold in self._holds:  # a merge's hidden holding tab, until the removed rows go
            after[hold.title] = max(row for row, _ in hold.rows) * hold.width
        total = sum(after.values())
        if total <= MAX_CELLS:
            return
        before = {title: sheet.rows * sheet.cols for title, sheet in self._sheets.items()}
        grows = sorted(((cells - before.get(title, 0), title) for title, cells in after.items()
                        if cells > before.get(title, 0)), key=lambda g: (-g[0], g[1]))
        shown = ", ".join(_("{tab} +{cells}", tab=title, cells=show_number(cells)) for cells, title in grows[:3])
        if len(grows) > 3:
            shown += ", " + ngettext("{n} more tab", "{n} more tabs", len(grows) - 3, n=len(grows) - 3)
        raise WorkbookError(_(
            "{book}: this sync needs {needed} more cells ({tabs}), but Google allows {limit} cells in a "
            "spreadsheet and it has {now}; nothing was written. Delete empty rows and columns, or move "
            "old rows to another spreadsheet, then sync again.",
            book=self.describe(), needed=show_number(total - now), tabs=shown, limit=show_number(MAX_CELLS),
            now=show_number(now)))

    def _verify(self, plan: Plan, aimed: list[tuple[CellWrite, CellWrite]], before: _Columns,
                tried: list[keyed.RowWrite], prior: _Columns) -> tuple[set, keyed.Check]:
        """Read back where ID fills, computed cells and Outbox rows landed (one
        values.batchGet, only when the write held some), and repair what a concurrent insert,
        delete, sort or restored copy misplaced (one more batchUpdate, only then; Outbox
        repairs are read back in turn). Returns the plan keys of ID fills taken back, and
        what became of the Outbox rows written (`tried`, by any attempt; `prior`, the first
        attempt's re-read)."""
        wanted = landing.columns_to_check([origin for _, origin in aimed])
        # An earlier write's Outbox rows that may have landed unseen are read back with these
        # (they stay unsettled if this write fails before its read-back, as they were).
        late = [(groups, was) for groups, was in self._unsettled if groups[0].tab in self._sheets]
        for groups in [tried, *(groups for groups, _was in late)]:
            for tab, cols in keyed.columns_to_check(groups).items():
                wanted.setdefault(tab, set()).update(cols)
        # This batch's holds, and any an earlier attempt or write left (its answer lost, or
        # Google gone before the check): all read back with the rest, none alone.
        holds = [s.hold for s in self._sheets.values() if s.hold is not None] + self._holds
        self._restored = {}
        read = self._read_back(aimed, wanted, holds, {t: h for t, (h, _cells) in self._heads.items() if t in wanted})
        if read is None:
            return set(), keyed.Check()  # a hold stays, whole, for the next write to check
        after, heads = read
        # A tab whose columns moved in the window: its cells are judged by column first, and
        # rows are not compared there (`landing.shifted`).
        shifts = {}
        for tab, cells in heads.items():
            row, was = self._heads[tab]
            shift = landing.shifted(tab, row, [p for p in aimed if p[0].tab == tab], was, cells, before, after,
                                    self._snapshot)
            if shift is not None:
                shifts[tab] = shift
        kept = [p for p in aimed if p[0].tab not in shifts]
        self._unsettled = []
        if wanted:
            found = landing.inspect(plan, kept, before, after, self._snapshot)
            rows = keyed.check([g for g in tried if g.tab not in shifts], prior, after, self._snapshot)
            for groups, was in late:
                rows.repairs += keyed.check([g for g in groups if g.tab not in shifts], was, after, self._snapshot,
                                            late=True).repairs
        else:
            found, rows = landing.Landing(), keyed.Check()
        moved = {key for shift in shifts.values() for key in shift.undone}
        for shift in shifts.values():
            found.cells.extend(shift.restores)
            self._warn_shift(shift)
        found.undone |= moved
        lost = dependents((origin for _, origin in aimed), moved)  # down a chain, as `drop_orphans`
        for w, origin in aimed:
            if origin.key in lost:
                found.cells.append(CellWrite(w.tab, w.row, w.col, None))  # history of an ID that did not land
        for w, origin in aimed:
            if w.tab in self._heads and w.row == self._heads[w.tab][0] and origin.key not in found.undone:
                self._own_heads[(w.tab, w.col)] = w.value
        wrong = {h.title: holding.misplaced(h, after.get((h.title, h.col), [])) for h in holds}
        for hold in self._holds:
            if wrong[hold.title]:
                self._restored[hold.tab] = self._restored.get(hold.tab, 0) + len(wrong[hold.title])
        sizes = {tab: self._sizes.get(tab, sheet.rows) for tab, sheet in self._sheets.items()}
        fixes = holding.restore_requests(holds, wrong, {t: s.sheet_id for t, s in self._sheets.items()}, sizes)
        if found or rows.repairs or fixes:
            self._repair(found, rows.repairs, fixes)
        # Repairs written by position are read back in turn (a row moved again between the
        # read-back and the repair puts them on other rows): the Outbox's rows, and the
        # computed cells and IDs put back into people's rows. A repair by content (findReplace)
        # cannot land elsewhere and needs no look.
        checked = set(landing.columns_to_check([origin for _, origin in kept]))
        lost = dependents((origin for _, origin in aimed), found.undone)
        cleared = {(w.tab, w.row, w.col) for w, origin in aimed if origin.key in lost}
        pending, rounds, settled = rows.repairs, 1, dict(rows.settled)
        moving = _by_position(found, checked)
        while pending or moving:
            if rounds == KEYED_ROUNDS:
                if pending:
                    rows_named = ", ".join(sorted({str(g.key or _("with no ID")) for g in pending}))
                    raise WorkbookError(_("{book}: the Outbox kept moving while sheetcrm wrote to it (sorted or "
                                          "restored {rounds} times in a row); check rows {rows}", book=self.describe(),
                                          rounds=rounds, rows=rows_named))
                for tab in sorted({w.tab for w in moving}):
                    self._warnings.append(_(
                        "{tab}: rows kept moving while sheetcrm wrote (sorted, inserted or deleted {rounds} times in a "
                        "row); some computed values may sit on another record's row until the next sync rewrites them",
                        tab=tab, rounds=rounds))
                break
            wanted = keyed.columns_to_check(pending)
            if moving:
                for tab, cols in landing.columns_to_check([origin for _, origin in kept]).items():
                    wanted.setdefault(tab, set()).update(cols)
            read = self._read_back(aimed, wanted)
            if read is None:
                break
            now = read[0]
            # Judged against the state before anything of ours was sent, not the last read-back,
            # which may show cells an earlier round misplaced and is putting right.
            again = keyed.check(pending, prior, now, self._snapshot, settled) if pending else keyed.Check()
            rows.missed |= again.missed
            for slot, cells in again.settled.items():
                settled.setdefault(slot, {}).update(cells)
            more = landing.inspect(plan, kept, before, now, self._snapshot) if moving else landing.Landing()
            more.cells = [c for c in more.cells if c.key not in cleared]  # history already cleared
            lost = dependents((origin for _, origin in aimed), more.undone)
            cleared |= {(w.tab, w.row, w.col) for w, origin in aimed if origin.key in lost}
            found.undone |= more.undone
            if again.repairs or more:
                self._repair(more, again.repairs)
            pending, moving, rounds = again.repairs, _by_position(more, checked), rounds + 1
        return found.undone, rows

    def _read_back(self, aimed: list[tuple[CellWrite, CellWrite]], wanted: dict[str, set[int]],
                   holds: Iterable[holding.Hold] = (), heads: Mapping[str, int] | None = None,
                   ) -> tuple[_Columns, dict[str, list[Any]]] | None:
        """`wanted` columns, the holding tabs' ID columns and the header rows `heads` (tab ->
        row) as values (one values.batchGet): the columns, and each header row's cells;
        None when there are none, or a tab was deleted meanwhile (nothing of it is left to
        check)."""
        widest: dict[str, int] = {}
        for w, _origin in aimed:
            widest[w.tab] = max(widest.get(w.tab, 0), w.col)
        columns = sorted((tab, col) for tab, cols in wanted.items() if tab in self._sheets
                         for col in cols if col <= max(self._sheets[tab].cols, widest.get(tab, 0)))
        columns += [(h.title, h.col) for h in holds]
        if not columns:
            return None
        rows = [(tab, row) for tab, row in (heads or {}).items() if tab in self._sheets]
        try:
            answer = self.client.http_client.values_batch_get(
                self.key, [absolute_range_name(tab, _column_range(col)) for tab, col in columns]
                + [absolute_range_name(tab, f"{row}:{row}") for tab, row in rows],
                # Values as the sync's own read sees them, which the computed cells are
                # compared with (and a read-back is told apart from a re-read by it).
                params={"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL_NUMBER",
                        "majorDimension": "COLUMNS"})
        except APIError:
            return None
        return _columns(columns, answer), {tab: cells for (tab, _row), cells in
                                           zip(rows, _header_rows(answer, len(columns)))}

    def _read_header(self, tab: str, row: int) -> list[Any]:
        """Tab `tab`'s header row (1-based `row`) as the sync's read saw it, with the header
        cells sheetcrm wrote since."""
        grid = self._snapshot.tabs.get(tab) if self._snapshot is not None else None
        cells = list(grid.rows[row - 1]) if grid is not None and row - 1 < len(grid.rows) else []
        for (title, col), value in self._own_heads.items():
            if title == tab:
                cells.extend([None] * (col - len(cells)))
                cells[col - 1] = value
        return cells

    def _warn_shift(self, shift: landing.Shift) -> None:
        """The lines a column edit in the window leaves for the person running the sync."""
        if shift.restores:
            self._warnings.append(ngettext(
                "{tab}: a column was inserted, deleted or moved while sheetcrm wrote; {n} cell it wrote into "
                "another column was put back as it was, and the next sync writes it again",
                "{tab}: a column was inserted, deleted or moved while sheetcrm wrote; {n} cells it wrote into "
                "other columns were put back as they were, and the next sync writes them again",
                len(shift.restores), tab=shift.tab, n=len(shift.restores)))
        if shift.unknown:
            cells = ", ".join(f"{_letters(col - 1)}{row}" for row, col in sorted(shift.unknown, key=lambda c: (c[1], c[0])))
            self._warnings.append(ngettext(
                "{tab}: columns changed while sheetcrm wrote, in a way it cannot tell apart; check cell {cells} "
                "(the spreadsheet's version history shows what it held); the next sync writes sheetcrm's value again",
                "{tab}: columns changed while sheetcrm wrote, in a way it cannot tell apart; check cells {cells} "
                "(the spreadsheet's version history shows what they held); the next sync writes sheetcrm's "
                "values again", len(shift.unknown), tab=shift.tab, cells=cells))

    def _repair(self, found: landing.Landing, rows: Iterable[keyed.RowWrite] = (), fixes: list[dict] = ()) -> None:
        """One batchUpdate: misplaced cells written again, then `fixes` (the holds' restores
        and drops, addressed by the rows as they are after those cell writes), atomic."""
        requests_: list[dict] = []
        cells = list(found.cells) + [w for g in rows for r in sorted(g.rows) for w in g.cells(r)]
        for fix in found.restores:
            if not fix.by_content:
                cells.append(CellWrite(fix.tab, fix.row, fix.col, fix.right))
                continue
            # Addressed by what the cell holds, not where it is: rows moving meanwhile cannot
            # put the old ID on another record.
            requests_.append({"findReplace": {
                "find": fix.wrong, "replacement": "" if fix.right is None else str(fix.right),
                "matchCase": True, "matchEntireCell": True, "searchByRegex": False, "includeFormulas": False,
                "range": {"sheetId": self._sheets[fix.tab].sheet_id, "startRowIndex": 1,
                          "startColumnIndex": fix.col - 1, "endColumnIndex": fix.col}}})
        shown = _first_formats(self._plan or Plan(), cells, self._snapshot)
        for title, block in _blocks(cells, shown):
            requests_.append(_update_cells(self._written_to[title].sheet_id, block, shown))
        requests_.extend(fixes)
        try:
            for part in _parts(requests_, len(fixes)):
                self.client.http_client.batch_update(self.key, {"requests": part})
        except APIError as e:
            raise self._error(e) from None

    def _sheet_ids(self) -> dict[str, int]:
        return {title: sheet.sheet_id for title, sheet in self._sheets.items()}

    def _gone_or_error(self, e: APIError, was: dict[str, int] | None = None) -> Exception:
        """What to raise for a failed request of a write: `_TabGone` when it was a 400 and a
        tab the plan writes into has been renamed or deleted since the tab list was read (read
        again to tell: one request, only after a 400, which is how Google refuses a range or a
        sheet ID that no longer exists), so the write is aimed again without it; else the
        error's line."""
        plan = self._plan
        if e.response.status_code == 403 and plan is not None:
            # The reads of this sync went through: the spreadsheet is shared, but not for editing.
            who = self.account or _("the account sheetcrm uses")
            return WorkbookError(_("{book}: Google refused the write: {who} may read the spreadsheet but not edit it "
                                   "(shared as Viewer or Commenter); share it with {who} as Editor",
                                   book=self.describe(), who=who))
        if e.response.status_code != 400 or plan is None:
            return self._error(e)
        was = self._sheet_ids() if was is None else was
        try:
            self._open()
        except WorkbookError:
            return self._error(e)
        tabs = {*(w.tab for w in plan.writes), *(d.tab for d in plan.deletes), *(f.tab for f in plan.formats),
                *(g.tab for g in plan.guides), *(c.tab for c in plan.charts), *(r.tab for r in plan.replacements)}
        now = self._sheet_ids()
        if any(title in was and now.get(title) != was[title] for title in tabs) or self._pins_moved():
            return _TabGone()
        # A filter view deleted since the read (Google refuses an update of an unknown one):
        # aimed again, without it.
        views = {(title, v.get("filterViewId")) for title, sheet in self._sheets.items() for v in sheet.filter_views}
        if not self._views <= views:
            return _TabGone()
        if self._written_since(plan, was):
            return WorkbookConflict(_("{book}: another sync wrote to it while this one was working on it; "
                                      "nothing was written", book=self.describe()))
        if PROTECTED_TEXT in (e.error.get("message", "") if isinstance(e.error, dict) else ""):
            return self._protected(plan, tabs) or self._error(e)
        return self._error(e)

    def _written_since(self, plan: Plan, was: dict[str, int]) -> bool:
        """Whether another writer got in between the read `plan` was made from and its batch
        (which Google refused): a newer generation of the sequence marks than the read saw and
        not this write's own, or a tab the plan adds that another writer added meanwhile. The
        tab list was just read again."""
        if any(title in self._sheets and title not in was for title in plan.new_tabs):
            return True
        if self._counter is None or self._counted is None:
            return False
        title, _mid, token = self._counter
        sheet = self._sheets.get(title)
        seen = self._counted.get(title, {})
        return sheet is not None and any(i not in seen and v != token for i, v in sheet.counters.items())

    def _protected(self, plan: Plan, tabs: set[str]) -> WorkbookError | None:
        """The line for a batch Google refused whole because it wrote into a range protected
        against sheetcrm's account: which of the plan's tabs' protections its cells fall in (by
        the tab list just read again), else every such protection of those tabs, else of any
        tab; None when the tab list shows none (Google's own words then)."""
        def hit(tab: str, box: _Box, excepted: list[_Box]) -> bool:
            return any(w.tab == tab and _in_box(box, w.row, w.col) and not any(_in_box(x, w.row, w.col)
                                                                              for x in excepted)
                       for w in plan.writes)

        locked = [(tab, box, excepted, description) for tab, sheet in self._sheets.items()
                  for box, excepted, description in sheet.locked]
        named = ([entry for entry in locked if hit(*entry[:3])] or [entry for entry in locked if entry[0] in tabs]
                 or locked)
        if not named:
            return None
        places = ", ".join(_box_text(tab, box, self._sheets[tab].rows, self._sheets[tab].cols)
                           + (f" ({quoted(description)})" if description else "")
                           for tab, box, _, description in named)
        who = self.account or _("the account sheetcrm uses")
        return WorkbookError(_("{book}: Google refused the write: the spreadsheet's owner protected {places} and {who} "
                               "is not among the editors there; ask the owner to add {who} as an editor of that "
                               "range (Data > Protect sheets and ranges) or to make it show a warning only",
                               book=self.describe(), places=places, who=who))

    def _already_applied(self, e: APIError, part: list[dict]) -> bool:
        """After a lost response, the retry of a batch that added tabs, charts or guides fails
        on their names or IDs. Batches are atomic, so finding the IDs this batch chose proves
        it committed. A generation of the sequence marks proves it only when it carries this
        write's token: another writer may have taken that ID (`_counter_requests`)."""
        # A column pin is no proof it landed: one created again existed before the batch, and a
        # retry aimed at the columns the landed batch wrote picks new ones.
        added = {_added_id(r) for r in part
                 if r.get("createDeveloperMetadata", {}).get("developerMetadata", {}).get("metadataKey") != PIN_KEY
                 } - {None}
        if e.response.status_code != 400 or not added:
            return False
        self._open()
        if self._counter is not None and self._counter[1] in added:
            title, mid, token = self._counter
            sheet = self._sheets.get(title)
            if sheet is None or sheet.counters.get(mid) != token:
                return False
        return added <= {i for s in self._sheets.values() for i in s.ids()}

    def _pin_requests(self, writes: list[CellWrite], used: set[int]) -> list[dict]:
        """The requests that make this batch fail whole when a column of a team's tab it writes
        guarded cells into was inserted, deleted or moved since the key re-read (`PIN_KEY`):
        for every header column the re-read found, its pin deleted where the tab list says it is
        and created again there under its ID (a column without one gets a new pin, guarding the
        next write). Sets `_repinned`: (tab, 1-based column, metadataId) of the pins re-created."""
        self._repinned = []
        out: list[dict] = []
        # And sheetcrm's tabs people tick in (`Plan.ticked`), written by position: pinned too.
        tabs = {w.tab for w in writes if w.expect} | self._ticked
        for tab in sorted(tabs & set(self._heads)):
            sheet = self._sheets.get(tab)
            if sheet is None or sheet.owned and tab not in self._ticked:
                continue
            _row, cells = self._heads[tab]
            width = max((i + 1 for i, c in enumerate(cells) if c not in (None, "")), default=0)
            for col in range(1, min(width, sheet.cols) + 1):
                location = {"dimensionRange": {"sheetId": sheet.sheet_id, "dimension": "COLUMNS",
                                               "startIndex": col - 1, "endIndex": col}}
                mids = sheet.pins.get(col)
                if mids:
                    mid = mids[0]
                    self._repinned.append((tab, col, mid))
                    out.append({"deleteDeveloperMetadata": {"dataFilter": {"developerMetadataLookup": {
                        "metadataId": mid, "metadataKey": PIN_KEY, "metadataLocation": location,
                        "locationMatchingStrategy": "EXACT_LOCATION"}}}})
                else:
                    mid = _fresh_id(used)
                out.append({"createDeveloperMetadata": {"developerMetadata": {
                    "metadataId": mid, "metadataKey": PIN_KEY, "metadataValue": "", "location": location,
                    "visibility": "DOCUMENT"}}})
        return out

    def _formula_requests(self, used: set[int]) -> list[dict]:
        """The FORMULA_KEY marks this batch sets (on a column where the re-read met a formula
        in a guarded write's own cell) or removes (from a column the last read found no formula
        in: its cells are planned into again as any cell of the column is)."""
        out: list[dict] = []
        for tab, col in sorted(self._formula_met):
            sheet = self._sheets.get(tab)
            if sheet is not None and not sheet.formula_cols.get(col):
                out.append({"createDeveloperMetadata": {"developerMetadata": {
                    "metadataId": _fresh_id(used), "metadataKey": FORMULA_KEY, "metadataValue": "",
                    "location": {"dimensionRange": {"sheetId": sheet.sheet_id, "dimension": "COLUMNS",
                                                    "startIndex": col - 1, "endIndex": col}},
                    "visibility": "DOCUMENT"}}})
        if self._formulas_found is None:
            return out  # no read: nothing known of the marks' cells
        for tab, sheet in sorted(self._sheets.items()):
            for col, mids in sorted(sheet.formula_cols.items()):
                if (tab, col) not in self._formulas_found and (tab, col) not in self._formula_met:
                    out.extend({"deleteDeveloperMetadata": {"dataFilter": {"developerMetadataLookup": {
                        "metadataId": mid}}}} for mid in mids)
        return out

    def _pins_moved(self) -> bool:
        """Whether a pin this batch re-created is no longer at the column it was sent for, by
        the tab list just read again: a column was edited in the instant before the batch."""
        for tab, col, mid in self._repinned:
            sheet = self._sheets.get(tab)
            if sheet is not None and mid not in sheet.pins.get(col, []):
                return True
        return False

    def _counter_requests(self, plan: Plan, sheets: dict[str, _Sheet]) -> list[dict]:
        """The requests that make this batch the next generation of the sequence marks
        (`Plan.counters`, `COUNTER_KEY`): create the generation after the newest the read saw,
        which Google refuses whole when another writer created it since; and delete those
        `COUNTER_KEEP` older. None when the plan moves no mark, or was made from no read."""
        title = plan.counters
        if title is None or self._counted is None or title not in sheets:
            return []
        seen = self._counted.get(title, {})
        if self._counter is None:
            self._counter = (title, max(seen, default=COUNTER_BASE) + 1, secrets.token_hex(8))
        _, mid, token = self._counter
        out: list[dict] = [_sheet_mark(mid, COUNTER_KEY, token, sheets[title].sheet_id)]
        out.extend({"deleteDeveloperMetadata": {"dataFilter": {"developerMetadataLookup": {"metadataId": old}}}}
                   for old in sorted(seen) if old <= mid - COUNTER_KEEP)
        return out


_Columns = dict[tuple[str, int], list[Any]]  # (tab, 1-based column) -> its cells from row 1 down


def _by_position(found: landing.Landing, tabs: Iterable[str]) -> list[CellWrite]:
    """The repairs of `found` in people's tabs `tabs` that are addressed by row, which a row
    moving again could misplace: computed cells, IDs written back by position."""
    tabs = set(tabs)
    return ([w for w in found.cells if w.tab in tabs]
            + [CellWrite(r.tab, r.row, r.col, r.right) for r in found.restores if not r.by_content])


def _header_rows(answer: Any, skip: int) -> list[list[Any]]:
    """The rows read as ranges of a COLUMNS-major values.batchGet, after its first `skip`
    ranges: each column comes as a list of its one cell (an empty one as [])."""
    out = []
    for value_range in (answer or {}).get("valueRanges", [])[skip:]:
        out.append([column[0] if column else None for column in value_range.get("values") or []])
    return out


def _columns(columns: list[tuple[str, int]], answer: Any) -> _Columns:
    out: _Columns = {}
    for key, value_range in zip(columns, (answer or {}).get("valueRanges", [])):
        values = value_range.get("values") or [[]]
        out[key] = values[0]
    return out


class _RowFinder:
    """Finds the row that now holds a write's expected values, by the re-read key columns."""

    def __init__(self, columns: dict[tuple[str, int], list[Any]],
                 filled: dict[tuple[str, int, int], CellValue] | None = None) -> None:
        """`filled`, given after an attempt whose answer was lost: the plan's ID fills, by plan
        key -> the ID. A row holding that ID where its fill expected an empty cell
        is found as if the cell were empty, and a computed cell holding what its write writes
        is as planned: that attempt landed them."""
        self.columns = columns
        self.again = filled is not None
        self.filled = filled or {}
        self.index: dict[tuple[str, tuple[int, ...]], dict[tuple, list[int]]] = {}

    def _own_id(self, w: CellWrite, col: int, now: Any) -> bool:
        """Whether `now`, in column `col` (expected empty), is the ID the fill of `w`'s record
        (the plan's fill of that cell: `w` itself, or of the row a computed cell is planned
        on) wrote in an earlier attempt."""
        own = self.filled.get((w.tab, w.row, col))
        return own is not None and now is not None and same_value(now, own)

    def _cell(self, tab: str, col: int, row: int) -> Any:
        values = self.columns.get((tab, col), [])
        v = values[row - 1] if row - 1 < len(values) else None
        return None if v == "" else v

    def _holds(self, w: CellWrite, row: int) -> bool:
        target = self._cell(w.tab, w.col, row)
        if not holds_target(w, target) and not (self.again and landing.is_computed(w) and same_value(target, w.value)):
            return False  # typed over since the read: the person's, not overwritten
        for col, expected in w.expect:
            now = self._cell(w.tab, col, row)
            if expected is None and self._own_id(w, col, now):
                continue
            if col == w.col:
                # The target itself must be as planned; a formula there is never overwritten.
                if not same_value(now, expected):
                    return False
            elif _is_formula(now):
                continue  # FORMULA rendering hides a formula's value; the other keys decide
            elif not same_value(now, expected):
                return False
        return True

    def formula_under(self, w: CellWrite) -> bool:
        """Whether the row `w` was planned on still holds its record's other key cells, and
        `w`'s own cell a formula: one whose value the sync's read saw as a value (an ID cell's
        as empty)."""
        return _is_formula(self._cell(w.tab, w.col, w.row)) and all(
            _is_formula(now := self._cell(w.tab, col, w.row)) or same_value(now, expected)
            for col, expected in w.expect if col != w.col)

    def locate(self, w: CellWrite) -> int | None:
        if self._holds(w, w.row):
            return w.row
        cols = tuple(col for col, _ in w.expect if col != w.col) or tuple(col for col, _ in w.expect)
        key = (w.tab, cols)
        if key not in self.index:
            rows: dict[tuple, list[int]] = {}
            height = max((len(self.columns.get((w.tab, c), [])) for c in cols), default=0)
            for r in range(2, height + 1):
                rows.setdefault(tuple(cell_key(self._cell(w.tab, c, r)) for c in cols), []).append(r)
            self.index[key] = rows
        wanted = tuple(cell_key(dict(w.expect)[c]) for c in cols)
        rows = self.index[key].get(wanted, [])
        for col in cols:
            if (w.tab, w.row, col) in self.filled and col != w.col:
                # A computed cell of a record whose ID fill may have landed: its row holds the ID.
                own = cell_key(self.filled[(w.tab, w.row, col)])
                rows = rows + self.index[key].get(tuple(own if c == col else k for c, k in zip(cols, wanted)), [])
        candidates = [r for r in rows if self._holds(w, r)]
        return candidates[0] if len(candidates) == 1 else None


def decode(body: bytes) -> Any:
    """A JSON answer from its bytes (UTF-8, as Google sends it), by orjson: faster than json,
    and with no str copy of the body, which json needs (a 100k-lead read is 159 MB of JSON).
    What orjson refuses and json takes (a lone surrogate escape, which Google does not send)
    is decoded by json. A whole number beyond 64 bits comes as the float of its value, which
    is the double Sheets holds (json would give an int of the same value).

    Raises ValueError (json.JSONDecodeError) for a body that is not JSON."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)


def _grid(values: list[list[Any]], merges: list[tuple[int, int, int, int]]) -> Grid:
    """A values read of one tab as a Grid: "" is an empty cell, error texts are `errors`,
    equal texts are one object (`share_text`).

    The decoded rows become the Grid's rows, changed in place: no second copy of the tab,
    and Python touches only the empty cells, which C-level scans (`in`, `index`) find."""
    errors = {}
    for r, row in enumerate(values):
        blanks_to_none(row)
        if not ERROR_TEXTS.isdisjoint(row):  # most rows have none
            errors.update({(r, c): v for c, v in enumerate(row) if isinstance(v, str) and v in ERROR_TEXTS})
    share_text(values)
    return Grid(rows=values, errors=errors, merges=list(merges))


def _percent_candidates(rows: list[list[Any]], percent_header: Callable[[str], bool] | None,
                        every: bool = False) -> set[int]:
    """0-based columns whose number formats are worth a read.

    Under a header (in the first HEADER_ROWS rows) that names a column of percentages: those
    holding a number from -1 to 1 other than 0, which reads 100 times apart with and without
    a percent format (1 is 1 point or 100%); with `every`, those holding any number (20
    formatted 0% shows 2,000 %). Without header names: columns holding a fraction (strictly
    between -1 and 1; JSON gives whole numbers as int, so only a float can be one), since
    whole numbers elsewhere are far likelier to be counts, `every` or not."""
    if percent_header is None:
        return {c for row in rows for c, v in enumerate(row) if type(v) is float and -1 < v < 1 and v != 0}
    headed = {c for row in rows[:HEADER_ROWS] for c, v in enumerate(row) if isinstance(v, str) and percent_header(v)}
    return {c for c in headed
            if any(c < len(row) and _number(row[c]) and (every or -1 <= row[c] <= 1 and row[c] != 0) for row in rows)}


def _money_candidates(rows: list[list[Any]], money_header: Callable[[str], bool] | None,
                      currency_header: Callable[[str], bool] | None) -> set[int]:
    """0-based money columns (headed in the first HEADER_ROWS rows) holding a number on a row
    below the header whose Currency cell, in a column headed in the same row, is blank, or
    with no such column: only a currency format can say that amount's currency."""
    if money_header is None or currency_header is None:
        return set()
    found: set[int] = set()
    for h, header in enumerate(rows[:HEADER_ROWS]):
        texts = [(c, v) for c, v in enumerate(header) if isinstance(v, str)]
        money = [c for c, v in texts if money_header(v) and c not in found]
        if not money:
            continue
        currency = next((c for c, v in texts if currency_header(v)), None)
        for c in money:
            if any(c < len(row) and _number(row[c])
                   and (currency is None or currency >= len(row) or row[currency] in (None, ""))
                   for row in rows[h + 1:]):
                found.add(c)
    return found


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _shown_candidates(rows: list[list[Any]], custom_header: Callable[[str], bool] | None) -> set[int]:
    """0-based columns of a team's own on a tab of records (headed, in the tab's header row
    among the first HEADER_ROWS, by a header `custom_header` accepts) holding a number that a number format may show as something else
    than that number: a date or a date and time (a number from SERIAL_LOW to SERIAL_HIGH:
    46447 formatted dd/mm/yyyy shows 01/03/2027), a percentage (0.15 shows 15 %), a time or a
    duration (1.5 formatted [h]:mm shows 36:00): a number with a fraction (JSON gives whole
    numbers as int, so only a float can have one). Whole numbers outside those dates (counts,
    most amounts) cost nothing: a column of them showing only 100 % or 1:00 is not asked about."""
    if custom_header is None:
        return set()
    # The header row: the first that names a column sheetcrm knows (a title row above it
    # names none); the cells below it are the data.
    at = next((h for h, row in enumerate(rows[:HEADER_ROWS])
               if any(isinstance(v, str) and v.strip() and not custom_header(v) for v in row)), None)
    if at is None:
        return set()
    headed = {c for c, v in enumerate(rows[at]) if isinstance(v, str) and custom_header(v)}
    return {c for c in headed if any(c < len(row) and _number(v := row[c]) and (
        SERIAL_LOW <= v < SERIAL_HIGH or type(v) is float and not v.is_integer()) for row in rows[at + 1:])}


def _turned_candidates(rows: list[list[Any]], date_header: Callable[[str], bool]) -> set[int]:
    """0-based date columns (headed, in the first HEADER_ROWS rows, by a header `date_header`
    accepts) holding a date that reads both day first and month first (a serial whose day is
    12 or less and not its month): their formats say which cells show the day and the month
    as numbers, as they were typed (`columns.read_dates`)."""
    headed = {c for row in rows[:HEADER_ROWS] for c, v in enumerate(row) if isinstance(v, str) and date_header(v)}
    found = set()
    for c in headed:
        for row in rows:
            if c < len(row) and _number(v := row[c]) and SERIAL_LOW <= v < SERIAL_HIGH:
                day = SERIAL_EPOCH + dt.timedelta(days=int(v))
                if day.day <= 12 and day.day != day.month:
                    found.add(c)
                    break
    return found


# The serial numbers of the days a date in a CRM may be (1950-01-01 to 2099-12-31): a number
# among them in a team's own column may be a date cell (see `_shown_candidates`).
SERIAL_LOW, SERIAL_HIGH = 18264, 73051


def _format_cells(block: dict) -> tuple[dict[tuple[int, int], str | None], dict[tuple[int, int], str],
                                        dict[tuple[int, int], tuple[str, str]]]:
    """From one GridData block, the 0-based positions whose number format type is PERCENT, or
    whose pattern shows some numbers as a percentage (`numformat.percent_depends`), with the
    pattern (`numformat.shows_percent` tells which of their values show one),
    those whose pattern shows a currency, with the currency (`numformat.format_currency`), and
    those whose format shows a date, a date and time or a time (type DATE, DATE_TIME, TIME),
    or pads a whole number with zeros (`numformat.show_digits`: NUMBER `00000`), with (type,
    pattern)."""
    top, left = block.get("startRow", 0), block.get("startColumn", 0)
    percent, currency, shown = {}, {}, {}
    for r, row in enumerate(block.get("rowData", [])):
        for c, cell in enumerate(row.get("values", [])):
            number_format = cell.get("effectiveFormat", {}).get("numberFormat", {})
            kind, pattern = number_format.get("type"), number_format.get("pattern", "")
            depends = bool(pattern) and percent_depends(pattern)
            if kind == "PERCENT" or depends:
                percent[(top + r, left + c)] = pattern if depends else None
            elif kind in ("DATE", "DATE_TIME", "TIME") or is_digits_format(pattern):
                shown[(top + r, left + c)] = (kind, pattern)
            elif (shown_currency := format_currency(pattern)) is not None:
                currency[(top + r, left + c)] = shown_currency
    return percent, currency, shown


def _formula_cells(block: dict) -> Iterable[tuple[int, int]]:
    """The 0-based positions of one GridData block whose cell holds a formula."""
    top, left = block.get("startRow", 0), block.get("startColumn", 0)
    for r, row in enumerate(block.get("rowData", [])):
        for c, cell in enumerate(row.get("values", [])):
            if "formulaValue" in cell.get("userEnteredValue", {}):
                yield top + r, left + c


def _show_dates_and_times(grid: Grid, shown: dict[tuple[int, int], tuple[str, str]]) -> None:
    """Put in `grid` what a date, date-time or time format shows of a number, as an .xlsx read
    gives such cells: a date (the day of a DATE cell), a datetime (DATE_TIME), the text a time
    or duration code shows (`numformat.show_time`: 1.5 under [h]:mm is "36:00"). Google's
    values read gives every one of them as its serial number."""
    for (r, c), (kind, pattern) in shown.items():
        v = grid.cell(r, c)
        if not _number(v) or kind not in ("DATE", "DATE_TIME", "TIME"):
            continue  # a text cell shows its text whatever its format
        if kind == "TIME" or is_time_format(pattern):
            if (text := show_time(v, pattern)) is not None:
                grid.rows[r][c] = text
        elif 0 <= v < 2_958_466:  # within the days a date can be (to 9999-12-31)
            # To the millisecond, then to what the pattern shows of a second, as Sheets shows it
            # (46461.99999999 under dd/mm/yyyy hh:mm:ss shows 16/03/2027 00:00:00).
            moment = SERIAL_EPOCH + dt.timedelta(milliseconds=round(v * 86_400_000))
            decimals = moment_decimals(pattern) if pattern else 0
            if kind != "DATE" and decimals is not None:
                moment = shown_moment(moment, decimals)
            grid.rows[r][c] = moment.date() if kind == "DATE" else moment


def _show_codes(grid: Grid, shown: dict[tuple[int, int], tuple[str, str]]) -> None:
    """`grid.codes`, as the .xlsx read gives them, for the whole numbers of `shown` whose
    pattern pads them with zeros (`numformat.show_digits`: 8001 under `00000` shows "08001")."""
    for (r, c), (kind, pattern) in shown.items():
        v = grid.cell(r, c)
        if type(v) is int and kind not in ("DATE", "DATE_TIME", "TIME") \
                and (text := show_digits(v, pattern)) is not None:
            grid.codes[(r, c)] = text


def _block(grid_range: dict) -> tuple[int, int, int, int]:
    """A merge's GridRange (end indexes exclusive, a start of 0 left out) as Grid.merges has it."""
    top, left = grid_range.get("startRowIndex", 0), grid_range.get("startColumnIndex", 0)
    return top, left, grid_range.get("endRowIndex", top + 1) - 1, grid_range.get("endColumnIndex", left + 1) - 1


def _letters(col: int) -> str:
    """The letters of a 0-based column."""
    return gspread.utils.rowcol_to_a1(1, col + 1).rstrip("0123456789")




def _grown_range(rng: dict, grid: Grid, cells: dict[tuple[int, int], CellValue], ours: set[int]) -> dict | None:
    """A filter's GridRange grown by `_grown_filters`' rules, given the cells a write fills
    ((row, col) -> value, 1-based), the tab as read and the columns sheetcrm writes there;
    None when it does not grow. An open end (a filter set on whole columns: no endRowIndex)
    takes in every row, or column, already: that end stays open."""
    top, left = rng.get("startRowIndex", 0) + 1, rng.get("startColumnIndex", 0) + 1
    bottom, right = rng.get("endRowIndex"), rng.get("endColumnIndex")
    if right is None or bottom is not None and bottom < top or right < left:
        return None

    def held(row: int, col: int) -> CellValue:
        values = grid.rows[row - 1] if row <= len(grid.rows) else []
        return values[col - 1] if col <= len(values) else None

    last = bottom
    while last is not None and any(not _empty(cells.get((last + 1, c))) for c in range(left, right + 1)) \
            and all(_empty(held(last + 1, c)) for c in range(left, right + 1)):
        last += 1
    names: set[str] = set()
    end = right
    while (top, end + 1) in cells or end + 1 in ours:
        col = end + 1
        before = held(top, col)
        name = (cells[(top, col)] if _empty(before) else None) if (top, col) in cells else before
        if not isinstance(name, str) or not name.strip() or name.casefold() in names:
            break
        names.add(name.casefold())
        end = col
    if last == bottom and end == right:
        return None
    return {**rng, **({} if last is None else {"endRowIndex": last}), "endColumnIndex": end}


def _empty(v: CellValue) -> bool:
    return v is None or v == ""


def _is_formula(v: Any) -> bool:
    return isinstance(v, str) and v.startswith("=")


def _column_range(col: int) -> str:
    letters = gspread.utils.rowcol_to_a1(1, col).rstrip("0123456789")
    return f"{letters}:{letters}"


def _added_id(request: dict) -> int | None:
    (kind, body), = request.items()
    if kind == "addSheet":
        return body["properties"]["sheetId"]
    if kind == "addChart":
        return body["chart"]["chartId"]
    if kind == "addProtectedRange":
        return body["protectedRange"]["protectedRangeId"]
    if kind == "createDeveloperMetadata":
        return body["developerMetadata"]["metadataId"]
    return None


def _sheet_mark(metadata_id: int, key: str, value: str, sheet_id: int) -> dict:
    """The request that puts one of sheetcrm's marks (developer metadata `key` = `value`) on a
    tab, under the ID given (`_fresh_id`, or a generation of the sequence marks)."""
    return {"createDeveloperMetadata": {"developerMetadata": {
        "metadataId": metadata_id, "metadataKey": key, "metadataValue": value,
        "location": {"sheetId": sheet_id}, "visibility": "DOCUMENT"}}}


def _add_chart(chart: Chart, sheet_id: int, chart_id: int) -> dict:
    def column(col: int) -> dict:
        # From the header row down: with headerCount 1 the header names each series.
        return {"sourceRange": {"sources": [{"sheetId": sheet_id, "startRowIndex": chart.first_row - 2,
                                             "endRowIndex": chart.last_row, "startColumnIndex": col - 1,
                                             "endColumnIndex": col}]}}

    return {"addChart": {"chart": {
        "chartId": chart_id,
        "spec": {"title": chart.title, "basicChart": {
            "chartType": CHART_TYPES[chart.kind], "legendPosition": "BOTTOM_LEGEND", "headerCount": 1,
            "domains": [{"domain": column(chart.domain_col)}],
            "series": [{"series": column(col), "targetAxis": "LEFT_AXIS"} for col in chart.series_cols]}},
        "position": {"overlayPosition": {"anchorCell": {"sheetId": sheet_id, "rowIndex": 0,
                                                        "columnIndex": chart.anchor_col - 1}}}}}}


def _fitted_spec(spec: dict, chart: Chart, sheet_id: int) -> dict | None:
    """A chart's spec as read with its blocks set to `chart`'s rows (the header row above
    them included), or None when it already has them or is not sheetcrm's: a chart is taken
    as sheetcrm's only when it is a basic chart whose every source is one column of the
    plan's (categories, then series, in order) on its own tab (the caller also asks, on a
    team's tab, that CHART_KEY names it). A person's chart, or one a
    person changed, is never touched."""
    basic = spec.get("basicChart")
    if not basic:
        return None
    blocks = [d.get("domain", {}) for d in basic.get("domains", [])] + [s.get("series", {}) for s in basic.get("series", [])]
    sources = [b.get("sourceRange", {}).get("sources", []) for b in blocks]
    if [len(s) for s in sources] != [1] * len(blocks):
        return None
    columns = [(s[0].get("startColumnIndex", 0), s[0].get("endColumnIndex")) for s in sources]
    if columns != [(c - 1, c) for c in (chart.domain_col, *chart.series_cols)] \
            or any(s[0].get("sheetId", 0) != sheet_id for s in sources):
        return None
    rows = (chart.first_row - 2, chart.last_row)
    if all((s[0].get("startRowIndex", 0), s[0].get("endRowIndex")) == rows for s in sources):
        return None
    fitted = copy.deepcopy(spec)
    fitted_basic = fitted["basicChart"]
    for block in [d["domain"] for d in fitted_basic["domains"]] + [s["series"] for s in fitted_basic["series"]]:
        block["sourceRange"]["sources"][0].update(startRowIndex=rows[0], endRowIndex=rows[1])
    return fitted


def _spec(fmt: ColumnFormat) -> str:
    """The hash of a column's formats its mark keeps."""
    return hashlib.sha256(repr(fmt.rows).encode()).hexdigest()[:12]


def _codes(fmt: ColumnFormat) -> str:
    """The hash of the codes alone a column's formats set, whatever their rows: it changes with
    the base currency or the language, not with a Dashboard row's kind."""
    return hashlib.sha256(repr(sorted({f.pattern for _, _, f in fmt.rows})).encode()).hexdigest()[:8]


def _mark(value: str) -> tuple[str, str, str]:
    """A column mark's (formats hash, rows, codes hash); codes "" in a mark from before."""
    spec, _, rest = value.partition(":")
    rows, _, codes = rest.partition(":")
    return spec, rows, codes


def _format_requests(fmt: ColumnFormat, sheet: _Sheet, rows: int, used: set[int],
                     current: list[str | None] | None = None, own: frozenset[str] = frozenset()) -> list[dict]:
    """What puts a column's formats in place where they are missing, in a grid of `rows` rows.

    The column's mark (FORMAT_KEY) says which formats sheetcrm set and how far down: the same
    formats send nothing, so a format a person gave the column since stays; new rows of the
    grid get the open-ended formats; other formats (a base currency or language changed, a
    Dashboard row whose kind changed) are set again on the cells that show none or one of
    sheetcrm's codes (`own`), as `current` (each row's pattern now, `_format_asks`) says:
    a cell a person formatted keeps its format. A width is set on sheetcrm's tabs where the
    column is narrower, on people's tabs only while the column has the default width and no mark."""
    col = fmt.col - 1
    spec = _spec(fmt)
    mark = sheet.formats.get(col)
    old_spec, old_rows, _ = _mark(mark[1]) if mark else ("", "0", "")
    covered = int(old_rows) if old_rows.isdigit() and old_spec == spec else 0
    out: list[dict] = []
    for first, last, number in fmt.rows:
        if covered and last is not None:
            continue  # in place since the mark was set
        start = max(first - 1, covered)
        # An open-ended block has no end row: the grid's end, however many rows a person
        # deleted meanwhile (an end beyond the grid would fail the whole batch).
        end = {} if last is None else {"endRowIndex": min(last, rows)}
        stop = end.get("endRowIndex", rows)
        # A log's kept figures keep whichever code they were written under (ColumnFormat.kept).
        spans = [(start, end)] if current is None else _unformatted(current, start, stop, end,
                                                                    frozenset() if fmt.kept else own)
        for first_row, last in spans:
            if first_row < last.get("endRowIndex", rows):
                out.append({"repeatCell": {
                    "range": {"sheetId": sheet.sheet_id, "startRowIndex": first_row, **last,
                              "startColumnIndex": col, "endColumnIndex": col + 1},
                    "cell": {"userEnteredFormat": {"numberFormat": {"type": number.type,
                                                                    "pattern": number.pattern}}},
                    "fields": "userEnteredFormat.numberFormat"}})
    pixels = fmt.width * PIXELS_PER_CHAR
    have = sheet.widths.get(col, DEFAULT_PIXELS)
    if fmt.width and (have < pixels if fmt.owned else (mark is None and have == DEFAULT_PIXELS)):
        out.append({"updateDimensionProperties": {
            "range": {"sheetId": sheet.sheet_id, "dimension": "COLUMNS", "startIndex": col, "endIndex": col + 1},
            "properties": {"pixelSize": pixels}, "fields": "pixelSize"}})
    value = f"{spec}:{rows if fmt.rows else 0}:{_codes(fmt)}"
    # A column whose every cell a person formatted gets the mark alone, so it is not read again.
    if mark is None and (out or current is not None):
        out.append({"createDeveloperMetadata": {"developerMetadata": {
            "metadataId": _fresh_id(used), "metadataKey": FORMAT_KEY, "metadataValue": value,
            "location": {"dimensionRange": {"sheetId": sheet.sheet_id, "dimension": "COLUMNS",
                                            "startIndex": col, "endIndex": col + 1}},
            "visibility": "DOCUMENT"}}})
    elif mark is not None and mark[1] != value and (current is not None or any("repeatCell" in r for r in out)
                                                     or not _mark(mark[1])[2]):  # a mark from before: its codes
        out.append({"updateDeveloperMetadata": {
            "dataFilters": [{"developerMetadataLookup": {"metadataId": mark[0]}}],
            "developerMetadata": {"metadataValue": value}, "fields": "metadataValue"}})
    return out


def _unformatted(current: list[str | None], start: int, stop: int, end: dict, own: frozenset[str]
                 ) -> list[tuple[int, dict]]:
    """The spans of 0-based rows from `start` to `stop` whose cell shows no format or one of
    sheetcrm's (`own`), as (first row, end) pairs for a repeatCell range; the last span keeps
    `end` (open-ended: rows the grid gains) when it reaches the rows `current` covers."""
    spans: list[tuple[int, dict]] = []
    first = None
    for r in range(start, min(stop, len(current))):
        ours = current[r] is None or current[r] in own
        if ours and first is None:
            first = r
        elif not ours and first is not None:
            spans.append((first, {"endRowIndex": r}))
            first = None
    if len(current) < stop:
        spans.append((start if first is None and len(current) <= start else
                      (first if first is not None else len(current)), end))
    elif first is not None:
        spans.append((first, end))
    return spans


def _version(guide: Guide) -> str:
    """A short hash of everything a guide sets: a new stage or a moved column is a new version."""
    # The first row only when not the second: a guide under a header in row 1 keeps its version.
    below = (guide.first_row,) if guide.first_row != 2 else ()
    return hashlib.sha256(repr((guide.dropdowns, guide.computed_cols) + below).encode()).hexdigest()[:12]


def _apply_guide(guide: Guide, sheet: _Sheet, used: set[int],
                 theirs: dict[int, list[tuple[int, int]]] | None = None) -> list[dict]:
    """Replace the tab's older guide, if any, with this one. `theirs` gives, per dropdown
    column, the 0-based row spans (end exclusive) holding a rule of the team's
    (`_team_rules`): those cells keep it, and sheetcrm's dropdown goes only on the rows
    between (a cell holds one rule, so setting sheetcrm's would replace the team's)."""
    version = _version(guide)
    out: list[dict] = [{"deleteProtectedRange": {"protectedRangeId": pid}}
                       for pid, description in sheet.protected.items() if description.startswith(PROTECTION)]
    out.extend({"deleteDeveloperMetadata": {"dataFilter": {"developerMetadataLookup": {"metadataId": mid}}}}
               for mid in sheet.marks)
    for col, values in guide.dropdowns:
        # Not strict: sheetcrm also reads aliases and any capitalisation, and a paste from
        # another system must not be refused; a value off the list gets a warning flag and
        # a line on the Validation tab. The help text says whose dropdown it is, to people
        # and to the next guide (`_own_rule`).
        rule = {"condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": v} for v in values]},
                "inputMessage": f"{DROPDOWN_TAG} {_(DROPDOWN_HELP)}", "showCustomUi": True, "strict": False}
        for first, end in _gaps((theirs or {}).get(col, []), sheet.rows):
            # The rows down to the header get no rule (an older guide's, from row 2, goes);
            # the rows under it get the dropdown.
            for top, bottom, kept in ((first, end, rule),) if guide.first_row == 2 else (
                    (first, _least(end, guide.first_row - 1), None), (max(first, guide.first_row - 1), end, rule)):
                if bottom is not None and bottom <= top:
                    continue
                span = {"startRowIndex": top, **({"endRowIndex": bottom} if bottom is not None else {})}
                out.append({"setDataValidation": {
                    "range": {"sheetId": sheet.sheet_id, **span, "startColumnIndex": col - 1, "endColumnIndex": col},
                    **({"rule": kept} if kept else {})}})
    for first, last in _runs(guide.computed_cols):
        out.append({"addProtectedRange": {"protectedRange": {
            "protectedRangeId": _fresh_id(used), "description": f"{PROTECTION} {version}", "warningOnly": True,
            "range": {"sheetId": sheet.sheet_id, "startColumnIndex": first - 1, "endColumnIndex": last}}}})
    out.append(_sheet_mark(_fresh_id(used), GUIDE_KEY, version, sheet.sheet_id))
    return out


def _entered(cell: dict) -> CellValue:
    """A cell of a spreadsheets.get answer as typed, as a FORMULA values read shows it (a
    formula as its text, which `landing.moved_columns` takes as unchanged)."""
    entered = cell.get("userEnteredValue") or {}
    if "formulaValue" in entered:
        return entered["formulaValue"]
    return next((entered[k] for k in ("stringValue", "numberValue", "boolValue") if k in entered), None)


def _own_rule(rule: dict, legacy: bool) -> bool:
    """Whether a cell's validation rule is a dropdown sheetcrm set: its help text starts with
    DROPDOWN_TAG. With `legacy` (the tab carries a guide mark of sheetcrm's), also the rule
    earlier versions set over the whole column, without help text: a non-strict list with
    the dropdown arrow (a team's rule of just that shape on such a tab is taken for one)."""
    if str(rule.get("inputMessage", "")).startswith(DROPDOWN_TAG):
        return True
    return legacy and "inputMessage" not in rule and rule.get("strict") is not True and rule.get("showCustomUi") is True \
        and rule.get("condition", {}).get("type") == "ONE_OF_LIST"


def _least(end: int | None, bound: int) -> int:
    """The smaller of an exclusive end (None: the grid's end) and `bound`."""
    return bound if end is None else min(end, bound)


def _gaps(spans: list[tuple[int, int]], rows: int) -> list[tuple[int, int | None]]:
    """The rows from the second (index 1) down that no span covers, as (first, end) with end
    exclusive and None for the rest of the grid of `rows` rows; `spans` sorted and disjoint."""
    out: list[tuple[int, int | None]] = []
    row = 1
    for first, end in spans:
        if first > row:
            out.append((row, first))
        row = max(row, end)
    if row < rows or not spans:
        out.append((row, None))
    return out


def _runs(cols: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive columns as (first, last) spans: a protected range covers one rectangle."""
    spans: list[tuple[int, int]] = []
    for col in sorted(cols):
        if spans and spans[-1][1] == col - 1:
            spans[-1] = (spans[-1][0], col)
        else:
            spans.append((col, col))
    return spans


def _fresh_id(used: set[int]) -> int:
    rng = random.SystemRandom()
    while True:
        candidate = rng.randint(1_000_000, 2_000_000_000)
        if candidate not in used:
            used.add(candidate)
            return candidate


def _blocks(writes: Iterable[CellWrite], shown: Mapping[tuple[str, int, int], dict]
            ) -> Iterable[tuple[str, list[CellWrite]]]:
    """Group writes into rectangles of consecutive cells: runs along a row, stacked while the
    next row's run spans the same columns. A Validation tab rewrite becomes one request.
    Cells sent with a number format (`shown`) and cells sent without never share a rectangle:
    a block's field mask sets the number format of every cell in it, so a percentage or an
    amount beside a date lost its own (a Probability % of 50% then showed 0.5, for good: the
    column's format mark said it was set)."""
    by_tab: dict[tuple[str, bool], dict[tuple[int, int], CellWrite]] = {}
    for w in writes:
        by_tab.setdefault((w.tab, w.key in shown), {})[(w.row, w.col)] = w
    for (tab, _with_format), cells in by_tab.items():
        runs: dict[int, list[tuple[int, int]]] = {}
        for row, col in sorted(cells):
            row_runs = runs.setdefault(row, [])
            if row_runs and row_runs[-1][1] == col - 1:
                row_runs[-1] = (row_runs[-1][0], col)
            else:
                row_runs.append((col, col))
        open_blocks: dict[tuple[int, int], tuple[int, int]] = {}  # (first col, last col) -> (top, bottom)
        done: list[tuple[int, int, int, int]] = []
        for row in sorted(runs):
            still: dict[tuple[int, int], tuple[int, int]] = {}
            for span in runs[row]:
                top_bottom = open_blocks.pop(span, None)
                if top_bottom and top_bottom[1] == row - 1 and row - top_bottom[0] < MAX_BLOCK_ROWS:
                    still[span] = (top_bottom[0], row)
                else:
                    if top_bottom:
                        done.append((*top_bottom, *span))
                    still[span] = (row, row)
            done.extend((*tb, *span) for span, tb in open_blocks.items())
            open_blocks = still
        done.extend((*tb, *span) for span, tb in open_blocks.items())
        for top, bottom, left, right in sorted(done):
            yield tab, [cells[(r, c)] for r in range(top, bottom + 1) for c in range(left, right + 1)]


def _adds_a_row(w: CellWrite) -> bool:
    """Whether `w` adds a record into a row every expected cell of which was empty
    (`plan.append_writes`, the Outbox's `append_row`)."""
    return bool(w.expect) and w.value not in (None, "") and all(v in (None, "") for _, v in w.expect)


def _room_for_added_rows(sheet_ids: Mapping[str, int], writes: Iterable[CellWrite],
                         deletes: Iterable[tuple[str, int]], header_rows: Mapping[str, int]
                         ) -> list[tuple[str, dict]]:
    """(tab, `insertDimension` request) pairs that open empty rows, early in the batch, where
    the records a write adds to a team's tab (`sheet_ids`) go. The key re-read found
    those rows empty, but there is no request between it and the batch: a row a person
    inserted or typed above in that instant moved the tab's last record onto the row aimed at,
    and the new record's cells replaced every one of its cells, with nothing said (the
    read-back finds records by their cells, and that record's were gone). Rows opened in the
    same atomic batch are empty whatever happened before it, and what a person had there
    moves down whole. Only where the added rows are one block below every other row the
    batch addresses in that tab: an insert shifts the rows under it, and rows below the
    block (a record re-aimed there by the re-read) would take cells meant for others: `_aim`
    leaves such a tab's additions to the next sync, and only a merge's delete below them still
    has them written as before (docs/concurrency.md, "What remains"). The new rows take the
    formats of the row after them, the empty row they would have been written into. A new
    column's header cell expects only itself empty: it adds no row."""
    out = []
    for tab, block in _added_blocks([w for w in writes if w.tab in sheet_ids], deletes, header_rows).items():
        if block is None:
            continue
        first, last = block
        out.append((tab, {"insertDimension": {"range": {"sheetId": sheet_ids[tab], "dimension": "ROWS",
                                                        "startIndex": first - 1, "endIndex": last},
                                              "inheritFromBefore": False}}))
    return out


def _added_blocks(writes: Iterable[CellWrite], deletes: Iterable[tuple[str, int]], header_rows: Mapping[str, int]
                  ) -> dict[str, tuple[int, int] | None]:
    """For each tab `writes` add records to (`_adds_a_row`): the (first, last) rows of those
    records when they are one block below every other row the writes and `deletes` address
    there, else None (rows opened for them would shift the others)."""
    added: dict[str, set[int]] = {}
    below: dict[str, int] = {}
    for w in writes:
        if w.row <= header_rows.get(w.tab, 1):
            continue
        if _adds_a_row(w) and len(w.expect) > 1:
            added.setdefault(w.tab, set()).add(w.row)
        else:
            below[w.tab] = max(below.get(w.tab, 0), w.row)
    for tab, row in deletes:
        below[tab] = max(below.get(tab, 0), row)
    out: dict[str, tuple[int, int] | None] = {}
    for tab, rows in added.items():
        first, last = min(rows), max(rows)
        out[tab] = None if len(rows) != last - first + 1 or below.get(tab, 0) >= first else (first, last)
    return out


def _room_for_appended_rows(plan: Plan, sheets: Mapping[str, "_Sheet"], writes: list[CellWrite]
                            ) -> list[tuple[str, dict]]:
    """(tab, `insertDimension`) pairs that open the rows a plan adds below every row of one of
    sheetcrm's tabs (`Plan.appended`: a history's new rows). Those writes carry no expectation:
    a row a person inserted above in the instant before the batch moved the tab's last row onto
    the first one aimed at, and the new row replaced it, a log row lost for good (a stage
    change the next sync recorded again under its own date). Opened in the same atomic batch,
    the rows are empty whatever happened before it. Only in a batch no earlier attempt of this
    write may have landed (`_sent`): a retry after a lost answer would open them a second time
    and show the new rows twice, while writing them again by position changes nothing."""
    out = []
    for title, (first, last) in plan.appended.items():
        sheet = sheets.get(title)
        rows = {w.row for w in writes if w.tab == title and w.row > 1}
        if sheet is None or not rows or min(rows) < first or max(rows) > last:
            continue
        out.append((title, {"insertDimension": {"range": {"sheetId": sheet.sheet_id, "dimension": "ROWS",
                                                          "startIndex": first - 1, "endIndex": last},
                                                "inheritFromBefore": False}}))
    return out


def _shown_rows(sheet_ids: Mapping[str, int], writes: Iterable[CellWrite]) -> list[dict]:
    """`updateDimensionProperties` requests that show (hiddenByUser false) the rows of
    existing tabs (`sheet_ids`) that `writes` add a record into: rows every expected cell of
    which was empty (`plan.append_writes`). People hide the empty rows below their data to
    tidy a tab; a converted lead's account, a form's lead or a workflow's task added there
    would stay unseen, to be typed in again by hand (the .xlsx path shows such a row too).
    The metadata read does not carry the rows' properties (one per row of every tab, at
    every sync), so the rows are shown whether or not they are hidden: on a shown row the
    request changes nothing. A row hidden by a filter stays filtered (hiddenByFilter)."""
    rows: dict[str, set[int]] = {}
    for w in writes:
        if w.tab in sheet_ids and _adds_a_row(w):
            rows.setdefault(w.tab, set()).add(w.row)
    return [{"updateDimensionProperties": {
        "range": {"sheetId": sheet_ids[tab], "dimension": "ROWS", "startIndex": first - 1, "endIndex": last},
        "properties": {"hiddenByUser": False}, "fields": "hiddenByUser"}}
        for tab, found in rows.items() for first, last in _runs(found)]


def _first_formats(plan: Plan, writes: Iterable[CellWrite], snapshot: Snapshot | None = None
                   ) -> dict[tuple[str, int, int], dict]:
    """The number format to send with each write that needs one, by the write's key.

    A column's format mark says which rows sheetcrm formatted, not which rows a person
    inserted since: Google gives an inserted row its neighbour's formats, the header's for a
    row inserted under it (inheritFromBefore), so a computed cell sheetcrm fills for the first
    time (it held nothing when read) may show no format at all, and there a fraction shows
    0.5 for 50 % and a date its serial, 46348. Such a cell gets, with its value, the column's
    format where the number would otherwise show another value (a percentage, a date); a
    cell that held a value keeps whatever format it shows, a person's own (`dd/mm/yyyy` on
    Last Activity) included, as on .xlsx. On sheetcrm's own tabs (writes by position, no
    `expect`) a date over a cell the read found a number or date in keeps that cell's format
    too (a team's `dd/mm/yyyy` on the Dashboard's Date): its date format is the column's or
    the person's (a row whose kind changed gets its row's format from `_format_requests`).
    Any other date is sent with the date format."""
    columns = {(f.tab, f.col): f.rows for f in plan.formats}
    out: dict[tuple[str, int, int], dict] = {}
    for w in writes:
        v = w.value
        if v is None or v == "" or w.formula or isinstance(v, (bool, str)):
            continue
        if w.held and not all(h is None or h == "" for h in w.held):
            # It held a value: its format is in place, whoever set it. Except a percentage's
            # fraction under a format the read did not see as a percentage: a person's `0.00` on
            # Probability % showed 20 % as 0.20 (`0,20`), a wrong figure on sheetcrm's own cell,
            # as .xlsx's `hides_percent` says. Google's values read gives no format, so only a
            # cell the formats read found percent-formatted (`Grid.percent`) keeps its own.
            number = _column_number(columns, w)
            if number is not None and number.type == "PERCENT" and not hasattr(v, "year") \
                    and not _shows_percent(snapshot, w):
                out[w.key] = {"type": number.type, "pattern": number.pattern}
            continue
        if not w.held and not w.expect and hasattr(v, "year") and _held_number(snapshot, w):
            continue
        if hasattr(v, "year"):
            out[w.key] = DATETIME_FORMAT if hasattr(v, "hour") else DATE_FORMAT
        elif w.held:
            number = _column_number(columns, w)
            if number is not None and number.type in SHOWS_ANOTHER_VALUE:
                out[w.key] = {"type": number.type, "pattern": number.pattern}
    return out


def _column_number(columns: Mapping[tuple[str, int], Any], w: CellWrite) -> Any:
    """The number format the plan gives `w`'s column at `w`'s row, or None."""
    return next((n for first, last, n in columns.get((w.tab, w.col), ())
                 if first <= w.row and (last is None or w.row <= last)), None)


def _shows_percent(snapshot: Snapshot | None, w: CellWrite) -> bool:
    """Whether the sync's formats read found a percent format on `w`'s cell."""
    grid = snapshot.tabs.get(w.tab) if snapshot is not None else None
    return grid is not None and (w.row - 1, w.col - 1) in grid.percent


def _held_number(snapshot: Snapshot | None, w: CellWrite) -> bool:
    """Whether the read found a number or a date (Google's serial) in `w`'s cell."""
    grid = snapshot.tabs.get(w.tab) if snapshot is not None else None
    if grid is None or w.row > len(grid.rows) or w.col > len(grid.rows[w.row - 1]):
        return False
    had = grid.rows[w.row - 1][w.col - 1]
    return not isinstance(had, bool) and (isinstance(had, (int, float)) or hasattr(had, "year"))


# Number format types under which a number shows another value than with no format: 0.5 is
# 50 %, 46348 is 2026-11-23.
SHOWS_ANOTHER_VALUE = frozenset({"PERCENT", "DATE", "DATE_TIME", "TIME"})


def _update_cells(sheet_id: int, block: list[CellWrite], shown: Mapping[tuple[str, int, int], dict]) -> dict:
    top = min(w.row for w in block)
    left = min(w.col for w in block)
    rows: dict[int, list[dict]] = {}
    for w in sorted(block, key=lambda w: (w.row, w.col)):
        rows.setdefault(w.row, []).append(_cell_data(w, shown.get(w.key)))
    formatted = any(w.key in shown for w in block)
    return {"updateCells": {
        "start": {"sheetId": sheet_id, "rowIndex": top - 1, "columnIndex": left - 1},
        "rows": [{"values": values} for _, values in sorted(rows.items())],
        # Only blocks sent with a format touch it, so an ID fill keeps the cell's own format.
        "fields": "userEnteredValue,userEnteredFormat.numberFormat" if formatted else "userEnteredValue",
    }}


def _retyped(plan: Plan) -> tuple[Plan, list[CellWrite]]:
    """`plan` with each replacement Google would change the meaning of made into writes by
    position, and those writes. A findReplace's replacement is entered as typed (Sheets'
    Find and replace): "0003" becomes the number 3, "TRUE" a yes/no, "2026-01-05" a date, so
    a reference re-pointed to a record whose ID is such text would name no record. Each cell
    that held `find` as read is written instead as text (`stringValue`, never parsed),
    guarded by its row's ID and by the cell still holding `find` (a keyed write, read back
    and put right like the Outbox's: `keyed`); on a row known by no ID, by the cell alone."""
    if all(_typed_as_itself(rep.replace) or not rep.rows for rep in plan.replacements):
        return plan, []
    writes, kept = [], []
    for rep in plan.replacements:
        if _typed_as_itself(rep.replace) or not rep.rows:
            kept.append(rep)
            continue
        writes.extend(CellWrite(rep.tab, row, rep.col, rep.replace, expect=(*key, (rep.col, rep.find)))
                      for row, key in rep.rows)
    return dataclasses.replace(plan, writes=[*plan.writes, *writes], replacements=kept), writes


def _typed_as_itself(text: str) -> bool:
    """Whether Sheets keeps `text` as that text when it is entered as typed (a findReplace's
    replacement): sheetcrm's own IDs (PREFIX-digits) and text with no digit that is no formula,
    sign, apostrophe or yes/no. Anything else may be read as a number, a date, a percentage
    or an amount, so it is not taken to be kept (a name with a digit is then written by
    position too: no harm, only not by content)."""
    if re.fullmatch(r"[A-Za-z]+-\d+", text):
        return True
    stripped = text.strip()
    return (bool(stripped) and not any(ch.isdigit() for ch in text) and stripped[0] not in "=+-'"
            and stripped.upper() not in ("TRUE", "FALSE", "VERDADERO", "FALSO"))


def _cell_data(w: CellWrite, number_format: dict | None = None) -> dict:
    v: CellValue = w.value
    if v is None or v == "":
        return {}
    if w.formula:
        return {"userEnteredValue": {"formulaValue": str(v)}}
    if isinstance(v, bool):
        return {"userEnteredValue": {"boolValue": v}}
    shown = {"userEnteredFormat": {"numberFormat": number_format}} if number_format else {}
    if isinstance(v, (int, float)):
        return {"userEnteredValue": {"numberValue": v}, **shown}
    if hasattr(v, "year"):
        return {"userEnteredValue": {"numberValue": serial_number(v)}, **shown}  # type: ignore[arg-type]
    return {"userEnteredValue": {"stringValue": str(v)}}


def _parts(requests_: list[dict], keep: int = 0) -> list[list[dict]]:
    """Split a batch only when it would exceed the payload limit. Structure comes first in the
    list, so it lands in the first part; an updateCells that does not fit is cut between
    rows to fill each part, so the number of parts is the fewest the payload allows. The
    last `keep` requests stay in one part (a hold, its copies and the deletes it guards)."""
    budget = MAX_PAYLOAD - 1024  # room for the {"requests": [...]} envelope
    head, tail = (requests_[:-keep], requests_[-keep:]) if keep else (requests_, [])
    parts = _split(head, budget)
    if tail:
        together = sum(len(_json_bytes(r)) + 1 for r in tail)
        if parts and sum(len(_json_bytes(r)) + 1 for r in parts[-1]) + together <= budget:
            parts[-1].extend(tail)
        else:
            parts.append(tail)
    return parts


def _split(requests_: list[dict], budget: int) -> list[list[dict]]:
    parts: list[list[dict]] = [[]]
    size = 0
    for request in requests_:
        pending = [request]
        while pending:
            r = pending.pop()
            n = len(_json_bytes(r)) + 1
            if size + n <= budget:
                parts[-1].append(r)
                size += n
                continue
            head, tail = _cut_rows(r, budget - size)
            if head is None:
                if not parts[-1]:
                    parts[-1].append(r)  # one row bigger than a part: send it alone, Google decides
                    size = n
                else:
                    parts.append([])
                    size = 0
                    pending.append(r)
                continue
            parts[-1].append(head)
            parts.append([])
            size = 0
            pending.append(tail)
    return [p for p in parts if p]


def _cut_rows(request: dict, room: int) -> tuple[dict | None, dict]:
    """The leading rows of an updateCells that fit in `room` bytes, and the rest."""
    update = request.get("updateCells")
    if update is None or len(update["rows"]) < 2:
        return None, request
    shell = len(_json_bytes({**request, "updateCells": {**update, "rows": []}})) + 1
    used, k = shell, 0
    for row in update["rows"]:
        used += len(_json_bytes(row)) + 1
        if used > room:
            break
        k += 1
    if k == 0 or k == len(update["rows"]):
        return None, request

    def piece(rows: list, offset: int) -> dict:
        start = {**update["start"], "rowIndex": update["start"]["rowIndex"] + offset}
        return {"updateCells": {**update, "start": start, "rows": rows}}

    return piece(update["rows"][:k], 0), piece(update["rows"][k:], k)
