"""What text from outside the workbook may put into a cell: a website form's post, a form
response, an imported file.

* **One line** unless the field is free text: a line break in a name or an email is never
  meant (`Eve\\r\\nBcc: victim@x.example` is a header injection waiting for the Outbox), and
  other control characters (NUL, ESC, DEL, C1, the line separators) never are. Free text may
  hold \\n and \\t, never \\r or another control.
* **What a cell can hold**: CELL_CHARS characters, Excel's limit (Google's is 50,000; a
  workbook kept under the lower one opens in both, and a Google sheet can be downloaded as
  .xlsx). Google refuses a whole write holding a longer cell, so one such value would block
  every write after it.

Pure: `problem` says what is wrong with one value, as a CellError for the cell it came from.
"""

from __future__ import annotations

import re
from typing import Any

from sheetcrm import cells
from sheetcrm.cells import CellError
from sheetcrm.i18n import _

CELL_CHARS = 32_767  # Excel's limit for one cell
# Line breaks (\n, \r, VT, FF, the file/group/record separators, NEL, U+2028/9) and every
# other C0 or C1 control, DEL included.
_SINGLE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_FREE_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")  # \t and \n allowed


def problem(value: Any, *, free_text: bool = False, limit: int = CELL_CHARS) -> CellError | None:
    """Why `value` (a cell's text) may not be written as it is, or None: `control_character`
    (a line break in a one-line field, or another control character; the message shows it
    escaped) or `too_long` (over `limit` characters)."""
    if not isinstance(value, str):
        return None
    found = (_FREE_TEXT if free_text else _SINGLE_LINE).search(value)
    if found:
        char = f"U+{ord(found.group()):04X}"  # not for people: the character's Unicode name
        if found.group() in "\r\n" and not free_text:
            message = _("{value} holds a line break ({char}), which this one-line field cannot take.",
                        value=cells.quoted(value), char=char)
        else:
            message = _("{value} holds the control character {char}.", value=cells.quoted(value), char=char)
        return CellError("control_character", message,
                         _("Remove the line break or control character; it is invisible where the text came from."),
                         value)
    if len(value) > limit:
        return CellError("too_long",
                         _("The text is {n} characters long; at most {limit} fit here.",
                           n=cells.show_number(len(value), group=True), limit=cells.show_number(limit, group=True)),
                         _("Shorten it; keep long texts outside the workbook and link to them."),
                         value[:60] + "…")
    return None
