"""HTTP front of the emulator, the in-process ``Emulator`` with its test hooks, and
``serve`` for running it in the foreground with a state file.

The hooks act at the transport level, before the request reaches the backend: a failed
or dropped request never changes state, just as a 503 or a reset from Google would not.
"""

from __future__ import annotations

import gzip
import json
import signal
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import chain
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from . import batch, store, values_api
from .a1 import quote_title
from .errors import ApiError
from .quota import Quota
from .service import DEFAULT_ACCOUNT, Service
from .sheets_api import new_spreadsheet


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict
    request: bytes
    response: bytes     # the body as encoded JSON, before any Content-Encoding
    status: int | None  # None when the connection was dropped
    wire: int = 0       # body bytes on the wire: len(response), or fewer when gzipped


@dataclass
class _Hooks:
    fail: list = field(default_factory=list)  # [(status, retry_after)] per upcoming request
    drop: int = 0
    drop_applied: int = 0
    callbacks: list = field(default_factory=list)
    before_path: list = field(default_factory=list)  # (path suffix, callback), each run once


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ESF"
    emulator: "Emulator"

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle's
        # algorithm and the client's delayed ACK add ~40 ms to every response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):  # noqa: A002 - signature fixed by the base class
        """Silence per-request logging; ``Emulator.requests`` records traffic instead."""

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _dispatch(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.emulator._serve_one(self, body)

    def reset_connection(self):
        # SO_LINGER with a zero timeout makes close() send RST: the client sees a reset.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def reply(self, status: int, data: bytes, headers: dict) -> None:
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json; charset=UTF-8")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class Emulator:
    """A Sheets/Drive emulator on a free loopback port, served from a background thread.

    ``with Emulator() as emu:`` starts it; ``emu.host`` is ``"127.0.0.1:PORT"``.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        account: str = DEFAULT_ACCOUNT,
        seed: int | None = None,
        read_quota: int | None = None,
        write_quota: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        service: Service | None = None,
    ):
        self.service = service or Service(account=account, seed=seed, quota=Quota(read_quota, write_quota, clock))
        self._bind = (host, port)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._hooks = _Hooks()
        self._hook_lock = threading.Lock()
        self.requests: list[RequestRecord] = []

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> "Emulator":
        handler = type("Handler", (_Handler,), {"emulator": self})
        self._server = ThreadingHTTPServer(self._bind, handler)
        self._server.daemon_threads = True
        # A short poll interval keeps stop() fast; tests start and stop many emulators.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="sheets-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def host(self) -> str:
        address, port = self._server.server_address[:2]
        return f"{address}:{port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    # -- test hooks -------------------------------------------------------------------
    def fail_next(self, n: int = 1, status: int = 503, retry_after: int | None = None) -> None:
        """The next ``n`` requests get Google's error body for ``status`` and change nothing."""
        with self._hook_lock:
            self._hooks.fail.extend([(status, retry_after)] * n)

    def drop_next(self, n: int = 1, *, after_applying: bool = False) -> None:
        """The next ``n`` requests are answered with a TCP reset: not applied, or, with
        ``after_applying``, applied first, as when Google commits and the answer is lost."""
        with self._hook_lock:
            if after_applying:
                self._hooks.drop_applied += n
            else:
                self._hooks.drop += n

    def clear_faults(self) -> None:
        """Forget every failure and dropped answer still waiting for a request."""
        with self._hook_lock:
            self._hooks.fail.clear()
            self._hooks.drop = self._hooks.drop_applied = 0

    def between_requests(self, callback: Callable[["Emulator"], None]) -> None:
        """Run ``callback(emulator)`` just before the next request is handled."""
        with self._hook_lock:
            self._hooks.callbacks.append(callback)

    def before_next(self, path_suffix: str, callback: Callable[["Emulator"], None]) -> None:
        """Run ``callback(emulator)`` just before the next request whose path ends with
        ``path_suffix`` (":batchUpdate") is handled, whatever requests come before it; like
        ``between_requests``, before any fault armed for that request."""
        with self._hook_lock:
            self._hooks.before_path.append((path_suffix, callback))

    def _serve_one(self, handler: _Handler, body: bytes) -> None:
        with self._hook_lock:
            callbacks, self._hooks.callbacks = self._hooks.callbacks, []
        for callback in callbacks:
            callback(self)
        parts = urlsplit(handler.path)
        with self._hook_lock:
            due, self._hooks.before_path = (
                [h for h in self._hooks.before_path if parts.path.endswith(h[0])],
                [h for h in self._hooks.before_path if not parts.path.endswith(h[0])])
        for _suffix, callback in due:
            callback(self)
        record = RequestRecord(handler.command, parts.path, parse_qs(parts.query), body, b"", None)
        with self._hook_lock:
            drop = self._hooks.drop > 0
            if drop:
                self._hooks.drop -= 1
            fail = self._hooks.fail.pop(0) if (self._hooks.fail and not drop) else None
        if drop:
            self.requests.append(record)
            handler.reset_connection()
            return
        headers = {}
        if fail:
            status, retry_after = fail
            payload = ApiError(status).body()
            if retry_after is not None:
                headers["Retry-After"] = str(retry_after)
        else:
            status, payload = self.service.handle(handler.command, handler.path, body)
            with self._hook_lock:
                lost = self._hooks.drop_applied > 0
                if lost:
                    self._hooks.drop_applied -= 1
            if lost:
                self.requests.append(record)
                handler.reset_connection()
                return
        record.status = status
        # Google indents its answers unless the request says prettyPrint=false (a standard
        # query parameter of every Google API), then answers without a space or a line break.
        compact = record.query.get("prettyPrint", [""])[-1].lower() == "false"
        record.response = data = (b"" if payload is None else compact_json(payload).encode("utf-8") if compact
                                  else pretty_json(payload).encode("utf-8"))
        if data and accepts_gzip(handler.headers.get("Accept-Encoding")):
            # As Google does (tests/fixtures/sheets-cassettes: every answer with a body came
            # gzipped to requests' "Accept-Encoding: gzip, deflate"; an empty 204 did not).
            data = gzip.compress(data, compresslevel=6, mtime=0)
            headers["Content-Encoding"] = "gzip"
        record.wire = len(data)
        # Logged before answering, so a client that has its answer also sees it logged.
        self.requests.append(record)
        handler.reply(status, data, headers)

    # -- state helpers for tests ---------------------------------------------------------
    def create_spreadsheet(self, title: str = "Untitled spreadsheet", tabs: dict[str, list[list]] | None = None,
                           *, value_input: str = "RAW") -> str:
        """Create a spreadsheet whose tabs hold the given rows; returns its ID."""
        svc = self.service
        with svc.lock:
            tabs = tabs or {"Sheet1": []}
            body = {"properties": {"title": title}, "sheets": [{"properties": {"title": t}} for t in tabs]}
            book = new_spreadsheet(svc.new_spreadsheet_id(), body, svc.new_object_id)
            svc.add(book)
        for tab, rows in tabs.items():
            if rows:
                self.set_values(book.id, _quoted(tab), rows, value_input=value_input)
        return book.id

    def set_values(self, spreadsheet_id: str, range_: str, rows: list[list], *, value_input: str = "USER_ENTERED") -> None:
        """Write rows starting at ``range_`` (a tab title or A1 range), as a user pasting them."""
        self.service.commit(
            spreadsheet_id,
            lambda book: values_api.write(book, range_, {"values": rows}, value_input, {}),
        )

    def set_cell(self, spreadsheet_id: str, tab: str, cell: str, value, *, value_input: str = "USER_ENTERED") -> None:
        self.set_values(spreadsheet_id, f"{quote_title(tab)}!{cell}", [[value]], value_input=value_input)

    def values(self, spreadsheet_id: str, tab: str) -> list[list]:
        """The tab's effective values (numbers as numbers), trailing empties trimmed."""
        with self.service.lock:
            book = self.service.book(spreadsheet_id)
            sheet, sr, er, sc, ec = book.resolve(_quoted(tab))
            return values_api.read_box(book, sheet, sr, er, sc, ec, "ROWS", "UNFORMATTED_VALUE", "SERIAL_NUMBER")

    def sheet_id(self, spreadsheet_id: str, tab: str) -> int:
        with self.service.lock:
            sheet = self.service.book(spreadsheet_id).sheet_by_title(tab)
            if sheet is None:
                raise KeyError(tab)
            return sheet.id

    def apply(self, spreadsheet_id: str, requests: list[dict]) -> list[dict]:
        """Run batchUpdate requests directly, bypassing HTTP, hooks and quotas, as the
        spreadsheet's owner (a protection added here has the owner alone as its editor)."""
        with self.service.lock:
            owner = self.service.book(spreadsheet_id).owner
        ctx = self.service.batch_context(account=owner)
        return self.service.commit(spreadsheet_id, lambda book: batch.apply(book, requests, ctx))

    def share(self, spreadsheet_id: str, role: str, owner: str = "owner@example.com") -> None:
        """Make ``owner`` (a person) the spreadsheet's owner, who shared it with the emulator's
        account as Editor (``"writer"``) or as Viewer (``"reader"``): see `access`."""
        if role not in ("writer", "reader"):
            raise ValueError(role)
        with self.service.lock:
            book = self.service.book(spreadsheet_id)
            book.owner, book.caller, book.role = owner, self.service.account, role

    def insert_rows(self, spreadsheet_id: str, tab: str, index: int, count: int = 1,
                    inherit_from_before: bool = False) -> None:
        """Insert ``count`` empty rows before 0-based row ``index``, as a user would: they take
        the formats of the row after them or, `inherit_from_before`, of the row before (the
        header's, for rows inserted right under it)."""
        rng = {"sheetId": self.sheet_id(spreadsheet_id, tab), "dimension": "ROWS", "startIndex": index, "endIndex": index + count}
        self.apply(spreadsheet_id, [{"insertDimension": {"range": rng, "inheritFromBefore": inherit_from_before}}])

    def delete_rows(self, spreadsheet_id: str, tab: str, index: int, count: int = 1) -> None:
        rng = {"sheetId": self.sheet_id(spreadsheet_id, tab), "dimension": "ROWS", "startIndex": index, "endIndex": index + count}
        self.apply(spreadsheet_id, [{"deleteDimension": {"range": rng}}])

    def sort_rows(self, spreadsheet_id: str, tab: str, column: int, *, descending: bool = False, header_rows: int = 1) -> None:
        """Sort the tab's rows below the header by 0-based ``column``."""
        sheet_id = self.sheet_id(spreadsheet_id, tab)
        rng = {"sheetId": sheet_id, "startRowIndex": header_rows}
        spec = {"dimensionIndex": column, "sortOrder": "DESCENDING" if descending else "ASCENDING"}
        self.apply(spreadsheet_id, [{"sortRange": {"range": rng, "sortSpecs": [spec]}}])


def accepts_gzip(header: str | None) -> bool:
    """Whether an Accept-Encoding header accepts gzip (RFC 9110 §12.5.3): "gzip" (or its
    alias "x-gzip") listed with a weight above 0, or, when it is not listed, "*" is.
    No header, or "identity" alone, means the body goes as it is."""
    weights: dict[str, float] = {}
    for item in (header or "").split(","):
        coding, *params = item.split(";")
        weight = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[coding.strip().lower()] = weight
    for name in ("gzip", "x-gzip"):
        if name in weights:
            return weights[name] > 0
    return weights.get("*", 0.0) > 0


# Every newline the C encoder writes with these separators is one: newlines in strings are escaped.
_GRID_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",\n", ": "))
_SCALARS = frozenset({str, int, float, bool, type(None)})


def compact_json(obj) -> str:
    """An answer to a request with prettyPrint=false: no whitespace between tokens."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def pretty_json(obj) -> str:
    """``json.dumps(obj, indent=2, ensure_ascii=False)``, the layout of Google's responses.

    ``indent`` sends json to its pure-Python encoder, which takes most of a large read's
    time. Grids of values (lists of lists of scalars), the bulk of any large response, are
    encoded by the C encoder instead and indented afterwards; the rest goes as usual."""
    out: list[str] = []
    _pretty(obj, "\n", out)
    return "".join(out)


def _pretty(obj, newline: str, out: list[str]) -> None:
    inner = newline + "  "
    if type(obj) is dict and obj and all(type(k) is str for k in obj):
        sep = "{" + inner
        for key, value in obj.items():
            out.append(sep + json.encoder.encode_basestring(key) + ": ")
            _pretty(value, inner, out)
            sep = "," + inner
        out.append(newline + "}")
    elif _is_grid(obj):
        cell = inner + "  "
        rows = _GRID_ENCODER.encode(obj)[2:-2].replace(",\n", "," + cell).split("]," + cell + "[")
        rows = [("[" + cell + row + inner + "]") if row else "[]" for row in rows]
        out.append("[" + inner + ("," + inner).join(rows) + newline + "]")
    elif type(obj) is list and obj:
        sep = "[" + inner
        for value in obj:
            out.append(sep)
            _pretty(value, inner, out)
            sep = "," + inner
        out.append(newline + "]")
    else:
        out.append(json.dumps(obj, indent=2, ensure_ascii=False).replace("\n", newline))


def _is_grid(obj) -> bool:
    return type(obj) is list and bool(obj) and set(map(type, obj)) == {list} and (
        set(map(type, chain.from_iterable(obj))) <= _SCALARS)


def _quoted(tab: str) -> str:
    return "'" + tab.replace("'", "''") + "'"


def _said_ready(url: str, ids: list[str], host: str, empty: str | None = None) -> None:
    # Plain lines, read by scripts (bench/bench_targets.py takes the ID as the line's last word):
    # the empty spreadsheet is the first one; `sheetcrm emulator` marks it for people.
    print(f"Google Sheets API emulator listening on {url}", flush=True)
    for sid in ids:
        print(f"  spreadsheet {sid}", flush=True)
    print(f"use it with: export SHEETS_EMULATOR_HOST={host}", flush=True)


def _empty(book) -> bool:
    return not any(sheet.has_value(r, c) for sheet in book.sheets for r, row in sheet.cells.items() for c in row)


def serve(host: str = "127.0.0.1", port: int = 8085, data: str | None = None,
          ready: Callable[[str, list[str], str, str], None] | None = None) -> None:
    """Run the emulator in the foreground until SIGINT/SIGTERM. With ``data``, state is
    loaded from that JSON file if it exists and saved back after every change. ``ready``
    hears, once it listens, its URL, the IDs of the spreadsheets it holds (an empty one first),
    the value of SHEETS_EMULATOR_HOST that reaches it and that empty one's ID (`sheetcrm
    emulator` says them in the team's words); without it, three plain lines say them on stdout."""
    service = Service()
    if data:
        saved = store.load(data)
        if saved:
            service.restore(saved)
        service.on_commit = lambda: store.save(data, service.snapshot())
    emulator = Emulator(host, port, service=service).start()
    empty = next((book.id for book in service.books.values() if _empty(book)), None)
    if empty is None:
        # An emulator always holds an empty spreadsheet, named first, so `sheetcrm demo
        # --spreadsheet ID` has a target: restarted on its --data after a demo, it held only the
        # demo's, and the README's `sheetcrm demo` on the ID it printed was refused.
        empty = emulator.create_spreadsheet("sheetcrm")
        if data:
            store.save(data, service.snapshot())
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    ids = [empty, *(book.id for book in service.books.values() if book.id != empty)]
    (ready or _said_ready)(emulator.url, ids, emulator.host, empty)
    try:
        stopping.wait()
    finally:
        emulator.stop()

