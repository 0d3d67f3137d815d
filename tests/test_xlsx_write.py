"""Writes to an .xlsx that never destroy: formulas keep their values, other parts keep their
bytes, a person's save is never lost, an app's open file is not written, an interrupted or
failed save leaves the workbook as it was. "What a person sees" is LibreOffice headless."""

from __future__ import annotations

import csv
import fcntl
import datetime as dt
from decimal import Decimal
import io
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
import python_calamine
from click.testing import CliRunner

from libreoffice import soffice
from sheetcrm.cli import main
from sheetcrm.config import Config
from sheetcrm import lock as lock_module
from sheetcrm.lock import AlreadyRunning, WorkbookLock, WritingSession
from sheetcrm.sync import sync
from sheetcrm.workbook import CellWrite, Plan, WorkbookConflict, WorkbookError
from sheetcrm.workbook import xlsx_patch
from sheetcrm.workbook.xlsx import XlsxWorkbook

AS_OF = dt.date(2026, 2, 1)
REPO = Path(__file__).resolve().parent.parent


def libreoffice_resave(path: Path) -> Path:
    """The workbook as LibreOffice saves it (xlsx -> xlsx): formulas then hold their results."""
    out = path.parent / "lo"
    soffice(["--convert-to", "xlsx", "--outdir", str(out), str(path)], path.parent)
    return out / path.name


# Filter options: comma, quote, UTF-8, from line 1, ..., "as shown", all sheets (-1).
AS_SHOWN = 'csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1'


def libreoffice_shows(path: Path) -> dict[str, list[list[str]]]:
    """Every tab as LibreOffice shows it on opening the file (csv of each sheet, as displayed)."""
    out = path.parent / f"csv-{time.monotonic_ns()}"
    soffice(["--convert-to", AS_SHOWN, "--outdir", str(out), str(path)], path.parent)
    return {f.stem.split("-", 1)[1]: list(csv.reader(f.read_text(encoding="utf-8").splitlines()))
            for f in out.glob("*.csv")}


def formula_results(path: Path) -> dict[tuple[str, str], object]:
    """The last result of every formula cell in the people's tabs, as calamine reads it."""
    data = path.read_bytes()
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    out = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for title, part in xlsx_patch.sheet_parts(z):
            if title in ("Accounts", "Opportunities"):
                rows = book.get_sheet_by_name(title).to_python(skip_empty_area=False)
                for ref in xlsx_patch.cached_values(z.read(part)) or {}:
                    m = xlsx_patch._REF.fullmatch(ref)
                    r, c = int(m[2]) - 1, openpyxl.utils.column_index_from_string(m[1].decode()) - 1
                    out[(title, ref.decode())] = rows[r][c]
    return out


@pytest.fixture(scope="module")
def formula_xlsx(tmp_path_factory) -> Path:
    """A team's workbook with formulas, saved by LibreOffice so every formula holds its value:
    the Accounts header "ID" is `="I"&"D"`, each Amount is `=Qty*Unit Price`, Note is `=UPPER(Name)`."""
    folder = tmp_path_factory.mktemp("formulas")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Accounts"
    ws.append(['="I"&"D"', "Name", "Owner"])
    ws.append([None, "Acme", "ana"])
    ws.append([None, "Globex", "bo"])
    op = wb.create_sheet("Opportunities")
    op.append(["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date", "Qty", "Unit Price", "Note"])
    for row, (stage, qty, price) in enumerate([("Closed Won", 10, 100), ("Proposal", 2, 250),
                                               ("Closed Won", 3, 1000.5)], 2):
        op.append([None, f"Deal {row}", "Acme", "ana", stage, f"=H{row}*I{row}", dt.date(2026, 1, 15), qty, price,
                   f"=UPPER(B{row})"])
    wb.save(folder / "team.xlsx")
    return libreoffice_resave(folder / "team.xlsx")


@pytest.fixture
def team(formula_xlsx, tmp_path) -> XlsxWorkbook:
    shutil.copyfile(formula_xlsx, tmp_path / "team.xlsx")
    return XlsxWorkbook(tmp_path / "team.xlsx")


def won_revenue(book: XlsxWorkbook) -> Decimal:
    return Decimal(sync(book, Config(), AS_OF, dry_run=True).results.kpis.to_json()["won_revenue"])


def test_formula_values_survive_any_number_of_syncs_for_calamine_and_libreoffice(team):
    before = formula_results(team.path)
    assert before[("Opportunities", "F2")] == 1000 and before[("Accounts", "A1")] == "ID"
    assert won_revenue(team) == Decimal("4001.50")

    first = sync(team, Config(), AS_OF)  # adds sheetcrm's tabs and charts: the full rebuild
    assert first.plan.new_tabs and first.result.total
    # A person moves Deal 3 to Closed Won; the next syncs patch cells only.
    XlsxWorkbook(team.path).write(Plan(writes=[CellWrite("Opportunities", 3, 5, "Closed Won")]))
    second = sync(team, Config(), AS_OF)
    assert not second.plan.new_tabs and second.result.written.get("Opportunities")
    third = sync(team, Config(), AS_OF)
    assert not third.plan  # and the header computed by a formula is not taken for a missing ID column

    assert formula_results(team.path) == before
    assert won_revenue(team) == Decimal("4501.50")
    grid = team.read().tabs["Accounts"]
    assert grid.header == ["ID", "Name", "Owner"] and [r[0] for r in grid.rows[1:]] == ["ACC-0001", "ACC-0002"]

    shown = libreoffice_shows(team.path)
    opportunities = shown["Opportunities"]
    assert [r[5] for r in opportunities[1:4]] == ["1000", "500", "3001.5"]
    assert [r[9] for r in opportunities[1:4]] == ["DEAL 2", "DEAL 3", "DEAL 4"]
    assert [r[0] for r in opportunities[1:4]] == ["OPP-0001", "OPP-0002", "OPP-0003"]
    assert shown["Accounts"][0][:3] == ["ID", "Name", "Owner"]


def _members(data: bytes) -> dict[str, bytes]:
    """Each zip member's local header and compressed bytes, as stored."""
    out = {}
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for info in z.infolist():
            start = info.header_offset
            n, m = int.from_bytes(data[start + 26:start + 28], "little"), int.from_bytes(data[start + 28:start + 30], "little")
            out[info.filename] = data[start:start + 30 + n + m + info.compress_size]
    return out


def _cells(xml: bytes) -> dict[bytes, bytes]:
    return {xlsx_patch.attrs(m[1])[b"r"]: m[0] for m in xlsx_patch._CELL.finditer(xml)}


def test_a_small_write_changes_only_its_cells_and_copies_every_other_part_byte_for_byte(team):
    sync(team, Config(), AS_OF)
    before = team.path.read_bytes()
    plan = Plan(writes=[CellWrite("Opportunities", 2, 12, 0.5), CellWrite("Opportunities", 9, 2, "new row")])
    team.read()
    team.write(plan)
    after = team.path.read_bytes()

    with zipfile.ZipFile(io.BytesIO(before)) as z:
        parts = dict(xlsx_patch.sheet_parts(z))
        old_xml = z.read(parts["Opportunities"])
    with zipfile.ZipFile(io.BytesIO(after)) as z:
        new_xml = z.read(parts["Opportunities"])
        assert z.testzip() is None
    old_members, new_members = _members(before), _members(after)
    assert list(old_members) == list(new_members)
    changed = {name for name in old_members if old_members[name] != new_members[name]}
    assert changed == {parts["Opportunities"]}

    old_cells, new_cells = _cells(old_xml), _cells(new_xml)
    assert {ref: c for ref, c in new_cells.items() if ref not in (b"L2", b"B9")} == \
        {ref: c for ref, c in old_cells.items() if ref != b"L2"}
    assert b"<f" in old_cells[b"F2"] and old_cells[b"F2"] == new_cells[b"F2"]
    assert team.read().tabs["Opportunities"].cell(8, 1) == "new row"
    assert re.search(rb'<dimension ref="A1:Q4"', old_xml) and re.search(rb'<dimension ref="A1:Q9"', new_xml)


def test_patched_values_come_back_typed_and_text_stays_text(team):
    values = [dt.date(2026, 3, 4), dt.datetime(2026, 3, 4, 10, 30), True, 42, 2.5, "=1+1", "0042", "#N/A",
              "_x0041_ & <b>", "bell\x07 here", None]
    team.read()
    team.write(Plan(writes=[CellWrite("Accounts", 2 + i, 8, v) for i, v in enumerate(values)]
                    + [CellWrite("Opportunities", 2, 7, dt.date(2026, 5, 6))]))
    snap = team.read()
    got = [snap.tabs["Accounts"].cell(1 + i, 7) for i in range(len(values))]
    assert got == [dt.date(2026, 3, 4), dt.datetime(2026, 3, 4, 10, 30), True, 42, 2.5, "=1+1", "0042", "#N/A",
                   "_x0041_ & <b>", "bell here", None]
    ws = openpyxl.load_workbook(team.path)["Accounts"]
    assert ws["H2"].number_format == "yyyy-mm-dd" and ws["H7"].data_type == "s"
    # A date on a cell that already shows dates keeps the team's format.
    assert snap.tabs["Opportunities"].cell(1, 6) == dt.date(2026, 5, 6)
    shown = libreoffice_shows(team.path)["Accounts"]
    assert [r[7] for r in shown[1:11]] == ["2026-03-04", "2026-03-04 10:30:00", "TRUE", "42", "2.5", "=1+1", "0042",
                                            "#N/A", "_x0041_ & <b>", "bell here"]


def _rewritten(src: Path, dst: Path, part: str, edit) -> None:
    """`src` saved as `dst` with one member's XML edited, as another app would have written it."""
    with zipfile.ZipFile(src) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    parts[part] = edit(parts[part])
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)


def test_text_with_a_carriage_return_comes_back_as_written_and_the_next_sync_is_a_no_op(tmp_path):
    """Found attacking the writer: a person's cell holding "lots\r\nof" (Excel keeps a pasted
    carriage return as `_x000D_`) was copied to the Validation tab as a bare CR, which XML
    reads as a line feed: the tab showed "lots\nof", and every sync found its cell changed and
    wrote it again, never a no-op. Text keeps its CR on the patch and on the rebuild path, as
    it keeps "_x0041_"."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Accounts"
    ws.append(["ID", "Name", "Employees"])
    ws.append([None, "Acme", "lotsCRof"])
    wb.save(tmp_path / "src.xlsx")
    _rewritten(tmp_path / "src.xlsx", tmp_path / "crm.xlsx", "xl/worksheets/sheet1.xml",
               lambda xml: xml.replace(b"CR", b"_x000D_\n"))
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    assert book.read().tabs["Accounts"].cell(1, 2) == "lots\r\nof"
    assert sync(book, Config(), AS_OF).result.written.get("Validation")
    shown = XlsxWorkbook(tmp_path / "crm.xlsx").read().tabs["Validation"]
    assert "lots\r\nof" in [shown.cell(r, 5) for r in range(len(shown.rows))]
    assert sync(XlsxWorkbook(tmp_path / "crm.xlsx"), Config(), AS_OF).result is None  # nothing to write
    # The rebuild (a shared formula's master written) keeps the same text too.
    calc = openpyxl.Workbook()
    calc.active.title = "Calc"
    calc.active["A1"] = 1
    calc.save(tmp_path / "calc-src.xlsx")
    _rewritten(tmp_path / "calc-src.xlsx", tmp_path / "calc.xlsx", "xl/worksheets/sheet1.xml",
               lambda xml: xml.replace(b"</c></row>", b'</c><c r="B1"><f t="shared" ref="B1:B1" si="0">A1*2</f>'
                                                      b"<v>2</v></c></row>", 1))
    rebuilt = XlsxWorkbook(tmp_path / "calc.xlsx")
    rebuilt.read()
    texts = ["a\r\nb", "_x0041_", "cr\r"]
    rebuilt.write(Plan(writes=[CellWrite("Calc", 1, 2, 5), *(CellWrite("Calc", 2 + i, 3, t) for i, t in enumerate(texts))]))
    assert not re.search(rb"<f[ >]", zipfile.ZipFile(tmp_path / "calc.xlsx").read("xl/worksheets/sheet1.xml"))  # rebuilt
    assert [rebuilt.read().tabs["Calc"].cell(1 + i, 2) for i in range(3)] == texts


def person_saves(path: Path, row: int, text: str) -> None:
    """A person's spreadsheet app saving the workbook: load, type one cell, write a new file, rename."""
    wb = openpyxl.load_workbook(path)
    wb["Accounts"].cell(row, 12, text)
    tmp = path.with_name(f"app-save-{row}.xlsx")
    wb.save(tmp)
    os.replace(tmp, path)


def test_a_persons_saves_during_syncs_are_never_lost(tmp_path):
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    runner = CliRunner()
    assert runner.invoke(main, ["demo", "--rows", "20", "--workbook", str(book.path)]).exit_code == 0
    saves, errors, conflicts = 15, [], []

    def person():
        try:
            for i in range(saves):
                person_saves(book.path, 2 + i, f"save {i}")
                time.sleep(0.05)
        except Exception as e:  # pragma: no cover - reported by the assert below
            errors.append(e)

    thread = threading.Thread(target=person)
    thread.start()
    day = AS_OF
    while thread.is_alive():
        day += dt.timedelta(days=1)  # a new day recomputes Days in Stage: every sync writes
        try:
            sync(XlsxWorkbook(book.path), Config(), day)
        except WorkbookConflict as e:
            conflicts.append(str(e))
    thread.join()
    assert not errors
    final = sync(XlsxWorkbook(book.path), Config(), day + dt.timedelta(days=1))
    assert final.result is not None and final.result.total  # the last sync did write
    column = [book.read().tabs["Accounts"].cell(1 + i, 11) for i in range(saves)]
    assert column == [f"save {i}" for i in range(saves)]
    assert all("3 attempts" in c for c in conflicts)


class SavedAfterRead(XlsxWorkbook):
    """A workbook that a person saves right after each of the first `times` reads."""

    def __init__(self, path, times):
        super().__init__(path)
        self.times, self.reads = times, 0

    def read(self):
        snap = super().read()
        self.reads += 1
        if self.reads <= self.times:
            person_saves(self.path, 2, f"typed after read {self.reads}")
        return snap


def test_sync_reads_and_plans_again_when_a_person_saved_meanwhile(team):
    book = SavedAfterRead(team.path, times=1)
    outcome = sync(book, Config(), AS_OF)
    assert book.reads == 2 and outcome.result.total
    snap = XlsxWorkbook(team.path).read()
    assert snap.tabs["Accounts"].cell(1, 11) == "typed after read 1" and "Validation" in snap.tabs


def test_a_workbook_saved_after_every_read_is_reported_after_three_attempts(team):
    book = SavedAfterRead(team.path, times=10)
    with pytest.raises(WorkbookConflict, match="saved by someone else.*nothing was written.*3 attempts"):
        sync(book, Config(), AS_OF)
    assert book.reads == 3
    assert XlsxWorkbook(team.path).read().tabs["Accounts"].cell(1, 11) == "typed after read 3"


def test_a_save_between_the_plan_and_the_rename_is_not_overwritten(team, monkeypatch):
    team.read()
    real = xlsx_patch.apply

    def apply_while_a_person_saves(*args, **kwargs):
        out = real(*args, **kwargs)
        person_saves(team.path, 3, "saved during the write")
        return out

    monkeypatch.setattr(xlsx_patch, "apply", apply_while_a_person_saves)
    with pytest.raises(WorkbookConflict):
        team.write(Plan(writes=[CellWrite("Accounts", 2, 4, "x")]))
    assert XlsxWorkbook(team.path).read().tabs["Accounts"].cell(2, 11) == "saved during the write"
    assert not list(team.path.parent.glob(".team.xlsx.*.tmp"))


@pytest.mark.parametrize("lock_name, content, app, user", [
    (".~lock.team.xlsx#", ",Ana Pérez,host,30.11.2026 09:00,file:///home/ana/.config/libreoffice/4;", "LibreOffice",
     "Ana Pérez"),
    ("~$team.xlsx", b"\x03bob" + b" " * 51, "Excel", "bob"),
    ("~$am.xlsx", b"", "Excel", None),
])
def test_a_workbook_open_in_an_app_stops_every_writing_command(team, lock_name, content, app, user):
    lock = team.path.with_name(lock_name)
    lock.write_bytes(content.encode() if isinstance(content, str) else content)
    before = team.path.read_bytes()
    runner = CliRunner()
    wb = ["--workbook", str(team.path)]
    team.path.with_name("none.toml").write_text("")
    for args in (["sync", *wb], ["init", *wb, "--config", str(team.path.with_name("none.toml"))],
                 ["demo", "--force", *wb]):
        result = runner.invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        line = result.output.strip()
        assert "\n" not in line and f"open in {app}" in line and lock_name in line and "--ignore-lock" in line
        assert (f"by {user}" in line) if user else " by " not in line
    assert team.path.read_bytes() == before
    assert runner.invoke(main, ["validate", *wb]).exit_code in (0, 1)  # reading is fine
    # A lock file that appears after the read stops the write itself (the service's case).
    team.read()
    with pytest.raises(WorkbookError, match=f"open in {app}"):
        team.write(Plan(writes=[CellWrite("Accounts", 2, 4, "x")]))
    result = runner.invoke(main, ["sync", *wb, "--ignore-lock"])
    assert result.exit_code == 0 and "wrote" in result.output


@pytest.mark.parametrize("lock_name", [".~lock.{}#", "~${}"])
@pytest.mark.parametrize("at", ["link", "middle"])
def test_a_workbook_open_in_an_app_through_a_symlink_stops_every_write(team, lock_name, at):
    """Found attacking the writer: shared/deals.xlsx a symlink to the team's workbook, opened in
    LibreOffice by that name. The app's lock file is beside the link and named after it
    (shared/.~lock.deals.xlsx#), sheetcrm looked only beside the file the link leads to: it
    wrote, and the app's next save undid the write. Every name of the link chain is checked
    (here the link sheetcrm is given, or the middle link of a chain), for either app's lock."""
    shared = team.path.parent / "shared"
    shared.mkdir()
    (shared / "middle.xlsx").symlink_to("../team.xlsx")
    (shared / "deals.xlsx").symlink_to("middle.xlsx")
    name = "deals.xlsx" if at == "link" else "middle.xlsx"
    lock = shared / lock_name.format(name)
    lock.write_bytes(b"\x03bob" + b" " * 51 if lock_name.startswith("~$") else b"bob,bob,host,01.12.2026 09:00,x;")
    before = team.path.read_bytes()
    result = CliRunner().invoke(main, ["sync", "--workbook", str(shared / "deals.xlsx")])
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert "\n" not in line and "by bob" in line and lock.name in line and "--ignore-lock" in line
    assert team.path.read_bytes() == before
    # The service's case: the lock file appears after the read; the write itself is refused.
    book = XlsxWorkbook(shared / "deals.xlsx")
    lock.unlink()
    book.read()
    lock.write_bytes(b"\x03bob" + b" " * 51 if lock_name.startswith("~$") else b"bob,bob,host,01.12.2026 09:00,x;")
    with pytest.raises(WorkbookError, match="open in"):
        book.write(Plan(writes=[CellWrite("Accounts", 2, 4, "x")]))
    assert team.path.read_bytes() == before
    lock.unlink()
    assert CliRunner().invoke(main, ["sync", "--workbook", str(shared / "deals.xlsx")]).exit_code == 0
    assert team.path.read_bytes() != before and (shared / "deals.xlsx").is_symlink()  # written through the link


def test_another_sheetcrm_writer_is_waited_for_and_a_service_is_named(team, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    runner = CliRunner()
    holder = WorkbookLock(team, command="quote").acquire()
    threading.Timer(0.5, holder.release).start()
    result = runner.invoke(main, ["sync", "--workbook", str(team.path)])
    assert result.exit_code == 0 and "wrote" in result.output  # waited for the other command

    with WorkbookLock(team, command="run"):
        result = runner.invoke(main, ["sync", "--workbook", str(team.path)])
    assert result.exit_code == 2 and "already served by `sheetcrm run`" in result.output
    assert "\n" not in result.output.strip()


def test_temp_files_of_an_interrupted_save_are_removed_by_the_next_command(team, tmp_path):
    # A real kill -9 in the middle of a save: after the temp file is written, before the rename.
    code = f"""
import os, signal
from sheetcrm.workbook import CellWrite, Plan
from sheetcrm.workbook.xlsx import XlsxWorkbook
os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
XlsxWorkbook({str(team.path)!r}).write(Plan(writes=[CellWrite("Accounts", 2, 4, "x")]))
"""
    before = team.path.read_bytes()
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == -signal.SIGKILL
    stale = list(team.path.parent.glob(".team.xlsx.*.tmp"))
    assert len(stale) == 1 and team.path.read_bytes() == before
    others = [team.path.with_name(n) for n in (".team.xlsx.notes.tmp", ".other.xlsx.abcdefgh.tmp", "team.xlsx.bak")]
    for p in others:
        p.write_text("not sheetcrm's")
    env_cache = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    result = CliRunner(env=env_cache).invoke(main, ["sync", "--workbook", str(team.path), "--dry-run"])
    # A dry run writes nothing to the workbook; like every command (read-only ones too) it clears
    # sheetcrm's own stale temp file, taking the lock only for that and only if it is free.
    assert result.exit_code == 0 and not stale[0].exists() and all(p.exists() for p in others)
    assert team.path.read_bytes() == before
    result = CliRunner(env=env_cache).invoke(main, ["sync", "--workbook", str(team.path)])
    assert result.exit_code == 0 and not stale[0].exists() and all(p.exists() for p in others)


def test_init_killed_while_it_creates_the_workbook_leaves_no_empty_file_behind(tmp_path, monkeypatch):
    """A real kill -9 of `sheetcrm init` in the middle of saving a new workbook: it used to claim
    the name with an empty file first, which stayed, and every command then called it "not an
    .xlsx workbook", `init` again too. The workbook appears whole or not at all."""
    path = tmp_path / "crm.xlsx"
    code = f"""
import os, signal, sys
os.fsync = lambda fd: os.kill(os.getpid(), signal.SIGKILL)
from sheetcrm.cli import main
main(["init", "--workbook", {str(path)!r}])
"""
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert not path.exists()
    monkeypatch.chdir(tmp_path)  # init writes its example config in the current folder
    result = CliRunner(env={"XDG_CACHE_HOME": str(tmp_path / "cache")}).invoke(
        main, ["init", "--workbook", str(path)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert {"Leads", "Accounts"} <= set(XlsxWorkbook(path).read().tabs)
    assert not list(tmp_path.glob(".crm.xlsx.*.tmp"))
    # Created, the name is taken: a second create never replaces it.
    with pytest.raises(WorkbookError, match="already exists"):
        XlsxWorkbook(path).create()


def test_temp_files_are_left_alone_while_another_sheetcrm_holds_the_lock(team, tmp_path):
    stale = team.path.with_name(".team.xlsx.abcd1234.tmp")
    stale.write_text("in use")
    with WorkbookLock(team, folder=tmp_path / "locks", command="run"):
        with pytest.raises(WorkbookError, match="already served"):
            with WritingSession(team, "sync", folder=tmp_path / "locks", wait=0):
                pass
    assert stale.exists()
    with WritingSession(team, "sync", folder=tmp_path / "locks", wait=0):
        assert not stale.exists()


def test_a_sync_started_in_the_instant_another_takes_the_lock_waits_for_it(tmp_path, monkeypatch):
    # Two syncs started in one instant: the first has its flock but has not written its lines
    # yet. The second read an empty file as `sheetcrm run`'s, stopped at once and told a
    # person to stop a service that was not running. A `run` let go leaves nothing behind.
    team = XlsxWorkbook(tmp_path / "team.xlsx")  # the lock needs only its name
    with WorkbookLock(team, folder=tmp_path / "locks", command="run") as served:
        path = served.path
    assert path.read_bytes() == b""
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the first sync, an instant after its flock
        told, slept = [], []
        real_sleep = time.sleep
        monkeypatch.setattr(lock_module.time, "sleep", lambda s: (slept.append(s), real_sleep(s)))  # its polls, counted
        with pytest.raises(AlreadyRunning) as e:
            WorkbookLock(team, folder=tmp_path / "locks", command="sync", wait=0.3, waiting=told.append).acquire()
        assert slept and set(slept) == {lock_module.POLL_SECONDS}  # it waited, polling, before giving up
        assert "already served" not in str(e.value) and "another process" in str(e.value)
        assert len(told) == 1 and e.value.holder != "run"
    finally:
        os.close(fd)


@pytest.fixture
def small_disk(tmp_path):
    folder = tmp_path / "disk"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], check=True)
    yield folder
    subprocess.run(["umount", str(folder)], check=True)


def test_a_full_disk_is_one_line_and_leaves_the_workbook_as_it_was(formula_xlsx, small_disk, tmp_path):
    path = small_disk / "team.xlsx"
    shutil.copyfile(formula_xlsx, path)
    (small_disk / "filler").write_bytes(b"\0" * (64 * 1024 - path.stat().st_size - 8192))
    before = path.read_bytes()
    done = subprocess.run([sys.executable, "-m", "sheetcrm", "sync", "--workbook", str(path)], cwd=tmp_path,
                          capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert done.returncode == 2
    assert done.stderr.strip() == f"sheetcrm: cannot write {path}: no space left on the disk; the workbook is unchanged"
    assert path.read_bytes() == before and not list(small_disk.glob(".team.xlsx.*"))


def test_owned_tabs_are_marked_and_the_mark_survives_libreoffice_and_a_rename(team, tmp_path):
    team.read()
    team.write(Plan(writes=[CellWrite("Accounts", 2, 4, "x")], mark_owned=["Opportunities"]))  # patched
    assert team.read().owned == {"Opportunities"}
    team.write(Plan(new_tabs=["Pipeline"], writes=[CellWrite("Pipeline", 1, 1, "Stage")],
                    mark_owned=["Pipeline"]))  # rebuilt by openpyxl
    assert team.read().owned == {"Opportunities", "Pipeline"}

    resaved = libreoffice_resave(team.path)
    assert XlsxWorkbook(resaved).read().owned == {"Opportunities", "Pipeline"}

    # Renamed in the app: the mark belongs to the sheet, not to its title.
    with zipfile.ZipFile(resaved) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(b'name="Pipeline"', b'name="Our Pipeline"')
    renamed = tmp_path / "renamed.xlsx"
    with zipfile.ZipFile(renamed, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    again = libreoffice_resave(renamed)
    assert XlsxWorkbook(again).read().owned == {"Opportunities", "Our Pipeline"}
    assert XlsxWorkbook(team.path).read().tabs["Accounts"].cell(1, 3) == "x"


STYLES = (b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><cellXfs count="2">'
          b'<xf numFmtId="0" fontId="0"/><xf numFmtId="4" fontId="1"/></cellXfs></styleSheet>')


def test_patch_sheet_fills_an_empty_sheet_and_keeps_implicit_positions():
    styles = xlsx_patch.Styles(STYLES)
    empty = b'<worksheet><dimension ref="A1"/><sheetData/><pageMargins/></worksheet>'
    out = xlsx_patch.patch_sheet(empty, {(2, 3): xlsx_patch.CellSpec("x"), (1, 1): xlsx_patch.CellSpec(7)}, styles)
    assert out == (b'<worksheet><dimension ref="A1:C2"/><sheetData><row r="1"><c r="A1"><v>7</v></c></row>'
                   b'<row r="2"><c r="C2" t="inlineStr"><is><t xml:space="preserve">x</t></is></c></row></sheetData>'
                   b'<pageMargins/></worksheet>')
    # Rows and cells without `r` (allowed, and written by some tools) keep their positions.
    implicit = b'<worksheet><sheetData><row><c><v>1</v></c><c><v>2</v></c></row><row><c><v>3</v></c></row></sheetData></worksheet>'
    out = xlsx_patch.patch_sheet(implicit, {(2, 2): xlsx_patch.CellSpec(True)}, styles)
    assert b'<row r="2"><c r="A2"><v>3</v></c><c r="B2" t="b"><v>1</v></c></row>' in out
    assert out.startswith(b'<worksheet><sheetData><row><c><v>1</v></c><c><v>2</v></c></row>')


def test_a_date_adds_one_cell_format_and_keeps_the_cells_other_formatting():
    styles = xlsx_patch.Styles(STYLES)
    sheet = b'<worksheet><sheetData><row r="1"><c r="A1" s="1"><v>5</v></c></row></sheetData></worksheet>'
    cells = {(1, 1): xlsx_patch.CellSpec(dt.date(2026, 1, 2)), (1, 2): xlsx_patch.CellSpec(dt.date(2026, 1, 3)),
             (1, 3): xlsx_patch.CellSpec(dt.date(2026, 1, 4))}
    out = xlsx_patch.patch_sheet(sheet, cells, styles)
    assert b'<c r="A1" s="2"><v>46024</v></c><c r="B1" s="3"><v>46025</v></c><c r="C1" s="3"><v>46026</v></c>' in out
    assert styles.changed and styles.xml.count(b"<xf ") == 4
    assert b'<numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>' in styles.xml
    assert b'<xf numFmtId="164" applyNumberFormat="1" fontId="1"/>' in styles.xml  # A1 keeps its font


def test_the_next_syncs_use_the_cell_formats_an_earlier_one_added_again():
    # Found by a tester: every sync that wrote a date or a computed number into a cell showing
    # General added its cell formats again (5 more cellXfs for each deal row a sync appended),
    # towards Excel's limit of 64,000 cell formats, past which it drops a workbook's formatting.
    sheet = b'<worksheet><sheetData><row r="1"><c r="A1" s="1"><v>5</v></c></row></sheetData></worksheet>'
    styles_xml = STYLES
    for row in (2, 3, 4):
        styles = xlsx_patch.Styles(styles_xml, ours={"0.0%"})
        cells = {(row, 1): xlsx_patch.CellSpec(dt.date(2026, 1, row)), (row, 2): xlsx_patch.CellSpec(0.5, fmt="0.0%")}
        sheet = xlsx_patch.patch_sheet(sheet, cells, styles)
        styles_xml = styles.xml
    assert styles_xml.count(b"<xf ") == 4 and styles_xml.count(b"<numFmt ") == 2
    assert b'<c r="A2" s="2">' in sheet and b'<c r="A4" s="2">' in sheet and b'<c r="B4" s="3">' in sheet
    # A stylesheet LibreOffice saved: its attributes in another order, its booleans "true".
    libre = STYLES.replace(b'</cellXfs>', b'<xf fontId="0" applyNumberFormat="true" numFmtId="164"/></cellXfs>') \
        .replace(b'<cellXfs count="2">', b'<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
                 b'</numFmts><cellXfs count="3">')
    styles = xlsx_patch.Styles(libre)
    out = xlsx_patch.patch_sheet(sheet, {(5, 1): xlsx_patch.CellSpec(dt.date(2026, 1, 5))}, styles)
    assert b'<c r="A5" s="2">' in out and not styles.changed


def test_overwriting_a_shared_formula_master_rebuilds_and_keeps_its_dependents(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Calc"
    for r in range(1, 4):
        ws.cell(r, 1, r)
    wb.save(tmp_path / "src.xlsx")
    # A shared formula as Excel writes it: B1 is the master, B2:B3 refer to it by si.
    with zipfile.ZipFile(tmp_path / "src.xlsx") as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
    sheet = parts["xl/worksheets/sheet1.xml"]
    for r in range(1, 4):
        f = b'<f t="shared" ref="B1:B3" si="0">A1*2</f>' if r == 1 else b'<f t="shared" si="0"/>'
        sheet = sheet.replace(f'<c r="A{r}" t="n"><v>{r}</v></c>'.encode(),
                              f'<c r="A{r}" t="n"><v>{r}</v></c><c r="B{r}">'.encode() + f + f"<v>{2 * r}</v></c>".encode())
    assert sheet.count(b'si="0"') == 3, sheet
    parts["xl/worksheets/sheet1.xml"] = sheet
    with zipfile.ZipFile(tmp_path / "calc.xlsx", "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    book = XlsxWorkbook(tmp_path / "calc.xlsx")
    assert book.read().tabs["Calc"].rows == [[1, 2], [2, 4], [3, 6]]
    book.write(Plan(writes=[CellWrite("Calc", 1, 2, 100)]))  # no expectation: as on sheetcrm's own tab
    ws = openpyxl.load_workbook(book.path)["Calc"]
    assert [ws.cell(r, 2).value for r in range(1, 4)] == [100, "=A2*2", "=A3*2"]
    assert book.read().tabs["Calc"].rows == [[1, 100], [2, 4], [3, 6]]  # and their last results are kept


def test_a_rebuild_keeps_the_formatting_of_a_persons_rich_text_cells(tmp_path):
    """Found attacking the writer: when the patcher gives up (a shared formula's master written)
    the workbook is rebuilt through openpyxl, which read a person's cell of runs ("call " and
    a bold red "today") as plain text: the rebuild saved it without its bold and colour."""
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Calc"
    ws["A1"] = 1
    ws["C1"] = CellRichText(["call ", TextBlock(InlineFont(b=True, color="FFFF0000"), "today")])
    wb.save(tmp_path / "src.xlsx")
    saved = libreoffice_resave(tmp_path / "src.xlsx")  # the runs as an app keeps them: shared strings
    _rewritten(saved, tmp_path / "calc.xlsx", "xl/worksheets/sheet1.xml",
               lambda xml: re.sub(rb'(<c r="A1"[^>]*>.*?</c>)', rb'\1<c r="B1"><f t="shared" ref="B1:B1" si="0">A1*2</f>'
                                                             rb"<v>2</v></c>", xml, count=1, flags=re.S))
    book = XlsxWorkbook(tmp_path / "calc.xlsx")
    assert book.read().tabs["Calc"].rows == [[1, 2, "call today"]]
    book.write(Plan(writes=[CellWrite("Calc", 1, 2, 5)]))
    assert not re.search(rb"<f[ >]", zipfile.ZipFile(book.path).read("xl/worksheets/sheet1.xml"))  # rebuilt
    cell = openpyxl.load_workbook(book.path, rich_text=True)["Calc"]["C1"].value
    assert isinstance(cell, CellRichText) and [str(run) for run in cell] == ["call ", "today"]
    assert cell[1].font.b and cell[1].font.color.rgb == "FFFF0000"
    assert book.read().tabs["Calc"].rows == [[1, 5, "call today"]]


def _formula_cells_raw(data: bytes) -> dict[tuple[str, bytes], tuple]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {(title, ref): cached for title, part in xlsx_patch.sheet_parts(z) if part
                for ref, cached in xlsx_patch.cached_values(z.read(part)).items()}


def test_formulas_whose_last_result_is_an_error_keep_it_through_syncs(tmp_path):
    path = tmp_path / "errors.xlsx"
    shutil.copyfile(REPO / "tests/fixtures/realworld/formula_error_cached_values.xlsx", path)
    before = _formula_cells_raw(path.read_bytes())
    assert before[("Opportunities", b"F2")] == (b"e", b"<v>#N/A</v>") and len(before) == 3
    for day in range(3):  # the first adds sheetcrm's tabs (rebuilt); later days patch computed cells
        sync(XlsxWorkbook(path), Config(), AS_OF + dt.timedelta(days=day))
    after = _formula_cells_raw(path.read_bytes())
    assert {k: v for k, v in after.items() if k in before} == before
    assert len(XlsxWorkbook(path).read().tabs) > 2  # the syncs did write (sheetcrm's tabs are there)


def test_a_save_landing_between_the_last_check_and_the_rename_is_kept(tmp_path):
    """The last instant: the file was checked, then a person's app renames its save into place,
    then sheetcrm puts its file there. The swap sees the save and puts it back."""
    from sheetcrm.workbook.xlsx import _replace_if_still

    path, ours, theirs = tmp_path / "crm.xlsx", tmp_path / ".crm.xlsx.ours.tmp", tmp_path / "app-save.xlsx"
    path.write_bytes(b"as read")
    st = os.stat(path)
    checked = (st.st_size, st.st_mtime_ns, st.st_ino)
    theirs.write_bytes(b"as saved")
    os.replace(theirs, path)  # the person's save, after sheetcrm's check
    ours.write_bytes(b"sheetcrm")
    with pytest.raises(WorkbookConflict):
        _replace_if_still(ours, path, checked)
    assert path.read_bytes() == b"as saved"
    # With nothing in between, sheetcrm's file takes the place and no temp file is left.
    st = os.stat(path)
    _replace_if_still(ours, path, (st.st_size, st.st_mtime_ns, st.st_ino))
    assert path.read_bytes() == b"sheetcrm" and not ours.exists()


def test_a_save_in_place_caught_halfway_is_waited_for_not_called_a_broken_file(team, monkeypatch):
    """A script's `wb.save(path)` (pandas, openpyxl) rewrites the file in place and holds still
    halfway, the bytes cut before the package's end record. A sync reading then stopped with
    "not an .xlsx workbook" (found by saving in place while syncs ran); the read waits for the
    save instead, and a workbook that is broken at rest is still said to be one."""
    whole = team.path.read_bytes()
    halfway = threading.Event()

    def saves_in_place():
        with open(team.path, "r+b") as f:
            f.truncate(0)
            f.write(whole[: len(whole) // 2])
            f.flush()
            halfway.set()
            time.sleep(0.5)  # the next sheet's XML being made
            f.write(whole[len(whole) // 2:])

    thread = threading.Thread(target=saves_in_place)
    thread.start()
    halfway.wait()
    try:
        snapshot = XlsxWorkbook(team.path).read()
    finally:
        thread.join()
    assert snapshot.tabs["Accounts"].cell(0, 0) == "ID"
    # A partial package that has not changed for a while is not a save in progress.
    team.path.write_bytes(whole[: len(whole) // 2])
    long_ago = time.time() - 60
    os.utime(team.path, (long_ago, long_ago))

    def waits(seconds):
        raise AssertionError(f"waited {seconds} s for a file that is not being saved")

    monkeypatch.setattr(time, "sleep", waits)  # the read never pauses for it: said at once
    with pytest.raises(WorkbookError, match="looks half-saved .*restore a backup"):
        XlsxWorkbook(team.path).read()


def test_a_save_that_renames_the_file_away_for_a_moment_is_a_conflict_not_a_missing_workbook(team):
    """Excel saves by renaming the workbook away, then its new file into place: a sync writing
    in that moment stopped with "no such workbook; run `sheetcrm init`". The write waits for
    the file to come back, sees the person's save, and the sync plans again from it."""
    book = XlsxWorkbook(team.path)
    plan_from = book.read()
    assert plan_from.tabs["Accounts"].rows
    aside = team.path.with_name("A1B2C3D4.tmp")
    os.rename(team.path, aside)  # Excel: the original aside; its new file is on its way

    def excel_saves():
        time.sleep(0.3)
        wb = openpyxl.load_workbook(io.BytesIO(aside.read_bytes()))
        wb["Accounts"].cell(2, 12, "saved by Excel")
        wb.save(team.path.with_name("E5F6A7B8.xlsx"))
        os.rename(team.path.with_name("E5F6A7B8.xlsx"), team.path)  # its new file in place
        aside.unlink()

    thread = threading.Thread(target=excel_saves)
    thread.start()
    try:
        with pytest.raises(WorkbookConflict):
            book.write(Plan(writes=[CellWrite("Accounts", 2, 4, "x", expect=[(1, plan_from.tabs["Accounts"].cell(1, 0))])]))
    finally:
        thread.join()
    assert XlsxWorkbook(team.path).read().tabs["Accounts"].cell(1, 11) == "saved by Excel"


def _calc_pr(path: Path) -> str | None:
    with zipfile.ZipFile(path) as z:
        m = re.search(rb"<calcPr\b[^>]*>", z.read("xl/workbook.xml"))
    return m[0].decode() if m else None


def test_a_write_asks_the_app_to_recalculate_the_teams_formulas_on_opening(team):
    # A team's formula reading a cell sheetcrm writes keeps the result an app last stored: the
    # patch writes values without recalculating, so it asks the app that opens the file to
    # (fullCalcOnLoad, as openpyxl's writer always did). LibreOffice's own save drops the flag.
    assert 'fullCalcOnLoad="1"' not in (_calc_pr(team.path) or "")
    sync(team, Config(), AS_OF)
    XlsxWorkbook(team.path).write(Plan(writes=[CellWrite("Opportunities", 3, 5, "Closed Won")]))
    resaved = libreoffice_resave(team.path)
    assert 'fullCalcOnLoad="1"' not in (_calc_pr(resaved) or "")
    shutil.copyfile(resaved, team.path)
    before = team.path.read_bytes()
    outcome = sync(team, Config(), AS_OF)
    assert outcome.result.written.get("Opportunities")  # Deal 3 won: its computed cells change
    assert 'fullCalcOnLoad="1"' in _calc_pr(team.path) and team.path.read_bytes() != before
    settled = team.path.read_bytes()
    assert not sync(team, Config(), AS_OF).plan and team.path.read_bytes() == settled  # a no-op touches nothing


@pytest.mark.parametrize("workbook, expected", [
    (b'<workbook><sheets/><calcPr calcId="191029"/></workbook>',
     b'<workbook><sheets/><calcPr calcId="191029" fullCalcOnLoad="1"/></workbook>'),
    (b'<workbook><sheets/><calcPr calcId="1" fullCalcOnLoad="0"></calcPr></workbook>',
     b'<workbook><sheets/><calcPr calcId="1" fullCalcOnLoad="1"></calcPr></workbook>'),
    (b'<workbook><sheets/><definedNames/><extLst/></workbook>',
     b'<workbook><sheets/><definedNames/><calcPr fullCalcOnLoad="1"/><extLst/></workbook>'),
    (b'<workbook><sheets/></workbook>', b'<workbook><sheets/><calcPr fullCalcOnLoad="1"/></workbook>'),
    (b'<workbook><sheets/><calcPr fullCalcOnLoad="1"/></workbook>', None),
])
def test_recalc_on_load_sets_the_flag_once_in_schema_order(workbook, expected):
    assert xlsx_patch.recalc_on_load(workbook) == expected


def test_a_mac_excel_1904_workbook_gets_its_dates_written_in_its_own_date_system(tmp_path):
    # Found by a tester: dates in a workbook whose dates count from 1904 (Mac Excel,
    # workbookPr date1904) were read right but written as 1900-system serials, 1462 days late:
    # a Last Activity of 2026-01-20 showed 2030-01-21, the next sync took its own value for a
    # person's (computed_cell_typed) and its own Stage History for a date after the sync.
    path = tmp_path / "mac.xlsx"
    wb = openpyxl.Workbook()
    wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    tabs = {"Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
            "Opportunities": [["ID", "Name", "Account", "Stage", "Amount", "Close Date", "Created"],
                              ["OPP-0001", "Deal", "Acme", "Proposal", 1000, dt.date(2026, 4, 30), dt.date(2026, 1, 2)]],
            "Activities": [["ID", "Date", "Type", "Subject", "Related"],
                           ["ACT-0001", dt.date(2026, 1, 20), "Call", "hi", "OPP-0001"]]}
    wb.remove(wb.active)
    for title, rows in tabs.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    wb.save(path)
    assert xlsx_patch.date1904(zipfile.ZipFile(path).read("xl/workbook.xml"))
    book = XlsxWorkbook(path)
    sync(book, Config(), AS_OF)
    after = openpyxl.load_workbook(path)      # reads serials in the workbook's own system, as Excel
    assert after.epoch == openpyxl.utils.datetime.CALENDAR_MAC_1904
    deals = after["Opportunities"]
    header = [c.value for c in deals[1]]
    assert deals.cell(2, header.index("Last Activity") + 1).value == dt.datetime(2026, 1, 20)
    history = list(after["Stage History"].iter_rows(values_only=True))
    assert dt.datetime(2026, 2, 1) in history[1]
    later = sync(book, Config(), AS_OF + dt.timedelta(days=1))
    assert [i.code for i in later.crm.report.issues if i.code in ("computed_cell_typed", "history_after_sync")] == []
    assert openpyxl.load_workbook(path)["Opportunities"].cell(2, header.index("Days in Stage") + 1).value == 31
