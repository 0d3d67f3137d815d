"""The .xlsx soak at CI size (bench/soak_xlsx.py): syncs and outbox runs of `sheetcrm run`'s
jobs while a person's app saves the file between and during them (right after a sheetcrm
read, right before its rename), LibreOffice and Excel lock files come and go, and stale copies
of the Outbox are saved back; quotes go to a real SMTP server on loopback (aiosmtpd). Nothing
may be lost and no quote version may arrive twice. The full-size figures are in docs/service.md.

Also here: what the soak found, reproduced small."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import openpyxl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from soak_xlsx import soak_xlsx  # noqa: E402

from sheetcrm.config import Config  # noqa: E402
from sheetcrm.service import Service  # noqa: E402
from sheetcrm.workbook import xlsx_patch  # noqa: E402
from sheetcrm.workbook import xlsx as xlsx_backend  # noqa: E402
from sheetcrm.workbook.xlsx import XlsxWorkbook  # noqa: E402


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    """The outbox journal, the Sync Log queue and the locks of this run, not ~/.cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.mark.slow
def test_xlsx_soak_loses_nothing_and_sends_no_quote_twice(tmp_path):
    figures = soak_xlsx(syncs=50, seed=5, folder=tmp_path)
    assert figures.losses == 0, figures.problems
    assert not figures.problems

    # The person's app saved between jobs and inside them, at both moments; writes met those
    # saves (nothing written, read and planned again) and every kind of edit happened.
    assert figures.saves["between jobs"] > 20
    assert figures.saves["during a sync: after a read"] > 5 and figures.saves["during a sync: before the rename"] > 0
    assert figures.saves["during a outbox run: after a read"] > 5
    assert figures.conflicts > 10
    assert {"type stage", "type amount", "type status", "append", "insert", "delete", "sort", "formula", "tick",
            "approve", "requote", "sort outbox", "revert"} <= set(figures.edits)

    # Lock files of both apps came and went; every write meanwhile was refused, naming the app,
    # and changed nothing (counted in losses); the jobs resumed after and converged.
    assert set(figures.lock_files) == {"LibreOffice", "Excel"}
    assert figures.writes_refused > 10
    assert {"sync: app lock file", "outbox: app lock file"} <= set(figures.failures)
    assert figures.converged_in <= 3

    # Formulas: the header formula, one per deal, the Notes tab; checked after every job.
    assert figures.formula_cells > 30 and figures.formula_checks > figures.syncs + figures.outbox_runs

    # Stale Outbox copies put sent rows back to Approved; no quote version arrived twice, and
    # every reverted row ends at Sent (counted in losses).
    assert figures.reverts > 0 and figures.reverted_rows > 3
    assert figures.emails_sent > 10 and figures.outbox_status["Sent"] > 10
    assert figures.duplicate_emails == figures.versions_sent_twice == figures.reverted_not_sent == 0
    assert figures.sync_log_rows == figures.syncs - figures.direct_syncs + figures.outbox_runs + figures.converged_in


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["writes while the app has the file open", "drops formula results"])
def test_the_xlsx_soak_catches_a_writer_that(fault, tmp_path, monkeypatch):
    """The soak's checks can fail: with a writer broken on purpose, they count losses."""
    if fault == "drops formula results":
        # Every write through openpyxl, and the formulas' results not put back.
        def refuse(*args, **kwargs):
            raise xlsx_patch.NeedsRebuild("forced")

        monkeypatch.setattr(xlsx_patch, "patch_sheet", refuse)
        monkeypatch.setattr(xlsx_patch, "rebuild_would_lose", lambda data: [])
        monkeypatch.setattr(xlsx_patch, "restore_formula_values", lambda original, saved, written: saved)
    else:
        monkeypatch.setattr(xlsx_backend, "refuse_if_open_in_app", lambda path, given=None: None)
    figures = soak_xlsx(syncs=12, seed=2, folder=tmp_path)
    if fault == "drops formula results":
        assert figures.formula_errors > 0 and "shows None" in " ".join(figures.problems)
    else:
        assert figures.written_while_locked > 0 and figures.writes_refused == 0
    assert figures.losses > 0


# -- found by the soak ---------------------------------------------------------------------------

class SavedAfterFirstRead(XlsxWorkbook):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.reads = 0

    def read(self):
        snapshot = super().read()
        self.reads += 1
        if self.reads == 1:  # a person's app saves the whole file, renamed over the old one
            wb = openpyxl.load_workbook(self.path)
            wb["Leads"].cell(2, 6, "typed meanwhile")
            wb.save(self.path.with_name("app-save.xlsx"))
            os.replace(self.path.with_name("app-save.xlsx"), self.path)
        return snapshot


def test_the_run_sync_job_reads_and_plans_again_when_a_person_saved_meanwhile(tmp_path):
    # Was: `sheetcrm run`'s sync job failed at once ("... nothing was written; next try in
    # 600s") and backed off, where `sheetcrm sync` reads and plans again.
    path = tmp_path / "crm.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "Leads"
    wb.active.append(["ID", "Last Name", "Company", "Status"])
    wb.active.append([None, "Baker", "Baker Co", "New"])
    wb.save(path)
    book = SavedAfterFirstRead(path)
    service = Service(Config(), book, logging.getLogger("test"))
    assert service.run_job(service.jobs[0])
    assert book.reads == 2 and service.jobs[0].failures == 0
    row = XlsxWorkbook(path).read().tabs["Leads"].rows[1]
    assert row[0] == "LEAD-0001" and row[5] == "typed meanwhile"
