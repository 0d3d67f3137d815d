"""What the results look like in cells: computed columns, summary tabs, charts.

Money goes out as numbers rounded to the cent (so charts and the team's own formulas can use
it); percentages as points (62.5 means 62.5 %).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sheetcrm import names
from sheetcrm.crm import DEFINITIONS, HistoryRow, MonthForecast, OpportunityMetrics
from sheetcrm.crm.scoring import LeadScore
from sheetcrm.engine import Results
from sheetcrm.schema import FORECAST, PIPELINE
from sheetcrm.workbook import Chart

CENT = Decimal("0.01")
TENTH = Decimal("0.1")


def money(v: Decimal | None) -> Decimal | None:
    return None if v is None else v.quantize(CENT, rounding=ROUND_HALF_UP)


def points(v: Decimal | None) -> Decimal | None:
    return None if v is None else v.quantize(TENTH, rounding=ROUND_HALF_UP)


def opportunity_columns(m: OpportunityMetrics, locale: str) -> dict[str, Any]:
    return {
        "probability_pct": points(m.probability),
        "weighted_amount": money(m.weighted_amount),
        "forecast_category": m.forecast_category,
        "days_in_stage": m.days_in_stage,
        "last_activity": m.last_activity,
        "rotting": names.word("yes", locale) if m.rotting else None,
        "next_step": m.next_step,
    }


def lead_columns(score: LeadScore | None) -> dict[str, Any]:
    if score is None:
        return {}
    return {"score": score.score, "grade": score.grade, "conversion_pct": score.conversion_pct, "why": score.why}


def history_body(rows: list[HistoryRow], with_amount: bool) -> list[list[Any]]:
    return [[r.record_id, r.from_value, r.to_value, r.changed_at, *([money(r.amount)] if with_amount else [])]
            for r in rows]


def pipeline_body(results: Results) -> list[list[Any]]:
    return [[line.stage, line.count, money(line.amount), money(line.weighted)] for line in results.pipeline]


def _month_row(owner: str, m: MonthForecast) -> list[Any]:
    return [m.month, owner, money(m.pipeline), money(m.weighted), money(m.commit), money(m.best_case),
            money(m.closed_won), money(m.quota), points(m.attainment)]


def forecast_body(results: Results, locale: str) -> list[list[Any]]:
    """The team's months first (the chart reads them), then each owner's, then calibration."""
    fc = results.forecast
    rows = [_month_row(names.word("team", locale), m) for m in fc.months]
    for owner in sorted(fc.by_owner):
        rows.extend(_month_row(owner, m) for m in fc.by_owner[owner])
    rows.append([])
    rows.append(list(names.CALIBRATION_HEADER["es" if locale == "es" else "en"]))
    rows.extend([c.stage, points(c.configured), points(c.historical), c.n] for c in fc.stage_calibration)
    return rows


def dashboard_body(results: Results, locale: str) -> list[list[Any]]:
    k = results.kpis
    team = k.team
    rows: list[list[Any]] = [
        ["as_of", results.as_of, names.word("dashboard.as_of", locale)],
        ["currency", results.currency, names.word("dashboard.currency", locale)],
        ["win_rate", points(team.win_rate), DEFINITIONS["win_rate"]],
        ["won_revenue", money(team.won_revenue), DEFINITIONS["won_revenue"]],
        ["won_count", team.won_count, DEFINITIONS["won_count"]],
        ["lost_count", team.lost_count, DEFINITIONS["lost_count"]],
        ["avg_won_amount", money(team.avg_won_amount), DEFINITIONS["avg_won_amount"]],
        ["avg_sales_cycle_days", points(team.avg_sales_cycle_days), DEFINITIONS["avg_sales_cycle_days"]],
        ["open_pipeline", money(team.open_pipeline), DEFINITIONS["open_pipeline"]],
        ["weighted_pipeline", money(team.weighted_pipeline), DEFINITIONS["weighted_pipeline"]],
        ["pipeline_coverage", money(k.pipeline_coverage), DEFINITIONS["pipeline_coverage"]],
        ["rotting_deals", k.rotting_deals, DEFINITIONS["rotting_deals"]],
        ["churn_rate", points(k.churn_rate), DEFINITIONS["churn_rate"]],
        ["lead_scoring", results.scoring.method, results.scoring.note],
    ]
    for name, table in (("lead_conversion_by_source", k.lead_conversion_by_source),
                        ("lead_conversion_by_campaign", k.lead_conversion_by_campaign)):
        for key, conv in sorted(table.items()):
            rows.append([f"{name}: {key}", points(conv.rate), DEFINITIONS[name]])
    for key, amount in sorted(k.won_revenue_by_campaign.items()):
        rows.append([f"won_revenue_by_campaign: {key}", money(amount), DEFINITIONS["won_revenue_by_campaign"]])
    for owner, (week, month) in sorted(k.activities_by_owner.items()):
        rows.append([f"activities_7d: {owner}", week, DEFINITIONS["activities_by_owner"]])
        rows.append([f"activities_30d: {owner}", month, DEFINITIONS["activities_by_owner"]])
    for owner, n in sorted(k.overdue_tasks_by_owner.items()):
        rows.append([f"overdue_tasks: {owner}", n, DEFINITIONS["overdue_tasks_by_owner"]])
    for owner, kpis in sorted(k.by_owner.items()):
        rows.append([f"win_rate: {owner}", points(kpis.win_rate), DEFINITIONS["win_rate"]])
        rows.append([f"won_revenue: {owner}", money(kpis.won_revenue), DEFINITIONS["won_revenue"]])
        rows.append([f"weighted_pipeline: {owner}", money(kpis.weighted_pipeline), DEFINITIONS["weighted_pipeline"]])
    top = sorted(k.lifetime_value.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    for account, amount in top:
        rows.append([f"lifetime_value: {account}", money(amount), DEFINITIONS["lifetime_value"]])
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
