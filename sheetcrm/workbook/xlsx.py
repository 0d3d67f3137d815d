"""The embedded default backend: the workbook is an .xlsx file.

Reading uses calamine (Rust, via python-calamine): ~20x faster than openpyxl's read-only
mode on a 100k-row tab, and it returns the values a spreadsheet app last calculated for
formula cells. What calamine does not say (which cells are formulas, the error a formula
last computed, percent and currency number formats, merged blocks) comes from one scan of the sheet XML
(`xlsx_scan`).

Writing judges each write against the file (compare-and-set), then patches the package
(xlsx_patch.py): only the written cells of the changed sheet parts change, every other zip
member keeps its bytes, so formulas keep their last results and a small write to a big
workbook stays small. A write that adds tabs (mostly the first sync) patches too: each new tab
is an empty sheet part added with its entries in workbook.xml, its relationships and
[Content_Types].xml (`xlsx_patch.add_sheets`; header frozen, printed one page wide), and its
cells are then written like any others. Either way the file is replaced atomically (temp file
+ rename), and only if it is still the file the last `read()` saw (docs/concurrency.md, "The
.xlsx file").

A write also adds the plan's charts that are missing and sets its dropdowns. A chart is drawn
by openpyxl in a scratch workbook whose tab has the same title, and its parts are moved into
the package (`xlsx_patch.add_charts`): the chart part as openpyxl wrote it, its anchor into the
tab's drawing (a new one, or the tab's own, whose pictures and shapes stay). A chart is added
only when its tab has none of that title, so should one be lost, the next write adds it again;
one a tab's drawing cannot take is left out, with a warning line (`WriteResult.warnings`).
On sheetcrm's own tabs a chart it drew follows its rows: each write sets its blocks to the
plan's rows (`xlsx_patch.fit_chart_ranges`), so three months after six plot three.

openpyxl never loads and saves the team's workbook on these paths: it drops what it does not
model (measured on a first sync: x14 dropdowns drawn from another tab, x14 conditional
formats, sparklines, pictures and shapes, custom XML parts, comment boxes' size and place).
Only when the patcher gives up (`NeedsRebuild`: a shared formula's master cell written, a
package without cell formats) is the workbook rebuilt through openpyxl, formulas' results put
back from the original afterwards, and then only when `xlsx_patch.rebuild_would_lose` finds
none of that in the package; otherwise nothing is written and one line says what blocks the
patch (the cell, else the tab), what would be lost and where, and what the person can do.

Values come back typed: whole numbers as int, dates as `date` (a datetime at midnight
included), other datetimes as `datetime`. Time-of-day and duration cells
come back as the text their number format shows, since `CellValue` has no type for them:
1.5 formatted `[h]:mm` is "36:00", 0.0625 formatted `h:mm AM/PM` "1:30 AM"
(`numformat.show_time`; the sheet's cells that hold them are looked up in its XML only when
it has any); without a format to go by, "36:00:00" (a duration) or "01:30:00" (a time of day).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import sys
import hashlib
import datetime as _dt
import io
import itertools
import os
import secrets
import shlex
import tempfile
import time
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Callable, Iterable
from xml.etree.ElementTree import ParseError

# openpyxl (and the numpy it imports) only where a workbook is created, rebuilt or charted: a
# read is calamine's, and importing them costs 0.3 s of CPU (tests/test_startup_imports.py).
import python_calamine

from sheetcrm.i18n import N_, _, ngettext
from sheetcrm.lock import refuse_if_open_in_app
from sheetcrm.os_errors import os_problem

from . import (CellWrite, Chart, ColumnFormat, Grid, Guide, Plan, Snapshot, TabLayout, WorkbookConflict,
               WorkbookError, WriteResult, binary_office_problem, blanks_to_none, drop_orphans, holds_target,
               same_value, share_text, xlsx_memo, numformat, xlsx_patch, xlsx_prefix, xlsx_rows, xlsx_scan, xlsx_sparse)
from .memory import formula_text

# Excel cannot save a workbook without a sheet, so `create()` leaves this one empty tab;
# `read()` does not report it and the first write that adds tabs removes it.
DEMO_FILE = "demo-crm.xlsx"  # where `sheetcrm demo` writes unless --workbook / --spreadsheet says otherwise
PLACEHOLDER_TAB = "sheetcrm (empty workbook)"  # not for people: a fixed name read() recognises

_NOT_XLSX = (zipfile.BadZipFile, KeyError, ValueError, TypeError, ParseError)


class XlsxWorkbook:
    def __init__(self, path: str | os.PathLike[str], ignore_app_lock: bool = False) -> None:
        self.path = Path(path).expanduser().resolve()
        # The name given, kept unresolved: an app that opened the workbook through a symlink
        # puts its lock file beside the link (`lock.app_lock`).
        self.given = Path(path).expanduser().absolute()
        # Set by the CLI's --ignore-lock: write even while a spreadsheet app has the file open.
        self.ignore_app_lock = ignore_app_lock
        self._seen: Seen | None = None  # the file as the last read() or write saw it
        self.grid_memo: xlsx_memo.GridMemo | None = None  # see remember_grids
        # sheetcrm's own dropdowns on each tab of the file `_seen` names and the sqrefs of the
        # team's validations there, as its read found them (`xlsx_patch.found_dropdowns`); {}
        # when not known (no read yet, or a write since).
        self._dropdowns: dict[str, tuple[list[tuple[str, str]], list[str]]] = {}

    def describe(self) -> str:
        return str(self.path)

    def exists(self) -> bool:
        return self.path.is_file()

    def create(self) -> None:
        """Make a new workbook file with no tabs for sheetcrm to fill; never overwrites.

        The file appears whole or not at all: written beside it, then hard-linked into place,
        which fails when a file of that name appeared meanwhile. Claiming the name with an empty
        file first left that empty file behind when the command was killed (`kill -9`, a power
        cut) before its save, and every command then called it "not an .xlsx workbook", `init`
        too. Where the file system has no hard links, the name is claimed first, as before."""
        import openpyxl

        wb = openpyxl.Workbook()
        wb.active.title = PLACEHOLDER_TAB
        buffer = io.BytesIO()
        wb.save(buffer)
        data = buffer.getvalue()
        if self.path.is_dir():  # `init --workbook crm.xlsx` given a folder: "already exists" said nothing of why
            raise WorkbookError(_("{path}: is a folder, not an .xlsx workbook", path=self.path))
        if self.path.exists() or self.path.is_symlink():
            raise WorkbookError(_("{path}: already exists", path=self.path))
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")  # `lock.stale_temp_files`' pattern
        try:
            # O_EXCL with the default mode: the new file gets the user's usual permissions (umask).
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
                try:
                    os.link(tmp, self.path)
                except FileExistsError:
                    raise WorkbookError(_("{path}: already exists", path=self.path)) from None
                except OSError as e:
                    if e.errno not in _NO_HARD_LINKS:
                        raise
                    open(self.path, "xb").close()
                    os.replace(tmp, self.path)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            _fsync_folder(self.path.parent)
        except FileExistsError:
            raise WorkbookError(_("{path}: already exists", path=self.path)) from None
        except FileNotFoundError:
            raise WorkbookError(_("{path}: folder {folder} does not exist", path=self.path,
                                   folder=self.path.parent)) from None
        except PermissionError:
            raise WorkbookError(_("cannot write {path}: permission denied", path=self.path)) from None
        except OSError as e:  # a file where a folder should be, a full disk, a read-only mount
            raise WorkbookError(_("cannot write {path}: {error}", path=self.path, error=os_problem(e))) from None
        self._seen = Seen(self._stat(), hashlib.sha256(data).digest())

    def remember_grids(self, path: Path | None) -> None:
        """Keep each read's decoded sheets in the memo file `path` (`xlsx_memo`), so a later read
        decodes only the sheets whose bytes changed; None decodes every sheet every time."""
        if path is None:
            self.grid_memo = None
        elif self.grid_memo is None or self.grid_memo.path != path:
            self.grid_memo = xlsx_memo.GridMemo(path)

    def read(self) -> Snapshot:
        """The file's tabs as Grids. With a grid memo (`remember_grids`), a sheet whose key (its
        bytes and those of every part it reads through) is one the last read decoded is that
        read's Grid again, not decoded."""
        data, self._seen = self._current()
        memo = self.grid_memo
        try:
            with contextlib.suppress(xlsx_prefix.MixedPrefixes):  # read as it is; a write says why it cannot
                data = (xlsx_prefix.plain(data) or xlsx_prefix.Plain(data)).data
            book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
            sheets = [m.name for m in book.sheets_metadata if m.typ == python_calamine.SheetTypeEnum.WorkSheet]
            hidden = {m.name for m in book.sheets_metadata if m.visible != python_calamine.SheetVisibleEnum.Visible}
            keys: dict[str, bytes] = {}
            tabs: dict[str, Grid] = {}
            self._dropdowns = {}
            missed: list[str] = []
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                parts = xlsx_patch.sheet_parts(z)
                names = [m.name for m in book.sheets_metadata]
                if memo is not None:
                    memo.start()
                    keys = xlsx_memo.sheet_keys(data, z, parts, names)
                for name in sheets:
                    kept = memo.recall(keys.get(name)) if memo is not None else None
                    if not (isinstance(kept, tuple) and len(kept) == 2 and isinstance(kept[0], Grid)):
                        missed.append(name)
                    else:
                        tabs[name], self._dropdowns[name] = kept
                sheet_of = _sheet_parts(z, parts, names)
                date1904 = bool(missed) and xlsx_patch.date1904(z.read(xlsx_patch.workbook_part(z)))
                for name in missed:
                    tabs[name] = _decode(book, name, data, z, sheet_of)
                    tabs[name].date1904 = date1904
            tabs = {name: tabs[name] for name in sheets}  # the workbook's tab order
            facts = xlsx_scan.scan(data, only=set(missed)) if missed else {}
        except _NOT_XLSX + (python_calamine.CalamineError,):
            raise _not_xlsx(self.path, data) from None
        _add_facts(tabs, facts)
        for name in missed:
            self._dropdowns[name] = (facts[name].dropdowns, facts[name].theirs) if name in facts else ([], [])
            if memo is not None:
                memo.keep(name, keys.get(name), (tabs[name], self._dropdowns[name]))
        if memo is not None:
            memo.finish()
        placeholder = tabs.get(PLACEHOLDER_TAB)
        if placeholder is not None and not placeholder.rows:
            del tabs[PLACEHOLDER_TAB]
        return Snapshot(tabs=tabs, owned=_owned(data), hidden=hidden & set(tabs))

    def write(self, plan: Plan) -> WriteResult:
        """Apply the plan with compare-and-set and replace the file atomically.

        Raises WorkbookConflict when the file is no longer the one the last `read()` saw (a
        person saved meanwhile): nothing is written, and the caller reads and plans again.
        Raises AppLocked (a WorkbookError) while LibreOffice or Excel holds the file open,
        unless `ignore_app_lock`: the app's next save would revert sheetcrm's write.
        """
        result = WriteResult()
        if not plan:
            return result
        _refuse_read_only(self.path)
        if not self.ignore_app_lock:
            refuse_if_open_in_app(self.path, self.given)
        data, seen = self._current()
        if self._seen is not None and seen.digest != self._seen.digest:
            raise WorkbookConflict(_(CONFLICT, path=self.path))
        original = data
        try:
            made = self._plain(data)
            data = made.data
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                tabs = [title for title, _ in xlsx_patch.sheet_parts(z)]
        except _NOT_XLSX:
            raise _not_xlsx(self.path, data) from None
        created = [t for t in dict.fromkeys(plan.new_tabs) if t not in tabs]
        accepted = []
        # A replacement is a write per cell that holds the text to replace, each keyed by that
        # very cell: it lands only while the cell still holds it.
        replacing, doomed = _by_content(data, plan, set(tabs))
        writes = [*plan.writes, *replacing]
        verdicts, preloaded = self._judge(data, writes, set(created))
        for w, ok in zip(writes, verdicts):
            (accepted if ok else result.skipped).append(w)
        accepted = drop_orphans(accepted, result.skipped)
        result.skipped = [w for w in result.skipped if w not in replacing]
        for w in accepted:
            counts = result.replaced if w in replacing else result.written
            counts[w.tab] = counts.get(w.tab, 0) + 1
        for tab, rows in doomed.items():
            result.deleted[tab] = len(rows)
        marks = set(plan.mark_owned)
        if not (created or accepted or marks or doomed):
            return result
        new = None
        try:
            patch = _patch(accepted, plan.guides, marks, plan.formats, set(created), plan.own_formats)
            patch.hide = set(plan.hide)
            # A tab whose dropdowns the read found as wanted and that gets no cell is not opened
            # (inflating a 10 MB sheet part to find them unchanged was most of a small write).
            # The read saw this very file: any other is a conflict, raised above.
            for title, wanted in list(patch.dropdowns.items()):
                found = self._dropdowns.get(title)
                if not patch.cells.get(title) and found and found[0] == sorted(xlsx_patch.leave_theirs(wanted, found[1])):
                    del patch.dropdowns[title]
            base = data
            if created:
                base = _add_tabs(self.path, data, plan, accepted, created, patch)
            new = xlsx_patch.apply(base, patch, preloaded) or (base if created else None)
            result.warnings.extend(_below_totals(*b) for b in patch.below_totals)
            new, warned = _add_missing_charts(new or data, plan.charts, new is not None)
            result.warnings.extend(warned)
        except xlsx_patch.NeedsRebuild as e:
            # Rare: a package this patcher cannot change safely. openpyxl rewrites the whole
            # workbook and drops what it does not model, so only a package holding none of that
            # is rebuilt; any other is left as it is, and the person is told why.
            kept = xlsx_patch.rebuild_would_lose(data)
            if kept:
                raise WorkbookError(_refused(self.path, e, kept)) from None
            new = self._rebuild(data, plan, accepted, created, marks)
            made.prefixes.clear()  # openpyxl wrote every part anew: none is the original's
        if new is not None:
            # Either way, a chart drawn before follows its rows now (fewer months, more stages):
            # one left on the rows it was first drawn over shows another block's figures.
            new = xlsx_patch.fit_chart_ranges(new, _chart_blocks(plan.charts)) or new
        if doomed:
            # Last, bottom row first, in the same save: every other change of the plan is
            # addressed by the rows as read.
            try:
                new = xlsx_rows.delete_rows(new or data, doomed)
            except xlsx_rows.UnreadableSharedFormula as e:
                raise WorkbookError(_("{path}: cannot remove merged rows: the filled-down formula at {tab}!{cell} "
                                      "cannot be read to move it; fill it down again and sync",
                                      path=self.path, tab=e.tab, cell=e.cell)) from None
            except xlsx_patch.NeedsRebuild:
                raise WorkbookError(_("{path}: cannot remove merged rows from a tab formatted as a table; "
                                      "convert the table to a range", path=self.path)) from None
        if new is not None:
            new = xlsx_patch.drop_stale_calc_chain(data, new)
            if made.prefixes:
                new = xlsx_prefix.restore(original, made, new)
            self._commit(new, seen)
        return result

    def _plain(self, data: bytes) -> xlsx_prefix.Plain:
        """`data` as the patcher reads it: its prefixed SpreadsheetML parts made unprefixed
        (`xlsx_prefix`); `prefixes` empty when none was. Raises WorkbookError for a part that
        cannot be made plain exactly: writing it unseen would misjudge its cells."""
        try:
            return xlsx_prefix.plain(data) or xlsx_prefix.Plain(data)
        except xlsx_prefix.MixedPrefixes as e:
            raise WorkbookError(_(MIXED_PREFIXES, path=self.path, part=e.args[0])) from None

    def _judge(self, data: bytes, writes: list[CellWrite], created: set[str]) -> tuple[list[bool], dict[str, bytes]]:
        """Whether each write may be applied, judged against the file as it is now, and the
        sheet parts read for it (by member name).

        A write is refused when its tab is gone, when it targets a merged cell's hidden part,
        when it would overwrite a formula while guarded (a tab sheetcrm does not own), or when
        any expected value has changed. Values are compared as `read()` reports them (formula
        cells by their last calculated value), which is what the plan was made from: first
        from the sheet XML of just the rows concerned, and where that disagrees, by calamine.
        """
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            parts = {title: part for title, part in xlsx_patch.sheet_parts(z) if part}
            xml = {parts[tab]: z.read(parts[tab]) for tab in {w.tab for w in writes} - created if tab in parts}
            strings = next((t for k, t in xlsx_patch.relationships(z, xlsx_patch.workbook_part(z)).values()
                            if k.endswith("/sharedStrings")), None)
            shared_xml = z.read(strings) if strings in z.NameToInfo else None
        shared_cache: list[xlsx_patch.SharedStrings] = []

        def shared() -> xlsx_patch.SharedStrings:
            if not shared_cache:
                shared_cache.append(xlsx_patch.SharedStrings(shared_xml))
            return shared_cache[0]

        wanted: dict[str, set[tuple[int, int]]] = {}
        for w in writes:
            if w.expect and w.tab in parts and w.tab not in created:
                wanted.setdefault(w.tab, set()).update({(w.row, w.col), *((w.row, c) for c, _ in w.expect)})
        raw = {tab: xlsx_patch.raw_cells(xml[parts[tab]], cells) for tab, cells in wanted.items()}
        hidden = {tab: xlsx_patch.merged_hidden(xml[parts[tab]]) for tab in {w.tab for w in writes} if parts.get(tab) in xml}
        verdicts: list[bool | None] = []
        for w in writes:
            if w.tab in created:
                verdicts.append(all(same_value(None, v) for _, v in w.expect))
            elif w.tab not in hidden or hidden[w.tab](w.row, w.col):
                verdicts.append(False)
            elif not w.expect:
                verdicts.append(True)
            elif (target := raw[w.tab].get((w.row, w.col))) is not None and target.formula:
                verdicts.append(False)
            elif all(same_value(xlsx_patch.decode(raw[w.tab].get((w.row, c)), shared), v) for c, v in w.expect) \
                    and holds_target(w, xlsx_patch.decode(target, shared)):
                verdicts.append(True)
            else:
                verdicts.append(None)  # ask calamine, which read() used
        doubtful = {w.tab for w, ok in zip(writes, verdicts) if ok is None}
        if doubtful:
            book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                sheet_of = _sheet_parts(z, xlsx_patch.sheet_parts(z), [m.name for m in book.sheets_metadata])
                grids = {tab: _decode(book, tab, data, z, sheet_of) for tab in doubtful}
            verdicts = [ok if ok is not None else
                        all(same_value(grids[w.tab].cell(w.row - 1, c - 1), v) for c, v in w.expect)
                        and holds_target(w, grids[w.tab].cell(w.row - 1, w.col - 1))
                        for w, ok in zip(writes, verdicts)]
        return [bool(ok) for ok in verdicts], xml

    def _rebuild(self, data: bytes, plan: Plan, accepted: list[CellWrite], created: list[str],
                 marks: set[str]) -> bytes:
        """The whole workbook through openpyxl, when the patcher gave up on a package that
        holds nothing openpyxl drops (see the module docstring). openpyxl saves formulas
        without their last results, so those are put back from the original afterwards."""
        from openpyxl.styles import Font

        wb = _load(self.path, data)
        sheets = {ws.title: ws for ws in wb.worksheets}
        for tab in created:
            try:
                sheets[tab] = wb.create_sheet(tab)
            except ValueError as e:
                raise WorkbookError(_("{path}: cannot create tab {tab}: {error}", path=self.path, tab=repr(tab),
                                       error=e)) from None
        placeholder = sheets.get(PLACEHOLDER_TAB)
        if created and placeholder is not None and _is_blank(placeholder):
            wb.remove(placeholder)
            del sheets[PLACEHOLDER_TAB]
        owned = {*created, *marks, *xlsx_patch.marked_tabs(data)}
        for w in accepted:
            cell = sheets[w.tab].cell(w.row, w.col)
            if w.formula:
                cell.value = formula_text(w.value)
            elif isinstance(w.value, str):
                # openpyxl writes text as it is: escaped as the patcher does (control
                # characters dropped, "_x0041_" and a carriage return kept as typed).
                cell.value = xlsx_patch.xstring(w.value)
                # openpyxl would turn "=..." into a formula and "#N/A" into an error.
                cell.data_type = "s"
            else:
                cell.value = w.value
                # As the patcher (xlsx_patch.cell_xml): on sheetcrm's own tabs a number never
                # keeps a date format its cell had; a people's cell keeps its format.
                if (w.tab in owned and isinstance(w.value, (int, float, Decimal)) and not isinstance(w.value, bool)
                        and cell.is_date):
                    cell.number_format = "General"
            if w.row == 1 and w.tab in created:
                cell.font = Font(bold=True)
        laid_out = {c.tab for c in plan.formats}
        for tab in created:
            if tab not in laid_out:
                # sheetcrm's own tabs open readable; a tab people own keeps the widths they chose.
                _fit_widths(sheets[tab], sheets[tab].max_column)
        _apply_formats(sheets, plan.formats, plan.own_formats)
        _apply_layouts(sheets, plan.layouts, set(created))
        _add_charts(sheets, plan.charts)
        _set_dropdowns(sheets, plan.guides)
        for tab in plan.hide:
            if tab in sheets and sheets[tab].sheet_state == "visible":
                sheets[tab].sheet_state = "hidden"
        buffer = io.BytesIO()  # saved in memory: a full disk then fails in one place, below
        wb.save(buffer)
        written = {}
        for w in accepted:
            written.setdefault(w.tab, set()).add(f"{xlsx_patch.column_letter(w.col)}{w.row}".encode())
        saved = xlsx_patch.restore_formula_values(data, buffer.getvalue(), written)
        return xlsx_patch.apply(saved, xlsx_patch.Patch(marks=marks)) or saved

    def _current(self) -> tuple[bytes, "Seen"]:
        """The file's bytes and what identifies them, from one read that no save overlapped.

        A save that rewrites the file in place (a script's `wb.save(path)`, pandas, an app on
        some network shares) leaves it still for a moment halfway through, often longer than a
        read: the bytes then end before the package's end record. Such bytes of a file changed
        less than SAVING_SECONDS ago are a save in progress, read again until it ends (a read
        that came out "not an .xlsx workbook" and stopped the sync, found by a script saving
        while syncs ran); raises WorkbookConflict when the file is still changing after
        CHANGING_SECONDS. Excel (and LibreOffice on some shares) saves by renaming the file away
        and its new one into place: a file this workbook has read before that is missing for
        less than SAVING_SECONDS is such a save, waited for, not "no such workbook"."""
        start = time.monotonic()
        deadline = start + CHANGING_SECONDS
        while True:
            before = self._stat()
            if before[0] < 0 and self._seen is not None and time.monotonic() < start + SAVING_SECONDS:
                time.sleep(POLL_SECONDS)
                continue
            data = self._bytes()
            after = self._stat()
            if before == after and len(data) == after[0] and not (
                    _partial_package(data) and abs(time.time() - after[1] / 1e9) < SAVING_SECONDS):
                return data, Seen(after, hashlib.sha256(data).digest())
            if time.monotonic() >= deadline:
                raise WorkbookConflict(_("{path} kept changing while sheetcrm read it; try again when it is saved",
                                         path=self.path))
            time.sleep(POLL_SECONDS)

    def _stat(self) -> tuple[int, int, int]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return (-1, 0, 0)
        except OSError as e:
            raise WorkbookError(_("cannot read {path}: {error}", path=self.path, error=os_problem(e))) from None
        return (st.st_size, st.st_mtime_ns, st.st_ino)

    def _bytes(self) -> bytes:
        try:
            return self.path.read_bytes()
        except FileNotFoundError:
            # A file this process has read is gone (moved, renamed, deleted while `sheetcrm run`
            # serves it): `init` there, as `_missing` tells a new user, would make an empty CRM
            # for the service to sync while the team's workbook is somewhere else.
            raise WorkbookError(_(GONE, path=self.path) if self._seen is not None else _missing(self.path)) from None
        except IsADirectoryError:
            raise WorkbookError(_("{path}: is a folder, not an .xlsx workbook", path=self.path)) from None
        except PermissionError:
            raise WorkbookError(_("cannot read {path}: permission denied", path=self.path)) from None

    def _commit(self, new: bytes, base: "Seen | None") -> None:
        """Replace the file with `new` atomically (temp file + rename), but only if it is still
        the file `base` describes: checked by content just before, and by size, mtime and
        inode right before the rename, so a save that lands meanwhile raises WorkbookConflict."""
        _refuse_read_only(self.path)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(new)
                    fh.flush()
                    os.fsync(fh.fileno())
                # mkstemp makes the file private; the workbook keeps the permissions it had.
                os.chmod(tmp, self.path.stat().st_mode)
                if base is not None:
                    _data, now = self._current()
                    if now.digest != base.digest or self._stat() != now.stat:
                        raise WorkbookConflict(_(CONFLICT, path=self.path))
                    _replace_if_still(Path(tmp), self.path, now.stat)
                else:
                    os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            _fsync_folder(self.path.parent)
        except PermissionError:
            raise WorkbookError(_("cannot write {path}: permission denied", path=self.path)) from None
        except OSError as e:
            raise WorkbookError(_("cannot write {path}: {error}; the workbook is unchanged", path=self.path,
                                   error=os_problem(e))) from None
        self._seen = Seen(self._stat(), hashlib.sha256(new).digest())
        self._dropdowns = {}


class ReadOnlyWorkbook(WorkbookError):
    """The .xlsx file is read-only: sheetcrm writes nothing to it."""


def _missing(path: Path) -> str:
    """Why a workbook file is not there, and the command that makes it. A bare `sheetcrm init`
    or `sheetcrm demo` makes another file (the config's workbook, demo-crm.xlsx), so the line
    names this path; a new user who ran the demo and then a command without --workbook is told
    where the demo went, not sent to run the demo again."""
    shown = shlex.quote(str(path))
    demo = path.with_name(DEMO_FILE)
    if path.name != DEMO_FILE and demo.is_file():
        return _("{path}: no such workbook; the demo's is {demo}: add `--workbook {demo}` to use it, "
                 "or run `sheetcrm init --workbook {shown}` to create this one",
                 path=path, demo=shlex.quote(str(demo)), shown=shown)
    return _("{path}: no such workbook; run `sheetcrm init --workbook {shown}` to create it "
             "(`sheetcrm demo --workbook {shown}` for a demo)", path=path, shown=shown)


def _refuse_read_only(path: Path) -> None:
    """WorkbookError when the file is read-only. os.replace needs only the folder to be
    writable, and root passes `os.access` whatever the mode: the mode bits say what the
    person meant (chmod 444, the "Read-only" box), so they are read too."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as e:
        raise WorkbookError(_("cannot read {path}: {error}", path=path, error=os_problem(e))) from None
    if not st.st_mode & 0o222 or not os.access(path, os.W_OK):
        raise ReadOnlyWorkbook(_("{path}: the workbook is read-only; sheetcrm writes nothing to it", path=path))


def _replace_if_still(new: Path, path: Path, expected: tuple[int, int, int]) -> None:
    """Put `new` at `path` only if `path` is still the file `expected` describes.

    A plain rename would leave a window between the last check and the rename in which a
    person's save is silently replaced. Linux's renameat2(RENAME_EXCHANGE) swaps the two names
    atomically, so the file that was at `path` at the very instant of the swap ends up at `new`'s
    name, where it is checked: if it is not the expected one, a save landed in between, and a
    second swap puts it back (WorkbookConflict). Where the call does not exist (other systems,
    file systems without it), a rename after the check is the best there is.
    """
    if _exchange(new, path):
        st = os.stat(new)
        if (st.st_size, st.st_mtime_ns, st.st_ino) != expected:
            _exchange(new, path)  # theirs back in place; ours goes with the temp file
            raise WorkbookConflict(_(CONFLICT, path=path))
        os.unlink(new)
        return
    os.replace(new, path)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (renameat2 with RENAME_EXCHANGE); False where unsupported."""
    renameat2 = _renameat2()
    if renameat2 is None:
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(b))


@functools.cache
def _renameat2():
    if sys.platform != "linux":
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None


# What os.link raises where a file system has no hard links (FAT, exFAT, some network shares).
_NO_HARD_LINKS = {errno.EPERM, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS, errno.EMLINK, errno.EXDEV}

# A save in progress: how recent a change makes a partial package one, how long a read waits
# for the file to hold still, and how often it looks.
SAVING_SECONDS = 3.0
CHANGING_SECONDS = 30.0
POLL_SECONDS = 0.05
_ZIP_START, _ZIP_END = b"PK\x03\x04", b"PK\x05\x06"


def _partial_package(data: bytes) -> bool:
    """Whether `data` is an empty file or a zip package cut before its end record (the
    end-of-central-directory record, written last, with its comment of up to 65,535 bytes):
    what a file being rewritten in place holds for a moment. Not a zip at all is not partial."""
    if not data:
        return True
    if not data.startswith(_ZIP_START):
        return False
    at = data.rfind(_ZIP_END, max(0, len(data) - 22 - 0xFFFF))
    return at < 0 or at + 22 + int.from_bytes(data[at + 20:at + 22], "little") != len(data)


@dataclass(frozen=True)
class Seen:
    """A version of the file: (size, mtime_ns, inode) and the SHA-256 of its bytes."""

    stat: tuple[int, int, int]
    digest: bytes


def _by_content(data: bytes, plan: Plan, tabs: set[str]) -> tuple[list[CellWrite], dict[str, list[int]]]:
    """The plan's replacements as writes keyed by the cell holding the text they replace, and
    the rows its deletes remove (1-based, by tab): each the row that holds what it expects, the
    one planned while it does, else the one row that does; none when no single row does."""
    tabs_needed = ({r.tab for r in plan.replacements} | {d.tab for d in plan.deletes}) & tabs
    if not tabs_needed:
        return [], {}
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheet_of = _sheet_parts(z, xlsx_patch.sheet_parts(z), [m.name for m in book.sheets_metadata])
        grids = {t: _decode(book, t, data, z, sheet_of) for t in tabs_needed}
    writes = []
    for rep in plan.replacements:
        grid = grids.get(rep.tab)
        for r in range(1, len(grid.rows) if grid else 0):
            if grid.cell(r, rep.col - 1) == rep.find:
                writes.append(CellWrite(rep.tab, r + 1, rep.col, rep.replace, expect=((rep.col, rep.find),)))
    doomed: dict[str, list[int]] = {}
    for d in plan.deletes:
        grid = grids.get(d.tab)
        if grid is None or not d.expect:
            continue

        def holds(r: int) -> bool:
            return all(same_value(grid.cell(r, c - 1), v) for c, v in d.expect)

        found = [d.row - 1] if holds(d.row - 1) else [r for r in range(1, len(grid.rows)) if holds(r)]
        if len(found) == 1 and found[0] + 1 not in doomed.get(d.tab, []):
            doomed.setdefault(d.tab, []).append(found[0] + 1)
    return writes, doomed


CONFLICT = N_("{path} was saved by someone else while sheetcrm was working on it; nothing was written")
GONE = N_("{path}: the workbook is no longer there (moved, renamed or deleted since sheetcrm read it); put it back, "
          "or name the place it went (the config's workbook, --workbook) and start again")


MIXED_PREFIXES = N_("{path}: its part {part} names its elements in a way sheetcrm cannot read safely (a namespace "
                    "prefix mixed with other namespaces); save the workbook once in Excel or LibreOffice and sync again")
# A refused rebuild names what blocks the patch (the cell, else the tab) and what the person
# can do: a formula filled down from a cell sheetcrm writes stays in an app's save, so clearing
# it is the way; a part laid out unusually is laid out anew by any save of Excel or LibreOffice.
REBUILD_REFUSED = N_("{path}: nothing written: the workbook is stored in a way sheetcrm cannot change in place, and "
                     "saving it whole again would lose its {things}; open it in Excel or LibreOffice, save it once, "
                     "and sync again")
REBUILD_REFUSED_TAB = N_("{path}: nothing written: the tab {tab} is stored in a way sheetcrm cannot change in place, "
                         "and saving the whole workbook again would lose its {things}; open it in Excel or "
                         "LibreOffice, save it once, and sync again")
REBUILD_REFUSED_CELL = N_("{path}: nothing written: {tab}!{cell} holds a formula filled down from it (or an array "
                          "formula) and this write replaces that cell, which needs the whole workbook saved again, "
                          "losing its {things}; clear {tab}!{cell} and the cells its formula fills, then sync again")
LOST_ON_TABS = N_("{things} (on {tabs})")


def _refused(path: Path, e: xlsx_patch.NeedsRebuild, kept: list[tuple[str, list[str]]]) -> str:
    things = ", ".join(_(LOST_ON_TABS, things=_(k), tabs=", ".join(tabs)) if tabs else _(k) for k, tabs in kept)
    if e.tab and e.cell:
        return _(REBUILD_REFUSED_CELL, path=path, tab=e.tab, cell=e.cell, things=things)
    if e.tab:
        return _(REBUILD_REFUSED_TAB, path=path, tab=e.tab, things=things)
    return _(REBUILD_REFUSED, path=path, things=things)
CHART_LEFT_OUT = N_("{tab}: chart {title} not added, since the tab's drawing is one sheetcrm cannot add to "
                    "safely; the tab's pictures and shapes are kept as they are")


def _below_totals(tab: str, table: str, first: int, last: int) -> str:
    # A converted lead's rows, a form's lead, a workflow's task... added below a table's Total
    # Row: the table's totals are the team's figures, and they now leave a record out.
    return ngettext("{tab}: row {first} was added below the Total Row of the Excel table {table}, so the table's "
                    "totals, filters and sorts leave it out; to take it in, insert a table row above the Total Row "
                    "and move the row there",
                    "{tab}: rows {first} to {last} were added below the Total Row of the Excel table {table}, so the "
                    "table's totals, filters and sorts leave them out; to take them in, insert as many table rows "
                    "above the Total Row and move the rows there",
                    last - first + 1, tab=tab, table=table, first=first, last=last)


def _patch(writes: list[CellWrite], guides: list[Guide], marks: set[str],
           formats: list[ColumnFormat] = (), created: set[str] = frozenset(),
           own: frozenset[str] = frozenset()) -> xlsx_patch.Patch:
    patch = xlsx_patch.Patch(marks=marks, ours={f.pattern for c in formats for _, _, f in c.rows} | own)
    for c in formats:
        if not c.kept:  # a log's kept figures keep the code they were written under
            patch.restyle.setdefault(c.tab, {})[c.col] = [(first, last, f.pattern) for first, last, f in c.rows]
    code = _codes(formats)
    for w in writes:
        patch.cells.setdefault(w.tab, {})[(w.row, w.col)] = xlsx_patch.CellSpec(
            formula_text(w.value) if w.formula else _clean(w.value), w.formula, code(w.tab, w.row, w.col),
            bold=w.row == 1 and w.tab in created)
    for c in formats:
        if c.width:
            patch.widths.setdefault(c.tab, {})[c.col] = (c.width, c.owned)
    for guide in guides:
        patch.dropdowns[guide.tab] = _dropdown_ranges(guide)
    return patch


def _clean(value):
    # xlsx cannot hold control characters at all; dropping them beats failing the whole sync
    # over one pasted note (xlsx_patch.text_xml drops them too).
    return xlsx_patch.ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _add_tabs(path: Path, data: bytes, plan: Plan, accepted: list[CellWrite], created: list[str],
              patch: xlsx_patch.Patch) -> bytes:
    """The package with the tabs this write creates added, empty, by patch (`xlsx_patch.add_sheets`):
    the header frozen and, for the printed ones, one page wide with the header on every page;
    the placeholder of an empty workbook goes. Their cells are written by `patch`, into which
    go the widths of the tabs the plan gives no formats: each column as wide as its longest
    value (up to MAX_WIDTH)."""
    import openpyxl

    for tab in created:
        try:
            openpyxl.Workbook().create_sheet(tab)  # the titles Excel refuses, as openpyxl knows them
        except ValueError as e:
            raise WorkbookError(_("{path}: cannot create tab {tab}: {error}", path=path, tab=repr(tab),
                                   error=e)) from None
    layouts = {layout.tab: layout for layout in plan.layouts}
    charted = {c.tab for c in plan.charts if c.last_row >= c.first_row}
    sheets = [(tab, xlsx_patch.new_sheet_xml(freeze=tab in layouts,
                                             fit_width=bool(tab in layouts and layouts[tab].fit_width) or tab in charted,
                                             narrow=tab in charted))
              for tab in created]
    printed = [tab for tab in created if tab in layouts and layouts[tab].fit_width]
    laid_out = {c.tab for c in plan.formats}
    for tab in created:
        if tab in laid_out:
            continue
        longest: dict[int, int] = {}
        for w in accepted:
            if w.tab == tab and w.value is not None and w.value != "":
                text = formula_text(w.value) if w.formula else str(w.value)
                longest[w.col] = max(longest.get(w.col, 0), len(text))
        widths = patch.widths.setdefault(tab, {})
        for col, n in longest.items():
            widths.setdefault(col, (min(n + 2, MAX_WIDTH), True))
    return xlsx_patch.add_sheets(data, sheets, printed, drop=PLACEHOLDER_TAB)


def _add_missing_charts(data: bytes, charts: list[Chart], changed: bool) -> tuple[bytes | None, list[str]]:
    """The package with the plan's charts that its tabs do not show yet (by title), drawn by
    openpyxl in a scratch workbook and moved in by patch (`xlsx_patch.add_charts`), and a
    warning line for each tab whose drawing could not take them. None (and no warning) when
    nothing changed: `changed` says whether `data` is already a new version of the file."""
    wanted = [c for c in charts if c.last_row >= c.first_row]
    if not wanted:
        return (data if changed else None), []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = dict(xlsx_patch.sheet_parts(z))
        have = {tab: xlsx_patch.chart_titles(z, parts[tab]) for tab in {c.tab for c in wanted} if parts.get(tab)}
    missing: dict[str, list[Chart]] = {}
    for c in wanted:
        if c.tab in have and c.title not in have[c.tab] and c.title not in {m.title for m in missing.get(c.tab, [])}:
            missing.setdefault(c.tab, []).append(c)
    warnings = []
    for tab, specs in missing.items():
        import openpyxl  # only to draw a chart a tab lacks

        scratch = openpyxl.Workbook()
        ws = scratch.active
        ws.title = tab
        for spec in specs:
            ws.add_chart(_chart(ws, spec), f"{xlsx_patch.column_letter(spec.anchor_col)}1")
        buffer = io.BytesIO()
        scratch.save(buffer)
        try:
            data = xlsx_patch.add_charts(data, {tab: buffer.getvalue()})
            changed = True
        except xlsx_patch.NeedsRebuild:
            warnings.extend(_(CHART_LEFT_OUT, tab=tab, title=spec.title) for spec in specs)
    return (data if changed else None), warnings


def _chart_blocks(charts: list[Chart]) -> dict[str, list[tuple[str, tuple[int, ...], int, int]]]:
    """The plan's charts as `xlsx_patch.fit_chart_ranges` takes them, by tab."""
    out: dict[str, list[tuple[str, tuple[int, ...], int, int]]] = {}
    for c in charts:
        out.setdefault(c.tab, []).append((c.title, (c.domain_col, *c.series_cols), c.first_row, c.last_row))
    return out


def _codes(formats: Iterable[ColumnFormat]) -> Callable[[str, int, int], str | None]:
    """(tab, row, col) -> the number format code the plan's formats give that cell, or None."""
    by_column: dict[tuple[str, int], list[tuple[int, int | None, str]]] = {}
    for c in formats:
        by_column.setdefault((c.tab, c.col), []).extend((first, last, f.pattern) for first, last, f in c.rows)

    def code(tab: str, row: int, col: int) -> str | None:
        for first, last, pattern in by_column.get((tab, col), ()):
            if first <= row and (last is None or row <= last):
                return pattern
        return None

    return code


def _dropdown_ranges(guide: Guide) -> list[tuple[str, str]]:
    """(sqref, formula1) of each dropdown: its column from the row under the header down."""
    return [(f"{xlsx_patch.column_letter(col)}{guide.first_row}:{xlsx_patch.column_letter(col)}{MAX_ROWS}", formula)
            for col, formula in _dropdown_formulas(guide)]


def _dropdown_formulas(guide: Guide) -> list[tuple[int, str]]:
    out = []
    for col, values in guide.dropdowns:
        formula = '"' + ",".join(values).replace('"', '""') + '"'
        if any("," in v for v in values) or len(formula) > MAX_INLINE_LIST:
            continue
        out.append((col, formula))
    return out


def _load(path: Path, data: bytes) -> openpyxl.Workbook:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # rich_text: without it openpyxl reads a cell of runs (a word in bold, in red) as its
        # plain text, and the rebuild saved every such cell of the team's without its formatting.
        return openpyxl.load_workbook(io.BytesIO(data), rich_text=True)
    except _NOT_XLSX + (InvalidFileException,):
        raise _not_xlsx(path, data) from None


def _not_xlsx(path: Path, data: bytes) -> WorkbookError:
    # A zip package cut before its end record is a save that stopped halfway (an app or a script
    # killed mid-save, a full disk) more than SAVING_SECONDS ago: "not an .xlsx" sent people
    # re-exporting a file that only needed saving again.
    if binary := binary_office_problem(path, data):
        return WorkbookError(binary)
    if data and _partial_package(data):
        return WorkbookError(_("{path}: looks half-saved (the file ends before the end of an .xlsx package); save "
                               "it again from your spreadsheet app, or restore a backup, and try again", path=path))
    return WorkbookError(
        _("{path}: not an .xlsx workbook; save it from your spreadsheet app as an Excel workbook (.xlsx)", path=path))


_TIMES = (_dt.time, _dt.timedelta)
_EXACT = float(2**53)  # beyond this a float no longer holds every whole number


def _sheet_parts(z: zipfile.ZipFile, parts: list[tuple[str, str | None]], names: list[str]) -> dict[str, str]:
    """Each tab's worksheet part by calamine's name of it; {} for a package whose tabs the two
    readers map to parts differently (`xlsx_memo.plain`): packing the wrong part would read
    another tab's cells, so such a package is read by calamine alone."""
    if not xlsx_memo.plain(z, parts, names):
        return {}
    return {title: part for title, part in parts if part}


def _decode(book: python_calamine.CalamineWorkbook, name: str, data: bytes, z: zipfile.ZipFile,
            sheet_of: dict[str, str]) -> Grid:
    """The tab `name` of the package `data` (open as `z`; `sheet_of` from `_sheet_parts`) as a
    Grid. A sheet whose cells lie sparse over a large area (a stray cell at XFD1048576) is read
    packed (`xlsx_sparse`), in memory that grows with its cells: calamine alone would allocate
    the whole rectangle up to the far cell, and abort the process when it cannot."""
    part = sheet_of.get(name)
    if part is not None and xlsx_sparse.worth_a_look(z, part):
        xml = z.read(part)
        if xlsx_sparse.is_sparse(xml):
            rows = xlsx_sparse.sparse_rows(data, part, name, xml, set(sheet_of.values()))
            if rows is not None:
                times: dict[tuple[int, int], float] = {}
                grid = _typed(rows, times)
                _show_times(grid, times, z, part)
                _show_digits(grid, z, part)
                return grid
        del xml
    times = {}
    grid = _grid(book.get_sheet_by_name(name).to_python(skip_empty_area=False), times)
    _show_times(grid, times, z, part)
    _show_digits(grid, z, part)
    return grid


def _show_digits(grid: Grid, z: zipfile.ZipFile, part: str | None) -> None:
    """`grid.codes`: the text each whole number whose number format pads it with zeros shows
    (`numformat.show_digits`: 8001 under `00000` is "08001"). A postal code or an account
    number read as the number would lose the zeros a person sees."""
    if part is None:
        return
    rows = grid.rows
    for (r, c), code in xlsx_scan.digit_codes(z, part).items():
        if r < len(rows) and c < len(rows[r]) and (v := rows[r][c]).__class__ is int \
                and (text := numformat.show_digits(v, code)) is not None:
            grid.codes[(r, c)] = text


def _show_times(grid: Grid, times: dict[tuple[int, int], float], z: zipfile.ZipFile, part: str | None) -> None:
    """Each time or duration cell of `grid` (`times`: position -> its number of days) as its
    number format shows it; the sheet's XML is read for their styles only when it has one."""
    if not times or part is None:
        return
    codes = xlsx_scan.time_codes(z, part, set(times))
    for (r, c), code in codes.items():
        if (text := numformat.show_time(times[(r, c)], code)) is not None:
            grid.rows[r][c] = text


def _time_text(v: _dt.time | _dt.timedelta, times: dict[tuple[int, int], float] | None, r: int, c: int) -> str:
    """A time of day or a duration as text until its format is known (`_show_times`): never
    Python's own ("1 day, 12:00:00")."""
    if isinstance(v, _dt.timedelta):
        days = v / _dt.timedelta(days=1)
        text = numformat.show_time(days, "[h]:mm:ss") if days >= 0 else str(v)
    else:
        days = (v.hour * 3600 + v.minute * 60 + v.second + v.microsecond / 1e6) / 86400
        text = numformat.show_time(days, "hh:mm:ss")
    if times is not None:
        times[(r, c)] = days
    return text or str(v)


def _typed(rows: list[list[object]], times: dict[tuple[int, int], float] | None = None) -> Grid:
    """`xlsx_sparse.sparse_rows`'s rows typed as `_grid` types calamine's, cell by cell (they
    are few; the empty rows are one shared list, never changed)."""
    for r, row in enumerate(rows):
        if row is xlsx_sparse.EMPTY_ROW:
            continue
        for c, v in enumerate(row):
            if v.__class__ is float and v.is_integer() and -_EXACT < v < _EXACT:
                row[c] = int(v)
            elif isinstance(v, _TIMES):
                row[c] = _time_text(v, times, r, c)
    share_text([row for row in rows if row])  # type: ignore[arg-type]
    return Grid(rows=rows)  # type: ignore[arg-type]


def _grid(rows: list[list[object]], times: dict[tuple[int, int], float] | None = None) -> Grid:
    """Calamine's rows as sheetcrm's cell values (see the module docstring): "" is an empty
    cell, a whole float an int (xlsx stores every number as a float; 40 was typed as 40), a
    time or duration its text (`_time_text`; `times` collects where they are, with their
    number of days); trailing empty cells and rows are dropped; equal texts are one object
    (`share_text`).

    The rows are changed in place (no second copy of the tab), and Python touches only the
    cells that change: the empty ones, found by C-level scans (`in`, `index`), and the numbers
    and times, looked for only in the columns whose set of types (taken in C) holds them."""
    for row in rows:
        blanks_to_none(row)
    for c, column in enumerate(itertools.zip_longest(*rows)):
        kinds = set(map(type, column))
        if float in kinds:
            for r, v in enumerate(column):
                if v.__class__ is float and v.is_integer() and -_EXACT < v < _EXACT:
                    rows[r][c] = int(v)
        if any(issubclass(kind, _TIMES) for kind in kinds):
            for r, v in enumerate(column):
                if isinstance(v, _TIMES):
                    rows[r][c] = _time_text(v, times, r, c)
    for row in rows:
        if row and row[-1] is None:
            end = len(row) - 1
            while end and row[end - 1] is None:
                end -= 1
            del row[end:]
    while rows and not rows[-1]:
        rows.pop()
    share_text(rows)  # type: ignore[arg-type]
    return Grid(rows=rows)  # type: ignore[arg-type]


def _add_facts(tabs: dict[str, Grid], facts: dict[str, xlsx_scan.SheetFacts]) -> None:
    """Put on each grid what its cells show beyond their values: formula cells, error
    results, percent and currency formats and merged blocks (see `xlsx_scan`)."""
    for title, found in facts.items():
        grid = tabs.get(title)
        if grid is None:
            continue
        grid.formulas, grid.percent, grid.merges = found.formulas, found.percent, found.merges
        if found.percent_codes:
            grid.percent = found.percent | {(r, c) for (r, c), code in found.percent_codes.items()
                                            if numformat.shows_percent(code, grid.cell(r, c))}
        grid.currency = found.currency
        grid.errors = found.errors
        grid.totals = found.totals
        # Only a date cell shows a date format; a number or text under one shows itself.
        grid.date_formats = {(r, c): code for (r, c), code in found.date_formats.items()
                             if r < len(grid.rows) and c < len(grid.rows[r]) and isinstance(grid.rows[r][c], _dt.date)}
        for (r, c), decimals in found.moments.items():
            if isinstance(v := grid.cell(r, c), _dt.datetime):
                grid.rows[r][c] = numformat.shown_moment(v, decimals)
        for r, c in found.errors:
            # calamine reports an error as "", so the row is already None there (or trimmed).
            if r < len(grid.rows) and c < len(grid.rows[r]):
                grid.rows[r][c] = None


def _owned(data: bytes) -> set[str]:
    """Titles of the tabs carrying sheetcrm's mark (see xlsx_patch)."""
    try:
        return xlsx_patch.marked_tabs(data)
    except _NOT_XLSX:
        return set()


# Excel reads the list of an inline dropdown as one formula of at most 255 characters, with
# commas between the values; a longer list, or a value with a comma, and Excel reports the file damaged.
MAX_INLINE_LIST = 255
MAX_WIDTH = 40  # characters: a long note must not push the chart off the page
MAX_ROWS = 1_048_576  # the last row of an xlsx sheet: a dropdown covers the rows people add later
# Marks the dropdowns sheetcrm made, so a write replaces its own and leaves the team's alone.
DROPDOWN_MARK = xlsx_patch.DROPDOWN_MARK


def _add_charts(sheets: dict, charts: list[Chart]) -> None:
    for spec in charts:
        ws = sheets.get(spec.tab)
        # A block without rows has nothing to draw; a later sync adds the chart once it has.
        if ws is None or spec.last_row < spec.first_row or spec.title in _chart_titles(ws):
            continue
        ws.add_chart(_chart(ws, spec), f"{xlsx_patch.column_letter(spec.anchor_col)}1")
        # One page wide, landscape, narrow side margins: a printout or PDF shows the chart
        # beside its table at close to full size.
        _print_one_page_wide(ws)
        ws.page_margins.left = ws.page_margins.right = 0.4
        if not ws.column_dimensions:
            _fit_widths(ws, max(spec.series_cols))


def _print_one_page_wide(ws) -> None:
    """Landscape, every column on one page's width, as many pages down as the rows need."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _apply_formats(sheets: dict, formats: list[ColumnFormat], own: frozenset[str] = frozenset()) -> None:
    """The plan's column formats on a workbook going through openpyxl: a number or date cell
    showing General, or another of sheetcrm's codes (`own`: those of any currency and
    language), gets its format; a column gets its width where it has none of its own, or, on
    sheetcrm's tabs, where it is narrower."""
    ours = {f.pattern for c in formats for _, _, f in c.rows} | own
    for c in formats:
        ws = sheets.get(c.tab)
        if ws is None:
            continue
        for first, last, f in c.rows:
            top = min(last if last is not None else ws.max_row, ws.max_row)
            for row in ws.iter_rows(min_row=first, max_row=top, min_col=c.col, max_col=c.col):
                cell = row[0]
                if isinstance(cell.value, (int, float, _dt.date)) and not isinstance(cell.value, bool) \
                        and cell.data_type != "f" \
                        and (cell.number_format == "General" or (cell.number_format in ours and not c.kept)
                             or (numformat.is_percent_format(f.pattern)
                                 and not numformat.is_percent_format(cell.number_format))) \
                        and cell.number_format != f.pattern:
                    cell.number_format = f.pattern
        if c.width:
            letter = xlsx_patch.column_letter(c.col)
            # Looking a column up creates it with openpyxl's default width, so ask first.
            have = ws.column_dimensions[letter].width if letter in ws.column_dimensions else 0
            if not have or (c.owned and have < c.width):
                ws.column_dimensions[letter].width = c.width


def _apply_layouts(sheets: dict, layouts: list[TabLayout], created: set[str]) -> None:
    """sheetcrm's tabs: the header row bold (on the tabs this write creates) and frozen, and
    printed one page wide with the header row on every page."""
    for layout in layouts:
        ws = sheets.get(layout.tab)
        if ws is None:
            continue
        if ws.freeze_panes is None:
            ws.freeze_panes = "A2"
        if layout.fit_width:
            _print_one_page_wide(ws)
            if not ws.print_title_rows:
                ws.print_title_rows = "1:1"


def _chart(ws, spec: Chart):
    from openpyxl.chart import BarChart, LineChart, Reference

    chart = {"column": BarChart, "line": LineChart}[spec.kind]()
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
        letter = xlsx_patch.column_letter(col)
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
    from openpyxl.worksheet.datavalidation import DataValidation

    for guide in guides:
        ws = sheets.get(guide.tab)
        if ws is None:
            continue
        validations = ws.data_validations.dataValidation
        validations[:] = [v for v in validations if v.errorTitle != DROPDOWN_MARK]
        wanted = _dropdown_ranges(guide)
        # Not over the cells a team's validation covers: Excel reports overlapping ones as damage.
        for sqref, formula in xlsx_patch.leave_theirs(wanted, [str(v.sqref) for v in validations]):
            # A warning, not a stop: sheetcrm also reads aliases and any capitalisation, and
            # the Validation tab reports what it cannot read.
            dropdown = DataValidation(type="list", formula1=formula, allow_blank=True, showErrorMessage=True,
                                      errorStyle="warning", errorTitle=DROPDOWN_MARK,
                                      error=_(xlsx_patch.DROPDOWN_ERROR))
            dropdown.add(sqref)
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
