"""The emulated Google backend, independent of HTTP: routes a request (method, raw path,
query, body) to the Sheets or Drive operation and returns (status, JSON body).

All state lives here behind one lock, and requests are applied one at a time. Every
mutating request runs in a transaction on its spreadsheet (``Spreadsheet.transaction``)
that is undone unless the whole request succeeded, so a failing batch leaves nothing
half-done.
"""

from __future__ import annotations

import json
import random
import re
import string
import threading
from typing import Callable
from urllib.parse import parse_qs, unquote, urlsplit

from . import access, batch, dimensions, drive_api, fields, metadata, schema, sheets_api, values_api
from .errors import ApiError, invalid, not_found
from .model import Spreadsheet, now_rfc3339
from .quota import Quota

DEFAULT_ACCOUNT = "sheetcrm-emulator@sheetcrm.invalid"
_ID_CHARS = string.ascii_letters + string.digits + "-_"

_SHEETS = "/v4/spreadsheets"
_ROUTES = [
    ("POST", re.compile(r"^/v4/spreadsheets$"), "create"),
    ("GET", re.compile(r"^/v4/spreadsheets/([^/:]+)$"), "get"),
    ("POST", re.compile(r"^/v4/spreadsheets/([^/:]+):batchUpdate$"), "batch_update"),
    ("POST", re.compile(r"^/v4/spreadsheets/([^/:]+):getByDataFilter$"), "get_by_data_filter"),
    ("GET", re.compile(r"^/v4/spreadsheets/([^/:]+)/values:batchGet$"), "values_batch_get"),
    ("POST", re.compile(r"^/v4/spreadsheets/([^/:]+)/values:batchGetByDataFilter$"), "values_batch_get_by_filter"),
    ("POST", re.compile(r"^/v4/spreadsheets/([^/:]+)/values:batchUpdate$"), "values_batch_update"),
    ("POST", re.compile(r"^/v4/spreadsheets/([^/:]+)/values:batchClear$"), "values_batch_clear"),
    ("POST", re.compile(r"^/v4/spreadsheets/([^/:]+)/values/(.+):append$"), "values_append"),
    ("POST", re.compile(r"^/v4/spreadsheets/([^/:]+)/values/(.+):clear$"), "values_clear"),
    ("GET", re.compile(r"^/v4/spreadsheets/([^/:]+)/values/(.+)$"), "values_get"),
    ("PUT", re.compile(r"^/v4/spreadsheets/([^/:]+)/values/(.+)$"), "values_update"),
    ("POST", re.compile(r"^/v4/spreadsheets/([^/:]+)/developerMetadata:search$"), "metadata_search"),
    ("GET", re.compile(r"^/v4/spreadsheets/([^/:]+)/developerMetadata/(\d+)$"), "metadata_get"),
    ("POST", re.compile(r"^/drive/v3/files$"), "drive_create"),
    ("GET", re.compile(r"^/drive/v3/files$"), "drive_list"),
    ("GET", re.compile(r"^/drive/v3/files/([^/]+)$"), "drive_get"),
    ("DELETE", re.compile(r"^/drive/v3/files/([^/]+)$"), "drive_delete"),
]
# The schema of each Sheets method's answer, which a `fields` mask selects from.
_RESPONSES = {
    "create": "Spreadsheet", "get": "Spreadsheet", "get_by_data_filter": "Spreadsheet",
    "batch_update": "BatchUpdateSpreadsheetResponse", "values_get": "ValueRange",
    "values_batch_get": "BatchGetValuesResponse", "values_batch_get_by_filter": "BatchGetValuesByDataFilterResponse",
    "values_batch_update": "BatchUpdateValuesResponse", "values_batch_clear": "BatchClearValuesResponse",
    "values_append": "AppendValuesResponse", "values_clear": "ClearValuesResponse",
    "values_update": "UpdateValuesResponse", "metadata_search": "SearchDeveloperMetadataResponse",
    "metadata_get": "DeveloperMetadata",
}
# The reads, by Google's method ID: a query parameter none of them takes is refused, as Google
# refuses one (googleapis/google-api-nodejs-client#588, a Sheets call): a misspelt
# valueRenderOption would otherwise read formatted text here, silently, and fail on Google.
_READS = {"get": "sheets.spreadsheets.get", "values_get": "sheets.spreadsheets.values.get",
          "values_batch_get": "sheets.spreadsheets.values.batchGet",
          "metadata_get": "sheets.spreadsheets.developerMetadata.get"}
# Those that build only what their mask keeps, and select it themselves.
_SELF_MASKED = {"get", "get_by_data_filter"}
# POST endpoints that only read, and so count against the read quota.
_READ_POSTS = {"get_by_data_filter", "values_batch_get_by_filter", "metadata_search"}


class Service:
    def __init__(self, *, account: str = DEFAULT_ACCOUNT, seed: int | None = None, quota: Quota | None = None):
        self.account = account
        self.quota = quota or Quota()
        self.books: dict[str, Spreadsheet] = {}
        self.lock = threading.RLock()
        self.rng = random.Random(seed)
        self.on_commit: Callable[[], None] | None = None

    # -- ids -----------------------------------------------------------------------
    def new_object_id(self) -> int:
        return self.rng.randrange(1, 2**31 - 1)

    def new_spreadsheet_id(self) -> str:
        while True:
            candidate = "1" + "".join(self.rng.choice(_ID_CHARS) for _ in range(43))
            if candidate not in self.books:
                return candidate

    # -- state access ----------------------------------------------------------------
    def book(self, spreadsheet_id: str) -> Spreadsheet:
        book = self.books.get(spreadsheet_id)
        if book is None:
            raise not_found()
        return book

    def commit(self, spreadsheet_id: str, change: Callable[[Spreadsheet], object], *, guarded: bool = False):
        """Apply ``change`` to the spreadsheet, undoing all of it if it raises. A ``guarded``
        change is the caller's over HTTP, which the spreadsheet's sharing and protections
        bind (`access`); unguarded ones are the test helpers', acting as its owner."""
        with self.lock:
            book = self.book(spreadsheet_id)
            if guarded:
                access.check_write(book.role)
            before = access.locked(book) if guarded else {}
            with book.transaction():
                result = change(book)
                book.check_cell_limit()
                access.check_unchanged(before, access.locked(book))
            book.modified = now_rfc3339()
            if self.on_commit:
                self.on_commit()
            return result

    def add(self, book: Spreadsheet) -> None:
        with self.lock:
            self.books[book.id] = book
            if self.on_commit:
                self.on_commit()

    def batch_context(self, *, guarded: bool = False, account: str | None = None) -> batch.Context:
        return batch.Context(self.new_object_id, account or self.account, guarded=guarded)

    # -- persistence -------------------------------------------------------------------
    def snapshot(self) -> dict:
        with self.lock:
            return {"version": 1, "spreadsheets": [b.to_json() for b in self.books.values()]}

    def restore(self, data: dict) -> None:
        with self.lock:
            self.books = {b["id"]: Spreadsheet.from_json(b) for b in data.get("spreadsheets", [])}

    # -- dispatch --------------------------------------------------------------------
    def handle(self, method: str, target: str, body: bytes) -> tuple[int, dict | None]:
        parts = urlsplit(target)
        query = parse_qs(parts.query, keep_blank_values=True)
        try:
            for verb, pattern, name in _ROUTES:
                m = pattern.match(parts.path)
                if m and verb == method:
                    args = [unquote(g) for g in m.groups()]
                    payload = self._json(body)
                    if parts.path.startswith(_SHEETS):
                        self.quota.charge("Read" if method == "GET" or name in _READ_POSTS else "Write")
                    if name in _READS:
                        _check_parameters(query, _READS[name])
                    # `fields` is read before the request runs: a bad mask changes nothing.
                    mask = fields.parse(query["fields"][0]) if query.get("fields") and name in _RESPONSES else None
                    if mask is not None:
                        fields.check(mask, _RESPONSES[name])
                    with self.lock:
                        status, answer = getattr(self, "_" + name)(*args, query=query, body=payload)
                    if mask is not None and name not in _SELF_MASKED:
                        answer = fields.select(answer, mask)
                    return status, answer
            raise ApiError(404, f"Method not found: {method} {parts.path}")
        except ApiError as err:
            return err.code, err.body()

    @staticmethod
    def _json(body: bytes) -> dict:
        if not body:
            return {}
        try:
            payload = json.loads(body)
        except ValueError:
            raise invalid("Invalid JSON payload received. Unexpected token.") from None
        if not isinstance(payload, dict):
            raise invalid("Invalid JSON payload received. Expected an object.")
        return _strip_nulls(payload)

    # -- Sheets ------------------------------------------------------------------------
    def _create(self, *, query, body):
        book = sheets_api.new_spreadsheet(self.new_spreadsheet_id(), body, self.new_object_id)
        self.add(book)
        return 200, sheets_api.render(book)

    def _get(self, sid, *, query, body):
        return 200, sheets_api.get(self.book(sid), query)

    def _get_by_data_filter(self, sid, *, query, body):
        return 200, sheets_api.get_by_data_filter(self.book(sid), body, query)

    def _batch_update(self, sid, *, query, body):
        ctx = self.batch_context(guarded=True)
        return 200, self.commit(sid, lambda book: sheets_api.batch_update(book, body, ctx), guarded=True)

    def _metadata_search(self, sid, *, query, body):
        return 200, metadata.search(self.book(sid), body.get("dataFilters") or [])

    def _metadata_get(self, sid, metadata_id, *, query, body):
        found = metadata.get(self.book(sid), int(metadata_id))
        if found is None:
            raise not_found()
        return 200, found

    def _values_get(self, sid, rng, *, query, body):
        return 200, values_api.value_range(self.book(sid), rng, query)

    def _values_batch_get(self, sid, *, query, body):
        return 200, values_api.batch_get(self.book(sid), query)

    def _values_batch_get_by_filter(self, sid, *, query, body):
        book = self.book(sid)
        matches = []
        for flt in body.get("dataFilters") or []:
            for text in sheets_api.filter_ranges(book, flt):
                vr = values_api.value_range(book, text, {}, body)
                matches.append({"valueRange": vr, "dataFilters": [flt]})
        out = {"spreadsheetId": sid}
        if matches:
            out["valueRanges"] = matches
        return 200, out

    def _values_update(self, sid, rng, *, query, body):
        return 200, self.commit(sid, lambda book: values_api.update(book, rng, body, query), guarded=True)

    def _values_batch_update(self, sid, *, query, body):
        return 200, self.commit(sid, lambda book: values_api.batch_update(book, body, query), guarded=True)

    def _values_append(self, sid, rng, *, query, body):
        def insert_rows(book, sheet, start, end):
            dimensions.insert(book, sheet, "ROWS", start, end)

        return 200, self.commit(sid, lambda book: values_api.append(book, rng, body, query, insert_rows), guarded=True)

    def _values_clear(self, sid, rng, *, query, body):
        cleared = self.commit(sid, lambda book: values_api.clear(book, rng), guarded=True)
        return 200, {"spreadsheetId": sid, "clearedRange": cleared}

    def _values_batch_clear(self, sid, *, query, body):
        return 200, self.commit(sid, lambda book: values_api.batch_clear(book, body), guarded=True)

    # -- Drive -------------------------------------------------------------------------
    def _drive_book(self, file_id: str) -> Spreadsheet:
        book = self.books.get(file_id)
        if book is None:
            raise drive_api.file_not_found(file_id)
        return book

    def _drive_create(self, *, query, body):
        title = drive_api.check_create(body)
        book = sheets_api.new_spreadsheet(self.new_spreadsheet_id(), {"properties": {"title": title}}, self.new_object_id)
        self.add(book)
        return 200, drive_api.describe(book, query)

    def _drive_list(self, *, query, body):
        return 200, drive_api.list_files(list(self.books.values()), query)

    def _drive_get(self, file_id, *, query, body):
        return 200, drive_api.describe(self._drive_book(file_id), query)

    def _drive_delete(self, file_id, *, query, body):
        self._drive_book(file_id)
        del self.books[file_id]
        if self.on_commit:
            self.on_commit()
        return 204, None


def _check_parameters(query: dict, method: str) -> None:
    known = set(schema.PARAMETERS["*"]) | set(schema.PARAMETERS[method])
    for name in query:
        if name not in known:
            said = (f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query parameter. '
                    f"Field '{name}' could not be found in request message.")
            raise ApiError(400, said, details=[{"@type": "type.googleapis.com/google.rpc.BadRequest",
                                                "fieldViolations": [{"description": said}]}])


def _strip_nulls(obj):
    """JSON null means "not set" to Google's proto parser."""
    if isinstance(obj, dict):
        return {k: _strip_nulls(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [_strip_nulls(v) for v in obj]
    return obj
