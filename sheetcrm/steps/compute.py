"""The engine over the records: histories, per-opportunity metrics, lead scores, forecast, KPIs.

Plans nothing itself: the steps after it turn `ctx.results` into cells. Its warnings (an
amount with no exchange rate, a deal the forecast places in no month, the open deals every
pipeline figure leaves out as Omitted, an override the deal's stage rules out, a converted lead
whose Company names two accounts) join the report before the Validation tab is planned.
"""

from __future__ import annotations

from sheetcrm import cells
from sheetcrm.crm.forecast import month_key
from sheetcrm.crm.stages import BEST_CASE, COMMIT, OMITTED, PIPELINE, StageTable, in_pipeline
from sheetcrm.crm.words import CATEGORY
from sheetcrm.engine import compute
from sheetcrm.i18n import _, current, ngettext
from sheetcrm.names import CRM_TABS
from sheetcrm.owned import locate
from sheetcrm.report import Issue, column_letter
from sheetcrm.schema import (DASHBOARD, FORECAST, OVERVIEW, PIPELINE as PIPELINE_TAB, QUOTAS, find_tab,
                             owned_tab_names)
from sheetcrm.steps.context import StepResult, SyncContext
from sheetcrm.validate import FORECAST_TABS, OVERVIEW_TABS, rows_listed, unread_in
from sheetcrm.warehouse.keep import ARCHIVED

CALIBRATION_PARTIAL = "calibration_partial"
CALIBRATION_UNKNOWN_STAGE = "calibration_unknown_stage"
CALIBRATION_OLDER_COPY = "calibration_older_copy"
NO_CLOSE_DATE = "no_close_date"
QUOTA_UNREAD = "quota_unread"
QUOTA_PARTIAL = "quota_partial"
CREATED_AFTER_SYNC = "created_after_sync"
CONVERTED_AFTER_SYNC = "converted_after_sync"
CONVERTED_BEFORE_CREATED = "converted_before_created"
WON_AFTER_SYNC = "won_after_sync"
NO_AMOUNT = "no_amount"
COLUMN_NOT_FOUND = "column_not_found"
# The tabs whose records carry a Created day (records.py).
CREATED_TABS = ("accounts", "contacts", "leads", "opportunities")


def run(ctx: SyncContext) -> StepResult:
    results = ctx.results = compute(ctx.crm, ctx.config, ctx.as_of, fit_cache=ctx.fit_cache, archive=ctx.archive,
                                    remember=ctx.remember)
    issues = list(results.warnings)
    forecast = locate(ctx.snapshot, FORECAST, ctx.locale).title

    # keep_months: said plainly at the Forecast, rather than a calibration that silently differs.
    def warn(value: object, code: str, message: str, hint: str) -> None:
        issues.append(Issue("warning", forecast, None, None, None, value, code, message, hint))

    if results.calibration_partial:
        n = ctx.marks_read.get(ARCHIVED, 0)
        warn(n, CALIBRATION_PARTIAL,
             ngettext("The stage calibration counts only the Stage History this sheet holds: the {n} older row "
                      "keep_months moved to the warehouse could not be read back this sync (the warehouse cannot "
                      "be read, or it holds another workbook).",
                      "The stage calibration counts only the Stage History this sheet holds: the {n} older rows "
                      "keep_months moved to the warehouse could not be read back this sync (the warehouse cannot "
                      "be read, or it holds another workbook).", n),
             _("It counts them again once the warehouse they went to can be read with keep_months set "
               "(sheetcrm warehouse status); if that database was deleted or replaced, they are no longer "
               "anywhere it can count them."))
    if n := results.calibration_beyond:
        warn(n, CALIBRATION_OLDER_COPY,
             ngettext("The warehouse holds {n} more older Stage History row given up by this workbook than this copy "
                      "of it gave up: it looks like an older copy (restored from a backup?), so the stage "
                      "calibration counts only the rows the sheet holds.",
                      "The warehouse holds {n} more older Stage History rows given up by this workbook than this copy "
                      "of it gave up: it looks like an older copy (restored from a backup?), so the stage "
                      "calibration counts only the rows the sheet holds.", n),
             _("sheetcrm cannot tell which archived rows this copy gave up. To count archived rows again, delete "
               "the `archive:workbook` and `archived:stage_history` rows of the `_sheetcrm` tab: the calibration "
               "then counts the rows given up from then on, not the older ones."))
    if results.calibration_unknown:
        words = ", ".join(cells.quoted(w) for w in results.calibration_unknown)
        warn(words, CALIBRATION_UNKNOWN_STAGE,
             _("The stage calibration leaves out older Stage History rows keep_months moved to the warehouse: "
               "they name stages the config no longer has ({words}).", words=words),
             _("Add each old name to the aliases of the stage it became in sheetcrm.toml (`[[stages]]` aliases)."))
    issues.extend(undated_issues(ctx, forecast))
    issues.extend(quota_unread_issues(ctx, forecast))
    issues.extend(omitted_issues(ctx, locate(ctx.snapshot, PIPELINE_TAB, ctx.locale).title))
    issues.extend(ambiguous_company_issues(ctx))
    issues.extend(future_created_issues(ctx))
    issues.extend(converted_before_created_issues(ctx))
    issues.extend(won_after_sync_issues(ctx))
    issues.extend(no_amount_issues(ctx))
    issues.extend(column_issues(ctx, forecast))
    return StepResult(issues=issues)


def column_issues(ctx: SyncContext, forecast: str) -> list[Issue]:
    """A `column_not_found` warning at the Forecast tab (`forecast`, its title) and at the
    Accounts Overview for each column its figures are made of that a tab it counts has not got
    (`validate.unread_columns`): with no Amount column the Forecast reads 0 in every month, with
    no Date column in Activities every account "no activity yet" and a health that low, as if
    true. Said here, before the Validation tab is planned; the Dashboard says them on its own rows."""
    results = ctx.results
    assert results is not None
    places = [(forecast, FORECAST_TABS)]
    if ctx.config.overview.enabled and "accounts" in ctx.crm.tables:  # else no Accounts Overview (steps/overview.py)
        places.append((locate(ctx.snapshot, OVERVIEW, ctx.locale).title, OVERVIEW_TABS))
    out = []
    for title, tabs in places:
        for u in unread_in(results.unread, tabs):
            name = u.header_es if current() == "es" else u.header
            out.append(Issue("warning", title, None, None, None, name, COLUMN_NOT_FOUND, u.message(), u.hint()))
    return out


def no_amount_issues(ctx: SyncContext) -> list[Issue]:
    """A `no_amount` warning at the empty Amount cell of each won deal, and of each open deal in
    the Commit or Best Case category: such a deal counts in Won deals, the win rate and the
    Pipeline's count, but adds nothing to won revenue, the Forecast's closed won and attainment,
    its commit and best case, or lifetime value, so those are short of it. A deal in the
    Pipeline category is often unpriced while early (README: it counts and adds nothing), and
    said nothing of, as `undated_issues` leaves it."""
    results = ctx.results
    table = ctx.crm.tables.get("opportunities")
    col = table.header.fields.get("amount") if table is not None else None
    assert results is not None
    if table is None or col is None:  # no Amount column at all: `expected_column` says it once
        return []
    stages = StageTable.of(ctx.config.stages)
    out = []
    for o, m in zip(results.opportunities, results.metrics, strict=True):
        if o.amount is not None:
            continue
        kind = stages.kind(o.stage)
        if kind == "won":
            message = _("This won deal has no Amount, so won revenue, the Forecast's closed won and attainment, and "
                        "lifetime value count nothing for it (Won deals and the win rate count it).")
            hint = _("Fill in Amount with what the deal was won for.")
        elif kind == "open" and m.forecast_category in (COMMIT, BEST_CASE):
            message = _("This open {category} deal has no Amount, so the pipeline, the Forecast and pipeline "
                        "coverage count nothing for it.", category=results.words(CATEGORY, m.forecast_category))
            hint = _("Fill in Amount with what you expect the deal to be worth.")
        else:
            continue
        out.append(Issue("warning", table.title, o.row, column_letter(col + 1), table.header.labels.get(col), None,
                         NO_AMOUNT, message, hint))
    return out


def won_after_sync_issues(ctx: SyncContext) -> list[Issue]:
    """A `won_after_sync` warning at the Close Date cell of each won deal dated after the sync's
    day: a deal is not won in the future, so it is the expected close date left as it was when
    the deal was won (or a typo). Counted as it reads, its revenue is won in a month that has not
    come on the Forecast (that month's attainment, not this one's), in another quarter's pipeline
    coverage, and the sales cycle runs to that day; said, never moved to a guessed day."""
    results = ctx.results
    table = ctx.crm.tables.get("opportunities")
    col = table.header.fields.get("close_date") if table is not None else None
    assert results is not None
    if table is None or col is None:
        return []
    stages = StageTable.of(ctx.config.stages)
    return [Issue("warning", table.title, o.row, column_letter(col + 1), table.header.labels.get(col), o.close_date,
                  WON_AFTER_SYNC,
                  _("This won deal's Close Date is {day}, after this sync's day ({today}): the Forecast counts its "
                    "revenue as won in {month}, and the average sales cycle runs to that day.",
                    day=o.close_date.isoformat(), today=ctx.as_of.isoformat(), month=month_key(o.close_date)),
                  _("Set Close Date to the day the deal was won."))
            for o in results.opportunities
            if o.close_date is not None and o.close_date > ctx.as_of and stages.kind(o.stage) == "won"]


def omitted_issues(ctx: SyncContext, pipeline: str) -> list[Issue]:
    """One `left_out` warning at the Pipeline tab naming the open deals in the Omitted forecast
    category (a Category Override, or a stage configured so), which every pipeline figure leaves
    out (crm.stages.in_pipeline): the Pipeline tab itself, the Forecast, the Dashboard, the
    Segment Summary and the Accounts Overview. Said once, where the pipeline is read, so the
    figures never disagree with the deals on the Opportunities tab without a word."""
    results = ctx.results
    table = ctx.crm.tables.get("opportunities")
    assert results is not None
    if table is None:
        return []
    stages = StageTable.of(ctx.config.stages)
    rows = {o.row for o, m in zip(results.opportunities, results.metrics, strict=True)
            if stages.kind(o.stage) == "open" and not in_pipeline(stages.get(o.stage), m.forecast_category)}
    if not rows:
        return []
    omitted = [r for r in table.rows if r.row in rows]
    category = results.words(CATEGORY, OMITTED)
    return [Issue("warning", pipeline, None, None, None, len(omitted), "left_out",
                  ngettext("{n} open deal in the {category} forecast category is left out of the pipeline, here and "
                           "on the Forecast, the Dashboard, the Segment Summary and the Accounts Overview: {listed}.",
                           "{n} open deals in the {category} forecast category are left out of the pipeline, here "
                           "and on the Forecast, the Dashboard, the Segment Summary and the Accounts Overview: "
                           "{listed}.", len(omitted), category=category, listed=rows_listed(omitted)),
                  _("{category} means out of every pipeline figure; to count a deal, change its Category Override "
                    "(or its stage's forecast_category in sheetcrm.toml).", category=category))]


def future_created_issues(ctx: SyncContext) -> list[Issue]:
    """A `created_after_sync` warning at each Created cell dated after the sync's day: no record
    is made in the future, so it is a typo or a clock behind, and what counts from it (Days in
    Stage, a rule's "days after Created", the sales cycle) counts from a day that has not come.
    Said as the history step says a change dated after the sync (README)."""
    out: list[Issue] = []
    for key in CREATED_TABS:
        table = ctx.crm.tables.get(key)
        col = table.header.fields.get("created") if table is not None else None
        if table is None or col is None:
            continue
        for record in ctx.crm.records(key):
            if record.created is not None and record.created > ctx.as_of:
                out.append(Issue("warning", table.title, record.row, column_letter(col + 1),
                                 table.header.labels.get(col), record.created, CREATED_AFTER_SYNC,
                                 _("Created is {day}, after this sync's day ({today}): what is counted from it "
                                   "(Days in Stage, ages, rules that run days after Created) counts from a day "
                                   "that has not come.", day=record.created.isoformat(), today=ctx.as_of.isoformat()),
                                 _("Correct the date if it is a typo; if the computer that syncs has its clock or "
                                   "time zone behind, correct that.")))
    leads = ctx.crm.tables.get("leads")
    col = leads.header.computed.get("converted_on") if leads is not None else None
    if leads is None or col is None or ctx.crm.inputs is None:
        return out
    for link in ctx.crm.inputs.conversions.links.values():
        if link.on is not None and link.on > ctx.as_of:
            out.append(Issue("warning", leads.title, link.row, column_letter(col + 1),
                             leads.header.labels.get(col), link.on, CONVERTED_AFTER_SYNC,
                             _("Converted On is {day}, after this sync's day ({today}): this lead is left out of "
                               "the Dashboard's average days to convert.", day=link.on.isoformat(),
                               today=ctx.as_of.isoformat()),
                             _("Correct the date if it is a typo; if the computer that syncs has its clock or "
                               "time zone behind, correct that.")))
    return out


def converted_before_created_issues(ctx: SyncContext) -> list[Issue]:
    """A `converted_before_created` warning at the Created cell of each lead sheetcrm converted
    whose Converted On (sheetcrm's, the day it converted) is before that Created: no lead converts
    before it is created, so Created is a typo, and the Dashboard's average days to convert leaves
    the lead out (crm.kpis), as the average sales cycle leaves out a deal closed before its
    Created (`close_before_created`): said, never short with no word."""
    leads = ctx.crm.tables.get("leads")
    col = leads.header.fields.get("created") if leads is not None else None
    if leads is None or col is None or ctx.crm.inputs is None:
        return []
    by_row = {lead.row: lead for lead in ctx.crm.records("leads")}
    out = []
    for link in ctx.crm.inputs.conversions.converted_ids().values():
        lead = by_row.get(link.row)
        if lead is None or lead.created is None or link.on is None or link.on >= lead.created:
            continue
        out.append(Issue("warning", leads.title, lead.row, column_letter(col + 1), leads.header.labels.get(col),
                         lead.created, CONVERTED_BEFORE_CREATED,
                         _("Created is {created}, after this lead's Converted On ({on}), the day sheetcrm converted "
                           "it: this lead is left out of the Dashboard's average days to convert.",
                           created=lead.created.isoformat(), on=link.on.isoformat()),
                         _("Correct Created to the day the lead came in.")))
    return out


def ambiguous_company_issues(ctx: SyncContext) -> list[Issue]:
    """An `ambiguous_reference` warning at the Company cell of each converted lead whose Company
    names several accounts (crm.kpis: its campaign is credited with neither one's won revenue),
    as the read says a reference by a name two rows share (README: never guessed)."""
    results = ctx.results
    assert results is not None
    table = ctx.crm.tables.get("leads")
    if table is None or not results.kpis.ambiguous_companies:
        return []
    col = table.header.fields.get("company")
    rows = {a.id: a.row for a in ctx.crm.records("accounts") if a.id}
    out = []
    for lead, ids in results.kpis.ambiguous_companies:
        named = ", ".join(_("{id} (row {row})", id=i, row=rows[i]) for i in ids)
        out.append(Issue("warning", table.title, lead.row, column_letter(col + 1) if col is not None else None,
                         table.header.labels.get(col) if col is not None else None, lead.company,
                         "ambiguous_reference",
                         _("{shown} names more than one account: {rows}.", shown=cells.quoted(lead.company),
                           rows=named),
                         _("Until it names one, the lead's campaign is credited with none of these accounts' won "
                           "revenue: give the accounts names that tell them apart, and this Company the name of "
                           "the one the lead became.")))
    return out


def quota_unread_issues(ctx: SyncContext, forecast: str) -> list[Issue]:
    """A `quota_unread` warning at the Forecast tab naming the months whose quota and attainment
    it leaves blank, and at the Dashboard when its pipeline coverage is blank, because a quota
    of the Quotas tab cannot be read (crm.forecast.UnreadQuota; the cell itself is said by the
    read): a blank with no reason would read as "no quota set". Likewise `quota_partial` at the
    Dashboard when this quarter's quotas cover only some of its months."""
    results = ctx.results
    assert results is not None
    out: list[Issue] = []
    tab = find_tab(list(ctx.snapshot.tabs), owned_tab_names(QUOTAS)) or QUOTAS.title
    hint = _("Correct the cells of the {tab} tab the Validation tab lists: the quota of each owner and month "
             "on one row, the month as year-month (like 2027-01).", tab=tab)
    blank = [m.month for m in results.forecast.months if m.quota_unread]
    if blank:
        months = ", ".join(blank)
        out.append(Issue("warning", forecast, None, None, None, months, QUOTA_UNREAD,
                         _("A quota on the {tab} tab cannot be read, so this tab leaves the team's quota and "
                           "attainment blank for {months}, and its owner's: a total short of it would be wrong.",
                           tab=tab, months=months), hint))
    if results.kpis.pipeline_coverage_basis == "quota_unread":
        out.append(Issue("warning", locate(ctx.snapshot, DASHBOARD, ctx.locale).title, None, None, None, None,
                         QUOTA_UNREAD,
                         _("A quota of this quarter on the {tab} tab cannot be read, so this tab leaves pipeline "
                           "coverage blank: a total short of it would be wrong.", tab=tab), hint))
    if results.kpis.pipeline_coverage_basis == "quota_partial":
        # The owners whose quota is partial, in the Value cell: with several owners, which one's
        # rows to complete is not for the reader to hunt for.
        out.append(Issue("warning", locate(ctx.snapshot, DASHBOARD, ctx.locale).title, None, None, None,
                         ", ".join(results.kpis.quota_partial_owners) or None, QUOTA_PARTIAL,
                         _("The {tab} tab gives a quota for only some months of this quarter, so this tab leaves "
                           "pipeline coverage blank: the wins of a month with no quota would be taken off the "
                           "other months' quota.", tab=tab),
                         _("Give each month of the quarter its quota on the {tab} tab (a quarterly quota split "
                           "over its three months).", tab=tab)))
    return out


def undated_issues(ctx: SyncContext, forecast: str) -> list[Issue]:
    """The deals the forecast places in no month, for want of a Close Date (crm.forecast.Undated),
    as `no_close_date` warnings: each won deal (its revenue, in the Dashboard's, is in no month)
    and each open Commit or Best Case deal at its Close Date cell; the open deals in the
    Pipeline category as one line at the Forecast tab, since many teams date early deals only
    once they firm up, and a warning a deal would bury the report's other problems (its
    max_issues). With no Close Date column at all, every kind is one line at the Forecast."""
    results = ctx.results
    assert results is not None
    table = ctx.crm.tables.get("opportunities")
    col = table.header.fields.get("close_date") if table is not None else None
    title = table.title if table is not None else CRM_TABS["opportunities"]  # no tab: no deals, nothing said
    out: list[Issue] = []
    left = {"open": 0, "won": 0}  # said at the Forecast tab, by kind
    for u in results.forecast.undated:
        if table is None or col is None or u.category == PIPELINE:
            left["won" if u.won else "open"] += 1
        elif u.won:
            out.append(Issue("warning", table.title, u.opportunity.row, column_letter(col + 1),
                             table.header.labels.get(col), None, NO_CLOSE_DATE,
                             _("This won deal has no Close Date, so the Forecast counts its revenue in no month "
                               "(the Dashboard's won revenue counts it)."),
                             _("Fill in Close Date with the day the deal was won.")))
        else:
            out.append(Issue("warning", table.title, u.opportunity.row, column_letter(col + 1),
                             table.header.labels.get(col), None, NO_CLOSE_DATE,
                             _("This open {category} deal has no Close Date, so the Forecast leaves its amount out "
                               "of every month.", category=results.words(CATEGORY, u.category)),
                             _("Fill in Close Date with the day you expect the deal to close.")))
    if n := left["open"]:
        if col is None:
            message = ngettext("{n} open deal has no Close Date, so the Forecast leaves its amount out of every "
                               "month.", "{n} open deals have no Close Date, so the Forecast leaves their amounts "
                               "out of every month.", n)
        else:
            message = ngettext("{n} open deal in the {category} category has no Close Date, so the Forecast leaves "
                               "its amount out of every month.", "{n} open deals in the {category} category have no "
                               "Close Date, so the Forecast leaves their amounts out of every month.", n,
                               category=results.words(CATEGORY, PIPELINE))
        out.append(Issue("warning", forecast, None, None, None, n, NO_CLOSE_DATE, message, _close_date_hint(col, title)))
    if n := left["won"]:
        out.append(Issue("warning", forecast, None, None, None, n, NO_CLOSE_DATE,
                         ngettext("{n} won deal has no Close Date, so the Forecast counts its revenue in no month "
                                  "(the Dashboard's won revenue counts it).",
                                  "{n} won deals have no Close Date, so the Forecast counts their revenue in no "
                                  "month (the Dashboard's won revenue counts it).", n),
                         _close_date_hint(col, title)))
    return out


def _close_date_hint(col: int | None, tab: str) -> str:
    if col is None:
        return _("Add a Close Date column to the {tab} tab and fill it in.", tab=tab)
    return _("Fill in their Close Date to put them in the forecast (early deals are counted here, not marked one "
             "by one, since many teams date them later).")
