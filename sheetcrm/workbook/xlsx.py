"""The embedded default backend: the workbook is an .xlsx file, read and written with openpyxl.

Reading streams the file in read-only mode so a 100k-row tab stays fast. Writing loads the
whole workbook (formulas, other tabs, styles, widths, validations, names and charts survive
as far as openpyxl keeps them), applies the plan with compare-and-set, and replaces the file
atomically.

Values come back typed. A datetime at midnight in a cell whose number format shows only a
date comes back as a `date`, so a "Next follow-up" column reads as dates, not timestamps.
Time-of-day and duration cells come back as text ("14:30:00"), since `CellValue` has no type
for them.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import io
import os
import tempfile
import zipfile
from pathlib import Path
from xml.etree.ElementTree import ParseError

import openpyxl
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell
from openpyxl.styles import Font
from openpyxl.styles.numbers import is_datetime
from openpyxl.utils.exceptions import InvalidFileException

from . import CellValue, CellWrite, Grid, Plan, Snapshot, WorkbookError, WriteResult
from .memory import formula_text, same_value, trim_rows

# Excel cannot save a workbook without a sheet, so `create()` leaves this one empty tab;
# `read()` does not report it and the first write that adds tabs removes it.
PLACEHOLDER_TAB = "sheetcrm (empty workbook)"

_NOT_XLSX = (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, TypeError, ParseError)


class XlsxWorkbook:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).expanduser().resolve()

    def describe(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        return self.path.is_file()

    def create(self) -> None:
        """Make a new workbook file with no tabs for sheetcrm to fill; never overwrites."""
        wb = openpyxl.Workbook()
        wb.active.title = PLACEHOLDER_TAB
        try:
            # Claiming the name exclusively refuses to clobber a file that appeared meanwhile
            # and gives the file the user's usual permissions, which the atomic save keeps.
            open(self.path, "xb").close()
        except FileExistsError:
            raise WorkbookError(f"{self.path}: already exists") from None
        except FileNotFoundError:
            raise WorkbookError(f"{self.path}: folder {self.path.parent} does not exist") from None
        except PermissionError:
            raise WorkbookError(f"cannot write {self.path}: permission denied") from None
        try:
            self._save(wb)
        except WorkbookError:
            self.path.unlink(missing_ok=True)
            raise

    def read(self) -> Snapshot:
        data = self._bytes()
        tabs: dict[str, Grid] = {}
        wb = _load(self.path, data, read_only=True)
        try:
            for ws in wb.worksheets:
                # Files written by other tools often carry a wrong <dimension>; trust the cells.
                ws.reset_dimensions()
                rows: list[list[CellValue]] = []
                formulas: set[tuple[int, int]] = set()
                for r, cells in enumerate(ws.iter_rows()):
                    values: list[CellValue] = []
                    for c, cell in enumerate(cells):
                        if cell.data_type == "f":
                            formulas.add((r, c))
                            values.append(None)
                        else:
                            values.append(_reported(cell.value, cell))
                    rows.append(values)
                tabs[ws.title] = Grid(rows=rows, formulas=formulas)
        finally:
            wb.close()

        wanted = {title: grid.formulas for title, grid in tabs.items() if grid.formulas}
        for title, values in _cached_values(self.path, data, wanted).items():
            rows = tabs[title].rows
            for (r, c), value in values.items():
                rows[r][c] = value

        for grid in tabs.values():
            grid.rows = trim_rows(grid.rows)
        placeholder = tabs.get(PLACEHOLDER_TAB)
        if placeholder is not None and not placeholder.rows:
            del tabs[PLACEHOLDER_TAB]
        return Snapshot(tabs=tabs)

    def write(self, plan: Plan) -> WriteResult:
        result = WriteResult()
        if not plan:
            return result
        if self.path.is_file() and not os.access(self.path, os.W_OK):
            # os.replace only needs the folder to be writable; respect a read-only file.
            raise WorkbookError(f"cannot write {self.path}: permission denied")
        data = self._bytes()
        wb = _load(self.path, data, read_only=False)
        sheets = {ws.title: ws for ws in wb.worksheets}

        created = []
        for tab in dict.fromkeys(plan.new_tabs):
            if tab not in sheets:
                try:
                    sheets[tab] = wb.create_sheet(tab)
                except ValueError as e:
                    raise WorkbookError(f"{self.path}: cannot create tab {tab!r}: {e}") from None
                created.append(tab)
        placeholder = sheets.get(PLACEHOLDER_TAB)
        if created and placeholder is not None and _is_blank(placeholder):
            wb.remove(placeholder)
            del sheets[PLACEHOLDER_TAB]

        accepted = []
        for w, ok in zip(plan.writes, _judge(self.path, data, sheets, plan.writes)):
            (accepted if ok else result.skipped).append(w)
        for w in accepted:
            cell = sheets[w.tab].cell(w.row, w.col)
            if w.formula:
                cell.value = formula_text(w.value)
            elif isinstance(w.value, str):
                # xlsx cannot hold control characters at all; dropping them beats failing
                # the whole sync over one pasted note.
                cell.value = ILLEGAL_CHARACTERS_RE.sub("", w.value)
                # openpyxl would turn "=..." into a formula and "#N/A" into an error.
                cell.data_type = "s"
            else:
                cell.value = w.value
            if w.row == 1 and w.tab in created:
                cell.font = Font(bold=True)
            result.written[w.tab] = result.written.get(w.tab, 0) + 1

        if created or accepted:
            self._save(wb)
        return result

    def _bytes(self) -> bytes:
        # One read of the file feeds every pass, so the passes agree even if the file is
        # saved by someone else meanwhile.
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            raise WorkbookError(
                f"{self.path}: no such workbook; run `sheetcrm init` or `sheetcrm demo` to create one"
            ) from None
        except IsADirectoryError:
            raise WorkbookError(f"{self.path}: is a folder, not an .xlsx workbook") from None
        except PermissionError:
            raise WorkbookError(f"cannot read {self.path}: permission denied") from None

    def _save(self, wb: openpyxl.Workbook) -> None:
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    wb.save(fh)
                    fh.flush()
                    os.fsync(fh.fileno())
                # mkstemp makes the file private; the workbook keeps the permissions it had.
                os.chmod(tmp, self.path.stat().st_mode)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            _fsync_folder(self.path.parent)
        except PermissionError:
            raise WorkbookError(f"cannot write {self.path}: permission denied") from None
        except OSError as e:
            raise WorkbookError(f"cannot write {self.path}: {e.strerror or e}") from None


def _load(path: Path, data: bytes, *, read_only: bool, data_only: bool = False) -> openpyxl.Workbook:
    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=read_only, data_only=data_only)
    except _NOT_XLSX:
        raise WorkbookError(
            f"{path}: not an .xlsx workbook; save it from your spreadsheet app as an Excel workbook (.xlsx)"
        ) from None


def _reported(value: object, cell) -> CellValue:
    """A cell's value as sheetcrm sees it (see the module docstring for dates and times)."""
    if isinstance(value, _dt.datetime):
        if value.time() == _dt.time(0) and is_datetime(cell.number_format) == "date":
            return value.date()
        return value
    if isinstance(value, (_dt.time, _dt.timedelta)):
        return str(value)
    return value


def _cached_values(
    path: Path, data: bytes, wanted: dict[str, set[tuple[int, int]]]
) -> dict[str, dict[tuple[int, int], CellValue]]:
    """The values Excel last calculated for formula cells, by tab and 0-based position.

    A file that was never opened in a spreadsheet app has none, so those come back as None.
    """
    if not wanted:
        return {}
    found: dict[str, dict[tuple[int, int], CellValue]] = {}
    wb = _load(path, data, read_only=True, data_only=True)
    try:
        for title, cells in wanted.items():
            ws = wb[title]
            ws.reset_dimensions()
            by_row: dict[int, list[int]] = {}
            for r, c in cells:
                by_row.setdefault(r, []).append(c)
            values: dict[tuple[int, int], CellValue] = {}
            for r, row in enumerate(ws.iter_rows(max_row=max(by_row) + 1)):
                for c in by_row.get(r, ()):
                    values[(r, c)] = _reported(row[c].value, row[c]) if c < len(row) else None
            found[title] = values
    finally:
        wb.close()
    return found


def _judge(path: Path, data: bytes, sheets: dict, writes: list[CellWrite]) -> list[bool]:
    """Whether each write may be applied, judged against the workbook before the plan.

    A write is refused when its tab is gone, when it targets a merged cell's hidden part,
    when it would overwrite a formula in a tab sheetcrm does not own, or when any expected
    value has changed. Expected values in formula cells are compared with the value Excel
    calculated, which is what `read()` reported when the plan was made.
    """
    verdicts: list[bool] = []
    pending: dict[int, list[tuple[str, int, int, CellValue]]] = {}
    for i, w in enumerate(writes):
        ws = sheets.get(w.tab)
        if ws is None:
            verdicts.append(False)
            continue
        target = ws.cell(w.row, w.col)
        if isinstance(target, MergedCell) or (w.expect and target.data_type == "f"):
            verdicts.append(False)
            continue
        ok = True
        for col, expected in w.expect:
            cell = ws.cell(w.row, col)
            if cell.data_type == "f":
                pending.setdefault(i, []).append((w.tab, w.row - 1, col - 1, expected))
            elif not same_value(_reported(cell.value, cell), expected):
                ok = False
                break
        verdicts.append(ok)

    wanted: dict[str, set[tuple[int, int]]] = {}
    for checks in pending.values():
        for tab, r, c, _ in checks:
            wanted.setdefault(tab, set()).add((r, c))
    cached = _cached_values(path, data, wanted)
    for i, checks in pending.items():
        if verdicts[i]:
            verdicts[i] = all(same_value(cached[tab][(r, c)], expected) for tab, r, c, expected in checks)
    return verdicts


def _is_blank(ws) -> bool:
    return all(v is None for row in ws.iter_rows(values_only=True) for v in row)


def _fsync_folder(folder: Path) -> None:
    # Makes the rename itself durable on POSIX; Windows cannot open a folder for this.
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
