"""Compressed answers: Google gzips every answer that has a body for a client that asks, and
the emulator does the same, so what a benchmark sees on the wire is what production sees.

The evidence is in the recordings: gspread recorded them with vcrpy's
`decode_compressed_response`, which removes a gzipped answer's Content-Encoding header and
writes the decoded length as a lower-case "content-length" (Google's own header is
"Content-Length"). Every recorded answer with a body carries that mark, and the empty 204
answers do not."""

from __future__ import annotations

import glob
import gzip
import http.client
import json
import os

import gspread
import pytest
from google.auth.credentials import AnonymousCredentials

from sheetcrm.config import Config
from sheetcrm.emulator import Emulator
from sheetcrm.emulator.server import accepts_gzip
from sheetcrm.emulator.session import emulator_session
from sheetcrm.sync import sync
from sheetcrm.workbook.credentials import EMULATOR_ENV, connect
from sheetcrm.workbook.gsheets import GoogleSheetsWorkbook, SheetsHTTPClient

CASSETTES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "sheets-cassettes")
ROWS = [["Name", "Amount", "Won", "Note"]] + [[f"Ann {i}", i * 1.5, i % 2 == 0, "" if i % 3 else "é ✓"]
                                               for i in range(300)]


def _get(emu: Emulator, path: str, accept_encoding: str | None) -> http.client.HTTPResponse:
    """One request by a bare HTTP client, which decodes nothing, so the body is as sent."""
    conn = http.client.HTTPConnection(emu.host, timeout=10)
    headers = {} if accept_encoding is None else {"Accept-Encoding": accept_encoding}
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.body = response.read()
    conn.close()
    return response


def _batch_get(sid: str) -> str:
    return (f"/v4/spreadsheets/{sid}/values:batchGet?ranges=Deals&valueRenderOption=UNFORMATTED_VALUE"
            f"&dateTimeRenderOption=SERIAL_NUMBER")


def test_the_recordings_show_google_gzips_every_answer_with_a_body():
    with_body = without_body = 0
    for path in glob.glob(os.path.join(CASSETTES, "*.json")):
        with open(path, encoding="utf-8") as fh:
            for interaction in json.load(fh)["interactions"]:
                request, response = interaction["request"], interaction["response"]
                assert "gzip" in request["headers"]["Accept-Encoding"][0]
                decoded_by_vcrpy = "content-length" in response["headers"]
                if response["body"]["string"]:
                    assert decoded_by_vcrpy, (path, request["uri"])
                    with_body += 1
                else:
                    assert not decoded_by_vcrpy and response["headers"]["Content-Length"] == ["0"]
                    without_body += 1
    assert with_body > 900 and without_body > 100


def test_an_answer_asked_for_gzip_comes_gzipped_and_decodes_to_the_same_json():
    with Emulator() as emu:
        sid = emu.create_spreadsheet("CRM", {"Deals": ROWS})
        zipped = _get(emu, _batch_get(sid), "gzip, deflate")
        plain = _get(emu, _batch_get(sid), None)
        assert zipped.status == plain.status == 200
        assert zipped.getheader("Content-Encoding") == "gzip"
        assert plain.getheader("Content-Encoding") is None
        assert int(zipped.getheader("Content-Length")) == len(zipped.body) < len(plain.body) / 3
        assert gzip.decompress(zipped.body) == plain.body
        answer = json.loads(gzip.decompress(zipped.body))
        # Google trims each row's trailing empty cells.
        assert answer["valueRanges"][0]["values"] == [row[:3] if row[3] == "" else row for row in ROWS]
        # The log keeps the body as encoded JSON and what went on the wire apart.
        first, second = emu.requests[-2:]
        assert first.response == second.response == plain.body
        assert (first.wire, second.wire) == (len(zipped.body), len(plain.body))


def test_errors_are_gzipped_too_and_an_empty_answer_is_not():
    with Emulator() as emu:
        missing = _get(emu, "/v4/spreadsheets/nope?includeGridData=false", "gzip")
        assert missing.status == 404 and missing.getheader("Content-Encoding") == "gzip"
        assert json.loads(gzip.decompress(missing.body))["error"]["status"] == "NOT_FOUND"
        sid = emu.create_spreadsheet("CRM", {"Deals": ROWS})
        conn = http.client.HTTPConnection(emu.host, timeout=10)
        conn.request("DELETE", f"/drive/v3/files/{sid}", headers={"Accept-Encoding": "gzip"})
        deleted = conn.getresponse()
        assert deleted.status == 204 and deleted.read() == b"" and deleted.getheader("Content-Encoding") is None
        conn.close()


@pytest.mark.parametrize("header, wanted", [
    ("gzip", True), ("gzip, deflate", True), ("deflate, gzip;q=0.5", True), ("GZIP", True), ("x-gzip", True),
    ("*", True), ("br;q=1.0, *;q=0.1", True),
    (None, False), ("", False), ("identity", False), ("deflate", False), ("gzip;q=0", False),
    ("*, gzip;q=0", False), ("gzip;q=0.0, *", False), ("br", False),
])
def test_accept_encoding_is_read_as_http_says(header, wanted):
    assert accepts_gzip(header) is wanted


def test_gspread_through_the_emulator_gets_gzip_and_the_same_values():
    with Emulator() as emu:
        sid = emu.create_spreadsheet("CRM", {"Deals": ROWS})
        client = gspread.Client(AnonymousCredentials(), session=emulator_session(emu.host))
        values = client.open_by_key(sid).worksheet("Deals").get_all_values()
        assert values[0] == ROWS[0] and values[4] == ["Ann 3", "4.5", "FALSE", "é ✓"]
        read = emu.requests[-1]
        assert read.method == "GET" and 0 < read.wire < len(read.response)


def test_sheetcrm_asks_google_for_gzip():
    # A production client: google-auth's AuthorizedSession, built by gspread's HTTPClient.
    client = SheetsHTTPClient(AnonymousCredentials())
    assert "gzip" in client.session.headers["Accept-Encoding"]
    assert "(gzip)" in client.session.headers["User-Agent"]  # as Google's "Performance Tips" ask


def test_a_sync_reads_gzipped_answers_and_they_decode_to_the_cells(monkeypatch):
    with Emulator() as emu:
        sid = emu.create_spreadsheet("CRM", {"Deals": ROWS})
        monkeypatch.setenv(EMULATOR_ENV, emu.host)
        book = GoogleSheetsWorkbook(connect(None).client, sid)
        snapshot = book.read()
        assert snapshot.tabs["Deals"].rows[1] == ["Ann 0", 0, True, "é ✓"]
        assert snapshot.tabs["Deals"].rows[2] == ["Ann 1", 1.5, False]
        reads = [r for r in emu.requests if r.method == "GET" and r.response]
        assert reads and all(0 < r.wire < len(r.response) for r in reads)
        outcome = sync(book, Config())
        assert outcome.result is not None


def test_an_answer_asked_for_without_pretty_printing_is_compact_json_of_the_same_values():
    """prettyPrint=false, a standard query parameter of every Google API: the answer has no
    space or line break between tokens, and reads as the same JSON; by default it is indented."""
    with Emulator() as emu:
        sid = emu.create_spreadsheet("CRM", {"Deals": ROWS})
        pretty = _get(emu, _batch_get(sid), None)
        compact = _get(emu, _batch_get(sid) + "&prettyPrint=false", None)
        assert pretty.status == compact.status == 200
        assert json.loads(compact.body) == json.loads(pretty.body)
        assert compact.body == json.dumps(json.loads(pretty.body), ensure_ascii=False,
                                          separators=(",", ":")).encode()
        assert b"\n" in pretty.body and len(compact.body) < len(pretty.body) * 0.7
        assert _get(emu, _batch_get(sid) + "&prettyPrint=true", None).body == pretty.body


def test_every_read_a_sync_makes_asks_for_compact_json(monkeypatch):
    """sheetcrm's requests (the reads: metadata, values, number formats, a write's guard and
    read-back; and the writes) carry prettyPrint=false: the answers are about half their indented size, and a read's peak
    memory holds the answer twice (its bytes and the parser's)."""
    tabs = {"Opportunities": [["ID", "Name", "Probability", "Amount"], ["OPP-0001", "Deal", 0.5, 1000]],
            "Deals": ROWS}
    with Emulator() as emu:
        sid = emu.create_spreadsheet("CRM", tabs)
        monkeypatch.setenv(EMULATOR_ENV, emu.host)
        book = GoogleSheetsWorkbook(connect(None).client, sid)
        start = len(emu.requests)
        outcome = sync(book, Config())
        assert outcome.result is not None
        sync(book, Config())
        reads = [r for r in emu.requests[start:] if r.method == "GET"]
        assert len({r.path.rsplit("/", 1)[-1] for r in reads}) >= 2 and len(reads) >= 5
        assert all(r.query.get("prettyPrint") == ["false"] for r in reads), [(r.path, r.query) for r in reads]
        assert all(b"\n" not in r.response for r in reads)
        # The writes too: every request goes through the one client (`SheetsHTTPClient.request`).
        writes = [r for r in emu.requests[start:] if r.method == "POST"]
        assert writes and all(r.query.get("prettyPrint") == ["false"] for r in writes)
