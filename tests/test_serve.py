"""`sheetcrm serve` with a real HTTP client (httpx) against the real server (uvicorn) on
loopback, and the queue drained into a Google spreadsheet (gspread over HTTP to the emulator)."""

from __future__ import annotations

import json
import random

import httpx
import pytest

from sheetcrm.config import Config
from sheetcrm.emulator import Emulator
from sheetcrm.intake.drain import drain
from sheetcrm.intake.forms import KEY
from sheetcrm.intake.queue import WebBatch, WebQueue
from sheetcrm.intake.web import WebServer, make_app, signature
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


def config(**serve) -> Config:
    return Config.model_validate({"serve": {"rate": 1000, "burst": 100000, **serve}})


@pytest.fixture
def queue(tmp_path):
    with WebQueue(tmp_path / "q.sqlite3") as q:
        yield q


def running(cfg, queue, secret=None):
    return WebServer(make_app(cfg, queue, secret), "127.0.0.1", 0).start()


def post(server, data=None, json_body=None, headers=None, content=None):
    url = f"http://127.0.0.1:{server.port}/leads"
    return httpx.post(url, data=data, json=json_body, headers=headers, content=content, timeout=10)


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


def test_hmac_signature(queue):
    secret = b"s3cret"
    server = running(config(), queue, secret)
    try:
        body = b"name=Ann+Bee&email=ann%40bee.com"
        form = {"content-type": "application/x-www-form-urlencoded"}
        assert post(server, content=body, headers=form).status_code == 403
        bad = {**form, "X-Sheetcrm-Signature": signature(b"other", body)}
        assert post(server, content=body, headers=bad).status_code == 403
        good = {**form, "X-Sheetcrm-Signature": signature(secret, body)}
        r = post(server, content=body, headers=good)
        assert r.status_code == 201 and "s3cret" not in r.text
    finally:
        server.stop()
    assert queue.counts() == (1, 0)


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

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in TABS.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(tmp_path / "crm.xlsx")
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
                r = httpx.post(f"http://127.0.0.1:{port}/leads", content=body, timeout=5,
                               headers={"content-type": "application/json",
                                        "X-Sheetcrm-Signature": signature(b"topsecret", body)})
                break
            except httpx.ConnectError:
                time.sleep(0.05)
        assert r.status_code == 201, r.text
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert "topsecret" not in out + err
    rows = [[c.value for c in r] for r in openpyxl.load_workbook(tmp_path / "crm.xlsx")["Leads"].iter_rows()]
    assert [r[4] for r in rows[1:]] == ["ana@acme.com", "noa@vidal.com"]
    assert rows[2][:3] == ["LEAD-0002", "Noa", "Vidal"]
