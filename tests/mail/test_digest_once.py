"""The owners' digest is sent at most once per owner and day, whatever crashes happen, and
one that can never go out is said why and not retried. `sheetcrm run`'s digest job in
process, an .xlsx workbook, a real SMTP server on loopback (aiosmtpd). A crash is a
KeyboardInterrupt raised between the server's 250 and sheetcrm's record, as the outbox's
crash tests do (tests/mail/test_outbox_smtp.py, test_journal.py)."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest

from books import xlsx_book
from conftest import Inbox, Server
from sheetcrm import service as service_module
from sheetcrm.config import Config
from sheetcrm.mail.smtp import SmtpSender
from sheetcrm.service import DigestLedger, JobResult, Service
from sheetcrm.workbook.xlsx import XlsxWorkbook

DAY = dt.date(2026, 11, 23)
TASKS = {"Tasks": [["ID", "Due", "Subject", "Related", "Owner", "Status"],
                   ["TSK-0001", "2020-01-01", "Send the contract", "", "Marta", "Open"]]}


def service(tmp_path, server, owners=None, day=DAY) -> Service:
    """A fresh Service, as after a restart, over the same workbook and the same cache."""
    config = Config(currency="EUR", owners=owners or {"Marta": "marta@example.com"}, smtp=server.settings())
    path = tmp_path / "crm.xlsx"
    book = XlsxWorkbook(path) if path.exists() else xlsx_book(path, TASKS)
    return Service(config, book, logging.getLogger("test-digest"), today=lambda: day)


def error_line(caplog) -> str:
    return [r for r in caplog.records if r.levelno == logging.ERROR][-1].getMessage()


def run_digest(svc: Service) -> bool:
    return svc.run_job(next(j for j in svc.jobs if j.name == "digest"), once=True)


def test_a_crash_after_the_servers_250_never_sends_the_digest_again_and_says_so(tmp_path, server, monkeypatch,
                                                                                 caplog):
    class CrashAfterSend(SmtpSender):
        def send(self, msg):
            super().send(msg)
            raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(service_module, "SmtpSender", CrashAfterSend)
    with pytest.raises(KeyboardInterrupt):
        service(tmp_path, server).digest()
    [sent] = server.inbox.messages
    monkeypatch.setattr(service_module, "SmtpSender", SmtpSender)

    caplog.set_level(logging.INFO, logger="test-digest")
    restarted = service(tmp_path, server)
    assert not run_digest(restarted)  # told as a failure, once
    assert len(server.inbox.messages) == 1
    said = error_line(caplog)
    assert f"Marta's digest of 2026-11-23 may have been sent as {sent['Message-ID']}" in said
    assert "it is not sent again; check whether it arrived" in said
    assert "digest outcome unknown" not in said  # said once, not twice
    assert restarted.jobs[-1].failures == 0  # no backoff retry: retrying cannot tell
    later = service(tmp_path, server).digest()  # a later run that day: no failure, still said
    assert later.message == "digest outcome unknown, not sent again: Marta" and len(server.inbox.messages) == 1
    # The next day's digest goes out as usual.
    assert run_digest(service(tmp_path, server, day=DAY + dt.timedelta(days=1)))
    assert len(server.inbox.messages) == 2


def test_a_crash_after_the_journal_saw_the_250_is_settled_without_a_second_digest(tmp_path, server, monkeypatch):
    class DiesBeforeRecording(DigestLedger):
        def add(self, owners, day):
            raise KeyboardInterrupt("power cut")

    first = service(tmp_path, server)
    first.digests_sent = DiesBeforeRecording(first.digests_sent.path)
    with pytest.raises(KeyboardInterrupt):
        first.digest()
    assert len(server.inbox.messages) == 1
    result = service(tmp_path, server).digest()
    assert len(server.inbox.messages) == 1
    assert "Marta (sent at" in result.message and "stopped before recording it" in result.message
    assert DigestLedger(first.digests_sent.path).has("Marta", DAY)


def test_a_digest_that_can_never_go_out_says_why_and_is_not_retried(tmp_path, server, caplog):
    caplog.set_level(logging.INFO, logger="test-digest")
    owners = {"Marta": "marta@example.com", "Zoé": "zoé@example.com"}
    svc = service(tmp_path, server, owners)
    assert not run_digest(svc)
    said = error_line(caplog)
    assert "Zoé's digest to zoé@example.com was refused" in said
    assert "Internationalized characters before the @-sign are not supported" in said
    assert "not tried again until [owners] or [smtp] changes" in said
    assert svc.jobs[-1].failures == 0  # no backoff: the job keeps its daily schedule
    assert [m["To"] for m in server.inbox.messages] == ["marta@example.com"]
    # The next run that day sends nothing, tries nothing, and still says why.
    again = service(tmp_path, server, owners).digest()
    assert "Zoé's digest not sent today" in again.message and "Internationalized" in again.message
    assert len(server.inbox.messages) == 1


def test_a_5xx_is_not_retried_until_the_address_changes(tmp_path, server, caplog):
    caplog.set_level(logging.INFO, logger="test-digest")
    server.inbox.reply = "550 5.1.1 No such mailbox"
    assert not run_digest(service(tmp_path, server))
    assert "550 5.1.1 No such mailbox" in error_line(caplog)
    server.inbox.reply = None
    assert run_digest(service(tmp_path, server)) and server.inbox.messages == []
    assert run_digest(service(tmp_path, server, {"Marta": "marta@team.example"}))
    assert [m["To"] for m in server.inbox.messages] == ["marta@team.example"]


def test_the_journal_counts_a_digests_events_told_only_once_accepted_and_the_outbox_never_sees_it(tmp_path,
                                                                                                   server):
    from sheetcrm.mail.digest import Digest, send_digests
    from sheetcrm.mail.journal import Journal

    class CrashAfterSend(SmtpSender):
        def send(self, msg):
            super().send(msg)
            raise KeyboardInterrupt("power cut")

    s, now = server.settings(), dt.datetime(2026, 11, 23, 8, tzinfo=dt.timezone.utc)
    ana = Digest("Ana", "ana@team.example", "Digest", "hi", events=("WF-0001|OPP-0001|won",))
    bo = Digest("Bo", "bo@team.example", "Digest", "hi", events=("WF-0001|OPP-0002|won",))
    with Journal(tmp_path / "journal.sqlite3", "crm") as journal:
        tokens = iter(["d1", "d2", "d3"])
        outcomes = send_digests([ana], "sales@example.com", lambda: SmtpSender(s), now, lambda: next(tokens),
                                "example.com", journal, DAY)
        assert outcomes["Ana"].kind == "sent"
        with pytest.raises(KeyboardInterrupt):
            send_digests([bo], "sales@example.com", lambda: CrashAfterSend(s), now, lambda: next(tokens),
                         "example.com", journal, DAY)
        assert journal.told() == {"WF-0001|OPP-0001|won"}  # Bo's may not have arrived: told again tomorrow
        assert [e.row_id for e in journal.untold_digests()] == ["Bo"]
        again = send_digests([ana, bo], "sales@example.com", lambda: SmtpSender(s), now, lambda: "d4", "example.com",
                             journal, DAY)
        assert {o: (out.kind, out.entry.state) for o, out in again.items()} == {"Ana": ("held", "sent"),
                                                                               "Bo": ("held", "intent")}
        assert len(server.inbox.messages) == 2 and journal.ledger().entries == ()  # the Outbox's ledger: quotes only


class RefusesLeo(Inbox):
    """An inbox whose server says 451 to leo@ while `refuse`."""
    refuse = True

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.refuse and address.startswith("leo@"):
            return "451 4.7.1 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def _marta_and_leo(tmp_path, server, days: list[dt.date]) -> tuple[Service, object]:
    """A weekly digest service for Marta and Leo (a task each) on `days[0]`, and its digest job."""
    tasks = {"Tasks": [*TASKS["Tasks"], ["TSK-0002", "2020-01-01", "Call back", "", "Leo", "Open"]]}
    config = Config(currency="EUR", owners={"Marta": "marta@example.com", "Leo": "leo@example.com"},
                    smtp=server.settings(), schedule={"digest": "every 7 days"})
    svc = Service(config, xlsx_book(tmp_path / "crm.xlsx", tasks), logging.getLogger("test-digest"),
                  today=lambda: days[0])
    return svc, next(j for j in svc.jobs if j.name == "digest")


def test_a_retry_past_midnight_is_the_failed_days_digest_for_the_owners_it_missed(tmp_path):
    # Was: the 23:00 digest reached Marta, Leo's server said 451; the backoff retry at 00:00 took
    # the new day, and sent Marta the next day's digest an hour after that day's (Leo too, early),
    # and the next day's scheduled run then sent nobody anything.
    server = Server()
    server.inbox = RefusesLeo()
    server.start()
    try:
        days = [DAY]
        svc, job = _marta_and_leo(tmp_path, server, days)
        assert not svc.run_job(job) and job.failures == 1  # Leo's 451: retried with backoff
        assert [m["To"] for m in server.inbox.messages] == ["marta@example.com"]
        server.inbox.refuse = False
        days[0] = DAY + dt.timedelta(days=1)  # the retry runs past midnight
        assert svc.run_job(job)
        [marta, leo] = server.inbox.messages
        assert leo["To"] == "leo@example.com" and leo["Subject"] == marta["Subject"] == "Your sheetcrm digest – Nov 23, 2026"
        # The next day's own run sends that day's digest to each, once.
        assert svc.run_job(job)
        assert [(m["To"], m["Subject"][-12:]) for m in server.inbox.messages[2:]] == [
            ("leo@example.com", "Nov 24, 2026"), ("marta@example.com", "Nov 24, 2026")]
    finally:
        server.stop()


def test_work_whose_owner_has_no_address_is_said_not_dropped(tmp_path, server):
    # Was: Chloé's digest went out, and the overdue task typed to "Chloe " (no accent) reached
    # no digest, with "digest sent to Chloé" and not a word about it.
    from sheetcrm.i18n import using

    tasks = {"Tasks": [TASKS["Tasks"][0], ["TSK-0001", "2020-01-01", "Send the contract", "", "Chloé", "Open"],
                       ["TSK-0002", "2020-01-01", "Call back", "", "Chloe ", "Open"]]}
    config = Config(currency="EUR", owners={"Chloé": "chloe@example.com"}, smtp=server.settings())
    svc = Service(config, xlsx_book(tmp_path / "crm.xlsx", tasks), logging.getLogger("test-digest"), today=lambda: DAY)
    assert svc.digest().message == "digest sent to Chloé; no digest for Chloe: no address under [owners]"
    [sent] = server.inbox.messages
    assert "Send the contract" in sent.get_content() and "Call back" not in sent.get_content()
    with using("es"):
        assert svc.digest().message.endswith("sin resumen para Chloe: no tienen dirección en [owners]")


def test_run_once_sends_the_digest_at_its_time_not_at_the_days_first_cron_tick(tmp_path, server, caplog):
    """`sheetcrm run --once` from cron every 5 minutes sent an "every day at 08:00" digest at the
    first tick of the day (00:05), and an "every monday at 08:00" one every day. The digest now
    goes once its time has come round on the team's clock (its weekday, its time), the ledger
    keeping it to one a day; before, the run says it is not due, and sends nothing."""
    zone = ZoneInfo("Europe/Madrid")
    now = dt.datetime.now(zone)
    other_day = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")[
        (now.weekday() + 3) % 7]
    caplog.set_level(logging.INFO, logger="test-digest")
    for schedule, sent in ((f"every {other_day} at 00:00", 0), ("every day at 00:00", 1)):
        config = Config(currency="EUR", owners={"Marta": "marta@example.com"}, smtp=server.settings(),
                        timezone="Europe/Madrid", schedule={"digest": schedule})
        path = tmp_path / "crm.xlsx"
        book = XlsxWorkbook(path) if path.exists() else xlsx_book(path, TASKS)
        assert Service(config, book, logging.getLogger("test-digest"), today=lambda: now.date()).run_once()
        assert len(server.inbox.messages) == sent, schedule
    assert f"digest not due yet: every {other_day.capitalize()} at 00:00" in caplog.text


@pytest.mark.parametrize("schedule, moment, come", [
    ("every day at 08:00", "2026-11-23T07:59:00+01:00", False), ("every day at 08:00", "2026-11-23T08:00:00+01:00", True),
    # 07:30 UTC is 08:30 in Madrid: the team's clock, not the machine's.
    ("every day at 08:00", "2026-11-23T07:30:00+00:00", True),
    ("every monday at 08:00", "2026-11-23T09:00:00+01:00", True),   # a Monday
    ("every monday at 08:00", "2026-11-24T09:00:00+01:00", False),  # a Tuesday
    ("every 2 days at 08:00", "2026-11-24T09:00:00+01:00", True),
    # The spring change skips 02:30 in Madrid: it comes round at 03:30.
    ("every day at 02:30", "2026-03-29T03:29:00+02:00", False), ("every day at 02:30", "2026-03-29T03:30:00+02:00", True),
    ("every 6 hours", "2026-11-23T00:01:00+01:00", True)])
def test_a_schedule_at_a_time_comes_round_on_the_teams_clock(schedule, moment, come):
    from sheetcrm.every import parse_every

    assert parse_every(schedule).come_round(dt.datetime.fromisoformat(moment), ZoneInfo("Europe/Madrid")) is come


def test_a_retry_past_the_next_scheduled_digest_says_whose_day_was_lost(tmp_path):
    """Leo's server said 451 to the 23:00 digest and the retries outlasted the next day's run:
    that run took the new day (it is the next digest) and Leo never had the failed day's, with
    no word anywhere. The run now names the day and whom it never reached."""
    server = Server()
    server.inbox = RefusesLeo()
    server.start()
    try:
        days = [DAY]
        svc, job = _marta_and_leo(tmp_path, server, days)
        assert not svc.run_job(job) and svc.digest_retry is not None
        # The retry still waiting when the next scheduled run is due: the 23rd's is that run's no more.
        svc.digest_retry = (DAY, dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1))
        server.inbox.refuse = False
        days[0] = DAY + dt.timedelta(days=1)
        result = svc.digest()
        assert [(m["To"], m["Subject"][-12:]) for m in server.inbox.messages[1:]] == [
            ("leo@example.com", "Nov 24, 2026"), ("marta@example.com", "Nov 24, 2026")]
        # The day as the digests' own subjects write it (`i18n.day_said`), not ISO amid the words.
        assert ("the digest of Nov 23, 2026 never reached Leo: its retries ran past the next digest, which tells "
                "today's work instead") in result.message
    finally:
        server.stop()


class VirtualMachine:
    """The service's clock (service.MachineClock), virtual: `sleep` moves it; so does a suspend,
    which the test plays from inside a sleep."""

    def __init__(self, wall: dt.datetime) -> None:
        self.at, self.boot, self.naps = wall, 0.0, []

    def elapsed(self) -> float:
        return self.boot

    def wall(self) -> dt.datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.boot += seconds
        self.at += dt.timedelta(seconds=seconds)
        if self.naps and self.at >= self.naps[0][0]:
            _, hours = self.naps.pop(0)
            self.boot += hours * 3600
            self.at += dt.timedelta(hours=hours)


@pytest.mark.parametrize("digest, start, nap, subjects, late", [
    # Asleep over Monday's 23:00 until 01:00 Tuesday: Monday's digest on waking, said late; Tuesday's at 23:00.
    ("every day at 23:00", "2026-11-23T22:00:00+00:00", ("2026-11-23T22:30:00+00:00", 2.5),
     ["Nov 23, 2026", "Nov 24, 2026"], "the digest of Nov 23, 2026 was due at 23:00"),
    # Asleep from Monday 07:00 to Wednesday 10:00 (three 08:00s): one digest on waking, Wednesday's.
    ("every day at 08:00", "2026-11-23T06:00:00+00:00", ("2026-11-23T07:00:00+00:00", 51),
     ["Nov 25, 2026", "Nov 26, 2026"], "the digest of Nov 25, 2026 was due at 08:00"),
])
def test_a_digest_the_machine_slept_through_is_sent_on_waking_once_for_the_day_it_was_due(
        tmp_path, server, monkeypatch, digest, start, nap, subjects, late):
    """Was: woken at 01:00, the service sent the 23:00 digest it had slept through as Tuesday's
    (its subject, its overdue tasks as of Tuesday, the ledger's Tuesday), so Tuesday's own 23:00
    run found it "already sent today": Monday's never went out, Tuesday's went out 22 hours early."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    machine = VirtualMachine(dt.datetime.fromisoformat(start))
    machine.naps = [(dt.datetime.fromisoformat(nap[0]), nap[1])]
    config = Config(currency="EUR", owners={"Marta": "marta@example.com"}, smtp=server.settings(), timezone="UTC",
                    schedule={"sync": "every 7 days", "outbox": "every 7 days", "digest": digest})
    svc = Service(config, xlsx_book(tmp_path / "crm.xlsx", TASKS), logging.getLogger("test-digest"), clock=machine)
    job = next(j for j in svc.jobs if j.name == "digest")
    said, work = [], job.work

    def counted():
        result = work()
        said.append(result.message)
        if len(said) == 2:
            svc.stopping.set()
        return result

    job.work = counted
    svc.serve()
    assert [m["Subject"][-12:] for m in server.inbox.messages] == subjects
    assert said[0] == f"digest sent to Marta; sent late: {late}" and said[1] == "digest sent to Marta"


def test_a_fleets_digest_slept_through_is_that_days_and_its_day_is_the_fleets(tmp_path, server):
    """The fleet: Monday's 23:00 digest fell due while the machine slept, and the fleet runs it at
    01:00 Tuesday. It is Monday's (its subject, its day in the ledger), said late, and Tuesday's
    goes out at Tuesday's 23:00. Was: the member's service took the machine's day, whatever the
    fleet's clock said, and the slept-through digest was the day it ran on."""
    from sheetcrm.fleet.clock import VirtualClock
    from sheetcrm.fleet.runner import Fleet
    from sheetcrm.fleet.settings import load_fleet

    xlsx_book(tmp_path / "crm.xlsx", TASKS)
    (tmp_path / "crm.toml").write_text(
        f'timezone = "UTC"\ncurrency = "EUR"\n[schedule]\noutbox = "every 7 days"\ndigest = "every day at 23:00"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {server.port}\nsecurity = "none"\nfrom = "crm@example.com"\n'
        f'[owners]\n"Marta" = "marta@example.com"\n')
    (tmp_path / "fleet.toml").write_text('[[workbook]]\nworkbook = "crm.xlsx"\nconfig = "crm.toml"\n'
                                         'every = "every 7 days"\n')
    fleet = Fleet(load_fleet(tmp_path / "fleet.toml"), logging.getLogger("test-fleet-digest"), clock=VirtualClock(),
                  poll=None, write_state_file=False, wall0=dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.timezone.utc))
    member = fleet.members["crm"]
    fleet._open(member)
    fleet._slot("crm", "digest").due = -2 * 3600.0  # Monday 23:00: it fell due as the machine slept
    said, work = [], member.jobs["digest"].work
    member.jobs["digest"].work = lambda: said.append(work().message) or JobResult(message=said[-1])
    fleet.serve(until=23 * 3600.0)
    assert [m["Subject"][-12:] for m in server.inbox.messages] == ["Nov 23, 2026", "Nov 24, 2026"]
    assert said == ["digest sent to Marta; sent late: the digest of Nov 23, 2026 was due at 23:00",
                    "digest sent to Marta"]


def test_a_digest_cron_slept_through_goes_at_the_next_tick_once_for_its_day(tmp_path, server, caplog):
    """`sheetcrm run --once` from cron every 5 minutes, the laptop asleep from 22:30 to 01:00 over
    the 23:00 digest: the 01:00 tick said "digest not due yet" and Monday's digest never went
    out. It goes at that tick now, as Monday's, said late; the next tick sends nothing; Tuesday's
    goes at 23:00. A first run (no digest ever sent) still waits for the time."""
    caplog.set_level(logging.INFO, logger="test-digest")
    config = Config(currency="EUR", owners={"Marta": "marta@example.com"}, smtp=server.settings(), timezone="UTC",
                    schedule={"digest": "every day at 23:00"})
    book = xlsx_book(tmp_path / "crm.xlsx", TASKS)

    def tick(moment: str) -> list[str]:
        svc = Service(config, book, logging.getLogger("test-digest"),
                      clock=VirtualMachine(dt.datetime.fromisoformat(moment)))
        svc.jobs = [j for j in svc.jobs if j.name == "digest"]
        assert svc.run_once()
        return [m["Subject"][-12:] for m in server.inbox.messages]

    assert tick("2026-11-22T01:00:00+00:00") == []  # a first run: not due before its time
    assert tick("2026-11-22T23:05:00+00:00") == ["Nov 22, 2026"]
    assert tick("2026-11-23T22:25:00+00:00") == ["Nov 22, 2026"]
    # Asleep over Monday's 23:00: the first tick on waking.
    assert tick("2026-11-24T01:00:00+00:00") == ["Nov 22, 2026", "Nov 23, 2026"]
    assert "digest sent to Marta; sent late: the digest of Nov 23, 2026 was due at 23:00" in caplog.text
    assert tick("2026-11-24T01:05:00+00:00") == ["Nov 22, 2026", "Nov 23, 2026"]
    assert tick("2026-11-24T23:05:00+00:00") == ["Nov 22, 2026", "Nov 23, 2026", "Nov 24, 2026"]
