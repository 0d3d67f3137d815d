"""The parse cache (sheetcrm/parse_cache.py, issue 16): every output of a sync is the same with
and without it, and only changed rows are validated again.

Two copies of the demo workbook, on a real .xlsx file and on the Sheets emulator (gspread over
HTTP), in English and in Spanish, get the same edits a person makes: a changed cell, an
inserted row, a deleted row, a sorted tab, two rows swapped, a column moved, a cell's number
format alone changed, another day, a changed config (stage aliases and probabilities, a custom
column's declared type, the base currency, the locale) and, for the cached copy, a memo of
another version of sheetcrm and a corrupted cache file. One copy is synced with the caches
beside its lock (the parse memo, the .xlsx grid memo, the learned model's fits), the other
without any; after each sync every cell of every tab of the two workbooks, the
Validation report (every issue) and the plan are compared. The cache's counter shows that a
no-op validates no row and a one-row change one row.
"""

from __future__ import annotations

import datetime as dt
import gc
import pickle
from pathlib import Path

import openpyxl
import pytest
from gspread.utils import rowcol_to_a1

from sheetcrm import cache_file, parse_cache
from sheetcrm.config import Config, CustomField, TabSettings
from sheetcrm.crm.learned import FitCache
from sheetcrm.lock import workbook_key
from sheetcrm.schema import TABS
from sheetcrm.starter import demo_config, write_demo
from sheetcrm.sync import SyncOutcome, plan_sync, sync
from sheetcrm.validate import read_crm, team_config
from sheetcrm.workbook.xlsx import XlsxWorkbook
from sheetcrm.written import BOOK
from test_gsheets import Traced

AS_OF = dt.date(2026, 11, 24)
CONFIG = {"en": {"locale": "en"}, "es": {"locale": "es", "currency": "EUR"}}


def _title(key: str, locale: str) -> str:
    spec = TABS[key]
    return spec.title_es if locale == "es" else spec.title


def _header(key: str, field: str, locale: str) -> str:
    column = next(c for c in TABS[key].columns if c.field == field)
    return column.header_es if locale == "es" else column.header


class Copy:
    """One copy of the demo workbook on a backend, edited the way a person edits it."""

    def __init__(self, kind: str, folder: Path, server, locale: str) -> None:
        self.kind = kind
        folder.mkdir()
        if kind == "xlsx":
            self.path = folder / "crm.xlsx"
            self.book = XlsxWorkbook(self.path)
        else:
            self.server = server
            self.key = server.create_spreadsheet("CRM", {"Sheet1": []})
            self.book = Traced(self.key).book
            if locale == "es":  # a Spanish team's spreadsheet reads typed dates day first, as they type them
                self.book.client.http_client.batch_update(self.key, {"requests": [{"updateSpreadsheetProperties": {
                    "properties": {"locale": "es_ES"}, "fields": "locale"}}]})
        self.data = write_demo(self.book, rows=20, seed=3, today=AS_OF, locale=locale,
                               currency=CONFIG[locale].get("currency", "USD"))

    def cells(self) -> dict[str, tuple[list[list], set]]:
        """Every tab's cells and formula positions, as the backend reads them."""
        snapshot = self.book.read()
        return {title: ([list(r) for r in grid.rows], set(grid.formulas)) for title, grid in snapshot.tabs.items()}

    def _sheet(self, tab: str):
        return self.book.client.open_by_key(self.key).worksheet(tab)

    def set(self, tab: str, row: int, col: int, value) -> None:
        """One cell (1-based)."""
        self.set_cells(tab, {(row, col): value})

    def set_cells(self, tab: str, cells: dict[tuple[int, int], object]) -> None:
        """Cells typed one after another before the next sync, {(row, col): value} (1-based): an
        .xlsx file is opened and saved once for them all (a second of CPU per round trip)."""
        if self.kind == "xlsx":
            wb = openpyxl.load_workbook(self.path)
            for (row, col), value in cells.items():
                wb[tab].cell(row, col).value = value
            wb.save(self.path)
        else:
            for (row, col), value in cells.items():
                self._sheet(tab).update_cell(row, col, value)

    def insert(self, tab: str, row: int, values: list) -> None:
        """A new row typed in above sheet row `row`."""
        if self.kind == "xlsx":
            wb = openpyxl.load_workbook(self.path)
            wb[tab].insert_rows(row)
            for col, value in enumerate(values, 1):
                wb[tab].cell(row, col).value = value
            wb.save(self.path)
        else:
            self.server.insert_rows(self.key, tab, row - 1)
            self._sheet(tab).update(values=[values], range_name=f"A{row}", raw=False)

    def delete(self, tab: str, row: int) -> None:
        if self.kind == "xlsx":
            wb = openpyxl.load_workbook(self.path)
            wb[tab].delete_rows(row)
            wb.save(self.path)
        else:
            self.server.delete_rows(self.key, tab, row - 1)

    def sort(self, tab: str, col: int) -> None:
        """The rows under the header sorted by 1-based column `col` (descending, so the order
        surely changes), whole rows moving."""
        if self.kind == "xlsx":
            wb = openpyxl.load_workbook(self.path)
            ws = wb[tab]
            rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
            rows.sort(key=lambda r: str(r[col - 1] or ""), reverse=True)
            for i, values in enumerate(rows, 2):
                for j, value in enumerate(values, 1):
                    ws.cell(i, j).value = value
            wb.save(self.path)
        else:
            self.server.sort_rows(self.key, tab, col - 1, descending=True)

    def swap(self, tab: str, a: int, b: int) -> None:
        """The contents of sheet rows `a` and `b` swapped, formulas as formulas."""
        if self.kind == "xlsx":
            wb = openpyxl.load_workbook(self.path)
            ws = wb[tab]
            width = ws.max_column
            first, second = ([ws.cell(r, c).value for c in range(1, width + 1)] for r in (a, b))
            for row, values in ((a, second), (b, first)):
                for c, value in enumerate(values, 1):
                    ws.cell(row, c).value = value
            wb.save(self.path)
        else:
            sheet = self._sheet(tab)
            first, second = (sheet.get(f"{r}:{r}", value_render_option="FORMULA") for r in (a, b))
            sheet.batch_clear([f"{a}:{a}", f"{b}:{b}"])
            sheet.update(values=second or [[]], range_name=f"A{a}", raw=False)
            sheet.update(values=first or [[]], range_name=f"A{b}", raw=False)

    def move_column(self, tab: str, col: int, before: int) -> None:
        """Whole column `col` (1-based) moved before column `before`, as a drag moves it."""
        if self.kind == "xlsx":
            wb = openpyxl.load_workbook(self.path)
            ws = wb[tab]
            rows = [[c.value for c in r] for r in ws.iter_rows()]
            for r, values in enumerate(rows, 1):
                values.insert(before - 1, values.pop(col - 1))
                for c, value in enumerate(values, 1):
                    ws.cell(r, c).value = value
            wb.save(self.path)
        else:
            sheet = self._sheet(tab)
            sheet.spreadsheet.batch_update({"requests": [{"moveDimension": {
                "source": {"sheetId": sheet.id, "dimension": "COLUMNS", "startIndex": col - 1, "endIndex": col},
                "destinationIndex": before - 1}}]})

    def number_format(self, tab: str, row: int, col: int, kind: str, pattern: str) -> None:
        """Only the cell's number format changed (its value untouched): `kind` is Google's
        type (PERCENT, DATE, CURRENCY), `pattern` the format both apps write."""
        if self.kind == "xlsx":
            wb = openpyxl.load_workbook(self.path)
            wb[tab].cell(row, col).number_format = pattern
            wb.save(self.path)
        else:
            sheet = self._sheet(tab)
            sheet.format(rowcol_to_a1(row, col), {"numberFormat": {"type": kind, "pattern": pattern}})


@pytest.fixture(params=[("xlsx", "en"), ("xlsx", "es"), ("google", "en"), ("google", "es")],
                ids=lambda p: "-".join(p))
def copies(request, tmp_path):
    kind, locale = request.param
    server = request.getfixturevalue("emu") if kind == "google" else None
    return kind, locale, Copy(kind, tmp_path / "cached", server, locale), Copy(kind, tmp_path / "plain", server, locale)


def _same(cached: Copy, plain: Copy, with_cache: SyncOutcome, without: SyncOutcome) -> None:
    assert with_cache.crm.report.as_dict() == without.crm.report.as_dict()
    assert [i.as_dict() for i in with_cache.crm.report.issues] == [i.as_dict() for i in without.crm.report.issues]
    assert with_cache.crm.stats() == without.crm.stats()
    assert with_cache.plan.cells_by_tab() == without.plan.cells_by_tab()
    assert _writes(with_cache) == _writes(without)
    assert _named(cached.cells()) == _named(plain.cells())


# The number naming an .xlsx workbook's written-cells state is drawn at random, one per
# workbook (written_file.new_id): the two copies have one each, in the same place.
def _writes(outcome: SyncOutcome) -> list[tuple]:
    named = {w.row for w in outcome.plan.writes if w.tab == "_sheetcrm" and w.col == 1 and w.value == BOOK}
    return [(w.tab, w.row, w.col, "a number" if (w.tab, w.col) == ("_sheetcrm", 2) and w.row in named else w.value)
            for w in outcome.plan.writes]


def _named(cells: dict[str, tuple[list[list], set]]) -> dict[str, tuple[list[list], set]]:
    rows, formulas = cells.get("_sheetcrm", ([], set()))
    rows = [[r[0], "a number", *r[2:]] if r and r[0] == BOOK else r for r in rows]
    return {**cells, **({"_sheetcrm": (rows, formulas)} if "_sheetcrm" in cells else {})}


def test_every_output_is_the_same_with_and_without_the_cache(copies, tmp_path) -> None:
    kind, locale, cached, plain = copies
    folder = tmp_path / "cache"
    # The format-only and declared-type edits are split between the four runs so that each one
    # is tried on both backends and in both languages (pairwise), at half the syncs.
    half = (kind == "xlsx") == (locale == "en")
    config = demo_config(Config.model_validate(CONFIG[locale]), cached.data)

    def both(config: Config = config, as_of: dt.date = AS_OF) -> SyncOutcome:
        with_cache = sync(cached.book, config, as_of, cache=folder)
        without = sync(plain.book, config, as_of, cache=False, fit_cache=FitCache())
        assert without.memo is None
        _same(cached, plain, with_cache, without)
        return with_cache

    def settle(config: Config = config, as_of: dt.date = AS_OF) -> None:
        """Sync until nothing changes: what a sync writes into people's rows (an ID, a
        workflow's task) is new input for the next one."""
        for _ in range(4):
            if not both(config, as_of).plan:
                return
        raise AssertionError("the workbook does not settle")

    first = both()
    assert first.memo.parsed > 0 and first.memo.reused < first.memo.parsed  # an empty cache: (nearly) all parsed
    settle()  # the demo settles in three syncs (form responses become leads, workflows act)
    quiet = both()
    assert not quiet.plan
    assert quiet.memo.parsed == 0 and quiet.memo.reused == quiet.crm.stats()["rows"] > 50
    assert set(quiet.memo.recalled) == {"lead_scores", "duplicate_groups"}  # nothing they read changed
    if kind == "xlsx":
        assert cached.book.grid_memo.decoded == []  # no sheet's bytes changed: none decoded again

    leads, company = _title("leads", locale), _header("leads", "company", locale)
    header = cached.cells()[leads][0][0]
    at = header.index(company) + 1
    for copy in (cached, plain):
        copy.set(leads, 3, at, "Initech Renamed")
    changed = both()
    assert changed.memo.parsed == 1
    # That row holds a bad email: no record changed, so the scores are the last sync's; the
    # duplicate groups compare what of such a row reads (its Company too), so they are worked out.
    assert set(changed.memo.recalled) == {"lead_scores"}
    settle()
    for copy in (cached, plain):
        copy.set(leads, 2, at, "Tyrell Renamed")
    renamed = both()
    assert renamed.memo.parsed == 1 and renamed.memo.recalled == []  # a lead changed: scored, compared again
    settle()

    new_lead = [None] * len(header)
    new_lead[header.index(_header("leads", "last_name", locale))] = "Newperson"
    new_lead[header.index(company)] = "Brand New Co"
    for copy in (cached, plain):
        copy.insert(leads, 5, new_lead)
    inserted = both()
    assert inserted.memo.parsed == 1  # the rows below it moved down: reused at their new rows
    settle()

    for copy in (cached, plain):
        copy.delete(leads, 8)
    deleted = both()
    assert deleted.memo.parsed == 0  # the rows below it moved up
    settle()

    for copy in (cached, plain):
        copy.sort(leads, at)
    sorted_ = both()
    assert sorted_.memo.parsed == 0
    settle()

    # Another day: what is computed from the day changes, no row is parsed again.
    later = both(as_of=AS_OF + dt.timedelta(days=40))
    assert later.memo.parsed == 0 and "lead_scores" not in later.memo.recalled
    settle(as_of=AS_OF + dt.timedelta(days=40))
    settle()

    # Two rows' contents swapped, a column dragged elsewhere.
    for copy in (cached, plain):
        copy.swap(leads, 3, 6)
    assert both().memo.parsed == 0
    settle()
    for copy in (cached, plain):
        copy.move_column(leads, at, 2)
    settle()

    # Only a cell's format: a deal's amount shown as a percentage, a date, another currency.
    deals = _title("opportunities", locale)
    amount = cached.cells()[deals][0][0].index(_header("opportunities", "amount", locale)) + 1
    for google_type, pattern in ((("PERCENT", "0%"), ("CURRENCY", '"£"#,##0')) if half else
                                 (("DATE", "yyyy-mm-dd"),)):
        for copy in (cached, plain):
            copy.number_format(deals, 3, amount, google_type, pattern)
        settle()

    # A stage alias the config adds, a probability it changes: the deal's unknown stage reads.
    stage = cached.cells()[deals][0][0].index(_header("opportunities", "stage", locale)) + 1
    for copy in (cached, plain):
        copy.set(deals, 4, stage, "Sent Proposal")
    settle()
    stages = [s.model_copy(update={"aliases": [*s.aliases, "Sent Proposal"], "probability": 77})
              if s.name == "Proposal" else s for s in config.stages]
    aliased = config.model_copy(update={"stages": stages})
    assert both(aliased).memo.parsed > 0
    settle(aliased)

    # A custom column the config then types: the same cells read anew as each type.
    width = len(cached.cells()[leads][0][0])
    for copy in (cached, plain):
        copy.set_cells(leads, {(1, width + 1): "Region Code", **{
            (row, width + 1): value for row, value in zip(range(2, 8), ["1/2", "3/4", "10", "2.5", "1,5", "12%"])}})
    settle(aliased)
    for declared in ("number", "percent") if half else ("text", "date"):
        typed = aliased.model_copy(update={"tabs": {"leads": TabSettings(
            custom_fields={"Region Code": CustomField(type=declared)})}})
        settle(typed)
    settle()

    # A memo saved by another version of sheetcrm: parsed afresh, the same outputs.
    (path,) = folder.glob(f"*{parse_cache.SUFFIX}")
    cache_file.save(path, "another version", cache_file.load(path, parse_cache.code_version()))
    assert both().memo.parsed > 50
    settle()

    # A changed config: another base currency reads every amount anew.
    changed_config = config.model_copy(update={"currency": "GBP"})
    again = both(changed_config)
    assert again.memo.parsed > 0
    both(changed_config)

    # A changed locale: every message and word in the other language.
    other = "es" if locale == "en" else "en"
    relocated = config.model_copy(update={"locale": other})
    moved = both(relocated)
    assert moved.memo.parsed > 0
    assert both(relocated).memo.parsed == 0

    # A corrupted cache file is a full parse, never an error nor a wrong value.
    (path,) = folder.glob(f"*{parse_cache.SUFFIX}")
    path.write_bytes(b"\x80\x05not a pickle at all")
    broken = both(relocated)
    assert broken.memo.parsed == broken.crm.stats()["rows"] - broken.memo.reused
    assert broken.memo.reused < 10  # only identical rows within this read reuse each other
    assert both(relocated).memo.parsed == 0


def _snapshot(tmp_path: Path):
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    data = write_demo(book, rows=20, seed=5, today=AS_OF, locale="en")
    return book, book.read(), demo_config(Config(), data)


def test_a_memo_of_other_code_or_damaged_is_a_full_parse(tmp_path) -> None:
    book, snapshot, config = _snapshot(tmp_path)
    path = parse_cache.memo_path(tmp_path, workbook_key(book))
    memo = parse_cache.RowMemo()
    config = team_config(snapshot, config)
    plain = read_crm(snapshot, config)
    read_crm(snapshot, config, memo=memo)
    assert memo.parsed > 50 and parse_cache.save(path, memo)

    reloaded = parse_cache.load(path)
    assert len(reloaded.previous) == len(memo.current)
    again = read_crm(snapshot, config, memo=reloaded)
    assert reloaded.parsed == 0
    assert [r.record for r in again.tables["leads"].rows] == [r.record for r in plain.tables["leads"].rows]

    # Saved by other code (another version of sheetcrm, pydantic or Python): not used.
    path.write_bytes(pickle.dumps(("another version", memo.current)))
    assert parse_cache.load(path).previous == {}
    for damage in (b"", b"garbage", path.read_bytes()[:100]):
        path.write_bytes(damage)
        assert parse_cache.load(path).previous == {}
    assert parse_cache.load(tmp_path / "missing.rows").previous == {}


def test_the_version_stamp_changes_with_each_library_whose_answers_are_kept() -> None:
    """An upgrade of email-validator changed a kept row's message (and could change its
    verdict): every library whose answer a memo keeps is in the stamp a memo must match."""
    installed = parse_cache.libraries()
    assert set(installed) == {"email-validator", "babel", "phonenumbers", "rapidfuzz", "numpy", "scikit-learn",
                              "lightgbm"} and all(installed.values())
    assert parse_cache.code_version() == parse_cache._stamp(installed)
    for name in installed:
        assert parse_cache._stamp({**installed, name: installed[name] + ".post1"}) != parse_cache.code_version()


def test_a_tab_kept_in_another_shape_under_this_version_is_parsed_not_an_error(tmp_path) -> None:
    """The version stamp is worked out from the files on disk the first time it is used: a
    process still running the code it imported before an upgrade can stamp a memo of the old
    shape with the new version. Such a part is a parse of the tab, never a traceback."""
    _book, snapshot, config = _snapshot(tmp_path)
    config = team_config(snapshot, config)
    plain = read_crm(snapshot, config)
    memo = parse_cache.RowMemo()
    read_crm(snapshot, config, memo=memo)
    name = ("leads", "Leads")
    header, blobs, leftovers, issues = pickle.loads(memo.current[name].blob)
    rows = [r for blob in blobs for r in pickle.loads(blob)[0]]
    for other in ((header, rows, leftovers, issues, []),            # the shape before chunks
                  (header, [pickle.dumps(rows)], leftovers, issues),  # a chunk of another shape
                  (header, [pickle.dumps(([], []))], leftovers, issues),  # an empty chunk
                  (header, [pickle.dumps((rows, 7))], leftovers, issues),  # keys of no length
                  ("header", blobs, leftovers, issues), None, 42):
        memo = memo.fresh()
        memo.previous[name] = parse_cache.TabEntry(memo.previous[name].key, pickle.dumps(other))
        again = read_crm(snapshot, config, memo=memo)
        assert memo.parsed == len(plain.tables["leads"].rows)
        assert [r.record for r in again.tables["leads"].rows] == [r.record for r in plain.tables["leads"].rows]


def test_the_plan_is_the_same_with_a_memo_of_every_row_moved(tmp_path) -> None:
    """Rows taken from the memo at other sheet rows (a sort) get their new row numbers on the
    record and on each issue: the records, the report and the plan are those of a parse."""
    _book, snapshot, config = _snapshot(tmp_path)
    memo = parse_cache.RowMemo()
    plan_sync(snapshot, config, AS_OF, memo=memo)
    grid = snapshot.tabs["Leads"]
    grid.rows[1:] = grid.rows[1:][::-1]
    memo = memo.fresh()
    crm, _results, plan = plan_sync(snapshot, config, AS_OF, memo=memo)
    plain_crm, _results, plain_plan = plan_sync(snapshot, config, AS_OF)
    assert memo.parsed == 0 and memo.reused > 50
    assert [i.as_dict() for i in crm.report.issues] == [i.as_dict() for i in plain_crm.report.issues]
    assert any(i.tab == "Leads" and i.row for i in crm.report.issues)
    for key, table in plain_crm.tables.items():
        assert [(r.row, r.record, r.target) for r in crm.tables[key].rows] == \
            [(r.row, r.record, r.target) for r in table.rows]
    assert plan.writes == plain_plan.writes


def test_a_column_whose_inferred_type_changes_parses_its_unchanged_rows_again() -> None:
    """A custom column's type comes from all its cells (columns.infer_kind): one edited row can
    turn a number column into text, and then the rows that did not change must not keep the
    numbers an earlier parse made of them."""
    from decimal import Decimal

    from sheetcrm.workbook import Grid, Snapshot

    def snapshot(last: str) -> Snapshot:
        rows = [["ID", "Last Name", "Status", "Budget"]]
        rows += [[f"LEAD-{i:03d}", "Doe", "New", str(1000 + i)] for i in range(96)]
        rows += [[f"LEAD-{i:03d}", "Doe", "New", "n/a"] for i in range(96, 99)]
        rows += [["LEAD-099", "Doe", "New", last]]
        return Snapshot({"Leads": Grid(rows)})

    memo = parse_cache.RowMemo()
    numbers = read_crm(snapshot("1099"), Config(), memo=memo)  # 97 % numbers: a number column
    assert numbers.records("leads")[0].custom["Budget"] == Decimal(1000)
    memo = memo.fresh()
    still = read_crm(snapshot("ask Ana"), Config(), memo=memo)  # 96 of 100: still numbers
    assert still.records("leads")[0].custom["Budget"] == Decimal(1000)
    memo = memo.fresh()
    rows = snapshot("ask Ana")
    rows.tabs["Leads"].rows[95][3] = "later"  # 94 of 100: below 95 %, a text column
    rows.tabs["Leads"].rows[94][3] = "soon"
    plain = read_crm(rows, Config())
    cached = read_crm(rows, Config(), memo=memo)
    assert plain.records("leads")[0].custom["Budget"] == "1000"  # text now, as typed
    assert [r.custom for r in cached.records("leads")] == [r.custom for r in plain.records("leads")]
    assert memo.parsed >= 90  # the unchanged rows were validated again under the column's new type


def test_a_changed_tab_pickles_again_only_the_chunks_whose_rows_changed() -> None:
    """A changed tab's parse is kept in chunks of rows (`table.CHUNK`): a chunk whose rows are
    the ones read back from the last parse keeps its bytes; one with a changed row, or a row
    whose other fields changed (its ID cell turned into a formula: same cells, same row key),
    is pickled anew, and what it holds is what a parse without the memo gives."""
    from sheetcrm import table
    from sheetcrm.workbook import Grid, Snapshot

    n = 3 * table.CHUNK + 5
    rows = [["ID", "Last Name", "Status", "Budget"]]
    rows += [[f"LEAD-{i:05d}", "Doe", "New", 1000 + i] for i in range(n)]

    def kept(memo) -> list[bytes]:
        _header, blobs, _leftovers, _issues = pickle.loads(memo.current[("leads", "Leads")].blob)
        return blobs

    def read(snapshot: Snapshot, memo):
        crm = read_crm(snapshot, Config(), memo=memo)
        plain = read_crm(snapshot, Config())
        assert [(r.row, r.id, r.record, r.raw_id, r.target, r.id_fixed) for r in crm.tables["leads"].rows] == \
            [(r.row, r.id, r.record, r.raw_id, r.target, r.id_fixed) for r in plain.tables["leads"].rows]
        return crm

    memo = parse_cache.RowMemo()
    read(Snapshot({"Leads": Grid([list(r) for r in rows])}), memo)
    first = kept(memo)
    assert len(first) == 4

    memo = memo.fresh()
    edited = [list(r) for r in rows]
    edited[table.CHUNK + 10][1] = "Roe"  # a row of the second chunk
    read(Snapshot({"Leads": Grid(edited)}), memo)
    second = kept(memo)
    assert memo.parsed == 1
    assert [a == b for a, b in zip(first, second)] == [True, False, True, True]

    memo = memo.fresh()
    fixed = Grid([list(r) for r in edited], formulas={(2 * table.CHUNK + 3, 0)})
    crm = read(Snapshot({"Leads": fixed}), memo)
    third = kept(memo)
    assert memo.parsed == 0  # the row's cells are the same: its parse is reused, its Row is not
    assert [a == b for a, b in zip(second, third)] == [True, True, False, True]
    assert crm.tables["leads"].rows[2 * table.CHUNK + 2].id_fixed

    memo = memo.fresh()  # and read back whole from the chunks
    again = read(Snapshot({"Leads": Grid([list(r) for r in edited], formulas=set(fixed.formulas))}), memo)
    assert memo.parsed == 0 and memo.reused == n
    assert again.tables["leads"].rows[2 * table.CHUNK + 2].id_fixed


def test_a_result_is_remembered_by_its_inputs_values_not_their_objects() -> None:
    memo = parse_cache.RowMemo()
    calls = []

    def compute(value):
        def run():
            calls.append(value)
            return {"value": value}
        return run

    text = "".join(["Acme", " Corp"])  # built at run time: not the object of the literal below
    assert memo.result("groups", [text, text], compute(1)) == {"value": 1}
    following = memo.fresh()
    # Equal values, other objects (one shared twice before, two distinct now): the same key.
    assert following.result("groups", ["Acme Corp", "".join(["Acme ", "Corp"])], compute(2)) == {"value": 1}
    assert following.recalled == ["groups"] and calls == [1]
    assert following.result("groups", ["Acme Corp", "Acme Corporation"], compute(3)) == {"value": 3}
    assert following.result("scores", ["Acme Corp", "Acme Corp"], compute(4)) == {"value": 4}  # another name
    assert calls == [1, 3, 4]
    # What cannot be pickled is computed each time, never matched by accident.
    assert memo.result("groups", [lambda: None], compute(5)) == {"value": 5}
    assert calls == [1, 3, 4, 5]


def test_the_records_of_a_tab_share_their_set_of_fields_and_a_copy_does_not(tmp_path) -> None:
    """Records that set the same fields share one `model_fields_set` (a third of a record's
    memory), in a fresh parse and read back from the memo; a copy with an update has its own,
    and the others' is unchanged."""
    book, snapshot, config = _snapshot(tmp_path)
    memo = parse_cache.RowMemo()
    fresh = read_crm(snapshot, config, memo=memo)
    again = read_crm(snapshot, config, memo=memo.fresh())
    for crm in (fresh, again):
        leads = crm.records("leads")
        sets = {id(r.model_fields_set) for r in leads}
        assert len(sets) < len(leads) / 2
        first, second = next((a, b) for a, b in zip(leads, leads[1:]) if a.model_fields_set is b.model_fields_set)
        shared = set(second.model_fields_set)
        unset = next(f for f in type(first).model_fields if f not in first.model_fields_set)
        copy = first.model_copy(update={unset: None})
        assert unset in copy.model_fields_set and second.model_fields_set == shared
    assert [r.model_fields_set for r in fresh.records("leads")] == [r.model_fields_set for r in again.records("leads")]


def test_the_records_of_a_tab_share_equal_text_and_keep_other_types_apart(tmp_path) -> None:
    """Equal text values of a tab's records are one str object (a CRM's text repeats: stages,
    owners, sources), in a fresh parse and read back from the memo; the records read the same
    as a parse without the memo, and no value changes type. Every cell's text is first made a
    str of its own, as a reader that does not share text would give it."""
    book, snapshot, config = _snapshot(tmp_path)
    for grid in snapshot.tabs.values():
        grid.rows = [[v.encode().decode() if isinstance(v, str) else v for v in row] for row in grid.rows]
    memo = parse_cache.RowMemo()
    plain = read_crm(snapshot, config)
    fresh = read_crm(snapshot, config, memo=memo)
    again = read_crm(snapshot, config, memo=memo.fresh())
    for crm in (fresh, again):
        leads = crm.records("leads")
        texts = [v for r in leads for v in r.__dict__.values() if v.__class__ is str]
        by_value: dict[str, set[int]] = {}
        for v in texts:
            by_value.setdefault(v, set()).add(id(v))
        repeated = [v for v in by_value if sum(t == v for t in texts) > 1]
        assert repeated and all(len(by_value[v]) == 1 for v in repeated)
        assert [r.model_dump() for r in leads] == [r.model_dump() for r in plain.records("leads")]
        assert [[type(v) for v in r.__dict__.values()] for r in leads] == \
            [[type(v) for v in r.__dict__.values()] for r in plain.records("leads")]


def test_records_read_back_from_the_memo_hold_the_grids_own_text(tmp_path) -> None:
    """A tab recalled from the memo holds no second copy of the text its grid holds: each
    record's text value that its cell holds as the same text is the cell's str object (IDs,
    names, emails: one per row), and so are the row's ID and raw ID; values, types and the
    sharing of equal text within the tab are unchanged."""
    book, snapshot, config = _snapshot(tmp_path)
    memo = parse_cache.RowMemo()
    fresh = read_crm(snapshot, config, memo=memo)
    again = read_crm(snapshot, config, memo=memo.fresh())
    assert memo.parsed > 50
    for key in ("accounts", "contacts", "leads", "opportunities"):
        table, before = again.tables[key], fresh.tables[key]
        assert [r.record.model_dump() if r.record else None for r in table.rows] == \
            [r.record.model_dump() if r.record else None for r in before.rows]
        checked = 0
        for row in table.rows:
            if row.record is None:
                continue
            for name, col in table.header.fields.items():
                value = getattr(row.record, name)
                if value.__class__ is str and col < len(row.cells) and row.cells[col] == value:
                    assert value is row.cells[col], (key, row.row, name)
                    checked += 1
            if row.id is not None and row.raw_id == row.id:
                assert row.id is row.raw_id is row.record.id
        assert checked > len(table.rows)


def test_a_row_pickles_back_with_every_field() -> None:
    """The memo pickles rows as their fields in order (`Row.__reduce__`): every field, set
    away from its default, comes back."""
    import dataclasses

    from sheetcrm.records import Opportunity
    from sheetcrm.table import Row

    values = {"row": 7, "id": "OPP-7", "record": None, "cells": ["x", 1], "assigned": True, "raw_id": " OPP-7",
              "target": None, "id_fixed": True, "appended": True, "unread": frozenset({"name"}),
              "partial": Opportunity.model_construct(row=7, id="OPP-7", stage="Proposal"),
              "fingerprint": ((2, "x"), (3, None))}
    assert set(values) == {f.name for f in dataclasses.fields(Row)}
    back = pickle.loads(pickle.dumps(Row(**values), protocol=5))
    assert {f: getattr(back, f) for f in values} == values


def test_a_record_pickles_back_whole_frozen_and_equal(tmp_path) -> None:
    """The memo pickles records as their fields and set of fields (`Record.__reduce__`): each
    comes back equal, of its class, with the same fields set and custom cells, frozen, and
    the records of a tab still share one set of fields."""
    import pydantic

    _book, snapshot, config = _snapshot(tmp_path)
    crm = read_crm(snapshot, config)
    records = [r for name in crm.tables for r in crm.records(name)]
    assert len({type(r) for r in records}) >= 5
    back = pickle.loads(pickle.dumps(records, protocol=5))
    assert back == records and [type(r) for r in back] == [type(r) for r in records]
    assert [r.model_fields_set for r in back] == [r.model_fields_set for r in records]
    assert [(r.row, r.custom, r.model_dump()) for r in back] == [(r.row, r.custom, r.model_dump()) for r in records]
    assert len({id(r.model_fields_set) for r in back}) < len(back) / 2
    with pytest.raises(pydantic.ValidationError):
        back[0].row = 99
    copy = back[0].model_copy(update={"row": 99})
    assert copy.row == 99 and back[0].row == records[0].row


def _memo_files_open() -> int:
    import os

    found = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        found += target.split(" ")[0].endswith((parse_cache.SUFFIX, ".grids"))
    return found


def test_kept_outcomes_keep_no_memo_file_open(tmp_path) -> None:
    """A loaded memo reads its parts from the file it was loaded from, kept open while a part
    is held; the sync's own save renames another file over it. An outcome keeps its memo for
    the counts only, so a caller that keeps outcomes keeps no memo file (nor a deleted one's
    disk space) open."""
    book = XlsxWorkbook(tmp_path / "crm.xlsx")
    data = write_demo(book, rows=20, seed=5, today=AS_OF, locale="en")
    config = demo_config(Config(), data)
    folder = tmp_path / "cache"
    kept = []
    # Another test in this worker may have left an outcome to the garbage collector: collected
    # first, so that only this test's files are counted.
    gc.collect()
    before = _memo_files_open()
    for n in range(4):
        wb = openpyxl.load_workbook(book.path)
        wb["Leads"]["B2"] = f"Changed {n}"
        wb.save(book.path)
        kept.append(sync(XlsxWorkbook(book.path), config, AS_OF, cache=folder))
        assert _memo_files_open() == before
    assert kept[-1].memo.parsed >= 1 and kept[-1].memo.reused > 10  # the memo was used, and counted
