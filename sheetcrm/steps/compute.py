"""The engine over the records: histories, per-opportunity metrics, lead scores, forecast, KPIs.

Plans nothing itself: the steps after it turn `ctx.results` into cells. Its warnings (an
amount with no exchange rate) join the report before the Validation tab is planned.
"""

from __future__ import annotations

from sheetcrm import cells
from sheetcrm.engine import compute
from sheetcrm.i18n import _, ngettext
from sheetcrm.owned import locate
from sheetcrm.report import Issue
from sheetcrm.schema import FORECAST
from sheetcrm.steps.context import StepResult, SyncContext
from sheetcrm.warehouse.keep import ARCHIVED

CALIBRATION_PARTIAL = "calibration_partial"
CALIBRATION_UNKNOWN_STAGE = "calibration_unknown_stage"
CALIBRATION_OLDER_COPY = "calibration_older_copy"


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
    return StepResult(issues=issues)
