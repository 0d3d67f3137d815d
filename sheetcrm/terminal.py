"""What sheetcrm prints: cell text never drives the terminal.

A cell can hold ESC (colours, cursor moves, a fake prompt, a terminal title), BEL, NUL,
carriage returns that overwrite a line, C1 controls, or bidirectional overrides (U+202E) that
make a line read differently from what it holds. Every line of text output goes through
`visible`, which writes each such character as an escape a person can read (`\\u001b`,
`\\u202e`); JSON output goes through `visible_json`, which writes them as JSON's `\\uXXXX`
escapes, so the document still parses to the very same strings.
"""

from __future__ import annotations

import datetime as dt
import re

from sheetcrm.i18n import N_

# The one line of a command stopped by Ctrl-C (SIGINT), after "sheetcrm: ", whenever it comes:
# while the modules load (`sheetcrm.__main__`) or later (`cli._Commands`).
INTERRUPTED = N_("interrupted: the command stopped before it finished. A sync's write lands whole or not at all; "
                 "run the command again to finish.")
# Its exit status: 128 + the signal's number, as shells give it, so a cron job or CI step
# tells it from 1 ("the sheet has errors").
EXIT_INTERRUPTED = 130

# C0 controls (tab and newline included: one printed line is one line), DEL, C1 controls, and
# the characters that reorder or separate text: Arabic letter mark, LRM/RLM, the line and
# paragraph separators, the bidi embeddings/overrides (U+202A-E) and isolates (U+2066-9).
_REORDERING = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROLS = re.compile(f"[\x00-\x1f{_REORDERING}]")
# json.dumps already escapes C0 inside strings; the C0 left in its output (newlines and
# indentation between values) is the document's own layout.
_JSON_UNSAFE = re.compile(f"[{_REORDERING}]")


def _escape(ch: str) -> str:
    # The same \\uXXXX form as the messages' quoted values (cells.visible) and JSON's escapes,
    # so a person meets one convention everywhere.
    return f"\\u{ord(ch):04x}"


def visible(text: str) -> str:
    """`text` with every control and bidi character written as a visible escape."""
    return _CONTROLS.sub(lambda m: _escape(m.group()), text)


def visible_json(document: str) -> str:
    """A JSON document with those characters escaped the JSON way (they can only occur inside
    strings, where `\\uXXXX` stands for the same character): it parses to the same values."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", document)


def json_value(value: object) -> object:
    """`json.dumps`' `default` for what sheetcrm prints as JSON: a date, time or moment as ISO
    8601 (`"2026-12-03T05:02:32+00:00"`, where `str` would put a space for the "T"), anything
    else as its text (a Decimal with every digit it holds)."""
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)
