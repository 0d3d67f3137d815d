"""A task ticked off is done, however the team ticks it: a Status cell holding a tick (a Google or
Excel checkbox's TRUE, ✓, x) or another CRM's word (Completed, In Progress), or a column of
checkboxes headed Done or Hecha instead of Status. Read on real .xlsx files, as `sheetcrm kpis`
counts the overdue tasks per owner."""

from __future__ import annotations

import json

from books import xlsx
from in_process import cli

AS_OF = "2026-12-03"


def _overdue(tmp_path, tasks: list[list]) -> dict:
    book = xlsx(tmp_path / "crm.xlsx", {"Tasks": tasks})
    done = cli("kpis", "--workbook", book, "--as-of", AS_OF, "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    return said["overdue_tasks_by_owner"], said["left_out"]


def test_a_column_of_checkboxes_headed_done_or_hecha_says_which_tasks_are_done(tmp_path):
    """Under a Done header the Status column was not found and nothing was said: every ticked
    task counted overdue (Ana 3, where 1 is open)."""
    for header in ("Done", "Hecha", "Completed"):
        tasks = [["ID", "Due", "Subject", "Owner", header],
                 ["TSK-0001", "2026-11-01", "Call", "Ana", True], ["TSK-0002", "2026-11-02", "Mail", "Ana", False],
                 ["TSK-0003", "2026-11-03", "Demo", "Ana", True], ["TSK-0004", "2026-11-04", "Visit", "Ana", None]]
        assert _overdue(tmp_path, tasks) == ({"Ana": 2}, {}), header


def test_a_tick_or_another_crms_word_in_status_is_read_not_left_out(tmp_path):
    """A ticked Status (TRUE, ✓, x) was a bad_enum error and the task left out; a Salesforce or
    HubSpot export's Not Started or In Progress too, so an open overdue task was in no count. A
    word that is neither (Cancelada) is still an error at its cell, never read as a tick."""
    rows = [(True, "Done"), ("✓", "Done"), ("x", "Done"), (False, "Open"), ("Completed", "Done"),
            ("Terminada", "Done"), ("In Progress", "Open"), ("Not Started", "Open"), ("En curso", "Open")]
    tasks = [["ID", "Due", "Subject", "Owner", "Status"]] + [
        [f"TSK-{i:04d}", "2026-11-01", f"Task {i}", "Ana", status] for i, (status, _) in enumerate(rows, 1)]
    tasks.append(["TSK-0099", "2026-11-01", "Lunch", "Ana", "Cancelada"])
    assert _overdue(tmp_path, tasks) == ({"Ana": sum(meant == "Open" for _, meant in rows)}, {"tasks": 1})
    done = cli("validate", "--workbook", tmp_path / "crm.xlsx", cwd=tmp_path)
    assert f"Tasks!E{len(tasks)}" in done.stdout and '"Cancelada" is not a valid task status' in done.stdout


def test_a_workflows_task_gets_an_empty_box_in_a_column_of_checkboxes(tmp_path):
    """A rule's task in a Tasks tab whose Status is a Done column of checkboxes: the word Open
    in a checkbox cell is no box; an unticked one (FALSE) is, and reads as open. (Under a Status
    header the word stays: tests/test_workflows.py.)"""
    from test_workflows import RULES, Book, _tabs

    tabs = _tabs([RULES[0]])
    tabs["Tasks"] = [["ID", "Due", "Subject", "Related", "Owner", "Done"],
                     ["TSK-0001", "2026-11-01", "Old call", "OPP-0001", "Sam", True]]
    book = Book("xlsx", tmp_path, None, tabs)
    book.sync(0)
    book.set("Opportunities", 2, 6, "Proposal")
    book.sync(1)
    new = book.records("Tasks")[-1]
    assert (new["ID"], new["Subject"], new["Done"]) == ("TSK-0002", "Follow up Big", False)


def test_no_dropdown_of_words_over_a_column_of_checkboxes(tmp_path):
    """On Google, a guide puts a dropdown of the column's words on the rows without the team's
    own rule: under a Done column of checkboxes that asked for "Open" below the boxes. A Status
    column of words keeps its dropdown."""
    from sheetcrm.config import Config
    from sheetcrm.steps.guides import guides
    from sheetcrm.validate import read_crm
    from sheetcrm.workbook.xlsx import XlsxWorkbook

    for header, held, dropdowns in (("Done", True, ()), ("Status", "Done", ((6, ("Open", "Done")),))):
        book = xlsx(tmp_path / f"{header}.xlsx", {"Tasks": [["ID", "Due", "Subject", "Related", "Owner", header],
                                                            ["TSK-0001", "2026-11-01", "Call", None, "Sam", held]]})
        crm = read_crm(XlsxWorkbook(book).read(), Config())
        assert [g.dropdowns for g in guides(crm, Config()) if g.tab == "Tasks"] == ([dropdowns] if dropdowns else [])
