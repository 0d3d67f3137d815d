"""What the results look like in cells: computed columns, summary tabs, charts.

Money goes out as numbers rounded half up to its currency's smallest unit (the cent, the fils
of KWD, the yen: `crm.money.minor`), so charts and the team's own formulas can use it and the
currency format shows every digit; percentages as fractions rounded to a tenth of a percent (0.625 is 62.5 %), which the
cell's percent format shows as "62.5%" (`sheetcrm.layout` declares the formats).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sheetcrm import names
from sheetcrm.crm import HistoryRow, MonthForecast, OpportunityMetrics
from sheetcrm.crm.cases import CASE_KPIS, PRIORITY_WORDS, CaseMetrics
from sheetcrm.crm.forecast import overdue_said, owner_label, without_quota_said, zero_quota_said
from sheetcrm.crm.kpis import KPIS, conversion_label, coverage_said
from sheetcrm.crm.money import left_out_said, minor
from sheetcrm.crm.scoring import LeadScore, method_name
from sheetcrm.engine import Results
from sheetcrm.i18n import _, current, in_locale, ngettext
from sheetcrm.schema import FORECAST, PIPELINE
from sheetcrm.validate import KPI_TABS, unread_in
from sheetcrm.workbook import Chart

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
PERMILLE = Decimal("0.001")


def money(v: Decimal | None, currency: str | None) -> Decimal | None:
    """An amount in `currency` as its cell holds it (`crm.money.minor`); None: unknown, to the cent."""
    return None if v is None else minor(v, currency)


def multiple(v: Decimal | None) -> Decimal | None:
    return None if v is None else v.quantize(CENT, rounding=ROUND_HALF_UP)


def points(v: Decimal | None) -> Decimal | None:
    return None if v is None else v.quantize(TENTH, rounding=ROUND_HALF_UP)


def fraction(v: Decimal | float | None) -> Decimal | None:
    """A percentage in points (62.5) as the fraction a percent-formatted cell holds (0.625),
    rounded to a tenth of a percent, half up."""
    return None if v is None else (Decimal(str(v)) / 100).quantize(PERMILLE, rounding=ROUND_HALF_UP)


def opportunity_columns(m: OpportunityMetrics, locale: str, currency: str | None) -> dict[str, Any]:
    """A deal's computed cells; `currency`: the deal's own (its Currency cell, else the base),
    which its Weighted Amount is in."""
    return {
        "probability_pct": fraction(m.probability),
        "weighted_amount": money(m.weighted_amount, currency),
        "forecast_category": m.forecast_category,
        "days_in_stage": m.days_in_stage,
        "last_activity": m.last_activity,
        "rotting": names.word("yes", locale) if m.rotting else None,
        "next_step": m.next_step,
    }


def lead_columns(score: LeadScore | None) -> dict[str, Any]:
    if score is None:
        return {}
    return {"score": score.score, "grade": score.grade, "conversion_pct": fraction(score.conversion_pct), "why": score.why}


def case_columns(m: CaseMetrics, locale: str) -> dict[str, Any]:
    """A case's computed cells (Age, SLA Due, SLA Breached, First Response)."""
    return {"age": m.age_days, "sla_due": m.sla_due, "first_response": m.first_response,
            "sla_breached": names.word("yes", locale) if m.breached else None}


def case_rows(results: Results) -> list[list[Any]]:
    """The Dashboard's case KPIs (crm/cases.py), none when the workbook has no Cases tab."""
    if results.cases is None:
        return []
    s = results.cases.summary

    def row(key: str, kind: str, value: Any, name: str | None = None) -> Row:
        label, definition = CASE_KPIS[key]
        return Row(kind, [_(label, name=name) if name is not None else _(label), value, _(definition)])

    rows: list[list[Any]] = [row("open_cases", COUNT, n, in_locale(current(), PRIORITY_WORDS[p]))
                             for p, n in s.open_by_priority.items()]
    rows.append(row("avg_first_response_days", DAYS, s.avg_first_response_days))
    rows.append(row("avg_resolution_days", DAYS, s.avg_resolution_days))
    rows.append(row("sla_met", RATIO, fraction(s.sla_met)))
    rows.extend(row("cases_by_account", COUNT, n, account) for account, n in s.by_account)
    return rows


def history_body(rows: list[HistoryRow], with_amount: bool) -> list[list[Any]]:
    # Each amount as held: a new row's is the deal's in the base currency (`money.to_base`: a
    # converted one already to the base's smallest unit, a typed one as typed), an older row's as
    # the tab has it. Rounded to the cent here, 500.125 KWD was logged as 500.13.
    return [[r.record_id, r.from_value, r.to_value, r.changed_at, *([r.amount] if with_amount else [])]
            for r in rows]


def pipeline_body(results: Results) -> list[list[Any]]:
    cur = results.currency
    return [[line.stage, line.count, money(line.amount, cur), money(line.weighted, cur)] for line in results.pipeline]


def _month_row(owner: str, m: MonthForecast, cur: str) -> list[Any]:
    return [m.month, owner, money(m.pipeline, cur), money(m.weighted, cur), money(m.commit, cur),
            money(m.best_case, cur), money(m.closed_won, cur), money(m.quota, cur), fraction(m.attainment)]


def forecast_body(results: Results, locale: str) -> list[list[Any]]:
    """The team's months first (the chart reads them), then each owner's, then calibration, then
    (below a blank row) how many slipped deals the first month holds, as `forecast` says it: a
    first month larger than its deals' Close Dates show is explained where it is read."""
    fc = results.forecast
    cur = results.currency
    rows = [_month_row(names.word("team", locale), m, cur) for m in fc.months]
    for owner in sorted(fc.by_owner):
        rows.extend(_month_row(owner_label(owner), m, cur) for m in fc.by_owner[owner])
    rows.append([])
    rows.append(list(names.calibration_header(locale)))
    rows.extend([c.stage, fraction(c.configured), fraction(c.historical), c.n] for c in fc.stage_calibration)
    notes = [overdue_said(fc.overdue)] if fc.overdue else []
    notes.extend(said for m in fc.months if (said := without_quota_said(m, cur)) is not None)
    notes.extend(said for said in (zero_quota_said(fc),) if said is not None)
    notes.extend(said for _currency, said in left_out_said(fc.missing_rates, cur))
    if notes:
        rows.append([])
        rows.extend([note] for note in notes)
    return rows


LIFETIME_ROWS = 20  # accounts by lifetime value on the Dashboard; `kpis --format json` has them all

# The kind of each Dashboard value: how its cell shows it (sheetcrm.steps.formats reads it).
MONEY, RATIO, COUNT, DAYS, MULTIPLE, DATE, TEXT = "money", "ratio", "count", "days", "multiple", "date", "text"


class Row(list):
    """A Dashboard row, [label, value, definition], that knows its value's kind."""

    def __init__(self, kind: str, cells: list[Any]) -> None:
        super().__init__(cells)
        self.kind = kind


def kinds(body: list[list[Any]]) -> list[str]:
    """The kind of each row's value in a `dashboard_body` (TEXT for a row that says none)."""
    return [getattr(row, "kind", TEXT) for row in body]


def _kpi(key: str, value: Any, kind: str, name: str | None = None) -> Row:
    label, definition = KPIS[key]
    return Row(kind, [_(label, name=name) if name is not None else _(label), value, _(definition)])


def dashboard_body(results: Results, locale: str, quotas: str | None = None) -> list[list[Any]]:
    """[label, value, definition] per KPI, in the current language (sync runs `i18n.using`);
    `quotas`: the Quotas tab's title as the workbook has it (default: the language's)."""
    k = results.kpis
    team = k.team
    cur = results.currency
    coverage = _kpi("pipeline_coverage", multiple(k.pipeline_coverage), MULTIPLE)
    # Beside the figure, as the `kpis` command says it: a multiple over last quarter's revenue
    # reads as one over the quota, and a blank says neither "won already" nor "nothing to divide by".
    if (said := coverage_said(k, quotas or names.tab_title("quotas", locale))) is not None:
        coverage[2] = f"{coverage[2]} {said}."
    rows: list[list[Any]] = [
        Row(DATE, [_("Date"), results.as_of, _("The date this sync computed for.")]),
        [_("Currency"), results.currency, _("Every amount on this tab is in this currency.")],
        # Above the figures: a 0 made without the tab's Amount column reads as the truth otherwise.
        *([u.label(), u.header_es if locale == "es" else u.header, u.message()]
          for u in unread_in(results.unread, KPI_TABS)),
        # Above the figures too: a blank money cell is explained where it is read.
        *([_("Missing exchange rate"), currency, said] for currency, said in left_out_said(k.missing_rates, cur)),
        _kpi("win_rate", fraction(team.win_rate), RATIO),
        _kpi("won_revenue", money(team.won_revenue, cur), MONEY),
        _kpi("won_count", team.won_count, COUNT),
        _kpi("lost_count", team.lost_count, COUNT),
        _kpi("avg_won_amount", money(team.avg_won_amount, cur), MONEY),
        _kpi("avg_sales_cycle_days", points(team.avg_sales_cycle_days), DAYS),
        _kpi("open_pipeline", money(team.open_pipeline, cur), MONEY),
        _kpi("weighted_pipeline", money(team.weighted_pipeline, cur), MONEY),
        coverage,
        _kpi("rotting_deals", k.rotting_deals, COUNT),
        _kpi("churn_rate", fraction(k.churn_rate), RATIO),
        [_("Lead scoring"), method_name(results.scoring.method), results.scoring.note],
    ]
    for key, which, table in (("lead_conversion_by_source", "source", k.lead_conversion_by_source),
                              ("lead_conversion_by_campaign", "campaign", k.lead_conversion_by_campaign)):
        for name, conv in sorted(table.items()):
            rows.append(_kpi(key, fraction(conv.rate), RATIO, conversion_label(name, which)))
    if k.days_to_convert is not None:  # only once sheetcrm has converted a lead
        rows.append(_kpi("days_to_convert", points(k.days_to_convert), DAYS))
    for name, amount in sorted(k.won_revenue_by_campaign.items()):
        rows.append(_kpi("won_revenue_by_campaign", money(amount, cur), MONEY, name))
    for owner, (week, month) in sorted(k.activities_by_owner.items()):
        rows.append(_kpi("activities_by_owner", week, COUNT, owner_label(owner)))
        rows.append(_kpi("activities_30d_by_owner", month, COUNT, owner_label(owner)))
    for owner, n in sorted(k.overdue_tasks_by_owner.items()):
        rows.append(_kpi("overdue_tasks_by_owner", n, COUNT, owner_label(owner)))
    for key, kpis in sorted(k.by_owner.items()):
        owner = owner_label(key)
        rows.append(Row(RATIO, [_("Win rate, {name}", name=owner), fraction(kpis.win_rate), _(KPIS["win_rate"][1])]))
        rows.append(Row(MONEY, [_("Won revenue, {name}", name=owner), money(kpis.won_revenue, cur), _(KPIS["won_revenue"][1])]))
        rows.append(Row(MONEY, [_("Weighted pipeline, {name}", name=owner), money(kpis.weighted_pipeline, cur),
                                _(KPIS["weighted_pipeline"][1])]))
    # An account whose value is blank (a won deal with no rate) first: it may be the largest.
    ranked = sorted(k.lifetime_value.items(), key=lambda kv: (kv[1] is not None, -(kv[1] or 0), kv[0]))
    for account, amount in ranked[:LIFETIME_ROWS]:
        rows.append(_kpi("lifetime_value", money(amount, cur), MONEY, account))
    if len(ranked) > LIFETIME_ROWS:
        # Said, as `sheetcrm kpis` says it: 20 accounts with no word read as every account won from.
        more = len(ranked) - LIFETIME_ROWS
        rows.append(Row(COUNT, [_("Lifetime value, accounts not listed"), more, ngettext(
            "{n} more account with won deals is not listed above: this tab lists the {shown} with the most won "
            "revenue; `sheetcrm kpis --format json` lists every one.",
            "{n} more accounts with won deals are not listed above: this tab lists the {shown} with the most won "
            "revenue; `sheetcrm kpis --format json` lists every one.", more, shown=LIFETIME_ROWS)]))
    rows.extend(case_rows(results))
    return rows


def workflow_rows(fired: Any) -> list[list[Any]]:
    """The Dashboard's count of firings per workflow rule (steps/workflows.Fired), all time."""
    if fired is None:
        return []
    rows: list[list[Any]] = []
    for rule, n in sorted(fired.counts.items()):
        name = " ".join(p for p in (rule, fired.names.get(rule, "")) if p)
        rows.append(Row(COUNT, [_("Workflow firings, {name}", name=name), n,
                                _("How many times this workflow rule acted, per the Workflow Log.")]))
    return rows


def charts(results: Results, pipeline_title: str, forecast_title: str, locale: str) -> list[Chart]:
    n_stages = len(results.pipeline)
    n_months = len(results.forecast.months)
    pipeline_headers = PIPELINE.display_headers(locale)
    return [
        Chart(pipeline_title, f"{pipeline_headers[2]} / {pipeline_headers[0]}", "column", first_row=2,
              last_row=n_stages + 1, domain_col=1, series_cols=(3, 4), anchor_col=6),
        Chart(forecast_title, f"{FORECAST.display_title(locale)} {names.word('team', locale)}", "column", first_row=2,
              last_row=n_months + 1, domain_col=1, series_cols=(3, 4, 5, 6, 7), anchor_col=11),
    ]
