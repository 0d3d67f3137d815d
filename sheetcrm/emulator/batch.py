"""spreadsheets.batchUpdate: one handler per request kind.

The caller runs the whole list in a transaction that is undone unless every request
succeeded, so a handler may mutate freely and simply raise on bad input; cells change
only through ``Sheet.put`` and ``Sheet.replace_cells``, which the transaction journals.
Handlers return the reply object, or None where Google replies with ``{}``.
"""

from __future__ import annotations

import copy
from typing import Callable

from . import access, dimensions, fields, find, grid, metadata, paste, references, values
from .errors import ApiError, invalid
from .format import drop_stale_twins, new_sheet_properties, normalize_cell_format, normalize_sheet_properties
from .model import DEFAULT_COLUMNS, DEFAULT_ROWS, Sheet, Spreadsheet


class Context:
    """What handlers need besides the spreadsheet: fresh IDs and the caller's identity."""

    def __init__(self, new_id: Callable[[], int], account: str, *, guarded: bool = False):
        self.new_id = new_id
        self.account = account
        # A request over HTTP, which a person's sharing and protections bind (`access`); the
        # test helpers act as the spreadsheet's owner.
        self.guarded = guarded


HANDLERS: dict[str, Callable] = {}


def handler(name: str):
    def register(fn):
        HANDLERS[name] = fn
        return fn

    return register


def apply(book: Spreadsheet, requests: list, ctx: Context) -> list[dict]:
    if not isinstance(requests, list) or not requests:
        raise invalid("Must specify at least one request.")
    replies = []
    for i, request in enumerate(requests):
        if not isinstance(request, dict) or len(request) != 1:
            raise invalid(f"Invalid requests[{i}]: No request set.")
        (kind, body), = request.items()
        fn = HANDLERS.get(kind)
        if fn is None:
            raise invalid(f"Invalid JSON payload received. Unknown name \"{kind}\" at 'requests[{i}]': Cannot find field.")
        try:
            before = access.locked(book) if ctx.guarded else {}
            reply = fn(book, body or {}, ctx)
            access.check_unchanged(before, access.locked(book))
        except ApiError as err:
            if err.code == 400 and not err.message.startswith("Invalid requests["):
                err.message = f"Invalid requests[{i}].{kind}: {err.message}"
            raise
        replies.append({kind: reply} if reply is not None else {})
    book.check_cell_limit()
    return replies


def _mask(body: dict) -> fields.Mask:
    text = body.get("fields")
    if not text:
        raise invalid("At least one field must be updated, but none was specified")
    return fields.parse(text)


# -- sheets ------------------------------------------------------------------------
def _default_title(book: Spreadsheet) -> str:
    n = len(book.sheets) + 1
    while book.sheet_by_title(f"Sheet{n}"):
        n += 1
    return f"Sheet{n}"


def _check_title(book: Spreadsheet, title: str, sheet_id: int | None = None) -> None:
    if not title:
        raise invalid("Sheet title cannot be empty.")
    other = book.sheet_by_title(title)
    if other is not None and other.id != sheet_id:
        raise invalid(f'A sheet with the name "{title}" already exists. Please enter another name.')


@handler("addSheet")
def add_sheet(book: Spreadsheet, body: dict, ctx: Context):
    given = copy.deepcopy(body.get("properties") or {})
    title = given.get("title") or _default_title(book)
    _check_title(book, title)
    sheet_id = given.get("sheetId")
    if sheet_id is None:
        sheet_id = ctx.new_id()
    elif book.sheet_by_id(sheet_id):
        raise invalid(f"A sheet with the ID {sheet_id} already exists. Please enter another ID.")
    index = min(given.get("index", len(book.sheets)), len(book.sheets))
    props = new_sheet_properties(given, sheet_id, title, index, DEFAULT_ROWS, DEFAULT_COLUMNS)
    book.add_sheet(props)
    return {"properties": copy.deepcopy(props)}


@handler("deleteSheet")
def delete_sheet(book: Spreadsheet, body: dict, ctx: Context):
    sheet = grid.sheet_of(book, body.get("sheetId"))
    if len(book.sheets) == 1:
        raise invalid("You can't remove all the sheets in a document.")
    book.sheets.remove(sheet)
    book.reindex()
    book.developer_metadata = [m for m in book.developer_metadata if metadata.sheet_location(m) != sheet.id]


@handler("duplicateSheet")
def duplicate_sheet(book: Spreadsheet, body: dict, ctx: Context):
    source = grid.sheet_of(book, body.get("sourceSheetId"))
    copy_ = source.clone()
    title = body.get("newSheetName") or f"Copy of {source.title}"
    _check_title(book, title)
    copy_.properties["title"] = title
    copy_.properties["sheetId"] = body.get("newSheetId") or ctx.new_id()
    # The copy's merges and filter are the copy's: Google echoes them with its sheetId.
    for rng in [*copy_.merges, *([copy_.basic_filter["range"]] if copy_.basic_filter else []),
                *(v["range"] for v in copy_.filter_views if "range" in v)]:
        rng["sheetId"] = copy_.id
    for view in copy_.filter_views:
        view["filterViewId"] = ctx.new_id()
    index = body.get("insertSheetIndex", source.properties["index"] + 1)
    book.sheets.insert(min(index, len(book.sheets)), copy_)
    book.reindex()
    return {"properties": copy.deepcopy(copy_.properties)}


@handler("updateSheetProperties")
def update_sheet_properties(book: Spreadsheet, body: dict, ctx: Context):
    given = body.get("properties") or {}
    sheet = grid.sheet_of(book, given.get("sheetId"))
    mask = _mask(body)
    old_title = sheet.title
    old_rows, old_cols = sheet.row_count, sheet.column_count
    old_index = sheet.properties["index"]
    updated = copy.deepcopy(sheet.properties)
    fields.apply_update(updated, given, mask)
    drop_stale_twins(updated, fields.paths(mask))
    updated["sheetId"] = sheet.id
    if updated.get("title") != sheet.title:
        _check_title(book, updated.get("title"), sheet.id)
    gp = updated.setdefault("gridProperties", {})
    rows, cols = gp.get("rowCount", old_rows), gp.get("columnCount", old_cols)
    if rows < 1 or cols < 1:
        raise invalid("Sheet must have at least one row and one column.")
    gp["rowCount"], gp["columnCount"] = old_rows, old_cols
    normalize_sheet_properties(updated)
    sheet.properties = updated
    sheet.resize(rows, cols)
    if ("index",) in fields.paths(mask) or "*" in mask:
        # Sheets counts the target index before the move, so moving right lands one less.
        target = given.get("index", 0)
        book.sheets.remove(sheet)
        position = target if target <= old_index else target - 1
        book.sheets.insert(max(0, min(position, len(book.sheets))), sheet)
    book.reindex()
    if sheet.title != old_title:
        references.retitle_formulas(book, old_title, sheet)


@handler("updateSpreadsheetProperties")
def update_spreadsheet_properties(book: Spreadsheet, body: dict, ctx: Context):
    mask = _mask(body)
    fields.apply_update(book.properties, body.get("properties") or {}, mask)


# -- dimensions --------------------------------------------------------------------
@handler("appendDimension")
def append_dimension(book: Spreadsheet, body: dict, ctx: Context):
    sheet = grid.sheet_of(book, body.get("sheetId"))
    length = body.get("length", 0)
    if length < 1:
        raise invalid("Length must be greater than zero.")
    if body.get("dimension") == "ROWS":
        sheet.grid["rowCount"] = sheet.row_count + length
    elif body.get("dimension") == "COLUMNS":
        sheet.grid["columnCount"] = sheet.column_count + length
    else:
        raise invalid("Invalid dimension: must be ROWS or COLUMNS.")


@handler("insertDimension")
def insert_dimension(book: Spreadsheet, body: dict, ctx: Context):
    sheet, dimension, start, end = grid.dimension_bounds(book, body.get("range") or {})
    size = sheet.row_count if dimension == "ROWS" else sheet.column_count
    if start > size:
        raise invalid(f"Invalid insertDimension range: startIndex {start} is after the end of the grid ({size}).")
    if end == start:
        raise invalid("Range must contain at least one row or column.")
    if body.get("inheritFromBefore") and start == 0:
        raise invalid("Cannot inherit from before when inserting at the start of the grid.")
    dimensions.insert(book, sheet, dimension, start, end, bool(body.get("inheritFromBefore")))


@handler("deleteDimension")
def delete_dimension(book: Spreadsheet, body: dict, ctx: Context):
    sheet, dimension, start, end = grid.dimension_bounds(book, body.get("range") or {})
    size = sheet.row_count if dimension == "ROWS" else sheet.column_count
    end = min(end, size)
    if start >= end:
        raise invalid("Range must contain at least one row or column.")
    if start == 0 and end >= size:
        noun = "rows" if dimension == "ROWS" else "columns"
        raise invalid(f"You can't delete all the {noun} on the sheet.")
    dimensions.delete(book, sheet, dimension, start, end)


@handler("moveDimension")
def move_dimension(book: Spreadsheet, body: dict, ctx: Context):
    sheet, dimension, start, end = grid.dimension_bounds(book, body.get("source") or {})
    dimensions.move(book, sheet, dimension, start, end, body.get("destinationIndex", 0))


@handler("updateDimensionProperties")
def update_dimension_properties(book: Spreadsheet, body: dict, ctx: Context):
    sheet, dimension, start, end = grid.dimension_bounds(book, body.get("range") or {})
    mask = _mask(body)
    store = sheet.row_meta if dimension == "ROWS" else sheet.col_meta
    size = sheet.row_count if dimension == "ROWS" else sheet.column_count
    if end > size:
        raise invalid(f"Invalid range: endIndex {end} is after the end of the grid ({size}).")
    for i in range(start, end):
        props = copy.deepcopy(store.get(i, {}))
        fields.apply_update(props, body.get("properties") or {}, mask)
        props = {k: v for k, v in props.items() if v not in (False, None)}
        if props:
            store[i] = props
        else:
            store.pop(i, None)


@handler("autoResizeDimensions")
def auto_resize_dimensions(book: Spreadsheet, body: dict, ctx: Context):
    # There is no rendering here, so only the request's validity can be honoured.
    grid.dimension_bounds(book, body.get("dimensions") or {})


# -- cells ---------------------------------------------------------------------------
def _write_cell(sheet, r: int, c: int, data: dict, mask: fields.Mask) -> None:
    data = copy.deepcopy(data)
    entered = data.get("userEnteredValue") or {}
    for text in (entered.get("stringValue"), entered.get("formulaValue"), data.get("note")):
        if isinstance(text, str):
            values.check_length(text)
    if isinstance(data.get("userEnteredFormat"), dict):
        data["userEnteredFormat"] = normalize_cell_format(data["userEnteredFormat"])
    cell = copy.deepcopy(sheet.cell(r, c) or {})
    fields.apply_update(cell, data, mask)
    if isinstance(cell.get("userEnteredFormat"), dict):
        touched = [p[1:] for p in fields.paths(mask) if p[0] == "userEnteredFormat"]
        drop_stale_twins(cell["userEnteredFormat"], touched)
        cell["userEnteredFormat"] = normalize_cell_format(cell["userEnteredFormat"])
    sheet.put(r, c, cell)


@handler("updateCells")
def update_cells(book: Spreadsheet, body: dict, ctx: Context):
    mask = _mask(body)
    rows = body.get("rows") or []
    if "range" in body:
        sheet, sr, er, sc, ec = grid.bounds(book, body["range"])
        for r in range(sr, er):
            row = rows[r - sr].get("values", []) if r - sr < len(rows) else []
            for c in range(sc, ec):
                data = row[c - sc] if c - sc < len(row) else {}
                _write_cell(sheet, r, c, data or {}, mask)
        return None
    start = body.get("start") or {}
    sheet = grid.sheet_of(book, start.get("sheetId"))
    sr, sc = start.get("rowIndex", 0), start.get("columnIndex", 0)
    height = len(rows)
    width = max((len(row.get("values", [])) for row in rows), default=0)
    if sr + height > sheet.row_count or sc + width > sheet.column_count:
        raise grid.exceeds(sheet, sr, sr + max(height, 1), sc, sc + max(width, 1))
    for i, row in enumerate(rows):
        for j, data in enumerate(row.get("values", [])):
            _write_cell(sheet, sr + i, sc + j, data or {}, mask)


@handler("repeatCell")
def repeat_cell(book: Spreadsheet, body: dict, ctx: Context):
    mask = _mask(body)
    sheet, sr, er, sc, ec = grid.bounds(book, body.get("range") or {})
    data = body.get("cell") or {}
    for r in range(sr, er):
        for c in range(sc, ec):
            _write_cell(sheet, r, c, data, mask)


@handler("setDataValidation")
def set_data_validation(book: Spreadsheet, body: dict, ctx: Context):
    sheet, sr, er, sc, ec = grid.bounds(book, body.get("range") or {})
    rule = body.get("rule")
    for r in range(sr, er):
        for c in range(sc, ec):
            _write_cell(sheet, r, c, {"dataValidation": rule} if rule else {}, {"dataValidation": {}})


@handler("updateBorders")
def update_borders(book: Spreadsheet, body: dict, ctx: Context):
    sheet, sr, er, sc, ec = grid.bounds(book, body.get("range") or {})
    sides = {k: body[k] for k in ("top", "bottom", "left", "right") if k in body}
    for r in range(sr, er):
        for c in range(sc, ec):
            own = {k: v for k, v in sides.items() if (k != "top" or r == sr) and (k != "bottom" or r == er - 1)
                   and (k != "left" or c == sc) and (k != "right" or c == ec - 1)}
            inner = {}
            if "innerHorizontal" in body:
                if r > sr:
                    inner["top"] = body["innerHorizontal"]
                if r < er - 1:
                    inner["bottom"] = body["innerHorizontal"]
            if "innerVertical" in body:
                if c > sc:
                    inner["left"] = body["innerVertical"]
                if c < ec - 1:
                    inner["right"] = body["innerVertical"]
            own.update(inner)
            if own:
                mask = {"userEnteredFormat": {"borders": {k: {} for k in own}}}
                _write_cell(sheet, r, c, {"userEnteredFormat": {"borders": own}}, mask)


def _sort_key(book, sheet, r: int, c: int):
    effective = book.effective(sheet, r, c)
    if not effective:
        return None
    if "numberValue" in effective:
        return (0, float(effective["numberValue"]))
    if "stringValue" in effective:
        return (1, effective["stringValue"].lower())
    if "boolValue" in effective:
        return (2, effective["boolValue"])
    return (3, "")


@handler("sortRange")
def sort_range(book: Spreadsheet, body: dict, ctx: Context):
    sheet, sr, er, sc, ec = grid.bounds(book, body.get("range") or {})
    order = list(range(sr, er))
    # Stable sorts applied from the least significant key; blanks always sink to the bottom.
    for spec in reversed(body.get("sortSpecs") or [{"dimensionIndex": sc}]):
        col = spec.get("dimensionIndex", 0)
        descending = spec.get("sortOrder") == "DESCENDING"
        keyed = [(r, _sort_key(book, sheet, r, col)) for r in order]
        filled = [x for x in keyed if x[1] is not None]
        blank = [x for x in keyed if x[1] is None]
        filled.sort(key=lambda x: x[1], reverse=descending)
        order = [r for r, _ in filled + blank]
    dimensions.permute(book, sheet, "ROWS", sr, er, order, sc, ec)


@handler("mergeCells")
def merge_cells(book: Spreadsheet, body: dict, ctx: Context):
    sheet, sr, er, sc, ec = grid.bounds(book, body.get("range") or {})
    for m in sheet.merges:
        if m["startRowIndex"] < er and sr < m["endRowIndex"] and m.get("startColumnIndex", 0) < ec and sc < m["endColumnIndex"]:
            raise invalid("You can't merge cells that overlap an existing merge.")
    boxes = []
    kind = body.get("mergeType", "MERGE_ALL")
    if kind == "MERGE_ROWS":
        boxes = [(r, r + 1, sc, ec) for r in range(sr, er)]
    elif kind == "MERGE_COLUMNS":
        boxes = [(sr, er, c, c + 1) for c in range(sc, ec)]
    else:
        boxes = [(sr, er, sc, ec)]
    for a, b, c, d in boxes:
        sheet.merges.append({"sheetId": sheet.id, "startRowIndex": a, "endRowIndex": b, "startColumnIndex": c, "endColumnIndex": d})


@handler("unmergeCells")
def unmerge_cells(book: Spreadsheet, body: dict, ctx: Context):
    sheet, sr, er, sc, ec = grid.bounds(book, body.get("range") or {})
    sheet.merges = [m for m in sheet.merges if not (
        m["startRowIndex"] < er and sr < m["endRowIndex"] and m.get("startColumnIndex", 0) < ec and sc < m["endColumnIndex"])]


# -- protection, charts, names, filters ----------------------------------------------------
def _find_protected(book: Spreadsheet, range_id):
    for sheet in book.sheets:
        for pr in sheet.protected_ranges:
            if pr["protectedRangeId"] == range_id:
                return sheet, pr
    raise invalid(f"No protected range with id: {range_id}")


@handler("addProtectedRange")
def add_protected_range(book: Spreadsheet, body: dict, ctx: Context):
    given = copy.deepcopy(body.get("protectedRange") or {})
    rng = given.get("range") or {}
    sheet, *_ = grid.bounds(book, rng)
    range_id = given.get("protectedRangeId")
    if range_id is not None and any(p["protectedRangeId"] == range_id for s in book.sheets for p in s.protected_ranges):
        raise invalid(f"A protected range with ID {range_id} already exists.")
    pr = {"protectedRangeId": range_id or ctx.new_id(), "range": rng}
    for key in ("namedRangeId", "description", "unprotectedRanges"):
        if given.get(key):
            pr[key] = given[key]
    if given.get("warningOnly"):
        pr["warningOnly"] = True
    # Whoever adds a protection is among its editors, whatever it asked for.
    pr["requestingUserCanEdit"] = True
    editors = {k: v for k, v in (given.get("editors") or {}).items() if v}
    reply = copy.deepcopy(pr)
    reply["range"] = grid.public(rng)
    reply["editors"] = copy.deepcopy(editors)
    stored_users = list(dict.fromkeys([ctx.account] + editors.get("users", [])))
    pr["editors"] = {**editors, "users": stored_users}
    sheet.protected_ranges.append(pr)
    return {"protectedRange": reply}


@handler("updateProtectedRange")
def update_protected_range(book: Spreadsheet, body: dict, ctx: Context):
    given = body.get("protectedRange") or {}
    _, pr = _find_protected(book, given.get("protectedRangeId"))
    fields.apply_update(pr, given, _mask(body))


@handler("deleteProtectedRange")
def delete_protected_range(book: Spreadsheet, body: dict, ctx: Context):
    sheet, pr = _find_protected(book, body.get("protectedRangeId"))
    sheet.protected_ranges.remove(pr)


def _find_chart(book: Spreadsheet, chart_id):
    for sheet in book.sheets:
        for chart in sheet.charts:
            if chart["chartId"] == chart_id:
                return sheet, chart
    return None, None


@handler("addChart")
def add_chart(book: Spreadsheet, body: dict, ctx: Context):
    chart = copy.deepcopy(body.get("chart") or {})
    if "spec" not in chart:
        raise invalid("Chart spec must be specified.")
    if chart.get("chartId") is not None and _find_chart(book, chart["chartId"])[1] is not None:
        raise invalid(f"An embedded object with ID {chart['chartId']} already exists.")
    chart["chartId"] = chart.get("chartId") or ctx.new_id()
    anchor = ((chart.get("position") or {}).get("overlayPosition") or {}).get("anchorCell") or {}
    sheet_id = anchor.get("sheetId", (chart.get("position") or {}).get("sheetId", 0))
    sheet = grid.sheet_of(book, sheet_id)
    sheet.charts.append(chart)
    return {"chart": copy.deepcopy(chart)}


@handler("updateChartSpec")
def update_chart_spec(book: Spreadsheet, body: dict, ctx: Context):
    _, chart = _find_chart(book, body.get("chartId"))
    if chart is None:
        raise invalid(f"No chart with id: {body.get('chartId')}")
    chart["spec"] = copy.deepcopy(body.get("spec") or {})


@handler("deleteEmbeddedObject")
def delete_embedded_object(book: Spreadsheet, body: dict, ctx: Context):
    sheet, chart = _find_chart(book, body.get("objectId"))
    if chart is None:
        raise invalid(f"No embedded object with id: {body.get('objectId')}")
    sheet.charts.remove(chart)


@handler("addNamedRange")
def add_named_range(book: Spreadsheet, body: dict, ctx: Context):
    named = copy.deepcopy(body.get("namedRange") or {})
    if any(n["name"] == named.get("name") for n in book.named_ranges):
        raise invalid(f"A named range with the name \"{named.get('name')}\" already exists.")
    grid.bounds(book, named.get("range") or {})
    named["namedRangeId"] = named.get("namedRangeId") or str(ctx.new_id())
    book.named_ranges.append(named)
    return {"namedRange": copy.deepcopy(named)}


@handler("deleteNamedRange")
def delete_named_range(book: Spreadsheet, body: dict, ctx: Context):
    before = len(book.named_ranges)
    book.named_ranges = [n for n in book.named_ranges if n["namedRangeId"] != body.get("namedRangeId")]
    if len(book.named_ranges) == before:
        raise invalid(f"No named range with id: {body.get('namedRangeId')}")


@handler("setBasicFilter")
def set_basic_filter(book: Spreadsheet, body: dict, ctx: Context):
    # A sheet holds one basic filter: setting one replaces the last whole (range, criteria,
    # filterSpecs, sortSpecs), and Google keeps the range with its sheetId and ends as sent.
    flt = copy.deepcopy(body.get("filter") or {})
    rng = flt.get("range") or {}
    sheet, *_ = grid.bounds(book, rng)
    flt["range"] = {"sheetId": sheet.id, **{k: v for k, v in rng.items() if k != "sheetId"}}
    sheet.basic_filter = flt


@handler("clearBasicFilter")
def clear_basic_filter(book: Spreadsheet, body: dict, ctx: Context):
    grid.sheet_of(book, body.get("sheetId")).basic_filter = None


def _filter_view(book: Spreadsheet, view_id) -> tuple[Sheet, dict]:
    for sheet in book.sheets:
        for view in sheet.filter_views:
            if view["filterViewId"] == view_id:
                return sheet, view
    raise invalid(f"No filter with id: {view_id}")


def _filter_range(book: Spreadsheet, rng: dict) -> tuple[Sheet, dict]:
    sheet, *_ = grid.bounds(book, rng)
    return sheet, {"sheetId": sheet.id, **{k: v for k, v in rng.items() if k != "sheetId"}}


@handler("addFilterView")
def add_filter_view(book: Spreadsheet, body: dict, ctx: Context):
    view = copy.deepcopy(body.get("filter") or {})
    sheet, view["range"] = _filter_range(book, view.get("range") or {})
    view_id = view.get("filterViewId")
    if view_id is None:
        view_id = ctx.new_id()
    elif any(v["filterViewId"] == view_id for s in book.sheets for v in s.filter_views):
        raise invalid(f"Duplicate filter view id: {view_id}")
    view["filterViewId"] = view_id
    sheet.filter_views.append(view)
    return {"filter": copy.deepcopy(view)}


@handler("updateFilterView")
def update_filter_view(book: Spreadsheet, body: dict, ctx: Context):
    given = copy.deepcopy(body.get("filter") or {})
    sheet, view = _filter_view(book, given.get("filterViewId"))
    updated = copy.deepcopy(view)
    fields.apply_update(updated, given, _mask(body))
    updated["filterViewId"] = view["filterViewId"]
    target, updated["range"] = _filter_range(book, updated.get("range") or {"sheetId": sheet.id})
    if target is not sheet:
        raise invalid("A filter view cannot be moved to another sheet.")
    view.clear()
    view.update(updated)


@handler("deleteFilterView")
def delete_filter_view(book: Spreadsheet, body: dict, ctx: Context):
    sheet, view = _filter_view(book, body.get("filterId"))
    sheet.filter_views.remove(view)


@handler("addConditionalFormatRule")
def add_conditional_format_rule(book: Spreadsheet, body: dict, ctx: Context):
    rule = copy.deepcopy(body.get("rule") or {})
    ranges = rule.get("ranges") or []
    if not ranges:
        raise invalid("Conditional format rule must have at least one range.")
    sheet, *_ = grid.bounds(book, ranges[0])
    index = min(body.get("index", 0), len(sheet.conditional_formats))
    sheet.conditional_formats.insert(index, rule)


@handler("copyPaste")
def copy_paste(book: Spreadsheet, body: dict, ctx: Context):
    paste.copy_paste(book, body)


@handler("findReplace")
def find_replace(book: Spreadsheet, body: dict, ctx: Context):
    return find.find_replace(book, body)


# -- developer metadata ------------------------------------------------------------------
@handler("createDeveloperMetadata")
def create_developer_metadata(book: Spreadsheet, body: dict, ctx: Context):
    return metadata.create(book, body, ctx.new_id)


@handler("updateDeveloperMetadata")
def update_developer_metadata(book: Spreadsheet, body: dict, ctx: Context):
    return metadata.update(book, body)


@handler("deleteDeveloperMetadata")
def delete_developer_metadata(book: Spreadsheet, body: dict, ctx: Context):
    return metadata.delete(book, body.get("dataFilter") or {})

