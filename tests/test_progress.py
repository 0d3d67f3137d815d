"""Progress: the library reports a sync's phases through a hook (no terminal code in it), and
the CLI draws them on a terminal only: piped output and JSON show nothing."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys

from rich.console import Console

from sheetcrm import show
from sheetcrm.config import Config
from sheetcrm.i18n import using
from sheetcrm.steps import STEPS
from sheetcrm.sync import PHASES, sync
from sheetcrm.workbook.memory import MemoryWorkbook


def crm() -> MemoryWorkbook:
    return MemoryWorkbook({
        "Accounts": [["ID", "Name"], ["", "Acme"]],
        "Opportunities": [["ID", "Name", "Account", "Stage", "Amount"], ["", "A", "Acme", "Proposal", 100]],
    })


def heard(book: MemoryWorkbook, **options) -> list[tuple[str, int, int | None]]:
    events: list[tuple[str, int, int | None]] = []
    sync(book, Config(), as_of=dt.date(2026, 1, 1), progress=lambda *event: events.append(event), **options)
    return events


def phases(events) -> list[str]:
    return [phase for phase, done, _ in events if done == 0]


def test_the_hook_hears_every_phase_in_order_each_started_and_finished():
    events = heard(crm())
    assert phases(events) == list(PHASES)
    for phase in PHASES:
        mine = [(done, total) for p, done, total in events if p == phase]
        assert mine[0][0] == 0 and mine[-1][0] == mine[-1][1]  # started, then finished
        assert [d for d, _ in mine] == sorted(d for d, _ in mine)  # never backwards
    computing = [done for p, done, _ in events if p == "computing"]
    assert computing == list(range(len(STEPS) + 1))  # each step heard


def test_a_sync_that_writes_nothing_has_no_writing_phase():
    book = crm()
    heard(book)
    assert phases(heard(book)) == ["reading", "validating", "computing"]  # the second sync plans nothing
    assert phases(heard(crm(), dry_run=True)) == ["reading", "validating", "computing"]


def test_the_bar_draws_the_phases_on_a_terminal_once_the_delay_is_over():
    screen = io.StringIO()
    bar = show.ProgressBar(Console(file=screen, force_terminal=True, width=100), delay=0)
    bar.timer.join()  # the bar is up
    with using("es"):
        for phase in PHASES:
            bar(phase, 0, 1)
            bar(phase, 1, 1)
    bar.close()
    assert "Escribiendo" in screen.getvalue()


def test_short_work_draws_nothing():
    screen = io.StringIO()
    bar = show.ProgressBar(Console(file=screen, force_terminal=True, width=100), delay=3600)
    bar("reading", 0, 1)
    bar("reading", 1, 1)
    bar.close()
    assert screen.getvalue() == ""


def test_piped_commands_print_no_progress(tmp_path):
    def sheetcrm(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "sheetcrm", *args], cwd=tmp_path, capture_output=True,
                              text=True, timeout=300)

    # A demo large enough that its phases last more than the delay on any machine is not
    # needed: off a terminal the bar is never made, whatever the time.
    outputs = [sheetcrm("demo", "--rows", "20"), sheetcrm("sync", "--workbook", "demo-crm.xlsx"),
               sheetcrm("kpis", "--workbook", "demo-crm.xlsx"), sheetcrm("validate", "--workbook", "demo-crm.xlsx")]
    for done in outputs:
        assert done.returncode in (0, 1), done.stderr
        assert done.stderr == ""
        for label in show.PHASES.values():
            assert label not in done.stdout
        assert "\x1b" not in done.stdout  # no colour codes, no cursor moves
