"""Follow-up sequences: a named list of steps with delays (`[follow_ups.NAME]` in sheetcrm.toml)
that a workflow rule starts on a record (Then "start sequence", the name in Template) and that
stops as soon as the record replies, converts, is won or lost, or changes owner. Pure: no I/O
and no clock. docs/workflows.md, "Follow-up sequences", says what a person sees.

A step is an action the workflows already know (create task, log activity, send email,
notify), planned by crm/workflows.py as the rule's own action would be, and journaled in the
Workflow Log under the key (rule ID, record ID, "seq:NAME:step N@E"), E the enrollment's day.
So each step happens once, whatever the config says about it later.

An enrollment is kept in the Workflow State (`State.enrolled`: (rule, record, sequence) ->
(day, owner at enrollment)) until its last step is journaled or it stops. A lost State row
forgets the enrollment: its remaining steps never happen (never twice).

**When a step is due.** Step 1 on E + its day; each later step on its own day, and never
sooner than its delay after the step before it actually fired. At most one step per record
and sync unless two steps share a day. So after downtime the missed steps fire once each, in
order, one delay apart — the cadence the team wrote, never three messages at once; none is
skipped.

**When a sequence stops** (checked at every sync from the sheet as read, before any step):
the record replied (`replies`), a lead converted, a deal was won, a lead or deal was lost, or
the owner changed (a record enrolled without an owner that gets one has not changed owner: the
first owner becomes the owner of record). The stop is journaled once, as a "stopped" firing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from jinja2 import TemplateSyntaxError
from pydantic import Field, field_validator, model_validator

from sheetcrm.cells import normalize_key
from sheetcrm.i18n import _, current, in_locale
from sheetcrm.settings import KeyedProblem, Section

if TYPE_CHECKING:  # crm/workflows.py imports this module inside its run
    from sheetcrm.crm.workflows import Firing, LogEntry, Rule, State, Subject, World

STEP_PREFIX = "seq:"
STEP_ACTIONS = ("create_task", "log_activity", "send_email", "notify")
# Activity types that are a person's answer, never sheetcrm's own doing (a Note is the team's).
REPLY_TYPES = frozenset({"Call", "Email", "Meeting"})  # not for people: canonical activity types


class StepSettings(Section):
    """One step of a sequence: on `day` (counted from the enrollment), do `then` with the
    arguments a Workflows row would give that action."""

    day: int = Field(ge=0, le=3650)
    then: str
    subject: str | None = None
    template: str | None = None
    due_days: int | None = Field(default=None, ge=0, le=3650)
    assign_to: list[str] = []
    auto_approve: bool = False

    @field_validator("then")
    @classmethod
    def _known_action(cls, v: str) -> str:
        from sheetcrm.crm.workflows import ACTION_OF
        action = ACTION_OF.get(normalize_key(v))
        if action not in STEP_ACTIONS:
            raise ValueError(_("\"{text}\" is not an action a follow-up step can take; write create task, "
                               "log activity, send email or notify", text=v))
        return action  # type: ignore[return-value]

    @field_validator("assign_to", mode="before")
    @classmethod
    def _list(cls, v: Any) -> Any:
        return [p.strip() for p in v.split(",") if p.strip()] if isinstance(v, str) else v

    @model_validator(mode="after")
    def _arguments(self) -> "StepSettings":
        from sheetcrm.crm.workflows import _ENV, ACTION_LABELS
        needs = {"create_task": "subject", "log_activity": "subject", "send_email": "template"}.get(self.then)
        if needs and not getattr(self, needs):
            raise KeyedProblem(needs, _("is required for {action}",
                                            action=in_locale(current(), ACTION_LABELS[self.then])))
        if self.subject:
            try:
                _ENV.from_string(self.subject)
            except TemplateSyntaxError as e:
                raise KeyedProblem("subject", _("cannot be read as a template: {problem}",
                                                problem=e.message or "")) from None
        return self


class FollowUpSettings(Section):
    """`[follow_ups.NAME]`: the steps, in the order of their days."""

    steps: list[StepSettings] = Field(min_length=1)

    @model_validator(mode="after")
    def _in_order(self) -> "FollowUpSettings":
        days = [s.day for s in self.steps]
        if days != sorted(days):
            raise KeyedProblem("steps", _("must be in the order of their days (they are {days})",
                                          days=", ".join(str(d) for d in days)))
        return self


def is_step(event: str) -> bool:
    """Whether a Workflow Log event is a sequence's (a step or a stop): not the rule's own firing."""
    return event.startswith(STEP_PREFIX)


def find(sequences: Mapping[str, Any], name: str | None) -> str | None:
    """The sequence `name` names (ignoring case and accents), as the config spells it."""
    wanted = normalize_key(name or "")
    return next((n for n in sequences if normalize_key(n) == wanted), None) if wanted else None


def enroll(firing: "Firing", world: "World", state: "State") -> None:
    """Start the rule's sequence on the firing's record today, unless that record is already in
    it (then the firing is skipped: a record never runs the same sequence twice at once)."""
    name = find(world.sequences, firing.rule.row.template) or ""
    key = (firing.rule.id, firing.subject.id, name)
    if key in state.enrolled:
        firing.result, firing.message = "skipped", _("{record} is already in the follow-up {name}",
                                                     record=firing.subject.id, name=name)
        return
    state.enrolled[key] = (world.as_of, firing.subject.owner or None)
    firing.values = {"sequence": name}


def advance(rule: "Rule", world: "World", state: "State", log: Sequence["LogEntry"], done_keys: set[str],
            lineage: Mapping[str, tuple[str, ...]], act: Callable[["Firing"], None]) -> list["Firing"]:
    """This sync's steps and stops of every enrollment of `rule` (in record order), each a
    Firing for the step to plan and journal; `state.enrolled` is left as it stands after them.
    `act` plans a step's action (crm/workflows.py's, as for the rule's own)."""
    from sheetcrm.crm.workflows import Firing, firing_key

    logged = {e.key: e.day for e in log}
    own = {e.created for e in log if e.created}
    subjects = {s.id: s for s in world.subjects.get(rule.kind, [])}
    out: list[Firing] = []
    for (rule_id, record, name), (enrolled, owner) in sorted(state.enrolled.items(), key=lambda kv: kv[0]):
        sequence, subject = world.sequences.get(name), subjects.get(record)
        if rule_id != rule.id or sequence is None or subject is None:
            continue  # kept: its record or sequence may come back
        key = (rule_id, record, name)
        steps = sequence.steps
        keys = [firing_key(rule.id, record, f"{STEP_PREFIX}{name}:step {i}@{enrolled.isoformat()}")
                for i in range(1, len(steps) + 1)]
        stop_key = firing_key(rule.id, record, f"{STEP_PREFIX}{name}:stopped@{enrolled.isoformat()}")
        if stop_key in done_keys or all(k in done_keys for k in keys):
            del state.enrolled[key]
            continue
        if not owner and subject.owner:
            owner = subject.owner  # a first owner is no change of owner
            state.enrolled[key] = (enrolled, owner)
        reason = stop_reason(subject, world, enrolled, owner, own)
        chain = (*lineage.get(subject.id, ()), rule.id)
        if reason is not None:
            event = stop_key.split("|", 2)[2]
            out.append(Firing(rule, subject, event, _("follow-up {name}", name=name), world.as_of, "stopped",
                              message=reason))
            done_keys.add(stop_key)
            del state.enrolled[key]
            continue
        previous: tuple[int, dt.date] | None = None   # (the step's day, the day it fired)
        for n, (step, step_key) in enumerate(zip(steps, keys), 1):
            due = enrolled + dt.timedelta(days=step.day)
            if previous is not None:
                due = max(due, previous[1] + dt.timedelta(days=step.day - previous[0]))
            if step_key in done_keys:
                previous = (step.day, logged.get(step_key) or due)
                continue
            if due > world.as_of:
                break
            step_rule = dataclasses.replace(rule, action=step.then, row=dataclasses.replace(
                rule.row, subject=step.subject, template=step.template, due_days=step.due_days,
                assign_to=tuple(step.assign_to), auto_approve=step.auto_approve))
            firing = Firing(step_rule, subject, step_key.split("|", 2)[2],
                            _("follow-up {name}, step {n} of {total} (day {day})", name=name, n=n, total=len(steps),
                              day=step.day), world.as_of, "done", chain=chain)
            act(firing)
            out.append(firing)
            done_keys.add(step_key)
            previous = (step.day, world.as_of)
        if all(k in done_keys for k in keys):
            del state.enrolled[key]
    return out


def stop_reason(subject: "Subject", world: "World", enrolled: dt.date, owner: str | None,
                own: set[str] | frozenset[str]) -> str | None:
    """Why an enrollment of `subject` made on `enrolled` stops now, in words, or None.

    Replied: an activity about the record (for a deal, also about its contact) of Type Call,
    Email or Meeting, dated after the enrollment day and not after today, that sheetcrm did not
    write — not one a workflow made (its ID is a Created Record of the Workflow Log: `own`),
    not the Email the Outbox's sender logs for a message it sent (its Outcome holds one of
    `world.sent_ids`). Converted: a lead whose Status is Converted or whose Converted columns
    are filled. Won / lost: a deal in a won / lost stage; a lead Unqualified is lost. Owner:
    the Owner differs (ignoring case and spaces) from the owner at enrollment."""
    values = subject.values
    if subject.kind == "lead" and (values.get("status") == "Converted" or values.get("converted")):
        return _("stopped: converted")
    if subject.kind == "opportunity" and values.get("stage_kind") == "won":
        return _("stopped: won")
    if ((subject.kind == "opportunity" and values.get("stage_kind") == "lost")
            or (subject.kind == "lead" and values.get("status") == "Unqualified")):
        return _("stopped: lost")
    about = {subject.id, *((c.id,) if (c := subject.related.get("contact")) is not None else ())}
    for act_id, related, day, kind, outcome in world.activities:
        if (related in about and kind in REPLY_TYPES and enrolled < day <= world.as_of and act_id not in own
                and not (kind == "Email" and outcome and any(m in outcome for m in world.sent_ids))):
            return _("stopped: replied ({activity} on {day})", activity=act_id or "?", day=day.isoformat())
    if owner and " ".join((subject.owner or "").split()).casefold() != " ".join(owner.split()).casefold():
        return _("stopped: owner changed from {old} to {new}", old=owner, new=subject.owner or "∅")
    return None
