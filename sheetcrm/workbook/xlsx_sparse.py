"""Reading an .xlsx sheet whose cells lie sparse over a large area, in memory that grows with
its cells rather than with the rectangle around them.

Calamine builds every sheet as one dense range from its first to its last cell holding a
value, 32 bytes a cell: one stray space typed at Z1048576 beside a 2-row table costs 870 MB
(and `to_python` as many Python lists again), one at XFD1048576 asks for 512 GiB and aborts
the process. A person makes such a cell by accident (a key pressed far below the data, a
paste that landed on the sheet's last row), so reading must survive it.

`is_sparse` tells such a sheet from a table cheaply, from what every writer puts at the ends
of the sheet XML (ECMA-376 §18.3.1.35 dimension, §18.3.1.73 rows in ascending order) and a
count of its cells. `sparse_rows` then hands calamine a sheet of the same cells packed side by
side (each row's cells in consecutive columns, the rows that hold none left out), which it
decodes as it decodes any sheet (shared strings, styles, dates and the workbook's date system
all as before: the cells keep their attributes), and puts each value back at its place. The
result is ragged rows as `Grid` holds them: a row that holds nothing is one shared empty
list, so a value on row 1048576 costs the million list slots to reach it (8 MB), never a
rectangle.

Like `xlsx_scan`, the XML is taken as Excel, LibreOffice, Google's export and openpyxl write it:
unprefixed elements and cells that carry their `r` reference; a sheet written otherwise is
left to calamine as before.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Collection

from openpyxl.utils import column_index_from_string, get_column_letter

# A sheet is read packed when the rectangle calamine would allocate is over MIN_AREA cells
# and over SPARSE_RATIO times the cells the sheet holds: a full table (100k rows by 20
# columns, 2M cells) goes to calamine as it is, a table with a cell far away does not.
MIN_AREA = 1_000_000
SPARSE_RATIO = 4
# Cells packed side by side in one packed row at most, so one long row among many short ones
# does not make a wide rectangle of all of them.
PACK_WIDTH = 256

_DIMENSION = re.compile(rb'<dimension\b[^>]*?\bref="([A-Z]*)([0-9]*)(?::([A-Z]*)([0-9]*))?"')
_ROW_NUMBER = re.compile(rb'<row\b[^>]*?\br="([0-9]+)"')
_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_CELL = re.compile(rb'<c\b([^>]*)>')
_FORMULA = re.compile(rb'<f\b[^>]*/>|<f\b.*?</f>', re.S)

# What a worksheet part must hold for calamine: the sheets not asked for become this.
EMPTY_SHEET = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>')

EMPTY_ROW: list = []  # every row that holds nothing, shared: never grow a row of a Grid in place


def worth_a_look(z: zipfile.ZipFile, part: str) -> bool:
    """Whether the sheet at `part` may be sparse (`is_sparse`), from the first bytes of its XML
    alone: False when its dimension covers at most MIN_AREA cells, so a table of ordinary size
    costs no second inflating of its XML."""
    with z.open(part) as f:
        head = f.read(8192)
    start = head.find(b"<sheetData")
    dim = _DIMENSION.search(head[:start] if start >= 0 else head)
    return dim is None or not dim[3] or _area(dim) > MIN_AREA


def _area(dim: re.Match[bytes]) -> int:
    first_row, last_row = int(dim[2] or 1), int(dim[4] or 1)
    first_col = column_index_from_string(dim[1].decode()) if dim[1] else 1
    last_col = column_index_from_string(dim[3].decode())
    return (last_row - first_row + 1) * (last_col - first_col + 1)


def is_sparse(xml: bytes) -> bool:
    """Whether the sheet XML's cells lie so sparse that calamine's dense range would be far
    bigger than they are (see MIN_AREA, SPARSE_RATIO). Costs a count of `<c ` and two short
    searches; a sheet without a dimension has its references scanned."""
    cells = xml.count(b"<c ")
    start = xml.find(b"<sheetData")
    head = xml[:start] if start >= 0 else xml[:4096]
    dim = _DIMENSION.search(head)
    if dim is not None and dim[3]:
        last_row, last_col = int(dim[4] or 1), column_index_from_string(dim[3].decode())
        first_row = int(dim[2] or 1)
        first_col = column_index_from_string(dim[1].decode()) if dim[1] else 1
        # The last row element says how far the rows really go, whatever the dimension says.
        tail = xml.rfind(b"<row ")
        if tail >= 0 and (m := _ROW_NUMBER.match(xml, tail)):
            last_row = max(last_row, int(m[1]))
        area = (last_row - first_row + 1) * (last_col - first_col + 1)
    else:
        rows, cols = [], []
        for m in _REF.finditer(xml, max(start, 0)):
            rows.append(int(m[2]))
            cols.append(m[1])
        if not rows:
            return False
        widest = max(cols, key=lambda c: (len(c), c))
        area = (max(rows) - min(rows) + 1) * column_index_from_string(widest.decode())
    return area > MIN_AREA and area > SPARSE_RATIO * cells


def sparse_rows(data: bytes, part: str, name: str, xml: bytes, sheets: Collection[str]) -> list[list] | None:
    """The values of the sheet `name` (stored at `part` of the package `data`, whose XML is
    `xml`; `sheets` are all its worksheet parts) as calamine gives them (`to_python`), as ragged rows: row i is the sheet's row i+1,
    each ends at its last cell that holds something, the rows after the last such row are
    left out, and rows that hold nothing are `EMPTY_ROW`. None when a cell holding a value has
    no `r` reference (the caller then reads the sheet whole).

    Raises what calamine raises for a damaged package (python_calamine.CalamineError)."""
    import python_calamine

    places: list[list[tuple[int, int]]] = []  # by packed row: the (row, col) of each packed cell
    out = [b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n',
           _root(xml), b"<sheetData>"]
    current = None
    width = 0
    pos = xml.find(b"<sheetData")
    end = xml.rfind(b"</sheetData>")
    if pos < 0 or end < 0:
        return None
    for m in _CELL.finditer(xml, pos, end):
        attrs = m[1]
        if attrs.endswith(b"/"):
            continue  # a cell with no value: a format alone
        close = xml.find(b"</c>", m.end(), end)
        if close < 0:
            return None
        inner = xml[m.end():close]
        if b"<v" not in inner and b"<is" not in inner:
            continue
        ref = _REF.search(attrs)
        if ref is None:
            return None
        row, col = int(ref[2]) - 1, column_index_from_string(ref[1].decode()) - 1
        if row != current or width == PACK_WIDTH:
            if places:
                out.append(b"</row>")
            places.append([])
            out.append(b'<row r="%d">' % len(places))
            current, width = row, 0
        width += 1
        places[-1].append((row, col))
        packed = b'r="%s%d"' % (get_column_letter(width).encode(), len(places))
        if b"<f" in inner:
            inner = _FORMULA.sub(b"", inner)  # the last result is the value; the formula is not read here
        out.append(b"<c " + _REF.sub(packed, attrs, count=1).strip() + b">" + inner + b"</c>")
    if places:
        out.append(b"</row>")
    out.append(b"</sheetData></worksheet>")
    if not places:
        return []
    packed_book = _package(data, part, b"".join(out), sheets)
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(packed_book))
    values = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    rows: list[list] = []
    for k, cells in enumerate(places):
        got = values[k] if k < len(values) else []
        for j, (row, col) in enumerate(cells):
            v = got[j] if j < len(got) else ""
            if v == "" or v is None:
                continue
            if len(rows) <= row:
                rows.extend([EMPTY_ROW] * (row + 1 - len(rows)))
            target = rows[row]
            if target is EMPTY_ROW:
                target = rows[row] = []
            if len(target) <= col:
                target.extend([None] * (col + 1 - len(target)))
            target[col] = v
    return rows


def _root(xml: bytes) -> bytes:
    """The sheet's own root start tag (its namespaces), or a plain one."""
    m = re.search(rb"<worksheet\b[^>]*>", xml[:4096])
    return m[0] if m else b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'


def _package(data: bytes, part: str, sheet: bytes, sheets: Collection[str]) -> bytes:
    """The package with `part` replaced by `sheet`, every other worksheet part by an empty
    sheet, and only the XML parts kept (calamine reads the workbook, its relationships, the
    shared strings and the styles; pictures and binaries are not needed to read values)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            member = info.filename
            if member == part:
                zout.writestr(member, sheet)
            elif member in sheets:
                zout.writestr(member, EMPTY_SHEET)
            elif member.endswith((".xml", ".rels")) and not member.startswith(("xl/drawings/", "xl/charts/")):
                zout.writestr(member, zin.read(member))
    return out.getvalue()
