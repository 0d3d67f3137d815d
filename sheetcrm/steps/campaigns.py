"""The Campaigns tab's computed columns: what each campaign brought and what it cost, in the base
currency (`crm.campaigns`; docs/campaigns.md), and the campaign ROI chart beside them.

A workbook without a Campaigns tab plans nothing here: its Campaign cells stay free text. Each
figure that needs a rate the Rates tab lacks is left empty, with a warning at its row."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sheetcrm.cells import show_number
from sheetcrm.crm.campaigns import Figures, Missing, campaign_figures
from sheetcrm.crm.money import Rates, rates_tab
from sheetcrm.crm.stages import StageTable
from sheetcrm.i18n import N_, _, current, listed, ngettext
from sheetcrm.names import tab_title
from sheetcrm.records import Lead
from sheetcrm.render import money
from sheetcrm.report import Issue, column_letter
from sheetcrm.steps.compute import COLUMN_NOT_FOUND
from sheetcrm.steps.computed_columns import plan_computed
from sheetcrm.steps.context import StepResult, SyncContext
from sheetcrm.table import Table
from sheetcrm.validate import amounts_unread, deals_unread, unread_columns
from sheetcrm.workbook import Chart

PERMILLE = Decimal("0.001")
_LISTED = 5  # won deals a warning names; the rest counted
# The chart's title, in the sync's language; backends add a chart once per title.
CHART_TITLE = N_("Campaign ROI")


def run(ctx: SyncContext) -> StepResult:
    part = StepResult()
    table = ctx.crm.tables.get("campaigns")
    if table is None:
        return part
    inputs = ctx.crm.inputs
    assert inputs is not None  # the read reads them
    unread = [*ctx.crm.tabs_not_found, *unread_columns(ctx.crm.tables)]
    figures = campaign_figures(table.records, ctx.crm.records("leads"), ctx.crm.records("opportunities"),
                               StageTable.of(ctx.config.stages), inputs.rates, inputs.conversions.converted_ids(),
                               inputs.conversions.from_lead.get("opportunities", {}),
                               [r.target for r in table.rows if r.record is None and r.target is not None],
                               _unsound_leads(ctx), deals_read=not deals_unread(unread),
                               amounts_read=not amounts_unread(unread))
    by_row = {row: columns(f, inputs.rates.base) for row, f in figures.by_row.items()}
    part.plan.writes.extend(plan_computed(ctx, table, by_row, part))
    part.issues.extend(_issue(table, group, inputs.rates, ctx.locale) for group in _grouped(figures.missing))
    part.issues.extend(_unread_issue(table, unread, ctx.locale))
    return part


DEAL_FIGURES = ("opportunities", "won_deals", "won_revenue", "cost_per_won_deal", "roi")
AMOUNT_FIGURES = ("won_revenue", "roi")


def _unread_issue(table: Table, unread: list, locale: str) -> list[Issue]:
    """The Campaigns tab's own line when its deal figures are left empty for want of the
    Opportunities tab, a column it requires or its Amount: the Dashboard says it above its
    figures, the Campaigns tab said nothing, and its empty Won Revenue read as not computed yet.
    At the header of its first empty figure, once, under the code the Forecast's and the Accounts
    Overview's lines have (`steps.compute.column_issues`)."""
    why = next((u for u in unread if u.key == "opportunities" and u.required), None)
    keys = DEAL_FIGURES
    if why is None:
        why = next((u for u in unread if u.key == "opportunities" and u.field == "amount"), None)
        keys = AMOUNT_FIGURES
    if why is None:
        return []
    shown = {k.key: k.display(locale) for k in table.spec.computed}
    figures = ", ".join(shown[k] for k in keys)
    col = table.header.computed.get(keys[0])
    name = why.header_es if locale == "es" else why.header
    if why.field is None:
        message = _('There is no "{tab}" tab, so this tab\'s {figures} are left empty: nothing is known of the '
                    "campaigns' deals.", tab=why.tab, figures=figures)
    else:
        message = _('No column "{name}" was found in {tab}, so this tab\'s {figures} are left empty: nothing is '
                    "known of the campaigns' deals.", name=name, tab=why.tab, figures=figures)
    return [Issue("warning", table.title, table.header.row, column_letter(col + 1) if col is not None else None,
                  shown[keys[0]] if col is not None else None, name, COLUMN_NOT_FOUND, message, why.hint())]


def _grouped(missing: list[Missing]) -> list[list[Missing]]:
    """`missing` as one group per campaign, currency and what carries it (its won deals, or its
    Actual Cost), in the order first met: a campaign with 40 won deals in a currency with no
    rate is one warning at its row naming them, as the Dashboard says one per currency."""
    groups: dict[tuple[int, str, bool], list[Missing]] = {}
    for m in missing:
        groups.setdefault((id(m.campaign), m.currency, m.deal is None), []).append(m)
    return list(groups.values())


def _unsound_leads(ctx: SyncContext) -> list[Lead]:
    """The leads whose rows have errors but whose Campaign cell reads: a bad cell elsewhere on a
    converted lead (its Amount "abc") took its sound won deal out of the campaign's Won Revenue,
    and an ROI of −100 % looked exact."""
    table = ctx.crm.tables.get("leads")
    return [r.target for r in table.rows if r.record is None and isinstance(r.target, Lead)
            and "campaign" not in r.unread] if table is not None else []


def columns(f: Figures, base: str) -> dict[str, Any]:
    """A campaign's computed cells: money to the smallest unit of the base currency `base`, ROI a
    fraction to a tenth of a percent."""
    return {
        "leads": f.leads, "converted_leads": f.converted_leads, "opportunities": f.opportunities,
        "won_deals": f.won_deals, "won_revenue": money(f.won_revenue, base),
        "cost_per_lead": money(f.cost_per_lead, base), "cost_per_won_deal": money(f.cost_per_won_deal, base),
        "roi": None if f.roi is None else f.roi.quantize(PERMILLE, rounding=ROUND_HALF_UP),
    }


def _issue(table: Table, group: list[Missing], rates: Rates, locale: str) -> Issue:
    m = group[0]
    c, base = m.campaign, rates.base
    hint = _("Add {currency} to the {rates} tab with how many {base} one {currency} is worth.",
             currency=m.currency, rates=rates_tab(rates), base=base)
    if (doubt := rates.doubt(m.currency)) is not None:
        # There is a rate, but it may mean another: "No exchange rate" would send them to add one.
        col = table.header.computed.get("won_revenue") if m.deal is not None else table.header.fields.get("actual_cost")
        label = table.header.labels.get(col) if m.deal is None and col is not None else next(
            k.display(locale) for k in table.spec.computed if k.key == "won_revenue") if col is not None else None
        return Issue("warning", table.title, c.row, column_letter(col + 1) if col is not None else None, label,
                     m.currency, "missing_rate",
                     _("The rate for {currency} on the {rates} tab may mean something else ({doubt}), so the figures "
                       "of this campaign that need it are left empty.", currency=m.currency,
                       rates=rates_tab(rates), doubt=doubt.message.rstrip(".")),
                     doubt.hint if doubt in rates.doubts.get(base, ()) else  # the base's own row: correct that one
                     _("Write the rate for {currency} on the {rates} tab so that it reads one way.",
                       currency=m.currency, rates=rates_tab(rates)))
    if m.deal is None:
        col = table.header.fields.get("actual_cost")
        label = table.header.labels.get(col) if col is not None else None
        message = _("No exchange rate for {currency}: the Actual Cost {amount} {currency} cannot be put in {base}, "
                    "so Cost per Lead, Cost per Won Deal and ROI are left empty.",
                    currency=m.currency, amount=show_number(c.actual_cost), base=base)  # type: ignore[arg-type]
    else:
        col = table.header.computed.get("won_revenue")
        label = next(k.display(locale) for k in table.spec.computed if k.key == "won_revenue")
        message = ngettext("No exchange rate for {currency}: the won deal {deal} cannot be put in {base}, so Won "
                           "Revenue and ROI are left empty.",
                           "No exchange rate for {currency}: {n} won deals ({deal}) cannot be put in {base}, so Won "
                           "Revenue and ROI are left empty.", len(group), currency=m.currency, base=base,
                           deal=listed([g.deal or "" for g in group], _LISTED))
    return Issue("warning", table.title, c.row, column_letter(col + 1) if col is not None else None,
                 label if col is not None else None, m.currency, "missing_rate", message, hint)


def roi_chart(table: Table | None, locale: str) -> Chart | None:
    """A column chart of each campaign's ROI, on the Campaigns tab to the right of its columns:
    categories the Name column, the series the ROI column, over the tab's rows as this sync
    reads them (backends draw a chart once, by title, and move the one they drew to these rows
    with a write: a campaign added later joins it). None without the two columns."""
    if table is None or not table.rows:
        return None
    name, roi = table.header.fields.get("name"), table.header.computed.get("roi")
    if name is None or roi is None:
        return None
    last = max([table.header.width - 1, *table.header.fields.values(), *table.header.custom.values(),
                *table.header.computed.values()])
    return Chart(table.title, _(CHART_TITLE), "column", first_row=table.header.row + 1,
                 last_row=max(r.row for r in table.rows), domain_col=name + 1, series_cols=(roi + 1,),
                 anchor_col=last + 3)
