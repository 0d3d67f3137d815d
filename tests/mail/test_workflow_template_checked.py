"""A workflow email's Template is checked at the sync that would queue it (docs/workflows.md):
a missing file or one that does not compile is a warning at the rule's Template cell, with
the templates folder (as sheetcrm.toml names it) and what it holds, and the firing is
skipped, so no Draft is queued that could only fail at send."""

from __future__ import annotations

import os

from sheetcrm.config import Config
from sheetcrm.crm.workflows import TemplateShelf
from sheetcrm.mail.outbox import template_shelf
from test_workflow_mail import make, outbox, rule


def _config(tmp_path, monkeypatch) -> Config:
    folder = tmp_path / "tpl"
    folder.mkdir()
    (folder / "welcome.txt.j2").write_text("Hello {{ Last_Name }}.\n")
    (folder / "broken.txt.j2").write_text("Hello {{ Last_Name \n")
    (folder / "halfbroken.txt.j2").write_text("Hello.\n")
    (folder / "halfbroken.html.j2").write_text("<p>{% if %}</p>\n")
    monkeypatch.chdir(tmp_path)  # the folder is shown relative, as a person finds it from here
    return Config(templates=str(folder), owners={"Sam": "sam@team.example"})


def test_a_missing_or_broken_template_warns_at_its_cell_and_queues_nothing(tmp_path, request, monkeypatch):
    config = _config(tmp_path, monkeypatch)
    rules = [rule("WF-0001", "lead", "created", "send email", "Hi", "welcome"),
             rule("WF-0002", "lead", "created", "send email", "Hi", "nosuch"),
             rule("WF-0003", "lead", "created", "send email", "Hi", "broken"),
             rule("WF-0004", "lead", "created", "notify at once", "Hi", "halfbroken")]
    book = make("xlsx", tmp_path, request, rules)
    first = book.sync(0, config)
    warned = {(i.row, i.column, i.code): i for i in first.crm.report.issues if i.code.startswith("workflow_template")}
    # Told at the first sync, before any event fires: the Template column is J.
    assert set(warned) == {(3, "J", "workflow_template_missing"), (4, "J", "workflow_template_broken"),
                           (5, "J", "workflow_template_broken")}
    missing = warned[(3, "J", "workflow_template_missing")]
    assert missing.severity == "warning" and "nosuch.txt.j2" in missing.message
    assert f"tpl{os.sep}" not in missing.hint and "templates folder tpl" in missing.hint
    assert "broken, halfbroken, welcome" in missing.hint
    assert "broken.txt.j2" in warned[(4, "J", "workflow_template_broken")].message
    assert "halfbroken.html.j2" in warned[(5, "J", "workflow_template_broken")].message

    book.append("Leads", ["LEAD-0002", "Kim", "Beta", "k@beta.com", "New", "Sam", "2026-12-02"])
    book.sync(1, config)
    assert [(r["Opportunity"], r["Subject"]) for r in outbox(book)] == [("LEAD-0002", "Hi")]
    assert outbox(book)[0]["Version"] and len(outbox(book)) == 1
    log = {r["Rule"]: r for r in book.records("Workflow Log")}
    assert log["WF-0001"]["Result"] == "done"
    assert [log[rid]["Result"] for rid in ("WF-0002", "WF-0003", "WF-0004")] == ["skipped"] * 3


def test_the_hint_says_where_templates_go():
    compiled = {"welcome.txt.j2": None, "notify.txt.j2": None}
    none = TemplateShelf(compiled)
    assert none.problem("welcome") is None and none.problem("welcome.txt.j2") is None
    code, fields = none.problem("nosuch")
    assert code == "workflow_template_missing" and "templates = " in fields["hint"]
    gone = TemplateShelf(compiled, "my-templates", exists=False)
    assert "my-templates does not exist" in gone.problem("x")[1]["hint"]


def test_the_shelf_reads_the_folder_and_the_builtin_templates(tmp_path, monkeypatch):
    config = _config(tmp_path, monkeypatch)
    shelf = template_shelf(config)
    assert shelf.folder == "tpl" and shelf.exists and shelf.found == ("broken", "halfbroken", "welcome")
    assert shelf.files["welcome.txt.j2"] is None and shelf.files["notify.txt.j2"] is None  # built in
    assert "line 1" in shelf.files["broken.txt.j2"]
    missing = template_shelf(Config(templates=str(tmp_path / "gone")))
    assert not missing.exists and missing.files["quote.txt.j2"] is None


def test_a_templates_setting_naming_a_file_is_said_at_the_setting(tmp_path, monkeypatch, request):
    """templates = "t" where t is a file was "templates folder t does not exist": a person
    looked for a missing folder. The line names the config file and the key, and says it is a file."""
    from in_process import cli

    book = make("xlsx", tmp_path, request, [rule("WF-0001", "lead", "created", "send email", "Hi", "welcome")])
    (tmp_path / "t").write_text("Hello.\n")
    (tmp_path / "sheetcrm.toml").write_text(f'workbook = "{book.path.name}"\ntemplates = "t"\n')
    monkeypatch.setenv("SHEETCRM_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SHEETCRM_SMTP_FROM", "crm@team.example")
    done = cli("outbox", "send", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == ('sheetcrm: sheetcrm.toml: templates = "t" names a file, not a folder: name the folder '
                           "that holds the templates\n")
    (tmp_path / "t").unlink()
    assert cli("outbox", "send", cwd=tmp_path).stderr.startswith('sheetcrm: sheetcrm.toml: templates = "t": no such '
                                                                  "folder (")
    # A sync's rules naming a template say so at their cell, not "does not exist".
    (tmp_path / "t").write_text("Hello.\n")
    monkeypatch.chdir(tmp_path)
    shelf = template_shelf(Config(templates="t"))
    assert "names a file, not a folder" in shelf.problem("nosuch")[1]["hint"]
