"""Every string a person reads, from gettext catalogues (Babel), in English or Spanish.

    from sheetcrm.i18n import _, ngettext, N_
    _("There is no {tab} tab.", tab="Leads")          -> 'No hay ninguna pestaña "Leads".' (es)
    ngettext("{n} cell", "{n} cells", 1, n=1)         -> '1 cell'
    LABEL = N_("Win rate")  # marked for the catalogue, translated where it is shown: _(LABEL)

The source strings are English; `sheetcrm/locale/<lang>/LC_MESSAGES/sheetcrm.po` holds each
language (en included, so the plural rules of both come from the catalogue), compiled to
`.mo` files that ship with the package. `python scripts/catalogue.py update` extracts the
marked strings into the .po files, `compile` writes the .mo files;
`tests/test_catalogue.py` fails when either is stale or a Spanish entry is missing.

The language is a context variable, not a global: a sync runs `with using(config.locale):`
and everything it builds (issues, cells, lines) speaks that language, while another thread
(the service's jobs) or a test may speak another. Outside any `using`, it is the
environment's (SHEETCRM_LANG, then LANGUAGE, LC_ALL, LC_MESSAGES, LANG), else English.

A command (or the service) speaks `with speaking(Spoken(config.locale)):`, a language the
workbook may still settle: where the config file sets no locale, the workbook's CRM tab titles
decide it once it is read (`validate.team_config` calls `settle`), and every line after that,
outside the `using` blocks of the library, follows. One place decides for every command.

Placeholders are `str.format` names (`{tab}`), filled after translation, so a translation may
move them; a value is never translated, only the words around it.
"""

from __future__ import annotations

import contextvars
import functools
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LOCALES = ("en", "es")
DOMAIN = "sheetcrm"
LOCALE_DIR = Path(__file__).with_name("locale")

class Spoken:
    """The language a command or a service speaks ("en"/"es"), which the workbook it reads may
    settle (`settle`): one object, so every line after the read follows it."""

    def __init__(self, language: str | None) -> None:
        self.language = normalize(language)


_current: contextvars.ContextVar[str | Spoken | None] = contextvars.ContextVar("sheetcrm_locale", default=None)
# The Spoken of the command or service running here, found by `settle` even inside a `using`.
_spoken: contextvars.ContextVar[Spoken | None] = contextvars.ContextVar("sheetcrm_spoken", default=None)


def normalize(locale: str | None) -> str:
    """'es', 'es_ES.UTF-8', 'es-MX' -> 'es'; anything not Spanish -> 'en'."""
    return "es" if (locale or "").strip().lower()[:2] == "es" else "en"


def environment_locale() -> str:
    """The language the environment asks for, before any config is read (config errors).
    A list of languages (LANGUAGE=fr:es, as gettext reads it) gives its first one sheetcrm
    speaks: Spanish there, where its first entry alone said English."""
    for var in ("SHEETCRM_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            spoken = [part for part in value.split(":") if part.strip().lower()[:2] in LOCALES]
            return normalize(spoken[0] if spoken else value)
    return "en"


def environment_names_language() -> bool:
    """Whether the environment's language (as `environment_locale` finds it) is one sheetcrm
    speaks, named: False for LANG=C, POSIX, fr_FR or none set, where "en" is only the fallback
    for the words sheetcrm prints, and says nothing of how the team writes dates and numbers."""
    for var in ("SHEETCRM_LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return any(part.strip().lower()[:2] in LOCALES for part in value.split(":"))
    return False


def environment_region() -> str | None:
    """The territory ("ES", "MX", "US") whose money the environment's locale formats: that of
    SHEETCRM_LANG when it names one, else that of the first of LC_ALL, LC_MONETARY and LANG
    set, as the C library picks the monetary locale (es_MX.UTF-8 -> "MX"); None when that names
    none (LANG=C). The message languages (LANGUAGE, LC_MESSAGES) only when none of those is
    set: LANGUAGE=es beside LANG=es_ES.UTF-8 said "your locale names no region" and USD, and
    LC_MONETARY=es_ES under an English LANG gave the US's dollars."""
    def region_of(value: str) -> str | None:
        spoken = [part for part in value.split(":") if part.strip().lower()[:2] in LOCALES]
        name = (spoken[0] if spoken else value).strip().split(".")[0].split("@")[0].replace("-", "_")
        region = name.partition("_")[2]
        return region.upper() if len(region) == 2 and region.isalpha() else None

    if (own := os.environ.get("SHEETCRM_LANG")) and (region := region_of(own)):
        return region
    for chain in (("LC_ALL", "LC_MONETARY", "LANG"), ("LANGUAGE", "LC_MESSAGES")):
        value = next((v for var in chain if (v := os.environ.get(var))), None)
        if value:
            return region_of(value)
    return None


def current() -> str:
    """The language strings are translated into right now: 'en' or 'es'."""
    value = _current.get()
    if isinstance(value, Spoken):
        return value.language
    return value or environment_locale()


@contextmanager
def using(locale: str | None) -> Iterator[str]:
    """Speak `locale` inside the block (this thread or task only)."""
    token = _current.set(normalize(locale))
    try:
        yield _current.get() or "en"
    finally:
        _current.reset(token)


@contextmanager
def speaking(spoken: Spoken) -> Iterator[Spoken]:
    """Speak `spoken` inside the block (this thread or task only), following it when the
    workbook read inside settles it (`settle`); a `using` inside still speaks its own."""
    token, own = _current.set(spoken), _spoken.set(spoken)
    try:
        yield spoken
    finally:
        _spoken.reset(own)
        _current.reset(token)


@contextmanager
def speaking_team(locale: str | None) -> Iterator[Spoken]:
    """Speak as the command or service running here does (`speaking`), which a read of the
    workbook inside the block may settle; with none running, `locale`, settled the same way."""
    with speaking(_spoken.get() or Spoken(locale)) as spoken:
        yield spoken


def settle(language: str) -> None:
    """The team's language as the workbook read says it (`validate.team_config`): the command
    or service speaking here (`speaking`) speaks it from now on. Nothing outside one."""
    spoken = _spoken.get()
    if spoken is not None:
        spoken.language = normalize(language)


@functools.cache
def catalogue(locale: str) -> NullTranslations:
    """The compiled catalogue of `locale` ('en'/'es'); English falls back to the source text."""
    found = Translations.load(str(LOCALE_DIR), [normalize(locale)], domain=DOMAIN)
    return found


def _fill(text: str, params: dict[str, Any]) -> str:
    return text.format(**params) if params else text


def _(message: str, /, **params: Any) -> str:
    """`message` in the current language, its `{placeholders}` filled from `params`."""
    return _fill(catalogue(current()).gettext(message), params)


gettext = _


def ngettext(singular: str, plural: str, n: int, /, **params: Any) -> str:
    """The form of `singular`/`plural` for the count `n`, by the language's plural rule;
    `n` is also available to the text as `{n}`, grouped as the language groups a count
    (`1,027 rows`, `1.027 filas`), like the numbers of the tables beside it (`show.number`)."""
    language = current()
    return _fill(catalogue(language).ngettext(singular, plural, n), {"n": count(n, language), **params})


def listed(items: Sequence[str], most: int) -> str:
    """Items for a message, joined by commas: all of a few, else the first `most` and how many
    more ("ACC-0001, ACC-0002 and 3 more"), in the current language."""
    shown = ", ".join(items[:most])
    if len(items) <= most:
        return shown
    return ngettext("{rows} and {n} more", "{rows} and {n} more", len(items) - most, rows=shown)


def count(n: int, locale: str | None = None) -> str:
    """A whole number grouped as `locale` (default: the current language) writes it, by babel:
    1027 -> '1,027' in English, '1.027' in Spanish."""
    return format_decimal(n, format="#,##0", locale=locale or current())


def day_said(day: Any) -> str:
    """A day inside a sentence, as the current language writes it ("Nov 23, 2026", "23 nov 2026"):
    an event's words in the Workflow Log and a digest, where ISO text read as English amid Spanish."""
    from babel.dates import format_date

    return format_date(day, "medium", locale=current())


def month_said(key: str) -> str:
    """A "YYYY-MM" month key as the current language names the month ("Nov 2026", "nov 2026")."""
    import datetime as dt

    from babel.dates import format_skeleton

    year, number = key.split("-")
    return format_skeleton("yMMM", dt.date(int(year), int(number), 1), locale=current())


def pgettext(context: str, message: str, /, **params: Any) -> str:
    """`message` in the sense `context` gives it ("stage" the header vs. "stage" the verb)."""
    return _fill(catalogue(current()).pgettext(context, message), params)


def N_(message: str) -> str:
    """Mark `message` for the catalogue without translating it yet (module-level constants);
    translate it where it is shown, with `_(constant)`."""
    return message


def NC_(context: str, message: str) -> tuple[str, str]:
    """Like `N_`, for a word whose sense `context` gives ("To" of an email is not "To" of a
    stage change); `in_locale` translates the pair."""
    return (context, message)


def in_locale(locale: str, message: str | tuple[str, str], /, **params: Any) -> str:
    """`message` (or an `NC_` pair) in `locale`, whatever the current language (names written
    for a tab's own language, recognising a name in either language)."""
    found = catalogue(normalize(locale))
    text = found.pgettext(*message) if isinstance(message, tuple) else found.gettext(message)
    return _fill(text, params)


def every_locale(message: str | tuple[str, str]) -> tuple[str, ...]:
    """`message` in every language sheetcrm speaks, English first: what people may type."""
    return tuple(dict.fromkeys(in_locale(lang, message) for lang in LOCALES))
