"""Web-to-lead, the spreadsheet way: each response a web form wrote into its tab becomes one
lead, exactly once. Pure: a read in, cell writes and issues out.

A Google Form writes each response as a row of its tab ("Form Responses 1"): the time in the
first column ("Timestamp", "Marca temporal"), then one column per question. For each
`[forms.<name>]` of the config (`intake.settings.FormSettings`):

* a response whose **Lead** cell (a column sheetcrm adds to the responses tab) is filled is
  done: that cell is the durable record, in the workbook, that the response was handled;
* a new response's person is looked for among the Leads and Contacts (`crm.matching`):
  found, the response adds a "Form Submitted" activity to that record; not found, it becomes a
  new lead (ID from the marks, Status New and Created = the response's day, Source from the
  config) with that activity. Either way the response's Lead cell gets the record's ID.
  Contacts are looked at first (the person as a customer): a contact that matches wins over a
  lead. Two records of one tab that match alike (two contacts with one email) link to neither
  (docs/leads.md, "Who is already here"): no lead, no activity, the Lead cell left empty, and a
  `form_ambiguous` warning at the response's email (else phone) cell naming both, every sync
  until a person tells them apart or merges them (a website submission: `web_ambiguous`, and
  it waits in the queue);
* the writes of one response land together or not at all: the new lead's row is appended
  (`plan.append_writes`), and the activity's cells and the Lead cell each `require` the lead
  row's ID write (for a known person, the activity row's ID write);
* a response is known by its **key**: a hash of the form's name, its time and its first
  answers (FIRST_ANSWERS) as this sync sees them, written into the activity's Subject
  ("[sheetcrm:1a2b3c4d5e6f]"). When the lead and the activity landed but the Lead cell did not
  (the tab was sorted between read and write, the sync was cut short), the next sync finds
  the key among the activities and only fills in the Lead cell: never a second lead. Rows
  move freely (a sorted tab), and an answer edited after the Lead cell is filled changes
  nothing;
* a response whose answers do not make a sound lead (an email that is not one, no name, no
  company and no email) is reported at its cell, every sync, until fixed; one whose person's
  row has no ID yet waits for the next sync (the ids step gives it one in this one).

The one window left: an answer among the first ones edited after the lead landed but before
its Lead cell did gives the response a new key, so it becomes a lead again; that takes an
interrupted write and an edit within the same minute. A response of the very same answers as
another within `queue.SAME_POST` (10 minutes) is that one sent again: its Lead cell names the
other's record, and nothing else is made (docs/leads.md).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import ValidationError

from sheetcrm import cells, team_time
from sheetcrm.config import Config, FormSettings
from sheetcrm.candidates import Candidate, candidates
from sheetcrm.columns import ORDER_NAMES, proven
from sheetcrm.crm.conversion import Ambiguous, Unsure
from sheetcrm.crm.duplicates import Recall
from sheetcrm.crm.matching import Known
from sheetcrm.crm.words import LEAD_STATUS
from sheetcrm.engine import words_of
from sheetcrm.i18n import N_, _
from sheetcrm.ids import id_pattern
from sheetcrm.intake.queue import SAME_POST, WebBatch
from sheetcrm.intake.settings import ServeSettings
from sheetcrm.intake.text import problem
from sheetcrm.plan import append_writes
from sheetcrm.records import Lead
from sheetcrm.report import Issue, column_letter
from sheetcrm.schema import TABS
from sheetcrm.table import Table
from sheetcrm.validate import Crm, parse_context, row_label
from sheetcrm.workbook import CellValue, CellWrite, Grid, Snapshot, cell_key

LEAD_HEADER = "Lead"  # the responses tab's column sheetcrm adds; the word is the same in Spanish
TIMESTAMP_HEADERS = ("Timestamp", "Marca temporal", "Marca de tiempo")  # not for people: what Google Forms writes
FIRST_ANSWERS = 2  # how many answers (after the time) tell two responses of the same second apart
FORM_SUBMITTED = {"en": "Form Submitted", "es": "Formulario enviado"}  # not for people: the Type cells read (records.Activity)
# The form's name in the Subject of a `sheetcrm serve` submission's activity: a cell people read,
# so in the team's language. Nothing reads it back: a response is known by KEY alone, so
# Subjects written in either language (or before this was translated) are found alike.
WEB_FORM = N_("website")
KEY = re.compile(r"\[sheetcrm:([0-9a-f]{12})\]")
_SUBJECT = N_("Form response ({form}) {key}")
_EPOCH = dt.datetime(1899, 12, 30)  # day 0 of spreadsheet serial dates
# A person who may be a record whose key cell cannot be read: said under form_ambiguous and
# web_ambiguous (it is not known who the person is), so a team filtering on them sees every
# response that waits for a person to tell records apart.
_UNSURE_FORM = (N_("This response's person may be {record}, but {cell} ({shown}) cannot be read: it is linked to "
                   "nothing, and no lead is made of it."),
                N_("Fix that cell; the next sync then links the response."))
_UNSURE_WEB = (N_("The website form's submission {receipt} may be {record}, but {cell} ({shown}) cannot be read: it "
                  "is linked to nothing, and waits in the queue."),
               N_("Fix that cell; the next sync then links the submission."))

_MESSAGES = {
    "form_tab_missing": (N_('The form {form} writes into the tab "{tab}", which is not in the workbook.'),
                         N_("Check `tab` under [forms.{form}] in sheetcrm.toml against the responses tab's name.")),
    "form_question_missing": (N_('The form {form} maps the question "{question}", but the tab has no such column.'),
                              N_("Check the question under [forms.{form}] fields against the tab's header row.")),
    "form_no_timestamp": (N_('The responses tab has no "{header}" column, so no response can be told from another.'),
                          N_("Keep the form's Timestamp column, or name it with `timestamp` under [forms.{form}].")),
    "form_needs_tab": (N_("Form responses become leads only when the workbook has a {tab} tab with an ID column."),
                       N_("Run `sheetcrm init` to add the missing tabs.")),
    "web_invalid": (N_("The website form's submission {receipt} no longer makes a sound lead; it waits in the queue."),
                    N_("Check [serve] in sheetcrm.toml: its fields and source.")),
    "form_field_no_column": (N_('The form {form} fills the leads\' {name}, but the {tab} tab has no "{name}" '
                                'column: that answer of each response is not written into its lead.'),
                             N_('Add a "{name}" column to the {tab} tab; the answers of the responses already made '
                                'leads stay in the form\'s tab.')),
    "web_field_no_column": (N_('The website form\'s submissions fill the leads\' {name}, but the {tab} tab has no '
                               '"{name}" column: that value of each submission is not written into its lead.'),
                            N_('Add a "{name}" column to the {tab} tab; submissions appended after that have it.')),
    "form_answers_differ": (N_("This response answers \"{question}\" in two columns of that name, {shown} and "
                               "{other}: which one is the person's cannot be told, so it is not made a lead."),
                            N_("Clear the answer that is wrong, or rename the older column: a question deleted and "
                               "added again in the form keeps its old column beside the new one.")),
    "form_bad_time": (N_("This response's time cannot be read, so it is not made a lead."),
                      N_("Leave the time Google Forms wrote in this cell.")),
    "form_time_ambiguous": (N_("This response's time {shown} reads as {read} ({order}) or as {could}, and neither "
                               "its column nor the config says which: it is not made a lead until one does."),
                            N_("Set locale in sheetcrm.toml to the way the tool that wrote it writes dates, or have "
                               "it write times year first (2026-12-03 10:00).")),
    "form_ambiguous": (N_("This response's person matches {records} alike: it is linked to neither, and no lead "
                            "is made of it."),
                         N_("Tell those records apart or merge them; the next sync then links the response.")),
    "web_ambiguous": (N_("The website form's submission {receipt} matches {records} alike: it is linked to "
                         "neither, and waits in the queue."),
                      N_("Tell those records apart or merge them; the next sync then links the submission.")),
    "web_set_aside": (N_("The website form's submission {receipt} cannot be written into the sheet ({reason}); "
                         "it is set aside in the queue and waits no more."),
                      N_("It stays in the queue file with its reason; type the lead by hand if it is a real one.")),
}


@dataclass
class FormsPart:
    """What the forms plan: the writes (new leads, activities, Lead cells) and the issues."""

    writes: list[CellWrite] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    leads: int = 0           # new leads
    activities: int = 0      # activities added to records that were already there
    intake: list[str] = field(default_factory=list)  # the IDs of every Form Submitted activity planned


def plan_forms(snapshot: Snapshot, crm: Crm, config: Config, marks: dict[str, int],
               web: WebBatch | None = None, recall: Callable[[], Recall] | None = None) -> FormsPart:
    """Every configured form's new responses, and the website form's waiting submissions
    (`web`, filled in place), as writes (rules in the module docstring). `marks` (prefix ->
    last number handed out) moves forward in place. `recall`: gives the people's keys an
    earlier sync worked out (`duplicates.Recall`), asked for only once a response needs them."""
    part = FormsPart()
    if not config.forms and not (web and web.waiting):
        return part
    leads, activities = crm.tables.get("leads"), crm.tables.get("activities")
    missing = [key for key, t in (("leads", leads), ("activities", activities)) if t is None or "id" not in t.header.fields]
    if missing:
        for key in missing:
            title = config.tab(key).title or TABS[key].display_title(config.locale)
            part.issues.append(_issue("warning", title, None, None, None, None, "form_needs_tab", tab=title))
        return part
    assert leads is not None and activities is not None
    run = _Run(snapshot, crm, config, marks, leads, activities, part, recall)
    for name, settings in config.forms.items():
        run.form(name, settings)
    if web is not None:
        run.submissions(web, config.serve)
    return part


def response_key(form: str, stamp: CellValue, answers: list[CellValue]) -> str:
    """12 hex digits of SHA-256 over the form's name, the response time and its first answers,
    each compared as `cell_key` compares cells (a date and its serial number are one)."""
    text = repr((form, cell_key(stamp), [cell_key(a) for a in answers[:FIRST_ANSWERS]]))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def handled_keys(activities: Table) -> dict[str, str]:
    """Response key -> the ID its activity is related to, from the Activities' Subjects."""
    subject, related = activities.header.fields.get("subject"), activities.header.fields.get("related")
    out: dict[str, str] = {}
    if subject is None or related is None:
        return out
    for row in activities.rows:
        text = row.cells[subject] if subject < len(row.cells) else None
        m = KEY.search(text) if isinstance(text, str) else None
        who = cells.parse_text(row.cells[related]) if related < len(row.cells) else None
        if m and who:
            out.setdefault(m.group(1), who)
    return out


class _Run:
    """One plan over every form: the people known so far (new leads join them), the next free
    row of Leads and Activities, the marks."""

    def __init__(self, snapshot: Snapshot, crm: Crm, config: Config, marks: dict[str, int], leads: Table,
                 activities: Table, part: FormsPart, recall: Callable[[], Recall] | None = None) -> None:
        self.snapshot, self.crm, self.config, self.marks, self.part = snapshot, crm, config, marks, part
        self.recall = recall
        self.leads, self.activities = leads, activities
        self.locale = config.locale
        self.parse = parse_context(config)
        self.start: dict[str, int | None] = {leads.title: None, activities.title: None}
        # The rows whose key cells cannot be read, by their record's identity (filled with `people`).
        self.unsure: dict[int, Candidate] = {}
        self.said: set[tuple[str, str]] = set()
        # (tab, a question's column) -> every column of the tab with that question's header, in order
        self.twins: dict[tuple[str, int], list[int]] = {}
        self.order = self.locale  # the day/month order of the form being read's text times  # (code, field) of the fields said to have no column
        self.order_sure = True  # whether its column or the config settles that order

    # What only a response to handle needs is worked out on the first one: a sync with no new
    # response (the usual one) would otherwise scan every lead and activity for nothing.
    @functools.cached_property
    def new_word(self) -> str:
        """The team's word for a new lead's status."""
        return words_of(self.crm, self.config)(LEAD_STATUS, "New")

    @functools.cached_property
    def handled(self) -> dict[str, str]:
        """The responses already handled: response key -> the ID its activity is related to (`handled_keys`)."""
        return handled_keys(self.activities)

    @functools.cached_property
    def highest(self) -> dict[str, int]:
        """The highest LEAD- and ACT- number in the tabs, for the next new ID."""
        return {prefix: _highest(t, prefix) for prefix, t in (("LEAD", self.leads), ("ACT", self.activities))}

    @functools.cached_property
    def people(self) -> Known:
        """Everyone already in the CRM, matchable; built on the first response that needs it,
        since a sync without new responses (the usual one) would pay for every key of every
        person for nothing."""
        accounts = self.crm.tables.get("accounts")
        # A row with a bad cell is still who it is (`sheetcrm.candidates`): by what of it reads.
        people = Known(self.config.duplicates,
                       [r.record or r.target for r in accounts.rows if (r.record or r.target) is not None]
                       if accounts else [], recall=self.recall() if self.recall is not None else None)
        for key in ("contacts", "leads"):  # a contact is the person as a customer: found first
            table = self.crm.tables.get(key)
            for c in candidates(table, self.snapshot.tabs.get(table.title)) if table else ():
                if c.unread:
                    self.unsure[id(c.record)] = c
                    people.add(("", id(c.record)), c.record, c.unread_fields)
                else:
                    people.add((key, c.row.id), c.record)
        return people

    def _unsure_said(self, said: tuple[str, str], placed: Unsure, **fmt: Any) -> tuple[str, str]:
        """(message, hint) for a person who may be a half-read row, naming the first such row's cell."""
        candidate = self.unsure[id(placed.records[0])]
        cell = candidate.unread[0]
        fmt |= {"record": candidate.row.id or row_label(candidate.row), "cell": cell.cell,
                "shown": cells.quoted(cell.value)}
        return _(said[0], **fmt), _(said[1], **fmt)

    def form(self, name: str, settings: FormSettings) -> None:
        title = cells_tab(self.snapshot, settings.tab)
        if title is None:
            self.part.issues.append(_issue("warning", settings.tab, None, None, None, None, "form_tab_missing",
                                           form=name, tab=settings.tab))
            return
        grid = self.snapshot.tabs[title]
        labels = {cells.normalize_key(t): col for col, raw in enumerate(grid.header)
                  if (t := cells.parse_text(raw)) is not None}
        wanted = [settings.timestamp] if settings.timestamp else list(TIMESTAMP_HEADERS)
        stamp_col = next((labels[k] for k in map(cells.normalize_key, wanted) if k in labels), None)
        if stamp_col is None:
            self.part.issues.append(_issue("warning", title, 1, None, wanted[0], None, "form_no_timestamp",
                                           form=name, header=wanted[0]))
            return
        # A question deleted and added again in the form keeps its old column, and the new one
        # gets the same header: read by the last column alone, every response answered in the
        # older one lost that answer (a known person's email: a second lead, with no email).
        same_header: dict[str, list[int]] = {}
        for col, raw in enumerate(grid.header):
            if (t := cells.parse_text(raw)) is not None:
                same_header.setdefault(cells.normalize_key(t), []).append(col)
        questions: dict[int, str] = {}
        for question, field_name in settings.fields.items():
            col = labels.get(cells.normalize_key(question))
            if col is not None:
                self.twins[(title, col)] = same_header[cells.normalize_key(question)]
            if col is None:
                self.part.issues.append(_issue("warning", title, 1, None, question, None, "form_question_missing",
                                               form=name, question=question))
            else:
                questions[col] = field_name
        self._no_column("form_field_no_column", questions.values(), form=name)  # a missing question is said above
        lead_col = labels.get(cells.normalize_key(LEAD_HEADER))
        answers_cols = sorted(c for c in labels.values() if c not in (stamp_col, lead_col))
        if lead_col is None:
            lead_col = _last_used(grid)
            new_column = CellWrite(title, 1, lead_col + 1, LEAD_HEADER, expect=((lead_col + 1, None),))
        else:
            new_column = None
        # A time typed as text (a row another tool wrote, a pasted CSV) reads in the order the
        # column's own text times prove ("13/12/2026 10:00" is day first), else the team's:
        # "03/12/2026" was 12 March beside it, and "13/12/2026" no time at all, under "en".
        texts = [row[stamp_col].split(" ")[0] for row in grid.rows[1:]
                 if stamp_col < len(row) and isinstance(row[stamp_col], str)]
        order = proven(texts, "date")
        self.order = order or self.locale
        # The team's locale settles a text time's order only when the config sets it: a guess
        # (the tabs' language) made "03/04/2026 10:00" a lead Created on a day nobody said.
        self.order_sure = order is not None or "locale" in self.config.model_fields_set
        before = len(self.part.writes)
        # The responses already handled and those placed in this sync, by their answers: a new
        # one with the very same answers within SAME_POST of one of them is that response sent
        # again (Submit clicked twice, the page reloaded): it gets that one's record in its Lead
        # cell, and no activity of its own (a second one ran every `form response` rule again).
        seen: dict[tuple[Any, ...], list[tuple[dt.datetime | None, _Seen]]] = {}
        new: list[tuple[dt.datetime | None, int]] = []
        for index in range(1, len(grid.rows)):
            row = grid.rows[index]
            stamp = row[stamp_col] if stamp_col < len(row) else None
            if cells.is_blank(stamp):
                continue
            moment = _moment(stamp, self.order, self.config.zone_name())
            lead = row[lead_col] if lead_col < len(row) else None
            if cells.is_blank(lead):
                new.append((moment, index))
            else:
                seen.setdefault(_answers(row, answers_cols), []).append((moment, _Seen(lead, None)))
        # In time order, so the first of the copies is the one that counts, however the tab is sorted.
        new.sort(key=lambda item: (item[0] is None, item[0] or dt.datetime.min))
        for moment, index in new:
            row = grid.rows[index]
            stamp = row[stamp_col]
            first = [row[c] if c < len(row) else None for c in answers_cols[:FIRST_ANSWERS]]
            guard = ((stamp_col + 1, stamp), (lead_col + 1, None),
                     *((c + 1, v) for c, v in zip(answers_cols, first) if not cells.is_blank(v)))
            same = _answers(row, answers_cols)
            earlier = next((s for m, s in seen.get(same, ()) if moment is not None and m is not None
                            and abs(moment - m) <= SAME_POST), None)
            if earlier is not None:
                # One still waiting (an error at its cell, a tie) has no record yet: this one waits with it.
                if earlier.who is not None:
                    self.part.writes.append(CellWrite(title, index + 1, lead_col + 1, earlier.who, expect=guard,
                                                      requires=earlier.anchor))
                continue
            placed = self._response(name, settings, title, index + 1, row, stamp, stamp_col, questions, first,
                                    lead_col, guard)
            seen.setdefault(same, []).append((moment, placed or _Seen(None, None)))
        if new_column is not None and len(self.part.writes) > before:
            self.part.writes.insert(before, new_column)

    def _response(self, form: str, settings: FormSettings, title: str, sheet_row: int, row: list[Any],
                  stamp: CellValue, stamp_col: int, questions: dict[int, str], first: list[CellValue],
                  lead_col: int, guard: tuple[tuple[int, CellValue], ...]) -> _Seen | None:
        """The response's record and the write its Lead cell requires, once placed; None while it waits."""
        key = response_key(form, stamp, first)
        done = self.handled.get(key)
        if done is not None:  # its lead and activity landed; the Lead cell did not
            self.part.writes.append(CellWrite(title, sheet_row, lead_col + 1, done, expect=guard))
            return _Seen(done, None)
        day = _day(stamp, self.order, self.config.zone_name())
        if day is None:
            self.part.issues.append(_issue("error", title, sheet_row, stamp_col, None, stamp, "form_bad_time"))
            return None
        # Its date alone, or whole: a weekday before it ("Thu, 03/12/2026 10:00") that both readings
        # have leaves it as ambiguous (`cells.date_style`).
        if not self.order_sure and isinstance(stamp, str) and (cells.date_style(stamp.strip().split(" ")[0])[1]
                                                               or cells.date_style(stamp.strip())[1]):
            other = "en" if self.order == "es" else "es"
            could = _day(stamp, other, self.config.zone_name())
            self.part.issues.append(_issue("error", title, sheet_row, stamp_col, None, stamp, "form_time_ambiguous",
                                           shown=cells.quoted(stamp), read=day, could=could,
                                           order=_(ORDER_NAMES[self.order])))
            return None
        lead = self._lead(settings, title, sheet_row, row, questions, day)
        if lead is None:
            return None
        questions = {self._answered(title, col, row): name for col, name in questions.items()}
        placed = self._place(form, key, lead, day)
        if isinstance(placed, Unsure):
            col = next((c for name in ("email", "phone") if getattr(lead, name)
                        for c, f in questions.items() if f == name), None)
            letter, header, value = (column_letter(col + 1), cells.parse_text(self.snapshot.tabs[title].header[col]),
                                     row[col] if col < len(row) else None) if col is not None else (None, None, None)
            message, hint = self._unsure_said(_UNSURE_FORM, placed)
            self.part.issues.append(Issue("warning", title, sheet_row, letter, header, value, "form_ambiguous",
                                          message, hint))
        elif isinstance(placed, Ambiguous):
            col = next((c for name in ("email", "phone") if getattr(lead, name)
                        for c, f in questions.items() if f == name), None)
            self.part.issues.append(_issue("warning", title, sheet_row, col,
                                           cells.parse_text(self.snapshot.tabs[title].header[col])
                                           if col is not None else None,
                                           row[col] if col is not None and col < len(row) else None,
                                           "form_ambiguous", records=", ".join(placed.ids)))
        elif placed is not None:
            who, anchor = placed
            self.part.writes.append(CellWrite(title, sheet_row, lead_col + 1, who, expect=guard, requires=anchor))
            return _Seen(who, anchor)
        return None

    def _place(self, form: str, key: str, lead: Lead,
               day: dt.date) -> tuple[str, tuple[str, int, int]] | Ambiguous | Unsure | None:
        """The lead (or, for a known person, only the activity) of one response; the record's
        ID and the write every other write of the response requires; Ambiguous (the IDs) when
        records of one tab match alike, or Unsure (the records) when the person may be a row
        whose key cell cannot be read, and nothing is written; or None when a matching row
        has no ID yet (it gets one in this sync: the response waits)."""
        token = f"[sheetcrm:{key}]"  # not for people: the key KEY finds again
        subject = _(_SUBJECT, form=form, key=token)
        if doubts := self.people.doubts(lead):
            return Unsure(tuple(self.unsure[n].record for _tab, n in doubts))  # type: ignore[misc]
        found = self.people.find(lead)
        if found:
            # Contacts were added first: a contact that matches is the person, over a lead
            # (a converted lead keeps its email). Two of one tab alike are never chosen from.
            alike = [ident for tab, ident in found if tab == found[0][0]]
            if None in alike:
                return None
            if len(alike) > 1:
                return Ambiguous(tuple(alike))
            who = alike[0]
            anchor, _act = self._activity(who, day, subject, lead.owner, requires=None)
            self.part.activities += 1
            return who, anchor
        lead_id = self._next("LEAD")
        values = {k: v for k, v in lead.model_dump().items() if v is not None} | {"id": lead_id,
                                                                                 "status": self.new_word}
        writes, self.start[self.leads.title] = append_writes(self.leads, self._grid(self.leads), [values],
                                                             start=self.start[self.leads.title])
        anchor = (writes[0].tab, writes[0].row, writes[0].col)
        self.part.writes.extend(writes)
        self._activity(lead_id, day, subject, lead.owner, requires=anchor)
        self.people.add(("leads", lead_id), lead)
        self.part.leads += 1
        return lead_id, anchor

    def submissions(self, batch: WebBatch, settings: ServeSettings) -> None:
        """The website form's waiting submissions (`sheetcrm serve`): each one whose receipt
        an activity already holds is `landed`; each other one is placed like a response,
        its receipt as the key, and `placed` with the keys of its writes."""
        batch.placed.clear()
        batch.landed.clear()
        batch.refused.clear()
        for sub in batch.waiting:
            done = self.handled.get(sub.receipt)
            if done is not None:
                batch.landed.append((sub.receipt, done))
                continue
            # Checked at the door since; a submission stored before (or by an older server)
            # that no cell can take would make every write fail: it is set aside instead.
            bad = next(((name, found) for name, value in sub.fields.items() if (found := problem(value))), None)
            if bad is not None:
                reason = f"{bad[0]}: {bad[1].message}"
                batch.refused.append((sub.receipt, reason))
                self.part.issues.append(_issue("warning", self.leads.title, None, None, None, sub.receipt,
                                               "web_set_aside", receipt=sub.receipt, reason=reason))
                continue
            day = team_time.day_of(self.config, sub.received)  # the team's day it arrived (kept in UTC)
            try:
                lead = Lead.model_validate(web_lead_values(sub.fields, settings.source, self.new_word, day),
                                           context=self.parse)
            except ValidationError:
                # Validated when accepted; the config changed since (another language, another
                # lead status): it waits, and says so.
                self.part.issues.append(_issue("warning", self.leads.title, None, None, None, sub.receipt,
                                               "web_invalid", receipt=sub.receipt))
                continue
            self._no_column("web_field_no_column",
                            [name for name, value in sub.fields.items() if cells.parse_text(value) is not None])
            before = len(self.part.writes)
            placed = self._place(_(WEB_FORM), sub.receipt, lead, day)
            if isinstance(placed, Unsure):  # it waits, as an ambiguous one does
                message, hint = self._unsure_said(_UNSURE_WEB, placed, receipt=sub.receipt)
                self.part.issues.append(Issue("warning", self.leads.title, None, None, None, sub.receipt,
                                              "web_ambiguous", message, hint))
            elif isinstance(placed, Ambiguous):  # it waits, as one the config no longer takes
                self.part.issues.append(_issue("warning", self.leads.title, None, None, None, sub.receipt,
                                               "web_ambiguous", receipt=sub.receipt, records=", ".join(placed.ids)))
            elif placed is not None:
                keys = [(w.tab, w.row, w.col) for w in self.part.writes[before:]]
                batch.placed.append((sub.receipt, placed[0], keys))

    def _lead(self, settings: FormSettings, title: str, sheet_row: int, row: list[Any], questions: dict[int, str],
              day: dt.date) -> Lead | None:
        data: dict[str, Any] = {"source": settings.source, "status": self.new_word, "created": day}
        where: dict[str, int] = {}
        refused = False
        for col, name in questions.items():
            filled = [c for c in self.twins.get((title, col), [col])
                      if c < len(row) and cells.parse_text(row[c]) is not None]
            if len({cells.parse_text(row[c]) for c in filled}) > 1:
                refused = True
                header = cells.parse_text(self.snapshot.tabs[title].header[col])
                self.part.issues.append(_issue("error", title, sheet_row, filled[-1], header, row[filled[-1]],
                                               "form_answers_differ", question=header,
                                               shown=cells.quoted(row[filled[0]]), other=cells.quoted(row[filled[-1]])))
        questions = {self._answered(title, col, row): name for col, name in questions.items()}
        for col in questions:
            found = problem(row[col] if col < len(row) else None)
            if found is not None:  # a line break in a name, a text no cell can hold: never written
                refused = True
                self.part.issues.append(Issue(
                    "error", title, sheet_row, column_letter(col + 1), cells.parse_text(self.snapshot.tabs[title].header[col]),
                    found.raw if found.code == "too_long" else row[col], found.code, found.message, found.hint))
        if refused:
            return None
        for col, name in questions.items():
            text = cells.parse_text(row[col] if col < len(row) else None)
            if name == "name":
                # Where the part's own question is unanswered too, as for a website post: left to
                # the question alone, "Bob Stone" with First name blank made a lead with no first name.
                for part, value in zip(("first_name", "last_name"), split_name(text)):
                    if data.get(part) is None:
                        data[part], where[part] = value, col
            elif text is not None or name not in data:  # a blank answer leaves the config's Source
                data[name], where[name] = text, col
        try:
            return Lead.model_validate(data, context=self.parse)
        except ValidationError as e:
            for err in e.errors(include_url=False):
                name = err["loc"][0] if err["loc"] else None
                col = where.get(name) if isinstance(name, str) else None
                extra = err.get("ctx") or {}
                self.part.issues.append(Issue(
                    "error", title, sheet_row, column_letter(col + 1) if col is not None else None,
                    cells.parse_text(self.snapshot.tabs[title].header[col]) if col is not None else None,
                    row[col] if col is not None and col < len(row) else None, err["type"],
                    extra.get("message", err["msg"]), extra.get("hint", "")))
            return None

    def _answered(self, title: str, col: int, row: list[Any]) -> int:
        """The column of `row` answering the question of `col`: the first of that header filled."""
        return next((c for c in self.twins.get((title, col), [col])
                     if c < len(row) and cells.parse_text(row[c]) is not None), col)

    def _activity(self, related: str, day: dt.date, subject: str, owner: str | None,
                  requires: tuple[str, int, int] | None) -> tuple[tuple[str, int, int], list[CellWrite]]:
        """The activity's writes, each requiring `requires` (a new lead's ID write) when given,
        else the activity's own ID write; returns that anchor."""
        values = {"id": self._next("ACT"), "date": day, "type": FORM_SUBMITTED[self.locale], "subject": subject,
                  "related": related, "owner": owner}
        table = self.activities
        writes, self.start[table.title] = append_writes(table, self._grid(table), [values], start=self.start[table.title])
        own = (writes[0].tab, writes[0].row, writes[0].col)
        if requires is not None:
            writes = [dataclasses.replace(w, requires=requires) for w in writes]
        self.part.writes.extend(writes)
        self.part.intake.append(values["id"])
        return requires or own, writes

    def _no_column(self, code: str, fields: Any, **fmt: Any) -> None:
        """A warning at the Leads header row for each of `fields` (Leads fields, "name" being
        First and Last Name) the tab has no column for: its value would be left out of every new
        lead with nothing said (`plan.append_writes` writes only the tab's columns). Said once
        per field and code in a sync."""
        for name in fields:
            for target in ("first_name", "last_name") if name == "name" else (name,):
                if target in self.leads.header.fields or (code, target) in self.said:
                    continue
                self.said.add((code, target))
                column = next(c for c in TABS["leads"].columns if c.field == target)
                header = column.header_es if self.locale == "es" else column.header
                self.part.issues.append(_issue("warning", self.leads.title, self.leads.header.row, None, header, None,
                                               code, name=header, tab=self.leads.title, **fmt))

    def _grid(self, table: Table) -> Grid:
        return self.snapshot.tabs[table.title]
    def _next(self, prefix: str) -> str:
        number = max(self.highest[prefix], self.marks.get(prefix, 0)) + 1
        self.marks[prefix] = self.highest[prefix] = number
        return f"{prefix}-{number:04d}"


def web_lead_values(fields: dict[str, Any], source: str, status: str | None, day: dt.date | None) -> dict[str, Any]:
    """The Lead's values from a website form's Leads fields (field -> text): a whole "name"
    split at its first space (`split_name`) fills First and Last Name where no filled value
    came for them, as for a form's answers. A blank field carries nothing (`web.lead_fields`
    has refused a name its filled First or Last Name disagrees with)."""
    data: dict[str, Any] = {"source": source, "status": status, "created": day}
    for name, value in fields.items():
        text = cells.parse_text(value)
        if name != "name" and (text is not None or name not in data):  # a blank field leaves `source`
            data[name] = text
    if "name" in fields:
        for part, text in zip(("first_name", "last_name"), split_name(cells.parse_text(fields["name"]))):
            if data.get(part) is None:
                data[part] = text
    return data


def split_name(whole: str | None) -> tuple[str | None, str | None]:
    """(first name, last name) of a whole name, split at its first space; one word is a last
    name (a Leads row needs one): "Ann de la Vega" -> ("Ann", "de la Vega"), "Solo" -> (None, "Solo").
    A name written last name first, before a comma, splits there: "García López, María José" ->
    ("María José", "García López") (split at the space it was First "García", Last "López,
    María José"); not before a suffix ("John Smith, Jr." -> ("John", "Smith, Jr."))."""
    text = _without_honorifics((whole or "").strip())
    last, comma, first = text.partition(",")
    if comma and last.strip() and first.strip() and "," not in first \
            and cells.normalize_key(first).rstrip(".") not in _SUFFIXES:
        return _without_honorifics(first.strip()), last.strip()
    first, _sep, last = text.partition(" ")
    return (first if last.strip() else None), (last.strip() or first or None)


def _without_honorifics(text: str) -> str:
    """A name without the courtesy titles it starts with ("Mrs. Smith" -> "Smith", "Dr. Juan
    Pérez" -> "Juan Pérez", "Prof. Dr. Hans Müller" -> "Hans Müller"): a title is no first name,
    and "Dear Mrs.," no greeting. The name's last word is kept whatever it is."""
    words = text.split()
    start = 0
    while start < len(words) - 1 and (words[start].casefold().rstrip(".") in _HONORIFICS
                                      or words[start].casefold() == "d." and start < len(words) - 2):
        start += 1
    return " ".join(words[start:]) if start else text


# Courtesy and academic titles written before a name, in English and Spanish (compared
# case-folded, without their full stop, accents kept: "Doña" is a title, "Dona" a given name;
# "Dª", with its ordinal indicator, is how Spanish letters and forms shorten Doña).
# Our own short list rather than a name parser's: nameparser (2.6) takes "Judge" and "Prince"
# for titles, so "Judge Reinhold" lost his first name, and misses Spanish "Sra."/"Don". Words
# that are also given names ("Don", "Dean", "Judge") are not here: "Don Pedro Sánchez" is said
# as a split in doubt instead (`split_in_doubt`). "D." (Don, as Spanish letters and forms write
# it) is a title only before two more words ("D. Pedro Ruiz"): Don goes before a given name, so
# "D. Ruiz" is an initial and a surname, kept as written rather than dropped.
_HONORIFICS = frozenset((  # not for people: compared
    "mr mrs ms mx miss dr prof rev sir dame "
    "sr sra srta sres srs dra doña dña dª d.ª dn lic licda licdo lcda lcdo ing arq abg abog mtro mtra "
    "profa excmo excma ilmo ilma").split())


# What may follow a comma in a name written first name first: not a first name.
_SUFFIXES = frozenset("jr sr ii iii iv v phd md esq dds jd mba cpa".split())  # not for people: compared folded


# Words that join a surname to the next ("Ann de la Vega", "Jan van der Berg"), or a given name
# to the next in Spanish ("María del Carmen Ruiz"): looked past for the word that decides.
_PARTICLES = frozenset("de del la las los y i e da das do dos di van von der den du le st".split())  # not for people
# Given names that are often the second of a compound one ("María José", "José Luis", "Mary
# Ann", "Jean Pierre"): a whole name whose second word is one of them may split after it, not
# before. Folded as `cells.normalize_key` folds (no accents, lower case).
_SECOND_GIVEN = frozenset((  # not for people: names, compared folded
    "jose maria luis carlos antonio manuel angel miguel javier jesus juan pablo pedro ignacio francisco "
    "ramon andres alberto enrique fernando jorge vicente eduardo alfonso tomas rafael mariano emilio felix "
    "david daniel alejandro gabriel esteban martin diego sebastian agustin "
    "carmen isabel teresa pilar elena ana dolores mercedes victoria luisa rosa eugenia cristina ines paz luz "
    "belen lourdes mar sol soledad rocio angeles esther fernanda antonia josefa magdalena concepcion montserrat "
    "nieves paula sofia julia gloria beatriz laura clara eva cruz reyes fernanda alejandra gabriela jimena "
    "ann anne anna beth jane jo kay lee lou lynn mae may marie rose sue ellen louise elizabeth grace "
    "james john paul michael robert william joseph thomas charles edward henry alan ray "
    "jean pierre claude luc marc michel louis francois philippe yves "
    "eduarda paulo joao").split())


def split_in_doubt(whole: str) -> bool:
    """Whether a whole name's split at its first space (`split_name`) may be wrong: its second
    word (past particles) is a given name or an initial, and not its last word ("Mary Ann
    Smith", "María José García López", "María del Carmen Ruiz", "John F. Kennedy"). A first name
    and two surnames ("Juan Pérez Gómez") or a surname with particles ("Ann de la Vega") split
    right, and two words always do; so does a name written "Last, First" (`split_name`)."""
    words = whole.split()
    if words and words[0].casefold() == "don" and len(words) > 2:
        return True  # Spanish "Don Pedro Sánchez" (a title) or English "Don Henry Smith" (a name)
    whole = _without_honorifics(whole)
    if "," in whole:
        last, _comma, first = whole.partition(",")
        if split_name(whole) == (first.strip(), last.strip()):
            return False  # "Last, First": the comma says where it splits
        return "," in first or split_in_doubt(last)  # "John Smith, Jr.": the name before the suffix decides
    words = whole.split()
    for word in words[1:-1]:  # the last word is a surname whatever it is
        key = cells.normalize_key(word)
        if key in _PARTICLES:
            continue
        return key in _SECOND_GIVEN or len(key.rstrip(".")) == 1
    return False


def lead_columns(snapshot: Snapshot, config: Config) -> tuple[tuple[str, int], ...]:
    """(tab title, 1-based column) of each configured form's Lead column that the workbook
    holds: the IDs of the leads and contacts its responses became, which a merge re-points to
    the survivor (`merging.merge`) as it does every other reference."""
    out: list[tuple[str, int]] = []
    for settings in config.forms.values():
        title = cells_tab(snapshot, settings.tab)
        if title is None:
            continue
        # Found as the forms step finds it (`_Run.form`): the last header of that name.
        labels = {cells.normalize_key(t): c for c, raw in enumerate(snapshot.tabs[title].header)
                  if (t := cells.parse_text(raw)) is not None}
        col = labels.get(cells.normalize_key(LEAD_HEADER))
        if col is not None and (title, col + 1) not in out:
            out.append((title, col + 1))
    return tuple(out)


def cells_tab(snapshot: Snapshot, name: str) -> str | None:
    """The workbook's tab called `name`, ignoring case, accents and spacing."""
    want = cells.normalize_key(name)
    return next((t for t in snapshot.tabs if cells.normalize_key(t) == want), None)


def _highest(table: Table, prefix: str) -> int:
    pattern = id_pattern(prefix)
    return max((int(m.group(1)) for r in table.rows if r.id and (m := pattern.match(cells.canonical_text(r.id)))),
               default=0)


def _last_used(grid: Grid) -> int:
    """How many columns the tab uses (its header row included): where a new column goes."""
    used = max((len(r) for r in grid.rows), default=0)
    while used and all(cells.is_blank(r[used - 1]) for r in grid.rows if len(r) >= used):
        used -= 1
    return max([used, *(c + 1 for _, c in grid.formulas), *(m[3] + 1 for m in grid.merges)])


@dataclass(frozen=True)
class _Seen:
    """A response as a later copy of it sees it: the record in its Lead cell (None while it
    waits) and the write that cell requires (a new lead's ID write in this sync; None: landed)."""

    who: CellValue
    anchor: tuple[str, int, int] | None


def _answers(row: list[Any], cols: list[int]) -> tuple[Any, ...]:
    """A response's answers, each as `cell_key` compares cells: what tells it from another."""
    return tuple(cell_key(row[c] if c < len(row) else None) for c in cols)


def _moment(stamp: CellValue, order: str, zone: str | None = None) -> dt.datetime | None:
    """When a response was sent: a date-time cell, a serial number (Google) to the second, or
    text to the minute (`cells.parse_moment`: a time written with its UTC offset, as tools other
    than Google Forms write it, on the team's clock in `zone`); None when its day cannot be read."""
    if isinstance(stamp, dt.datetime):
        return stamp
    if isinstance(stamp, (int, float)) and not isinstance(stamp, bool) and 0 < stamp < 2_958_466:
        return _EPOCH + dt.timedelta(seconds=round(float(stamp) * 86400))
    if isinstance(stamp, str):
        try:
            return cells.parse_moment(stamp.strip(), order, zone)
        except cells.CellError:
            pass
    day = _day(stamp, order, zone)
    return None if day is None else dt.datetime.combine(day, cells.time_of(stamp))


def _day(stamp: CellValue, locale: str, zone: str | None = None) -> dt.date | None:
    """The day of a response time: a date cell, a serial number (Google), or text (a time
    written with its UTC offset, "2026-11-30T23:30:00Z", is the day it is in the team's `zone`:
    1 December in Madrid, not the day written)."""
    if isinstance(stamp, dt.datetime):
        return stamp.date()
    if isinstance(stamp, dt.date):
        return stamp
    if isinstance(stamp, (int, float)) and not isinstance(stamp, bool):
        return (_EPOCH + dt.timedelta(days=float(stamp))).date() if 0 < stamp < 2_958_466 else None
    if isinstance(stamp, str):
        for text in (stamp.strip(), stamp.split(" ")[0]):
            try:
                return cells.parse_day(text, locale, zone)
            except cells.CellError:
                continue
    return None


def _issue(severity: str, title: str, row: int | None, col: int | None, header: str | None, value: Any, code: str,
           **fmt: Any) -> Issue:
    message, hint = _MESSAGES[code]
    return Issue(severity, title, row, column_letter(col + 1) if col is not None else None, header, value, code,
                 _(message, **fmt), _(hint, **fmt))
