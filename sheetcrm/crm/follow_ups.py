"""Follow-up sequences: a named list of steps with delays (`[follow_ups.NAME]` in sheetcrm.toml)
that a workflow rule starts on a record (Then "start sequence", the name in Template) and that
stops as soon as the record replies, converts, is won or lost, or changes owner. Pure: no I/O
and no clock. docs/workflows.md, "Follow-up sequences", says what a person sees.

A step is an action the workflows already know (create task, log activity, send email,
notify), planned by crm/workflows.py as the rule's own action would be (this module decides
when; that one, what: it imports this one, never the other way), and journaled in the
Workflow Log under the key (rule ID, record ID, "seq:NAME:step N@E"), E the enrollment's day.
So each step happens once, whatever the config says about it later.

An enrollment is kept in the Workflow State (`State.enrolled`: (rule, record, sequence) ->
(day, owner at enrollment)) until the sync after its last step is journaled, or it stops. A lost State row
forgets the enrollment: its remaining steps never happen (never twice).

**When a step is due.** Step 1 on E + its day; each later step on its own day, and never
sooner than its delay after the step before it actually fired. At most one step per record
and sync unless two steps share a day. So after downtime the missed steps fire once each, in
order, one delay apart — the cadence the team wrote, never three messages at once; none is
skipped.

**When a sequence stops** (checked at every sync from the sheet as read, before any step):
the record replied (`stop_reason` says what a reply is), a lead converted, a deal was won, a lead or deal was lost, or
the owner changed (a record enrolled without an owner that gets one has not changed owner: the
first owner becomes the owner of record). The stop is journaled once, as a "stopped" firing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import Any, Callable, Collection, Mapping

from pydantic import Field, field_validator, model_validator

from sheetcrm.cells import add_days, canonical_text, match_key, normalize_key
from sheetcrm.crm.actions import ACTION_OF, template_files
from sheetcrm.crm.spellings import key as owner_key
from sheetcrm.i18n import _, day_said
from sheetcrm.settings import KeyedProblem, Section

STEP_PREFIX = "seq:"
# Activity types that are a person's answer, never sheetcrm's own doing (a Note is the team's).
REPLY_TYPES = frozenset({"Call", "Email", "Meeting"})  # not for people: canonical activity types


class StepSettings(Section):
    """One step of a sequence: on `day` (counted from the enrollment), do `then` with the
    arguments a Workflows row would give that action. Which actions a step may take, and
    their arguments, crm/workflows.py checks (`check_follow_ups`): it knows the actions."""

    day: int = Field(ge=0, le=3650)
    then: str
    subject: str | None = None
    template: str | None = None
    due_days: int | None = Field(default=None, ge=0, le=3650)
    assign_to: list[str] = []
    auto_approve: bool = False

    @field_validator("assign_to", mode="before")
    @classmethod
    def _list(cls, v: Any) -> Any:
        return [p.strip() for p in v.split(",") if p.strip()] if isinstance(v, str) else v


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


@dataclass
class Due:
    """What an enrollment does this sync: `step` (its number `n`) fires, or, `step` None, the
    enrollment stops (`message` says why). `event` is the Workflow Log key's event part."""

    subject: Any
    event: str
    said: str
    step: StepSettings | None = None
    n: int = 0
    message: str = ""
    enrollment: tuple[str, str, str] | None = None  # (rule, record, sequence) of a step


def is_step(event: str) -> bool:
    """Whether a Workflow Log event is a sequence's (a step or a stop): not the rule's own firing."""
    return event.startswith(STEP_PREFIX)


# A step's or a stop's event: "seq:welcome:step 2@2026-12-02", "seq:welcome:stopped@2026-12-02".
_EVENT = re.compile(r"^seq:(?P<name>.+):(?P<what>step \d+|stopped)@(?P<day>\d{4}-\d{2}-\d{2})$")


def enrollment_of(event: str) -> tuple[str, str, bool] | None:
    """(sequence name, enrollment day as ISO text, whether the event is the stop) of a step's
    or a stop's Workflow Log event; None for any other event."""
    found = _EVENT.match(event)
    return (found["name"], found["day"], found["what"] == "stopped") if found else None


def step_of(event: str) -> tuple[str, int] | None:
    """(sequence name, step number from 1) of a step's Workflow Log event; None for a stop or
    any other event."""
    found = _EVENT.match(event)
    return (found["name"], int(found["what"].split()[1])) if found and found["what"] != "stopped" else None


def marks(steps: Any, typed: bool = False) -> list[str]:
    """A short digest of each step, of what makes it the step it is (day, action, subject,
    template): the State keeps those of the steps an enrollment took, since a step is known by
    its number. Each as sheetcrm reads it, so that a step written again in other words read
    alike ("enviar correo" for "send email", "intro.txt.j2" for "intro", a subject's spaces)
    is the same step, not a reason to stop every running sequence; a step spelt as before
    keeps the digest it had. `typed`: each as typed, as digests were made before: the State
    and the Outbox rows of a sequence running since then carry those (`same_steps`)."""
    if typed:
        return [hashlib.blake2b(repr((s.day, normalize_key(s.then), s.subject or "", s.template or "")).encode("utf-8"),
                                digest_size=4).hexdigest() for s in steps]
    out = []
    for s in steps:
        then = normalize_key(ACTION_OF.get(normalize_key(s.then), s.then))  # "send_email": "send email"
        template = template_files(s.template)[0].removesuffix(".txt.j2") if s.template else ""
        subject = " ".join((s.subject or "").split())
        out.append(hashlib.blake2b(repr((s.day, then, subject, template)).encode("utf-8"), digest_size=4).hexdigest())
    return out


def same_steps(taken: list[str], steps: Any) -> bool:
    """Whether the digests `taken` (a State's, of the steps an enrollment took) are of the first
    of `steps` as they read now, each as `marks` makes it now or made it before: after the
    upgrade that read steps alike, a step typed "enviar correo" stopped every running sequence
    as "changed in sheetcrm.toml"."""
    now, typed = marks(steps[:len(taken)]), marks(steps[:len(taken)], typed=True)
    return len(now) == len(taken) and all(t in (n, b) for t, n, b in zip(taken, now, typed))


def find(sequences: Mapping[str, Any], name: str | None) -> str | None:
    """The sequence `name` names (ignoring case and accents), as the config spells it."""
    wanted = normalize_key(name or "")
    return next((n for n in sequences if normalize_key(n) == wanted), None) if wanted else None


def enroll(enrolled: dict[tuple[str, str, str], tuple[dt.date, str | None]], rule: str, record: str, name: str,
           day: dt.date, owner: str | None, spent: Callable[[str], bool] = lambda event: False,
           rules: Collection[str] | None = None) -> str | None:
    """Start `name` on `record` for `rule` on `day`, remembering its owner; or, the record
    already in it (a record never runs the same sequence of a rule twice at once), or in one
    that started on `day` and has ended (`spent(event)`: that step's or stop's key is in the
    Workflow Log), why not. A record runs a sequence once at a time, whichever rule started it
    (`rules`: the rules on the Workflows tab, on or off; an enrollment of a rule deleted from it
    takes no step again, and keeps no record from the sequence)."""
    if (rule, record, name) in enrolled:
        return _("{record} is already in the follow-up {name}", record=record, name=name)
    # Another rule starting the same sequence (lead created, then Status changes to New) would
    # run its steps a second time beside the first: two emails to one person for one step.
    if (other := next((r for r, rec, n in enrolled if rec == record and n == name
                       and (rules is None or r in rules)), None)) is not None:
        return _("{record} is already in the follow-up {name}, started by the rule {rule}: a record is never in "
                 "the same follow-up twice at once, so it is not started again", record=record, name=name, rule=other)
    # Its steps and stop are keyed by the enrollment's day: a second enrollment that day would
    # find them spent and do nothing while its firing said "done".
    if any(spent(f"{STEP_PREFIX}{name}:{what}@{day.isoformat()}") for what in ("step 1", "stopped")):
        return _("{record} was already in the follow-up {name} today, and a follow-up starts at most once a day "
                 "for a record: not started again", record=record, name=name)
    enrolled[(rule, record, name)] = (day, owner or None)
    return None


def settle(enrolled: dict[tuple[str, str, str], tuple[dt.date, str | None]], stepped: dict[tuple[str, str, str], int],
           sequences: Mapping[str, Any], done: set[str], key_of: Callable[[str, str, str], str]) -> None:
    """Forget, in place, the enrollments that ended before this sync: every step taken (its key
    in `done`, the Workflow Log's keys, or counted in `stepped`) or the stop journaled.
    `key_of(rule, record, event)`: a firing's key. `advance` keeps an enrollment through the
    sync of its last step, so that a step whose write is dropped is offered again; this ends
    it at the next one, before any rule fires (a record may then start the sequence again)."""
    for (rule, record, name), (start, _owner) in list(enrolled.items()):
        sequence = sequences.get(find(sequences, name) or "")
        if sequence is None:
            continue  # kept: its sequence may come back
        key = (rule, record, name)
        events = [f"{STEP_PREFIX}{name}:step {n}@{start.isoformat()}" for n in range(1, len(sequence.steps) + 1)]
        stop = f"{STEP_PREFIX}{name}:stopped@{start.isoformat()}"
        if key_of(rule, record, stop) in done or all(
                key_of(rule, record, e) in done or n <= stepped.get(key, 0) for n, e in enumerate(events, 1)):
            del enrolled[key]
            stepped.pop(key, None)


def advance(rule: str, subjects: Mapping[str, Any], world: Any,
            enrolled: dict[tuple[str, str, str], tuple[dt.date, str | None]], logged: Mapping[str, dt.date | None],
            done: set[str], key_of: Callable[[str, str], str], own: set[str],
            stepped: dict[tuple[str, str, str], int] | None = None,
            shapes: dict[tuple[str, str, str], list[str]] | None = None,
            known: Mapping[tuple[str, str, str], list[str]] | None = None) -> list[Due]:
    """This sync's steps and stops of every enrollment of `rule`, in record order.

    `subjects`: record ID -> the rule's records (crm.workflows.Subject); `world`: its World
    (as_of, sequences, activities, sent_ids); `logged`: Workflow Log key -> its day; `done`: the
    keys journaled or firing this sync (the Dues' keys are added); `key_of(record, event)`: a
    firing's key; `own`: the IDs of the records workflows made; `stepped`: enrollment -> how
    many of its steps were journaled (a step at or below it is taken, whether or not its Log
    row is still there); `shapes`: enrollment -> the `marks` of its steps, those taken as they
    were (an enrollment that goes on gets the marks of its steps now); `known`: enrollment ->
    its `before`. `enrolled`, `stepped`
    and `shapes` are left as they stand after this sync:
    stopped enrollments gone; one whose last step is taken now kept, all its steps counted, so
    that the State forgets it only once the step's write landed (`settle` ends it next sync)."""
    out: list[Due] = []
    stepped = {} if stepped is None else stepped
    shapes = {} if shapes is None else shapes
    for (rule_id, record, name), (start, owner) in sorted(enrolled.items(), key=lambda kv: kv[0]):
        # Found as a rule's Template finds it: "Welcome" respelled in sheetcrm.toml is the same.
        sequence, subject = world.sequences.get(find(world.sequences, name) or ""), subjects.get(record)
        if rule_id != rule or sequence is None or subject is None:
            continue  # kept: its rule, record or sequence may come back
        key = (rule_id, record, name)
        steps = sequence.steps
        events = [f"{STEP_PREFIX}{name}:step {i}@{start.isoformat()}" for i in range(1, len(steps) + 1)]
        stop = f"{STEP_PREFIX}{name}:stopped@{start.isoformat()}"
        taken = lambda n, event: key_of(record, event) in done or n <= stepped.get(key, 0)  # noqa: E731
        if key_of(record, stop) in done or all(taken(n, e) for n, e in enumerate(events, 1)):
            del enrolled[key]
            stepped.pop(key, None)
            continue
        if not owner and subject.owner:
            owner = subject.owner  # a first owner is no change of owner
            enrolled[key] = (start, owner)
        reason = stop_reason(subject, world, start, owner, own, (known or {}).get(key))
        count, now = stepped.get(key, 0), marks(steps)
        if reason is None and not same_steps(shapes.get(key, [])[:count], steps):
            # Steps are known by their number: with a step inserted, removed or reordered among
            # those taken, step N is another step now, and going on would take one again (a
            # second call task) and skip another without a word.
            reason = _("the steps of the follow-up {name} were changed in sheetcrm.toml after {n} of them were "
                       "taken, so which step comes next cannot be told: its remaining steps are not taken",
                       name=name, n=count)
        if reason is not None:
            out.append(Due(subject, stop, _("follow-up {name}", name=name), message=reason))
            done.add(key_of(record, stop))
            del enrolled[key]
            stepped.pop(key, None)
            shapes.pop(key, None)
            continue
        shapes[key] = now  # the steps it takes from here, as they read now
        previous: tuple[int, dt.date] | None = None   # (the step's day, the day it fired)
        for n, (step, event) in enumerate(zip(steps, events), 1):
            due = add_days(start, step.day)
            if previous is not None:
                due = max(due, add_days(previous[1], step.day - previous[0]))
            if taken(n, event):
                previous = (step.day, logged.get(key_of(record, event)) or due)
                continue
            if due > world.as_of:
                break
            out.append(Due(subject, event, _("follow-up {name}, step {n} of {total} (day {day})", name=name, n=n,
                                             total=len(steps), day=step.day), step, n, enrollment=key))
            done.add(key_of(record, event))
            stepped[key] = max(stepped.get(key, 0), n)
            previous = (step.day, world.as_of)
    return out


def _the_senders(email: Any, world: Any) -> bool:
    """Whether an Email activity is the one the Outbox's sender logged: its Outcome holds a sent
    row's Message-ID, or, written where Activities has no Outcome column, it is about a sent
    quote's deal with that quote's Subject (the quote going out stopped its deal's sequence as
    a reply)."""
    if email.outcome and any(m in email.outcome for m in world.sent_ids):
        return True
    return (match_key(email.related or ""), canonical_text(email.subject or "")) in world.sent_quotes


def _mark(activity: Any) -> str:
    """An activity as `before` keeps it: its type and subject (one typed without an ID gets its
    ID from the very sync that enrolls, so the ID cannot tell it again)."""
    text = repr((activity.type, " ".join((canonical_text(activity.subject or "")).split())))
    return hashlib.blake2b(text.encode("utf-8"), digest_size=4).hexdigest()


def before(about: set[str], activities: Any, day: dt.date) -> list[str]:
    """The marks of the activities about the records `about` dated `day` that could be a reply,
    as the sheet holds them at the sync that enrolls on `day`: what made the rule fire, or came
    before it. One dated that day and typed since is a reply (`reply`, `known`)."""
    return sorted(_mark(a) for a in activities if a.related in about and a.type in REPLY_TYPES and a.date == day)


def reply(about: set[str], activities: Any, enrolled: dt.date, as_of: dt.date, own: set[str] | frozenset[str],
          sent: Any, known: list[str] | None = None) -> Any | None:
    """The first activity of `activities` that is a reply of the records `about` (their IDs) to
    an enrollment made on `enrolled`, as `stop_reason` says what a reply is (`sent`: the
    `sent_ids` and `sent_quotes` of the Outbox), or None. Shared by the sync, which stops the
    enrollment, and the Outbox's sender, which reads the sheet as it is when it sends.

    `known`: the enrollment's `before` (None for one made before they were kept): an activity
    dated the enrollment day that is not among them was typed after the enrollment, a reply (the
    lead who called back that afternoon); without them that day cannot be told apart."""
    left = list(known or ())
    for a in activities:
        if not (a.related in about and a.type in REPLY_TYPES and enrolled <= a.date <= as_of and a.id not in own
                and not (a.type == "Email" and _the_senders(a, sent))):
            continue
        if a.date == enrolled:
            if known is None:
                continue
            if (mark := _mark(a)) in left:
                left.remove(mark)
                continue
        return a
    return None


def about(subject: Any) -> set[str]:
    """The IDs whose activities are the record's replies: its own, and a deal's contact's."""
    return {subject.id, *((c.id,) if (c := subject.related.get("contact")) is not None else ())}


def stop_reason(subject: Any, world: Any, enrolled: dt.date, owner: str | None,
                own: set[str] | frozenset[str], known: list[str] | None = None) -> str | None:
    """Why an enrollment of `subject` made on `enrolled` stops now, in words (the Workflow Log's
    Details beside Result stopped: "the lead was converted"), or None.

    Replied: an activity about the record (for a deal, also about its contact) of Type Call,
    Email or Meeting, dated after the enrollment day (or on it, typed after the enrollment:
    `known`) and not after today, that sheetcrm did not
    write — not one a workflow made (its ID is a Created Record of the Workflow Log: `own`),
    not the Email the Outbox's sender logs for a message it sent (its Outcome holds one of
    `world.sent_ids`; with no Outcome, a sent quote's deal and Subject, `world.sent_quotes`). Converted: a lead whose `converted` value holds (its Status Converted, or
    its Converted Account filled by a conversion: `crm.conversion.is_converted`). Won / lost: a deal in a won / lost stage; a lead Unqualified is lost. Owner:
    the Owner differs (as owners compare: `spellings.key`) from the owner at enrollment."""
    values = subject.values
    if subject.kind == "lead" and values.get("converted"):  # crm.conversion.is_converted, set by the step
        return _("the lead was converted")
    if subject.kind == "opportunity" and values.get("stage_kind") == "won":
        return _("the deal was won")
    if subject.kind == "opportunity" and values.get("stage_kind") == "lost":
        return _("the deal was lost")
    if subject.kind == "lead" and values.get("status") == "Unqualified":
        return _("the lead was disqualified")
    if (a := reply(about(subject), world.activities, enrolled, world.as_of, own, world, known)) is not None:
        return _("the record replied ({activity} on {day})", activity=a.id or "?", day=day_said(a.date))
    # Compared as owners compare everywhere (round-robin, forecast, digest): "O'Brien" typed
    # again as "O’Brien" is the same owner, not a reason to stop.
    if owner and owner_key(subject.owner or "") != owner_key(owner):
        return _("the owner changed from {old} to {new}", old=owner, new=subject.owner or "∅")
    return None
