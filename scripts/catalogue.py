"""The message catalogue's upkeep (Babel): extract, update, compile, check, merge.

    python scripts/catalogue.py update    # marked strings -> sheetcrm/locale/*/LC_MESSAGES/sheetcrm.po
    python scripts/catalogue.py compile   # .po -> .mo (shipped with the package)
    python scripts/catalogue.py check     # what tests/test_catalogue.py asserts; exit 1 with a list
    python scripts/catalogue.py merge OTHER.po...   # take Spanish translations from other copies

English entries are filled from their source text by `update`; Spanish ones are written by
people (a missing or fuzzy Spanish entry fails `check`). The .po files are written sorted and
without source locations, so two branches' additions merge as text.
"""

from __future__ import annotations

import datetime
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sheetcrm"
TEMPLATES = ROOT / "templates"  # the built-in email templates (installed as sheetcrm/templates)
LOCALE_DIR = PACKAGE / "locale"
DOMAIN = "sheetcrm"
LOCALES = ("en", "es")
FIXED_DATE = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
KEYWORDS = {**DEFAULT_KEYWORDS, "NC_": ((1, "c"), 2), "in_locale": (2,), "every_locale": (1,)}
# The emulator stands in for Google, whose messages are English whatever the team speaks.
METHOD_MAP = [("emulator/**.py", "ignore"), ("**.py", "python")]
# The email templates, through jinja2's own Babel extractor, with the options sheetcrm's
# environment renders them with (sheetcrm.mail.templates): newstyle gettext, trimmed blocks.
TEMPLATE_METHOD_MAP = [("**.j2", "jinja2.ext:babel_extract")]
TEMPLATE_OPTIONS = {"**.j2": {"trimmed": "true", "newstyle_gettext": "true", "trim_blocks": "true",
                              "lstrip_blocks": "true"}}


def po_path(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract() -> Catalog:
    template = Catalog(domain=DOMAIN, project="sheetcrm")
    found = [*extract_from_dir(str(PACKAGE), method_map=METHOD_MAP, keywords=KEYWORDS,
                               comment_tags=("Translators:",), strip_comment_tags=True),
             *extract_from_dir(str(TEMPLATES), method_map=TEMPLATE_METHOD_MAP, options_map=TEMPLATE_OPTIONS,
                               keywords=KEYWORDS, comment_tags=("Translators:",), strip_comment_tags=True)]
    for filename, lineno, message, comments, context in found:
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def _read(locale: str) -> Catalog:
    path = po_path(locale)
    if path.exists():
        with path.open("rb") as f:
            return read_po(f, locale=locale, domain=DOMAIN)
    return Catalog(locale=locale, domain=DOMAIN, project="sheetcrm")


def _po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=100, no_location=True, omit_header=False, sort_output=True,
             ignore_obsolete=True, include_previous=False)
    return out.getvalue()


def _mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def _stable(catalog: Catalog) -> None:
    # Dates in the header would change every run and make every branch conflict.
    catalog.creation_date = catalog.revision_date = FIXED_DATE
    catalog.fuzzy = False


def updated(locale: str, template: Catalog) -> Catalog:
    catalog = _read(locale)
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    if locale == "en":
        for message in catalog:
            if message.id:
                message.string = message.id
                message.flags.discard("fuzzy")
    _stable(catalog)
    return catalog


def update() -> None:
    for locale in LOCALES:
        path = po_path(locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        # A template of its own per language: Catalog.update shares the template's messages.
        path.write_bytes(_po_bytes(updated(locale, extract())))


def compile_all() -> None:
    for locale in LOCALES:
        catalog = _read(locale)
        po_path(locale).with_suffix(".mo").write_bytes(_mo_bytes(catalog))


def _untranslated(catalog: Catalog) -> list[str]:
    out = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        if message.fuzzy or not all(strings):
            out.append(message.id if isinstance(message.id, str) else message.id[0])
    return out


def check() -> list[str]:
    """Every problem with the catalogue, as lines; empty when it is current and complete."""
    problems: list[str] = []
    template = extract()
    wanted = {(m.id if isinstance(m.id, str) else m.id[0], m.context) for m in template if m.id}
    for locale in LOCALES:
        path = po_path(locale)
        if not path.exists():
            problems.append(f"{path}: missing; run `python scripts/catalogue.py update`")
            continue
        catalog = _read(locale)
        have = {(m.id if isinstance(m.id, str) else m.id[0], m.context) for m in catalog if m.id}
        for msgid, ctx in sorted(wanted - have, key=str):
            problems.append(f"{locale}: not in the catalogue: {msgid!r}" + (f" (context {ctx})" if ctx else ""))
        for msgid, ctx in sorted(have - wanted, key=str):
            problems.append(f"{locale}: in the catalogue but no longer in the code: {msgid!r}")
        if locale != "en":
            problems.extend(f"{locale}: untranslated or fuzzy: {msgid!r}" for msgid in _untranslated(catalog))
        mo = path.with_suffix(".mo")
        if not mo.exists() or mo.read_bytes() != _mo_bytes(catalog):
            problems.append(f"{mo}: stale; run `python scripts/catalogue.py compile`")
    return problems


def merge(others: list[str]) -> None:
    """Fill Spanish entries that are empty here from other copies of the Spanish .po (run
    `update` first, so the entries are the code's)."""
    catalog = _read("es")
    for other in others:
        with open(other, "rb") as f:
            theirs = read_po(f, locale="es", domain=DOMAIN)
        for message in theirs:
            if not message.id or message.fuzzy:
                continue
            mine = catalog.get(message.id, message.context)
            if mine is None:  # no longer in the code (run `update` first): nothing to fill
                continue
            strings = mine.string if isinstance(mine.string, (tuple, list)) else (mine.string,)
            if not all(strings):
                mine.string = message.string
    _stable(catalog)
    po_path("es").write_bytes(_po_bytes(catalog))


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "merge":
        merge(argv[1:])
    elif command == "check":
        problems = check()
        for line in problems:
            print(line)
        return 1 if problems else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
