"""The validation report: every problem found in one pass, each pinned to a cell."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning"]


def column_letter(col: int) -> str:
    """1 -> A, 27 -> AA: the column as the sheet shows it."""
    letters = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass(frozen=True)
class Issue:
    severity: Severity
    tab: str
    row: int | None        # the sheet's own row number; None for a whole-tab problem
    column: str | None     # the column letter, e.g. "F"; None for a whole-row problem
    header: str | None
    value: Any
    code: str
    message: str
    hint: str

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["value"] = _plain(self.value)
        return d

    def where(self) -> str:
        cell = f"{self.column or ''}{self.row or ''}"
        return f"{self.tab}!{cell}" if cell else self.tab


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


@dataclass
class Report:
    """Issues in sheet order, capped at `limit`; `partial` says the cap was hit."""

    limit: int = 1000
    issues: list[Issue] = field(default_factory=list)
    partial: bool = False
    errors: int = 0
    warnings: int = 0

    def add(self, issue: Issue) -> None:
        # Counts stay exact past the cap, so the summary never understates the damage.
        if issue.severity == "error":
            self.errors += 1
        else:
            self.warnings += 1
        if len(self.issues) < self.limit:
            self.issues.append(issue)
        else:
            self.partial = True

    @property
    def valid(self) -> bool:
        return self.errors == 0

    def as_dict(self, stats: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "partial": self.partial,
            "errors": self.errors,
            "warnings": self.warnings,
            "issues": [i.as_dict() for i in self.issues],
            "stats": stats or {},
        }
