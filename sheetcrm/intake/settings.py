"""The [forms.<name>] sections of sheetcrm.toml: which tab a web form writes its responses into,
and which Leads field each question fills.

    [forms.web]
    tab = "Form Responses 1"                 # or "Respuestas de formulario 1"
    fields = { "Email Address" = "email", "Your name" = "name", "Company" = "company" }
    source = "Web"                           # the lead's Source, in the team's words

A field is one of the Leads fields below; "name" is a whole name, split at its first space
into First Name and Last Name (one word is a Last Name, which is what identifies a lead; "Bee,
Ann" splits at its comma: `forms.split_name`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from sheetcrm.i18n import _
from sheetcrm.settings import DAY, Section, seconds

# The Leads fields a question may fill (sheetcrm.records.Lead; tests/test_forms.py checks they
# are its fields), and "name", split into first and last name.
LeadField = Literal["name", "first_name", "last_name", "company", "email", "phone", "title", "source",
                    "campaign", "owner"]


class FormSettings(Section):
    tab: str
    fields: dict[str, LeadField]
    source: str = "Web"
    # The header of the response time; Google Forms writes "Timestamp" ("Marca temporal").
    timestamp: str | None = None

    @field_validator("fields")
    @classmethod
    def _fields(cls, fields: dict[str, str]) -> dict[str, str]:
        if not fields:
            raise ValueError(_("map at least one question to a Leads field"))
        taken: dict[str, str] = {}
        for question, name in fields.items():
            if name in taken:
                raise ValueError(_("the questions {first} and {second} both fill {field}", first=repr(taken[name]),
                                   second=repr(question), field=name))
            taken[name] = question
        return fields


class ServeSettings(Section):
    """[serve]: `sheetcrm serve`'s website form (docs/leads.md, "Web-to-lead from a website form").

        [serve]
        fields = { "your-email" = "email" }   # posted name -> Leads field; Leads field names need none
        source = "Web"
        honeypot = "website_url"              # a field people never see: filled, the post is dropped
        origins = ["https://www.example.com"] # the Origin headers accepted (empty: any)
        rate = 0.2                            # posts per second per IP, sustained
        burst = 5                             # posts per IP at once
        sync_every = 30                       # seconds between drains of the queue into the workbook
    """

    fields: dict[str, LeadField] = {}
    source: str = "Web"
    honeypot: str = "website_url"
    origins: list[str] = []
    rate: float = Field(default=0.2, gt=0)
    burst: int = Field(default=5, ge=1)
    # At most a day: past that a typo (Event.wait overflows on 1e300, and the drain thread died
    # with no word, so no post ever reached the workbook).
    sync_every: float = seconds(30, DAY)
