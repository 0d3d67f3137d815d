"""Bodies exchanged with the emulator must fit Google's published Sheets v4 schemas."""

from __future__ import annotations

import json
import os

import pytest

from discovery import Discovery
from sheets_cassettes import CASSETTES, cassette_files, replay


@pytest.fixture(scope="module")
def discovery():
    return Discovery()


def _sheets_pairs(records):
    for rec in records:
        yield rec.method, rec.path, rec.request, rec.response, rec.status


def test_validator_rejects_what_google_would(discovery):
    errors = discovery.validate(
        {"range": "A1", "majorDimension": "DIAGONAL", "values": [[1]], "colour": "red"}, "ValueRange"
    )
    assert any("DIAGONAL" in e for e in errors)
    assert any("colour" in e for e in errors)
    assert discovery.validate({"requests": [{"addSheet": {"properties": {"index": "one"}}}]},
                              "BatchUpdateSpreadsheetRequest") == [
        "BatchUpdateSpreadsheetRequest.requests[0].addSheet.properties.index: expected integer, got 'one'"
    ]


def test_recorded_google_traffic_fits_the_schemas(discovery):
    # Proves the validator against reality before trusting it on the emulator.
    checked = 0
    for name in cassette_files():
        with open(os.path.join(CASSETTES, name), encoding="utf-8") as fh:
            for it in json.load(fh)["interactions"]:
                path = it["request"]["uri"].split("googleapis.com", 1)[1].split("?")[0]
                schemas = discovery.method(it["request"]["method"], path)
                if not schemas or it["response"]["status"]["code"] != 200:
                    continue
                request_schema, response_schema = schemas
                if request_schema and it["request"]["body"]:
                    assert discovery.validate(json.loads(it["request"]["body"]), request_schema) == []
                assert discovery.validate(json.loads(it["response"]["body"]["string"]), response_schema) == []
                checked += 1
    assert checked > 700


def test_emulator_traffic_fits_the_schemas(discovery):
    checked = 0
    for name in cassette_files():
        for method, path, request, response, status in _sheets_pairs(replay(name).records):
            schemas = discovery.method(method, path)
            if not schemas:
                continue
            body = json.loads(response) if response else None
            if status != 200:
                assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "status"}
                continue
            request_schema, response_schema = schemas
            if request_schema and request:
                assert discovery.validate(json.loads(request), request_schema) == [], (path, request)
            assert discovery.validate(body, response_schema) == [], (path, body)
            checked += 1
    assert checked > 700
