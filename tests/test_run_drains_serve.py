"""`sheetcrm run` drains `sheetcrm serve`'s website queue too: serve's own drain skips its
rounds while run holds the workbook's lock, and nothing is lost or appended twice, whichever
of the two syncs next. Real HTTP to the real server, the real SQLite queue, real .xlsx files;
once with the library's functions in one process, once with both commands as processes."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import openpyxl

from sheetcrm.config import Config
from sheetcrm.intake.drain import drain
from sheetcrm.intake.forms import KEY
from sheetcrm.intake.queue import WebBatch, WebQueue
from sheetcrm.intake.web import Drainer, WebServer, make_app
from sheetcrm.lock import WorkbookLock
from sheetcrm.service import Service
from sheetcrm.sync import sync
from sheetcrm.workbook.xlsx import XlsxWorkbook

TABS = {
    "Leads": [["ID", "First Name", "Last Name", "Company", "Email", "Phone", "Source", "Status", "Created"],
              ["LEAD-0001", "Ana", "Ruiz", "Acme", "ana@acme.com", None, "Referral", "Contacted", 46000]],
    "Activities": [["ID", "Date", "Type", "Subject", "Related", "Owner", "Outcome"],
                   ["ACT-0001", 46000, "Call", "Intro", "LEAD-0001", "Eve", None]],
}


def _workbook(path):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in TABS.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return XlsxWorkbook(path)


def _config() -> Config:
    return Config.model_validate({"serve": {"rate": 1000, "burst": 100000}})


def _post(port: int, n: int) -> str:
    r = httpx.post(f"http://127.0.0.1:{port}/leads", data={"name": f"Noa Vidal{n}", "email": f"noa{n}@vidal.com"},
                   timeout=10)
    assert r.status_code == 201, r.text
    return r.json()["receipt"]


def _check_once(path, receipts: list[str], emails: list[str]) -> None:
    """Every submission is one lead and one Form Submitted activity, no more."""
    wb = openpyxl.load_workbook(path)
    leads = [r[4] for r in wb["Leads"].iter_rows(min_row=2, values_only=True) if r[4]]
    subjects = [r[3] for r in wb["Activities"].iter_rows(min_row=2, values_only=True) if r[3]]
    keys = [m.group(1) for s in subjects if (m := KEY.search(s))]
    assert sorted(leads) == sorted(["ana@acme.com", *emails])
    assert sorted(keys) == sorted(receipts)
    ids = [r[0] for r in wb["Leads"].iter_rows(min_row=2, values_only=True)]
    assert len(ids) == len(set(ids))


def test_run_appends_what_serve_accepted_while_it_held_the_lock(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    book = _workbook(tmp_path / "crm.xlsx")
    cfg = _config()
    receipts: list[str] = []
    emails: list[str] = []
    with WebQueue.beside_lock(book) as queue:
        server = WebServer(make_app(cfg, queue), "127.0.0.1", 0).start()
        serves = Drainer(book, cfg, queue, every=3600)  # serve's drain, its rounds run by hand
        try:
            with WorkbookLock(book):  # as `sheetcrm run` holds it, for as long as it runs
                service = Service(cfg, book, logging.getLogger("test-run"))
                for n in range(5):
                    receipts.append(_post(server.port, n))
                    emails.append(f"noa{n}@vidal.com")
                assert serves.once() == 0 and queue.counts() == (5, 0)  # serve skips: run holds the lock
                assert service.run_job(service.jobs[0])
                assert queue.counts() == (0, 5)
                _check_once(book.path, receipts, emails)
                # A write that landed and was never marked (a drain cut short between the two):
                # run's next sync finds the receipt in the Activities, marks it, appends nothing.
                receipts.append(_post(server.port, 5))
                emails.append("noa5@vidal.com")
                sync(book, cfg, web=WebBatch(queue.waiting()))
                assert queue.counts() == (1, 5)
                assert service.run_job(service.jobs[0])
                assert queue.counts() == (0, 6)
                _check_once(book.path, receipts, emails)
                assert not serves.once()
            # run stopped: serve's drain takes over, with nothing left over and nothing twice.
            assert serves.once() == 0
            receipts.append(_post(server.port, 6))
            emails.append("noa6@vidal.com")
            assert serves.once() == 1
            again = Service(cfg, book, logging.getLogger("test-run-2"))
            assert again.run_job(again.jobs[0])
            assert queue.counts() == (0, 7)
        finally:
            server.stop()
    _check_once(book.path, receipts, emails)


def test_a_service_without_serve_makes_no_queue(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    book = _workbook(tmp_path / "crm.xlsx")
    service = Service(_config(), book, logging.getLogger("test-run"))
    assert service.run_job(service.jobs[0])
    assert service.web_queue() is None and not list((tmp_path / "cache").rglob("*.webforms.sqlite3"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_both_commands_as_processes_append_each_submission_once(tmp_path, monkeypatch):
    """`sheetcrm run` and `sheetcrm serve` on one workbook, as a team runs them: run holds the
    lock for good, so run's syncs append what serve accepts; serve's drain only skips."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # where the commands keep the queue too
    book = _workbook(tmp_path / "crm.xlsx")
    (tmp_path / "sheetcrm.toml").write_text('workbook = "crm.xlsx"\n[schedule]\nsync = "every 1 second"\n'
                                            '[serve]\nrate = 1000.0\nburst = 100000\nsync_every = 0.5\n')
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    port = _free_port()
    run = subprocess.Popen([sys.executable, "-m", "sheetcrm", "run", "--log-format", "json"], cwd=tmp_path, env=env,
                           stderr=subprocess.PIPE, text=True)
    serve = None
    try:
        deadline = time.monotonic() + 60
        while not list((tmp_path / "cache").rglob("*.lock")) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the lock file exists before the lock is taken: give run its first sync
        serve = subprocess.Popen([sys.executable, "-m", "sheetcrm", "serve", "--port", str(port)], cwd=tmp_path,
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        receipts, emails = [], []
        for n in range(20):
            for _attempt in range(400):
                try:
                    receipts.append(_post(port, n))
                    break
                except httpx.ConnectError:
                    time.sleep(0.05)
            emails.append(f"noa{n}@vidal.com")
        with WebQueue.beside_lock(book) as queue:
            while queue.counts()[0] and time.monotonic() < deadline + 60:
                time.sleep(0.2)
            assert queue.counts() == (0, 20)
    finally:
        if serve is not None:
            serve.send_signal(signal.SIGINT)
            serve_out, serve_err = serve.communicate(timeout=60)
        run.send_signal(signal.SIGTERM)
        _out, run_err = run.communicate(timeout=60)
    assert run.returncode == 0, run_err
    events = [json.loads(line) for line in run_err.splitlines()]
    assert any("website form submission" in (e.get("detail") or "") for e in events)
    assert "sheetcrm run" in serve_err or "PID" in serve_err  # serve's rounds skipped: run held the lock
    _check_once(book.path, receipts, emails)
