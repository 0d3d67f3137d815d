"""`sheetcrm serve`: a website form posts leads to `POST /leads`; each accepted submission is on
disk (`intake.queue`) before the answer, and a sync appends it to the workbook later.

A post goes through, in this order (the first refusal answers):

1. the per-IP rate limit: a token bucket of `[serve] burst` tokens refilled at `rate` per
   second; empty -> 429 with Retry-After;
2. the origin allow-list (`[serve] origins`, the browser's Origin header): another origin -> 403.
   A post with no Origin header (not from a browser) passes only when it is signed;
3. the size: over MAX_BODY bytes -> 413, from the Content-Length before a byte is read, or
   once a chunked body passes it (`_body`: the body is never read past the limit);
4. the signature, when SHEETCRM_FORM_SECRET is set: `X-Sheetcrm-Timestamp: <Unix seconds>` and
   `X-Sheetcrm-Signature: sha256=<hex>`, the HMAC-SHA256 with the secret of the timestamp, a
   period and the raw body (`signature`); missing, wrong, or a timestamp more than WINDOW
   seconds from now -> 403;
5. the body: the Content-Type's media type in any case (`media_type`), form-encoded (also with
   no Content-Type) or JSON, else 415; read in its declared charset (UTF-8 when none; unknown,
   or a Python codec that is no charset such as unicode_escape -> 415), a leading byte order
   mark dropped; not an object nor form fields -> 400;
6. the honeypot (`[serve] honeypot`, a field hidden from people): filled (any of its values)
   -> 202 and dropped, never stored, so a bot learns nothing;
7. the lead: the posted names mapped to Leads fields (`[serve] fields`, a Leads field's own
   name needs no mapping; other names are ignored); a field over FIELD_CHARS characters or
   holding a line break or another control character (`intake.text`), or a byte the charset
   does not decode -> 422; a field given two different values (the name repeated, a JSON
   array, two names mapped to it, a `name` its first_name/last_name contradict: `lead_fields`)
   or a value that is no text (a JSON true/false, object, nested array) -> 422, as keeping one
   would drop the other silently; a JSON NaN or Infinity (or 1e400) -> 422 too, never "nan"; then the Leads rules the sheet and the form intake use
   (`records.Lead`); broken -> 400; both with each field's message in the config's language;
8. stored (`WebQueue.put`, on disk when it returns) -> 201 with the receipt; the disk refusing
   -> 503; a signature the queue has already stored a submission for (a replay) -> 403.

The answers are JSON: {"receipt": "1a2b3c4d5e6f"}, {"errors": {"email": "..."}}, {"error": "..."}.
Every refusal (4xx, 503) is also one line on stderr, so an operator whose site's posts all fail
learns why; the same status and reason at most once a minute, and at most REFUSALS_A_MINUTE
lines a minute in all (`Refusals`), so a flood of bad posts cannot bury the log.
"""

from __future__ import annotations

import codecs
import contextlib
import datetime as dt
import email.message
import hashlib
import hmac
import json
import math
import re
import signal
import socket
import sys
import threading
import time
import typing
import urllib.parse
from typing import Any, Callable, Iterator

import uvicorn
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from sheetcrm import cells, team_time, terminal
from sheetcrm.config import Config
from sheetcrm.i18n import Spoken, _, speaking, using
from sheetcrm.intake.drain import drain
from sheetcrm.intake.forms import split_name, web_lead_values
from sheetcrm.intake.queue import QueueError, SeenBefore, WebQueue
from sheetcrm.intake.settings import LeadField
from sheetcrm.intake.text import problem
from sheetcrm.lock import AlreadyRunning, WorkbookLock
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
FORM, JSON = "application/x-www-form-urlencoded", "application/json"  # the media types a post may be
# A lone surrogate: a byte the declared charset does not decode (kept by "surrogateescape" as
# U+DC80..U+DCFF) or a JSON "\\udXXX" escape with no pair. Neither is text a cell can hold.
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Python's codecs that no page's charset is: they read backslash escapes ("\\u00e9" in a JSON
# string was decoded before the JSON was) or read bytes as another script (IDNA, Punycode), and
# `unicode_escape` read a UTF-8 "Bée" as "BÃ©e", stored with a 201.
_NOT_CHARSETS = frozenset({"unicode-escape", "raw-unicode-escape", "idna", "punycode", "undefined"})
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


REFUSALS_A_MINUTE = 10


class Refusals:
    """Which refusals `sheetcrm serve` says on stderr: a (status, reason) once a minute, and at
    most REFUSALS_A_MINUTE lines a minute in all; the first refusal past that cap says the rest
    of the minute goes unsaid. `clock`: seconds, monotonic."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._said: dict[tuple[int, str], float] = {}
        self._minute: list[float] = []
        self._capped = False

    def line(self, status: int, reason: str, ip: str) -> str | None:
        """The line to print for this refusal, or None when it goes unsaid."""
        now = self.clock()
        self._minute = [t for t in self._minute if now - t < 60]
        self._said = {k: t for k, t in self._said.items() if now - t < 60}
        if (status, reason) in self._said:
            return None
        if len(self._minute) >= REFUSALS_A_MINUTE:
            if self._capped:
                return None
            self._capped = True
            return _("sheetcrm serve: many submissions refused this minute; the others are not said until the "
                     "next one")
        self._capped = False
        self._minute.append(now)
        self._said[(status, reason)] = now
        return _("sheetcrm serve: refused a submission from {ip} ({status}): {reason}", ip=ip, status=status,
                 reason=reason)


def _reason(answer: dict[str, Any]) -> str:
    """What a refusal's JSON answer says, as one line: its error, or each field's."""
    if "errors" in answer:
        return "; ".join(f"{field}: {message}" for field, message in sorted(answer["errors"].items()))
    return str(answer.get("error", ""))


def signature(secret: bytes, body: bytes, timestamp: int | str) -> str:
    """The X-Sheetcrm-Signature header's value for `body` sent with X-Sheetcrm-Timestamp
    `timestamp` (Unix seconds): "sha256=" and the hex HMAC-SHA256 of "<timestamp>.<body>".
    The timestamp is inside the MAC so that a captured post cannot be sent again later."""
    return "sha256=" + hmac.new(secret, str(timestamp).encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def signed_mac(secret: bytes, body: bytes, stamp: str | None, signed: str | None, now: float) -> str | None:
    """The post's MAC (lowercase hex) when `signed` is the signature of `body` at `stamp` and
    `stamp` is within WINDOW seconds of `now` (Unix seconds); else None. Hex in any case."""
    # ASCII digits, a sane count of them: "²" (a Latin-1 header byte) is a digit to isdigit() and
    # not to int(), and 5,000 digits pass int()'s limit: both were a 500 and a traceback.
    if not signed or not stamp or not re.fullmatch(r"[0-9]{1,15}", stamp.strip()) or abs(int(stamp) - now) > WINDOW:
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
    refusals = Refusals(clock)

    async def leads(request: Request) -> JSONResponse:
        answer = await _answer(request)
        if answer.status_code >= 400:
            ip = request.client.host if request.client else "?"
            with using(config.locale):
                line = refusals.line(answer.status_code, _reason(json.loads(answer.body)), ip)
            if line is not None:
                print(terminal.visible(line), file=sys.stderr, flush=True)
        return answer

    async def _answer(request: Request) -> JSONResponse:
        with using(config.locale):
            ip = request.client.host if request.client else "?"
            wait = limit.take(ip)
            if wait:
                return JSONResponse({"error": _("Too many submissions; try again later.")}, 429,
                                    headers={"Retry-After": str(math.ceil(wait))})
            origin = request.headers.get("origin")
            signed = request.headers.get(SIGNATURE_HEADER)
            if origins and (origin.rstrip("/") not in origins if origin else not (secret and signed)):
                return JSONResponse({"error": _("This form is not accepted from this site.")}, 403)
            # The size before anything reads the body (the signature is over all of it): a
            # declared length over the limit is refused unread, a longer body is read no further.
            body = await _body(request, MAX_BODY)
            if body is None:
                return JSONResponse({"error": _("The submission is too large.")}, 413)
            mac = None
            if secret:
                mac = signed_mac(secret, body, request.headers.get(TIMESTAMP_HEADER), signed, wall())
                if mac is None:
                    return JSONResponse({"error": _("The submission's signature or timestamp is missing, wrong or "
                                                    "out of date.")}, 403)
            kind, charset = media_type(request.headers.get("content-type"))
            if kind not in (FORM, JSON):
                return JSONResponse({"error": _("Send the form as form fields (application/x-www-form-urlencoded) "
                                                "or as a JSON object (application/json), not {media_type}.",
                                                media_type=cells.quoted(kind))}, 415)
            if not known_charset(charset):
                return JSONResponse({"error": _("The charset {charset} of the submission is not one this server "
                                                "knows; send UTF-8.", charset=cells.quoted(charset))}, 415)
            posted = _posted(body, kind, charset)
            if posted is None:
                return JSONResponse({"error": _("Send the form as form fields or as a JSON object.")}, 400)
            if any(str(value or "").strip() for value in _flat(posted.get(settings.honeypot, []))):
                return JSONResponse({"status": "accepted"}, 202)  # not for people: what a bot reads
            fields, refused = lead_fields(posted, settings.fields, charset)
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


def known_charset(charset: str) -> bool:
    """Whether `charset` (a Content-Type's charset parameter) names a text encoding Python has
    and a page can declare: "ISO-8859-1", "utf-16" yes; "klingon", "rot13" (no text encoding),
    "unicode_escape" no."""
    try:
        b"a".decode(charset)  # b"" would not look it up
    except UnicodeError:
        pass  # a known charset that "a" alone is not (UTF-16): `_posted` decodes the body
    except LookupError:
        return False
    return codecs.lookup(charset).name not in _NOT_CHARSETS


class _Object(list):
    """A JSON object's (key, value) pairs, every one kept: `json.loads` alone keeps only the last
    of a repeated key, the very loss `lead_fields` is there to refuse."""


def media_type(header: str | None) -> tuple[str, str]:
    """(media type in lower case, charset) of a Content-Type header, parsed as RFC 9110 says
    (case-insensitive type, a `charset` parameter quoted or not) by the standard library's
    email parser: "Application/JSON" -> ("application/json", "utf-8"); "...; charset=ISO-8859-1"
    -> (FORM, "ISO-8859-1"). No header: a form post (what a browser's form sends). The charset
    defaults to UTF-8 (the only one JSON has, and what a form's page should declare)."""
    if not (header or "").strip():
        return FORM, "UTF-8"
    parsed = email.message.Message()
    parsed["content-type"] = header
    kind = parsed.get_content_type() if "/" in header.partition(";")[0] else header.partition(";")[0].strip().lower()
    charset = parsed.get_param("charset")
    return kind, (charset.strip() if isinstance(charset, str) and charset.strip() else "UTF-8")


async def _body(request: Request, limit: int) -> bytes | None:
    """The request's body, or None once it is over `limit` bytes: a Content-Length over it
    answers before a byte is read, and a body longer than it says (or chunked) is read no
    further than `limit`, so a huge post costs the server no memory."""
    declared = (request.headers.get("content-length") or "").strip()
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _posted(body: bytes, kind: str, charset: str) -> dict[str, list[Any]] | None:
    """Each posted name -> its values in the order sent (several when the name is repeated), or
    None when the body is neither form fields nor a JSON object. `kind` is FORM or JSON, the
    body's text in `charset` (a known codec). A form field's value is text; a JSON one is as
    parsed (a JSON object inside is an `_Object`). A byte `charset` does not decode is kept as
    a lone surrogate (`_LONE_SURROGATE`), for `lead_fields` to refuse naming its field, never
    replaced by U+FFFD: "Jos%E9" posted as UTF-8 is "Jos\\udce9", refused; as ISO-8859-1, "José"."""
    try:
        # A byte order mark (Windows tools write one) is no part of the first name: kept, the
        # form's first field was posted as "\ufeffemail", a name no field has, so its email was
        # dropped and the lead stored without it; JSON's parser refused the whole object.
        text = body.decode(charset, "surrogateescape").removeprefix("\ufeff")
        pairs: list[tuple[str, Any]]
        if kind == JSON:
            data = json.loads(text, object_pairs_hook=_Object)
            if not isinstance(data, _Object):
                return None
            pairs = [(str(k), v) for k, v in data]
        else:
            pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, encoding=charset, errors="surrogateescape")
    except (UnicodeError, ValueError):  # a multi-byte charset (UTF-16) cannot keep every stray byte
        return None
    posted: dict[str, list[Any]] = {}
    for key, value in pairs:
        posted.setdefault(key, []).append(value)
    return posted


def _flat(values: list[Any]) -> list[Any]:
    """`values` with each JSON array's items in its place (one level: an array of arrays keeps
    the inner ones, which no field can take)."""
    return [item for value in values for item in (value if type(value) is list else [value])]


def lead_fields(posted: dict[str, list[Any]], names: dict[str, str],
                charset: str = "utf-8") -> tuple[dict[str, Any], dict[str, str]]:
    """The Leads fields of a post (`_posted`'s shape) and the ones refused, field -> message in the
    current language: ({"email": "ann@bee.example"}, {"company": "..."}). `names` maps posted
    names to Leads fields (`[serve] fields`); a Leads field's own name maps to itself; other
    names are ignored. A field's value is text, a number, or None (JSON null). Refused:

    * a value that is no text: a JSON true/false (no Leads field a form fills is a yes/no one),
      an object, an array inside an array, NaN or an infinity (Python's parser reads them);
    * bytes the post's `charset` does not decode (`_posted` keeps them as lone surrogates);
    * a line break, a control character or over FIELD_CHARS characters (`intake.text.problem`);
    * a whole `name` whose split (`forms.split_name`) a filled `first_name` or `last_name`
      contradicts (refused as `name`): one of them would be dropped;
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
    chosen: dict[str, tuple[str, Any]] = {}  # field -> (the posted name, the value) kept
    for name, pairs in sent.items():
        if why := next((w for _key, value in pairs if (w := _not_text(value, charset))), None):
            refused[name] = why
            continue
        filled = [(key, value) for key, value in pairs if cells.parse_text(value) is not None]
        if len({cells.parse_text(value) for _key, value in filled}) > 1:
            refused[name] = _different(filled)
            continue
        chosen[name] = (filled or pairs or [(name, None)])[0]
        fields[name] = chosen[name][1]
    if (whole := cells.parse_text(fields.get("name"))) is not None:
        given = {part: chosen[part] for part in ("first_name", "last_name")
                 if part in chosen and cells.parse_text(chosen[part][1]) is not None}
        split = dict(zip(("first_name", "last_name"), split_name(whole)))
        if any(cells.parse_text(value) != split[part] for part, (_key, value) in given.items()):
            refused["name"] = _different([chosen["name"], *given.values()])
            del fields["name"]
    return fields, refused


def _different(sent: list[tuple[str, Any]]) -> str:
    """The message for values that would write different cells: each (posted name, value)."""
    return _("Different values were sent for this field: {values}. Send one.",
             values=", ".join(f"{key}={cells.quoted(value)}" for key, value in sent))


def _not_text(value: Any, charset: str = "utf-8") -> str | None:
    """Why `value` cannot fill a Leads field, or None when it can (text, a number, null).
    `charset`: the post's, named when a byte of the value did not decode in it."""
    if isinstance(value, str) and _LONE_SURROGATE.search(value):
        shown = "".join(f"\\x{ord(c) - 0xDC00:02x}" if "\udc80" <= c <= "\udcff" else
                        f"\\u{ord(c):04x}" if _LONE_SURROGATE.match(c) else c for c in value)
        return _("{value} is not {charset} text: each \\x.. is a byte that does not read as {charset}. The page "
                 "must name its charset in the Content-Type header (charset=ISO-8859-1, say).",
                 value=cells.quoted(shown), charset=charset)
    if isinstance(value, float) and not math.isfinite(value):
        # Python's JSON parser reads NaN and Infinity (no JSON), and 1e400 as infinity: taken as
        # text they were a lead named "nan", a Phone "inf".
        return _("{value} is not a number a cell can hold; send this field as text.", value=json.dumps(value))
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
        # The language of its lines: the config's, else the workbook's once a drain reads it
        # (i18n.settle), kept between drains (its thread shares no context variable).
        self.spoken = Spoken(config.locale)

    def once(self) -> int:
        """One drain; how many submissions were appended (0 when it could not run)."""
        with speaking(self.spoken):
            return self._once()

    def _once(self) -> int:
        try:
            with WorkbookLock(self.book, command="serve"):
                before = {receipt for receipt, _at, _why in self.queue.refused()}
                done = drain(self.book, self.config, self.queue)
                aside = [(r, why) for r, _at, why in self.queue.refused() if r not in before]
        except WorkbookError as e:
            # Once per outage: the same line every few seconds (sync_every) would bury the log.
            if str(e) != self._outage:
                self._outage = str(e)
                if isinstance(e, AlreadyRunning) and e.holder == "run":
                    # Not an outage: run's syncs append the queue. Its "stop it first" is for a
                    # second `run`; read here, it told a person to stop the service that drains.
                    who = f"PID {e.pid}" if e.pid else _("another process")
                    line = _("sheetcrm serve: {book} is served by `sheetcrm run` ({who}): its syncs append the "
                             "submissions", book=self.book.describe(), who=who)
                else:
                    line = _("sheetcrm serve: the queue waits: {error}", error=e)
                print(line, file=sys.stderr, flush=True)
            return 0
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


class _Server(uvicorn.Server):
    """uvicorn's server, stopped by SIGINT or SIGTERM as uvicorn stops (the posts in flight
    answered), but without uvicorn's re-raising of the signal once stopped: re-raised, SIGTERM
    killed the process before `sheetcrm serve`'s last drain and SIGINT became a
    KeyboardInterrupt (exit 130). A second SIGINT still forces the exit, as in uvicorn."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield  # signals reach the main thread only (a server in a test's thread)
            return
        before = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in before.items():
                signal.signal(sig, handler)


class WebServer:
    """uvicorn serving `app` in a thread (tests) or in the foreground (`run`: SIGINT or
    SIGTERM make it return, `_Server`)."""

    def __init__(self, app: Starlette, host: str, port: int) -> None:
        """Binds the address here: OSError when it is taken or not this machine's (uvicorn, left
        to bind, logged its own English line and exited 3)."""
        self.server = _Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                                    access_log=False, lifespan="off"))
        self._socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        try:
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
            self._socket.bind((host, port))
        except OSError:
            self._socket.close()
            raise
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        """The bound address as a URL writes it: "127.0.0.1:8080", "[::1]:8080" (the port the
        system chose when asked for 0)."""
        host, port = self._socket.getsockname()[:2]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    @property
    def port(self) -> int:
        return self.server.servers[0].sockets[0].getsockname()[1]

    def run(self) -> None:
        self.server.run(sockets=[self._socket])

    def start(self) -> "WebServer":
        self._thread = threading.Thread(target=self.run, name="sheetcrm-serve", daemon=True)
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
