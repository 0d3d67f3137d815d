"""The fleet file (fleet.toml): one `[[workbook]]` entry per workbook, the shared budget, the pool.

    workers = 2                          # threads running jobs (the work is mostly HTTP waits)
    state = "fleet-state.json"           # what `sheetcrm fleet status` reads; relative to this file
    max_backoff_seconds = 3600           # a workbook that cannot even be opened is retried at most this far apart

    [budget]                             # Google's documented quotas, the defaults
    project_reads_per_minute = 300
    project_writes_per_minute = 300
    user_reads_per_minute = 60
    user_writes_per_minute = 60

    [[workbook]]
    name = "acme"                        # optional: the file's stem or the spreadsheet ID
    spreadsheet = "1AbC…"                # or: workbook = "clients/acme.xlsx"
    credentials = "acme-sa.json"         # optional: else the config's, else $GOOGLE_APPLICATION_CREDENTIALS
    config = "clients/acme.toml"         # optional: its sheetcrm.toml (default: the defaults)
    every = "every 10 minutes"           # optional: else the config's [schedule] sync

The defaults are the Sheets API's usage limits (https://developers.google.com/workspace/sheets/api/limits):
per minute, 300 read and 300 write requests per project, 60 of each per user per project.
Paths are relative to the fleet file. A bad file is one line naming the key (ConfigError):
the fleet refuses to start rather than skip an entry, because a skipped entry is a client's
workbook silently left unsynced; a member's own config, credentials or workbook failing at
run time is that member's failure alone (it backs off; `fleet status` shows it).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from sheetcrm.config import read_toml
from sheetcrm.every import Every, parse_every
from sheetcrm.i18n import _, ngettext
from sheetcrm.settings import DAY, ConfigError, KeyedProblem, Section, problem, seconds
from sheetcrm.workbook import WorkbookError, xlsx_name
from sheetcrm.workbook.gsheets import spreadsheet_id

FLEET_FILE = "fleet.toml"
# Google's per-minute quotas (see the module's docstring).
PROJECT_PER_MINUTE = 300
USER_PER_MINUTE = 60


class BudgetSettings(Section):
    """Requests per minute, per project (every credentials of the fleet) and per user (the account a credentials file signs in as)."""

    project_reads_per_minute: int = Field(PROJECT_PER_MINUTE, ge=1, le=1_000_000)
    project_writes_per_minute: int = Field(PROJECT_PER_MINUTE, ge=1, le=1_000_000)
    user_reads_per_minute: int = Field(USER_PER_MINUTE, ge=1, le=1_000_000)
    user_writes_per_minute: int = Field(USER_PER_MINUTE, ge=1, le=1_000_000)
    # A token spent comes back this long after: Google refills per minute, and a request may
    # reach Google a little after its token was taken, so the default keeps a second spare.
    window_seconds: float = seconds(61, 3600)


class Entry(Section):
    """One workbook of the fleet: an .xlsx path or a spreadsheet (ID or URL)."""

    name: str | None = Field(None, min_length=1, max_length=100)
    workbook: str | None = None
    spreadsheet: str | None = None
    credentials: str | None = None
    config: str | None = None
    every: str | None = None

    @field_validator("every")
    @classmethod
    def _phrase(cls, v: str | None) -> str | None:
        if v is not None:
            parse_every(v)
        return v

    @field_validator("workbook")
    @classmethod
    def _xlsx_name(cls, path: str | None) -> str | None:
        return xlsx_name(path)

    @field_validator("spreadsheet")
    @classmethod
    def _key(cls, v: str | None) -> str | None:
        if v is None:
            return v
        try:
            return spreadsheet_id(v)
        except WorkbookError as e:
            raise ValueError(str(e)) from None

    @model_validator(mode="after")
    def _one_target(self) -> "Entry":
        if (self.workbook is None) == (self.spreadsheet is None):
            raise ValueError(_("give exactly one of workbook (an .xlsx path) or spreadsheet (an ID or URL)"))
        if self.workbook is not None and self.credentials is not None:
            raise ValueError(_("credentials are for a spreadsheet, not an .xlsx workbook"))
        return self

    @property
    def every_phrase(self) -> Every | None:
        return parse_every(self.every) if self.every else None


class FleetSettings(Section):
    workers: int = Field(2, ge=1, le=64)
    state: str | None = None
    max_backoff_seconds: float = seconds(3600, 7 * DAY)
    budget: BudgetSettings = BudgetSettings()
    workbook: list[Entry] = Field(min_length=1)
    # Where the file was read from: its entries' paths are relative to it.
    source: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _distinct(self, info: ValidationInfo) -> "FleetSettings":
        # Paths as the fleet opens them (relative to the file, resolved): "a.xlsx", "./a.xlsx",
        # "x/../a.xlsx", its absolute path or a symlink to it are one workbook, which the fleet
        # would otherwise skip every round as held by "another process" (its own other entry).
        base = Path((info.context or {}).get("source") or "fleet.toml").parent
        names: set[str] = set()
        targets: set[str] = set()
        for i, entry in enumerate(self.workbook):
            key = f"workbook.{i + 1}"
            target = entry.spreadsheet or str((base / Path(entry.workbook or "").expanduser()).resolve())
            if target in targets:
                raise KeyedProblem(key, _("the same workbook as an earlier entry ({target})", target=target))
            name = member_name(entry)
            if name in names:
                raise KeyedProblem(key, _("the name {name} is taken by an earlier entry; give it its own name",
                                          name=repr(name)))
            names.add(name)
            targets.add(target)
        return self

    def path(self, value: str | None) -> Path | None:
        """A path from the file, relative to the file."""
        if value is None:
            return None
        path = Path(value).expanduser()
        return path if self.source is None else self.source.parent / path

    @property
    def state_path(self) -> Path:
        if self.state is not None:
            return self.path(self.state)  # type: ignore[return-value]
        folder = self.source.parent if self.source is not None else Path(".")
        stem = self.source.stem if self.source is not None else "fleet"
        return folder / f"{stem}-state.json"


def member_name(entry: Entry) -> str:
    """The name a workbook goes by in logs and `fleet status`."""
    if entry.name:
        return entry.name
    if entry.spreadsheet:
        return entry.spreadsheet
    return Path(entry.workbook or "").stem


def load_fleet(path: str | Path) -> FleetSettings:
    """Read and check the fleet file; ConfigError (one line, naming the key) when it is wrong."""
    file = Path(path)
    if not file.exists():
        raise ConfigError(_("{file}: no such fleet file", file=file))
    data = read_toml(file)
    try:
        fleet = FleetSettings.model_validate(data, strict=True, context={"source": file})
    except ValidationError as e:
        raise ConfigError(f"{file}: {_one_line(e)}") from None
    fleet.source = file
    return fleet


def _one_line(e: ValidationError) -> str:
    """The first problem as `key: problem` (an entry named by its number from 1, as people count
    the [[workbook]] tables), and how many more there are."""
    errors = e.errors()
    err = errors[0]
    loc = [str(p + 1) if isinstance(p, int) else str(p) for p in err["loc"]]
    error = (err.get("ctx") or {}).get("error")
    key = error.key if isinstance(error, KeyedProblem) else ".".join(loc)
    line = f"{key}: {problem(err)}" if key else problem(err)
    if len(errors) > 1:
        line = ngettext("{line} (and {n} more)", "{line} (and {n} more)", len(errors) - 1, line=line)
    return line
