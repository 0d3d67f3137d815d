"""Behaviour the recorded cassettes do not exercise, checked over real HTTP."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
import requests
from discovery import Discovery

from sheetcrm.emulator import Emulator
from sheetcrm.emulator.session import emulator_session

API = "https://sheets.googleapis.com/v4/spreadsheets"


@pytest.fixture
def emu():
    with Emulator(seed=7) as emulator:
        yield emulator


@pytest.fixture
def http(emu):
    session = emulator_session(emu.host)
    yield session
    session.close()


def values_url(sid: str, rng: str, suffix: str = "") -> str:
    return f"{API}/{sid}/values/{quote(rng, safe='')}{suffix}"


def put(http, sid, rng, rows, option="USER_ENTERED"):
    return http.put(values_url(sid, rng), params={"valueInputOption": option}, json={"values": rows})


def get(http, sid, rng, **params):
    return http.get(values_url(sid, rng), params=params)


def batch(http, sid, *requests_):
    return http.post(f"{API}/{sid}:batchUpdate", json={"requests": list(requests_)})


# -- A1 notation -------------------------------------------------------------------------
def test_a1_forms_are_normalised_like_google(emu, http):
    sid = emu.create_spreadsheet("a1", {"It's": [["a", "b", "c"], ["d", "e", "f"]], "My Tab": [["x"]]})
    assert get(http, sid, "'It''s'!A1:B2").json() == {
        "range": "'It''s'!A1:B2", "majorDimension": "ROWS", "values": [["a", "b"], ["d", "e"]]}
    assert get(http, sid, "My Tab").json()["range"] == "'My Tab'!A1:Z1000"
    assert get(http, sid, "A2:C").json() == {
        "range": "'It''s'!A2:C1000", "majorDimension": "ROWS", "values": [["d", "e", "f"]]}
    assert get(http, sid, "B:C").json()["range"] == "'It''s'!B1:C1000"
    assert get(http, sid, "2:3").json() == {
        "range": "'It''s'!A2:Z3", "majorDimension": "ROWS", "values": [["d", "e", "f"]]}
    assert get(http, sid, "C2:A1").json()["range"] == "'It''s'!A1:C2"


def test_unknown_tab_and_garbage_ranges_are_unparseable(emu, http):
    sid = emu.create_spreadsheet("a1")
    for text in ("Nope!A1", "Sheet1!A0", "Sheet1!1A"):
        r = get(http, sid, text)
        assert r.status_code == 400
        assert r.json() == {"error": {"code": 400, "message": f"Unable to parse range: {text}",
                                      "status": "INVALID_ARGUMENT"}}


def test_unknown_spreadsheet_is_not_found(http):
    r = http.get(f"{API}/does-not-exist")
    assert (r.status_code, r.json()["error"]["message"]) == (404, "Requested entity was not found.")


# -- input and render options ----------------------------------------------------------------
def test_raw_keeps_text_user_entered_parses_it(emu, http):
    sid = emu.create_spreadsheet("input")
    put(http, sid, "A1:E1", [["0042", "=SUM(A2)", "TRUE", "2024-03-15", "'0042"]], "RAW")
    put(http, sid, "A2:E2", [["0042", "=SUM(A2)", "TRUE", "2024-03-15", "'0042"]])
    unformatted = get(http, sid, "A1:E2", valueRenderOption="UNFORMATTED_VALUE").json()["values"]
    assert unformatted == [["0042", "=SUM(A2)", "TRUE", "2024-03-15", "'0042"],
                           [42, 42, True, 45366, "0042"]]
    assert get(http, sid, "A2:E2").json()["values"] == [["42", "42", "TRUE", "2024-03-15", "0042"]]
    assert get(http, sid, "A2:E2", valueRenderOption="FORMULA").json()["values"] == [
        [42, "=SUM(A2)", True, 45366, "0042"]]
    assert get(http, sid, "D2", valueRenderOption="UNFORMATTED_VALUE",
               dateTimeRenderOption="FORMATTED_STRING").json()["values"] == [["2024-03-15"]]


def test_columns_major_dimension_and_trailing_empties(emu, http):
    sid = emu.create_spreadsheet("dims", {"Sheet1": [["a", "", "c"], ["", "", ""], ["g"]]})
    assert get(http, sid, "Sheet1").json()["values"] == [["a", "", "c"], [], ["g"]]
    assert get(http, sid, "A1:C3", majorDimension="COLUMNS").json() == {
        "range": "Sheet1!A1:C3", "majorDimension": "COLUMNS", "values": [["a", "", "g"], [], ["c"]]}


def test_update_cells_string_value_is_never_parsed(emu, http):
    sid = emu.create_spreadsheet("cells")
    r = batch(http, sid, {"updateCells": {
        "range": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 1, "startColumnIndex": 0, "endColumnIndex": 3},
        "rows": [{"values": [{"userEnteredValue": {"stringValue": "=IMPORTXML()"}},
                             {"userEnteredValue": {"numberValue": 7}},
                             {"userEnteredValue": {"formulaValue": "=B1*6"}}]}],
        "fields": "userEnteredValue"}})
    assert r.json()["replies"] == [{}]
    assert get(http, sid, "A1:C1", valueRenderOption="FORMULA").json()["values"] == [["=IMPORTXML()", 7, "=B1*6"]]
    assert emu.values(sid, "Sheet1") == [["=IMPORTXML()", 7, 42]]


def test_formula_fetching_outside_data_is_loading(emu, http):
    """IMPORTRANGE, GOOGLEFINANCE and the IMPORT functions show "Loading..." until Google has
    fetched their data (ErrorValue.type LOADING): the emulator fetches nothing, so they stay
    so, in every render, never the #ERROR! of a function it does not evaluate."""
    sid = emu.create_spreadsheet("loading")
    put(http, sid, "Sheet1!A1:B1", [['=IMPORTRANGE("1AbC","Deals!A1")', '=GOOGLEFINANCE("CURRENCY:EURUSD")']])
    for option in ("UNFORMATTED_VALUE", "FORMATTED_VALUE"):
        assert get(http, sid, "A1:B1", valueRenderOption=option).json()["values"] == [["Loading...", "Loading..."]]
    fields = "sheets.data.rowData.values(effectiveValue.errorValue.type,formattedValue)"
    body = http.get(f"{API}/{sid}", params={"fields": fields, "ranges": "Sheet1!A1"}).json()
    assert body["sheets"][0]["data"][0]["rowData"][0]["values"][0] == {
        "effectiveValue": {"errorValue": {"type": "LOADING"}}, "formattedValue": "Loading..."}


def test_field_masks_select_nested_grid_data(emu, http):
    sid = emu.create_spreadsheet("mask", {"Sheet1": [["name", 3]]})
    fields = "sheets(properties(title),data.rowData.values(userEnteredValue,effectiveValue,formattedValue))"
    body = http.get(f"{API}/{sid}", params={"fields": fields, "ranges": "Sheet1!A1:B1"}).json()
    assert body == {"sheets": [{"properties": {"title": "Sheet1"}, "data": [{"rowData": [{"values": [
        {"userEnteredValue": {"stringValue": "name"}, "effectiveValue": {"stringValue": "name"}, "formattedValue": "name"},
        {"userEnteredValue": {"numberValue": 3}, "effectiveValue": {"numberValue": 3}, "formattedValue": "3"},
    ]}]}]}]}
    assert http.get(f"{API}/{sid}", params={"fields": "properties.title"}).json() == {"properties": {"title": "mask"}}


def test_a_field_mask_naming_no_field_is_refused_as_on_google(emu, http):
    # Google answers a `fields` naming what the response has not with a 400 (its partial-response
    # guide); the emulator answered a misspelt field with nothing, so a typo in one of sheetcrm's
    # masks read as "no formats" here and failed only on Google.
    sid = emu.create_spreadsheet("mask", {"Sheet1": [["name", 0.25]]})
    for mask, path in (("sheets(properties(titel))", "sheets.properties.titel"),
                       ("sheets.sheetProperties", "sheets.sheetProperties"),
                       ("sheets.data.rowData.values.efectiveFormat", "sheets.data.rowData.values.efectiveFormat"),
                       ("properties.title.text", "properties.title.text")):
        r = http.get(f"{API}/{sid}", params={"fields": mask, "ranges": "Sheet1!A1:B1"})
        assert r.status_code == 400, mask
        # As Google answered `sheets.sheetProperties` (r-lib/gargle's recorded test fixture).
        said = f"Error expanding 'fields' parameter. Cannot find matching fields for path '{path}'."
        assert r.json()["error"] == {
            "code": 400, "status": "INVALID_ARGUMENT", "message": "Request contains an invalid argument.",
            "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"description": said}]}]}
    assert get(http, sid, "Sheet1", fields="valus").status_code == 400
    r = http.put(values_url(sid, "Sheet1!C1"), params={"valueInputOption": "RAW", "fields": "updatedRnage"},
                 json={"values": [["x"]]})
    assert r.status_code == 400
    assert emu.values(sid, "Sheet1") == [["name", 0.25]]  # refused before it ran
    # Every mask sheetcrm sends names real fields; a map's keys (BasicFilter.criteria) are data.
    from sheetcrm.workbook import gsheets
    for mask in (gsheets.METADATA["fields"], gsheets.FORMATS, gsheets.FORMULAS, gsheets.FORMATS_AND_FORMULAS,
                 gsheets.ENTERED_FORMATS, gsheets.RULES, gsheets.RULES_AND_FORMATS, "sheets.basicFilter.criteria.x",
                 "*", "sheets(*)"):
        assert http.get(f"{API}/{sid}", params={"fields": mask, "ranges": "Sheet1!A1:B1"}).status_code == 200, mask


def test_a_read_with_a_query_parameter_google_does_not_take_is_refused(emu, http):
    # A misspelt valueRenderOption read the formatted text ("50%" for 0.5) with a 200; Google
    # refuses a query parameter its method lacks (googleapis/google-api-nodejs-client#588).
    sid = emu.create_spreadsheet("params", {"Sheet1": [["50%"]]}, value_input="USER_ENTERED")
    said = ('Invalid JSON payload received. Unknown name "valueRenderOptions": Cannot bind query parameter. '
            "Field 'valueRenderOptions' could not be found in request message.")
    for r in (get(http, sid, "Sheet1", valueRenderOptions="UNFORMATTED_VALUE"),
              http.get(f"{API}/{sid}/values:batchGet", params={"ranges": "Sheet1", "valueRenderOptions": "FORMULA"}),
              http.get(f"{API}/{sid}", params={"valueRenderOptions": "FORMULA"})):
        assert r.status_code == 400
        assert r.json()["error"] == {"code": 400, "status": "INVALID_ARGUMENT", "message": said, "details": [
            {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"description": said}]}]}
    # The parameters every Google method takes (prettyPrint, fields, alt...) are no method's own.
    assert get(http, sid, "Sheet1", valueRenderOption="UNFORMATTED_VALUE", prettyPrint="false",
               alt="json").json()["values"] == [[0.5]]


def test_field_masks_select_from_values_answers_too(emu, http):
    sid = emu.create_spreadsheet("mask", {"Sheet1": [["a", "b"]]})
    assert get(http, sid, "Sheet1", fields="values").json() == {"values": [["a", "b"]]}
    r = http.put(values_url(sid, "Sheet1!A2"), params={"valueInputOption": "RAW", "fields": "updatedRange,updatedCells"},
                 json={"values": [["c"]]})
    assert r.json() == {"updatedRange": "Sheet1!A2", "updatedCells": 1}


def test_the_response_field_names_are_googles_published_ones():
    # sheetcrm/emulator/schema.py is generated from the discovery document the tests
    # validate bodies against; run scripts/emulator_fields.py when google-api-python-client brings a new one.
    import importlib.util
    import os
    from discovery import DOCUMENT
    root = os.path.join(os.path.dirname(__file__), "..", "..")
    spec = importlib.util.spec_from_file_location("emulator_fields", os.path.join(root, "scripts", "emulator_fields.py"))
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    with open(os.path.join(root, "sheetcrm", "emulator", "schema.py"), encoding="utf-8") as fh:
        assert fh.read() == generator.source(DOCUMENT)


# -- batchUpdate -------------------------------------------------------------------------------
def test_batch_update_is_atomic(emu, http):
    sid = emu.create_spreadsheet("atomic", {"Sheet1": [["keep"]]})
    r = batch(http, sid, {"addSheet": {"properties": {"title": "New"}}},
              {"updateCells": {"start": {"sheetId": 0}, "rows": [{"values": [{"userEnteredValue": {"stringValue": "x"}}]}],
                               "fields": "userEnteredValue"}},
              {"deleteSheet": {"sheetId": 999}})
    assert r.status_code == 400
    assert r.json()["error"] == {"code": 400, "message": "Invalid requests[2].deleteSheet: No grid with id: 999",
                                 "status": "INVALID_ARGUMENT"}
    titles = [s["properties"]["title"] for s in http.get(f"{API}/{sid}").json()["sheets"]]
    assert titles == ["Sheet1"]
    assert emu.values(sid, "Sheet1") == [["keep"]]


def test_replies_are_in_request_order(emu, http):
    sid = emu.create_spreadsheet("order")
    replies = batch(http, sid,
                    {"updateSpreadsheetProperties": {"properties": {"title": "t"}, "fields": "title"}},
                    {"addSheet": {"properties": {"title": "Two", "sheetId": 22}}},
                    {"addChart": {"chart": {"spec": {"title": "c"}, "position": {"sheetId": 22}}}}).json()["replies"]
    assert replies[0] == {}
    assert replies[1]["addSheet"]["properties"]["sheetId"] == 22
    assert replies[2]["addChart"]["chart"]["spec"] == {"title": "c"}
    chart_id = replies[2]["addChart"]["chart"]["chartId"]
    batch(http, sid, {"updateChartSpec": {"chartId": chart_id, "spec": {"title": "d"}}})
    sheets = http.get(f"{API}/{sid}").json()["sheets"]
    assert sheets[1]["charts"][0]["spec"] == {"title": "d"}


def test_duplicate_sheet_title_is_refused(emu, http):
    sid = emu.create_spreadsheet("dup")
    r = batch(http, sid, {"addSheet": {"properties": {"title": "Sheet1"}}})
    assert r.json()["error"]["message"] == (
        'Invalid requests[0].addSheet: A sheet with the name "Sheet1" already exists. Please enter another name.')


def test_sort_range_sorts_numbers_before_text_and_blanks_last(emu, http):
    sid = emu.create_spreadsheet("sort", {"Sheet1": [["h"], ["b"], [10], [""], [2], ["a"]]})
    batch(http, sid, {"sortRange": {"range": {"sheetId": 0, "startRowIndex": 1, "endRowIndex": 6,
                                              "startColumnIndex": 0, "endColumnIndex": 1},
                                    "sortSpecs": [{"dimensionIndex": 0, "sortOrder": "ASCENDING"}]}})
    assert emu.values(sid, "Sheet1") == [["h"], [2], [10], ["a"], ["b"]]


# -- limits ------------------------------------------------------------------------------------
def test_values_update_grows_the_grid_but_update_cells_does_not(emu, http):
    sid = emu.create_spreadsheet("grid")
    batch(http, sid, {"updateSheetProperties": {"properties": {"sheetId": 0, "gridProperties": {"rowCount": 2, "columnCount": 2}},
                                                "fields": "gridProperties(rowCount,columnCount)"}})
    r = put(http, sid, "Sheet1!C3", [["far"]])
    assert r.json()["updatedRange"] == "Sheet1!C3"
    props = http.get(f"{API}/{sid}").json()["sheets"][0]["properties"]["gridProperties"]
    assert props == {"rowCount": 3, "columnCount": 3}
    r = batch(http, sid, {"updateCells": {"start": {"sheetId": 0, "rowIndex": 3, "columnIndex": 0},
                                          "rows": [{"values": [{"userEnteredValue": {"stringValue": "x"}}]}],
                                          "fields": "userEnteredValue"}})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == (
        "Invalid requests[0].updateCells: Range (Sheet1!A4) exceeds grid limits. Max rows: 3, max columns: 3")
    r = get(http, sid, "Sheet1!A1:A9")
    assert r.json()["error"]["message"] == "Range (Sheet1!A1:A9) exceeds grid limits. Max rows: 3, max columns: 3"


def test_cell_text_limit(emu, http):
    sid = emu.create_spreadsheet("chars")
    assert put(http, sid, "A1", [["x" * 50_000]]).status_code == 200
    r = put(http, sid, "A2", [["x" * 50_001]])
    assert (r.status_code, r.json()["error"]["message"]) == (
        400, "Your input contains more than the maximum of 50000 characters in a single cell.")
    assert emu.values(sid, "Sheet1") == [["x" * 50_000]]


def test_ten_million_cell_limit(emu, http):
    sid = emu.create_spreadsheet("cells")
    r = batch(http, sid, {"addSheet": {"properties": {"title": "Huge", "gridProperties": {"rowCount": 398_960, "columnCount": 25}}}})
    assert r.status_code == 200  # exactly 10,000,000 cells with Sheet1's 26,000
    r = batch(http, sid, {"appendDimension": {"sheetId": 0, "dimension": "ROWS", "length": 1}})
    assert r.json()["error"]["message"] == (
        "This action would increase the number of cells in the workbook above the limit of 10000000 cells.")


def test_read_and_write_quotas_answer_429_per_minute():
    now = [0.0]
    with Emulator(read_quota=2, write_quota=1, clock=lambda: now[0]) as emu:
        http = emulator_session(emu.host)
        sid = emu.create_spreadsheet("quota")
        assert [get(http, sid, "A1").status_code for _ in range(3)] == [200, 200, 429]
        r = get(http, sid, "A1")
        assert r.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
        assert r.json()["error"]["message"].startswith(
            "Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute per user'")
        assert [put(http, sid, "A1", [[1]]).status_code for _ in range(2)] == [200, 429]
        now[0] += 61
        assert get(http, sid, "A1").status_code == 200


# -- test hooks ------------------------------------------------------------------------------------
def test_fail_next_answers_google_errors_and_changes_nothing(emu, http):
    sid = emu.create_spreadsheet("fail")
    emu.fail_next(2, status=503, retry_after=7)
    first = put(http, sid, "A1", [["lost"]])
    assert first.status_code == 503 and first.headers["Retry-After"] == "7"
    assert first.json() == {"error": {"code": 503, "message": "The service is currently unavailable.", "status": "UNAVAILABLE"}}
    assert get(http, sid, "A1").status_code == 503
    assert get(http, sid, "A1").json() == {"range": "Sheet1!A1", "majorDimension": "ROWS"}
    assert [r.status for r in emu.requests] == [503, 503, 200]


def test_drop_next_resets_the_connection_without_applying(emu, http):
    sid = emu.create_spreadsheet("drop")
    emu.drop_next(1)
    with pytest.raises(requests.ConnectionError):
        put(http, sid, "A1", [["lost"]])
    assert put(http, sid, "B1", [["kept"]]).status_code == 200
    assert emu.values(sid, "Sheet1") == [["", "kept"]]
    assert emu.requests[0].status is None and emu.requests[1].status == 200


def test_between_requests_plays_a_user_editing_between_read_and_write(emu, http):
    sid = emu.create_spreadsheet("race", {"Sheet1": [["name"], ["ann"], ["bob"]]})
    rows = get(http, sid, "Sheet1").json()["values"]
    assert rows[2] == ["bob"]
    def user_edits(e):
        e.insert_rows(sid, "Sheet1", 1)
        e.set_cell(sid, "Sheet1", "A1", "Name")

    emu.between_requests(user_edits)
    put(http, sid, "B3", [["bob's note"]])  # written where bob *was*
    assert emu.values(sid, "Sheet1") == [["Name"], [], ["ann", "bob's note"], ["bob"]]


def test_request_log_records_bytes_and_status(emu, http):
    sid = emu.create_spreadsheet("log")
    put(http, sid, "A1", [["x"]])
    record = emu.requests[-1]
    assert (record.method, record.status, record.query) == ("PUT", 200, {"valueInputOption": ["USER_ENTERED"]})
    assert json.loads(record.request) == {"values": [["x"]]}
    assert json.loads(record.response)["updatedCells"] == 1


# -- developer metadata --------------------------------------------------------------------------
def _row_metadata(http, sid, key, row):
    return {"createDeveloperMetadata": {"developerMetadata": {
        "metadataKey": key, "metadataValue": str(row), "visibility": "DOCUMENT",
        "location": {"dimensionRange": {"sheetId": 0, "dimension": "ROWS", "startIndex": row, "endIndex": row + 1}}}}}


def _rows_by_key(http, sid):
    found = http.post(f"{API}/{sid}/developerMetadata:search",
                      json={"dataFilters": [{"developerMetadataLookup": {"metadataKey": "contact"}}]}).json()
    return {m["developerMetadata"]["metadataValue"]: m["developerMetadata"]["location"]["dimensionRange"].get("startIndex", 0)
            for m in found.get("matchedDeveloperMetadata", [])}


def test_row_metadata_moves_with_inserted_deleted_and_sorted_rows(emu, http):
    sid = emu.create_spreadsheet("meta", {"Sheet1": [["name"], ["zed"], ["amy"], ["kim"]]})
    batch(http, sid, *[_row_metadata(http, sid, "contact", r) for r in (1, 2, 3)])
    assert _rows_by_key(http, sid) == {"1": 1, "2": 2, "3": 3}
    emu.insert_rows(sid, "Sheet1", 1, 2)
    assert _rows_by_key(http, sid) == {"1": 3, "2": 4, "3": 5}
    emu.delete_rows(sid, "Sheet1", 1, 2)
    emu.sort_rows(sid, "Sheet1", 0)
    assert emu.values(sid, "Sheet1") == [["name"], ["amy"], ["kim"], ["zed"]]
    assert _rows_by_key(http, sid) == {"2": 1, "3": 2, "1": 3}
    emu.delete_rows(sid, "Sheet1", 1)
    assert _rows_by_key(http, sid) == {"3": 1, "1": 2}



def test_inserted_rows_and_columns_take_their_neighbours_formats_as_on_google(emu, http):
    """InsertDimensionRequest.inheritFromBefore (Google's reference: "if row index 0 has red
    background and row index 1 has a green background ... If inheritFromBefore is true, the two
    new rows will be red ... if false, green"): the new rows take the formats of the row before
    or after them, values never. The emulator gave them none, so a column sheetcrm formatted
    had rows in it without its format, unlike on Google."""
    sid = emu.create_spreadsheet("inherit", {"Sheet1": [["Name", "Rate"], ["a", 0.5], ["b", 0.25]]})
    percent, bold = {"numberFormat": {"type": "PERCENT", "pattern": "0.0%"}}, {"textFormat": {"bold": True}}
    batch(http, sid, {"repeatCell": {"range": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 1},
                                     "cell": {"userEnteredFormat": bold}, "fields": "userEnteredFormat.textFormat"}},
          {"repeatCell": {"range": {"sheetId": 0, "startRowIndex": 1, "startColumnIndex": 1, "endColumnIndex": 2},
                          "cell": {"userEnteredFormat": percent}, "fields": "userEnteredFormat.numberFormat"}})
    sheet = emu.service.book(sid).sheets[0]
    shown = lambda r, c: (sheet.cell(r, c) or {}).get("userEnteredFormat")
    emu.insert_rows(sid, "Sheet1", 1, inherit_from_before=True)       # under the header: the header's
    assert (shown(1, 0), shown(1, 1)) == (bold, bold) and shown(2, 1) == percent
    emu.insert_rows(sid, "Sheet1", 1)                                  # from the row after: the header's again
    emu.insert_rows(sid, "Sheet1", 3, 2)                               # above "a": a's
    assert [shown(r, 1) for r in range(6)] == [bold, bold, bold, percent, percent, percent]
    assert emu.values(sid, "Sheet1") == [["Name", "Rate"], [], [], [], [], ["a", 0.5], ["b", 0.25]]
    batch(http, sid, {"insertDimension": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 1000 + 5,
                                                    "endIndex": 1000 + 6}}})   # at the grid's end: nothing after
    assert shown(1005, 1) is None
    batch(http, sid, {"insertDimension": {"range": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 2,
                                                    "endIndex": 3}, "inheritFromBefore": True}})
    assert (shown(0, 2), shown(6, 2)) == (bold, percent) and emu.values(sid, "Sheet1")[6] == ["b", 0.25]


def test_a_column_pin_recreated_where_its_column_was_is_refused_once_the_column_moved(emu, http):
    """What sheetcrm's column pins rely on (gsheets.PIN_KEY): column metadata moves with its
    column; a delete whose lookup names the ID and a column it is not on matches nothing, and
    no error; creating an ID that exists refuses the whole batch."""
    sid = emu.create_spreadsheet("pins", {"Sheet1": [["ID", "Name", "Notes"], ["1", "amy", "n"]]})
    at = lambda col: {"dimensionRange": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": col, "endIndex": col + 1}}
    create = {"createDeveloperMetadata": {"developerMetadata": {
        "metadataId": 77, "metadataKey": "pin", "metadataValue": "", "visibility": "DOCUMENT", "location": at(1)}}}
    repin = [{"deleteDeveloperMetadata": {"dataFilter": {"developerMetadataLookup": {
        "metadataId": 77, "metadataKey": "pin", "metadataLocation": at(1),
        "locationMatchingStrategy": "EXACT_LOCATION"}}}}, create,
        {"updateCells": {"start": {"sheetId": 0, "rowIndex": 1, "columnIndex": 2},
                         "rows": [{"values": [{"userEnteredValue": {"stringValue": "ours"}}]}], "fields": "userEnteredValue"}}]
    assert batch(http, sid, create).status_code == 200
    assert batch(http, sid, *repin).status_code == 200            # nothing moved: the pair is a no-op
    assert emu.values(sid, "Sheet1")[1] == ["1", "amy", "ours"]
    emu.apply(sid, [{"insertDimension": {"range": {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1}}}])
    found = http.get(f"{API}/{sid}/developerMetadata/77").json()
    assert found["location"]["dimensionRange"]["startIndex"] == 2  # moved with its column
    refused = batch(http, sid, *repin[:2], {"updateCells": {**repin[2]["updateCells"], "rows": [
        {"values": [{"userEnteredValue": {"stringValue": "late"}}]}]}})
    assert refused.status_code == 400 and "already exists" in refused.json()["error"]["message"]
    assert emu.values(sid, "Sheet1")[1] == ["", "1", "amy", "ours"]    # nothing of it landed

def test_formulas_follow_inserted_and_deleted_rows_and_columns_as_on_google(emu, http):
    """Sheets rewrites formulas when rows or columns go in or out (on every tab): references
    below move, ranges spanning them grow or shrink, a reference to a deleted cell is #REF!.
    The emulator kept `=B5` as typed, so after a row removal it read another record's cell."""
    sid = emu.create_spreadsheet("moves", {
        "Leads": [["Name", "Amount"], ["a", 10], ["b", 20], ["c", 30], ["d", 40], ["e", 50]],
        "Sums": [["=SUM(Leads!B2:B6)", "=Leads!B5", "='Leads'!$B$3*2", "=Leads!B3", '="B5"&Leads!B5',
                  "=COUNTA(Leads!B:B)", "=LOG10(Leads!B2)"]]}, value_input="USER_ENTERED")
    batch(http, sid, {"deleteDimension": {"range": {"sheetId": emu.sheet_id(sid, "Leads"), "dimension": "ROWS",
                                                    "startIndex": 2, "endIndex": 3}}})  # b, row 3
    formulas = get(http, sid, "Sums!A1:G1", valueRenderOption="FORMULA").json()["values"][0]
    assert formulas == ["=SUM(Leads!B2:B5)", "=Leads!B4", "=#REF!*2", "=#REF!", '="B5"&Leads!B4',
                        "=COUNTA(Leads!B:B)", "=LOG10(Leads!B2)"]
    shown = get(http, sid, "Sums!A1:E1", valueRenderOption="UNFORMATTED_VALUE").json()["values"][0]
    assert shown == [130, 40, "#REF!", "#REF!", "B540"]
    cells = http.get(f"{API}/{sid}", params={"ranges": "Sums!C1", "includeGridData": "true"}).json()
    error = cells["sheets"][0]["data"][0]["rowData"][0]["values"][0]["effectiveValue"]["errorValue"]
    assert error == {"type": "REF", "message": "Reference does not exist."}

    batch(http, sid, {"insertDimension": {"range": {"sheetId": emu.sheet_id(sid, "Leads"), "dimension": "ROWS",
                                                    "startIndex": 1, "endIndex": 3}}})
    assert get(http, sid, "Sums!A1:B1", valueRenderOption="FORMULA").json()["values"][0] == [
        "=SUM(Leads!B4:B7)", "=Leads!B6"]
    assert get(http, sid, "Sums!A1:B1", valueRenderOption="UNFORMATTED_VALUE").json()["values"][0] == [130, 40]

    # Columns, and a formula on the tab itself (unqualified references).
    put(http, sid, "Leads!D1", [["=B6+C6"]])
    batch(http, sid, {"deleteDimension": {"range": {"sheetId": emu.sheet_id(sid, "Leads"), "dimension": "COLUMNS",
                                                    "startIndex": 0, "endIndex": 1}}})
    assert get(http, sid, "Leads!C1", valueRenderOption="FORMULA").json()["values"] == [["=A6+B6"]]
    assert get(http, sid, "Sums!A1", valueRenderOption="FORMULA").json()["values"] == [["=SUM(Leads!A4:A7)"]]



def test_a_renamed_tab_keeps_the_formulas_that_name_it_as_on_google(emu, http):
    """Sheets rewrites every reference to a renamed tab to its new title, so a person's formula
    keeps its value; the emulator left `=Leads!B2` naming a tab no longer there (#REF!, with
    the message of a circular reference). A tab that is gone says so as Sheets does."""
    sid = emu.create_spreadsheet("renamed", {
        "Leads": [["Name", "Amount"], ["a", 10]],
        "Sums": [["=Leads!B2*2", "='leads'!B2", '="Leads!B2"', "=Gone!A1"]]}, value_input="USER_ENTERED")
    batch(http, sid, {"updateSheetProperties": {"properties": {"sheetId": emu.sheet_id(sid, "Leads"),
                                                               "title": "Old leads"}, "fields": "title"}})
    assert get(http, sid, "Sums!A1:C1", valueRenderOption="FORMULA").json()["values"] == [
        ["='Old leads'!B2*2", "='Old leads'!B2", '="Leads!B2"']]
    assert get(http, sid, "Sums!A1:C1", valueRenderOption="UNFORMATTED_VALUE").json()["values"] == [
        [20, 10, "Leads!B2"]]
    cells = http.get(f"{API}/{sid}", params={"ranges": "Sums!D1", "includeGridData": "true"}).json()
    error = cells["sheets"][0]["data"][0]["rowData"][0]["values"][0]["effectiveValue"]["errorValue"]
    assert error == {"type": "REF", "message": "Unresolved sheet name 'Gone'."}


# -- append -----------------------------------------------------------------------------------------
def test_append_finds_the_table_and_can_insert_rows(emu, http):
    sid = emu.create_spreadsheet("append", {"Sheet1": [["h1", "h2"], ["a", "b"], [], ["footer"]]})
    r = http.post(values_url(sid, "Sheet1!A1", ":append"),
                  params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"}, json={"values": [["c", "d"]]})
    assert r.json()["tableRange"] == "Sheet1!A1:B2"
    assert r.json()["updates"]["updatedRange"] == "Sheet1!A3:B3"
    assert emu.values(sid, "Sheet1") == [["h1", "h2"], ["a", "b"], ["c", "d"], [], ["footer"]]
    assert http.get(f"{API}/{sid}").json()["sheets"][0]["properties"]["gridProperties"]["rowCount"] == 1001


# -- findReplace -------------------------------------------------------------------------------------
def test_find_replace_in_a_column_range_matching_whole_cells(emu, http):
    sid = emu.create_spreadsheet("fr", {"Sheet1": [["ID", "Note"], ["LEAD-0201", "LEAD-0201 called"],
                                                    ["lead-0201", "x"], ["LEAD-02010", "y"], ["=\"LEAD-0201\"", "z"]]},
                                 value_input="USER_ENTERED")
    column_a = {"sheetId": 0, "startRowIndex": 1, "startColumnIndex": 0, "endColumnIndex": 1}
    r = batch(http, sid, {"findReplace": {"find": "LEAD-0201", "replacement": "LEAD-0200", "matchCase": True,
                                          "matchEntireCell": True, "range": column_a}})
    assert r.status_code == 200
    assert Discovery().validate(r.json(), "BatchUpdateSpreadsheetResponse") == []
    assert r.json()["replies"] == [{"findReplace": {"occurrencesChanged": 1, "valuesChanged": 1, "rowsChanged": 1,
                                                    "sheetsChanged": 1}}]
    # Only the whole, same-case cell in column A changed; the note, the longer ID, another
    # case and the formula (formulas are skipped unless includeFormulas) did not.
    assert [row[:2] for row in emu.values(sid, "Sheet1")] == [
        ["ID", "Note"], ["LEAD-0200", "LEAD-0201 called"], ["lead-0201", "x"], ["LEAD-02010", "y"], ["LEAD-0201", "z"]]
    again = batch(http, sid, {"findReplace": {"find": "LEAD-0201", "replacement": "LEAD-0200", "matchCase": True,
                                              "matchEntireCell": True, "range": column_a}})
    assert again.json()["replies"] == [{"findReplace": {}}]  # nothing left to change: every count is zero


def test_find_replace_options_and_scopes(emu, http):
    sid = emu.create_spreadsheet("fr", {"One": [["apple pie", "Apple"], ["7", "=A2*2"]], "Two": [["apple"]]},
                                 value_input="USER_ENTERED")
    # Case-insensitive substring over all sheets: two occurrences in one cell count twice.
    r = batch(http, sid, {"findReplace": {"find": "APPLE", "replacement": "pear", "allSheets": True}})
    assert r.json()["replies"][0]["findReplace"] == {"occurrencesChanged": 3, "valuesChanged": 3, "rowsChanged": 2,
                                                     "sheetsChanged": 2}
    assert emu.values(sid, "One")[0] == ["pear pie", "pear"] and emu.values(sid, "Two") == [["pear"]]
    # The replacement is entered as typed: "8" becomes a number, and a formula's text is
    # searched only with includeFormulas.
    batch(http, sid, {"findReplace": {"find": "7", "replacement": "8", "sheetId": emu.sheet_id(sid, "One")}})
    assert emu.values(sid, "One")[1] == [8, 16]
    r = batch(http, sid, {"findReplace": {"find": r"A(\d)", "replacement": "B$1", "searchByRegex": True,
                                          "includeFormulas": True, "sheetId": emu.sheet_id(sid, "One")}})
    assert r.json()["replies"][0]["findReplace"] == {"occurrencesChanged": 1, "formulasChanged": 1, "rowsChanged": 1,
                                                     "sheetsChanged": 1}
    # Replacing a whole cell with nothing empties it.
    batch(http, sid, {"findReplace": {"find": "pear", "replacement": "", "matchEntireCell": True,
                                      "sheetId": emu.sheet_id(sid, "Two")}})
    assert emu.values(sid, "Two") == []


@pytest.mark.parametrize("body, message", [
    ({"find": "", "replacement": "x", "allSheets": True}, "find must not be empty"),
    ({"find": "a", "replacement": "x"}, "Exactly one of range, sheetId or allSheets"),
    ({"find": "a", "replacement": "x", "sheetId": 0, "allSheets": True}, "Exactly one of range, sheetId or allSheets"),
    ({"find": "(", "replacement": "x", "allSheets": True, "searchByRegex": True}, "Invalid regular expression"),
])
def test_find_replace_refuses_what_it_cannot_run(emu, http, body, message):
    sid = emu.create_spreadsheet("fr", {"Sheet1": [["a"]]})
    r = batch(http, sid, {"findReplace": body})
    assert r.status_code == 400 and message in r.json()["error"]["message"]
    assert r.json()["error"]["message"].startswith("Invalid requests[0].findReplace: ")
    assert emu.values(sid, "Sheet1") == [["a"]]


# -- formulas ---------------------------------------------------------------------------------
def test_common_functions_of_a_crm_sheet_evaluate_as_sheets_shows_them(emu, http):
    """What Google Sheets shows for the functions a team's CRM sheet uses (HYPERLINK shows its
    label, ROUND goes half away from zero, TRIM takes out spaces only, a date stays a date)."""
    sid = emu.create_spreadsheet("formulas")
    put(http, sid, "A1:C2", [["Acme", 2.5, "a\u00a0 b "], ["Bolt", 7, ""]])
    cases = {  # formula: (unformatted, formatted)
        '=HYPERLINK("http://x.com/a","Deal A")': ("Deal A", "Deal A"),
        '=HYPERLINK("http://x.com/a")': ("http://x.com/a", "http://x.com/a"),
        "=ROUND(B1)": (3, "3"), "=ROUND(-2.5)": (-3, "-3"), "=ROUND(1.005,2)": (1.01, "1.01"),
        "=ROUNDUP(1.21,1)": (1.3, "1.3"), "=ROUNDDOWN(-1.29,1)": (-1.2, "-1.2"),
        "=TRIM(C1)": ("a\u00a0 b", "a\u00a0 b"), '=UPPER(A1)&"-"&LOWER(A2)': ("ACME-bolt", "ACME-bolt"),
        '=CONCATENATE(A1," ",B2)': ("Acme 7", "Acme 7"), "=IF(B2>5,SUM(B1:B2),0)": (9.5, "9.5"),
        '=VLOOKUP("bolt",A1:B2,2,FALSE)': (7, "7"), '=IFERROR(VLOOKUP("x",A1:B2,2,FALSE),"none")': ("none", "none"),
        "=DATE(2026,12,1)": (46357, "12/1/2026"), "=DATE(2026,12,1)+31": (46388, "1/1/2027"),
        "=DATE(2026,12,1)-DATE(2026,1,1)": (334, "334"), "=YEAR(DATE(2026,12,1))": (2026, "2026"),
        '="10">9': (True, "TRUE"), '="1"=1': (False, "FALSE"),
        '=TEXT(B1,"0.00")': ("#ERROR!", "#ERROR!"),  # not evaluated, said so: never a made-up value
        "=NOSUCHTHING(1)": ("#NAME?", "#NAME?"),
    }
    put(http, sid, f"D1:D{len(cases)}", [[f] for f in cases])
    unformatted = get(http, sid, f"D1:D{len(cases)}", valueRenderOption="UNFORMATTED_VALUE").json()["values"]
    formatted = get(http, sid, f"D1:D{len(cases)}").json()["values"]
    assert dict(zip(cases, zip((v for [v] in unformatted), (v for [v] in formatted)))) == cases
    body = http.get(f"{API}/{sid}", params={"ranges": "Sheet1!D20", "fields": "sheets.data.rowData.values.effectiveValue"})
    [[cell]] = [[v for v in row["values"]] for row in body.json()["sheets"][0]["data"][0]["rowData"]]
    assert cell["effectiveValue"]["errorValue"]["message"] == "The emulator does not evaluate TEXT(); Google Sheets does."


def test_today_is_the_spreadsheets_date_shown_as_a_date(emu, http):
    import datetime as dt
    from zoneinfo import ZoneInfo

    sid = emu.create_spreadsheet("today")
    batch(http, sid, {"updateSpreadsheetProperties": {"properties": {"timeZone": "Pacific/Kiritimati"},
                                                      "fields": "timeZone"}})
    put(http, sid, "A1:B1", [["=TODAY()", "=TODAY()-DATE(1900,1,1)"]])
    before = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    [[serial, days]] = get(http, sid, "A1:B1", valueRenderOption="UNFORMATTED_VALUE").json()["values"]
    [[shown, _]] = get(http, sid, "A1:B1").json()["values"]
    after = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    day = dt.date(1899, 12, 30) + dt.timedelta(days=serial)
    assert before <= day <= after and days == serial - 2  # a number of days, not a date
    assert shown == f"{day.month}/{day.day}/{day.year}"


def test_currency_amounts_are_shown_as_sheets_shows_them(emu, http):
    """A minus sign leads the currency symbol (-$1,000.00, as Sheets shows it, not $-1,000.00),
    and a `[$€-x-euro2]` block shows as its symbol."""
    sid = emu.create_spreadsheet("money", {"Sheet1": [["-$1,000", 6500, -6500]]}, value_input="USER_ENTERED")
    batch(http, sid, {"repeatCell": {
        "range": {"sheetId": emu.sheet_id(sid, "Sheet1"), "startRowIndex": 0, "endRowIndex": 1,
                  "startColumnIndex": 1, "endColumnIndex": 3},
        "cell": {"userEnteredFormat": {"numberFormat": {"type": "CURRENCY", "pattern": "[$€-x-euro2] #,##0.00"}}},
        "fields": "userEnteredFormat.numberFormat"}})
    assert get(http, sid, "A1:C1").json()["values"] == [["-$1,000.00", "€ 6,500.00", "-€ 6,500.00"]]


def test_a_percent_sign_anywhere_outside_quotes_scales_as_sheets_shows_it(emu, http):
    """sheetcrm's Spanish ratio format `0.0" "%` (CLDR's `#,##0 %`) shows 0.75 as "75.0 %" in
    Sheets, as `0.0%` shows "75.0%": the %, not its place beside the digits, scales; an escaped
    `\\%` is only shown."""
    sid = emu.create_spreadsheet("ratios", {"Sheet1": [[0.75, 0.75, 0.75]]})
    for col, pattern in enumerate(('0.0"\u00a0"%', "0.0%", "0.0\\%")):
        batch(http, sid, {"repeatCell": {
            "range": {"sheetId": emu.sheet_id(sid, "Sheet1"), "startRowIndex": 0, "endRowIndex": 1,
                      "startColumnIndex": col, "endColumnIndex": col + 1},
            "cell": {"userEnteredFormat": {"numberFormat": {"type": "PERCENT", "pattern": pattern}}},
            "fields": "userEnteredFormat.numberFormat"}})
    assert get(http, sid, "A1:C1").json()["values"] == [["75.0\u00a0%", "75.0%", "0.8%"]]


def _shown(http, sid, rng):
    """(formattedValue, effectiveFormat.numberFormat or None) of each cell of one row."""
    body = http.get(f"{API}/{sid}", params={
        "ranges": rng, "fields": "sheets.data.rowData.values(formattedValue,effectiveFormat.numberFormat)"}).json()
    [row] = body["sheets"][0]["data"][0]["rowData"]
    return [(v.get("formattedValue"), v.get("effectiveFormat", {}).get("numberFormat")) for v in row["values"]]


PERCENT = {"type": "PERCENT", "pattern": "0%"}
EURO = {"type": "CURRENCY", "pattern": "[$€-x-euro2] #,##0.00"}
DOLLAR = {"type": "CURRENCY", "pattern": '"$"#,##0.00'}
ISO_DATE = {"type": "DATE", "pattern": "yyyy-mm-dd"}
US_DATE = {"type": "DATE", "pattern": "M/d/yyyy"}


def test_a_formula_cell_has_the_number_format_sheets_computes_for_it(emu, http):
    """CellData.effectiveFormat "includes, if the cell contains a formula, the computed number
    format", and the formatted value is shown in it: a reference, arithmetic or SUM over cells
    takes the first referenced cell's format, a date function a date's; the cell's own format
    wins; where what Google infers is not known, no format."""
    sid = emu.create_spreadsheet("computed", {"Sheet1": [
        ["25%", 6500, "2026-01-05", "$1,000", 3, "$2.50"]], "Other Tab": [["50%"]]}, value_input="USER_ENTERED")
    batch(http, sid, {"repeatCell": {
        "range": {"sheetId": emu.sheet_id(sid, "Sheet1"), "startRowIndex": 0, "endRowIndex": 1,
                  "startColumnIndex": 1, "endColumnIndex": 2},
        "cell": {"userEnteredFormat": {"numberFormat": EURO}}, "fields": "userEnteredFormat.numberFormat"}})
    cases = {  # formula in row 2: (formatted value, effectiveFormat.numberFormat)
        "=A1": ("25%", PERCENT), "=A1*2": ("50%", PERCENT), "=2*A1": ("50%", PERCENT),
        "=A1+'Other Tab'!A1": ("75%", PERCENT), "=B1": ("€ 6,500.00", EURO),
        "=B1/2": ("€ 3,250.00", EURO), "=-D1": ("-$1,000.00", DOLLAR),
        "=SUM(D1:F1)": ("$1,005.50", DOLLAR), "=MAX(D1,F1)": ("$1,000.00", DOLLAR),
        "=C1+1": ("2026-01-06", ISO_DATE), "=1+C1": ("2026-01-06", ISO_DATE),
        "=TODAY()>0": ("TRUE", None), "=DATE(2026,1,31)": ("1/31/2026", US_DATE),
        "=EDATE(DATE(2026,1,31),1)": ("2/28/2026", US_DATE), "=EOMONTH(C1,1)": ("2/28/2026", US_DATE),
        "=IF(E1>1,D1,0)": ("$1,000.00", DOLLAR),
        # Not known what Google infers, so no format: said so in the README.
        "=E1*D1": ("3000", None), "=C1-DATE(2026,1,1)": ("4", None), "=C1*2": ("92054", None),
        "=D1^2": ("1000000", None), "=ROUND(F1)": ("3", None), '=VLOOKUP(3,E1:F1,2,FALSE)': ("2.5", None),
        "=SUM(C1,1)": ("46028", None), '=A1&""': ("0.25", None), "=COUNT(A1:F1)": ("6", None), "=1/4": ("0.25", None),
    }
    put(http, sid, "A2:Z2", [list(cases)])
    shown = _shown(http, sid, f"Sheet1!A2:{chr(ord('A') + len(cases) - 1)}2")
    assert dict(zip(cases, shown)) == cases
    # The values read as Google gives them: formatted in the computed format, unformatted as numbers.
    assert get(http, sid, "A2:C2").json()["values"] == [["25%", "50%", "50%"]]
    assert get(http, sid, "A2:C2", valueRenderOption="UNFORMATTED_VALUE").json()["values"] == [[0.25, 0.5, 0.5]]


def test_a_formula_reading_a_formula_shows_its_computed_format_and_its_own_format_wins(emu, http):
    sid = emu.create_spreadsheet("chain", {"Sheet1": [["25%", "=A1", "=B1", "=B1"]]}, value_input="USER_ENTERED")
    batch(http, sid, {"repeatCell": {
        "range": {"sheetId": emu.sheet_id(sid, "Sheet1"), "startRowIndex": 0, "endRowIndex": 1,
                  "startColumnIndex": 3, "endColumnIndex": 4},
        "cell": {"userEnteredFormat": {"numberFormat": {"type": "NUMBER", "pattern": "0.00"}}},
        "fields": "userEnteredFormat.numberFormat"}})
    assert _shown(http, sid, "A1:D1") == [("25%", PERCENT), ("25%", PERCENT), ("25%", PERCENT),
                                           ("0.25", {"type": "NUMBER", "pattern": "0.00"})]
    # TODAY's cell: a date shown, and a date format said (it was {}).
    put(http, sid, "A2:B2", [["=TODAY()", "=NOW()"]])
    assert [fmt for _, fmt in _shown(http, sid, "A2:B2")] == [
        US_DATE, {"type": "DATE_TIME", "pattern": "M/d/yyyy H:mm:ss"}]


# -- sharing and protections ------------------------------------------------------------
PROTECTED = ("You are trying to edit a protected cell or object. Please contact the spreadsheet owner to remove "
             "protection if you need to edit.")


def test_a_person_s_protection_refuses_the_caller_whole_and_a_viewer_cannot_write(emu, http):
    """A spreadsheet a person owns and shared: the caller cannot write through a protection it
    is not an editor of (the whole request refused, Google's 400), sees it with
    requestingUserCanEdit false and no editors; a warning-only one lets it through; shared as
    Viewer, every write is 403 and reads still work."""
    sid = emu.create_spreadsheet("shared", {"Leads": [["ID", "Name"], ["", "Ann"]]})
    emu.share(sid, "writer")
    tab = emu.sheet_id(sid, "Leads")
    emu.apply(sid, [{"addProtectedRange": {"protectedRange": {
        "range": {"sheetId": tab, "startColumnIndex": 0, "endColumnIndex": 1}, "description": "IDs"}}},
        {"addProtectedRange": {"protectedRange": {
            "range": {"sheetId": tab, "startRowIndex": 5, "endRowIndex": 6}, "warningOnly": True}}}])
    seen = http.get(f"{API}/{sid}", params={"fields": "sheets.protectedRanges"}).json()
    ids, warn = seen["sheets"][0]["protectedRanges"]
    assert (ids["requestingUserCanEdit"], "editors" in ids) == (False, False)
    assert warn["requestingUserCanEdit"] is True

    refused = put(http, sid, "Leads!A2", [["LEAD-1"]], "RAW")
    assert (refused.status_code, refused.json()["error"]["message"]) == (400, PROTECTED)
    cell = {"userEnteredValue": {"stringValue": "x"}}
    both = batch(http, sid,
                 {"updateCells": {"start": {"sheetId": tab, "rowIndex": 2, "columnIndex": 1},
                                  "rows": [{"values": [cell]}], "fields": "userEnteredValue"}},
                 {"updateCells": {"start": {"sheetId": tab, "rowIndex": 1, "columnIndex": 0},
                                  "rows": [{"values": [cell]}], "fields": "userEnteredValue"}})
    assert (both.status_code, both.json()["error"]["message"]) == (400, "Invalid requests[1].updateCells: " + PROTECTED)
    moved = batch(http, sid, {"insertDimension": {"range": {"sheetId": tab, "dimension": "ROWS", "startIndex": 1,
                                                           "endIndex": 2}}})
    assert moved.status_code == 400
    assert emu.values(sid, "Leads") == [["ID", "Name"], ["", "Ann"]]  # B3 of the refused batch undone
    assert put(http, sid, "Leads!B2:B6", [["Bo"], [""], [""], [""], ["warned"]], "RAW").status_code == 200
    assert emu.values(sid, "Leads") == [["ID", "Name"], ["", "Bo"], [], [], [], ["", "warned"]]

    emu.share(sid, "reader")
    denied = put(http, sid, "Leads!B2", [["Cy"]], "RAW")
    assert denied.status_code == 403 and denied.json()["error"] == {
        "code": 403, "message": "The caller does not have permission", "status": "PERMISSION_DENIED"}
    assert batch(http, sid, {"updateCells": {"start": {"sheetId": tab, "rowIndex": 3, "columnIndex": 1},
                                            "rows": [{"values": [cell]}], "fields": "userEnteredValue"}}).status_code == 403
    assert get(http, sid, "Leads!B2").json()["values"] == [["Bo"]]


def test_typed_values_are_read_in_the_spreadsheet_s_locale(emu, http):
    """USER_ENTERED reads what people type as they would type it under the spreadsheet's
    locale: in es_ES 03/04/2026 is 3 April and 1.234,56 a number; en_US, the default, reads
    the month first and keeps 1,5 as text."""
    sid = emu.create_spreadsheet("locale", {"Sheet1": []})
    typed = [["03/04/2026", "13/04/2026", "1,5", "1.234,56", "12,5%", "1.5"]]
    put(http, sid, "Sheet1!A1", typed)
    assert get(http, sid, "Sheet1!A1:F1", valueRenderOption="UNFORMATTED_VALUE").json()["values"] == [
        [46085, "13/04/2026", "1,5", "1.234,56", "12,5%", 1.5]]
    assert batch(http, sid, {"updateSpreadsheetProperties": {"properties": {"locale": "es_ES"},
                                                             "fields": "locale"}}).status_code == 200
    put(http, sid, "Sheet1!A2", typed)
    assert get(http, sid, "Sheet1!A2:F2", valueRenderOption="UNFORMATTED_VALUE").json()["values"] == [
        [46115, 46125, 1.5, 1234.56, 0.125, "1.5"]]


def test_formatted_values_are_written_in_the_spreadsheet_s_locale(emu, http):
    """"Formatting is based on the spreadsheet's locale, not the requesting user's locale"
    (ValueRenderOption.FORMATTED_VALUE): an es_ES spreadsheet shows 1234.56 under #,##0.00 as
    "1.234,56"; the emulator showed "1,234.56". And findReplace, which matches what a cell
    shows and types the result back in the spreadsheet's locale, turned an es_ES number whose
    shown text it changed into text ("1334.5" is no number in es_ES)."""
    sid = emu.create_spreadsheet("locale", {"Sheet1": []})
    assert batch(http, sid, {"updateSpreadsheetProperties": {"properties": {"locale": "es_ES"},
                                                             "fields": "locale"}}).status_code == 200
    put(http, sid, "Sheet1!A1", [["1.234,56", "12,5%", "1234,5", "-0,25"]])
    put(http, sid, "Sheet1!E1", [[1234.5, 1234567]], option="RAW")
    shown = [["1.234,56", "12,5%", "1234,5", "-0,25", "1234,5", "1234567"]]
    assert get(http, sid, "Sheet1!A1:F1").json()["values"] == shown
    cells = http.get(f"{API}/{sid}", params={"ranges": "Sheet1!A1:F1",
                                             "fields": "sheets.data.rowData.values.formattedValue"}).json()
    assert [[c["formattedValue"] for c in cells["sheets"][0]["data"][0]["rowData"][0]["values"]]] == shown
    # "1.234,56" shows no "12"; the others do, and stay numbers.
    assert batch(http, sid, {"findReplace": {"find": "12", "replacement": "13", "sheetId": 0}}).status_code == 200
    assert get(http, sid, "Sheet1!A1:F1", valueRenderOption="UNFORMATTED_VALUE").json()["values"] == [
        [1234.56, 0.135, 1334.5, -0.25, 1334.5, 1334567]]


def test_plain_text_cells_keep_what_is_typed_and_what_find_replace_puts_there(emu, http):
    """Format > Number > Plain text (type TEXT) is how people keep codes on Google: "0042",
    "=1+1" and "3/4/2026" typed there stay that text, and so does what findReplace puts there
    (a merge re-pointing an ID "0043" to "0042"); elsewhere both read them as typed, in the
    spreadsheet's locale (findReplace read "1,5" as en_US in an es_ES spreadsheet)."""
    sid = emu.create_spreadsheet("text", {"Sheet1": []})
    sheet = emu.sheet_id(sid, "Sheet1")
    assert batch(http, sid, {"repeatCell": {
        "range": {"sheetId": sheet, "startRowIndex": 0, "endRowIndex": 1},
        "cell": {"userEnteredFormat": {"numberFormat": {"type": "TEXT"}}},
        "fields": "userEnteredFormat.numberFormat"}}).status_code == 200
    typed = [["0042", "=1+1", "3/4/2026", "7", "x"]]
    put(http, sid, "Sheet1!A1", typed)
    put(http, sid, "Sheet1!A2", typed)
    assert get(http, sid, "Sheet1!A1:E2", valueRenderOption="UNFORMATTED_VALUE").json()["values"] == [
        ["0042", "=1+1", "3/4/2026", "7", "x"], [42, 2, 46085, 7, "x"]]

    def replace(find, replacement):
        return {"findReplace": {"find": find, "replacement": replacement, "matchCase": True,
                                "matchEntireCell": True, "sheetId": sheet}}
    assert batch(http, sid, replace("x", "0043")).status_code == 200
    assert get(http, sid, "Sheet1!E1:E2", valueRenderOption="UNFORMATTED_VALUE").json()["values"] == [
        ["0043"], [43]]
    assert batch(http, sid, {"updateSpreadsheetProperties": {"properties": {"locale": "es_ES"},
                                                             "fields": "locale"}}).status_code == 200
    assert batch(http, sid, replace("7", "1,5")).status_code == 200
    assert get(http, sid, "Sheet1!D1:D2", valueRenderOption="UNFORMATTED_VALUE").json()["values"] == [
        ["1,5"], [1.5]]


def test_a_basic_filter_is_set_whole_and_follows_inserted_and_deleted_rows_and_columns(emu, http):
    """As Google: setBasicFilter replaces the sheet's one filter whole; spreadsheets.get returns
    it with its range as Google echoes a GridRange (sheetId 0 left out); rows and columns
    inserted or deleted move its range and the sheet columns its criteria, filterSpecs and
    sortSpecs name, a deleted column's setting going with it, and the filter with its last row."""
    sid = emu.create_spreadsheet("f", {"Data": [["a", "b", "c", "d"], [1, 2, 3, 4], [5, 6, 7, 8]]})

    def basic_filter():
        answer = http.get(f"{API}/{sid}", params={"fields": "sheets.basicFilter"}).json()
        return answer["sheets"][0].get("basicFilter")

    rng = {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 3, "startColumnIndex": 0, "endColumnIndex": 4}
    flt = {"range": rng, "criteria": {"2": {"hiddenValues": ["7"]}},
           "filterSpecs": [{"columnIndex": 1, "filterCriteria": {"hiddenValues": ["6"]}}],
           "sortSpecs": [{"dimensionIndex": 3, "sortOrder": "DESCENDING"}]}
    assert batch(http, sid, {"setBasicFilter": {"filter": flt}}).status_code == 200
    assert basic_filter() == {**flt, "range": {k: v for k, v in rng.items() if k != "sheetId"}}
    columns = {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1}
    assert batch(http, sid, {"insertDimension": {"range": columns}}).status_code == 200
    assert basic_filter() == {"range": {"startRowIndex": 0, "endRowIndex": 3, "startColumnIndex": 1, "endColumnIndex": 5},
                              "criteria": {"3": {"hiddenValues": ["7"]}},
                              "filterSpecs": [{"columnIndex": 2, "filterCriteria": {"hiddenValues": ["6"]}}],
                              "sortSpecs": [{"dimensionIndex": 4, "sortOrder": "DESCENDING"}]}
    assert batch(http, sid, {"deleteDimension": {"range": {**columns, "startIndex": 2, "endIndex": 3}}}).status_code == 200
    rows = {"sheetId": 0, "dimension": "ROWS", "startIndex": 1, "endIndex": 2}
    assert batch(http, sid, {"insertDimension": {"range": rows}}).status_code == 200
    assert basic_filter() == {"range": {"startRowIndex": 0, "endRowIndex": 4, "startColumnIndex": 1, "endColumnIndex": 4},
                              "criteria": {"2": {"hiddenValues": ["7"]}},
                              "sortSpecs": [{"dimensionIndex": 3, "sortOrder": "DESCENDING"}]}
    assert batch(http, sid, {"setBasicFilter": {"filter": {"range": {"sheetId": 0, "endRowIndex": 2}}}}).status_code == 200
    assert basic_filter() == {"range": {"endRowIndex": 2}}
    assert batch(http, sid, {"deleteDimension": {"range": {**rows, "startIndex": 0, "endIndex": 2}}}).status_code == 200
    assert basic_filter() is None
    far = {"range": {"sheetId": 0, "endColumnIndex": 99}}
    assert batch(http, sid, {"setBasicFilter": {"filter": far}}).status_code == 400


def test_a_duplicated_sheets_filter_and_merges_name_the_copy(emu, http):
    """Found checking the basic filter against Google: duplicateSheet copied the filter and the
    merges still naming the source sheet (sheetId left out: sheet 0), where Google names the copy."""
    sid = emu.create_spreadsheet("f", {"Data": [["a", "b"], [1, 2]]})
    assert batch(http, sid,
                 {"setBasicFilter": {"filter": {"range": {"sheetId": 0, "endRowIndex": 2, "endColumnIndex": 2}}}},
                 {"mergeCells": {"range": {"sheetId": 0, "startRowIndex": 3, "endRowIndex": 4, "endColumnIndex": 2},
                                 "mergeType": "MERGE_ALL"}},
                 {"duplicateSheet": {"sourceSheetId": 0, "newSheetId": 77}}).status_code == 200
    sheets = http.get(f"{API}/{sid}", params={"fields": "sheets(properties.sheetId,basicFilter,merges)"}).json()["sheets"]
    assert sheets[1]["basicFilter"] == {"range": {"sheetId": 77, "endRowIndex": 2, "endColumnIndex": 2}}
    assert sheets[1]["merges"] == [{"sheetId": 77, "startRowIndex": 3, "endRowIndex": 4, "startColumnIndex": 0,
                                    "endColumnIndex": 2}]
    assert "sheetId" not in sheets[0]["basicFilter"]["range"]


def test_filter_views_are_added_updated_by_mask_moved_and_deleted_as_on_google(emu, http):
    """Filter views as Google's API reference has them: addFilterView hands out an ID (or takes
    the one sent, once) and answers the view; updateFilterView changes the fields its mask names
    alone; spreadsheets.get lists them under their sheet; inserted columns move their ranges and
    sort columns; deleteFilterView removes one, and an unknown ID is refused."""
    sid = emu.create_spreadsheet("f", {"Data": [["a", "b", "c"], [1, 2, 3]]})
    view = {"title": "Mine", "range": {"sheetId": 0, "endRowIndex": 2, "endColumnIndex": 2},
            "sortSpecs": [{"dimensionIndex": 1, "sortOrder": "ASCENDING"}]}
    answer = batch(http, sid, {"addFilterView": {"filter": view}}).json()
    added = answer["replies"][0]["addFilterView"]["filter"]
    assert added == {**view, "filterViewId": added["filterViewId"]}
    assert batch(http, sid, {"addFilterView": {"filter": {**view, "filterViewId": added["filterViewId"]}}}
                 ).status_code == 400
    grown = {"sheetId": 0, "endRowIndex": 2, "endColumnIndex": 3}
    assert batch(http, sid, {"updateFilterView": {"filter": {"filterViewId": added["filterViewId"], "range": grown,
                                                            "title": "ignored"}, "fields": "range"}}).status_code == 200

    def views():
        return http.get(f"{API}/{sid}", params={"fields": "sheets.filterViews"}).json()["sheets"][0].get("filterViews")

    assert views() == [{**view, "filterViewId": added["filterViewId"], "range": {"endRowIndex": 2, "endColumnIndex": 3}}]
    columns = {"sheetId": 0, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1}
    assert batch(http, sid, {"insertDimension": {"range": columns}}).status_code == 200
    assert views()[0]["range"] == {"endRowIndex": 2, "startColumnIndex": 1, "endColumnIndex": 4}
    assert views()[0]["sortSpecs"] == [{"dimensionIndex": 2, "sortOrder": "ASCENDING"}]
    assert batch(http, sid, {"deleteFilterView": {"filterId": added["filterViewId"]}}).status_code == 200
    assert views() is None
    assert batch(http, sid, {"deleteFilterView": {"filterId": added["filterViewId"]}}).status_code == 400
