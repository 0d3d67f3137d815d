"""Starting a CRM workbook: the missing tabs with their headers, or a whole demo CRM."""

from __future__ import annotations

import datetime as dt

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sheetcrm import cells, demo
from sheetcrm.config import EXAMPLE, Config, TabSettings
from sheetcrm.i18n import N_, _, current, every_locale, in_locale, normalize
from sheetcrm.ids import read_sequences
from sheetcrm.owned import owned_title
from sheetcrm.plan import tab_writes
from sheetcrm.schema import OWNED_TABS, SEQUENCES, TABS, WORKFLOWS, TabSpec, find_tab, tab_names
from sheetcrm.validate import read_crm, tab_stand_in, team_config, titles_language
from sheetcrm.workbook import CellWrite, Grid, Plan, Snapshot, Workbook, WorkbookError, WriteResult


@dataclass(frozen=True)
class StandIn:
    """A CRM tab init did not add (`tab`, its key `key`) because the team's tab `like` is likely it."""

    tab: str
    like: str
    key: str


def plan_missing_tabs(snapshot: Snapshot, config: Config) -> tuple[Plan, list[str], list[StandIn]]:
    """New tabs, with headers, for every CRM tab the workbook lacks, and the header row in every
    CRM tab that is there but holds no cell at all (a tab holding anything is not touched:
    its header, if it has one, is the team's), whose titles come second. Without it such a
    tab fails validate's `missing_column` for ever, and init said nothing.
    A tab the workbook lacks while another is likely it (`validate.tab_stand_in`: a "Clientes"
    headed as Accounts, an "Oportunidad") is not added but returned third: an empty Cuentas
    beside Clientes silenced the `missing_tab` warning that named Clientes, and every deal's
    Account then named no account, with no word of the tab that holds them."""
    plan, headed, stand_ins = Plan(), [], []
    titles = list(snapshot.tabs)
    for key, spec in TABS.items():
        settings = config.tab(key)
        if (found := find_tab(titles, tab_names(spec, settings.title))) is not None:
            grid = snapshot.tabs[found]
            if _holds_nothing(grid):
                headed.append(found)
                # held: a header a person types there meanwhile is theirs, never written over.
                plan.writes.extend(CellWrite(found, 1, c, name, held=(None, ""))
                                   for c, name in enumerate(_headers(spec, settings, config.locale), start=1))
            continue
        title = settings.title or spec.display_title(config.locale)
        if (like := tab_stand_in(snapshot, config, key)[0]) is not None:
            stand_ins.append(StandIn(title, like, key))
            continue
        plan.new_tabs.append(title)
        plan.writes.extend(tab_writes(title, None, [_headers(spec, settings, config.locale)]))
    if find_tab(titles, tab_names(WORKFLOWS, None)) is None:
        # The team's rules: headers and one example, inactive until a person says yes.
        locale = config.locale
        title = WORKFLOWS.display_title(locale)
        plan.new_tabs.append(title)
        headers = [*WORKFLOWS.headers(locale), *(c.display(locale) for c in WORKFLOWS.computed)]
        plan.writes.extend(tab_writes(title, None, [headers, example_rule(locale)]))
    return plan, headed, stand_ins


def _headers(spec: TabSpec, settings: TabSettings, locale: str) -> list[str]:
    """The header row init writes: the team's names from sheetcrm.toml (`headers` renames,
    `custom_fields`), else the built-in ones. With the built-in ones alone, the config's Amount
    = "Deal size" was headed Amount, and every declared custom field was a
    `custom_field_missing` warning on the workbook init had just made."""
    headers = [settings.headers.get(c.header) or name for c, name in zip(spec.columns, spec.headers(locale))]
    have = {cells.normalize_key(h) for h in headers}
    return [*headers, *(name for name in settings.custom_fields if cells.normalize_key(name) not in have)]


def _holds_nothing(grid: Grid) -> bool:
    """Whether a tab has no cell at all: no value, formula, error or merged block."""
    return not (grid.formulas or grid.errors or grid.merges) and \
        all(v is None or v == "" for row in grid.rows for v in row)


def example_rule(locale: str) -> list[str | int | None]:
    """The Workflows tab's example (crm/workflows.py reads it in either language): a follow-up
    task three days after a deal enters Proposal, switched off."""
    if locale == "es":
        return ["WF-0001", "Seguimiento de propuesta", "no", "oportunidad", "entra en Propuesta", "", "crear tarea",  # not for people: sample data
                "Seguimiento: {{ Nombre }}", 3, None, None, None, None]  # not for people: sample data
    return ["WF-0001", "Proposal follow-up", "no", "opportunity", "enters Proposal", "", "create task",  # not for people: sample data
            "Follow up: {{ Name }}", 3, None, None, None, None]  # not for people: sample data


# An existing workbook reads by its own tabs while the config sets no locale (README, rules 3-5):
# an active `locale` would settle every column the tabs leave open, so a Spanish team's
# 03/04/2027 would turn into 4 March with its ambiguous_date warning gone.
KEPT_LOCALE = N_("# Left unset: this workbook has CRM tabs already, and while locale is unset each tab's own\n"
                 "# language (here \"{language}\") decides how its dates and numbers read, and every one it\n"
                 "# cannot be sure of is reported. Setting locale settles them all one way.")
KEPT_CURRENCY = N_("# Left unset (USD): nothing in the workbook says its currency. Set it to the one its\n"
                   "# amounts are in.")
# Said only when it is true: a Spanish team's "5.000 €" read "nothing in the workbook says its
# currency", and left as USD its totals wait for an EUR rate.
NAMED_CURRENCY = N_("# Left unset (USD), but the workbook's amounts name {currencies}. Set it to the one its\n"
                    "# amounts are in.")


# A new workbook's currency: a Spanish team's file read USD unsaid, so every total of its euros
# or pesos was called dollars. The environment's region says it when it can (es_ES: EUR,
# es_MX: MXN); else the file and init say USD was not chosen by anyone.
REGION_CURRENCY = N_("# {currency}: the currency of {region}, the region of your locale. Set it to the one your\n"
                     "# amounts are in.")
UNSAID_CURRENCY = N_("# USD: your locale names no region, so nothing said your currency. Set it to the one your\n"
                     "# amounts are in.")


# A new workbook's locale is the environment's language, but `locale` also settles how every
# date and number a column leaves open reads: en_GB's 03/04/2026 (3 April) read as 4 March,
# es_MX's 2,500 (two thousand five hundred) as 2.5, unsaid. Where the environment's region
# writes them otherwise than that language, the file leaves locale unset: such cells are then
# reported at their cells with both readings.
LOOSE_LOCALE = N_("# Left unset: your locale {name} writes dates and numbers as ({theirs}), not as\n"
                  "# locale = \"{locale}\" reads them ({ours}). Set, it would read every date and number a column\n"
                  "# leaves open its way, unsaid; unset, each one that reads both ways is reported at its cell\n"
                  "# (dates written year first, 2026-04-03, never are).")
# The same where the environment names no language sheetcrm speaks (LANG=C, a server's or a
# container's, or fr_FR): "en" is then no one's choice, only the fallback for the words, and set
# it read a team's 03/04/2027 as 4 March with no warning.
UNNAMED_LOCALE = N_("# Left unset: your environment's locale names neither English nor Spanish, so nothing says\n"
                    "# how your team writes dates and numbers (03/04/2026: 3 April or 4 March?). Set, locale would\n"
                    "# read every one a column leaves open its way, unsaid; unset, each one that reads both ways\n"
                    "# is reported at its cell (dates written year first, 2026-04-03, never are).")
UNNAMED_LOCALE_SAID = N_("{file}: locale left unset: your environment's locale names neither English nor Spanish, so "
                         "nothing says how your team writes dates and numbers; each one that reads both ways is "
                         "reported at its cell")
LOOSE_LOCALE_SAID = N_("{file}: locale left unset: {name} writes dates and numbers as ({theirs}), not as "
                       "locale \"{locale}\" reads them ({ours}); each one that reads both ways is reported at its "
                       "cell")


def region_writes_otherwise(locale: str, region: str | None) -> tuple[str, str, str] | None:
    """When people of `region` write dates or numbers otherwise than `locale` ("en"/"es") reads
    them: (their locale's name, how it writes them, how `locale` reads them), e.g. ("en_GB",
    "3/12/2026, 1,234.5", "12/3/2026, 1,234.5"); else None (no region, or one that agrees)."""
    if not region:
        return None
    language = normalize(locale)
    name = f"{language}_{region}"
    order, separator = cells.typed_order(name), cells.typed_separator(name)
    if order in (None, language) and separator in (None, language):
        return None
    return name, _written_as(order or language, separator or language), _written_as(language, language)


def _written_as(order: str, separator: str) -> str:
    date = "3/12/2026" if order == "es" else "12/3/2026"
    number = "1.234,5" if separator == "es" else "1,234.5"
    return f"{date}, {number}"


def team_currency(region: str | None) -> str | None:
    """The currency of `region` (an ISO territory: "ES" -> "EUR"), None when it names none."""
    if not region:
        return None
    from babel.numbers import get_territory_currencies

    try:
        found = get_territory_currencies(region, tender=True)
    except Exception:  # babel raises several kinds for a territory it does not know
        return None
    return found[0] if found else None


def example_config(workbook: str | None = None, spreadsheet: str | None = None,
                   credentials: str | None = None, language: str | None = None, locale: str = "en",
                   currencies: Sequence[str] = (), region: str | None = None, named: bool = True) -> str:
    """The example sheetcrm.toml, pointing at the workbook `init` was given (a path relative to
    the folder the file is written in, or a spreadsheet ID or URL), so the next command finds it.
    `language`: the language ("en"/"es") of the CRM tabs the workbook holds already, None for a
    new one; then `locale` and `currency` are left commented out, so the file changes nothing in
    how the workbook reads. `locale` ("en"/"es"): the team's language for a new workbook, set
    active (the text itself is in the current language). `currencies`: the ISO codes the
    workbook's amounts and Currency cells name, most named first (`named_currencies`): the
    commented-out `currency` then offers the first. `region`: the environment's territory
    ("ES"), which sets a new workbook's currency (`team_currency`). `named`: whether the
    environment names `locale` (`i18n.environment_names_language`); if not, `locale` is left
    unset, as where the region writes otherwise."""
    text = _stages_left_unset(_(EXAMPLE))
    if language is None:
        currency = team_currency(region)
        if currency:
            said = _(REGION_CURRENCY, currency=currency, region=region)
            text = _swap(text, 'currency = "USD"', f"{said}\ncurrency = {_toml_string(currency)}")
        else:
            text = _swap(text, 'currency = "USD"', f'{_(UNSAID_CURRENCY)}\ncurrency = "USD"')
    loose = region_writes_otherwise(locale, region) if language is None else None
    if loose is not None:
        name, theirs, ours = loose
        said = _(LOOSE_LOCALE, name=name, theirs=theirs, ours=ours, locale=normalize(locale))
        text = _swap(text, 'locale = "en"', f"{said}\n# locale = {_toml_string(normalize(locale))}")
    elif language is None and not named:
        text = _swap(text, 'locale = "en"', f"{_(UNNAMED_LOCALE)}\n# locale = {_toml_string(normalize(locale))}")
    elif language is None and normalize(locale) != "en":
        # A Spanish team's file read "en": every command after init spoke English, and read
        # its 1.234,50 and 03/04 the English way.
        text = _swap(text, 'locale = "en"', f"locale = {_toml_string(normalize(locale))}")
    if language is not None:
        text = _swap(text, 'locale = "en"', f"{_(KEPT_LOCALE, language=language)}\n# locale = {_toml_string(language)}")
        if currencies:
            said = _(NAMED_CURRENCY, currencies=", ".join(currencies))
            text = _swap(text, 'currency = "USD"', f"{said}\n# currency = {_toml_string(currencies[0])}")
        else:
            text = _swap(text, 'currency = "USD"', f'{_(KEPT_CURRENCY)}\n# currency = "USD"')
    # The example names neither (a file naming both is a config mistake): the one init was given.
    if spreadsheet:
        text = _swap(text, '# spreadsheet = "1AbC...xyz"', f"spreadsheet = {_toml_string(spreadsheet)}")
    else:
        text = _swap(text, '# workbook = "crm.xlsx"', f"workbook = {_toml_string(workbook or 'crm.xlsx')}")
    if credentials:
        text = _swap(text, '# credentials = "service-account.json"', f"credentials = {_toml_string(credentials)}")
    return text


# The example's [[stages]] are the built-in ones: written active, their English names would be
# what the Pipeline, the Forecast and the histories show (a name the file sets is its own word),
# not the Prospección and Ganada the team types. Left unset they read the same words.
STAGES_UNSET = N_("# Left commented: these are the built-in stages, which read both the English and the Spanish\n"
                  "# words, and the tabs show each stage as your team types it. Uncomment the block to change\n"
                  "# them; a name set here is what the tabs show.")


def _stages_left_unset(text: str) -> str:
    """`text` with its [[stages]] tables commented out (each line of them prefixed "# ") under
    STAGES_UNSET: from the first `[[stages]]` line to the last `aliases` line of the last table."""
    lines = text.split("\n")
    first = lines.index("[[stages]]")
    last_table = len(lines) - 1 - lines[::-1].index("[[stages]]")
    end = next(i for i in range(last_table, len(lines)) if lines[i].startswith("aliases ="))
    block = [f"# {line}" if line else line for line in lines[first:end + 1]]
    return "\n".join([*lines[:first], *_(STAGES_UNSET).split("\n"), *block, *lines[end + 1:]])


def _swap(text: str, line: str, new: str) -> str:
    assert f"\n{line}" in text, line  # the example's own lines; a test fails if they change
    return text.replace(f"\n{line}", f"\n{new}", 1)


def _toml_string(value: str) -> str:
    # A JSON string is a TOML basic string: the same quotes and escapes (\", \\, \uXXXX).
    return json.dumps(value, ensure_ascii=False)


def existing_tabs(book: Workbook) -> Snapshot | None:
    """The workbook as it is, or None when it does not exist yet."""
    return book.read() if book.exists() else None


def crm_language(snapshot: Snapshot | None, config: Config) -> str | None:
    """The language of the CRM tabs `snapshot` holds ("en"/"es", by their titles), or None when
    it holds none: a new workbook, or one of other tabs only."""
    if snapshot is None:
        return None
    titles = list(snapshot.tabs)
    if all(find_tab(titles, tab_names(spec, config.tab(key).title)) is None for key, spec in TABS.items()):
        return None
    # Titles that say nothing (Leads alone): the language the file would set, the current one.
    return titles_language(snapshot) or current()


def named_currencies(snapshot: Snapshot | None, config: Config) -> list[str]:
    """The ISO codes (["EUR", "USD"]) the workbook's amount cells ("5.000 €", "8000 EUR", a
    currency number format) and Currency cells name, the most named first (a tie: the first
    named); [] for a new workbook or one whose amounts name none. A symbol several currencies
    share ("$", "kr") names none: it is read by the base currency."""
    if snapshot is None:
        return []
    crm = read_crm(snapshot, team_config(snapshot, config))
    named: Counter[str] = Counter()
    for table in crm.tables.values():
        for record in table.records:
            currency = getattr(record, "currency", None)
            if isinstance(currency, str):
                named[currency] += 1
            for priced in (record.priced or {}).values():
                if priced.currency and priced.symbol is None:
                    named[priced.currency] += 1
    return [code for code, _n in named.most_common()]


def init_workbook(book: Workbook, config: Config,
                  snapshot: Snapshot | None = None) -> tuple[WriteResult, list[str], list[StandIn]]:
    """Add the CRM tabs the workbook lacks (creating it if need be), and the header row to each
    CRM tab that holds no cell at all; `snapshot`: the workbook as `existing_tabs` read it, else
    it is read here. The tabs are named and headed in the config's `locale` when the file sets
    one, else in the language of the tabs already there. Returns the write's result and the
    titles of the empty tabs given a header row, and the tabs not added (`plan_missing_tabs`)."""
    if snapshot is None:
        snapshot = existing_tabs(book)
    snapshot = snapshot if snapshot is not None else Snapshot()
    plan, headed, stand_ins = plan_missing_tabs(snapshot, team_config(snapshot, config))
    if not book.exists():
        book.create()
    return (book.write(plan) if plan else WriteResult()), headed, stand_ins


# The demo's own mark: a row of sheetcrm's `_sheetcrm` tab (Key, Value), which syncs keep.
# Only a workbook holding it may be replaced by `demo --force`; a person can delete the row
# to protect a workbook that grew out of a demo.
# Written in the demo's language; found in any (`i18n.every_locale`).
DEMO_KEY = N_("created by sheetcrm demo")

NOT_EMPTY = N_("{what} is not empty and was not created by `sheetcrm demo`; the demo writes only to a new or empty "
               "workbook: pass another --workbook path or --spreadsheet")
NOT_A_DEMO = N_("{what} was not created by `sheetcrm demo` (its _sheetcrm tab has no \"{key}\" row); --force "
                "replaces only a workbook the demo created: pass another --workbook path or --spreadsheet")
NO_OWN_TAB = N_("{what} was not created by `sheetcrm demo` (it has no _sheetcrm tab); --force replaces only a "
                "workbook the demo created: pass another --workbook path or --spreadsheet")
ALREADY_A_DEMO = N_("{what} already holds a demo CRM; pass --force to replace it")
# A spreadsheet cannot be replaced whole through the seam, and clearing it tab by tab is not
# the demo's business.
FORCE_FILE_ONLY = N_("{what} already holds a demo CRM; --force replaces only a demo .xlsx file: use a new empty "
                     "spreadsheet")


def demo_config(config: Config, data: demo.DemoData) -> Config:
    """The config the demo's own sync runs with: the team's, plus the demo's web form
    (`[forms.web]` over its responses tab) unless the team's config has a form of that name or
    one reading that tab (two forms over one tab would handle each response twice)."""
    taken = {cells.normalize_key(f.tab) for f in config.forms.values()}
    own = {name: f for name, f in data.forms.items() if cells.normalize_key(f.tab) not in taken}
    return config.model_copy(update={"forms": {**own, **config.forms}})


def seal_demo_quote(book: Workbook, config: Config) -> None:
    """Make the demo's sent quote (OUT-0001, written by `demo.generate` before the quote could
    be priced) the row `sheetcrm quote --queue` would have queued: its Version the quote's
    version in the settled workbook, and its Seal. `outbox resend OUT-0001` then sends it
    again; with a made-up version, `outbox send` failed it as a changed quote. Guarded by the
    cells read, so a row a person edited meanwhile is left as it is. `config`: the demo's sync's."""
    from sheetcrm.mail import outbox as ob
    from sheetcrm.mail.context import find_opportunity, with_text

    desk = ob.Desk.read(book.read(), config)
    row = desk.outbox.find(f"OUT-{1:04d}")
    opportunity = find_opportunity(desk.crm, row.text("opportunity")) if row is not None else None
    if row is None or opportunity is None:
        return
    result = desk.quote(opportunity)
    if result.quote is None:
        return
    charged = desk.version(result)
    version = with_text(charged, ob.rendered_mark(desk, desk.templates, result, charged))
    cols = desk.outbox.columns
    expect = row.guard(cols, "version", "seal", "quote")
    values = {"version": version, "seal": ob.seal(row.text("id"), opportunity.id or "", row.text("quote"), version)}
    book.write(Plan(writes=[CellWrite(desk.outbox.title, row.row, cols[k], v, expect=expect) for k, v in values.items()]))


def is_demo(snapshot: Snapshot) -> bool:
    """Whether the workbook carries the demo's mark (the DEMO_KEY row in sheetcrm's own tab)."""
    title = owned_title(snapshot, SEQUENCES)
    if title is None:
        return False
    marks = read_sequences(snapshot.tabs[title])
    return any(key in marks for key in every_locale(DEMO_KEY))


def is_blank(snapshot: Snapshot) -> bool:
    return not any(not cells.is_blank(v) for grid in snapshot.tabs.values() for row in grid.rows for v in row)


def write_demo(book: Workbook, rows: int, seed: int, today: dt.date, force: bool = False,
               locale: str | None = None, currency: str = "USD") -> demo.DemoData:
    """Write the demo CRM to a new or empty workbook, or with `force` over a demo .xlsx file
    the demo made before. Anything else is refused (WorkbookError), so a team's workbook is
    never touched, whatever the config points at. `locale` ("en"/"es", else the current
    language: a command runs in its config's) decides the tabs', headers' and values' language."""
    locale = normalize(locale or current())
    if book.exists():
        snapshot = book.read()
        if is_demo(snapshot):
            path = getattr(book, "path", None)
            if path is None:
                raise WorkbookError(_(FORCE_FILE_ONLY, what=book.describe()))
            if not force:
                raise WorkbookError(_(ALREADY_A_DEMO, what=book.describe()))
            Path(path).unlink()
            book.create()
        elif not is_blank(snapshot):
            # The missing tab, not a missing row of it, is what a workbook without one lacks.
            refusal = NOT_EMPTY if not force else NOT_A_DEMO if owned_title(snapshot, SEQUENCES) else NO_OWN_TAB
            raise WorkbookError(_(refusal, what=book.describe(), key=_(DEMO_KEY)))
    else:
        book.create()
    data = demo.generate(rows=rows, seed=seed, today=today, locale=locale, currency=currency)
    tabs = {**data.tabs, SEQUENCES.display_title(locale): [SEQUENCES.display_headers(locale), [in_locale(locale, DEMO_KEY), seed]]}
    plan = Plan(new_tabs=list(tabs))
    for title, table in tabs.items():
        plan.writes.extend(tab_writes(title, None, table))
    # The demo's copies of sheetcrm's own tabs (Stage History, _sheetcrm) carry its mark.
    plan.mark_owned = [title for title in tabs if title in {t.display_title(locale) for t in OWNED_TABS.values()}]
    book.write(plan)
    return data
