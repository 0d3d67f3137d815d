"""The actions a workflow rule's Then cell or a follow-up step names, in the words they are
read as and written in, and the template files a Template cell names: what the rules
(crm/workflows.py) and the follow-up sequences (crm/follow_ups.py) both read, here so that
neither imports the other for it."""

from __future__ import annotations

from sheetcrm.cells import normalize_key
from sheetcrm.i18n import NC_, every_locale

ACTIONS = ("create_task", "log_activity", "assign_owner", "send_email", "notify", "notify_now", "start_sequence")
_ACTION_WORDS = {  # not for people: what a Then cell is read as
    "create_task": ("create task", "task", "crear tarea", "tarea"),  # not for people: read as
    "log_activity": ("log activity", "activity", "registrar actividad", "actividad"),  # not for people: read as
    "assign_owner": ("assign owner", "assign", "asignar propietario", "asignar"),  # not for people: read as
    "send_email": ("send email", "email", "enviar correo", "correo", "enviar email"),  # not for people: read as
    "notify": ("notify", "notify owner", "notificar", "avisar"),  # not for people: read as
    "notify_now": ("notify at once", "notify now", "notify owner now", "notificar ya", "notificar al momento",  # not for people: read as
                   "avisar ya"),  # not for people: read as
    "start_sequence": ("start sequence", "sequence", "start follow-up", "iniciar secuencia", "secuencia")}  # not for people: read as
STEP_ACTIONS = ("create_task", "log_activity", "send_email", "notify")  # what a follow-up step may do
# How the Workflow Log names an action, in the team's language; the hints list these, and each
# reads back as its action in every language (so a hint can never name a word the parser refuses).
ACTION_LABELS = {"create_task": NC_("workflow action", "create task"),
                 "log_activity": NC_("workflow action", "log activity"),
                 "assign_owner": NC_("workflow action", "assign owner"),
                 "send_email": NC_("workflow action", "send email"), "notify": NC_("workflow action", "notify"),
                 "notify_now": NC_("workflow action", "notify at once"),
                 "start_sequence": NC_("workflow action", "start sequence")}
ACTION_OF = {normalize_key(w): a for a in ACTIONS for w in (*every_locale(ACTION_LABELS[a]), *_ACTION_WORDS[a])}


def template_files(name: str) -> tuple[str, str]:
    """The text and HTML template files a Template cell names: "welcome" -> welcome.txt.j2,
    welcome.html.j2; "welcome.txt.j2" the same."""
    stem = name.strip()
    for suffix in (".txt.j2", ".html.j2", ".j2", ".txt"):
        if stem.endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return f"{stem}.txt.j2", f"{stem}.html.j2"
