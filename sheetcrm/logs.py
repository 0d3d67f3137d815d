"""Logging for `sheetcrm run`: one line per event on stderr, as text or as JSON objects.

A record's structured fields go in `extra={"fields": {...}}`: JSON lines carry them as keys,
text lines show only the message, which already says what matters in words. Either way,
control characters from cells are escaped (sheetcrm.terminal).
On a terminal, text lines go through the same rich console as the progress bar, so a line
printed mid-job lands above the bar instead of through it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import TYPE_CHECKING, Any, TextIO

# rich is imported where the console is made, on a terminal: every command imports LOGGER from
# here (cli), and one that draws nothing starts sooner without rich (as in show.py).
if TYPE_CHECKING:
    from rich.console import Console

from sheetcrm.i18n import NC_, current, in_locale
from sheetcrm.terminal import json_value, visible, visible_json

LOGGER = "sheetcrm.run"
# A text line's level in the reader's language; JSON lines keep logging's names, for programs.
LEVELS = {"DEBUG": NC_("log level", "DEBUG"), "INFO": NC_("log level", "INFO"),
          "WARNING": NC_("log level", "WARNING"), "ERROR": NC_("log level", "ERROR"),
          "CRITICAL": NC_("log level", "CRITICAL")}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            data["traceback"] = self.formatException(record.exc_info)
        return visible_json(json.dumps(data, ensure_ascii=False, default=json_value))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(message)s", "%Y-%m-%d %H:%M:%S")

    def formatMessage(self, record: logging.LogRecord) -> str:
        # The message may quote cells (an issue, an Outbox row); a traceback after it keeps its lines.
        word = LEVELS.get(record.levelname)
        if word is not None:  # a copy: other handlers of the record keep logging's own name
            record = logging.makeLogRecord({**record.__dict__, "levelname": in_locale(current(), word)})
        return visible(super().formatMessage(record))


class ConsoleHandler(logging.Handler):
    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.console.print(self.format(record), markup=False, highlight=False, soft_wrap=True)
        except Exception:
            self.handleError(record)


def setup(fmt: str = "text", stream: TextIO | None = None) -> tuple[logging.Logger, Console | None]:
    """The service's logger, and the console a progress bar may draw on (None when stderr is
    not a terminal or lines are JSON: then progress is plain lines)."""
    stream = stream or sys.stderr
    logger = logging.getLogger(LOGGER)
    logger.handlers.clear()
    logger.setLevel(logging.INFO)
    logger.propagate = False
    console = None
    if fmt == "text" and stream.isatty():
        from rich.console import Console

        console = Console(file=stream)
    handler: logging.Handler = ConsoleHandler(console) if console else logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    logger.addHandler(handler)
    return logger, console
