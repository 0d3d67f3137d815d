"""The Workflow State and Workflow Log tabs (issue 14), on a real .xlsx file and on the Sheets
emulator: the State is hidden (a new one, and an existing visible one once, riding along with a
write); a person deleting either tab between syncs is warned, naming the tab, and no event
fires a second time (docs/workflows.md, "Exactly once")."""

from __future__ import annotations

import zipfile

import openpyxl
import pytest

from libreoffice import soffice
from sheetcrm.config import Config
from sheetcrm.i18n import in_locale
from sheetcrm.workbook.xlsx_patch import hide_tabs
from test_workflows import PEOPLE_TABS, RULES, Book, _log, _tabs

STATE, LOG = "Workflow State", "Workflow Log"


@pytest.fixture(params=["xlsx", "google"])
def kind(request):
    return request.param


def _book(kind, tmp_path, request) -> Book:
    server = request.getfixturevalue("emu") if kind == "google" else None
    return Book(kind, tmp_path, server, _tabs(RULES))


def _hidden(book: Book) -> set[str]:
    """The hidden tabs as the file or the spreadsheet says, not as sheetcrm reads them."""
    if book.kind == "xlsx":
        return {ws.title for ws in openpyxl.load_workbook(book.path).worksheets if ws.sheet_state != "visible"}
    sheets = book.traced.book.client.http_client.fetch_sheet_metadata(book.key)["sheets"]
    return {s["properties"]["title"] for s in sheets if s["properties"].get("hidden")}


def _delete(book: Book, title: str) -> None:
    """A person deletes a whole tab."""
    if book.kind == "xlsx":
        wb = openpyxl.load_workbook(book.path)
        del wb[title]
        wb.save(book.path)
    else:
        ss = book.traced.book.client.open_by_key(book.key)
        ss.del_worksheet(ss.worksheet(title))


def _unhide(book: Book, title: str) -> None:
    if book.kind == "xlsx":
        wb = openpyxl.load_workbook(book.path)
        wb[title].sheet_state = "visible"
        wb.save(book.path)
    else:
        ss = book.traced.book.client.open_by_key(book.key)
        ss.worksheet(title).show()


def _keys(book: Book) -> list[str]:
    return [e["Key"] for e in _log(book)]


def _validation(book: Book) -> list[dict]:
    return book.records("Validation")


def test_the_state_tab_is_hidden_and_the_log_is_not(kind, tmp_path, request):
    book = _book(kind, tmp_path, request)
    book.sync(0)
    assert book.rows(STATE)[0] == ["Kind", "Key", "Field", "Value"]
    # Created hidden, and the Log beside it (its header alone: nothing has fired yet).
    assert _hidden(book) == {STATE}
    assert book.rows(LOG)[0][:3] == ["Time", "Rule", "Rule Name"] and _log(book) == []
    # sheetcrm still reads it: the next days' syncs fire on its edges as before.
    book.set("Opportunities", 2, 6, "Proposal")
    book.sync(1)
    assert [k.split("|")[0] for k in _keys(book)] == ["WF-0001"]
    assert _hidden(book) == {STATE}


def test_a_visible_state_tab_is_hidden_once_riding_along_with_a_write(kind, tmp_path, request):
    book = _book(kind, tmp_path, request)
    book.sync(0)
    _unhide(book, STATE)
    assert _hidden(book) == set()
    google = kind == "google"
    if google:
        book.traced.reset()
    # Nothing changed: no write at all for the tab's sake (hiding rides along with a write).
    assert not book.sync(0).plan
    if google:
        assert book.traced.counts()[1] == 0
    assert _hidden(book) == set()
    # The next day moves the State's "checked" day: that write hides it, in the same batchUpdate.
    if google:
        book.traced.reset()
    book.sync(1)
    if google:
        assert book.traced.counts()[1] == 1
    assert _hidden(book) == {STATE}
    # Already hidden: not asked again; the day's State write is the only write.
    if google:
        book.traced.reset()
    book.sync(2)
    if google:
        assert book.traced.counts()[1] == 1
    assert _hidden(book) == {STATE}


def test_hide_tabs_sets_the_state_of_only_the_named_sheet():
    xml = (b'<workbook><sheets><sheet name="A" sheetId="1" r:id="rId1"/>'
           b'<sheet name="Workflow State" sheetId="2" state="visible" r:id="rId2"/>'
           b'<sheet name="B &amp; C" sheetId="3" r:id="rId3"></sheet></sheets></workbook>')
    out = hide_tabs(xml, ["Workflow State", "B & C"])
    assert out == (b'<workbook><sheets><sheet name="A" sheetId="1" r:id="rId1"/>'
                   b'<sheet name="Workflow State" sheetId="2" r:id="rId2" state="hidden"/>'
                   b'<sheet name="B &amp; C" sheetId="3" r:id="rId3" state="hidden"></sheet></sheets></workbook>')
    assert hide_tabs(out, ["Workflow State"]) is None


def test_libreoffice_keeps_the_state_hidden(tmp_path, request):
    book = _book("xlsx", tmp_path, request)
    book.sync(0)
    out = tmp_path / "out"
    soffice(["--convert-to", "xlsx", "--outdir", str(out), str(book.path)])
    with zipfile.ZipFile(out / "crm.xlsx") as z:
        workbook = z.read("xl/workbook.xml").decode()
    # What LibreOffice wrote back: the State tab still hidden, the Log and the rest visible.
    assert _states(workbook)[LOG] == _states(workbook)["Opportunities"] == "visible"
    assert {t for t, s in _states(workbook).items() if s != "visible"} == {STATE}


def _states(workbook_xml: str) -> dict[str, str]:
    import re

    out = {}
    for m in re.finditer(r"<sheet\s([^>]*?)/?>", workbook_xml):
        attrs = dict(re.findall(r'([\w:]+)="([^"]*)"', m[1]))
        out[attrs["name"]] = attrs.get("state", "visible")
    return out


def _fired_twice(keys: list[str]) -> list[str]:
    return sorted({k for k in keys if keys.count(k) > 1})


def test_a_deleted_log_is_reported_and_nothing_fires_again(kind, tmp_path, request):
    book = _book(kind, tmp_path, request)
    book.sync(0)
    book.set("Opportunities", 2, 6, "Proposal")      # WF-0001 fires on day 1
    book.sync(1)
    for n in range(2, 10):                            # WF-0003: 2 days before the 10th, on day 8
        book.sync(n)
    fired = _keys(book)
    assert {k.split("|")[0] for k in fired} == {"WF-0001", "WF-0003"}
    tasks = book.records("Tasks")

    _delete(book, LOG)
    result = book.sync(10)
    warning = next(i for i in result.crm.report.issues if i.code == "workflow_log_missing")
    assert warning.severity == "warning" and warning.tab == LOG
    assert warning.message.startswith("The Workflow Log tab is missing, but the Workflow State tab is here: "
                                      "sheetcrm starts a new Workflow Log.")
    shown = [r for r in _validation(book) if r.get("Tab") == LOG]
    assert len(shown) == 1 and shown[0]["Message"] == warning.message
    # A new Log, empty: the stage entered and the day already evaluated fire nothing again.
    assert _log(book) == [] and book.records("Tasks") == tasks
    book.sync(11)
    assert _log(book) == [] and book.records("Tasks") == tasks
    # Once recreated, the warning is gone; later edges fire as usual, once.
    assert not [r for r in _validation(book) if r.get("Tab") == LOG]
    book.set("Opportunities", 3, 6, "Closed Won")     # WF-0004 on OPP-0002
    book.sync(12)
    book.sync(13)
    assert _keys(book) == ["WF-0004|OPP-0002|changes:stage:Qualification>Closed Won@2026-12-13"]


def test_a_deleted_state_is_rebuilt_from_the_log_and_nothing_fires_again(kind, tmp_path, request):
    book = _book(kind, tmp_path, request)
    book.sync(0)
    book.set("Opportunities", 2, 6, "Proposal")           # WF-0001 on day 1
    book.sync(1)
    book.set("Opportunities", 3, 8, "2026-12-15")         # OPP-0002's close reminder: due 12-13 (day 12)
    for n in range(2, 8):                                 # OPP-0001's: due 12-08 (day 7)
        book.sync(n)
    fired = _keys(book)
    assert fired == ["WF-0001|OPP-0001|enters:Proposal@2026-12-02", "WF-0003|OPP-0001|from:close_date:2026-12-10"]
    tasks = book.records("Tasks")

    _delete(book, STATE)
    # Down for a week meanwhile: OPP-0002's reminder, due on day 12, was missed.
    result = book.sync(14)
    warning = next(i for i in result.crm.report.issues if i.code == "workflow_state_missing")
    assert warning.tab == STATE and warning.message.startswith(
        "The Workflow State tab is missing, but the Workflow Log tab is here: sheetcrm rebuilt what it could "
        "from the Workflow Log.")
    assert [r["Message"] for r in _validation(book) if r.get("Tab") == STATE] == [warning.message]
    keys = _keys(book)
    # What the Log holds fired nothing again (the stage entered, OPP-0001's reminder); the
    # reminder missed since the Log's last day fired once: the rule's days came back from the Log.
    assert keys == [*fired, "WF-0003|OPP-0002|from:close_date:2026-12-15"] and not _fired_twice(keys)
    assert book.records("Tasks") == tasks
    # The State is back (hidden), the warning gone, and the next syncs fire nothing more.
    assert STATE in _hidden(book)
    book.sync(15)
    book.sync(16)
    assert _keys(book) == keys and not [r for r in _validation(book) if r.get("Tab") == STATE]


def test_the_warning_is_in_spanish_too():
    from sheetcrm.steps.workflows import _LOST

    message = in_locale("es", _LOST["state"][0]).format(tab="Estado de flujos", other="Registro de flujos")
    assert message.startswith("Falta la pestaña Estado de flujos, pero la pestaña Registro de flujos está")
