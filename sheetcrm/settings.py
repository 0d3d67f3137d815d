"""The base of every settings section: strict keys, bounded seconds, one-line problems.

Each concept owns its settings type (`crm.stages.Stage`, `crm.scoring.ScoringSettings`,
`every.ScheduleSettings`, `mail.smtp.SmtpSettings`); `config.py` composes them into
sheetcrm.toml. They all stand on this module, so settings flow down: nothing that owns a
section imports the config.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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
