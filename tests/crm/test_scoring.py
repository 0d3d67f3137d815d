"""Rule scoring: operators, settings validation, decayed engagement, clamping, grades, Why, evaluation."""

from __future__ import annotations

import datetime as dt
import tomllib
from decimal import Decimal

import pytest
from pydantic import ValidationError

from sheetcrm.config import Config
from sheetcrm.crm.scoring import (DEFAULT_RULES, LeadScore, ScoringSettings, calibration, evaluate, roc_auc,
                                  score_leads)
from sheetcrm.i18n import using
from sheetcrm.records import Activity, Lead
from sheetcrm.validate import parse_context

CTX = parse_context(Config())
AS_OF = dt.date(2024, 6, 30)


def lead(**fields) -> Lead:
    data = {"id": "LEAD-0001", "last_name": "Doe", **fields}
    return Lead.model_validate(data, context=CTX)


def activity(days_ago: int, kind: str = "Call", related: str = "LEAD-0001") -> Activity:
    return Activity.model_validate({"date": AS_OF - dt.timedelta(days=days_ago), "type": kind, "related": related},
                                   context=CTX)


def settings(*rules: dict, **kw) -> ScoringSettings:
    return ScoringSettings.model_validate({"base": 0, "rules": list(rules), "engagement": {}, **kw},
                                          context={"lead_custom_fields": ["Budget", "Industry", "Trial"]})


def one(record: Lead, s: ScoringSettings, activities: list[Activity] = ()) -> LeadScore:
    result = score_leads([record], activities, s, AS_OF)
    return result.scores[record.id]


def rule(column: str, op: str, points: float = 10, **kw) -> dict:
    return {"column": column, "op": op, "points": points, **kw}


# --- operators ------------------------------------------------------------------------------

def test_equals_ignores_case_accents_and_spacing_and_reads_spanish_headers():
    s = settings(rule("Origen", "equals", 20, value="Referído"))
    assert one(lead(source="  REFERIDO "), s).score == 20
    assert one(lead(source="Referral"), s).score == 0
    assert one(lead(source="Referido"), s).why == "Origen = Referído +20"


def test_equals_compares_numbers_and_booleans_by_value():
    s = settings(rule("Budget", "equals", 7, value=5000), rule("Trial", "equals", 3, value=True))
    assert one(lead(custom={"Budget": Decimal("5000.00"), "Trial": True}), s).score == 10
    # Untyped custom columns arrive as the text the team typed.
    assert one(lead(custom={"budget": "5000", "TRIAL": "yes"}), s).score == 10
    assert one(lead(custom={"Budget": Decimal("4999"), "Trial": False}), s).score == 0


def test_a_yes_no_value_is_named_in_words_in_the_syncs_language():
    # "Trial = TRUE +3" in an English sheet and a Spanish one alike, where the learned model's
    # reasons said "Trial = Yes" / "Trial = Sí".
    s = settings(rule("Trial", "equals", 3, value=True), rule("Trial", "in", 2, values=[False]))
    assert one(lead(custom={"Trial": True}), s).why == "Trial = Yes +3"
    assert one(lead(custom={"Trial": "no"}), s).why == "Trial = No +2"
    with using("es"):
        assert one(lead(custom={"Trial": "sí"}), s).why == "Trial = Sí +3"


def test_in_matches_any_value_and_names_the_one_that_matched():
    s = settings(rule("Source", "in", 10, values=["Partner", "Event"]))
    assert one(lead(source="event"), s).why == "Source = Event +10"
    assert one(lead(source="Web"), s).score == 0


def test_contains_is_a_folded_substring_with_any_of_several_needles():
    s = settings(rule("Title", "contains", 15, values=["CEO", "VP", "Dirección"]))
    assert one(lead(title="Co-founder & CEO"), s).why == "Title contains CEO +15"
    assert one(lead(title="Director de DIRECCION comercial"), s).why == "Title contains Dirección +15"
    assert one(lead(title="Engineer"), s).score == 0
    assert one(lead(title=None), s).score == 0


def test_regex_searches_case_and_accent_insensitively():
    s = settings(rule("Title", "regex", 12, value=r"^v\.?p\b|vice ?presidente?"))
    assert one(lead(title="VP Sales"), s).score == 12
    assert one(lead(title="v.p. marketing"), s).why == 'Title matches "v.p" +12'
    assert one(lead(title="Vicepresidente Comercial"), s).score == 12
    assert one(lead(title="MVP evangelist"), s).score == 0


def test_a_bad_regex_is_a_validation_error_naming_the_rule():
    with pytest.raises(ValidationError) as e:
        settings(rule("Title", "regex", value="(unclosed"))
    message = str(e.value)
    assert 'invalid regular expression "(unclosed"' in message and 'rule on "Title"' in message


def test_the_why_writes_its_figures_as_the_team_language_does():
    # "Budget ≥ 1.5 +0.4" beside Spanish numbers ("Web Score = 7,3") read as English: a Spanish
    # team writes "1,5" and "+0,4".
    s = settings(rule("Budget", "range", 0.4, min=1.5), rule("Industry", "equals", -0.75, value=2.5))
    record = lead(custom={"Budget": Decimal("2"), "Industry": "2,5"})
    assert one(record, s).why == "Industry = 2.5 -0.8; Budget ≥ 1.5 +0.4"
    with using("es"):
        assert one(record, s).why == "Industry = 2,5 -0,8; Budget ≥ 1,5 +0,4"


def test_range_on_numbers_with_open_ends():
    s = settings(rule("Budget", "range", 10, min=1000, max=5000), rule("Budget", "range", 5, min=10000))
    assert one(lead(custom={"Budget": Decimal("1000")}), s).why == "Budget 1000–5000 +10"
    assert one(lead(custom={"Budget": Decimal("5000")}), s).score == 10
    assert one(lead(custom={"Budget": Decimal("5000.01")}), s).score == 0
    assert one(lead(custom={"Budget": 25000}), s).why == "Budget ≥ 10000 +5"
    assert one(lead(custom={"Budget": "not a number"}), s).score == 0
    assert one(lead(custom={}), s).score == 0


def test_range_on_dates():
    s = settings(rule("Created", "range", 8, min=dt.date(2024, 6, 1)))
    assert one(lead(created=dt.date(2024, 6, 1)), s).why == "Created ≥ 2024-06-01 +8"
    assert one(lead(created=dt.date(2024, 5, 31)), s).score == 0


def test_range_bounds_must_agree():
    with pytest.raises(ValidationError, match="min 10.0 is greater than max 5.0"):
        settings(rule("Budget", "range", min=10, max=5))
    with pytest.raises(ValidationError, match="both be numbers or both be dates"):
        settings(rule("Created", "range", min=dt.date(2024, 1, 1), max=5))


def test_present_and_absent_treat_blank_text_as_absent():
    s = settings(rule("Email", "present", 5), rule("Phone", "absent", -5))
    assert one(lead(email="ana@acme.example"), s).why == "Email present +5; Phone empty -5"
    assert one(lead(email="ana@acme.example", phone="+34 600 000 000"), s).score == 5
    s = settings(rule("Industry", "present", 4))
    assert one(lead(custom={"Industry": "   "}), s).score == 0
    assert one(lead(custom={"Industry": "Retail"}), s).score == 4


def test_a_rule_label_replaces_the_generated_text():
    s = settings(rule("Budget", "range", 10, min=1, label="Budget approved"))
    assert one(lead(custom={"Budget": 10}), s).why == "Budget approved +10"


@pytest.mark.parametrize("bad, message", [
    (rule("Source", "equals"), "needs `value`"),
    (rule("Source", "in", value="Web"), "non-empty `values`"),
    (rule("Title", "contains", value="CEO", values=["VP"]), "needs text in `value`"),
    (rule("Email", "present", value="x"), "takes no value"),
    (rule("Source", "startswith", value="x"), "Input should be 'equals'"),
    ({"column": "Source", "op": "equals", "value": "Web", "points": 5, "weight": 2}, "Extra inputs"),
])
def test_operands_must_fit_the_operator(bad, message):
    with pytest.raises(ValidationError, match=message):
        settings(bad)


def test_an_unknown_column_is_rejected_but_declared_custom_and_alias_headers_are_not():
    with pytest.raises(ValidationError) as e:
        settings(rule("Favourite colour", "equals", value="Blue"))
    assert 'rule 1: unknown column "Favourite colour"' in str(e.value)
    assert "[tabs.leads.custom_fields]" in str(e.value)
    ok = settings(rule("Industry", "equals", value="Retail"), rule("Cargo", "contains", value="CEO"),
                  rule("first_name", "present"))
    assert [r.lead_field for r in ok.rules] == [None, "title", "first_name"]
    # The same check is a method for a caller that knows the custom columns later.
    with pytest.raises(ValueError, match="unknown column"):
        ok.check_columns([])
    ok.check_columns(["industry "])


def test_a_range_rule_must_fit_its_columns_type():
    # A range of numbers on a column declared text (the default type) would read its cells by a
    # guessed convention ("1.500": 1.5 or 1500); dates on a number column never match.
    from sheetcrm.config import CustomField

    declared = {"Budget": CustomField(), "Visits": CustomField(type="number"), "Demo": CustomField(type="date")}
    def rules(*given: dict) -> ScoringSettings:
        return ScoringSettings.model_validate({"base": 0, "rules": list(given), "engagement": {}})

    rules(rule("Visits", "range", min=5), rule("Demo", "range", min=dt.date(2026, 1, 1))).check_columns(declared)
    for bad in (rule("Budget", "range", min=1000), rule("Visits", "range", min=dt.date(2026, 1, 1)),
                rule("Demo", "range", max=5), rule("Title", "range", min=1)):
        with pytest.raises(ValueError, match=r"\(range\): its min and max are"):
            rules(bad).check_columns(declared)


def test_an_equals_or_in_value_of_a_type_its_column_never_holds_stops_the_config():
    # "Trial = 1" on a yes/no column, a date on a number column, a number on a date column: the
    # value never equalled a cell, so the rule gave no lead its points and nothing said so.
    from sheetcrm.config import CustomField

    declared = {"Trial": CustomField(type="bool"), "Visits": CustomField(type="number"),
                "Demo": CustomField(type="date"), "Budget": CustomField(type="money"), "Notes": CustomField()}
    def rules(*given: dict) -> ScoringSettings:
        return ScoringSettings.model_validate({"base": 0, "rules": list(given), "engagement": {}})

    rules(rule("Trial", "equals", value=True), rule("Trial", "in", values=["Sí", False]),
          rule("Visits", "in", values=[5, "7"]), rule("Demo", "equals", value=dt.date(2026, 1, 1)),
          rule("Notes", "in", values=[5, dt.date(2026, 1, 1), True])).check_columns(declared)
    for bad, said in ((rule("Trial", "equals", value=1), '1 is a number, and "Trial" is read as yes/no values'),
                      (rule("Visits", "in", values=[5, dt.date(2026, 1, 1)]), "2026-01-01 is a date"),
                      (rule("Demo", "equals", value=45351), '45351 is a number, and "Demo" is read as dates'),
                      (rule("Budget", "in", values=[True]), "Yes is a yes/no value"),
                      (rule("Created", "equals", value=5), '"Created" is read as dates')):
        with pytest.raises(ValueError, match=said):
            rules(bad).check_columns(declared)
    with using("es"), pytest.raises(ValueError, match='1 es un número, y "Trial" se lee como valores sí/no'):
        rules(rule("Trial", "equals", value=1)).check_columns(declared)


def test_settings_read_from_toml_with_defaults_filled_in():
    data = tomllib.loads('''
        half_life_days = 14
        grades = { A = 90, B = 70, C = 50 }
        engagement = { llamada = 4, Meeting = 8 }
        learned = { min_converted = 20, min_unqualified = 20 }
        [[rules]]
        column = "Source"
        op = "equals"
        value = "Referral"
        points = 25
    ''')
    s = ScoringSettings.model_validate(data)
    assert (s.half_life_days, s.grades.a, s.grades.c, s.learned.min_converted) == (14, 90, 50, 20)
    assert s.engagement == {"Call": 4, "Meeting": 8}
    assert len(s.rules) == 1 and s.base == 30
    assert ScoringSettings().rules == list(DEFAULT_RULES)


@pytest.mark.parametrize("data, message", [
    ({"engagement": {"Lunch": 3}}, 'unknown activity type "Lunch"'),
    ({"grades": {"A": 60, "B": 60}}, "must fall from A to C"),
    ({"half_life_days": 0}, "greater than 0"),
    ({"learned": {"min_converted": 0}}, "greater than or equal to 1"),
])
def test_bad_settings_are_validation_errors(data, message):
    with pytest.raises(ValidationError, match=message):
        ScoringSettings.model_validate(data)


def test_a_toml_date_time_in_a_rule_is_its_day_at_midnight_and_refused_with_a_time_of_day(tmp_path):
    # TOML writes 2024-02-29T00:00:00 unquoted: sheetcrm.toml refused it as "must be a number"
    # (pydantic's float, then a strict date that takes no date-time), though a rule takes dates;
    # one with a time of day was refused the same way, never saying that a rule compares days.
    from sheetcrm.config import ConfigError, load_config

    good = tmp_path / "good.toml"
    good.write_text('''[scoring]
base = 0
engagement = {}
rules = [{ column = "Created", op = "range", max = 2024-02-29T00:00:00, points = 4 },
         { column = "Created", op = "in", values = [2024-03-01T00:00:00, 2024-03-02], points = 2 }]
''', encoding="utf-8")
    s = load_config(good).scoring
    assert (s.rules[0].max, s.rules[1].values) == (dt.date(2024, 2, 29), [dt.date(2024, 3, 1), dt.date(2024, 3, 2)])
    assert one(lead(created=dt.date(2024, 2, 29)), s).why == "Created ≤ 2024-02-29 +4"
    assert one(lead(created=dt.date(2024, 3, 1)), s).score == 2
    late = tmp_path / "late.toml"
    late.write_text('[scoring]\nrules = [{ column = "Created", op = "range", min = 2024-02-29T12:00:00, points = 4 }]\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError, match=r'rule on "Created": 2024-02-29T12:00:00 has a time of day, and a rule '
                                          r'compares days; write the day alone \(2024-02-29\)'):
        load_config(late)


# --- engagement, clamping, grades, why -------------------------------------------------------

def test_an_activity_one_half_life_old_counts_half():
    s = settings(engagement={"Meeting": 10}, half_life_days=30)
    assert one(lead(), s, [activity(0, "Meeting")]).score == 10
    assert one(lead(), s, [activity(30, "Meeting")]).score == 5
    result = one(lead(), s, [activity(60, "Meeting")])
    assert (result.score, result.why) == (3, "1 activity +3")  # 2.5, rounded half up in both


def test_decayed_points_add_up_by_type_and_only_for_the_lead_they_relate_to():
    s = settings(engagement={"Call": 8, "Meeting": 10, "Note": 0}, half_life_days=10, engagement_cap=None)
    acts = [activity(10, "Call"), activity(20, "Meeting"), activity(0, "Note"), activity(0, "Meeting", "LEAD-0002"),
            activity(-3, "Meeting")]  # a planned meeting is not engagement yet
    result = one(lead(), s, acts)
    # 8 × 0.5 + 10 × 0.25 = 6.5, rounded half up
    assert result.score == 7
    assert result.why == "2 activities +7"


def test_engagement_is_capped():
    s = settings(engagement={"Meeting": 10}, engagement_cap=15)
    assert one(lead(), s, [activity(0, "Meeting")] * 5).score == 15


def test_score_is_clamped_to_0_100():
    up = settings(rule("Source", "equals", 30, value="Referral"), base=90)
    down = settings(rule("Source", "equals", -30, value="Referral"), base=10)
    assert one(lead(source="Referral"), up).score == 100
    assert one(lead(source="Referral"), down).score == 0


@pytest.mark.parametrize("base, grade", [(90, "A"), (89, "B"), (70, "B"), (69.5, "B"), (69.4, "C"), (50, "C"),
                                         (49, "D"), (0, "D")])
def test_grades_follow_thresholds(base, grade):
    s = settings(base=base, grades={"A": 90, "B": 70, "C": 50})
    assert one(lead(), s).grade == grade


def test_default_grades_are_80_60_40():
    s = ScoringSettings()
    assert [s.grades.grade(x) for x in (80, 79, 60, 59, 40, 39)] == ["A", "B", "B", "C", "C", "D"]


def test_why_lists_the_three_largest_factors_by_absolute_points():
    s = settings(rule("Source", "equals", 20, value="Referral"), rule("Title", "contains", 15, values=["CEO", "VP"]),
                 rule("Email", "present", 5), rule("Campaign", "equals", -25, value="Spam list"),
                 engagement={"Meeting": 4, "Email": 2, "Note": 1}, base=50)
    acts = [activity(0, "Meeting"), activity(0, "Email"), activity(0, "Note")]
    result = one(lead(source="Referral", title="CEO", email="a@b.example", campaign="Spam List"), s, acts)
    assert result.why == "Campaign = Spam list -25; Source = Referral +20; Title contains CEO +15"
    result = one(lead(source="Referral", title="CEO", email="a@b.example"), s, acts)
    assert result.why == "Source = Referral +20; Title contains CEO +15; 3 activities +7"
    assert result.score == 50 + 20 + 15 + 5 + 7
    assert one(lead(), s).why == "no rule matched"


def test_why_leaves_out_a_factor_that_shows_as_zero():
    """Two calls of long ago add 5 × 2^(-12) each: the Why said "2 activities +0.0", a reason
    that gave nothing. A factor that rounds to zero is left out; none left is "no rule matched"."""
    from sheetcrm.crm.rules import why

    s = settings(rule("Source", "equals", 20, value="Referral"), engagement={"Call": 5}, half_life_days=30)
    old = [activity(360, "Call"), activity(360, "Call")]
    assert one(lead(), s, old).why == "no rule matched"
    assert one(lead(source="Referral"), s, old).why == "Source = Referral +20"
    assert one(lead(), s, [activity(0, "Call")]).why == "1 activity +5"
    assert why([("a", 0.0499), ("b", -0.04)]) == ""
    assert why([("a", 0.05), ("b", -0.05)]) == "a +0.1; b -0.1"


def test_engagement_takes_the_form_submitted_activities_sheetcrm_logs():
    """`engagement = { "Form Submitted" = 8 }` stopped the config ("unknown activity type"),
    though the forms step logs every response as a Form Submitted activity. Every Type an
    activity reads as takes points, in either language."""
    s = settings(engagement={"Form Submitted": 8, "Llamada": 5}, half_life_days=30)
    assert s.engagement == {"Form Submitted": 8, "Call": 5}
    assert one(lead(), s, [activity(0, "Formulario enviado")]).why == "1 activity +8"
    with pytest.raises(ValidationError, match="unknown activity type"):
        settings(engagement={"Visit": 5})


def test_default_rules_score_the_default_columns():
    s = ScoringSettings()
    hot = lead(source="Referral", title="VP Sales", email="ana@acme.example", phone="+34 600", company="Acme")
    cold = lead(source="Cold Call", title="Intern")
    result = score_leads([hot, cold.model_copy(update={"id": "LEAD-0002"})], [], s, AS_OF)
    assert result.scores["LEAD-0001"].score == 30 + 20 + 15 + 15
    assert result.scores["LEAD-0001"].grade == "A"
    assert result.scores["LEAD-0002"].score == 10 and result.scores["LEAD-0002"].grade == "D"
    assert result.scores["LEAD-0002"].why == "Source = Cold Call -10; Title contains Intern -10"


@pytest.mark.parametrize("title, extra, right", [
    # A word inside another word is not that word: Intern in International or Internal, VP in
    # MVP, Head in Headhunter (found by a tester; base 30, Email +5, Company +5, Cold Call -10).
    ("International Sales Director", {"email": "b@acme.example"}, 30 + 15 + 5),
    ("Internal Auditor", {"company": "Acme"}, 30 + 5),
    ("MVP Developer", {}, 30),
    ("Headhunter", {"source": "Cold Call"}, 30 - 10),
    # Whole words, each inflection listed, case and accents folded.
    ("Directora Comercial", {}, 30 + 15),
    ("Jefe de Ventas", {}, 30 + 15),
    ("Vicepresidenta de Operaciones", {}, 30 + 15),
    ("Cofundadora y CEO", {}, 30 + 15),
    ("Co-founder", {}, 30 + 15),
    ("SVP, Sales", {}, 30 + 15),
    ("Head of Growth", {}, 30 + 15),
    ("Gerente de cuentas", {}, 30 + 5),
    ("Becaria en PRACTICAS", {}, 30 - 10),
    ("Marketing Intern", {}, 30 - 10),
])
def test_default_title_rules_match_whole_words_in_either_language(title, extra, right):
    assert one(lead(title=title, **extra), ScoringSettings()).score == right


def test_whole_words_is_a_contains_option_and_contains_alone_stays_a_substring():
    words = settings(rule("Title", "contains", 15, values=["VP", "Head"], whole_words=True))
    assert one(lead(title="VP Sales"), words).why == "Title contains VP +15"
    assert one(lead(title="Head of Sales, EMEA"), words).score == 15
    assert one(lead(title="MVP Developer"), words).score == 0
    assert one(lead(title="Headhunter"), words).score == 0
    anywhere = settings(rule("Email", "contains", 5, value="gmail"))
    assert one(lead(email="ana@gmail.com"), anywhere).score == 5          # teams' rules keep matching inside
    assert one(lead(title="MVP Developer"), settings(rule("Title", "contains", 15, value="VP"))).score == 15
    with pytest.raises(ValidationError, match="`whole_words` is for `contains` rules only"):
        settings(rule("Source", "equals", value="Web", whole_words=True))


def test_a_status_rule_compares_the_status_its_word_names_as_the_read_does():
    # A Spanish team's "Contactado" and a [lead_statuses] word ("Attempted") are the Status the
    # read understood (Contacted): a rule naming either gave no points, silently.
    from sheetcrm.records import lead_status_choices

    config = Config.model_validate({"lead_statuses": {"Contacted": ["Attempted"]}, "scoring": {
        "base": 0, "engagement": {}, "rules": [rule("Estado", "equals", 10, value="Contactado"),
                                               rule("Status", "in", 7, values=["Attempted", "Nuevo"])]}})
    read = parse_context(config)
    leads = [Lead.model_validate({"id": f"LEAD-{i}", "last_name": "Doe", "status": word}, context=read)
             for i, word in enumerate(["Attempted", "Contacted", "Nueva", "Qualified"])]
    result = score_leads(leads, [], config.scoring, AS_OF, statuses=lead_status_choices(config.lead_statuses))
    assert [s.score for s in result.scores.values()] == [17, 17, 7, 0]
    assert result.scores["LEAD-0"].why == "Estado = Contactado +10; Status = Attempted +7"  # the rule's words
    # Without the config's words a rule still reads the built-in ones in either language.
    assert one(lead(status="Contactada"), config.scoring).score == 10


def test_a_status_rule_naming_no_status_is_a_config_error_that_lists_the_statuses():
    for words in (["Contactda"], ["New", "Attempted"]):  # a typo; a word no [lead_statuses] gives
        with pytest.raises(ValidationError) as e:
            Config.model_validate({"scoring": {"rules": [rule("Status", "in", values=words)]}})
        assert (f'rule 1 on "Status": "{words[-1]}" is not a lead status; write one of New, Contacted, Qualified, '
                'Unqualified, Converted') in str(e.value)
    Config.model_validate({"lead_statuses": {"New": ["Attempted"]},
                           "scoring": {"rules": [rule("Status", "in", values=["New", "Attempted"])]}})
    # A Spanish team reads the statuses as it types them, not New, Contacted…
    from sheetcrm import i18n

    with i18n.using("es"), pytest.raises(ValidationError) as e:
        Config.model_validate({"scoring": {"rules": [rule("Estado", "equals", value="Contactda")]}})
    assert ('"Contactda" no es un estado de lead; escribe uno de Nuevo, Contactado, Calificado, No calificado, '
            'Convertido (o su palabra en inglés)') in str(e.value)


def test_a_contains_or_regex_rule_on_the_status_finds_its_text_in_every_word_of_the_status():
    # It looked in the English name alone: "Status contains Contactad" gave no lead its points,
    # however the Status cells were typed, while `equals "Contactado"` gave them to every
    # Contacted lead. It sees every word of the lead's status, the cell's own among them.
    from sheetcrm.records import lead_status_choices

    config = Config.model_validate({"lead_statuses": {"Contacted": ["Llamado"]}, "scoring": {
        "base": 0, "engagement": {}, "rules": [rule("Estado", "contains", 10, value="Contactad"),
                                               rule("Status", "regex", 5, value="^llam")]}})
    read = parse_context(config)
    leads = [Lead.model_validate({"id": f"LEAD-{i}", "last_name": "Doe", "status": word}, context=read)
             for i, word in enumerate(["Contacted", "Contactada", "Llamado", "Nuevo", "Convertido"])]
    result = score_leads(leads, [], config.scoring, AS_OF, statuses=lead_status_choices(config.lead_statuses))
    assert [s.score for s in result.scores.values()] == [15, 15, 15, 0, 0]
    assert result.scores["LEAD-0"].why == "Estado contains Contactad +10; Status matches \"llam\" +5"
    # A built-in word's match is named as the word is spelt.
    assert one(lead(status="Qualified"), settings(rule("Status", "regex", 4, value="^cualif"))).why == \
        'Status matches "Cualif" +4'


def test_a_contains_or_regex_rule_no_status_word_matches_is_a_config_error():
    for op, kw in (("contains", {"values": ["Contact", "Contactd"]}), ("regex", {"value": "^qualy"}),
                   ("contains", {"value": "cualif", "whole_words": True})):
        with pytest.raises(ValidationError) as e:
            Config.model_validate({"scoring": {"rules": [rule("Status", op, **kw)]}})
        assert f'rule 1 on "Status" ({op}): ' in str(e.value) and "is in no word of a lead status" in str(e.value)
    Config.model_validate({"lead_statuses": {"Contacted": ["Attempted"]},
                           "scoring": {"rules": [rule("Status", "regex", value="^attempt")]}})


def test_an_equals_rule_whose_value_names_a_currency_is_a_config_error():
    # `Budget = "5000 EUR"` compared the cell, in the base currency, with 5000: the EUR was dropped.
    for op, kw in (("equals", {"value": "5000 EUR"}), ("in", {"values": [100, "€1.200"]})):
        with pytest.raises(ValidationError) as e:
            Config.model_validate({"scoring": {"rules": [rule("Amount", op, **kw)]}})
        assert "names a currency, and a rule compares amounts in the base currency" in str(e.value)
    Config.model_validate({"scoring": {"rules": [rule("Currency", "equals", value="EUR")]}})


def test_a_money_rule_compares_amounts_in_the_base_currency_as_conditions_do():
    # "Budget ≥ 1000" gave its points to a "5000 MXN" budget (250 USD) and not to "900 EUR"
    # (1080 USD): the amount was compared as written, whatever its currency.
    from sheetcrm.crm.money import Rates
    from sheetcrm.crm.rules import NoRate
    from sheetcrm.records import Priced

    rates = Rates("USD", {"MXN": Decimal("0.05"), "EUR": Decimal("1.2")})
    s = settings(rule("Budget", "range", 10, min=1000), rule("Amount", "range", 100, min=1000),
                 rule("Budget", "present", 1))

    def budget(i: int, value: str, named: str | None = None, **fields) -> Lead:  # named: the cell's currency
        priced = {"Budget": Priced(currency=named)} if named else None
        return lead(id=f"LEAD-{i}", custom={"Budget": Decimal(value)}, priced=priced, row=i + 1, **fields)

    leads = [budget(0, "5000", "MXN"), budget(1, "900", "EUR"), budget(2, "5000", amount=5000, currency="MXN"),
             budget(3, "1200", amount=1200), budget(4, "800", "CHF")]
    result = score_leads(leads, [], s, AS_OF, money=["budget"], rates=rates)
    assert [result.scores[f"LEAD-{i}"].score for i in range(5)] == [1, 11, 1, 100, 1]
    # No rate for CHF: neither true nor false, said at the cell (engine._undecided_rules), never as written.
    (doubt,) = result.doubts
    assert (doubt.row, doubt.rule.column, doubt.problem) == (5, "Budget", NoRate(Decimal("800"), "CHF"))


def test_short_history_falls_back_to_rules_and_says_so():
    leads = ([lead(id=f"LEAD-{i}", status="Converted") for i in range(12)]
             + [lead(id=f"LEAD-{i + 100}", status="Unqualified") for i in range(30)]
             + [lead(id=None, status="New")])
    result = score_leads(leads, [], ScoringSettings(), AS_OF)
    assert result.method == "rules"
    assert result.note == ("learned model needs ≥ 50 converted and ≥ 50 unqualified leads; have 12 and 30; "
                           "scored by rules; 1 lead without an ID not scored (the next sync gives it one)")
    assert len(result.scores) == 42
    assert all(s.method == "rules" and s.conversion_pct is None for s in result.scores.values())


# --- evaluation helpers ---------------------------------------------------------------------

def test_roc_auc_is_exact_with_ties_sharing_their_mean_rank():
    # Pairs (pos, neg): (.9, .9) tie = 0.5, (.9, .1) = 1, (.5, .9) = 0, (.5, .1) = 1 → 2.5 / 4
    assert roc_auc([1, 0, 1, 0], [0.9, 0.9, 0.5, 0.1]) == 0.625
    assert roc_auc([1, 1, 0], [3, 2, 1]) == 1.0
    assert roc_auc([1, 1, 0], [1, 2, 3]) == 0.0
    assert roc_auc([0, 1, 0, 1], [5, 5, 5, 5]) == 0.5
    with pytest.raises(ValueError):
        roc_auc([1, 1], [0.2, 0.3])


def test_calibration_bins_by_tenths_and_leaves_out_empty_bins():
    bins = calibration([1, 0, 0, 1, 1], [0.05, 0.05, 0.1, 0.95, 1.0])
    assert bins == [{"bin": "0-10%", "predicted": 5.0, "observed": 50.0, "n": 2},
                    {"bin": "10-20%", "predicted": 10.0, "observed": 0.0, "n": 1},
                    {"bin": "90-100%", "predicted": 97.5, "observed": 100.0, "n": 2}]


def test_evaluate_splits_stratified_and_deterministically_and_scores_rules_when_history_is_short():
    leads = ([lead(id=f"C{i}", status="Converted", source="Referral") for i in range(10)]
             + [lead(id=f"U{i}", status="Unqualified", source="Cold Call") for i in range(20)]
             + [lead(id="N1", status="New")])
    out = evaluate(leads, [], ScoringSettings(), AS_OF, seed=3)
    assert set(out) == {"method", "auc", "n_train", "n_test", "calibration", "note"} and out["method"] == "rules"
    assert out["note"].startswith("learned model needs ≥ 50 converted") and out["note"].endswith("; scored by rules")
    assert (out["n_train"], out["n_test"]) == (21, 9)   # 3 of 10 converted and 6 of 20 unqualified held out
    assert out["auc"] == 1.0                            # the rules separate referrals from cold calls
    assert sum(b["n"] for b in out["calibration"]) == 9
    assert out == evaluate(leads, [], ScoringSettings(), AS_OF, seed=3)
    with pytest.raises(ValueError, match="at least 2 converted"):
        evaluate(leads[10:], [], ScoringSettings(), AS_OF)
