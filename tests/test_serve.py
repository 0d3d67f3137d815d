"""`sheetcrm serve` with a real HTTP client (httpx) against the real server (uvicorn) on
loopback, and the queue drained into a Google spreadsheet (gspread over HTTP to the emulator)."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import random
import time

import httpx
import pytest

from sheetcrm.config import Config
from sheetcrm.emulator import Emulator
from sheetcrm.intake.drain import drain
from sheetcrm.intake.forms import KEY, web_lead_values
from sheetcrm.intake.queue import WebBatch, WebQueue
from sheetcrm.intake.web import MAX_BODY, REFUSALS_A_MINUTE, Refusals, WebServer, make_app, signature, signed_mac
from sheetcrm.workbook import WorkbookError
from sheetcrm.workbook.credentials import connect
from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, RetryPolicy
from sheetcrm.workbook.target import header_tests

TABS = {
    "Leads": [["ID", "First Name", "Last Name", "Company", "Email", "Phone", "Source", "Status", "Created"],
              ["LEAD-0001", "Ana", "Ruiz", "Acme", "ana@acme.com", None, "Referral", "Contacted", 46000]],
    "Activities": [["ID", "Date", "Type", "Subject", "Related", "Owner", "Outcome"],
                   ["ACT-0001", 46000, "Call", "Intro", "LEAD-0001", "Eve", None]],
}


def _xlsx(path) -> None:
    """TABS as a real .xlsx workbook at `path`."""
    from books import xlsx

    xlsx(path, TABS)


def config(**serve) -> Config:
    return Config.model_validate({"serve": {"rate": 1000, "burst": 100000, **serve}})


@pytest.fixture
def queue(tmp_path):
    with WebQueue(tmp_path / "q.sqlite3") as q:
        yield q


def running(cfg, queue, secret=None):
    return WebServer(make_app(cfg, queue, secret), "127.0.0.1", 0).start()


@functools.cache
def client() -> httpx.Client:
    """One client for the module. `httpx.post` made a client per post, and each builds an SSL
    context (about 40 ms of CPU, 7 times what the post itself costs, server included): the
    1000-post burst spent most of its two minutes there. Without keep-alive each post still
    opens a connection of its own, as before; the server never sets a cookie to carry over."""
    return httpx.Client(limits=httpx.Limits(max_keepalive_connections=0), timeout=10)


def post(server, data=None, json_body=None, headers=None, content=None, files=None):
    url = f"http://127.0.0.1:{server.port}/leads"
    return client().post(url, data=data, json=json_body, headers=headers, content=content, files=files)


def google(emu):
    key = emu.create_spreadsheet("CRM", TABS)
    conn = connect(None, policy=RetryPolicy(attempts=1, sleep=lambda s: None))
    return key, GoogleSheetsWorkbook(conn.client, key, "sheetcrm@project.iam.gserviceaccount.com",
                                     **header_tests(Config()))


def test_burst_of_1000_with_google_down_then_up_appends_each_valid_one_once(queue, monkeypatch):
    rng = random.Random(13)
    cfg = config()
    emu = Emulator().start()
    monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.host)
    key, book = google(emu)
    port = int(emu.host.rsplit(":", 1)[1])
    emu.stop()  # Google is down from here on
    valid, spam, receipts = [], 0, set()
    server = running(cfg, queue)
    for n in range(1000):
        if n == 500:  # the server restarts mid-way: what it accepted stays
            server.stop()
            server = running(cfg, queue)
        kind = rng.choice(["form", "json", "honeypot", "bad"])
        email = f"p{n}@example{n % 7}.com"
        if kind == "form":
            r = post(server, data={"name": f"Pat Number{n}", "email": email, "company": "Co"})
        elif kind == "json":
            r = post(server, json_body={"last_name": f"Json{n}", "email": email})
        elif kind == "honeypot":
            r = post(server, data={"name": "Bot", "email": email, "website_url": "http://spam"})
        else:
            r = post(server, data={"email": "not an email", "name": "X"})
        if kind in ("form", "json"):
            assert r.status_code == 201, r.text
            receipts.add(r.json()["receipt"])
            valid.append(email)
        else:
            assert r.status_code == (202 if kind == "honeypot" else 400), r.text
            spam += 1
    server.stop()
    assert len(receipts) == len(valid) and spam == 1000 - len(valid)
    assert queue.counts() == (len(valid), 0)

    with pytest.raises(WorkbookError):  # Google down: nothing marked, all still waiting
        drain(book, cfg, queue)
    assert queue.counts() == (len(valid), 0)

    emu = Emulator(port=port, service=emu.service).start()  # Google is back, same spreadsheet
    try:
        assert drain(book, cfg, queue) == len(valid)
        assert queue.counts() == (0, len(valid))
        assert drain(book, cfg, queue) == 0  # nothing left: no second append
        leads = emu.values(key, "Leads")
        emails = [r[4] for r in leads[2:]]
        assert sorted(emails) == sorted(valid)
        subjects = [r[3] for r in emu.values(key, "Activities")[2:]]
        assert sorted(KEY.search(s).group(1) for s in subjects) == sorted(receipts)
        assert leads[1][:9] == ["LEAD-0001", "Ana", "Ruiz", "Acme", "ana@acme.com", "", "Referral", "Contacted", 46000]
    finally:
        emu.stop()


def test_a_write_that_landed_before_its_mark_is_never_appended_again(queue, monkeypatch):
    cfg = config()
    with Emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.host)
        key, book = google(emu)
        server = running(cfg, queue)
        receipt = post(server, data={"name": "Kim Lee", "email": "kim@lee.com"}).json()["receipt"]
        server.stop()
        from sheetcrm.sync import sync

        batch = WebBatch(queue.waiting())
        sync(book, cfg, web=batch)  # the write lands; the process "dies" before the mark
        assert queue.counts() == (1, 0)
        assert drain(book, cfg, queue) == 1  # found in the workbook by its receipt: only marked
        assert [r[4] for r in emu.values(key, "Leads")[1:]].count("kim@lee.com") == 1
        assert queue.counts() == (0, 1)


def test_a_spanish_workbook_names_the_website_form_in_spanish_and_finds_subjects_of_either_language(queue, tmp_path):
    """With locale "es" the activity's Subject is Spanish through and through, "(sitio web)";
    submissions whose activity landed (before their mark) under an older Subject, English or
    Spanish with "(website)", are still found by their receipt: only marked, never a second lead."""
    from books import xlsx
    from sheetcrm.workbook.xlsx import XlsxWorkbook

    cfg = Config.model_validate({"locale": "es", "serve": {"rate": 1000, "burst": 100000}})
    now = dt.datetime.now(dt.timezone.utc)
    old_en = queue.put({"email": "kim@lee.com", "name": "Kim Lee"}, now)
    old_es = queue.put({"email": "eva@sol.es", "name": "Eva Sol"}, now)
    new = queue.put({"email": "luis@beta.es", "name": "Luis García"}, now)
    tabs = {"Leads": [*TABS["Leads"], ["LEAD-0002", "Kim", "Lee", None, "kim@lee.com", None, "Web", "New", 46000],
                      ["LEAD-0003", "Eva", "Sol", None, "eva@sol.es", None, "Web", "New", 46000]],
            "Activities": [*TABS["Activities"],
                           ["ACT-0002", 46000, "Form Submitted", f"Form response (website) [sheetcrm:{old_en}]",
                            "LEAD-0002", None, None],
                           ["ACT-0003", 46000, "Formulario enviado",
                            f"Respuesta del formulario (website) [sheetcrm:{old_es}]", "LEAD-0003", None, None]]}
    book = XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", tabs))
    assert drain(book, cfg, queue) == 3
    assert queue.counts() == (0, 3)
    leads = book.read().tabs["Leads"].rows
    assert [r[4] for r in leads[1:]] == ["ana@acme.com", "kim@lee.com", "eva@sol.es", "luis@beta.es"]
    added = book.read().tabs["Activities"].rows[4:]
    assert [(r[2], r[3], r[4]) for r in added] == [
        ("Formulario enviado", f"Respuesta del formulario (sitio web) [sheetcrm:{new}]", "LEAD-0004")]


def signed(secret, body, at=None, upper=False):
    stamp = str(int(time.time() if at is None else at))
    mac = signature(secret, body, stamp)
    return {"content-type": "application/x-www-form-urlencoded", "X-Sheetcrm-Timestamp": stamp,
            "X-Sheetcrm-Signature": mac.upper().replace("SHA256=", "sha256=") if upper else mac}


def test_hmac_signature(queue):
    secret = b"s3cret"
    server = running(config(), queue, secret)
    try:
        body = b"name=Ann+Bee&email=ann%40bee.com"
        form = {"content-type": "application/x-www-form-urlencoded"}
        assert post(server, content=body, headers=form).status_code == 403
        assert post(server, content=body, headers=signed(b"other", body)).status_code == 403
        no_stamp = {k: v for k, v in signed(secret, body).items() if k != "X-Sheetcrm-Timestamp"}
        assert post(server, content=body, headers=no_stamp).status_code == 403
        # The timestamp is inside the MAC: another one with the same signature is refused.
        moved = {**signed(secret, body), "X-Sheetcrm-Timestamp": str(int(time.time()) + 1)}
        assert post(server, content=body, headers=moved).status_code == 403
        r = post(server, content=body, headers=signed(secret, body, upper=True))  # hex in any case
        assert r.status_code == 201 and "s3cret" not in r.text
    finally:
        server.stop()
    assert queue.counts() == (1, 0)


def test_a_refused_post_is_one_line_on_stderr_without_the_secret(queue, capsys):
    """Every refusal was silent on serve's stderr: an operator whose site signed its posts with
    an old key saw nothing, only leads that never came. One line now, with the status and the
    reason the answer gives; the same one at most once a minute."""
    secret = b"s3cret"
    server = running(config(), queue, secret)
    try:
        body = b"name=Ann+Bee&email=ann%40bee.com"
        for _ in range(3):
            assert post(server, content=body, headers=signed(b"old key", body)).status_code == 403
    finally:
        server.stop()
    said = [line for line in capsys.readouterr().err.splitlines() if "refused a submission" in line]
    assert said[0].startswith("sheetcrm serve: refused a submission from 127.0.0.1 (403): ") and "signature" in said[0]
    assert sum("(403)" in line and "signature" in line for line in said) == 1, said  # not three
    assert not any("s3cret" in line or "old key" in line for line in said)


def test_refusals_are_said_once_a_minute_each_and_capped_in_all():
    now = [0.0]
    refusals = Refusals(lambda: now[0])
    assert refusals.line(403, "bad signature", "1.2.3.4") is not None
    assert refusals.line(403, "bad signature", "5.6.7.8") is None  # the same reason, within the minute
    lines = [refusals.line(422, f"reason {i}", "1.2.3.4") for i in range(REFUSALS_A_MINUTE + 5)]
    said = [line for line in lines if line is not None]
    # The cap: the minute's lines, then one line saying the rest goes unsaid, then nothing.
    assert len(said) == REFUSALS_A_MINUTE and "many submissions refused" in said[-1], said
    now[0] = 61.0
    assert refusals.line(403, "bad signature", "1.2.3.4") is not None  # a new minute


@pytest.mark.parametrize("stamp", ["\u00b2", "9" * 5000, "now in Arabic-Indic digits"])
def test_a_timestamp_that_is_no_ascii_number_is_refused_not_a_crash(stamp):
    # "\u00b2" (a Latin-1 header byte) is a digit to isdigit() and not to int(); 5,000 digits
    # pass int()'s limit; the time now in Arabic-Indic digits is int()'s, then no ASCII for the
    # MAC: each raised, a 500 and a traceback, before the MAC was checked.
    if stamp.startswith("now"):
        stamp = str(int(time.time())).translate({ord("0") + d: 0x0660 + d for d in range(10)})
    assert signed_mac(b"s3cret", b"{}", stamp, "sha256=00", time.time()) is None


def test_a_signed_post_cannot_be_replayed_nor_sent_late(queue):
    """A captured signed post sent again is refused (its MAC is stored with the submission, in
    the same transaction), and so is one whose timestamp is over 5 minutes from the clock."""
    secret = b"s3cret"
    server = running(config(), queue, secret)
    try:
        body = b"name=Ann+Bee&email=ann%40bee.com"
        headers = signed(secret, body)
        codes = [post(server, content=body, headers=headers).status_code for _ in range(3)]
        assert codes == [201, 403, 403]
        assert "already" in post(server, content=body, headers=headers).json()["error"]
        # 5 s past the window either way: the stamp is whole seconds (truncated, up to 1 s lost)
        # and the post takes time to arrive, so 301 s ahead could land inside the window.
        assert post(server, content=body, headers=signed(secret, body, time.time() - 305)).status_code == 403
        assert post(server, content=body, headers=signed(secret, body, time.time() + 305)).status_code == 403
        assert post(server, content=body, headers=signed(secret, body, time.time() - 200)).status_code == 201
    finally:
        server.stop()
    # Signed anew, the post is accepted; its fields are the first one's, within queue.SAME_POST:
    # the same submission, stored once.
    assert queue.counts() == (1, 0)
    # The server restarts: the MACs are on disk with the queue.
    server = running(config(), queue, secret)
    try:
        assert post(server, content=body, headers=headers).status_code == 403
    finally:
        server.stop()


def test_line_breaks_and_control_characters_are_refused_at_the_door(queue):
    """`name=Eve\r\nBcc: victim@x.example` would become First/Last Name with a header
    injection in it: refused with 422 naming the field, the characters shown escaped."""
    server = running(config(), queue)
    try:
        r = post(server, data={"name": "Eve\r\nBcc: victim@x.example", "email": "eve@x.example"})
        assert r.status_code == 422 and set(r.json()["errors"]) == {"name"}
        assert "\\u000d\\u000a" in r.json()["errors"]["name"] and "U+000D" in r.json()["errors"]["name"]
        for bad in ("Eve\nSmith", "Eve\x1b[31m", "Eve\x00", "Eve\u2028Smith", "Eve\tSmith"):
            r = post(server, json_body={"last_name": bad, "email": "eve@x.example"})
            assert r.status_code == 422 and list(r.json()["errors"]) == ["last_name"], bad
        assert post(server, data={"name": "Eve Smith", "email": "eve@x.example"}).status_code == 201
    finally:
        server.stop()
    assert queue.counts() == (1, 0)


def test_an_over_long_field_is_refused_at_the_door(queue, monkeypatch):
    """A 60,000-character field fits the 64 KiB body but no cell (Google: 50,000; Excel:
    32,767): refused with 422 naming it, so it never reaches the queue. Found by m13test: it
    was accepted and then failed every drain, keeping all later submissions out."""
    cfg = config()
    with Emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.host)
        key, book = google(emu)
        server = running(cfg, queue)
        try:
            big = post(server, data={"email": "big@example.com", "name": "Big Title", "title": "a" * 60_000})
            edge = post(server, data={"email": "edge@example.com", "name": "Edge Title", "title": "a" * 1_001})
            fits = post(server, data={"email": "fits@example.com", "name": "Fits Title", "title": "a" * 1_000})
            good = post(server, data={"email": "good@example.com", "name": "Good Person"})
        finally:
            server.stop()
        assert (big.status_code, edge.status_code, fits.status_code, good.status_code) == (422, 422, 201, 201)
        assert list(big.json()["errors"]) == ["title"] and "60,000" in big.json()["errors"]["title"]
        assert drain(book, cfg, queue) == 2
        assert [r[4] for r in emu.values(key, "Leads")[1:]] == ["ana@acme.com", "fits@example.com",
                                                                "good@example.com"]


def test_a_json_list_or_yes_no_value_is_refused_never_dropped(queue, tmp_path):
    """JSON `"company": ["Beta Corp", "Beta Labs"]` and `"campaign": true` were answered 201 and
    stored as empty fields: the lead lost its company and campaign. Now a value that is no text,
    or two different ones, is 422 naming the field and the values, and nothing is stored; an
    array of one value (or of equal ones) is that value, and reaches the Company cell."""
    from books import xlsx
    from sheetcrm.workbook.xlsx import XlsxWorkbook

    cfg = config()
    server = running(cfg, queue)
    try:
        lead = {"name": "Yan Beta", "email": "yan@beta.example"}
        two = post(server, json_body={**lead, "company": ["Beta Corp", "Beta Labs"]})
        yes = post(server, json_body={**lead, "campaign": True})
        no = post(server, json_body={**lead, "company": False})
        nested = post(server, json_body={**lead, "company": {"name": "Beta Corp"}})
        deeper = post(server, json_body={**lead, "company": [["Beta Corp"]]})
        assert queue.counts() == (0, 0)
        one = post(server, json_body={**lead, "company": ["Beta Corp"], "campaign": None})
        same = post(server, json_body={"name": "Zoe Beta", "email": "zoe@beta.example",
                                       "company": ["Beta Corp", " Beta Corp", ""]})
        ignored = post(server, json_body={**lead, "email": "other@beta.example", "newsletter": True,
                                          "tags": ["a", "b"]})
    finally:
        server.stop()
    assert [r.status_code for r in (two, yes, no, nested, deeper)] == [422] * 5
    assert two.json() == {"errors": {"company": 'Different values were sent for this field: company="Beta Corp", '
                                                'company="Beta Labs". Send one.'}}
    assert yes.json() == {"errors": {"campaign": "A yes/no value (true) was sent; this field takes text."}}
    assert list(no.json()["errors"]) == ["company"] and "(false)" in no.json()["errors"]["company"]
    assert nested.json()["errors"]["company"].startswith('"{\"name\": \"Beta Corp\"}" is a list or an object')
    assert list(deeper.json()["errors"]) == ["company"]
    assert (one.status_code, same.status_code, ignored.status_code) == (201, 201, 201)
    book = XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", TABS))
    assert drain(book, cfg, queue) == 3
    leads = book.read().tabs["Leads"].rows
    assert [(r[3], r[4]) for r in leads[2:]] == [("Beta Corp", "yan@beta.example"), ("Beta Corp", "zoe@beta.example"),
                                                 (None, "other@beta.example")]


def test_a_field_sent_twice_with_different_values_is_refused_never_dropped(queue):
    """`email=v1&email=v2` kept the last one, `your-email=u&email=other` (two names mapped to
    one field) kept one of them, and JSON `{"email": "a", "email": "b"}` the last: each a lead
    with a silently chosen email. Now each is 422 naming the field and every value sent, in the
    config's language; the same value twice, or beside a blank one, is that value."""
    cfg = Config.model_validate({"serve": {"rate": 1000, "burst": 100000, "fields": {"your-email": "email"}}})
    server = running(cfg, queue)
    try:
        repeated = post(server, content=b"email=v1@x.example&email=v2@x.example&name=Vic%20Dup",
                        headers={"content-type": "application/x-www-form-urlencoded"})
        mapped = post(server, data={"your-email": "u@x.example", "email": "other@x.example", "name": "Two Emails"})
        keys = post(server, content=b'{"name": "Jo Key", "email": "a@x.example", "email": "b@x.example"}',
                    headers={"content-type": "application/json"})
        assert queue.counts() == (0, 0)
        twice = post(server, content=b"email=v1@x.example&email=v1@x.example&name=Vic%20Dup",
                     headers={"content-type": "application/x-www-form-urlencoded"})
        both = post(server, data={"your-email": "u@x.example", "email": "u@x.example", "name": "Una Same"})
        blank = post(server, data={"your-email": "", "email": "b@x.example", "name": "Bea Blank"})
    finally:
        server.stop()
    assert [r.status_code for r in (repeated, mapped, keys)] == [422] * 3
    assert repeated.json() == {"errors": {"email": 'Different values were sent for this field: email="v1@x.example", '
                                                   'email="v2@x.example". Send one.'}}
    assert mapped.json() == {"errors": {"email": 'Different values were sent for this field: your-email="u@x.example", '
                                                 'email="other@x.example". Send one.'}}
    assert keys.json()["errors"]["email"].endswith('email="a@x.example", email="b@x.example". Send one.')
    assert [r.status_code for r in (twice, both, blank)] == [201] * 3
    assert [s.fields["email"] for s in queue.waiting()] == ["v1@x.example", "u@x.example", "b@x.example"]

    es = running(Config.model_validate({"locale": "es", "serve": {"rate": 1000, "burst": 100000}}), queue)
    try:
        r = post(es, content=b"email=v1@x.example&email=v2@x.example", headers={
            "content-type": "application/x-www-form-urlencoded"})
        t = post(es, json_body={"email": "t@x.example", "campaign": True})
    finally:
        es.stop()
    assert r.json() == {"errors": {"email": 'Se enviaron valores distintos para este campo: email="v1@x.example", '
                                            'email="v2@x.example". Envía uno solo.'}}
    assert t.json() == {"errors": {"campaign": "Se envió un valor de sí/no (true); este campo admite texto."}}
    assert queue.counts() == (3, 0)


def test_a_repeated_honeypot_is_filled_if_any_of_its_values_is(queue):
    """`website_url=http://spam&website_url=` kept the last, blank, value: the bot's post was
    stored as a lead. Any filled value of the honeypot drops the post."""
    server = running(config(), queue)
    try:
        r = post(server, content=b"name=Bot&email=bot@x.example&website_url=http://spam&website_url=",
                 headers={"content-type": "application/x-www-form-urlencoded"})
        j = post(server, json_body={"name": "Bot", "email": "bot@x.example", "website_url": ["", "http://spam"]})
    finally:
        server.stop()
    assert (r.status_code, j.status_code) == (202, 202)
    assert queue.counts() == (0, 0)


def test_a_stored_submission_no_cell_can_take_is_set_aside_and_blocks_nothing(queue, monkeypatch):
    """A queue filled before the door refused them (an older server) holds a 60,000-character
    field and a line break: each is set aside with its reason, kept on disk, reported on the
    Validation tab and by serve, and the valid ones are appended in the same drain."""
    cfg = config()
    now = dt.datetime.now(dt.timezone.utc)
    queue.put({"email": "big@example.com", "last_name": "Big", "title": "a" * 60_000}, now)
    queue.put({"email": "eve@x.example", "name": "Eve\r\nBcc: victim@x.example"}, now)
    queue.put({"email": "good@example.com", "name": "Good Person"}, now)
    with Emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.host)
        key, book = google(emu)
        assert drain(book, cfg, queue) == 1
        assert [r[4] for r in emu.values(key, "Leads")[1:]] == ["ana@acme.com", "good@example.com"]
        assert queue.counts() == (0, 1)
        aside = {fields_of(queue, r): why for r, _at, why in queue.refused()}
        assert set(aside) == {"big@example.com", "eve@x.example"}
        assert aside["big@example.com"].startswith("title: ") and "32,767" in aside["big@example.com"]
        assert aside["eve@x.example"].startswith("name: ") and "\\u000d" in aside["eve@x.example"]
        validation = json.dumps(emu.values(key, "Validation"))
        assert validation.count("web_set_aside") == 2
        assert drain(book, cfg, queue) == 0  # nothing waits; nothing is tried again


def test_a_submission_two_records_match_alike_waits_linked_to_neither(queue, monkeypatch):
    """Two leads with one email: a submission with that email is added to neither; it waits in
    the queue, a `web_ambiguous` warning naming both, and is appended once they are told apart."""
    cfg = config()
    queue.put({"email": "ana@acme.com", "name": "Ana R."}, dt.datetime.now(dt.timezone.utc))
    with Emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.host)
        key, book = google(emu)
        emu.set_values(key, "'Leads'!A3", [["LEAD-0002", "Anabel", "Ruiz", "Acme", "ANA@acme.com", None, "Web",
                                             "New", 46001]], value_input="RAW")
        assert drain(book, cfg, queue) == 0
        assert queue.counts() == (1, 0)
        assert [r[0] for r in emu.values(key, "Activities")[1:]] == ["ACT-0001"]
        assert len(emu.values(key, "Leads")) == 3
        validation = json.dumps(emu.values(key, "Validation"))
        assert "web_ambiguous" in validation and "LEAD-0001, LEAD-0002" in validation
        emu.set_values(key, "'Leads'!E3", [["anabel@acme.com"]], value_input="RAW")
        assert drain(book, cfg, queue) == 1
        assert [r[4] for r in emu.values(key, "Activities")[1:]] == ["LEAD-0001", "LEAD-0001"]
        assert len(emu.values(key, "Leads")) == 3


def test_a_submission_google_refuses_is_set_aside_alone(queue, monkeypatch):
    """When Google refuses a drain's write for a reason sheetcrm did not foresee (here the
    length check is switched off, so Google's own 50,000-character limit refuses), the drain
    syncs without the submissions (it succeeds: Google is up) and then each alone: the one
    Google refuses is set aside with Google's words, the others are appended."""
    from sheetcrm.intake import forms

    monkeypatch.setattr(forms, "problem", lambda value: None)
    cfg = config()
    now = dt.datetime.now(dt.timezone.utc)
    queue.put({"email": "big@example.com", "last_name": "Big", "company": "a" * 60_000}, now)
    queue.put({"email": "good@example.com", "name": "Good Person"}, now)
    with Emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.host)
        key, book = google(emu)
        assert drain(book, cfg, queue) == 1
        assert [r[4] for r in emu.values(key, "Leads")[1:]] == ["ana@acme.com", "good@example.com"]
        [(_receipt, _at, why)] = queue.refused()
        assert "50000 characters" in why
        assert queue.counts() == (0, 1)


def fields_of(queue, receipt):
    import sqlite3

    with sqlite3.connect(queue.path) as db:
        return json.loads(db.execute("SELECT fields FROM submissions WHERE receipt = ?", (receipt,)).fetchone()[0])["email"]


def test_origin_allow_list(queue):
    server = running(config(origins=["https://www.example.com"]), queue)
    try:
        lead = {"name": "Ann Bee", "email": "ann@bee.com"}
        assert post(server, data=lead, headers={"Origin": "https://evil.test"}).status_code == 403
        assert post(server, data=lead).status_code == 403  # no Origin and not signed
        assert post(server, data=lead, headers={"Origin": "https://www.example.com"}).status_code == 201
    finally:
        server.stop()
    assert queue.counts() == (1, 0)


def test_rate_limit_per_ip(queue):
    server = running(Config.model_validate({"serve": {"rate": 0.001, "burst": 3}}), queue)
    try:
        codes = [post(server, data={"name": f"A B{n}", "email": f"a{n}@b.com"}) for n in range(5)]
    finally:
        server.stop()
    assert [r.status_code for r in codes] == [201, 201, 201, 429, 429]
    assert int(codes[3].headers["Retry-After"]) > 0
    assert queue.counts() == (3, 0)


def test_honeypot_is_dropped_silently_and_its_name_configurable(queue):
    server = running(config(honeypot="fax"), queue)
    try:
        r = post(server, data={"name": "Bot", "email": "bot@x.com", "fax": "1"})
        assert r.status_code == 202 and "receipt" not in r.json()
        assert post(server, data={"name": "Bot", "email": "bot@x.com", "fax": ""}).status_code == 201
    finally:
        server.stop()
    assert queue.counts() == (1, 0)


def test_field_errors_in_the_configs_language_and_mapped_names(queue):
    server = running(Config.model_validate({"locale": "es", "serve": {"fields": {"correo": "email"}}}), queue)
    try:
        r = post(server, data={"correo": "nope"})
        assert r.status_code == 400
        errors = r.json()["errors"]
        assert set(errors) == {"email"}
        assert "correo" in errors["email"].lower() or "email" in errors["email"].lower()
        r = post(server, content=b"[1, 2]", headers={"content-type": "application/json"})
        assert r.status_code == 400 and "error" in r.json()
    finally:
        server.stop()
    assert queue.counts() == (0, 0)


def test_the_serve_command_accepts_and_appends_on_stop(tmp_path):
    """`sheetcrm serve` as a person runs it: a post answered 201, then SIGINT; the process's
    last drain appends the lead to the .xlsx workbook. The secret never reaches the output."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    import openpyxl

    _xlsx(tmp_path / "crm.xlsx")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "SHEETCRM_FORM_SECRET": "topsecret"}
    proc = subprocess.Popen([sys.executable, "-m", "sheetcrm", "serve", "--workbook", str(tmp_path / "crm.xlsx"),
                             "--port", str(port)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        body = json.dumps({"name": "Noa Vidal", "email": "noa@vidal.com"}).encode()
        for _attempt in range(200):
            try:
                r = client().post(f"http://127.0.0.1:{port}/leads", content=body, timeout=5,
                               headers={**signed(b"topsecret", body), "content-type": "application/json"})
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert r.status_code == 201, r.text
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert "topsecret" not in out + err
    # Started, it says where to point the form (it said nothing at all).
    assert f"accepting website form posts at POST http://127.0.0.1:{port}/leads" in out, (out, err)
    rows = [[c.value for c in r] for r in openpyxl.load_workbook(tmp_path / "crm.xlsx")["Leads"].iter_rows()]
    assert [r[4] for r in rows[1:]] == ["ana@acme.com", "noa@vidal.com"]
    assert rows[2][:3] == ["LEAD-0002", "Noa", "Vidal"]


def test_a_workbook_open_in_an_app_keeps_the_queue_waiting_said_once_per_outage(queue, tmp_path, monkeypatch,
                                                                               capsys):
    """While LibreOffice holds the .xlsx open every drain is refused: the submission keeps
    waiting (no submission is to blame, though a sync without it, with nothing else to write,
    succeeds), the operator reads one line for the whole outage, and one when it is over."""
    from books import xlsx
    from sheetcrm.intake.web import Drainer
    from sheetcrm.sync import sync
    from sheetcrm.workbook.xlsx import XlsxWorkbook

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    cfg = config()
    book = XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", TABS))
    sync(book, cfg)
    assert sync(book, cfg).result is None  # settled: a sync without the submission writes nothing
    queue.put({"email": "web1@example.org", "last_name": "Webb"}, dt.datetime.now(dt.timezone.utc))
    app_lock = tmp_path / ".~lock.crm.xlsx#"
    app_lock.write_text(",root,host,02.12.2026 14:00,file:///root/.config/libreoffice/4;")
    drainer = Drainer(book, cfg, queue, every=3600)
    assert [drainer.once() for _ in range(3)] == [0, 0, 0]
    assert queue.counts() == (1, 0) and queue.refused() == []  # still waiting, not set aside
    said = capsys.readouterr().err.splitlines()
    assert len(said) == 1 and said[0].startswith("sheetcrm serve: the queue waits: ") and "LibreOffice" in said[0]
    app_lock.unlink()
    assert drainer.once() == 1
    assert capsys.readouterr().err == "sheetcrm serve: the queue drains again\n"
    assert [r[4] for r in book.read().tabs["Leads"].rows].count("web1@example.org") == 1
FORM = "application/x-www-form-urlencoded"



def test_while_sheetcrm_run_serves_the_workbook_serve_says_its_syncs_append_never_to_stop_it(queue, tmp_path,
                                                                                         monkeypatch, capsys):
    """`sheetcrm run` holds the workbook's lock for good and its syncs append the queue
    (docs/leads.md). serve's skipped round said "the queue waits: … is already served by
    `sheetcrm run` (PID …); stop it first": the lock's line for a second `run`, which told a
    person to stop the very service that drains the queue."""
    from books import xlsx
    from sheetcrm.intake.web import Drainer
    from sheetcrm.lock import WorkbookLock
    from sheetcrm.workbook.xlsx import XlsxWorkbook

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    book = XlsxWorkbook(xlsx(tmp_path / "crm.xlsx", TABS))
    queue.put({"email": "web1@example.org", "last_name": "Webb"}, dt.datetime.now(dt.timezone.utc))
    drainer = Drainer(book, config(), queue, every=3600)
    with WorkbookLock(book):  # as `sheetcrm run` holds it
        assert [drainer.once() for _ in range(2)] == [0, 0]
    said = capsys.readouterr().err.splitlines()
    assert said == [f"sheetcrm serve: {book.describe()} is served by `sheetcrm run` (PID {os.getpid()}): its syncs "
                    "append the submissions"]
    assert queue.counts() == (1, 0)


def test_a_post_is_read_in_the_charset_it_declares_and_a_byte_it_does_not_decode_is_refused(queue):
    """A legacy ISO-8859-1 page posts `name=Jos%E9%20Mu%F1oz` declaring its charset: it was
    decoded as UTF-8 with replacement and stored as "Jos\ufffd". Now the declared charset reads
    it, for form fields and JSON; bytes it does not decode are 422 naming the field, nothing stored."""
    server = running(config(), queue)
    try:
        latin = post(server, content=b"name=Jos%E9%20Mu%F1oz&email=jose@latin1.example&company=Caf%E9%20SA",
                     headers={"content-type": f"{FORM}; charset=ISO-8859-1"})
        quoted = post(server, content='{"name": "Zoë Brontë", "email": "zoe@latin1.example"}'.encode("latin-1"),
                      headers={"content-type": 'application/json; Charset="iso-8859-1"'})
        assert [latin.status_code, quoted.status_code] == [201, 201], (latin.text, quoted.text)
        undeclared = post(server, content=b"name=Jos%E9%20Mu%F1oz&email=bad@latin1.example",
                          headers={"content-type": FORM})
        raw_json = post(server, content=b'{"name": "Jos\xe9", "email": "bad2@latin1.example"}',
                        headers={"content-type": "application/json"})
        unknown = post(server, content=b"name=Ann%20Bee&email=a@b.example",
                       headers={"content-type": f"{FORM}; charset=klingon"})
    finally:
        server.stop()
    assert [s.fields for s in queue.waiting()] == [
        {"name": "José Muñoz", "email": "jose@latin1.example", "company": "Café SA"},
        {"name": "Zoë Brontë", "email": "zoe@latin1.example"}]
    assert undeclared.status_code == 422 and list(undeclared.json()["errors"]) == ["name"]
    assert undeclared.json()["errors"]["name"].startswith('"Jos\\xe9 Mu\\xf1oz" is not UTF-8 text')
    assert raw_json.status_code == 422 and raw_json.json()["errors"]["name"].startswith('"Jos\\xe9" is not UTF-8')
    assert unknown.status_code == 415 and "klingon" in unknown.json()["error"]


def test_a_name_that_first_or_last_name_contradicts_is_refused_never_dropped(queue):
    """`name=Ann Bee&first_name=Zed&last_name=Quux` made Zed Quux and `{"name": "Solo",
    "last_name": "Other"}` made Other: the name was dropped without a word. Now both are 422
    naming every value; a name its parts agree with is one lead, and a blank part carries nothing."""
    server = running(config(), queue)
    try:
        form = post(server, content=b"name=Ann Bee&first_name=Zed&last_name=Quux&email=namefirst@p2.example",
                    headers={"content-type": FORM})
        js = post(server, json_body={"name": "Solo", "last_name": "Other", "email": "solo@p2.example"})
        assert queue.counts() == (0, 0)
        same = post(server, json_body={"name": "Ann de la Vega", "first_name": "Ann", "last_name": " de la Vega",
                                       "email": "ann@p2.example"})
        blank = post(server, data={"name": "Bo Blank", "last_name": "", "email": "bo@p2.example"})
    finally:
        server.stop()
    assert [form.status_code, js.status_code] == [422, 422]
    assert form.json() == {"errors": {"name": 'Different values were sent for this field: name="Ann Bee", '
                                              'first_name="Zed", last_name="Quux". Send one.'}}
    assert js.json() == {"errors": {"name": 'Different values were sent for this field: name="Solo", '
                                            'last_name="Other". Send one.'}}
    assert [same.status_code, blank.status_code] == [201, 201]
    values = [web_lead_values(s.fields, "Web", None, None) for s in queue.waiting()]
    assert [(v["first_name"], v["last_name"]) for v in values] == [("Ann", "de la Vega"), ("Bo", "Blank")]


def test_the_media_type_is_read_whatever_its_case_and_another_one_is_415(queue):
    """`Content-Type: Application/JSON` was read as form fields ("A lead needs..."): media types
    are case-insensitive. A JSON body sent as text/plain, or a multipart form, is 415 saying
    what the server takes, not a lead's error."""
    server = running(config(), queue)
    try:
        upper = post(server, content=b'{"name": "Upper Json", "email": "upper@json.example"}',
                     headers={"content-type": "Application/JSON"})
        plain = post(server, content=b'{"name": "T P", "email": "tp@x.example"}',
                     headers={"content-type": "text/plain"})
        multi = post(server, files={"name": (None, "Mu Part")}, data={"email": "mp@x.example"})
    finally:
        server.stop()
    assert upper.status_code == 201, upper.text
    assert [s.fields for s in queue.waiting()] == [{"name": "Upper Json", "email": "upper@json.example"}]
    assert plain.status_code == 415 and '"text/plain"' in plain.json()["error"]
    assert multi.status_code == 415 and '"multipart/form-data"' in multi.json()["error"]


def _raw(port, head: bytes, chunks=(), timeout=10.0) -> bytes:
    """What the server answers to `head` and then as many of `chunks` as it takes before
    answering (a raw socket: httpx would not send a Content-Length its body does not have)."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(head)
        for chunk in chunks:
            try:
                s.sendall(chunk)
            except OSError:  # the server answered and closed: it read no further
                break
            s.settimeout(0.01)
            try:
                if s.recv(1, socket.MSG_PEEK):
                    break
            except TimeoutError:
                pass
            finally:
                s.settimeout(timeout)
        answer = b""
        while not _whole(answer) and (got := s.recv(65536)):
            answer += got
        return answer


def _whole(answer: bytes) -> bool:
    """Whether `answer` holds an HTTP response's head and its Content-Length of body."""
    head, sep, body = answer.partition(b"\r\n\r\n")
    length = next((int(line.partition(b":")[2]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    return bool(sep) and len(body) >= length


def test_a_body_over_the_limit_is_refused_before_it_is_read_and_before_the_signature(queue):
    """A 200 MB post was read whole (peak ~500 MB) before its 413. Now a Content-Length over
    the limit is answered at once, with not a byte of the body sent; a chunked body is read no
    further than the limit (the server answers though the body never ends); and a signed
    server answers 413, not 403, before checking a signature over a body it will not read."""
    server = running(config(), queue, b"s3cret")
    try:
        # No byte of the body is ever sent: a server waiting for it would never answer (the
        # socket's timeout raises), so an answer at all is the proof.
        declared = _raw(server.port, b"POST /leads HTTP/1.1\r\nHost: x\r\nContent-Type: " + FORM.encode() +
                        b"\r\nContent-Length: 209715200\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (16384, b"A" * 16384)
        chunked = _raw(server.port, b"POST /leads HTTP/1.1\r\nHost: x\r\nContent-Type: " + FORM.encode() +
                       b"\r\nTransfer-Encoding: chunked\r\n\r\n", [chunk] * 10_000)
        unsigned = post(server, content=b"name=x&company=" + b"A" * MAX_BODY, headers={"content-type": FORM})
    finally:
        server.stop()
    for answer in (declared, chunked):
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b"The submission is too large." in answer
    assert unsigned.status_code == 413, unsigned.text  # not 403: the size comes first
    assert queue.counts() == (0, 0)


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_serve_stopped_by_sigterm_or_sigint_drains_once_more_and_exits_0(tmp_path, sig):
    """README: exit 0 on SIGINT/SIGTERM; docs/leads.md: "on stop it drains once more". uvicorn
    re-raised the signal after stopping: SIGTERM killed the process (exit -15, 143 in a shell)
    before the last drain, SIGINT became a KeyboardInterrupt (exit 130, "interrupted")."""
    import os
    import signal
    import socket
    import subprocess
    import sys

    import openpyxl

    _xlsx(tmp_path / "crm.xlsx")
    (tmp_path / "sheetcrm.toml").write_text('workbook = "crm.xlsx"\n[serve]\nsync_every = 600\nburst = 100\n')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("SHEETCRM_FORM_SECRET", None)
    proc = subprocess.Popen([sys.executable, "-m", "sheetcrm", "serve", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        codes = []
        for n in range(3):
            for _attempt in range(400):
                try:
                    codes.append(client().post(f"http://127.0.0.1:{port}/leads", timeout=5,
                                            data={"name": f"Stop T{n}", "email": f"stop{n}@sig.example"}).status_code)
                    break
                except httpx.ConnectError:
                    time.sleep(0.05)
        assert codes == [201] * 3
    finally:
        proc.send_signal(getattr(signal, sig))
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, (proc.returncode, err)
    assert "interrupted" not in err.lower()
    rows = [[c.value for c in r] for r in openpyxl.load_workbook(tmp_path / "crm.xlsx")["Leads"].iter_rows()]
    assert [r[4] for r in rows[1:]] == ["ana@acme.com", "stop0@sig.example", "stop1@sig.example",
                                        "stop2@sig.example"]


def test_serve_on_a_port_in_use_is_one_line_and_exit_2(tmp_path):
    """uvicorn bound the port itself: taken, it logged its own English "ERROR: [Errno 98] …" and
    exited 3, a status the README gives no meaning (a systemd unit's RestartPreventExitStatus=2
    did not stop the restarts). The command binds first and says it as `sheetcrm emulator` does."""
    import socket

    from click.testing import CliRunner

    from books import xlsx
    from sheetcrm.cli import main

    xlsx(tmp_path / "crm.xlsx", {"Leads": [["ID", "Last Name", "Email"]]})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["serve", "--workbook", str(tmp_path / "crm.xlsx"), "--port", str(port)])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"sheetcrm: cannot serve on 127.0.0.1:{port}: the address is already in use\n"


def test_the_same_post_twice_is_one_submission_and_one_activity(queue, tmp_path):
    """A visitor who clicks Send twice (or a browser that sends the form again on a reload):
    two submissions, so one lead but two Form Submitted activities, and every `form response`
    workflow rule ran twice (a second auto-reply). The same fields within SAME_POST are the
    same submission: the second post gets the first's receipt and nothing is stored; other
    fields, or the same ones later, are a submission of their own."""
    now = dt.datetime(2026, 12, 1, 9, tzinfo=dt.timezone.utc)
    fields = {"email": "ann@bee.example", "name": "Ann Bee"}
    first = queue.put(fields, now)
    assert queue.put(dict(fields), now + dt.timedelta(seconds=2)) == first
    assert queue.put({**fields, "company": "Bee"}, now + dt.timedelta(seconds=3)) != first
    assert queue.put(fields, now + dt.timedelta(minutes=10, seconds=1)) != first  # past queue.SAME_POST
    assert queue.counts() == (3, 0)
    server = running(config(), queue)
    try:
        receipts = [post(server, data={"name": "Cy Dee", "email": "cy@dee.example"}).json()["receipt"]
                    for _ in range(2)]
    finally:
        server.stop()
    assert receipts[0] == receipts[1] and queue.counts() == (4, 0)


def test_a_byte_order_mark_before_the_body_loses_no_field(queue):
    """A body a Windows tool wrote with a UTF-8 byte order mark: its first form field was posted
    as "\\ufeffemail", a name no field has, so the lead was stored (201) without its email; the
    same JSON object was 400 "not a JSON object". The mark is no part of the text."""
    server = running(config(), queue)
    try:
        form = post(server, content="\ufeffemail=bom@form.example&name=Bo%20Form&company=Bom".encode(),
                    headers={"content-type": FORM})
        js = post(server, content="\ufeff".encode() + b'{"email": "bom@json.example", "name": "Bo Json"}',
                  headers={"content-type": "application/json"})
    finally:
        server.stop()
    assert [form.status_code, js.status_code] == [201, 201], (form.text, js.text)
    assert [s.fields for s in queue.waiting()] == [
        {"email": "bom@form.example", "name": "Bo Form", "company": "Bom"},
        {"email": "bom@json.example", "name": "Bo Json"}]


def test_nan_and_infinity_are_refused_at_their_field_never_stored_as_text(queue):
    """Python's JSON parser reads NaN and Infinity (which JSON has not) and 1e400 as infinity:
    taken as "a number, as its text", they made a lead named "nan" and a Phone "inf"."""
    server = running(config(), queue)
    try:
        answers = [post(server, content=body, headers={"content-type": "application/json"}) for body in (
            b'{"last_name": NaN, "email": "nan@json.example"}',
            b'{"last_name": "Inf", "phone": 1e400, "email": "inf@json.example"}',
            b'{"last_name": "Neg", "phone": -Infinity, "email": "neg@json.example"}')]
    finally:
        server.stop()
    assert [a.status_code for a in answers] == [422] * 3
    assert [a.json()["errors"] for a in answers] == [
        {"last_name": "NaN is not a number a cell can hold; send this field as text."},
        {"phone": "Infinity is not a number a cell can hold; send this field as text."},
        {"phone": "-Infinity is not a number a cell can hold; send this field as text."}]
    assert queue.counts() == (0, 0)


def test_a_python_codec_that_is_no_charset_is_415_never_mojibake(queue):
    """`charset=unicode_escape` is a codec Python has but no page's charset: it read a UTF-8
    "Bée" as "BÃ©e" (and backslash escapes as characters) and stored it with a 201."""
    charsets = ["unicode_escape", "raw-unicode-escape", "idna", "punycode", "undefined"]
    server = running(config(), queue)
    try:
        answers = [post(server, content='{"name": "Ann Bée", "email": "ann@bee.example"}'.encode(),
                        headers={"content-type": f"application/json; charset={charset}"}) for charset in charsets]
    finally:
        server.stop()
    assert [a.status_code for a in answers] == [415] * len(charsets), [a.text for a in answers]
    assert all(charset in a.json()["error"] for charset, a in zip(charsets, answers))
    assert queue.counts() == (0, 0)


def test_a_second_sigterm_during_the_last_drain_is_one_line_and_exit_130(emu, tmp_path):
    """The first SIGTERM stops the server; the last drain then waits on Google as long as it
    takes (a dead network: minutes of retries). A second SIGTERM there found the default
    handler back in place and killed the process by the signal (-15), with no line, where a
    second Ctrl-C says "interrupted" and exits 130, as `sheetcrm run` does for its last write.
    The submission is not lost: it waits in the queue for the next start."""
    import signal
    import socket
    import subprocess
    import sys
    import threading

    key = emu.create_spreadsheet("CRM", TABS)
    (tmp_path / "sheetcrm.toml").write_text(f'spreadsheet = "{key}"\n[serve]\nsync_every = 600\nburst = 100\n'
                                            '[google]\ntimeout_seconds = 10\n')
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "SHEETS_EMULATOR_HOST": emu.host}
    env.pop("SHEETCRM_FORM_SECRET", None)
    proc = subprocess.Popen([sys.executable, "-m", "sheetcrm", "serve", "--port", str(port)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reached, release = threading.Event(), threading.Event()

    def stall(_emu):
        reached.set()
        release.wait(30)

    try:
        for _attempt in range(400):
            try:
                answer = client().post(f"http://127.0.0.1:{port}/leads", timeout=5,
                                    data={"name": "Late Lead", "email": "late@sig.example"})
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert answer.status_code == 201, answer.text
        emu.between_requests(stall)
        proc.send_signal(signal.SIGTERM)
        assert reached.wait(30), "the last drain never read the workbook"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, (proc.returncode, err)
    assert err.count("\n") == 1 and err.startswith("sheetcrm: interrupted"), err
    import types

    from sheetcrm.intake.queue import queue_path

    with WebQueue(queue_path(types.SimpleNamespace(key=key), tmp_path / "cache" / "sheetcrm" / "locks")) as kept:
        assert kept.counts() == (1, 0)
