"""The validation report: every problem found in one pass, each pinned to a cell."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from sheetcrm.i18n import NC_, pgettext

Severity = Literal["error", "warning"]

# The words the Validation tab shows for a severity and for each issue code, in the team's
# language. The code itself (`Issue.code`) never changes: the JSON report and programs key on
# it; the tab is for people, who filter by what they can read. Every code sheetcrm makes is here
# (tests/test_findings_i18n.py finds them in the source and fails on one without a name).
SEVERITIES = (NC_("severity", "error"), NC_("severity", "warning"))
CODES = (
    NC_("issue code", "ambiguous_currency"), NC_("issue code", "ambiguous_date"),
    NC_("issue code", "ambiguous_number"), NC_("issue code", "ambiguous_percent"),
    NC_("issue code", "ambiguous_reference"), NC_("issue code", "bad_bool"), NC_("issue code", "bad_currency"),
    NC_("issue code", "bad_date"), NC_("issue code", "bad_email"), NC_("issue code", "bad_enum"),
    NC_("issue code", "bad_integer"), NC_("issue code", "bad_number"), NC_("issue code", "bad_percent"),
    NC_("issue code", "currency_conflict"), NC_("issue code", "currency_header"),
    NC_("issue code", "format_currencies"),
    NC_("issue code", "duplicate_email"), NC_("issue code", "duplicate_header"), NC_("issue code", "duplicate_id"),
    NC_("issue code", "duplicate_sku"), NC_("issue code", "formula_error"), NC_("issue code", "formula_not_calculated"),
    NC_("issue code", "id_pattern"), NC_("issue code", "id_blank_text"), NC_("issue code", "id_formula_empty"), NC_("issue code", "id_column_renamed"),
    NC_("issue code", "id_error_value"),
    NC_("issue code", "invalid_quote_line"), NC_("issue code", "left_out"), NC_("issue code", "missing_column"),
    NC_("issue code", "missing_rate"), NC_("issue code", "missing_tab"), NC_("issue code", "mixed_convention"),
    NC_("issue code", "no_quote_lines"), NC_("issue code", "no_recipient"), NC_("issue code", "no_room"),
    NC_("issue code", "out_of_range"), NC_("issue code", "required"), NC_("issue code", "tab_name_taken"),
    NC_("issue code", "too_precise"), NC_("issue code", "unknown_account"), NC_("issue code", "unknown_contact"),
    NC_("issue code", "unknown_opportunity"), NC_("issue code", "unknown_related"),
    NC_("issue code", "unknown_sku"), NC_("issue code", "contact_errors"),
    NC_("issue code", "opportunity_errors"), NC_("issue code", "quote_currency_unset"), NC_("issue code", "lead_identity"),
    NC_("issue code", "negative_price"), NC_("issue code", "negative_quantity"), NC_("issue code", "symbol_base"),
    NC_("issue code", "currency_unnamed"), NC_("issue code", "currency_column_unheaded"),
    NC_("issue code", "symbol_guess"), NC_("issue code", "unsafe_header"), NC_("issue code", "quote_template_error"),
    NC_("issue code", "form_bad_time"), NC_("issue code", "form_needs_tab"), NC_("issue code", "form_no_timestamp"),
    NC_("issue code", "form_answers_differ"),
    NC_("issue code", "form_question_missing"), NC_("issue code", "form_tab_missing"),
    NC_("issue code", "form_field_no_column"), NC_("issue code", "web_field_no_column"),
    NC_("issue code", "shared_field"), NC_("issue code", "shared_field_left_out"), NC_("issue code", "name_split"),
    NC_("issue code", "fill_taken"), NC_("issue code", "import_left_empty"), NC_("issue code", "fill_currency_differs"),
    NC_("issue code", "form_ambiguous"), NC_("issue code", "web_ambiguous"), NC_("issue code", "form_time_ambiguous"),
    NC_("issue code", "web_invalid"), NC_("issue code", "web_set_aside"), NC_("issue code", "control_character"),
    NC_("issue code", "too_long"), NC_("issue code", "unknown_campaign"), NC_("issue code", "calibration_partial"),
    NC_("issue code", "calibration_unknown_stage"), NC_("issue code", "history_row_unread"),
    NC_("issue code", "calibration_older_copy"), NC_("issue code", "header_lookalike"),
    NC_("issue code", "header_currency"), NC_("issue code", "computed_name_taken"),
    NC_("issue code", "computed_cell_typed"),
    NC_("issue code", "merged_number"), NC_("issue code", "merged_id"), NC_("issue code", "far_cell"), NC_("issue code", "other_table"), NC_("issue code", "heading_row"), NC_("issue code", "number_as_date"), NC_("issue code", "date_order_differs"), NC_("issue code", "spreadsheet_locale_differs"), NC_("issue code", "expected_column"),
    NC_("issue code", "custom_field_missing"),
    NC_("issue code", "early_date"), NC_("issue code", "duplicate_rate"), NC_("issue code", "duplicate_quota"),
    NC_("issue code", "history_unordered"), NC_("issue code", "history_after_sync"),
    NC_("issue code", "history_unknown_from"), NC_("issue code", "history_before_created"),
    NC_("issue code", "history_column_gone"), NC_("issue code", "duplicates_column_gone"), NC_("issue code", "merge_ruled_out"),
    NC_("issue code", "created_after_sync"), NC_("issue code", "converted_after_sync"),
    NC_("issue code", "converted_before_created"),
    NC_("issue code", "won_after_sync"), NC_("issue code", "no_amount"),
    NC_("issue code", "negative_amount"), NC_("issue code", "unknown_owner"),
    NC_("issue code", "close_before_created"), NC_("issue code", "override_contradicts_stage"),
    NC_("issue code", "rule_column_missing"),
    NC_("issue code", "no_close_date"), NC_("issue code", "quota_unread"), NC_("issue code", "quota_partial"), NC_("issue code", "column_not_found"), NC_("issue code", "product_errors"),
    NC_("issue code", "ambiguous_opportunity"), NC_("issue code", "ambiguous_product"),
    NC_("issue code", "unsure_quote_cell"), NC_("issue code", "blank_tax_rate"), NC_("issue code", "unread_line_cell"),
    NC_("issue code", "unknown_status"),
    NC_("issue code", "merge_reference_shifts"), NC_("issue code", "conversion_waits"),
    NC_("issue code", "case_closed_unresolved"), NC_("issue code", "case_resolved_before_opened"),
    NC_("issue code", "case_resolved_open"), NC_("issue code", "case_resolved_no_time"),
    NC_("issue code", "case_resolved_day_sla"), NC_("issue code", "case_opened_no_time"),
    NC_("issue code", "case_opened_day_sla"),
    NC_("issue code", "case_opened_after_sync"), NC_("issue code", "case_resolved_after_sync"),
    NC_("issue code", "conversion_ambiguous"), NC_("issue code", "conversion_company_differs"),
    NC_("issue code", "conversion_amount_left_empty"), NC_("issue code", "conversion_no_company"),
    NC_("issue code", "conversion_no_name"), NC_("issue code", "converted_record_missing"),
    NC_("issue code", "conversion_company_not_used"),
    NC_("issue code", "converted_link_differs"), NC_("issue code", "columns_by_position"),
    NC_("issue code", "duplicates_not_compared"), NC_("issue code", "merge_across_tabs"),
    NC_("issue code", "merge_not_duplicates"), NC_("issue code", "merge_not_duplicates_now"),
    NC_("issue code", "merge_two_keeps"), NC_("issue code", "merge_row_errors"),
    NC_("issue code", "merge_keep_not_converted"), NC_("issue code", "merge_two_conversions"),
    NC_("issue code", "merge_currency_differs"), NC_("issue code", "merge_cells_apart"),
    NC_("issue code", "merged_id_in_use"),
    NC_("issue code", "segment_account_unread"), NC_("issue code", "segment_bad_condition"),
    NC_("issue code", "segment_bad_name"), NC_("issue code", "segment_bad_record"),
    NC_("issue code", "segment_duplicate"), NC_("issue code", "segment_no_conditions"),
    NC_("issue code", "segment_no_name"), NC_("issue code", "segment_type_mismatch"),
    NC_("issue code", "segment_unknown_column"),
    NC_("issue code", "workflow_bad_condition"), NC_("issue code", "workflow_bad_recipient"),
    NC_("issue code", "workflow_bad_record"), NC_("issue code", "workflow_bad_template"),
    NC_("issue code", "workflow_bad_then"), NC_("issue code", "workflow_bad_value"),
    NC_("issue code", "workflow_bad_when"),
    NC_("issue code", "workflow_duplicate_id"), NC_("issue code", "workflow_log_missing"),
    NC_("issue code", "workflow_loop"), NC_("issue code", "workflow_max_firings"),
    NC_("issue code", "workflow_missing_argument"), NC_("issue code", "workflow_no_id"),
    NC_("issue code", "workflow_no_owner"), NC_("issue code", "workflow_no_owner_address"),
    NC_("issue code", "workflow_no_recipient"), NC_("issue code", "workflow_not_a_date"),
    NC_("issue code", "workflow_not_internal"), NC_("issue code", "workflow_render_failed"),
    NC_("issue code", "workflow_notify_nobody"), NC_("issue code", "workflow_notify_unaddressed"),
    NC_("issue code", "workflow_sequence_gone"), NC_("issue code", "workflow_state_missing"), NC_("issue code", "workflow_step_template"),
    NC_("issue code", "workflow_template_broken"), NC_("issue code", "workflow_template_missing"),
    NC_("issue code", "workflow_type_mismatch"),
    NC_("issue code", "workflow_unknown_column"), NC_("issue code", "workflow_unknown_sequence"),
    NC_("issue code", "workflow_unknown_stage"), NC_("issue code", "workflow_wrong_record"),
    NC_("issue code", "workflow_waiting"), NC_("issue code", "workflow_related_unread"),
)


def shown_severity(severity: str) -> str:
    """The severity as the Validation tab shows it, in the current language."""
    return pgettext("severity", severity)


def shown_code(code: str) -> str:
    """An issue code as the Validation tab shows it, in the current language (`bad_number` is
    `número_no_válido` in Spanish)."""
    return pgettext("issue code", code)


def column_letter(col: int) -> str:
    """1 -> A, 27 -> AA: the column as the sheet shows it."""
    letters = ""
    while col > 0:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass(frozen=True)
class Issue:
    severity: Severity
    tab: str
    row: int | None        # the sheet's own row number; None for a whole-tab problem
    column: str | None     # the column letter, e.g. "F"; None for a whole-row problem
    header: str | None
    value: Any
    code: str
    message: str
    hint: str

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["value"] = _plain(self.value)
        return d

    def where(self) -> str:
        cell = f"{self.column or ''}{self.row or ''}"
        return f"{self.tab}!{cell}" if cell else self.tab


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (dt.date, dt.time)):
        # str() of a date-time cell was "2026-01-01 10:30:00", no ISO 8601 a program parses as the README says.
        return value.isoformat()
    return str(value)


@dataclass
class Report:
    """Issues in sheet order, capped at `limit`; `partial` says the cap was hit."""

    limit: int = 1000
    issues: list[Issue] = field(default_factory=list)
    partial: bool = False
    errors: int = 0
    warnings: int = 0

    def add(self, issue: Issue) -> None:
        # Counts stay exact past the cap, so the summary never understates the damage.
        if issue.severity == "error":
            self.errors += 1
        else:
            self.warnings += 1
        if len(self.issues) < self.limit:
            self.issues.append(issue)
        else:
            self.partial = True

    def amend(self, old: Issue, new: Issue) -> None:
        """`old`, listed, said as `new` instead: the same cell and fault, said more fully (one
        cell, one warning). The counts stay."""
        assert old.severity == new.severity
        self.issues[self.issues.index(old)] = new

    @property
    def valid(self) -> bool:
        return self.errors == 0

    def as_dict(self, stats: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "partial": self.partial,
            "errors": self.errors,
            "warnings": self.warnings,
            "issues": [i.as_dict() for i in self.issues],
            "stats": stats or {},
        }
