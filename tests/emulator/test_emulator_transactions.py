"""A failing request changes nothing, even after its earlier parts edited, shifted and
re-sorted a large grid; and the fast response encoder lays out JSON exactly as json does."""

from __future__ import annotations

import json
import random

import pytest

from sheetcrm.emulator import Emulator
from sheetcrm.emulator.errors import ApiError
from sheetcrm.emulator.server import pretty_json

ROWS = 3000


@pytest.fixture
def emu():
    with Emulator(seed=7) as emulator:
        yield emulator


def _big(emu) -> tuple[str, int]:
    rows = [["Name", "Amount", "Due"]] + [[f"Lead {i}", (i * 37) % 1000, "2024-03-01"] for i in range(ROWS - 1)]
    sid = emu.create_spreadsheet("big", {"Leads": rows, "Other": [["x"]]})
    return sid, emu.sheet_id(sid, "Leads")


def _state(emu, sid) -> dict:
    return json.loads(json.dumps(emu.service.book(sid).to_json()))


def _changed(before: dict, after: dict) -> list[str]:
    """Which parts differ; a plain == on two large states would have pytest diff megabytes."""
    parts = [k for k in before if k not in ("sheets", "modified") and before[k] != after[k]]
    if len(before["sheets"]) != len(after["sheets"]):
        return parts + ["number of sheets"]
    for i, (old, new) in enumerate(zip(before["sheets"], after["sheets"])):
        parts += [f"sheets[{i}].{k}" for k in old.keys() | new.keys() if old.get(k) != new.get(k)]
    return parts


def _edits(sheet_id: int) -> list[dict]:
    cells = {"rows": [{"values": [{"userEnteredValue": {"stringValue": f"new {i}"}}]} for i in range(50)],
             "fields": "userEnteredValue"}
    grid = {"sheetId": sheet_id}
    return [
        {"updateCells": {**cells, "start": {"sheetId": sheet_id, "rowIndex": 10, "columnIndex": 0}}},
        {"repeatCell": {"range": {**grid, "startRowIndex": 5, "endRowIndex": 8},
                        "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}}, "fields": "userEnteredFormat"}},
        {"insertDimension": {"range": {**grid, "dimension": "ROWS", "startIndex": 2, "endIndex": 7}}},
        # Rows 12..14 now hold untouched rows 7..9 and rows 15.. the ones written above.
        {"updateCells": {**cells, "start": {"sheetId": sheet_id, "rowIndex": 12, "columnIndex": 1}}},
        {"sortRange": {"range": {**grid, "startRowIndex": 1}, "sortSpecs": [{"dimensionIndex": 1}]}},
        {"deleteDimension": {"range": {**grid, "dimension": "ROWS", "startIndex": 100, "endIndex": 200}}},
        {"deleteDimension": {"range": {**grid, "dimension": "COLUMNS", "startIndex": 2, "endIndex": 3}}},
        {"updateCells": {**cells, "start": {"sheetId": sheet_id, "rowIndex": 40, "columnIndex": 0}}},
        {"updateSheetProperties": {"properties": {"sheetId": sheet_id, "title": "Renamed",
                                                  "gridProperties": {"rowCount": 500, "columnCount": 1}},
                                   "fields": "title,gridProperties(rowCount,columnCount)"}},
        {"addSheet": {"properties": {"title": "Added"}}},
        {"createDeveloperMetadata": {"developerMetadata": {
            "metadataKey": "k", "location": {"sheetId": sheet_id}, "visibility": "DOCUMENT"}}},
    ]


def test_a_failing_batch_leaves_a_large_sheet_exactly_as_it_was(emu):
    sid, sheet_id = _big(emu)
    before = _state(emu, sid)
    with pytest.raises(ApiError, match="No grid with id: 999"):
        emu.apply(sid, _edits(sheet_id) + [{"deleteSheet": {"sheetId": 999}}])
    assert _changed(before, _state(emu, sid)) == []
    # Nothing of the failed batch lingers to leak into the next one.
    emu.apply(sid, [{"updateCells": {"start": {"sheetId": sheet_id, "rowIndex": 1}, "fields": "userEnteredValue",
                                     "rows": [{"values": [{"userEnteredValue": {"stringValue": "kept"}}]}]}}])
    values = emu.values(sid, "Leads")
    assert values[1][0] == "kept" and values[2] == ["Lead 1", 37, "2024-03-01"] and len(values) == ROWS


def test_a_failing_batch_undoes_emptied_rows_and_a_narrowed_grid(emu):
    sid, sheet_id = _big(emu)
    before = _state(emu, sid)
    row_1 = {"sheetId": sheet_id, "startRowIndex": 1, "endRowIndex": 2, "startColumnIndex": 0, "endColumnIndex": 3}
    with pytest.raises(ApiError):
        emu.apply(sid, [
            {"repeatCell": {"range": row_1, "cell": {"userEnteredValue": {"stringValue": "tmp"}},
                            "fields": "userEnteredValue"}},
            {"updateCells": {"range": row_1, "fields": "userEnteredValue"}},
            {"updateSheetProperties": {"properties": {"sheetId": sheet_id, "gridProperties": {"columnCount": 1}},
                                       "fields": "gridProperties.columnCount"}},
            {"deleteSheet": {"sheetId": 999}},
        ])
    assert _changed(before, _state(emu, sid)) == []


def test_the_same_batch_succeeding_applies_like_a_fresh_copy(emu):
    """Succeeding, the batch edits the live sheet in place; the result must equal the same
    batch applied to a spreadsheet that never saw a rollback."""
    sid, sheet_id = _big(emu)
    with pytest.raises(ApiError):
        emu.apply(sid, _edits(sheet_id) + [{"deleteSheet": {"sheetId": 999}}])
    emu.apply(sid, _edits(sheet_id))
    with Emulator(seed=7) as fresh:
        other, other_sheet = _big(fresh)
        fresh.apply(other, _edits(other_sheet))
        assert emu.values(sid, "Renamed") == fresh.values(other, "Renamed")
    assert len(emu.values(sid, "Renamed")) == 500


def test_a_failing_values_batch_update_keeps_the_ranges_it_wrote(emu):
    sid, _ = _big(emu)
    before = _state(emu, sid)
    status, body = emu.service.handle("POST", f"/v4/spreadsheets/{sid}/values:batchUpdate", json.dumps({
        "valueInputOption": "RAW",
        "data": [{"range": "Leads!A2:C3", "values": [["a", "b", "c"], ["d", "e", "f"]]},
                 {"range": "Leads!A5000", "values": [["grows the grid"]]},
                 {"range": "Nowhere!A1", "values": [["x"]]}],
    }).encode())
    assert status == 400 and "Invalid data[2]" in body["error"]["message"]
    assert _changed(before, _state(emu, sid)) == []


def _scalar(rnd: random.Random):
    return rnd.choice(["", "a,\nb", "x],\n[y", 'é\u2028"q\\', "[]", -3, 10**20, 0.1, 1e300 * 10, True, False, None])


def _structure(rnd: random.Random, depth: int = 0):
    kind = rnd.random()
    if depth > 4 or kind < 0.3:
        return _scalar(rnd)
    if kind < 0.5:
        return [[_scalar(rnd) for _ in range(rnd.randint(0, 3))] for _ in range(rnd.randint(0, 4))]
    if kind < 0.75:
        return [_structure(rnd, depth + 1) for _ in range(rnd.randint(0, 4))]
    if kind < 0.8:
        return {1: "non-string key", "a": [[1]]}
    return {f"k{i}\n": _structure(rnd, depth + 1) for i in range(rnd.randint(0, 4))}


def test_pretty_json_is_json_dumps_with_indent_2():
    rnd = random.Random(3)
    for _ in range(5000):
        obj = _structure(rnd)
        assert pretty_json(obj) == json.dumps(obj, indent=2, ensure_ascii=False)
