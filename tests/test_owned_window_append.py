"""Two edits in one sync on Google (docs/concurrency.md, "What remains"): before the key
re-read a person types a row where one of several new records was to go, and in the instant
before the batch inserts a row above. Over real gspread against the emulator."""

from __future__ import annotations

from sheetcrm.emulator import Emulator
from sheetcrm.sync import plan_sync, sync

from test_forms import AS_OF, T1, T2, T3, GoogleBook, _tabs, config


def test_a_row_typed_among_new_records_then_a_row_inserted_above_never_has_a_record_written_over_a_row(
        monkeypatch):
    with Emulator() as emu:
        monkeypatch.setenv("SHEETS_EMULATOR_HOST", emu.host)
        b = GoogleBook(emu, _tabs([[T1, "bob@beta.com", "Bob Stone", "Beta", None],
                                   [T2, "cy@ceta.com", "Cy Dee", "Ceta", None],
                                   [T3, "di@deta.com", "Di Eve", "Deta", None]]))
        _, _, plan = plan_sync(b.book.read(), config(), AS_OF)
        assert sorted({w.row for w in plan.writes if w.tab == "Leads" and w.row > 2}) == [3, 4, 5]
        seen: dict[str, list] = {}

        def typed(e):  # before the write's key re-read: a person's row where Cy was to go
            e.set_values(b.key, "'Leads'!A4", [["LEAD-0900", "Eve", "Typed", "Own", "eve@own.com"]], value_input="RAW")

        def inserted(e):  # in the instant before the batch: a row inserted above Ana's, typed into
            sheet = e.sheet_id(b.key, "Leads")
            e.apply(b.key, [{"insertDimension": {"range": {"sheetId": sheet, "dimension": "ROWS", "startIndex": 1,
                                                           "endIndex": 2}}}])
            e.set_values(b.key, "'Leads'!A2", [[None, "typed above"]], value_input="RAW")
            seen["Leads"] = [r for r in b.rows("Leads") if any(v is not None for v in r)]

        emu.between_requests(typed)
        emu.before_next(":batchUpdate", inserted)
        b.book.write(plan)
        rows = [r for r in b.rows("Leads") if any(v is not None for v in r)]
        # Every row the person left is there whole (Ana's, their typed rows); the new leads
        # are rows of their own, or wait for the next sync.
        theirs = [r[:5] for r in seen["Leads"]]
        assert [r[:5] for r in rows if r[:5] in theirs] == theirs, rows
        new = [r[:5] for r in rows if r[:5] not in theirs]
        assert all(r[0] and r[0].startswith("LEAD-") and r[1] in ("Bob", "Cy", "Di") for r in new), rows
        # The next sync adds each new lead once, below everything; the person's rows stay (the
        # row typed above gets an ID, as any new row).
        sync(b.book, config(), as_of=AS_OF)
        rows = [r for r in b.rows("Leads") if any(v is not None for v in r)]
        assert [r[1:5] for r in rows if r[1:5] in [t[1:5] for t in theirs]] == [t[1:5] for t in theirs], rows
        assert sorted(r[1] for r in rows if r[1] in ("Bob", "Cy", "Di")) == ["Bob", "Cy", "Di"], rows
