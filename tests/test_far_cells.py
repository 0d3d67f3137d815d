"""A stray cell far from the data (a value at XFD1048576, a note at Z1048576, a format alone at
the sheet's last corner) costs memory by the cells, not by the rectangle around them, on every
path that decodes a worksheet (found by attack4: `sync` died at XFD1048576 asking for 512 GiB,
`import --dry-run` grew to 24 GB, one note at Z1048576 cost 1.2 GB a sync).

Each command runs in a child process that measures its own peak memory (and has its address
space capped, so the old code fails fast instead of filling the machine), on real .xlsx files.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import openpyxl
import pytest
from openpyxl.styles import Font

from sheetcrm.workbook import xlsx_sparse
from sheetcrm.workbook.xlsx import XlsxWorkbook, _grid

# Far above what these small workbooks need (~100 MB), far below what the rectangle costs.
BOUND_KB = 300 * 1024

DRIVER = """
import resource, runpy, sys
resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))
sys.argv = ["sheetcrm", *sys.argv[1:]]
code = 0
try:
    runpy.run_module("sheetcrm", run_name="__main__")
except SystemExit as e:
    code = e.code
# VmHWM is this process's own peak: ru_maxrss would carry the forking parent's (Linux keeps the
# larger of the two across exec), which is a big pytest worker's in a full run.
with open("/proc/self/status", encoding="ascii") as fh:
    hwm = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
print("PEAK_KB", hwm, file=sys.stderr)
sys.exit(code)
"""


def _run(*args, cwd):
    env = {**os.environ, "LANG": "C"}
    out = subprocess.run([sys.executable, "-c", DRIVER, *args], cwd=cwd, capture_output=True, text=True, env=env,
                         timeout=600)
    peak = [int(line.split()[1]) for line in out.stderr.splitlines() if line.startswith("PEAK_KB")]
    return out, (peak[0] if peak else None)


def _book(path, far=None, styled=None):
    """Opportunities (one deal) and Accounts, with `far` = (row, col, value) and a format alone
    at `styled` = (row, col) on Opportunities."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Opportunities"
    ws.append(["ID", "Name", "Account", "Stage", "Amount", "Close Date"])
    ws.append([None, "Deal A", "Acme", "Proposal", 1000, dt.date(2026, 12, 1)])
    if styled:
        ws.cell(*styled).font = Font(bold=True)
    if far:
        ws.cell(far[0], far[1]).value = far[2]
    accounts = wb.create_sheet("Accounts")
    accounts.append(["ID", "Name"])
    accounts.append([None, "Acme"])
    wb.save(path)
    return path


def _synced(path, tmp_path):
    out, peak = _run("sync", "--workbook", path.name, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert peak is not None and peak < BOUND_KB, f"peak {peak} KB"
    issues, peak = _run("validate", "--workbook", path.name, "--format", "json", cwd=tmp_path)
    assert peak is not None and peak < BOUND_KB, f"peak {peak} KB"
    return json.loads(issues.stdout)["issues"]


def test_a_value_at_the_last_cell_of_the_sheet_is_read_in_little_memory(tmp_path):
    path = _book(tmp_path / "crm.xlsx", far=(1048576, 16384, "x"))
    issues = _synced(path, tmp_path)
    tabs = XlsxWorkbook(path).read().tabs
    opportunities = tabs["Opportunities"].rows
    assert tabs["Accounts"].rows[1] == ["ACC-0001", "Acme"]
    # Nothing lost: the far value is still there, where it was, and said at its cell.
    assert len(opportunities) == 1048576 and opportunities[-1][16383] == "x" and len(opportunities[-1]) == 16384
    far = [i for i in issues if i["code"] == "far_cell"]
    assert [(i["tab"], i["row"], i["column"], i["value"]) for i in far] == [("Opportunities", 1048576, "XFD", "x")]
    # A value at XFD leaves no column for sheetcrm's computed ones, so the tab is not written
    # (said, as for any such tab), but its deal is read: the Pipeline counts it.
    assert [i["code"] for i in issues if i["severity"] == "error"] == ["no_room"]
    assert opportunities[1][:6] == [None, "Deal A", "Acme", "Proposal", 1000, dt.date(2026, 12, 1)]
    pipeline = tabs["Pipeline"].rows
    assert any(r and r[0] == "Proposal" and 1000 in r for r in pipeline), pipeline


def test_a_note_far_below_and_a_format_alone_at_the_corner_cost_no_rectangle(tmp_path):
    path = _book(tmp_path / "crm.xlsx", far=(1048576, 26, "note"), styled=(1048576, 16384))
    issues = _synced(path, tmp_path)
    rows = XlsxWorkbook(path).read().tabs["Opportunities"].rows
    # The computed columns go right of the last used column, as they always do.
    assert rows[1][:6] == ["OPP-0001", "Deal A", "Acme", "Proposal", 1000, dt.date(2026, 12, 1)]
    assert rows[0][26] == "Probability %" and rows[1][26] == 0.5
    assert rows[-1] == [None] * 25 + ["note"] and len(rows) == 1048576
    far = [(i["row"], i["column"], i["value"]) for i in issues if i["code"] == "far_cell"]
    assert far == [(1048576, "Z", "note")]


def test_import_of_an_export_with_a_value_at_the_last_cell(tmp_path):
    crm = _book(tmp_path / "crm.xlsx")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Company Name", "Website"])
    ws.append(["Globex", "globex.example"])
    ws.cell(1048576, 16384).value = "x"
    wb.save(tmp_path / "export.xlsx")
    out, peak = _run("import", "export.xlsx", "--tab", "accounts", "--dry-run", "--format", "json",
                     "--workbook", crm.name, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert peak is not None and peak < BOUND_KB, f"peak {peak} KB"
    assert json.loads(out.stdout)["counts"] == {"added": 1, "matched": 0, "rejected": 0}


def _calamine_grid(path, tab):
    import python_calamine
    book = python_calamine.CalamineWorkbook.from_path(str(path))
    return _grid(book.get_sheet_by_name(tab).to_python(skip_empty_area=False)).rows


@pytest.mark.parametrize("date1904", [False, True])
def test_a_packed_sheet_reads_every_cell_as_calamine_does(tmp_path, date1904):
    """Packing moves cells, never changes what they read as: shared and inline text, numbers,
    booleans, dates and times by their formats, the workbook's 1904 date system, formulas by
    their last result; a row longer than PACK_WIDTH wraps."""
    wb = openpyxl.Workbook()
    wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904 if date1904 else wb.epoch
    ws = wb.active
    ws.title = "T"
    ws.append(["Name", "When", "At", "Won", "Amount", "Pct", "Note"])
    ws.append(["Ann", dt.date(2026, 3, 1), dt.datetime(2026, 3, 1, 14, 30), True, 1234.5, 0.25, " "])
    ws.append(["Bob", dt.date(1999, 12, 31), dt.time(9, 15), False, 40, 1, "=text"])
    ws["F2"].number_format = "0%"
    ws.cell(5, 3).value = "gap row"
    for c in range(1, 300):
        ws.cell(7, c).value = c * 1.5
    wb.save(tmp_path / "t.xlsx")
    data = (tmp_path / "t.xlsx").read_bytes()
    import zipfile
    with zipfile.ZipFile(tmp_path / "t.xlsx") as z:
        part = "xl/worksheets/sheet1.xml"
        xml = z.read(part)
    packed = xlsx_sparse.sparse_rows(data, part, "T", xml, {part})
    from sheetcrm.workbook.xlsx import _typed
    expected = _calamine_grid(tmp_path / "t.xlsx", "T")
    got = _typed(packed).rows
    assert [[(type(v), v) for v in r] for r in got] == [[(type(v), v) for v in r] for r in expected]
    assert expected[1][1] == dt.date(2026, 3, 1) and len(expected[6]) == 299


def test_only_a_sheet_whose_rectangle_dwarfs_its_cells_is_packed(tmp_path):
    def sheet(cells, dimension):
        rows = "".join(f'<row r="{r}"><c r="{ref}" t="inlineStr"><is><t>v</t></is></c></row>' for r, ref in cells)
        return (f'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                f'<dimension ref="{dimension}"/><sheetData>{rows}</sheetData></worksheet>').encode()

    assert not xlsx_sparse.is_sparse(sheet([(1, "A1"), (2, "B2")], "A1:B2"))
    assert xlsx_sparse.is_sparse(sheet([(1, "A1"), (1048576, "XFD1048576")], "A1:XFD1048576"))
    # A dimension that stops short of the last row is not believed.
    assert xlsx_sparse.is_sparse(sheet([(1, "A1"), (1048576, "Z1048576")], "A1:Z2"))
    # No dimension: the references say.
    no_dim = sheet([(1, "A1"), (900000, "Z900000")], "A1:A1").replace(b'<dimension ref="A1:A1"/>', b"")
    assert xlsx_sparse.is_sparse(no_dim)


def test_a_dimension_that_understates_the_sheet_is_not_believed(tmp_path):
    """The dimension is the writer's word, and cheap to read; a sheet that says A1:F2 and holds
    a value at XFD1048576 is still read packed (the process aborted in calamine)."""
    import zipfile
    path = _book(tmp_path / "crm.xlsx", far=(1048576, 16384, "x"))
    part = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members[part] = members[part].replace(b'<dimension ref="A1:XFD1048576"', b'<dimension ref="A1:F2"')
    assert b'<dimension ref="A1:F2"' in members[part]
    with zipfile.ZipFile(path, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)
    issues = _synced(path, tmp_path)
    assert [(i["row"], i["column"]) for i in issues if i["code"] == "far_cell"] == [(1048576, "XFD")]
