"""The embedded default backend: the workbook is an .xlsx file.

Reading uses calamine (Rust, via python-calamine): ~20x faster than openpyxl's read-only
mode on a 100k-row tab, and it returns the values a spreadsheet app last calculated for
formula cells. What calamine does not say (which cells are formulas, the error a formula
last computed, percent number formats, merged blocks) comes from one scan of the sheet XML
(`xlsx_scan`). Writing loads the
whole workbook with openpyxl (formulas, other tabs, styles, widths, validations, names and
charts survive as far as openpyxl keeps them), applies the plan with compare-and-set, and
replaces the file atomically.

A write also adds the plan's charts that are missing and sets its dropdowns. openpyxl 3.1
reads back the bar and line charts it wrote (tests/test_charts_guides.py holds it to that), so
a chart is added only when its tab has none of that title; should a chart ever be lost on the
way through openpyxl, the next write finds its title missing and adds it again.

Values come back typed: whole numbers as int, dates as `date` (a datetime at midnight
included), other datetimes as `datetime`. Time-of-day and duration cells
come back as text ("14:30:00"), since `CellValue` has no type for them.
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
import python_calamine
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.styles import Font
from openpyxl.styles.numbers import is_datetime
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation

from . import (CellValue, CellWrite, Chart, Grid, Guide, Plan, Snapshot, WorkbookError, WriteResult, drop_orphans,
               same_value)
from . import xlsx_scan
from .memory import formula_text

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
        try:
            book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
            sheets = [m.name for m in book.sheets_metadata if m.typ == python_calamine.SheetTypeEnum.WorkSheet]
            tabs = {name: _grid(book.get_sheet_by_name(name).to_python(skip_empty_area=False))
                    for name in sheets}
            facts = xlsx_scan.scan(data)
        except _NOT_XLSX + (python_calamine.CalamineError,):
            raise _not_xlsx(self.path) from None
        _add_facts(tabs, facts)
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
        wb = _load(self.path, data)
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
        accepted = drop_orphans(accepted, result.skipped)
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
            for tab in created:
                # sheetcrm's own tabs open readable; a tab people own keeps the widths they chose.
                _fit_widths(sheets[tab], sheets[tab].max_column)
            _add_charts(sheets, plan.charts)
            _set_dropdowns(sheets, plan.guides)
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


def _load(path: Path, data: bytes) -> openpyxl.Workbook:
    try:
        return openpyxl.load_workbook(io.BytesIO(data))
    except _NOT_XLSX:
        raise _not_xlsx(path) from None


def _not_xlsx(path: Path) -> WorkbookError:
    return WorkbookError(
        f"{path}: not an .xlsx workbook; save it from your spreadsheet app as an Excel workbook (.xlsx)")


_TIMES = (_dt.time, _dt.timedelta)
_EXACT = float(2**53)  # beyond this a float no longer holds every whole number


def _grid(rows: list[list[object]]) -> Grid:
    """Calamine's rows as sheetcrm's cell values (see the module docstring): "" is an empty
    cell, a whole float an int (xlsx stores every number as a float; 40 was typed as 40), a
    time or duration its text; trailing empty cells and rows are dropped.

    The rule is written inline rather than as a function per cell, which doubles the cost of
    reading a large tab."""
    out = []
    for row in rows:
        cells = [None if v == "" else
                 (int(v) if v.is_integer() and -_EXACT < v < _EXACT else v) if v.__class__ is float else
                 (str(v) if isinstance(v, _TIMES) else v)
                 for v in row]
        end = len(cells)
        while end and cells[end - 1] is None:
            end -= 1
        del cells[end:]
        out.append(cells)
    while out and not out[-1]:
        out.pop()
    return Grid(rows=out)  # type: ignore[arg-type]


def _add_facts(tabs: dict[str, Grid], facts: dict[str, xlsx_scan.SheetFacts]) -> None:
    """Put on each grid what its cells show beyond their values: formula cells, error
    results, percent formats and merged blocks (see `xlsx_scan`)."""
    for title, found in facts.items():
        grid = tabs.get(title)
        if grid is None:
            continue
        grid.formulas, grid.percent, grid.merges = found.formulas, found.percent, found.merges
        grid.errors = found.errors
        for r, c in found.errors:
            # calamine reports an error as "", so the row is already None there (or trimmed).
            if r < len(grid.rows) and c < len(grid.rows[r]):
                grid.rows[r][c] = None


def _reported(value: object, cell) -> CellValue:
    """A cell's value as sheetcrm sees it (see the module docstring for dates and times)."""
    if isinstance(value, _dt.datetime):
        if value.time() == _dt.time(0) and is_datetime(cell.number_format) == "date":
            return value.date()
        return value
    if isinstance(value, (_dt.time, _dt.timedelta)):
        return str(value)
    return value


def _cached_values(data: bytes, wanted: dict[str, set[tuple[int, int]]]) -> dict[str, dict[tuple[int, int], CellValue]]:
    """The values a spreadsheet app last calculated for formula cells, by tab and 0-based
    position; None where the file was never calculated."""
    if not wanted:
        return {}
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    found: dict[str, dict[tuple[int, int], CellValue]] = {}
    for title, cells in wanted.items():
        grid = _grid(book.get_sheet_by_name(title).to_python(skip_empty_area=False))
        found[title] = {(r, c): grid.cell(r, c) for r, c in cells}
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
    cached = _cached_values(data, wanted)
    for i, checks in pending.items():
        if verdicts[i]:
            verdicts[i] = all(same_value(cached[tab][(r, c)], expected) for tab, r, c, expected in checks)
    return verdicts


CHART_KINDS = {"column": BarChart, "line": LineChart}
# Excel reads the list of an inline dropdown as one formula of at most 255 characters, with
# commas between the values; a longer list, or a value with a comma, and Excel reports the file damaged.
MAX_INLINE_LIST = 255
MAX_WIDTH = 40  # characters: a long note must not push the chart off the page
MAX_ROWS = 1_048_576  # the last row of an xlsx sheet: a dropdown covers the rows people add later
# Marks the dropdowns sheetcrm made, so a write replaces its own and leaves the team's alone.
DROPDOWN_MARK = "sheetcrm"


def _add_charts(sheets: dict, charts: list[Chart]) -> None:
    for spec in charts:
        ws = sheets.get(spec.tab)
        # A block without rows has nothing to draw; a later sync adds the chart once it has.
        if ws is None or spec.last_row < spec.first_row or spec.title in _chart_titles(ws):
            continue
        ws.add_chart(_chart(ws, spec), f"{get_column_letter(spec.anchor_col)}1")
        # One page wide, landscape, narrow side margins: a printout or PDF shows the chart
        # beside its table at close to full size.
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_margins.left = ws.page_margins.right = 0.4
        _fit_widths(ws, max(spec.series_cols))


def _chart(ws, spec: Chart):
    chart = CHART_KINDS[spec.kind]()
    chart.title = spec.title
    chart.width, chart.height = 12, 8  # cm
    chart.legend.position = "b"  # below the plot, which keeps the full width for the categories
    for col in spec.series_cols:
        chart.add_data(Reference(ws, min_col=col, min_row=spec.first_row - 1, max_row=spec.last_row),
                       titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=spec.domain_col, min_row=spec.first_row, max_row=spec.last_row))
    # openpyxl 3.1 leaves out the axes' <c:delete> flag unless set, and recent Excel then hides the axes.
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    return chart


def _fit_widths(ws, last_col: int) -> None:
    """Widen the columns up to `last_col` to their longest value, so stage names, dates and
    headers read in full (a column already wider is not narrowed)."""
    for col, cells in enumerate(ws.iter_cols(min_col=1, max_col=last_col, values_only=True), 1):
        longest = max((len(str(v)) for v in cells if v is not None), default=0)
        letter = get_column_letter(col)
        # Looking a column up creates it with openpyxl's default width, so ask first.
        widened = ws.column_dimensions[letter].width if letter in ws.column_dimensions else 0
        ws.column_dimensions[letter].width = max(widened, min(longest + 2, MAX_WIDTH))


def _chart_titles(ws) -> set[str]:
    titles = set()
    for chart in ws._charts:
        rich = chart.title and chart.title.tx and chart.title.tx.rich
        if rich:
            titles.add("".join(run.t for paragraph in rich.p for run in paragraph.r or ()))
    return titles


def _set_dropdowns(sheets: dict, guides: list[Guide]) -> None:
    """Replace sheetcrm's dropdowns on each guided tab with the plan's: the same plan gives
    the same validations, however many writes it rides along with."""
    for guide in guides:
        ws = sheets.get(guide.tab)
        if ws is None:
            continue
        validations = ws.data_validations.dataValidation
        validations[:] = [v for v in validations if v.errorTitle != DROPDOWN_MARK]
        for col, values in guide.dropdowns:
            formula = '"' + ",".join(values).replace('"', '""') + '"'
            if any("," in v for v in values) or len(formula) > MAX_INLINE_LIST:
                continue
            letter = get_column_letter(col)
            # A warning, not a stop: sheetcrm also reads aliases and any capitalisation, and
            # the Validation tab reports what it cannot read.
            dropdown = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=True,
                                      errorStyle="warning", errorTitle=DROPDOWN_MARK,
                                      error="Not one of the listed values; sheetcrm reports it on the Validation tab.")
            dropdown.add(f"{letter}2:{letter}{MAX_ROWS}")
            ws.add_data_validation(dropdown)


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
