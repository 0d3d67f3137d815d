"""The sliver of Drive v3 that Sheets clients use: creating a spreadsheet as a Drive file,
reading its metadata, listing by name/mimeType, and deleting it."""

from __future__ import annotations

import re

from . import fields
from .errors import ApiError, invalid
from .model import Spreadsheet

SPREADSHEET_MIME = "application/vnd.google-apps.spreadsheet"
DEFAULT_FIELDS = "kind,id,name,mimeType"


class DriveError(ApiError):
    """Drive's error body also carries the legacy ``errors`` list."""

    def __init__(self, code: int, message: str, reason: str, location: str | None = None):
        super().__init__(code, message)
        self.reason = reason
        self.location = location

    def body(self) -> dict:
        detail = {"message": self.message, "domain": "global", "reason": self.reason}
        if self.location:
            detail.update(location=self.location, locationType="parameter")
        return {"error": {"code": self.code, "message": self.message, "errors": [detail]}}


def file_not_found(file_id: str) -> DriveError:
    return DriveError(404, f"File not found: {file_id}.", "notFound", "fileId")


def resource(book: Spreadsheet) -> dict:
    return {
        "kind": "drive#file",
        "id": book.id,
        "name": book.properties["title"],
        "mimeType": SPREADSHEET_MIME,
        "createdTime": book.created,
        "modifiedTime": book.modified,
    }


def describe(book: Spreadsheet, query: dict) -> dict:
    mask = fields.parse((query.get("fields") or [DEFAULT_FIELDS])[0])
    return fields.select(resource(book), mask)


def check_create(body: dict) -> str:
    mime = body.get("mimeType")
    if mime != SPREADSHEET_MIME:
        raise invalid(f"Only {SPREADSHEET_MIME} files can be created on this Sheets emulator, not {mime!r}.")
    return body.get("name") or "Untitled spreadsheet"


_CLAUSE = re.compile(r"""^\s*(name|mimeType)\s*(=|!=|contains)\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*$""")


def _matches(book: Spreadsheet, clause: str) -> bool:
    clause = clause.strip()
    if clause == "trashed = false" or clause == "trashed=false":
        return True
    m = _CLAUSE.match(clause)
    if not m:
        raise invalid("Invalid Value")
    key, op, dq, sq = m.groups()
    wanted = re.sub(r"\\(.)", r"\1", dq if dq is not None else sq)
    actual = book.properties["title"] if key == "name" else SPREADSHEET_MIME
    if op == "=":
        return actual == wanted
    if op == "!=":
        return actual != wanted
    return wanted.lower() in actual.lower()


def list_files(books: list[Spreadsheet], query: dict) -> dict:
    """files.list supporting ``q`` made of name/mimeType clauses joined by ``and``."""
    q = (query.get("q") or [""])[0]
    clauses = [c for c in re.split(r"\s+and\s+", q) if c.strip()] if q else []
    found = [b for b in books if all(_matches(b, c) for c in clauses)]
    found.sort(key=lambda b: b.modified, reverse=True)
    out = {"kind": "drive#fileList", "incompleteSearch": False, "files": [resource(b) for b in found]}
    mask = fields.parse((query.get("fields") or ["kind,incompleteSearch,files(kind,id,name,mimeType)"])[0])
    return fields.select(out, mask)
