"""An .xlsx whose SpreadsheetML parts name elements with a prefix (`<x:worksheet>`, `<x:c>`), as
the .NET OpenXML SDK writes them, is patched as an unprefixed one would be: before this the
first sync refused every ID as "changed meanwhile" (the patcher's patterns saw no row) and
rebuilt the file through openpyxl; a write into a merged block's hidden cell was let through
(the quick `b"<mergeCell" in xml` test saw no block) and crashed that rebuild."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import openpyxl
import pytest

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook import CellWrite, Plan, WorkbookError, xlsx_patch
from sheetcrm.workbook.xlsx import XlsxWorkbook

AS_OF = dt.date(2026, 4, 1)
MAIN = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
PREFIXED = re.compile(r"xl/(worksheets/sheet\d+|sharedStrings|workbook|styles)\.xml$")


def prefixed(xml: bytes) -> bytes:
    """The part as the OpenXML SDK writes it: the main namespace bound to `x`, every element prefixed."""
    xml = xml.replace(b'xmlns="' + MAIN + b'"', b'xmlns:x="' + MAIN + b'"')
    return re.sub(rb"<(/?)([A-Za-z]\w*)(?=[\s>/])", rb"<\1x:\2", xml)


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def _build(path, prefix: bool) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Accounts"
    ws.append(["ID", "Name", "Owner", "Score"])
    ws.append([None, "Acme", "ana", "=LEN(B2)"])
    ws.append([None, "Note", None])
    ws.merge_cells("B3:C3")
    op = wb.create_sheet("Opportunities")
    op.append(["ID", "Name", "Account", "Owner", "Stage", "Amount", "Close Date"])
    op.append([None, "D1", "Acme", "ana", "Proposal", 100, dt.date(2026, 5, 1)])
    buffer = io.BytesIO()
    wb.save(buffer)
    members = _members(buffer.getvalue())
    # The formula's last result, as Excel leaves it (openpyxl writes none): what a rebuild loses.
    sheet = members["xl/worksheets/sheet1.xml"]
    members["xl/worksheets/sheet1.xml"] = re.sub(rb"<f>LEN\(B2\)</f><v\s*/>|<f>LEN\(B2\)</f><v></v>",
                                                  b"<f>LEN(B2)</f><v>4</v>", sheet)
    assert b"<v>4</v>" in members["xl/worksheets/sheet1.xml"]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, xml in members.items():
            z.writestr(name, prefixed(xml) if prefix and PREFIXED.match(name) else xml)


@pytest.fixture
def books(tmp_path):
    plain, sdk = tmp_path / "plain.xlsx", tmp_path / "sdk.xlsx"
    _build(plain, False)
    _build(sdk, True)
    return XlsxWorkbook(plain), XlsxWorkbook(sdk)


def test_a_write_to_a_prefixed_workbook_is_the_unprefixed_one_with_the_prefix(books):
    plain, sdk = books
    before = _members(sdk.path.read_bytes())
    assert b"<x:sheetData>" in before["xl/worksheets/sheet1.xml"]
    writes = [CellWrite("Accounts", 2, 1, "ACC-0001", expect=[(2, "Acme")]),
              CellWrite("Opportunities", 2, 8, dt.date(2026, 6, 1)),  # a date: a cell format added to styles
              CellWrite("Accounts", 3, 3, "into the merged block")]
    results = []
    for book in books:
        book.read()
        results.append(book.write(Plan(writes=list(writes))))
    assert [w.value for w in results[1].skipped] == ["into the merged block"] == [w.value for w in results[0].skipped]
    assert results[1].written == results[0].written == {"Accounts": 1, "Opportunities": 1}
    want, got = _members(plain.path.read_bytes()), _members(sdk.path.read_bytes())
    changed = {n for n in before if got[n] != before[n]}
    assert changed == {"xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml", "xl/styles.xml"}
    for name in changed:
        assert got[name] == prefixed(want[name]), name
    assert b'<x:c r="D2"><x:f>LEN(B2)</x:f><x:v>4</x:v></x:c>' in got["xl/worksheets/sheet1.xml"]
    assert sdk.read().tabs["Accounts"].cell(1, 0) == "ACC-0001"


def test_the_first_sync_of_a_prefixed_workbook_writes_its_ids_and_keeps_cached_values(books):
    _, sdk = books
    outcome = sync(sdk, Config(), AS_OF)
    assert outcome.result is not None and outcome.result.skipped == []
    after = _members(sdk.path.read_bytes())
    snap = sdk.read()
    assert snap.tabs["Accounts"].cell(1, 0) == "ACC-0001" and snap.tabs["Opportunities"].cell(1, 0) == "OPP-0001"
    # Patched, not rebuilt: the team's formula keeps its last result.
    assert b'<x:c r="D2"><x:f>LEN(B2)</x:f><x:v>4</x:v></x:c>' in after["xl/worksheets/sheet1.xml"]
    assert re.search(rb"<(?!/?x:|\?|/?[\w]+:)[A-Za-z]", after["xl/workbook.xml"]) is None  # every element prefixed
    assert {"Pipeline", "_sheetcrm"} <= snap.owned  # the marks are found in the prefixed workbook part


def test_a_part_that_mixes_a_prefix_with_another_default_namespace_is_not_written_unseen(books):
    _, sdk = books
    members = _members(sdk.path.read_bytes())
    members["xl/worksheets/sheet1.xml"] = members["xl/worksheets/sheet1.xml"].replace(
        b"</x:worksheet>", b'<x:extLst><x:ext uri="{00000000-0000-0000-0000-000000000000}">'
                           b'<note xmlns="urn:team">kept</note></x:ext></x:extLst></x:worksheet>')
    with zipfile.ZipFile(sdk.path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, xml in members.items():
            z.writestr(name, xml)
    before = sdk.path.read_bytes()
    assert sdk.read().tabs["Accounts"].cell(1, 1) == "Acme"
    with pytest.raises(WorkbookError, match=r"xl/worksheets/sheet1\.xml.*cannot read safely"):
        sdk.write(Plan(writes=[CellWrite("Accounts", 2, 1, "ACC-0001", expect=[(2, "Acme")])]))
    assert sdk.path.read_bytes() == before
