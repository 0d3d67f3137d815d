"""Developer metadata: creating entries anchored to the spreadsheet, a sheet or a span of
rows/columns, and matching them against DataFilters (lookup, A1 range, GridRange)."""

from __future__ import annotations

import copy

from . import a1, fields
from .errors import invalid
from .grid import sheet_of
from .model import Spreadsheet


def normalize_location(book: Spreadsheet, location: dict) -> dict:
    if location.get("spreadsheet"):
        return {"locationType": "SPREADSHEET", "spreadsheet": True}
    if "dimensionRange" in location:
        rng = dict(location["dimensionRange"])
        sheet = sheet_of(book, rng.get("sheetId"))
        dimension = rng.get("dimension")
        size = sheet.row_count if dimension == "ROWS" else sheet.column_count
        rng.setdefault("startIndex", 0)
        rng.setdefault("endIndex", size)
        if rng["endIndex"] > size or rng["startIndex"] >= rng["endIndex"]:
            raise invalid("Invalid dimensionRange in developer metadata location.")
        rng["sheetId"] = sheet.id
        kind = "ROW" if dimension == "ROWS" else "COLUMN"
        return {"locationType": kind, "dimensionRange": rng}
    if "sheetId" in location:
        sheet = sheet_of(book, location["sheetId"])
        return {"locationType": "SHEET", "sheetId": sheet.id}
    raise invalid("Developer metadata location must be specified.")


def create(book: Spreadsheet, request: dict, new_id) -> dict:
    meta = copy.deepcopy(request.get("developerMetadata") or {})
    if not meta.get("metadataKey"):
        raise invalid("Developer metadata must have a key.")
    if "visibility" not in meta:
        raise invalid("Developer metadata visibility must be specified.")
    meta_id = meta.get("metadataId") or new_id()
    if any(m["metadataId"] == meta_id for m in book.developer_metadata):
        raise invalid(f"Developer metadata with ID {meta_id} already exists.")
    meta["metadataId"] = meta_id
    meta["location"] = normalize_location(book, meta.get("location") or {})
    book.developer_metadata.append(meta)
    return {"developerMetadata": copy.deepcopy(meta)}


def _public(meta: dict) -> dict:
    out = copy.deepcopy(meta)
    rng = out.get("location", {}).get("dimensionRange")
    if rng and rng.get("sheetId") == 0:
        del rng["sheetId"]
    if rng and rng.get("startIndex") == 0:
        del rng["startIndex"]
    return out


def _overlaps(meta: dict, sheet_id: int, dimension: str | None, start: int, end: int) -> bool:
    loc = meta["location"]
    if loc["locationType"] == "SHEET":
        return loc["sheetId"] == sheet_id
    rng = loc.get("dimensionRange")
    if not rng or rng.get("sheetId", 0) != sheet_id:
        return False
    if dimension and rng["dimension"] != dimension:
        return True
    return rng.get("startIndex", 0) < end and start < rng["endIndex"]


def _matches_lookup(meta: dict, lookup: dict, book: Spreadsheet) -> bool:
    for key in ("metadataId", "metadataKey", "metadataValue", "visibility"):
        if key in lookup and meta.get(key) != lookup[key]:
            return False
    if "locationType" in lookup and meta["location"]["locationType"] != lookup["locationType"]:
        return False
    wanted = lookup.get("metadataLocation")
    if wanted:
        location = normalize_location(book, wanted)
        strategy = lookup.get("locationMatchingStrategy", "EXACT_LOCATION")
        if strategy == "EXACT_LOCATION":
            return _public(meta)["location"] == _public({"location": location})["location"]
        rng = location.get("dimensionRange")
        if rng:
            return _overlaps(meta, rng["sheetId"], rng["dimension"], rng["startIndex"], rng["endIndex"])
        if location["locationType"] == "SHEET":
            return _overlaps(meta, location["sheetId"], None, 0, 1 << 31)
    return True


def matches(book: Spreadsheet, meta: dict, data_filter: dict) -> bool:
    if "developerMetadataLookup" in data_filter:
        return _matches_lookup(meta, data_filter["developerMetadataLookup"], book)
    if "gridRange" in data_filter:
        rng = data_filter["gridRange"]
        sheet = sheet_of(book, rng.get("sheetId"))
        return _overlaps(meta, sheet.id, "ROWS", rng.get("startRowIndex", 0), rng.get("endRowIndex", 1 << 31)) and _overlaps(
            meta, sheet.id, "COLUMNS", rng.get("startColumnIndex", 0), rng.get("endColumnIndex", 1 << 31)
        )
    if "a1Range" in data_filter:
        sheet, sr, er, sc, ec = book.resolve(data_filter["a1Range"])
        return _overlaps(meta, sheet.id, "ROWS", sr, er) and _overlaps(meta, sheet.id, "COLUMNS", sc, ec)
    raise invalid("Invalid dataFilter: one of developerMetadataLookup, a1Range or gridRange is required.")


def search(book: Spreadsheet, data_filters: list[dict]) -> dict:
    matched = []
    for meta in book.developer_metadata:
        hits = [f for f in data_filters if matches(book, meta, f)]
        if hits:
            matched.append({"developerMetadata": _public(meta), "dataFilters": hits})
    return {"matchedDeveloperMetadata": matched} if matched else {}


def get(book: Spreadsheet, metadata_id: int) -> dict | None:
    meta = next((m for m in book.developer_metadata if m["metadataId"] == metadata_id), None)
    return _public(meta) if meta else None


def delete(book: Spreadsheet, data_filter: dict) -> dict:
    gone = [m for m in book.developer_metadata if matches(book, m, data_filter)]
    book.developer_metadata = [m for m in book.developer_metadata if not any(m is g for g in gone)]
    return {"deletedDeveloperMetadata": [_public(m) for m in gone]} if gone else {}


def update(book: Spreadsheet, request: dict) -> dict:
    mask = fields.parse(request.get("fields") or "")
    if not mask:
        raise invalid("At least one field must be updated, but none was specified")
    source = copy.deepcopy(request.get("developerMetadata") or {})
    if "location" in source:
        source["location"] = normalize_location(book, source["location"])
    changed = []
    for meta in book.developer_metadata:
        if any(matches(book, meta, f) for f in request.get("dataFilters", [])):
            fields.apply_update(meta, source, mask)
            changed.append(_public(meta))
    return {"developerMetadata": changed} if changed else {}


def sheet_location(meta: dict) -> int | None:
    loc = meta["location"]
    if loc["locationType"] == "SHEET":
        return loc["sheetId"]
    rng = loc.get("dimensionRange")
    return rng.get("sheetId", 0) if rng else None


def range_text(book: Spreadsheet, meta: dict) -> str | None:
    """A1 text for row/column metadata, used when a values request selects by metadata."""
    rng = meta["location"].get("dimensionRange")
    if not rng:
        return None
    sheet = book.sheet_by_id(rng.get("sheetId", 0))
    start, end = rng.get("startIndex", 0), rng["endIndex"]
    if rng["dimension"] == "ROWS":
        return a1.format_range(sheet.title, start, end, 0, sheet.column_count)
    return a1.format_range(sheet.title, 0, sheet.row_count, start, end)
