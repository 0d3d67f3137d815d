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
import re
import string
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


# `str.format` fields as (name, conversion, spec) and the `%(name)s` of the email templates.
PERCENT = re.compile(r"%\((\w+)\)([#0 +-]*\d*(?:\.\d+)?[a-zA-Z])")
# The count a plural message is formatted with: its singular form may say it in words ("una").
COUNTS = {("n", None, ""), ("num", "s")}
# Placeholders a Spanish message leaves out on purpose. click fills {name} with its own word for
# the kind of path ("File", "Directory") and {number_type} with its English type name
# ("integer range"): the Spanish sentence says both in its own words.
DROPPED = {"{name} {filename!r} does not exist.": {("name", None, "")},
           "{name} {filename!r} is a file.": {("name", None, "")},
           "{name} {filename!r} is a directory.": {("name", None, "")},
           "{name} {filename!r} is not readable.": {("name", None, "")},
           "{name} {filename!r} is not writable.": {("name", None, "")},
           "{value!r} is not a valid {number_type}.": {("number_type", None, "")}}


def placeholders(text: str) -> set[tuple]:
    """The fields `text` is filled with: `{name!r:>3}` as ("name", "r", ">3"), `%(name)s` as
    ("name", "s"). A text `str.format` cannot read raises ValueError."""
    fields: set[tuple] = {(m.group(1), m.group(2)) for m in PERCENT.finditer(text)}
    if "%(" not in text or "{" in text:
        fields |= {(name, conversion, spec) for _, name, spec, conversion in string.Formatter().parse(text)
                   if name is not None}
    return fields


def _shown(field: tuple) -> str:
    if len(field) == 2:
        return f"%({field[0]}){field[1]}"
    name, conversion, spec = field
    return "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"


def placeholder_problems(catalog: Catalog) -> list[str]:
    """Each translation whose placeholders are not its source's: one the source lacks is a
    KeyError when it is filled, a renamed one the same, one left out a value the reader never
    sees, another conversion or spec another text. Form 0 of a plural answers the msgid, the
    others the msgid_plural."""
    problems = []
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, (tuple, list)) else (message.id,)
        strings = message.string if isinstance(message.string, (tuple, list)) else (message.string,)
        for form, text in enumerate(strings):
            if not text:
                continue
            source = ids[0] if form == 0 else ids[-1]
            try:
                want, have = placeholders(source), placeholders(text)
            except ValueError as e:
                problems.append(f"{catalog.locale}: {ids[0]!r}: form {form} cannot be filled: {e}")
                continue
            missing = want - have - DROPPED.get(ids[0], set()) - (COUNTS if form == 0 and len(ids) > 1 else set())
            extra = have - want
            if missing or extra:
                problems.append(f"{catalog.locale}: {ids[0]!r}: form {form} {text!r}"
                                + (f" lacks {', '.join(sorted(map(_shown, missing)))}" if missing else "")
                                + (f" has {', '.join(sorted(map(_shown, extra)))}, which its source lacks"
                                   if extra else ""))
    return problems


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
            problems.extend(placeholder_problems(catalog))
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
