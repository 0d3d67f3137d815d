"""The base of every settings section: strict keys, bounded seconds, one-line problems.

Each concept owns its settings type (`crm.stages.Stage`, `crm.scoring.ScoringSettings`,
`every.ScheduleSettings`, `mail.smtp.SmtpSettings`); `config.py` composes them into
sheetcrm.toml. They all stand on this module, so settings flow down: nothing that owns a
section imports the config.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import ErrorDetails

from sheetcrm.cells import show_number
from sheetcrm.i18n import N_, _


class ConfigError(Exception):
    """A config problem, phrased as one line: file, key, problem."""


class KeyedProblem(ValueError):
    """A problem a validator pins to a key below the field it checks (e.g. `opportunities.title`
    under `tabs`), so the one-line message names the exact key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


# Settings are seconds people type; past these they are typos (a day of SMTP timeout, a week
# between retries), and timedelta or sleep would overflow on the absurd ones.
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


def seconds(default: float, most: float) -> Any:
    return Field(default=default, gt=0, le=most, allow_inf_nan=False)


class Section(BaseModel):
    # A typo in a key must be reported, not silently ignored.
    model_config = ConfigDict(extra="forbid")


# pydantic's error types (https://docs.pydantic.dev/latest/errors/validation_errors/) as a person
# reads them in the current language; `{placeholders}` are the error's ctx. pydantic says them
# in English only.
_PROBLEMS = {
    "missing": N_("is required"),
    "extra_forbidden": N_("unknown key"),
    "less_than_equal": N_("must be less than or equal to {le}"),
    "less_than": N_("must be less than {lt}"),
    "greater_than_equal": N_("must be greater than or equal to {ge}"),
    "greater_than": N_("must be greater than {gt}"),
    "multiple_of": N_("must be a multiple of {multiple_of}"),
    "finite_number": N_("must be a finite number, not inf or nan"),
    "literal_error": N_("must be {expected}"),
    "enum": N_("must be {expected}"),
    "string_type": N_("must be text, in quotes"),
    "int_type": N_("must be a whole number (an integer)"),
    # Text read as a number: an environment variable ($SHEETCRM_SMTP_PORT), never a TOML value (strict).
    "int_parsing": N_("must be a whole number (an integer)"),
    "int_from_float": N_("must be a whole number (an integer)"),
    "float_type": N_("must be a number"),
    "float_parsing": N_("must be a number"),
    "bool_type": N_("must be true or false"),
    "list_type": N_("must be a list, in [brackets]"),
    "dict_type": N_("must be a table of keys and values"),
    "model_type": N_("must be a table of keys and values"),
    "model_attributes_type": N_("must be a table of keys and values"),
    "string_too_short": N_("must have at least {min_length} characters"),
    "string_too_long": N_("must have at most {max_length} characters"),
    "too_short": N_("must have at least {min_length} items"),
    "too_long": N_("must have at most {max_length} items"),
}
# pydantic lists a literal's values as "'a', 'b' or 'c'".
_ALTERNATIVES = re.compile(r"'[^']*'|\"[^\"]*\"|[^,\s]+")


def _value(value: Any) -> Any:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return show_number(value)
    return value


def _alternatives(expected: str) -> str:
    """"'en' or 'es'" in the current language ("'en' o 'es'")."""
    values = [v for v in _ALTERNATIVES.findall(expected) if v != "or"]
    if len(values) < 2:
        return expected
    return _("{values} or {last}", values=", ".join(values[:-1]), last=values[-1])


def problem(err: ErrorDetails) -> str:
    """One pydantic error's problem, without its key, in the current language: a validator's
    own message (a KeyedProblem's, or a ValueError's, already translated where it was raised),
    else the error type's catalogue phrase, else pydantic's English text for a type not listed."""
    ctx = err.get("ctx") or {}
    error = ctx.get("error")
    if isinstance(error, BaseException):
        return error.message if isinstance(error, KeyedProblem) else str(error)
    phrase = _PROBLEMS.get(err["type"])
    if phrase is None:
        return err["msg"]
    params = {k: _value(v) for k, v in ctx.items()}
    if "expected" in params:
        params["expected"] = _alternatives(str(params["expected"]))
    try:
        return _(phrase, **params)
    except (KeyError, IndexError):
        return err["msg"]  # a ctx without the field the phrase names: pydantic's own words
