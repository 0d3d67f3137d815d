"""copyPaste in the emulator, over real HTTP: what each paste type carries, formulas' relative
references moved by the offset, repeats, merges, and Google's errors for bad ranges."""

from __future__ import annotations

import pytest

from sheetcrm.emulator import Emulator
from sheetcrm.emulator.paste import shift_formula
from sheetcrm.emulator.session import emulator_session

API = "https://sheets.googleapis.com/v4/spreadsheets"


@pytest.fixture
def emu():
    with Emulator(seed=3) as emulator:
        yield emulator


@pytest.fixture
def http(emu):
    session = emulator_session(emu.host)
    yield session
    session.close()


def batch(http, sid, *requests_):
    return http.post(f"{API}/{sid}:batchUpdate", json={"requests": list(requests_)})


def cells(http, sid, rng):
    answer = http.get(f"{API}/{sid}", params={"ranges": rng, "includeGridData": "true"}).json()
    data = answer["sheets"][0]["data"][0]
    return [row.get("values", []) for row in data.get("rowData", [])]


def formulas(http, sid, rng):
    return http.get(f"{API}/{sid}/values/{rng}", params={"valueRenderOption": "FORMULA"}).json().get("values", [])


def box(sheet_id, top, bottom, left, right):
    return {"sheetId": sheet_id, "startRowIndex": top, "endRowIndex": bottom,
            "startColumnIndex": left, "endColumnIndex": right}


def test_shift_formula_moves_relative_parts_only():
    assert shift_formula("=B5*2+$C$1+C$2+$D3", 3, 1) == "=C8*2+$C$1+D$2+$D6"
    assert shift_formula("=SUM(A1:B2)+Other!A1+'My Tab'!B2", 1, 0) == "=SUM(A2:B3)+Other!A2+'My Tab'!B3"
    assert shift_formula('=LOG10(A1)&"A1"', 1, 1) == '=LOG10(B2)&"A1"'
    assert shift_formula("=SUM(B:C)+SUM(2:3)", 1, 1) == "=SUM(C:D)+SUM(3:4)"
    assert shift_formula("=A2+B3", -2, 0) == "=#REF!+B1"
    assert shift_formula("=A2", 0, 0) == "=A2"


def test_paste_normal_carries_values_formulas_formats_notes_and_validation(emu, http):
    sid = emu.create_spreadsheet("p", {"Src": [["ID", "Name", "N"], ["A-1", "Ann", 4], ["A-2", "Bo", 5]],
                                       "Dst": [["x"]]})
    src, dst = emu.sheet_id(sid, "Src"), emu.sheet_id(sid, "Dst")
    rule = {"condition": {"type": "ONE_OF_LIST", "values": [{"userEnteredValue": "Ann"}]}, "strict": False}
    assert batch(http, sid,
                 {"updateCells": {"start": {"sheetId": src, "rowIndex": 1, "columnIndex": 3},
                                  "rows": [{"values": [{"userEnteredValue": {"formulaValue": "=C2*2+$C$3"},
                                                        "note": "check",
                                                        "userEnteredFormat": {"textFormat": {"bold": True}}}]}],
                                  "fields": "userEnteredValue,note,userEnteredFormat.textFormat.bold"}},
                 {"setDataValidation": {"range": box(src, 1, 2, 1, 2), "rule": rule}}).ok
    # Row 2 of Src onto row 4 of Dst: the formula's relative row moves by 2, $C$3 stays.
    answer = batch(http, sid, {"copyPaste": {"source": box(src, 1, 2, 0, 4), "destination": box(dst, 3, 4, 0, 4),
                                             "pasteType": "PASTE_NORMAL"}})
    assert answer.ok, answer.text
    assert answer.json()["replies"] == [{}]
    assert formulas(http, sid, "Dst!A4:D4") == [["A-1", "Ann", 4, "=C4*2+$C$3"]]
    row = cells(http, sid, "Dst!A4:D4")[0]
    assert row[3]["note"] == "check" and row[3]["userEnteredFormat"]["textFormat"]["bold"] is True
    assert row[1]["dataValidation"]["condition"]["type"] == "ONE_OF_LIST"
    # The same row back at its own place in another tab: nothing moves, and back again.
    assert batch(http, sid, {"copyPaste": {"source": box(src, 1, 2, 0, 4), "destination": box(dst, 1, 2, 0, 4)}}).ok
    assert formulas(http, sid, "Dst!D2") == [["=C2*2+$C$3"]]


def test_paste_types_and_repeats(emu, http):
    sid = emu.create_spreadsheet("p", {"S": [[1, 2], [3, 4]]})
    s = emu.sheet_id(sid, "S")
    assert batch(http, sid,
                 {"updateCells": {"start": {"sheetId": s, "rowIndex": 0, "columnIndex": 2},
                                  "rows": [{"values": [{"userEnteredValue": {"formulaValue": "=A1+B1"},
                                                        "userEnteredFormat": {"textFormat": {"italic": True}}}]}],
                                  "fields": "userEnteredValue,userEnteredFormat.textFormat.italic"}}).ok
    # PASTE_VALUES: the formula's result, no format; PASTE_FORMAT: the format, not the value.
    assert batch(http, sid, {"copyPaste": {"source": box(s, 0, 1, 2, 3), "destination": box(s, 5, 6, 0, 1),
                                           "pasteType": "PASTE_VALUES"}},
                 {"copyPaste": {"source": box(s, 0, 1, 2, 3), "destination": box(s, 5, 6, 1, 2),
                                "pasteType": "PASTE_FORMAT"}}).ok
    row = cells(http, sid, "S!A6:B6")[0]
    assert row[0]["userEnteredValue"] == {"numberValue": 3} and "userEnteredFormat" not in row[0]
    assert "userEnteredValue" not in row[1] and row[1]["userEnteredFormat"]["textFormat"]["italic"] is True
    # A destination twice the source's height repeats it; a smaller one still gets all of it.
    assert batch(http, sid, {"copyPaste": {"source": box(s, 0, 1, 0, 2), "destination": box(s, 10, 12, 0, 2)}},
                 {"copyPaste": {"source": box(s, 0, 2, 0, 2), "destination": box(s, 20, 21, 0, 1)}}).ok
    assert formulas(http, sid, "S!A11:B12") == [[1, 2], [1, 2]]
    assert formulas(http, sid, "S!A21:B22") == [[1, 2], [3, 4]]
    # TRANSPOSE: rows become columns.
    assert batch(http, sid, {"copyPaste": {"source": box(s, 0, 2, 0, 2), "destination": box(s, 30, 31, 0, 1),
                                           "pasteOrientation": "TRANSPOSE"}}).ok
    assert formulas(http, sid, "S!A31:B32") == [[1, 3], [2, 4]]


def test_bad_ranges_fail_the_batch_as_google_does(emu, http):
    sid = emu.create_spreadsheet("p", {"S": [["keep"]]})
    s = emu.sheet_id(sid, "S")
    beyond = batch(http, sid, {"copyPaste": {"source": box(s, 0, 1, 0, 1), "destination": box(s, 1000, 1001, 0, 1)}})
    assert beyond.status_code == 400
    assert beyond.json()["error"]["message"] == (
        "Invalid requests[0].copyPaste: Range (S!A1001) exceeds grid limits. Max rows: 1000, max columns: 26")
    outside = batch(http, sid, {"copyPaste": {"source": box(s, 0, 1001, 0, 1), "destination": box(s, 0, 1, 1, 2)}})
    assert outside.status_code == 400 and "exceeds grid limits" in outside.json()["error"]["message"]
    nowhere = batch(http, sid, {"copyPaste": {"source": box(99, 0, 1, 0, 1), "destination": box(s, 0, 1, 1, 2)}})
    assert nowhere.json()["error"]["message"] == "Invalid requests[0].copyPaste: No grid with id: 99"
    kind = batch(http, sid, {"copyPaste": {"source": box(s, 0, 1, 0, 1), "destination": box(s, 0, 1, 1, 2),
                                           "pasteType": "PASTE_EVERYTHING"}})
    assert kind.status_code == 400 and "PasteType" in kind.json()["error"]["message"]
    assert emu.values(sid, "S") == [["keep"]]
