"""The spreadsheet-level endpoints: create, get (with ranges, grid data and field masks),
batchUpdate, and the developer metadata lookups."""

from __future__ import annotations

import copy

from . import a1, access, batch, fields, metadata
from .errors import invalid
from .format import new_sheet_properties
from .grid import bounds
from .grid import public as public_range
from .model import DEFAULT_COLUMNS, DEFAULT_ROWS, Sheet, Spreadsheet

DEFAULT_ROW_PIXELS = 21
DEFAULT_COLUMN_PIXELS = 100


def _protected_range(book: Spreadsheet, pr: dict) -> dict:
    """A ProtectedRange as the caller sees it: "editors" is "only visible to users with edit
    access to the protected range" (Sheets API reference, ProtectedRange)."""
    editable = access.can_edit(book.owner, book.caller, pr)
    out = {**copy.deepcopy(pr), "range": public_range(pr["range"]), "requestingUserCanEdit": editable}
    if not editable:
        out.pop("editors", None)
    return out


def spreadsheet_url(spreadsheet_id: str) -> str:
    return f"https://docs.google.com/spreadsheets/d/{spreadsheet_id}/edit"


def new_spreadsheet(spreadsheet_id: str, body: dict, new_id) -> Spreadsheet:
    props = body.get("properties") or {}
    book = Spreadsheet(spreadsheet_id, props.get("title") or "Untitled spreadsheet")
    for key in ("locale", "timeZone", "autoRecalc"):
        if props.get(key):
            book.properties[key] = props[key]
    sheets = body.get("sheets") or [{}]
    for i, spec in enumerate(sheets):
        given = spec.get("properties") or {}
        title = given.get("title") or f"Sheet{i + 1}"
        if book.sheet_by_title(title):
            raise invalid(f'A sheet with the name "{title}" already exists. Please enter another name.')
        sheet_props = new_sheet_properties(given, given.get("sheetId", 0 if i == 0 else new_id()), title, i,
                                           DEFAULT_ROWS, DEFAULT_COLUMNS)
        book.add_sheet(sheet_props)
    book.check_cell_limit()
    return book


GRID_PARTS = frozenset({"rowData", "rowMetadata", "columnMetadata"})


def _grid_data(book: Spreadsheet, sheet: Sheet, sr: int, er: int, sc: int, ec: int,
               parts: frozenset[str] = GRID_PARTS) -> dict:
    data: dict = {}
    if sr:
        data["startRow"] = sr
    if sc:
        data["startColumn"] = sc
    if "rowData" in parts:
        _row_data(book, sheet, sr, er, sc, ec, data)
    if "rowMetadata" in parts:
        data["rowMetadata"] = [_dimension_meta(book, sheet, "ROWS", r) for r in range(sr, er)]
    if "columnMetadata" in parts:
        data["columnMetadata"] = [_dimension_meta(book, sheet, "COLUMNS", c) for c in range(sc, ec)]
    return data


def _grid_parts(mask: fields.Mask | None) -> frozenset[str]:
    """The parts of GridData a field mask keeps: the rest would be built only to be dropped
    (sheetcrm's metadata read asks for columnMetadata alone; rendering every cell of a 100k-row
    tab for it took seconds)."""
    if mask is None or "*" in mask:
        return GRID_PARTS
    sheets = mask.get("sheets")
    data = None if sheets is None or sheets == {} or "*" in sheets else sheets.get("data")
    if data is None or data == {} or "*" in data:
        return GRID_PARTS
    return GRID_PARTS & data.keys()


def _row_data(book: Spreadsheet, sheet: Sheet, sr: int, er: int, sc: int, ec: int, data: dict) -> None:
    rows = sorted(r for r in sheet.cells if sr <= r < er and any(sc <= c < ec for c in sheet.cells[r]))
    if rows:
        row_data = []
        for r in range(sr, rows[-1] + 1):
            cols = [c for c in sheet.cells.get(r, {}) if sc <= c < ec]
            if not cols:
                row_data.append({})
                continue
            row_data.append({"values": [book.rendered_cell(sheet, r, c) for c in range(sc, max(cols) + 1)]})
        data["rowData"] = row_data


def _dimension_meta(book: Spreadsheet, sheet: Sheet, dimension: str, index: int) -> dict:
    store = sheet.row_meta if dimension == "ROWS" else sheet.col_meta
    props = {"pixelSize": DEFAULT_ROW_PIXELS if dimension == "ROWS" else DEFAULT_COLUMN_PIXELS}
    props.update(copy.deepcopy(store.get(index, {})))
    attached = []
    for meta in book.developer_metadata:
        rng = meta["location"].get("dimensionRange")
        if rng and rng.get("sheetId", 0) == sheet.id and rng["dimension"] == dimension:
            if rng.get("startIndex", 0) <= index < rng["endIndex"]:
                attached.append(metadata.get(book, meta["metadataId"]))
    if attached:
        props["developerMetadata"] = attached
    return props


def _trim(obj):
    """Sheets omits trailing empty cells and rows from grid data once the mask is applied."""
    if isinstance(obj, list):
        return [_trim(x) for x in obj]
    if not isinstance(obj, dict):
        return obj
    out = {k: _trim(v) for k, v in obj.items()}
    for key in ("values", "rowData"):
        if isinstance(out.get(key), list):
            items = out[key]
            while items and items[-1] == {}:
                items.pop()
            if not items:
                del out[key]
    return out


def render(book: Spreadsheet, *, ranges: list[str] = (), grid_data: bool = False, mask: fields.Mask | None = None) -> dict:
    wanted: dict[int, list] = {}
    for text in ranges:
        sheet, sr, er, sc, ec = book.resolve(text)
        wanted.setdefault(sheet.id, []).append((sr, er, sc, ec))
    sheets = []
    for sheet in book.sheets:
        if ranges and sheet.id not in wanted:
            continue
        entry: dict = {"properties": copy.deepcopy(sheet.properties)}
        if grid_data:
            boxes = wanted.get(sheet.id) or [(0, sheet.row_count, 0, sheet.column_count)]
            entry["data"] = [_grid_data(book, sheet, *box, parts=_grid_parts(mask)) for box in boxes]
        if sheet.merges:
            entry["merges"] = [public_range(m) for m in sheet.merges]
        if sheet.conditional_formats:
            entry["conditionalFormats"] = copy.deepcopy(sheet.conditional_formats)
        if sheet.protected_ranges:
            entry["protectedRanges"] = [_protected_range(book, p) for p in sheet.protected_ranges]
        if sheet.basic_filter:
            entry["basicFilter"] = {**copy.deepcopy(sheet.basic_filter),
                                    "range": public_range(sheet.basic_filter.get("range") or {})}
        if sheet.filter_views:
            entry["filterViews"] = [{**copy.deepcopy(v), "range": public_range(v.get("range") or {})}
                                    for v in sheet.filter_views]
        if sheet.charts:
            entry["charts"] = copy.deepcopy(sheet.charts)
        on_sheet = [metadata.get(book, m["metadataId"]) for m in book.developer_metadata
                    if m["location"]["locationType"] == "SHEET" and m["location"]["sheetId"] == sheet.id]
        if on_sheet:
            entry["developerMetadata"] = on_sheet
        sheets.append(entry)
    out = {"spreadsheetId": book.id, "properties": copy.deepcopy(book.properties), "sheets": sheets}
    if book.named_ranges:
        out["namedRanges"] = [{**n, "range": public_range(n["range"])} for n in copy.deepcopy(book.named_ranges)]
    top = [metadata.get(book, m["metadataId"]) for m in book.developer_metadata
           if m["location"]["locationType"] == "SPREADSHEET"]
    if top:
        out["developerMetadata"] = top
    out["spreadsheetUrl"] = spreadsheet_url(book.id)
    if mask:
        out = _trim(fields.select(out, mask))
    return out


def wants_grid_data(mask: fields.Mask) -> bool:
    if "*" in mask:
        return True
    sheets = mask.get("sheets")
    return sheets is not None and (sheets == {} or "data" in sheets or "*" in sheets)


def get(book: Spreadsheet, query: dict) -> dict:
    mask = fields.parse(query["fields"][0]) if query.get("fields") else None
    if mask is not None:
        grid_data = wants_grid_data(mask)
    else:
        grid_data = (query.get("includeGridData") or ["false"])[0].lower() == "true"
    return render(book, ranges=query.get("ranges", []), grid_data=grid_data, mask=mask)


def get_by_data_filter(book: Spreadsheet, body: dict, query: dict) -> dict:
    ranges = []
    for flt in body.get("dataFilters") or []:
        ranges.extend(filter_ranges(book, flt))
    mask = fields.parse(query["fields"][0]) if query.get("fields") else None
    grid_data = wants_grid_data(mask) if mask is not None else bool(body.get("includeGridData"))
    return render(book, ranges=ranges, grid_data=grid_data, mask=mask)


def filter_ranges(book: Spreadsheet, flt: dict) -> list[str]:
    """A DataFilter -> the A1 ranges it selects."""
    if "a1Range" in flt:
        return [flt["a1Range"]]
    if "gridRange" in flt:
        sheet, sr, er, sc, ec = bounds(book, flt["gridRange"])
        return [a1.format_range(sheet.title, sr, er, sc, ec)]
    if "developerMetadataLookup" in flt:
        return [t for m in book.developer_metadata if metadata.matches(book, m, flt)
                if (t := metadata.range_text(book, m))]
    raise invalid("Invalid dataFilter: one of developerMetadataLookup, a1Range or gridRange is required.")


def batch_update(book: Spreadsheet, body: dict, ctx: batch.Context) -> dict:
    replies = batch.apply(book, body.get("requests"), ctx)
    out = {"spreadsheetId": book.id, "replies": replies}
    if body.get("includeSpreadsheetInResponse"):
        out["updatedSpreadsheet"] = render(
            book, ranges=body.get("responseRanges") or [], grid_data=bool(body.get("responseIncludeGridData"))
        )
    return out
