"""`sheetcrm run` sends the outbox and the owners' digests: a real process, a real SMTP
server on loopback, and an .xlsx workbook. Each email goes out once, restarts included."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import openpyxl

from conftest import crm_tabs
from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook.memory import MemoryWorkbook
from sheetcrm.workbook.xlsx import XlsxWorkbook
from books import xlsx

AS_OF = dt.date.today()


def workbook(tmp_path) -> XlsxWorkbook:
    tabs = crm_tabs(Tasks=[["ID", "Due", "Subject", "Related", "Owner", "Status"],
                           ["TSK-0001", "2020-01-01", "Send the contract", "OPP-0001", "Marta", "Open"]])
    xlsx(tmp_path / "crm.xlsx", tabs)
    # At 00:00: `run --once` sends a digest once its time has come round, which 00:00 has at any hour the test runs.
    (tmp_path / "sheetcrm.toml").write_text('currency = "EUR"\n[owners]\n"Marta" = "marta@example.com"\n'
                                            '[schedule]\ndigest = "every day at 00:00"\n')
    return XlsxWorkbook(tmp_path / "crm.xlsx")


def run_once(tmp_path, server) -> subprocess.CompletedProcess:
    env = {**os.environ, "SHEETCRM_SMTP_HOST": "127.0.0.1", "SHEETCRM_SMTP_PORT": str(server.port),
           "SHEETCRM_SMTP_SECURITY": "none", "SHEETCRM_SMTP_FROM": "sales@example.com",
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return subprocess.run([sys.executable, "-m", "sheetcrm", "run", "--once", "--log-format", "json"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)


def test_run_once_sends_approved_quotes_and_digests_exactly_once(tmp_path, server):
    book = workbook(tmp_path)
    first = run_once(tmp_path, server)  # sync queues a Draft; nothing is approved yet
    assert first.returncode == 0, first.stderr
    digests = [m for m in server.inbox.messages if m["Subject"].startswith("Your sheetcrm digest")]
    assert len(digests) == 1 and digests[0]["To"] == "marta@example.com"
    body = digests[0].get_content()
    assert "Send the contract (OPP-0001)" in body and "Overdue tasks (1)" in body
    assert not [m for m in server.inbox.messages if m["Subject"].startswith("Quote")]

    wb = openpyxl.load_workbook(book.path)
    outbox = wb["Outbox"]
    status = [c.value for c in outbox[1]].index("Status") + 1
    outbox.cell(2, status, "Approved")  # a person approves the Draft
    wb.save(book.path)
    second = run_once(tmp_path, server)
    assert second.returncode == 0, second.stderr
    quotes = [m for m in server.inbox.messages if m["Subject"].startswith("Quote")]
    assert len(quotes) == 1 and quotes[0]["To"] == "Ana Pérez <ana@example.com>"
    # The same day again: no second digest, and the Sent quote is not sent again.
    assert run_once(tmp_path, server).returncode == 0
    assert len(server.inbox.messages) == 2


def test_without_smtp_only_the_sync_is_scheduled(tmp_path):
    workbook(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEETCRM_SMTP_")}
    out = subprocess.run([sys.executable, "-m", "sheetcrm", "run", "--once"], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, env={**env, "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert out.returncode == 0, out.stderr
    # Only the sync runs; the digest the config asks for ([schedule] digest, [owners]) is said
    # not to, once, with why (it was left out in silence: no digest came, and no line said why).
    lines = [line for line in out.stderr.splitlines() if "outbox" in line or "digest" in line]
    assert "sync ok" in out.stderr and len(lines) == 1, out.stderr
    assert lines[0].endswith("digest is not scheduled: it needs an SMTP server ([smtp] host in the config, "
                             "or $SHEETCRM_SMTP_HOST)"), lines


def test_a_mail_job_asked_for_that_cannot_run_is_said(tmp_path, server):
    # An outbox asked for on a schedule with no SMTP server, and a digest asked for with a server
    # but no [owners], never ran, and `sheetcrm run` said nothing of them: Approved quotes waited.
    xlsx(tmp_path / "crm.xlsx", crm_tabs())
    config = tmp_path / "sheetcrm.toml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEETCRM_")}
    env = {**env, "XDG_CACHE_HOME": str(tmp_path / "cache"), "SHEETCRM_LANG": "en"}
    smtp = {"SHEETCRM_SMTP_HOST": "127.0.0.1", "SHEETCRM_SMTP_PORT": str(server.port),
            "SHEETCRM_SMTP_SECURITY": "none", "SHEETCRM_SMTP_FROM": "sales@example.com"}

    def said(toml: str, extra: dict) -> list[dict]:
        config.write_text(toml, encoding="utf-8")
        out = subprocess.run([sys.executable, "-m", "sheetcrm", "run", "--once", "--log-format", "json"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=120, env={**env, **extra})
        assert out.returncode == 0, out.stderr
        return [e for e in map(json.loads, out.stderr.splitlines()) if e.get("event") == "unscheduled"]

    outbox = said('[schedule]\noutbox = "every 1 minute"\n', {})
    assert [(e["job"], e["level"]) for e in outbox] == [("outbox", "warning")], outbox
    assert "needs an SMTP server" in outbox[0]["message"]
    digest = said('[schedule]\ndigest = "every day at 07:00"\n', smtp)
    assert [e["job"] for e in digest] == ["digest"] and "[owners]" in digest[0]["message"], digest
    assert said('[schedule]\nsync = "every 5 minutes"\n', {}) == []  # nothing asked: nothing said


def test_digest_lists_each_owners_own_work():
    from sheetcrm.mail.digest import owner_digests
    from sheetcrm.mail.templates import Templates
    from sheetcrm.sync import plan_sync

    tabs = crm_tabs(Tasks=[["ID", "Due", "Subject", "Related", "Owner", "Status"],
                           ["TSK-0001", "2020-01-01", "Marta's task", "", "Marta", "Open"],
                           ["TSK-0002", "2020-01-01", "Leo's task", "", "Leo", "Open"],
                           ["TSK-0003", "2020-01-01", "Done already", "", "Marta", "Done"]])
    config = Config(currency="EUR", owners={"Marta": "marta@example.com", "Leo": "leo@example.com"})
    book = MemoryWorkbook(tabs)
    sync(book, config, as_of=AS_OF)
    crm, results, _ = plan_sync(book.read(), config, AS_OF)
    digests = {d.owner: d for d in owner_digests(crm, results, config, Templates())}
    assert "Marta's task" in digests["Marta"].text and "Leo's task" not in digests["Marta"].text
    assert "Done already" not in digests["Marta"].text and "Leo's task" in digests["Leo"].text


def test_two_owners_names_that_cells_read_as_one_stop_the_run_with_one_line(tmp_path, server):
    # Was: [owners] "Marta" and "marta " (two addresses) both passed; the second's digest was held
    # as already sent by the first, and the run said "marta  (sent at …; the run that sent it
    # stopped before recording it)": marta.other@ got nothing, and the line was false.
    workbook(tmp_path)
    (tmp_path / "sheetcrm.toml").write_text('currency = "EUR"\n[owners]\n"Marta" = "marta@example.com"\n'
                                            '"marta " = "marta.other@example.com"\n')
    out = run_once(tmp_path, server)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    [line] = out.stderr.strip().splitlines()
    message = json.loads(line)["message"]
    assert message.startswith("sheetcrm.toml: owners.") and "are one owner" in message
    assert '"Marta"' in message and '"marta "' in message
    assert server.inbox.messages == []
    from pydantic import ValidationError
    from sheetcrm.i18n import using
    with using("es"):
        try:
            Config(currency="EUR", owners={"Ana": "ana@example.com", "ANA": "ana@example.com"})
        except ValidationError as e:
            assert "son un mismo propietario" in str(e) and '"Ana"' in str(e) and '"ANA"' in str(e)
        else:
            raise AssertionError("two spellings of one owner were accepted")
