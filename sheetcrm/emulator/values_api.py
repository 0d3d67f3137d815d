"""spreadsheets.values.*: reading and writing rectangles of values by A1 range."""

from __future__ import annotations

from . import a1, values
from .errors import ApiError, invalid
from .model import Sheet, Spreadsheet


def _option(query: dict, body: dict, name: str, allowed: tuple, default: str | None) -> str:
    value = body.get(name) if body.get(name) is not None else (query.get(name) or [default])[0]
    if value is None:
        raise invalid(f"'{name}' is required but not specified")
    if value not in allowed:
        raise invalid(f"Invalid value at '{_snake(name)}' (type.googleapis.com/google.apps.sheets.v4.{name[0].upper() + name[1:]}), \"{value}\"")
    return value


def _snake(name: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in name)


def _dimension(query: dict, body: dict) -> str:
    dim = body.get("majorDimension") or (query.get("majorDimension") or ["ROWS"])[0]
    if dim in ("DIMENSION_UNSPECIFIED",):
        return "ROWS"
    if dim not in ("ROWS", "COLUMNS"):
        raise invalid(f"Invalid value at 'major_dimension' (type.googleapis.com/google.apps.sheets.v4.Dimension), \"{dim}\"")
    return dim


# -- reading ---------------------------------------------------------------------------
def read_box(book: Spreadsheet, sheet: Sheet, sr, er, sc, ec, dimension: str, render: str, dt: str) -> list:
    rows: dict[int, dict[int, object]] = {}
    locale = book.properties.get("locale") or "en_US"
    for r, row in sheet.cells.items():
        if not sr <= r < er:
            continue
        for c, cell in row.items():
            if sc <= c < ec:
                entered = cell.get("userEnteredValue")
                # Only formulas need evaluating; any other entered value is its own effective value.
                effective = book.effective(sheet, r, c) if entered and "formulaValue" in entered else entered
                value = values.render(cell, effective, render, dt, locale)
                if value != "":
                    rows.setdefault(r, {})[c] = value
    if dimension == "COLUMNS":
        rows = _transpose(rows)
        sr, sc = sc, sr
    if not rows:
        return []
    out = []
    for r in range(sr, max(rows) + 1):
        row = rows.get(r, {})
        out.append([row.get(c, "") for c in range(sc, max(row) + 1)] if row else [])
    return out


def _transpose(rows: dict) -> dict:
    cols: dict[int, dict[int, object]] = {}
    for r, row in rows.items():
        for c, v in row.items():
            cols.setdefault(c, {})[r] = v
    return cols


def value_range(book: Spreadsheet, text: str, query: dict, body: dict | None = None) -> dict:
    body = body or {}
    render = _option(query, body, "valueRenderOption", values.RENDER_OPTIONS, "FORMATTED_VALUE")
    dt = _option(query, body, "dateTimeRenderOption", values.DATETIME_OPTIONS, "SERIAL_NUMBER")
    dimension = _dimension(query, body)
    sheet, sr, er, sc, ec = book.resolve(text)
    out = {"range": a1.format_range(sheet.title, sr, er, sc, ec), "majorDimension": dimension}
    data = read_box(book, sheet, sr, er, sc, ec, dimension, render, dt)
    if data:
        out["values"] = data
    return out


def batch_get(book: Spreadsheet, query: dict) -> dict:
    out = {"spreadsheetId": book.id}
    ranges = query.get("ranges", [])
    if ranges:
        out["valueRanges"] = [value_range(book, text, query) for text in ranges]
    return out


# -- writing -----------------------------------------------------------------------------
def _rows_of(body: dict, dimension: str) -> list[list]:
    data = body.get("values") or []
    if not isinstance(data, list) or not all(isinstance(row, list) for row in data):
        raise invalid("Invalid value at 'data.values' (type.googleapis.com/google.protobuf.ListValue)")
    if dimension == "COLUMNS":
        height = max((len(col) for col in data), default=0)
        data = [[col[r] if r < len(col) else None for col in data] for r in range(height)]
    return data


def _grow(sheet: Sheet, rows: int, cols: int) -> None:
    """values.update and append extend the grid to fit, unlike batchUpdate requests."""
    if rows > sheet.row_count:
        sheet.grid["rowCount"] = rows
    if cols > sheet.column_count:
        sheet.grid["columnCount"] = cols


def write(book: Spreadsheet, text: str, body: dict, option: str, query: dict, *, at=None) -> dict:
    """Write a ValueRange; ``at`` overrides the start (used by append)."""
    return _write(book, text, body, option, query, at=at)[0]


def _write(book: Spreadsheet, text: str, body: dict, option: str, query: dict, *, at=None):
    """write() plus the (sheet, row, column) positions it touched, which batchUpdate's
    totals count without double-counting rows or columns shared by several ranges."""
    dimension = _dimension(query, body)
    rng = a1.parse(text, {s.title for s in book.sheets})
    sheet, sr, er, sc, ec = at or book.resolve(text, must_fit=False)
    data = _rows_of(body, dimension)
    out = {"spreadsheetId": book.id}
    height = len(data)
    width = max((len(row) for row in data), default=0)
    if not height or not width:
        return out, set(), set()
    # A single cell is only an anchor; a larger box bounds what may be written.
    bounded = at is None and (er - sr > 1 or ec - sc > 1)
    if bounded and rng.end_row is not None and height > er - sr:
        raise invalid(f"Requested writing within range [{text}], but tried writing to row [{sr + height}]")
    if bounded and rng.end_col is not None and width > ec - sc:
        raise invalid(
            f"Requested writing within range [{text}], but tried writing to column [{a1.column_letters(sc + width - 1)}]"
        )
    locale = book.properties.get("locale") or "en_US"
    parsed = [[values.parse_input(v, option, locale) for v in row] for row in data]
    _grow(sheet, sr + height, sc + width)
    book.check_cell_limit()
    touched_rows, touched_cols, cells = set(), set(), 0
    for i, row in enumerate(parsed):
        for j, content in enumerate(row):
            if content is None:
                continue
            old = sheet.cell(sr + i, sc + j) or {}
            if option == "USER_ENTERED" and isinstance(data[i][j], str) and values.is_plain_text(old):
                content = values.parse_input(data[i][j], option, locale, plain_text=True)
            new = {k: v for k, v in old.items() if k not in ("userEnteredValue",)}
            new.update({k: v for k, v in content.items() if k != "userEnteredFormat"})
            if "userEnteredFormat" in content:
                new["userEnteredFormat"] = {**(old.get("userEnteredFormat") or {}), **content["userEnteredFormat"]}
            sheet.put(sr + i, sc + j, new)
            touched_rows.add((sheet.id, sr + i))
            touched_cols.add((sheet.id, sc + j))
            cells += 1
    out.update(
        updatedRange=a1.format_range(sheet.title, sr, sr + height, sc, sc + width),
        updatedRows=len(touched_rows),
        updatedColumns=len(touched_cols),
        updatedCells=cells,
    )
    if _flag(query, body, "includeValuesInResponse"):
        out["updatedData"] = value_range(
            book, out["updatedRange"], query, {"majorDimension": dimension, **_response_options(query, body)}
        )
    return out, touched_rows, touched_cols


def _flag(query: dict, body: dict, name: str) -> bool:
    if name in body:
        return bool(body[name])
    return (query.get(name) or ["false"])[0].lower() == "true"


def _response_options(query: dict, body: dict) -> dict:
    out = {}
    for src, dst in (("responseValueRenderOption", "valueRenderOption"),
                     ("responseDateTimeRenderOption", "dateTimeRenderOption")):
        value = body.get(src) or (query.get(src) or [None])[0]
        if value:
            out[dst] = value
    return out


def update(book: Spreadsheet, text: str, body: dict, query: dict) -> dict:
    option = _option(query, {}, "valueInputOption", values.INPUT_OPTIONS, None)
    return write(book, text, body, option, query)


def batch_update(book: Spreadsheet, body: dict, query: dict) -> dict:
    option = _option({}, body, "valueInputOption", values.INPUT_OPTIONS, None)
    responses = []
    rows, cols = set(), set()
    for i, vr in enumerate(body.get("data") or []):
        if "range" not in vr:
            raise invalid(f"Invalid data[{i}]: Unable to parse range: ")
        try:
            response, touched_rows, touched_cols = _write(book, vr["range"], vr, option, {**query, **_passthrough(body)})
            responses.append(response)
            rows |= touched_rows
            cols |= touched_cols
        except ApiError as err:
            if not err.message.startswith("Invalid data["):
                err.message = f"Invalid data[{i}]: {err.message}"
            raise
    out = {"spreadsheetId": book.id}
    written = [r for r in responses if "updatedRange" in r]
    if written:
        out.update(
            totalUpdatedRows=len(rows),
            totalUpdatedColumns=len(cols),
            totalUpdatedCells=sum(r["updatedCells"] for r in written),
            totalUpdatedSheets=len({sheet_id for sheet_id, _ in rows}),
        )
    if responses:
        out["responses"] = responses
    return out


def _passthrough(body: dict) -> dict:
    keys = ("includeValuesInResponse", "responseValueRenderOption", "responseDateTimeRenderOption")
    return {k: [str(body[k]).lower() if isinstance(body[k], bool) else body[k]] for k in keys if k in body}


def find_table(sheet: Sheet, sr: int, er: int, sc: int, ec: int) -> tuple[int, int, int, int] | None:
    """The 'table' values.append appends after: the block of data connected (including
    diagonally) to the first filled cell inside the range, which may extend past it."""
    first = None
    for r in sorted(r for r in sheet.cells if sr <= r < er):
        cols = sorted(c for c in sheet.cells[r] if sc <= c < ec and sheet.has_value(r, c))
        if cols:
            first = (r, cols[0])
            break
    if first is None:
        return None
    top, bottom, left, right = first[0], first[0] + 1, first[1], first[1] + 1
    grown = True
    while grown:
        grown = False
        if any(sheet.has_value(bottom, c) for c in range(max(left - 1, 0), right + 1)):
            bottom += 1
            grown = True
        if top > 0 and any(sheet.has_value(top - 1, c) for c in range(max(left - 1, 0), right + 1)):
            top -= 1
            grown = True
        if any(sheet.has_value(r, right) for r in range(max(top - 1, 0), bottom + 1)):
            right += 1
            grown = True
        if left > 0 and any(sheet.has_value(r, left - 1) for r in range(max(top - 1, 0), bottom + 1)):
            left -= 1
            grown = True
    return top, bottom, left, right


def append(book: Spreadsheet, text: str, body: dict, query: dict, insert_rows) -> dict:
    option = _option(query, {}, "valueInputOption", values.INPUT_OPTIONS, None)
    insert = (query.get("insertDataOption") or ["OVERWRITE"])[0]
    if insert not in ("OVERWRITE", "INSERT_ROWS"):
        raise invalid(f"Invalid value at 'insert_data_option' (type.googleapis.com/google.apps.sheets.v4.InsertDataOption), \"{insert}\"")
    sheet, sr, er, sc, ec = book.resolve(text)
    table = find_table(sheet, sr, er, sc, ec)
    out = {"spreadsheetId": book.id}
    if table:
        top, bottom, left, right = table
        out["tableRange"] = a1.format_range(sheet.title, top, bottom, left, right)
        start_row, start_col = bottom, left
    else:
        start_row, start_col = sr, sc
    height = len(_rows_of(body, _dimension(query, body)))
    if insert == "INSERT_ROWS" and height and start_row < sheet.row_count:
        insert_rows(book, sheet, start_row, start_row + height)
    updates = write(book, text, body, option, query, at=(sheet, start_row, None, start_col, None))
    out["updates"] = updates
    return out


def clear(book: Spreadsheet, text: str) -> str:
    sheet, sr, er, sc, ec = book.resolve(text)
    for r in [r for r in sheet.cells if sr <= r < er]:
        for c in [c for c in sheet.cells[r] if sc <= c < ec]:
            cell = {k: v for k, v in sheet.cell(r, c).items() if k != "userEnteredValue"}
            sheet.put(r, c, cell)
    return a1.format_range(sheet.title, sr, er, sc, ec)


def batch_clear(book: Spreadsheet, body: dict) -> dict:
    out = {"spreadsheetId": book.id}
    cleared = [clear(book, text) for text in body.get("ranges") or []]
    if cleared:
        out["clearedRanges"] = cleared
    return out
