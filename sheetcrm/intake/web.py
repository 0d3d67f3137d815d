"""`sheetcrm serve`: a website form posts leads to `POST /leads`; each accepted submission is on
disk (`intake.queue`) before the answer, and a sync appends it to the workbook later.

A post goes through, in this order (the first refusal answers):

1. the per-IP rate limit: a token bucket of `[serve] burst` tokens refilled at `rate` per
   second; empty -> 429 with Retry-After;
2. the origin allow-list (`[serve] origins`, the browser's Origin header): another origin -> 403.
   A post with no Origin header (not from a browser) passes only when it is signed;
3. the signature, when SHEETCRM_FORM_SECRET is set: `X-Sheetcrm-Timestamp: <Unix seconds>` and
   `X-Sheetcrm-Signature: sha256=<hex>`, the HMAC-SHA256 with the secret of the timestamp, a
   period and the raw body (`signature`); missing, wrong, or a timestamp more than WINDOW
   seconds from now -> 403;
4. the body: form-encoded or JSON (an object); anything else -> 400;
5. the honeypot (`[serve] honeypot`, a field hidden from people): filled (any of its values)
   -> 202 and dropped, never stored, so a bot learns nothing;
6. the lead: the posted names mapped to Leads fields (`[serve] fields`, a Leads field's own
   name needs no mapping; other names are ignored); a field over FIELD_CHARS characters or
   holding a line break or another control character (`intake.text`) -> 422; a field given
   two different values (the name repeated, a JSON array, two names mapped to it: `lead_fields`)
   or a value that is no text (a JSON true/false, object, nested array) -> 422, as keeping one
   would drop the other silently; then the Leads rules the sheet and the form intake use
   (`records.Lead`); broken -> 400; both with each field's message in the config's language;
7. stored (`WebQueue.put`, on disk when it returns) -> 201 with the receipt; the disk refusing
   -> 503; a signature the queue has already stored a submission for (a replay) -> 403.

The answers are JSON: {"receipt": "1a2b3c4d5e6f"}, {"errors": {"email": "..."}}, {"error": "..."}.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import math
import sys
import threading
import time
import typing
import urllib.parse
from typing import Any, Callable

import uvicorn
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sheetcrm import cells, team_time
from sheetcrm.config import Config
from sheetcrm.i18n import _, using
from sheetcrm.intake.drain import drain
from sheetcrm.intake.forms import web_lead_values
from sheetcrm.intake.queue import QueueError, SeenBefore, WebQueue
from sheetcrm.intake.settings import LeadField
from sheetcrm.intake.text import problem
from sheetcrm.lock import WorkbookLock
from sheetcrm.records import Lead
from sheetcrm.validate import parse_context
from sheetcrm.workbook import Workbook, WorkbookError

SECRET_ENV = "SHEETCRM_FORM_SECRET"
SIGNATURE_HEADER = "X-Sheetcrm-Signature"
TIMESTAMP_HEADER = "X-Sheetcrm-Timestamp"
WINDOW = 300  # seconds a signed post's timestamp may be from the server's clock, either way
FIELD_CHARS = 1_000  # characters of one posted field: every Leads field a form fills is one short line
LEAD_FIELDS = frozenset(typing.get_args(LeadField))
MAX_BODY = 64 * 1024  # bytes; a lead is a few hundred
MAX_BUCKETS = 100_000  # IPs remembered; past it, the full buckets (idle IPs) are forgotten


class RateLimit:
    """A token bucket per IP: `burst` tokens, refilled at `rate` per second (`clock` seconds)."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, ip: str) -> float:
        """0 when the post may go on (a token taken), else the seconds until the next token."""
        with self._lock:
            now = self.clock()
            tokens, then = self.buckets.get(ip, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            if len(self.buckets) > MAX_BUCKETS:
                self.buckets = {k: v for k, v in self.buckets.items() if v[0] < self.burst}
            if tokens < 1:
                self.buckets[ip] = (tokens, now)
                return (1 - tokens) / self.rate
            self.buckets[ip] = (tokens - 1, now)
            return 0.0


def signature(secret: bytes, body: bytes, timestamp: int | str) -> str:
    """The X-Sheetcrm-Signature header's value for `body` sent with X-Sheetcrm-Timestamp
    `timestamp` (Unix seconds): "sha256=" and the hex HMAC-SHA256 of "<timestamp>.<body>".
    The timestamp is inside the MAC so that a captured post cannot be sent again later."""
    return "sha256=" + hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def signed_mac(secret: bytes, body: bytes, stamp: str | None, signed: str | None, now: float) -> str | None:
    """The post's MAC (lowercase hex) when `signed` is the signature of `body` at `stamp` and
    `stamp` is within WINDOW seconds of `now` (Unix seconds); else None. Hex in any case."""
    if not signed or not stamp or not stamp.strip().isdigit() or abs(int(stamp) - now) > WINDOW:
        return None
    scheme, _sep, given = signed.strip().partition("=")
    mac = signature(secret, body, stamp.strip()).partition("=")[2]
    if scheme.strip().lower() != "sha256" or not hmac.compare_digest(given.strip().lower().encode(), mac.encode()):
        return None
    return mac


def make_app(config: Config, queue: WebQueue, secret: bytes | None = None,
             clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> Starlette:
    """The ASGI app of `POST /leads` (rules in the module docstring). `clock` paces the rate
    limit; `wall` (Unix seconds) checks signed timestamps."""
    settings = config.serve
    limit = RateLimit(settings.rate, settings.burst, clock)
    origins = {o.rstrip("/") for o in settings.origins}
    parse = parse_context(config)

    async def leads(request: Request) -> JSONResponse:
        with using(config.locale):
            ip = request.client.host if request.client else "?"
            wait = limit.take(ip)
            if wait:
                return JSONResponse({"error": _("Too many submissions; try again later.")}, 429,
                                    headers={"Retry-After": str(math.ceil(wait))})
            body = await request.body()
            origin = request.headers.get("origin")
            signed = request.headers.get(SIGNATURE_HEADER)
            if origins and (origin.rstrip("/") not in origins if origin else not (secret and signed)):
                return JSONResponse({"error": _("This form is not accepted from this site.")}, 403)
            mac = None
            if secret:
                mac = signed_mac(secret, body, request.headers.get(TIMESTAMP_HEADER), signed, wall())
                if mac is None:
                    return JSONResponse({"error": _("The submission's signature or timestamp is missing, wrong or "
                                                    "out of date.")}, 403)
            if len(body) > MAX_BODY:
                return JSONResponse({"error": _("The submission is too large.")}, 413)
            posted = _posted(body, request.headers.get("content-type", ""))
            if posted is None:
                return JSONResponse({"error": _("Send the form as form fields or as a JSON object.")}, 400)
            if any(str(value or "").strip() for value in _flat(posted.get(settings.honeypot, []))):
                return JSONResponse({"status": "accepted"}, 202)  # not for people: what a bot reads
            fields, refused = lead_fields(posted, settings.fields)
            if refused:
                return JSONResponse({"errors": refused}, 422)
            now = dt.datetime.now(dt.timezone.utc)
            try:
                Lead.model_validate(web_lead_values(fields, settings.source, None, team_time.day_of(config, now)),
                                    context=parse)
            except ValidationError as e:
                return JSONResponse({"errors": _field_errors(e)}, 400)
            try:
                receipt = await run_in_threadpool(queue.put, fields, now, mac, wall() - 2 * WINDOW)
            except SeenBefore:
                return JSONResponse({"error": _("This signed submission was received already.")}, 403)
            except QueueError:
                return JSONResponse({"error": _("The submission could not be stored; try again later.")}, 503)
            return JSONResponse({"receipt": receipt}, 201)

    return Starlette(routes=[Route("/leads", leads, methods=["POST"])])


class _Object(list):
    """A JSON object's (key, value) pairs, every one kept: `json.loads` alone keeps only the last
    of a repeated key, the very loss `lead_fields` is there to refuse."""


def _posted(body: bytes, content_type: str) -> dict[str, list[Any]] | None:
    """Each posted name -> its values in the order sent (several when the name is repeated), or
    None when the body is neither form fields nor a JSON object. A form field's value is text;
    a JSON one is as parsed (a JSON object inside is an `_Object`)."""
    try:
        text = body.decode("utf-8")
        pairs: list[tuple[str, Any]]
        if "json" in content_type:
            data = json.loads(text, object_pairs_hook=_Object)
            if not isinstance(data, _Object):
                return None
            pairs = [(str(k), v) for k, v in data]
        else:
            pairs = urllib.parse.parse_qsl(text, keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        return None
    posted: dict[str, list[Any]] = {}
    for key, value in pairs:
        posted.setdefault(key, []).append(value)
    return posted


def _flat(values: list[Any]) -> list[Any]:
    """`values` with each JSON array's items in its place (one level: an array of arrays keeps
    the inner ones, which no field can take)."""
    return [item for value in values for item in (value if type(value) is list else [value])]


def lead_fields(posted: dict[str, list[Any]], names: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The Leads fields of a post (`_posted`'s shape) and the ones refused, field -> message in the
    current language: ({"email": "ann@bee.example"}, {"company": "..."}). `names` maps posted
    names to Leads fields (`[serve] fields`); a Leads field's own name maps to itself; other
    names are ignored. A field's value is text, a number, or None (JSON null). Refused:

    * a value that is no text: a JSON true/false (no Leads field a form fills is a yes/no one),
      an object, an array inside an array;
    * a line break, a control character or over FIELD_CHARS characters (`intake.text.problem`);
    * two values that would not write the same cell (`cells.parse_text`), whether the name came
      twice, in a JSON array, or two names map to the field. Blank values carry nothing and
      agree with any other; equal ones are one value.

    Pure."""
    sent: dict[str, list[tuple[str, Any]]] = {}
    for key, values in posted.items():
        if name := names.get(key) or (key if key in LEAD_FIELDS else None):
            sent.setdefault(name, []).extend((key, value) for value in _flat(values))
    fields: dict[str, Any] = {}
    refused: dict[str, str] = {}
    for name, pairs in sent.items():
        if why := next((w for _key, value in pairs if (w := _not_text(value))), None):
            refused[name] = why
            continue
        filled = [(key, value) for key, value in pairs if cells.parse_text(value) is not None]
        if len({cells.parse_text(value) for _key, value in filled}) > 1:
            refused[name] = _("Different values were sent for this field: {values}. Send one.",
                              values=", ".join(f"{key}={cells.quoted(value)}" for key, value in filled))
            continue
        fields[name] = (filled or pairs or [(name, None)])[0][1]
    return fields, refused


def _not_text(value: Any) -> str | None:
    """Why `value` cannot fill a Leads field, or None when it can (text, a number, null)."""
    if isinstance(value, bool):
        return _("A yes/no value ({value}) was sent; this field takes text.", value=json.dumps(value))
    if isinstance(value, (list, _Object)):
        shown = json.dumps(value if type(value) is list else dict(value), ensure_ascii=False)
        return _("{value} is a list or an object; this field takes one text.", value=cells.quoted(shown))
    found = problem(value, limit=FIELD_CHARS)
    return found.message if found else None


def _field_errors(error: ValidationError) -> dict[str, str]:
    """Field -> the message the sheet would show at its cell ("lead" for the whole lead)."""
    out: dict[str, str] = {}
    for err in error.errors(include_url=False):
        name = err["loc"][0] if err["loc"] else "lead"  # not for people: the key of a whole-lead problem
        out.setdefault(str(name), (err.get("ctx") or {}).get("message", err["msg"]))
    return out


class Drainer:
    """Drains the queue into the workbook every `every` seconds, in a thread, each time under
    the workbook's lock taken without waiting (when another sheetcrm command holds it, this
    round is skipped). A failure (Google down, the file open in an app) is one line on stderr,
    once until a drain runs again (which says so); the queue keeps the submissions."""

    def __init__(self, book: Workbook, config: Config, queue: WebQueue, every: float) -> None:
        self.book, self.config, self.queue, self.every = book, config, queue, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sheetcrm-drain", daemon=True)
        self._outage: str | None = None  # the failure last said, until a drain runs again

    def once(self) -> int:
        """One drain; how many submissions were appended (0 when it could not run)."""
        try:
            with WorkbookLock(self.book, command="serve"):
                before = {receipt for receipt, _at, _why in self.queue.refused()}
                done = drain(self.book, self.config, self.queue)
                aside = [(r, why) for r, _at, why in self.queue.refused() if r not in before]
        except WorkbookError as e:
            # Once per outage: the same line every few seconds (sync_every) would bury the log.
            if str(e) != self._outage:
                self._outage = str(e)
                with using(self.config.locale):
                    print(_("sheetcrm serve: the queue waits: {error}", error=e), file=sys.stderr, flush=True)
            return 0
        with using(self.config.locale):
            if self._outage is not None:
                self._outage = None
                print(_("sheetcrm serve: the queue drains again"), file=sys.stderr, flush=True)
            for receipt, why in aside:
                print(_("sheetcrm serve: submission {receipt} set aside, kept in {path}: {reason}", receipt=receipt,
                        path=self.queue.path, reason=why), file=sys.stderr, flush=True)
        return done

    def start(self) -> "Drainer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.once()


class WebServer:
    """uvicorn serving `app` in a thread (tests) or in the foreground (`run`)."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                                    access_log=False, lifespan="off"))
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.server.servers[0].sockets[0].getsockname()[1]

    def run(self) -> None:
        self.server.run()

    def start(self) -> "WebServer":
        self._thread = threading.Thread(target=self.server.run, name="sheetcrm-serve", daemon=True)
        self._thread.start()
        while not self.server.started:
            if not self._thread.is_alive():
                raise OSError(_("the server did not start"))
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join()
