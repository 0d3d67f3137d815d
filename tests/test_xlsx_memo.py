"""The .xlsx grid memo (workbook/xlsx_memo.py): a read decodes only the sheets whose bytes, or
the bytes of the parts every sheet reads through, changed since the last read, and what it
returns is exactly what a read without the memo returns, whichever part of the file changed
and however (sheetcrm's own patch, an app's whole save, or a change to a shared part alone)."""

from __future__ import annotations

import datetime as dt
import io
import random
import re
import zipfile

import openpyxl
import pytest

from sheetcrm.workbook import CellWrite, Plan
from sheetcrm.workbook import xlsx_memo, xlsx_patch
from sheetcrm.workbook.xlsx import XlsxWorkbook

TABS = ("Leads", "Deals", "Notes")


def _write_book(path) -> None:
    """Three tabs of shared strings, whole and fractional numbers, dates, a percent format, a
    formula, and a merged block: every kind of fact a read puts on a grid."""
    wb = openpyxl.Workbook()
    leads = wb.active
    leads.title = "Leads"
    leads.append(["Name", "Company", "Created", "Score"])
    for i in range(30):
        leads.append([f"Person {i}", f"Co {i % 7}", dt.date(2026, 1, 1 + i % 28), i * 1.5])
    deals = wb.create_sheet("Deals")
    deals.append(["Deal", "Amount", "Probability", "Weighted"])
    for i in range(20):
        deals.append([f"Deal {i}", 1000 + i, 0.25, f"=B{i + 2}*C{i + 2}"])
        deals.cell(i + 2, 3).number_format = "0%"
    notes = wb.create_sheet("Notes")
    notes.append(["Note", "When"])
    notes.append(["Merged note", dt.datetime(2026, 3, 4, 10, 30)])
    notes.merge_cells("A3:B3")
    notes["A3"] = "Across two columns"
    wb.save(path)
    _share_strings(path)


_INLINE = re.compile(rb'<c ([^>]*?)t="inlineStr"([^>]*)><is><t>([^<]*)</t></is></c>')
_SST = b'<?xml version="1.0" encoding="UTF-8"?>\n' \
    b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">%s</sst>'


def _share_strings(path) -> None:
    """The text cells as Excel and LibreOffice save them, indexes into `xl/sharedStrings.xml`
    (this openpyxl writes inline strings), so a change to that part alone can be tried."""
    strings: dict[bytes, int] = {}

    def share(m: re.Match) -> bytes:
        index = strings.setdefault(m[3], len(strings))
        return b'<c %st="s"%s><v>%d</v></c>' % (m[1], m[2], index)

    out = io.BytesIO()
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.startswith("xl/worksheets/sheet"):
                data = _INLINE.sub(share, data)
            elif info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdSst" Target="sharedStrings.xml" '
                                    b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
                                    b'sharedStrings"/></Relationships>')
            elif info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
            zout.writestr(info.filename, data)
        items = b"".join(b"<si><t>%s</t></si>" % text for text in strings)
        zout.writestr("xl/sharedStrings.xml", _SST % (len(strings), len(strings), items))
    path.write_bytes(out.getvalue())


def _fresh(path):
    """What a read without a memo returns."""
    return XlsxWorkbook(path).read()


def _same(got, want) -> None:
    assert list(got.tabs) == list(want.tabs)
    for title in want.tabs:
        assert got.tabs[title] == want.tabs[title], title
    assert got.hidden == want.hidden and got.owned == want.owned


def _rezip(path, member: str, change) -> None:
    """Change one member of the package in place, every other member's bytes kept."""
    data = path.read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        old = z.read(member)
    new = change(old)
    assert new != old, member
    path.write_bytes(xlsx_patch.rewrite_zip(data, {member: new}))


def _part(path, title: str) -> str:
    with zipfile.ZipFile(path) as z:
        return dict(xlsx_patch.sheet_parts(z))[title]


@pytest.fixture
def book(tmp_path):
    path = tmp_path / "crm.xlsx"
    _write_book(path)
    book = XlsxWorkbook(path)
    book.remember_grids(tmp_path / "cache" / ("a" * 24 + xlsx_memo.SUFFIX))
    return book


def test_an_unchanged_file_is_decoded_once_and_read_the_same(book) -> None:
    first = book.read()
    assert book.grid_memo.decoded == list(TABS)
    again = book.read()
    assert book.grid_memo.decoded == []
    _same(again, _fresh(book.path))
    _same(again, first)
    # A new process (a new workbook object) finds the memo in its file.
    other = XlsxWorkbook(book.path)
    other.remember_grids(book.grid_memo.path)
    _same(other.read(), first)
    assert other.grid_memo.decoded == []


def test_a_patched_cell_decodes_only_its_sheet(book) -> None:
    book.read()
    XlsxWorkbook(book.path).write(Plan(writes=[CellWrite("Deals", 3, 2, 5555)]))
    got = book.read()
    assert book.grid_memo.decoded == ["Deals"]
    assert got.tabs["Deals"].rows[2][1] == 5555
    _same(got, _fresh(book.path))


def test_a_change_to_a_part_every_sheet_reads_through_decodes_them_all(book) -> None:
    """The sheet parts keep their bytes, yet what their cells mean changed: each change is seen
    (a key of the sheet part alone would return the old values)."""
    book.read()
    changes = [
        # Another text behind a shared string index: a cell of Leads reads differently.
        ("xl/sharedStrings.xml", lambda xml: xml.replace(b">Co 3<", b">Company Three<", 1)),
        # The percent format becomes a date format: Probability reads as a date, not 0.25.
        ("xl/styles.xml", lambda xml: re.sub(rb'numFmtId="9"', b'numFmtId="14"', xml, count=1)),
        # The 1904 date system: every date moves four years.
        ("xl/workbook.xml", lambda xml: xml.replace(b"<workbookPr", b'<workbookPr date1904="1"', 1)),
    ]
    for member, change in changes:
        want_before = _fresh(book.path)
        _rezip(book.path, member, change)
        got = book.read()
        assert book.grid_memo.decoded == list(TABS), member
        want = _fresh(book.path)
        _same(got, want)
        assert any(got.tabs[t] != want_before.tabs[t] for t in TABS), member  # the change did matter
        book.read()
        assert book.grid_memo.decoded == []


def test_an_edit_of_one_sheet_part_alone_decodes_that_sheet(book) -> None:
    book.read()
    _rezip(book.path, _part(book.path, "Leads"), lambda xml: re.sub(rb"<v>1.5</v>", b"<v>2.75</v>", xml, count=1))
    got = book.read()
    assert book.grid_memo.decoded == ["Leads"]
    assert got.tabs["Leads"].rows[2][3] == 2.75
    _same(got, _fresh(book.path))


def test_random_edits_read_the_same_with_and_without_the_memo(book) -> None:
    """Sixty edits of every kind, in a random order: after each, the memo's read is the fresh
    read, tab by tab and fact by fact."""
    rng = random.Random(16)
    book.read()

    def patch() -> None:
        tab = rng.choice(TABS)
        value = rng.choice([rng.randint(-10**6, 10**6), rng.random() * 100, f"text {rng.random()}",
                            dt.date(2020, 1, 1) + dt.timedelta(days=rng.randint(0, 3000)), None])
        XlsxWorkbook(book.path).write(Plan(writes=[CellWrite(tab, rng.randint(2, 12), rng.randint(1, 4), value)]))

    def app_save() -> None:
        wb = openpyxl.load_workbook(book.path)
        ws = wb[rng.choice(TABS)]
        ws.cell(rng.randint(2, 15), rng.randint(1, 3)).value = rng.choice(["App edit", 42, 0.5])
        if rng.random() < 0.3:
            wb[rng.choice(TABS)].sheet_state = rng.choice(["hidden", "visible"])
        wb.save(book.path)

    def shared_string() -> None:
        with zipfile.ZipFile(book.path) as z:
            shared = "xl/sharedStrings.xml" in z.NameToInfo
        if not shared:  # openpyxl's save made them inline
            _share_strings(book.path)
            return
        n = rng.randint(0, 20)
        _rezip(book.path, "xl/sharedStrings.xml",
               lambda xml: re.sub(rb"<t>Person " + str(n).encode() + rb"</t>", b"<t>Renamed " + str(n).encode()
                                  + b"</t>", xml) if b"<t>Person %d</t>" % n in xml else xml + b" ")

    def sheet_value() -> None:
        tab = rng.choice(TABS)
        _rezip(book.path, _part(book.path, tab),
               lambda xml: re.sub(rb"<v>(\d+)</v>", lambda m: b"<v>%d</v>" % (int(m[1]) + 1), xml, count=1)
               if re.search(rb"<v>\d+</v>", xml) else xml + b" ")

    edits = [patch, app_save, shared_string, sheet_value]
    for _ in range(60):
        rng.choice(edits)()
        _same(book.read(), _fresh(book.path))


def test_a_damaged_or_foreign_memo_file_is_a_full_decode(book) -> None:
    book.read()
    path = book.grid_memo.path
    for damage in (b"\x80\x05not a pickle", b""):
        path.write_bytes(damage)
        other = XlsxWorkbook(book.path)
        other.remember_grids(path)
        _same(other.read(), _fresh(book.path))
        assert other.grid_memo.decoded == list(TABS)
    # Entries of another version of the code are never used, even with matching keys.
    entries = xlsx_memo.load(path)
    assert entries
    import pickle

    path.write_bytes(pickle.dumps(("another version", entries)))
    other = XlsxWorkbook(book.path)
    other.remember_grids(path)
    other.read()
    assert other.grid_memo.decoded == list(TABS)


def test_a_memo_is_only_what_the_last_read_saw(book) -> None:
    book.read()
    XlsxWorkbook(book.path).write(Plan(writes=[CellWrite("Notes", 2, 1, "Changed")]))
    book.read()
    assert len(xlsx_memo.load(book.grid_memo.path)) == len(TABS)  # the old Notes entry is gone


def test_an_entry_of_another_shape_is_a_sheet_to_decode(book) -> None:
    """An entry that unpickles, but not to what a read keeps (a Grid and its dropdowns), is
    decoded again, never unpacked into a traceback or a wrong tab."""
    import pickle

    book.read()
    path = book.grid_memo.path
    entries = xlsx_memo.load(path)
    xlsx_memo.save(path, {key: pickle.dumps(odd) for key, odd in zip(entries, ["a grid?", (1, 2, 3), ([], [])])})
    other = XlsxWorkbook(book.path)
    other.remember_grids(path)
    _same(other.read(), _fresh(book.path))
    assert other.grid_memo.decoded == list(TABS)


def test_a_memo_that_cannot_be_saved_costs_decoding_never_an_error(tmp_path) -> None:
    path = tmp_path / "crm.xlsx"
    _write_book(path)
    blocked = tmp_path / "a file, not a folder"
    blocked.write_text("x")
    book = XlsxWorkbook(path)
    book.remember_grids(blocked / ("a" * 24 + xlsx_memo.SUFFIX))
    for _ in range(2):
        _same(book.read(), _fresh(path))
        assert book.grid_memo.decoded == list(TABS)


_WB, _RELS = "xl/workbook.xml", "xl/_rels/workbook.xml.rels"
_WORKSHEET = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"


def _add_member(path, name: str, data: bytes) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(path) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
        zout.writestr(name, data)
    path.write_bytes(out.getvalue())


def _second_workbook_part(path) -> None:
    """`_rels/.rels` names xl/book2.xml (a copy whose relationships swap Leads' and Deals'
    parts) while xl/workbook.xml, the part calamine reads whatever the relationships say, stays."""
    with zipfile.ZipFile(path) as z:
        book, rels = z.read(_WB), z.read(_RELS)
    swapped = rels.replace(b"sheet1.xml", b"TMP").replace(b"sheet2.xml", b"sheet1.xml").replace(b"TMP", b"sheet2.xml")
    _add_member(path, "xl/book2.xml", book)
    _add_member(path, "xl/_rels/book2.xml.rels", swapped)
    _rezip(path, "_rels/.rels", lambda x: x.replace(b"xl/workbook.xml", b"xl/book2.xml"))


def _odd_tab_on(member: bytes):
    """A hidden tab whose worksheet relationship aims at a part every sheet reads."""
    def change(path) -> None:
        _rezip(path, _WB, lambda x: x.replace(b"</sheets>", b'<sheet name="Odd" sheetId="9" state="hidden" r:id="rIdX"/>'
                                                           b"</sheets>"))
        _rezip(path, _RELS, lambda x: x.replace(b"</Relationships>", b'<Relationship Id="rIdX" Type="' + _WORKSHEET
                                                + b'" Target="' + member + b'"/></Relationships>'))
    return change


# Packages whose tabs two readers could map to parts differently (found by an attack on purpose;
# no spreadsheet app writes them): the memo must not be used for them at all.
NOT_PLAIN = {
    "a <sheet> in an XML comment": lambda p: _rezip(p, _WB, lambda x: x.replace(
        b"</sheets>", b'<!-- <sheet name="Leads" sheetId="9" r:id="rId2"/> --></sheets>')),
    "two tabs of one title": lambda p: _rezip(p, _WB, lambda x: x.replace(b'name="Deals"', b'name="Leads"')),
    "a second id attribute": lambda p: _rezip(p, _WB, lambda x: x.replace(
        b'state="visible" r:id="rId1"', b'state="visible" x:id="rId2" r:id="rId1"').replace(
        b"<workbook ", b'<workbook xmlns:x="urn:x" ', 1)),
    "a title by character reference": lambda p: _rezip(p, _WB, lambda x: x.replace(
        b'name="Leads"', "name=\"\u20ac\"".encode()).replace(b'name="Deals"', b'name="&#128;"')),
    "a second workbook part": _second_workbook_part,
    "a worksheet aimed at the workbook part": _odd_tab_on(b"/xl/workbook.xml"),
    "a worksheet aimed at the styles": _odd_tab_on(b"styles.xml"),
    "a worksheet aimed at the shared strings": _odd_tab_on(b"sharedStrings.xml"),
}


@pytest.mark.parametrize("odd", NOT_PLAIN, ids=list(NOT_PLAIN))
def test_a_package_read_two_ways_is_decoded_whole_every_time(tmp_path, odd) -> None:
    path = tmp_path / "crm.xlsx"
    _write_book(path)
    NOT_PLAIN[odd](path)
    book = XlsxWorkbook(path)
    book.remember_grids(tmp_path / ("a" * 24 + xlsx_memo.SUFFIX))
    edits = [
        lambda: None,
        lambda: _rezip(path, "xl/worksheets/sheet2.xml",  # Deals' part as openpyxl names it
                       lambda xml: re.sub(rb"<v>(10\d\d)</v>", lambda m: b"<v>%d</v>" % (int(m[1]) + 7), xml, count=1)),
        lambda: _rezip(path, "xl/sharedStrings.xml", lambda xml: xml.replace(b">Co 3<", b">Company Three<", 1)),
        lambda: _rezip(path, _WB, lambda xml: xml.replace(b"<workbookPr", b'<workbookPr date1904="1"', 1)),
    ]
    for edit in edits:
        edit()
        try:
            want = _fresh(path)
        except Exception as e:  # noqa: BLE001 - a package calamine refuses is refused with the memo too
            with pytest.raises(type(e)):
                book.read()
            continue
        _same(book.read(), want)
        assert set(book.grid_memo.decoded) == set(want.tabs)  # every sheet, every time


def test_a_damaged_entry_is_decoded_and_saved_again(book) -> None:
    import pickle

    book.read()
    path = book.grid_memo.path
    entries = xlsx_memo.load(path)
    damaged = next(iter(entries))
    entries[damaged] = pickle.dumps("not what a read keeps")
    xlsx_memo.save(path, entries)
    book.grid_memo = None
    book.remember_grids(path)
    book.read()
    assert len(book.grid_memo.decoded) == 1
    book.read()
    assert book.grid_memo.decoded == []  # mended by the read that decoded it
