"""Reading an .xlsx sheet whose cells lie sparse over a large area, in memory that grows with
its cells rather than with the rectangle around them.

Calamine builds every sheet as one dense range from its first to its last cell holding a
value, 32 bytes a cell: one stray space typed at Z1048576 beside a 2-row table costs 870 MB
(and `to_python` as many Python lists again), one at XFD1048576 asks for 512 GiB and aborts
the process. A person makes such a cell by accident (a key pressed far below the data, a
paste that landed on the sheet's last row), so reading must survive it.

`is_sparse` tells such a sheet from a table cheaply, by searches that run in C over the sheet
XML (its last row element, ECMA-376 §18.3.1.73: rows in ascending order; its widest cell
reference; a count of its cells), and only for a sheet whose dimension (§18.3.1.35) is large
or missing (`worth_a_look`). `sparse_rows` then hands calamine a sheet of the same cells packed
side by side (each row's cells in consecutive columns, the rows that hold none left out), which it
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

from .xlsx_patch import column_index, column_letter

# A sheet is read packed when the rectangle calamine would allocate is over MIN_AREA cells
# and over SPARSE_RATIO times the cells the sheet holds: a full table (100k rows by 20
# columns, 2M cells) goes to calamine as it is, a table with a cell far away does not.
MIN_AREA = 1_000_000
SPARSE_RATIO = 4
# Cells packed side by side in one packed row at most, so one long row among many short ones
# does not make a wide rectangle of all of them.
PACK_WIDTH = 256
# A sheet part this small is inflated and looked at whatever its dimension says (a few ms).
SMALL_PART = 1 << 20
# Bytes a cell takes in the XML beyond which a dimension is taken to understate the cells.
MAX_CELL_BYTES = 512

_DIMENSION = re.compile(rb'<dimension\b[^>]*?\bref="([A-Z]*)([0-9]*)(?::([A-Z]*)([0-9]*))?"')
_ROW_NUMBER = re.compile(rb'<row\b[^>]*?\br="([0-9]+)"')
_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
# A cell element that is not self-closing (a format alone is `<c r="B9" s="3"/>`), with its content.
_VALUED_CELL = re.compile(rb'<c\b([^>]*?)(?<!/)>(.*?)</c>', re.S)
_FORMULA = re.compile(rb'<f\b[^>]*/>|<f\b.*?</f>', re.S)

# What a worksheet part must hold for calamine: the sheets not asked for become this.
EMPTY_SHEET = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData/></worksheet>')

# The packed columns' letters, by 1-based position in a packed row.
_PACKED = [b""] + [column_letter(i).encode() for i in range(1, PACK_WIDTH + 1)]

EMPTY_ROW: list = []  # every row that holds nothing, shared: never grow a row of a Grid in place


def worth_a_look(z: zipfile.ZipFile, part: str) -> bool:
    """Whether the sheet at `part` may be sparse (`is_sparse`), from its size and the first bytes
    of its XML alone, so a large table of ordinary shape costs no second inflating of its XML: a
    sheet under SMALL_PART bytes is always looked at (a stray cell beside a small table is the
    common case, and a dimension may understate), a larger one when its dimension is missing,
    covers over MIN_AREA cells, or is too small for the bytes (it understates)."""
    size = z.getinfo(part).file_size
    if size < SMALL_PART:
        return True
    with z.open(part) as f:
        head = f.read(8192)
    start = head.find(b"<sheetData")
    dim = _DIMENSION.search(head[:start] if start >= 0 else head)
    if dim is None or not dim[3]:
        return True
    area = _area(dim)
    return area > MIN_AREA or size > MAX_CELL_BYTES * area


def _area(dim: re.Match[bytes]) -> int:
    first_row, last_row = int(dim[2] or 1), int(dim[4] or 1)
    first_col = column_index(dim[1].decode()) if dim[1] else 1
    last_col = column_index(dim[3].decode())
    return (last_row - first_row + 1) * (last_col - first_col + 1)


def is_sparse(xml: bytes) -> bool:
    """Whether the sheet XML's cells lie so sparse that calamine's dense range would be far
    bigger than they are (see MIN_AREA, SPARSE_RATIO), from the cells as they are, whatever
    the dimension says: the rows from the last row element, the columns from the widest cell
    reference, and the cells from a count of `<c `. The searches run in C, and only over the
    references of two or three letters (for most tables none); single letters are searched
    from Z down only when they decide."""
    tail = xml.rfind(b"<row ")
    last = _ROW_NUMBER.match(xml, tail) if tail >= 0 else None
    if last is None:
        return False
    rows, cells = int(last[1]), xml.count(b"<c ")

    def sparse(width: int) -> bool:
        area = rows * width
        return area > MIN_AREA and area > SPARSE_RATIO * cells

    for letters in (3, 2):
        found = set(re.findall(rb'<c r="([A-Z]{%d})[0-9]' % letters, xml))
        if found:
            return sparse(column_index(max(found).decode()))
    if not sparse(26):
        return False
    return sparse(next((26 - i for i, letter in enumerate(b"ZYXWVUTSRQPONMLKJIHGFEDCBA")
                        if re.search(rb'<c r="%c[0-9]' % letter, xml)), 1))


def sparse_rows(data: bytes, part: str, name: str, xml: bytes, sheets: Collection[str]) -> list[list] | None:
    """The values of the sheet `name` (stored at `part` of the package `data`, whose XML is
    `xml`; `sheets` are all its worksheet parts) as calamine gives them (`to_python`), as ragged rows: row i is the sheet's row i+1,
    each ends at its last cell that holds something, the rows after the last such row are
    left out, and rows that hold nothing are `EMPTY_ROW`. None when a cell holding a value has
    no `r` reference (the caller then reads the sheet whole).

    Raises what calamine raises for a damaged package (python_calamine.CalamineError)."""
    import python_calamine

    start = xml.find(b"<sheetData")
    end = xml.rfind(b"</sheetData>")
    if start < 0 or end < 0:
        return None
    # By packed row: the sheet's row (0-based) its cells are on and the column of each.
    packs: list[tuple[int, list[int]]] = []
    out = [b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n', _root(xml), b"<sheetData>"]
    columns: dict[bytes, int] = {}
    cols: list[int] = []
    current = -1
    for m in _VALUED_CELL.finditer(xml, start, end):
        attrs, inner = m[1], m[2]
        if b"<v" not in inner and b"<is" not in inner:
            continue  # a formula with no last result, or an empty element: no value
        ref = _REF.search(attrs)
        if ref is None:
            return None
        row = int(ref[2]) - 1
        if row != current or len(cols) == PACK_WIDTH:
            if packs:
                out.append(b"</row>")
            cols = []
            packs.append((row, cols))
            out.append(b'<row r="%d">' % len(packs))
            current = row
        letters = ref[1]
        col = columns.get(letters)
        if col is None:
            col = columns[letters] = column_index(letters.decode()) - 1
        cols.append(col)
        if b"<f" in inner:
            inner = _FORMULA.sub(b"", inner)  # the last result is the value; the formula is not read here
        out.append(b'<c r="%s%d"%s%s>%s</c>' % (_PACKED[len(cols)], len(packs), attrs[:ref.start()],
                                                attrs[ref.end():], inner))
    if not packs:
        return []
    out.append(b"</row></sheetData></worksheet>")
    book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(_package(data, part, b"".join(out), sheets)))
    values = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
    del out
    rows: list[list] = []
    for (row, cols), got in zip(packs, values):
        kept = [(c, v) for c, v in zip(cols, got) if v != "" and v is not None]
        if not kept:
            continue
        if len(rows) <= row:
            rows.extend([EMPTY_ROW] * (row + 1 - len(rows)))
        target = rows[row]
        width = max(c for c, _ in kept) + 1
        if target is EMPTY_ROW:
            target = rows[row] = [None] * width
        elif len(target) < width:
            target.extend([None] * (width - len(target)))
        for c, v in kept:
            target[c] = v
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
