"""The compute step of a sync: records in, everything the CRM knows out. Pure; `as_of` is given.

It takes the read (`validate.read_crm`: the CRM tabs' records, and the Rates, Quotas and
history tabs already typed in `crm.inputs`), runs the engine in `sheetcrm.crm` with the
settings values it needs, and returns one `Results` value that the renderer turns into cells.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterable

from sheetcrm import cells, names
from sheetcrm.config import Config
from sheetcrm.crm import (Forecast, HistoryRow, Kpis, OpportunityMetrics, Rates, RelatedIndex, StageTable,
                          compute_kpis, forecast, missing_rate_issues, opportunity_metrics,
                          logged_before_created, record_changes, stage_entered, stage_win_rates, to_base)
from sheetcrm.crm.conditions import Doubt, Money, doubt_said
from sheetcrm.crm.money import plus, weighted as weighted_amount
from sheetcrm.crm.cases import (CLOSED, CaseInput, CaseMetrics, CaseSummary, case_metrics, first_responses,
                                resolved_before_opened, summarize)
from sheetcrm.crm.learned import FitCache
from sheetcrm.crm.rules import PLAIN, NoRate, Reading, RuleDoubt, rule_said, show
from sheetcrm.crm.scoring import LeadScore, ScoringResult, score_leads
from sheetcrm.crm.spellings import Spellings
from sheetcrm.crm.stages import (CATEGORIES, configured_probability, contradicts_stage, forecast_category, in_pipeline,
                                  is_plan)
from sheetcrm.crm.words import CATEGORY, LEAD_STATUS, STAGE, Words, team_words
from sheetcrm.i18n import _, current, ngettext
from sheetcrm.parse_cache import fields_of
from sheetcrm.records import LEAD_STATUSES, Lead, Opportunity, lead_status_choices
from sheetcrm.report import Issue, column_letter
from sheetcrm.schema import STAGE_HISTORY
from sheetcrm.validate import (Crm, UnreadColumn, UnreadTab, amounts_unread, deals_unread, parse_context,
                               unread_columns)
from sheetcrm.warehouse.keep import ARCHIVE_ID, ARCHIVED, Archive, calibrated, id_spellings


@dataclass(frozen=True)
class StageLine:
    """One row of the Pipeline tab: a stage's deals, in the base currency (None: a deal of the
    stage has no exchange rate)."""

    stage: str
    count: int
    amount: Decimal | None
    weighted: Decimal | None


@dataclass
class CaseResults:
    """Each sound case's metrics by its sheet row, and the Dashboard's case KPIs."""

    by_row: dict[int, CaseMetrics]
    summary: CaseSummary


@dataclass
class Results:
    as_of: dt.date
    currency: str
    opportunities: list[Opportunity]
    metrics: list[OpportunityMetrics]
    scoring: ScoringResult
    forecast: Forecast
    kpis: Kpis
    pipeline: list[StageLine]
    stage_history: list[HistoryRow]           # everything, old rows first, as the tab will hold it
    lead_history: list[HistoryRow]
    warnings: list[Issue] = field(default_factory=list)
    # The team's word for each stage, status and category (`crm.words`): what cells say.
    words: Words = field(default_factory=Words)
    # The Cases tab's metrics and KPIs (crm/cases.py), when the workbook has one.
    cases: "CaseResults | None" = None
    # The sheet gave Stage History rows up to the warehouse (keep_months) and this sync could not
    # read them all back: the calibration covers only the rows the sheet holds (warehouse.keep).
    calibration_partial: bool = False
    # The stage words of the archived rows that no configured stage or alias reads (a stage
    # renamed without an alias for its old name): those rows are not in the calibration.
    calibration_unknown: tuple[str, ...] = ()
    # The warehouse holds this many more rows given up by this workbook than this copy of it
    # gave up (an older copy, restored from a backup): the calibration counts the sheet's rows only.
    calibration_beyond: int = 0
    # The columns the figures are made of that the read tabs lack (Amount typed "Importte"), and
    # first the tabs misnamed ("Opportunity"): every place that shows the figures says so, never
    # a 0 taken as the truth.
    unread: list[UnreadColumn | UnreadTab] = field(default_factory=list)

    def score(self, lead: Lead) -> LeadScore | None:
        return self.scoring.scores.get(lead.id) if lead.id else None

    def in_team_words(self) -> "Results":
        """These results as the cells show them: the stages of the Pipeline and of the Forecast's
        calibration, and each deal's forecast category, in the team's words (history rows have
        theirs already). The engine's own comparisons keep the canonical keys, so only what is
        written goes through this."""
        w = self.words
        fc = self.forecast
        return dataclasses.replace(
            self,
            metrics=[dataclasses.replace(m, forecast_category=w(CATEGORY, m.forecast_category)) for m in self.metrics],
            pipeline=[dataclasses.replace(line, stage=w(STAGE, line.stage)) for line in self.pipeline],
            forecast=dataclasses.replace(fc, stage_calibration=[
                dataclasses.replace(c, stage=w(STAGE, c.stage)) for c in fc.stage_calibration]),
        )


Remember = Callable[[str, Any, Callable[[], Any]], Any]


def _now(name: str, inputs: Any, compute: Callable[[], Any]) -> Any:
    return compute()


def compute(crm: Crm, config: Config, as_of: dt.date, fit_cache: FitCache | None = None,
            archive: Archive | None = None, remember: Remember = _now) -> Results:
    """Everything the engine knows of `crm` (a `validate.read_crm` result) on `as_of`;
    `fit_cache` spares refitting an unchanged lead history (`crm.learned.FitCache`).
    `archive`: what the warehouse holds of the history the sheet gave up (`warehouse.keep`,
    read by the sync shell); the calibration counts those rows too, as if the sheet held them.
    `remember(name, inputs, compute)` may return the last sync's result of the same inputs
    (`SyncContext.remember`): the lead scores, when the leads, activities and settings are the
    last sync's. The results are the same either way."""
    assert crm.inputs is not None  # read_crm reads them
    stages = StageTable.of(config.stages)
    opportunities: list[Opportunity] = crm.records("opportunities")
    leads: list[Lead] = crm.records("leads")
    activities = crm.records("activities")
    tasks = crm.records("tasks")

    rates, quotas, unread_quotas = crm.inputs.rates, crm.inputs.quotas, crm.inputs.unread_quotas
    words = words_of(crm, config)
    old_stages, old_leads = crm.inputs.stage_history, crm.inputs.lead_history
    stage_history = old_stages + record_changes(old_stages, history_states(crm, "opportunities", rates), as_of,
                                                 words, STAGE, history_created(crm, "opportunities"))
    lead_history = old_leads + record_changes(old_leads, history_states(crm, "leads"), as_of, words, LEAD_STATUS,
                                              history_created(crm, "leads"))

    related = RelatedIndex.build(activities, tasks, crm.records("contacts"), as_of=as_of)
    created = {o.id: o.created for o in opportunities if o.id}
    # A Stage History with a column deleted is not read (`inputs.history_gone`): when each deal
    # entered its stage is then unknown, never counted from Created.
    metrics = opportunity_metrics(opportunities, stages, as_of, stage_entered=stage_entered(stage_history, created),
                                  history_unread=STAGE_HISTORY.key in crm.inputs.history_gone,
                                  related=related, category_overrides=_category_overrides(opportunities))
    marks = crm.inputs.sequences
    kept = calibrated(old_stages, stage_history, archive, marks.get(ARCHIVED, 0), marks.get(ARCHIVE_ID, 0),
                      parse_context(config).stages if archive is not None else None,
                      id_spellings(crm.tables).get("stage_history") if archive is not None else None)
    calibration = stage_win_rates(kept.rows, stages, history_created(crm, "opportunities"), as_of)
    # One spelling per owner on the Forecast and the Dashboard alike (crm.spellings).
    owners = Spellings([*(o.owner for o in opportunities), *(a.owner for a in activities),
                        *(t.owner for t in tasks), *(q.owner for q in quotas), *(u.owner for u in unread_quotas)])
    unread = [*crm.tabs_not_found, *unread_columns(crm.tables)]
    amounts_read = not amounts_unread(unread)
    fc = forecast(opportunities, metrics, stages, rates, as_of, quotas=quotas, calibration=calibration,
                  months=config.forecast_months, owners=owners, unread_quotas=unread_quotas,
                  amounts_read=amounts_read)
    kpis = compute_kpis(opportunities, metrics, stages, rates, as_of, leads=leads, accounts=crm.records("accounts"),
                        activities=activities, tasks=tasks, quotas=quotas, unread_quotas=unread_quotas,
                        conversions=crm.inputs.conversions.converted_ids(), owners=owners,
                        fiscal_year_start=config.fiscal_year_start, amounts_read=amounts_read,
                        deals_read=not deals_unread(unread))
    leads_tab = crm.tables.get("leads")
    reading = leads_reading(crm)
    # The custom columns the Leads tab reads as percentages (the learned reasons show "15%", not
    # "15") and as money (the model reads "8.000 €" and "$5,000" both in the base currency).
    percent, money = leads_typed(crm, "percent"), leads_typed(crm, "money")
    # A rule on the Status compares the status its word names: a [lead_statuses] word's too.
    statuses = lead_status_choices(config.lead_statuses)
    scoring = remember("lead_scores", (fields_of(leads), fields_of(activities), config.scoring.model_dump(mode="json"),
                                       as_of, current(), reading, percent, money,
                                       (rates.base, sorted(rates.per_unit.items()))
                                       if money or any(r.lead_field == "amount" for r in config.scoring.rules) else None,
                                       config.lead_statuses),
                       lambda: score_leads(leads, activities, config.scoring, as_of, cache=fit_cache, reading=reading,
                                           percent=percent, money=money, rates=rates, statuses=statuses))
    table = crm.tables.get("opportunities")
    title = table.title if table is not None else names.CRM_TABS["opportunities"]
    amount_col = table.header.fields.get("amount") if table is not None else None
    amount_at = ((column_letter(amount_col + 1), table.header.labels.get(amount_col))  # type: ignore[union-attr]
                 if amount_col is not None else (None, None))
    return Results(
        as_of=as_of, currency=config.currency, opportunities=opportunities, metrics=metrics,
        scoring=scoring, forecast=fc, kpis=kpis,
        pipeline=_pipeline(opportunities, metrics, stages, rates), stage_history=stage_history,
        lead_history=lead_history, words=words,
        warnings=[*missing_rate_issues(opportunities, rates, title, *amount_at,
                                       base_unset="currency" not in config.model_fields_set),
                  *_closed_before_created(opportunities, stages, table), *_undecided_rules(scoring.doubts, leads_tab, rates),
                  *_rules_without_column(config, leads_tab),
                  *_contradicting_overrides(opportunities, stages, table, words),
                  *_logged_before_created(crm, "opportunities", stage_history, as_of, config.locale),
                  *_logged_before_created(crm, "leads", lead_history, as_of, config.locale)],
        cases=case_results(crm, config, as_of) if "cases" in crm.tables else None,
        unread=unread,
        calibration_partial=kept.partial, calibration_beyond=kept.beyond, calibration_unknown=kept.unknown,
    )


def leads_reading(crm: Crm) -> Reading:
    """How the Leads tab reads a text cell as a number or a date (its locale, and whether the
    config set it), for the scoring rules as for conditions: on a sync and in `score --evaluate`."""
    leads_tab = crm.tables.get("leads")
    return (leads_tab.header.locale, leads_tab.header.locale_set) if leads_tab is not None else PLAIN


def leads_typed(crm: Crm, kind: str) -> list[str]:
    """The Leads tab's own columns of type `kind` ("money", "percent"), declared or inferred
    from their cells (`columns.infer_kind`), by header."""
    leads_tab = crm.tables.get("leads")
    return sorted(name for name, typed in leads_tab.header.types.items() if typed == kind) if leads_tab else []


def _closed_before_created(opportunities: list[Opportunity], stages: StageTable, table: Any) -> list[Issue]:
    """A warning at the Close Date of each won deal closed before it was created: a typo, left
    out of the average sales cycle (crm.kpis), which a reader would otherwise never learn."""
    col = table.header.fields.get("close_date") if table is not None else None
    at = (column_letter(col + 1), table.header.labels.get(col)) if col is not None else (None, None)
    return [Issue("warning", table.title, o.row, *at, o.close_date, "close_before_created",
                  _("This won deal's Close Date {close} is before its Created {created}, so it is left out of the "
                    "average sales cycle.", close=o.close_date, created=o.created),
                  _("Correct Close Date or Created."))
            for o in opportunities
            if o.close_date and o.created and o.close_date < o.created and stages.kind(o.stage) == "won"]


def _undecided_rules(doubts: Iterable[RuleDoubt], table: Any, rates: Rates) -> list[Issue]:
    """A warning at each Leads cell that left scoring rules undecided (`RuleDoubt`: a text cell
    that reads two ways as the number or date an `equals` or `in` rule compares, or an amount
    with no rate to the base currency), naming every such rule, in the words a workflow
    condition's doubt has (`conditions.doubt_said`): the read's code (ambiguous_number…, or
    missing_rate, ambiguous_currency), and the rules gave the lead no points."""
    if table is None:
        return []
    customs = {cells.normalize_key(h): col for h, col in table.header.custom.items()}
    found: dict[tuple[int, int | None], tuple[RuleDoubt, list[str]]] = {}
    for d in doubts:
        col = (table.header.fields.get(d.field) if d.field is not None
               else customs.get(cells.normalize_key(d.rule.column)))
        # Its figures as the reasons write them, in the sync's language ("in (3000; 2500,5)" in Spanish).
        rule = rule_said(d.rule)
        entry = found.setdefault((d.row, col), (d, []))
        named = _("the scoring rule {rule}", rule=cells.quoted(rule))
        if named not in entry[1]:
            entry[1].append(named)
    out = []
    for (row, col), (d, rules) in found.items():
        header = table.header.labels.get(col, d.rule.column) if col is not None else d.rule.column
        problem = d.problem
        if isinstance(problem, NoRate):
            money = Money(problem.amount, problem.currency, problem.unsure)
            code, message, hint = doubt_said(Doubt((None, header), money, None), rules, header, rates)
            # The amount with the currency it is in, as a workflow condition's warning shows it.
            raw: Any = f"{show(problem.amount)} {problem.unsure or problem.currency or rates.base}"
        else:
            code, message, hint = doubt_said(Doubt((None, header), None, None, problem), rules, header, None)
            raw = problem.raw
        out.append(Issue("warning", table.title, row, column_letter(col + 1) if col is not None else None, header,
                         raw, code, message, hint))
    return out


RULE_COLUMN_MISSING = "rule_column_missing"


def _rules_without_column(config: Config, table: Any) -> list[Issue]:
    """A `rule_column_missing` warning at the Leads header for each standard column the team's
    scoring rules read and the tab has not got (renamed "Lead Origin", deleted): each such rule
    gives no lead its points, and every score would be that much lower than the team wrote it
    with no word. Not for the default rules, which a team did not write: a tab without a Phone
    column is no mistake. A declared custom column the tab lacks is `custom_field_missing`."""
    if table is None or "rules" not in config.scoring.model_fields_set:
        return []
    wanted: dict[str, list[str]] = {}
    for rule in config.scoring.rules:
        if rule.lead_field is not None and rule.lead_field not in table.header.fields:
            said = cells.quoted(rule_said(rule))
            if said not in (named := wanted.setdefault(rule.lead_field, [])):
                named.append(said)
    if not wanted:
        return []
    columns = {c.field: c for c in table.spec.columns}
    renamed = config.tab("leads").headers
    headers = ", ".join(f'"{h}"' for h in list(table.header.custom)[:6]) or "-"
    out = []
    for field_name, rules in wanted.items():
        column = columns[field_name]
        here, there = (column.header_es, column.header) if current() == "es" else (column.header, column.header_es)
        name, other = (renamed[column.header], here) if column.header in renamed else (here, there)
        out.append(Issue("warning", table.title, table.header.row, None, name, None, RULE_COLUMN_MISSING,
                         ngettext('There is no column "{name}", so the scoring rule {rules} gives no lead its points.',
                                  'There is no column "{name}", so the scoring rules {rules} give no lead their '
                                  'points.', len(rules), name=name, rules=", ".join(rules)),
                         _('If one of your columns is it, head it "{name}" (or "{other}"); if not, take the rule out '
                           'of [scoring] rules in sheetcrm.toml. Columns read as your own: {headers}.', name=name,
                           other=other, headers=headers)))
    return out


OVERRIDE_CONTRADICTS_STAGE = "override_contradicts_stage"


def _contradicting_overrides(opportunities: list[Opportunity], stages: StageTable, table: Any,
                             words: Words) -> list[Issue]:
    """An `override_contradicts_stage` warning at each override the deal's stage rules out, which
    the metrics do not apply (crm.stages.forecast_category): a Category Override of Closed on an
    open deal, any other than Closed on a won deal or Omitted on a lost one; a Probability on a
    closed deal other than its stage's 100 or 0. Applied, the first would count an open deal as
    closed business, the others put a lost deal in Commit; ignored unsaid, the cell would look
    obeyed."""
    if table is None:
        return []

    def at(name: str) -> tuple[str | None, str | None]:
        col = table.header.fields.get(name)
        return (column_letter(col + 1), table.header.labels.get(col)) if col is not None else (None, None)

    category_col, category_header = at("category_override")
    probability_col, probability_header = at("probability")
    out: list[Issue] = []
    for o in opportunities:
        stage = stages.get(o.stage)
        if stage is None:
            continue
        shown_stage = words(STAGE, stage.name)
        if contradicts_stage(stage, o.category_override):
            override = words(CATEGORY, o.category_override)
            if stage.kind == "open":
                message = _("Category Override {override} says this deal is closed, but its stage {stage} is open: "
                            "the override is not applied, and the deal is forecast in its stage's category, "
                            "{category}.", override=override, stage=shown_stage,
                            category=words(CATEGORY, stage.forecast_category))
                hint = _("If the deal has closed, move it to a won or lost stage; otherwise clear Category Override "
                         "or choose an open category.")
            else:
                message = _("This deal's stage {stage} is closed, so its forecast category is {category}: the "
                            "Category Override {override} is not applied.", stage=shown_stage, override=override,
                            category=words(CATEGORY, forecast_category(stage, None)))
                hint = _("Clear Category Override: a closed deal is no longer forecast.")
            out.append(Issue("warning", table.title, o.row, category_col, category_header, override,
                             OVERRIDE_CONTRADICTS_STAGE, message, hint))
        fixed = configured_probability(stage)
        if stage.kind != "open" and o.probability is not None and o.probability != fixed:
            out.append(Issue("warning", table.title, o.row, probability_col, probability_header, o.probability,
                             OVERRIDE_CONTRADICTS_STAGE,
                             _("This deal's stage {stage} is closed, so its probability is {fixed} %: the Probability "
                               "{value} % is not applied.", stage=shown_stage, fixed=_points(fixed),
                               value=_points(o.probability)),
                             _("Clear Probability: a closed deal is no longer a bet.")))
    return out


def _points(value: Decimal) -> str:
    # 50 for Decimal("50.00"), 12.5 for 12.50: a percentage as a person typed it.
    return format(value.normalize(), "f")


def case_results(crm: Crm, config: Config, as_of: dt.date) -> CaseResults:
    """The cases' metrics (crm/cases.py): a case's first response is the earliest activity
    whose Related names it, dated on or before `as_of` (a future-dated one is a plan, not an
    answer: crm.stages.is_plan), not before the case's Opened day and not after a closed case's
    Resolved day (a follow-up: crm.cases.first_responses)."""
    opened = {c.id: c.opened for c in crm.records("cases") if c.id}
    resolved = {c.id: c.resolved.date() for c in crm.records("cases")
                if c.id and c.status in CLOSED and c.resolved is not None}
    responses = first_responses(((a.related, a.date) for a in crm.records("activities")
                                 if not is_plan(a.date, as_of)), opened, resolved)
    settings = config.cases
    clock = settings.clock(config.zone_name())
    cases, rows = [], []
    names_: dict[str, str | None] = {}  # an Account cell -> the account as the Dashboard lists it
    # An Account that names no account row (no Accounts tab) is a label, grouped as read (crm.spellings).
    labels = Spellings(c.account for c in crm.records("cases"))

    def account_name(text: str | None) -> str | None:
        # Its name; "Name (ID)" when another account has that name, so two accounts' cases are
        # never counted as one (crm.accounts). A name two accounts share names neither: the read
        # warned at the cell, and the case counts under no account.
        if text is not None and text not in names_:
            found = crm.find("accounts", text)
            row = found[0] if len(found) == 1 else None
            name = row.target.name if row is not None and row.target is not None else None
            if name is None:
                names_[text] = labels(text) if len(found) < 2 else None  # no account, or one without a readable name
            elif row.id and len(crm.find("accounts", name)) > 1:  # type: ignore[union-attr]
                names_[text] = _("{name} ({id})", name=name, id=row.id)  # type: ignore[union-attr]
            else:
                names_[text] = name
        return names_[text] if text is not None else None

    for c in crm.records("cases"):
        case = CaseInput(c.id, account_name(c.account), c.priority, c.status, c.opened, c.resolved,
                         responses.get(c.id) if c.id else None)
        if resolved_before_opened(case):
            continue  # reported at its Resolved cell (steps/cases.py): no SLA is measured from it
        cases.append(case)
        rows.append(c.row)
    metrics = [case_metrics(c, settings, as_of, clock) for c in cases]
    return CaseResults(dict(zip(rows, metrics)), summarize(cases, metrics, settings.top_accounts,
                                                               config.zone_name()))


# The columns whose cells say how the team spells a configured value: kind -> (tab, field).
_SPELLED_IN = {STAGE: ("opportunities", "stage"), LEAD_STATUS: ("leads", "status"),
               CATEGORY: ("opportunities", "category_override")}


def words_of(crm: Crm, config: Config) -> Words:
    """The team's word for each stage, lead status and forecast category (`crm.words.team_words`):
    the config's stage names when the file sets them, else the spelling the team's own column
    uses most for the value (a sound record's cell beside the key it was read as), else the
    default's name in `config.locale`."""
    seen: dict[str, list[tuple[str, str]]] = {}
    for kind, (tab, name) in _SPELLED_IN.items():
        table = crm.tables.get(tab)
        col = table.header.fields.get(name) if table else None
        pairs = seen[kind] = []
        if table is None or col is None:
            continue
        for row in table.rows:
            key = getattr(row.record, name, None) if row.record is not None else None
            raw = row.cells[col] if col < len(row.cells) else None
            if key and isinstance(raw, str):
                pairs.append((key, cells.canonical_text(raw)))
    keys = {STAGE: [s.name for s in config.stages], LEAD_STATUS: list(LEAD_STATUSES),
            CATEGORY: list(dict.fromkeys(CATEGORIES))}
    explicit = {STAGE: keys[STAGE]} if "stages" in config.model_fields_set else {}
    return team_words(config.locale, keys, seen, explicit)


def history_states(crm: Crm, key: str, rates: Rates | None = None) -> dict[str, tuple[str, Decimal | None]]:
    """What the history of tab `key` ("opportunities": stages, "leads": statuses) logs this sync:
    ID -> (canonical stage or status, for deals the amount in the base currency at `rates`), in
    sheet order (`crm.history.opportunity_states`, `lead_states`).

    A row with a bad cell is in it too: its stage changed on the day it did, whatever else is
    wrong with it (an Amount "1000 abc", an unknown Account), and logged only once fixed it would
    be dated that later day, its Days in Stage and rotting counted from it. It takes what of it
    reads (`Row.readable`): a row whose Stage (Status) cannot be read is not logged, its last
    logged stage standing; one whose Amount or Currency cannot be read is logged with an empty
    Amount, as for a currency with no rate, never the amount guessed. A row whose ID another
    row of the tab has too is not: which row is that record cannot be told."""
    table = crm.tables.get(key)
    if table is None:
        return {}
    count: dict[str, int] = defaultdict(int)
    for row in table.rows:
        if row.id:
            count[crm.keys[row.id]] += 1
    states: dict[str, tuple[str, Decimal | None]] = {}
    deals = key == "opportunities"
    for row in table.rows:
        record = row.readable
        if record is None or not row.id:
            continue
        if row.record is None and count[crm.keys[row.id]] > 1:
            continue
        value = record.stage if deals else record.status  # type: ignore[attr-defined]
        if not value:
            continue
        amount = None
        if deals and not ({"amount", "currency"} & row.unread):
            amount = record.amount if rates is None else to_base(record.amount, record.currency, rates)  # type: ignore[attr-defined]
        states[row.id] = (value, amount)
    return states


def history_created(crm: Crm, key: str) -> dict[str, dt.date | None]:
    """Each record's Created in tab `key`, as `history_states` reads the rows (a bad cell
    elsewhere on the row does not hide it): ID -> day (`crm.history.logged_before_created`)."""
    table = crm.tables.get(key)
    if table is None:
        return {}
    out: dict[str, dt.date | None] = {}
    for row in table.rows:
        record = row.readable
        if record is not None and row.id:
            out[row.id] = getattr(record, "created", None)
    return out


def _logged_before_created(crm: Crm, key: str, history: list[HistoryRow], as_of: dt.date,
                           locale: str) -> list[Issue]:
    """A warning at the ID of each record whose history begins before its Created
    (`crm.history.logged_before_created`): the rows before are another record's under the same
    ID (a deleted row's ID typed again for a new one), or Created is wrong; sheetcrm cannot tell
    which, and reads them as another record's throughout (changes, Days in Stage, win rates)."""
    table = crm.tables.get(key)
    col = table.header.fields.get("id") if table is not None else None
    early = logged_before_created(history, history_created(crm, key), as_of) if col is not None else {}
    if not early:
        return []
    assert table is not None and col is not None
    at = (column_letter(col + 1), table.header.labels.get(col))
    log = cells.quoted(names.tab_title("stage_history" if key == "opportunities" else "lead_history", locale))
    rows = {row.id: row.row for row in table.rows if row.id}
    deals = key == "opportunities"
    return [Issue("warning", table.title, rows[record_id], *at, record_id, "history_before_created",
                  _("{log} holds rows of {record} since {day}, before its Created: they are another deal's under "
                    "the same ID, or Created is wrong. Its Days in Stage counts from Created, a change from "
                    "their last stage is logged with an empty From, and the historical win rates count them as "
                    "another deal's.", log=log, record=record_id, day=day.isoformat()) if deals else
                  _("{log} holds rows of {record} since {day}, before its Created: they are another lead's under "
                    "the same ID, or Created is wrong. A change from their last status is logged with an empty "
                    "From.", log=log, record=record_id, day=day.isoformat()),
                  _("If this is a new record, clear its ID (the next sync gives it one of its own) and delete "
                    "the rows of {record} in {log} dated from its Created on; if Created is wrong, correct it.",
                    record=record_id, log=log))
            for record_id, day in early.items() if record_id in rows]


def _category_overrides(opportunities: Iterable[Opportunity]) -> dict[str, str]:
    return {o.id: o.category_override for o in opportunities if o.id and o.category_override}


def _pipeline(opportunities: list[Opportunity], metrics: list[OpportunityMetrics], stages: StageTable,
              rates: Rates) -> list[StageLine]:
    count: dict[str, int] = defaultdict(int)
    amount: dict[str, Decimal | None] = defaultdict(Decimal)
    weighted: dict[str, Decimal | None] = defaultdict(Decimal)
    for o, m in zip(opportunities, metrics):
        if stages.kind(o.stage) == "open" and not in_pipeline(stages.get(o.stage), m.forecast_category):
            continue  # Omitted: out of every pipeline figure, as the Pipeline tab's note names it (steps/compute.py)
        count[o.stage] += 1
        if o.amount is None:
            continue  # no amount yet: a deal of the stage, adding nothing to its sums
        # No rate: the stage's sums are unknown (blank), never short of it; its missing_rate
        # warning says why (README "Pipeline").
        base = to_base(o.amount, o.currency, rates)
        amount[o.stage] = plus(amount[o.stage], base)
        weighted[o.stage] = plus(weighted[o.stage], weighted_amount(base, m.probability, rates.base))
    return [StageLine(s.name, count[s.name], amount[s.name], weighted[s.name]) for s in stages.stages]
