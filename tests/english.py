"""The words that mark text as English: every word of an English message in the catalogue that
no Spanish message uses. One in a cell or a line sheetcrm writes for a Spanish team is a word
left untranslated.

Placeholders (`{name}`, `%(name)s`), `code in backticks` and the lines of example config
(`key = value`, commented out or not, which a Spanish message keeps as it is) are not words of the language.
"""

from __future__ import annotations

import re

from babel.messages.pofile import read_po

from sheetcrm import i18n

WORD = re.compile(r"[A-Za-zÁÉÍÓÚÜÑáéíóúüñÀ-ÿ]{3,}")
NOT_WORDS = re.compile(r"\{[^}]*\}|%\(\w+\)\w|`[^`]*`|[\w.\"\[\]]+ *= .*$", re.MULTILINE)


def words(text: str) -> set[str]:
    return {w.casefold() for w in WORD.findall(NOT_WORDS.sub(" ", text or ""))}


def _texts(value: object) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value or "",)  # type: ignore[arg-type]


def english_only_words() -> set[str]:
    with (i18n.LOCALE_DIR / "es" / "LC_MESSAGES" / "sheetcrm.po").open("rb") as f:
        catalogue = read_po(f, locale="es")
    english: set[str] = set()
    spanish: set[str] = set()
    for m in catalogue:
        if not m.id:
            continue
        for text in _texts(m.id):
            english |= words(text)
        for text in _texts(m.string):
            spanish |= words(text)
    return english - spanish
