import datetime as dt
from decimal import Decimal

from sheetcrm.config import Config, Stage
from sheetcrm.crm.stages import RelatedIndex, StageTable, opportunity_metrics
from sheetcrm.records import Activity, Contact, Opportunity, Task
from sheetcrm.validate import parse_context

CONFIG = Config()
CTX = parse_context(CONFIG)
STAGES = StageTable.of(CONFIG.stages)
AS_OF = dt.date(2024, 5, 20)


def opp(**fields) -> Opportunity:
    data = {"id": "OPP-1", "name": "Deal", "account": "ACC-1", "stage": "Negotiation", **fields}
    return Opportunity.model_validate(data, context=CTX)


def one(o: Opportunity, as_of: dt.date = AS_OF, **kw):
    [m] = opportunity_metrics([o], STAGES, as_of, **kw)
    return m


def test_stage_table_is_ordered_and_looked_up_by_name():
    assert [s.name for s in STAGES.open] == ["Prospecting", "Qualification", "Proposal", "Negotiation"]
    assert STAGES.order("Prospecting") == 0 and STAGES.order("Closed Lost") == 5
    assert STAGES.kind("Closed Won") == "won" and STAGES.kind("nope") is None
    assert STAGES.probability("Proposal") == Decimal("50")
    assert str(STAGES.probability("Proposal")) == "50"


def test_probability_is_the_rows_override_else_the_stages():
    assert one(opp(stage="Proposal")).probability == Decimal("50")
    assert one(opp(stage="Proposal", probability="30%")).probability == Decimal("30")


def test_closed_stages_ignore_the_override():
    assert one(opp(stage="Won", probability="30")).probability == Decimal("100")
    assert one(opp(stage="Lost", probability="30")).probability == Decimal("0")


def test_weighted_amount_is_amount_times_probability_in_the_rows_currency():
    m = one(opp(stage="Proposal", amount="1000.50", currency="EUR", probability="30"))
    assert m.weighted_amount == Decimal("300.15")
    assert one(opp(stage="Negotiation", amount="200")).weighted_amount == Decimal("150")
    assert one(opp(stage="Negotiation")).weighted_amount is None


def test_forecast_category_comes_from_the_stage_unless_overridden():
    assert one(opp(stage="Proposal")).forecast_category == "Best Case"
    assert one(opp(stage="Negotiation")).forecast_category == "Commit"
    assert one(opp(stage="Won")).forecast_category == "Closed"
    assert one(opp(stage="Proposal"), category_overrides={"OPP-1": "Commit"}).forecast_category == "Commit"
    assert one(opp(stage="Proposal"), category_overrides={"OPP-9": "Commit"}).forecast_category == "Best Case"


def test_days_in_stage_from_history_else_created_else_unknown():
    o = opp(created="2024-04-01")
    m = one(o, stage_entered={"OPP-1": dt.date(2024, 5, 1)})
    assert (m.stage_entered, m.days_in_stage) == (dt.date(2024, 5, 1), 19)
    assert one(o).days_in_stage == 49           # 30 days of April left + 19
    assert one(opp()).days_in_stage is None


ACTIVITIES = [
    Activity(date=dt.date(2024, 5, 3), related="OPP-1"),
    Activity(date=dt.date(2024, 5, 10), related="OPP-1"),
    Activity(date=dt.date(2024, 5, 12), related="CON-1"),
    Activity(date=dt.date(2024, 5, 19), related="ACC-1"),   # the account's: not this deal's
    Activity(date=dt.date(2024, 5, 18), related="OPP-2"),
    Activity(date=dt.date(2024, 5, 19)),
]
CONTACTS = [Contact(id="CON-1", account="ACC-1", first_name="Ana", last_name="Diaz", email="ana@acme.com")]


def test_last_activity_is_the_deals_own_or_its_contacts():
    index = RelatedIndex.build(ACTIVITIES, contacts=CONTACTS, as_of=dt.date(2024, 5, 23))
    assert one(opp(), related=index).last_activity == dt.date(2024, 5, 10)
    for contact in ("CON-1", "Ana Diaz", "ana@acme.com"):
        assert one(opp(contact=contact), related=index).last_activity == dt.date(2024, 5, 12)
    assert one(opp(id="OPP-3"), related=index).last_activity is None


def test_a_future_dated_activity_is_a_plan_not_a_last_activity():
    planned = [*ACTIVITIES, Activity(date=dt.date(2024, 6, 1), related="OPP-1")]
    index = RelatedIndex.build(planned, as_of=dt.date(2024, 5, 20))
    deal = opp(stage="Negotiation")                    # rotting_days 7; its last call 2024-05-10
    m = one(deal, dt.date(2024, 5, 20), stage_entered={"OPP-1": dt.date(2024, 5, 1)}, related=index)
    assert (m.last_activity, m.rotting) == (dt.date(2024, 5, 10), True)
    # On its day the meeting has happened.
    index = RelatedIndex.build(planned, as_of=dt.date(2024, 6, 1))
    assert one(deal, dt.date(2024, 6, 1), related=index).last_activity == dt.date(2024, 6, 1)


def test_rotting_after_more_than_the_stages_rotting_days_since_the_last_sign_of_life():
    index = RelatedIndex.build(ACTIVITIES, contacts=CONTACTS, as_of=dt.date(2024, 5, 23))
    entered = {"OPP-1": dt.date(2024, 5, 1)}
    deal = opp(stage="Negotiation", contact="CON-1")    # rotting_days 7, last activity 2024-05-12
    assert one(deal, dt.date(2024, 5, 19), stage_entered=entered, related=index).rotting is False  # 7 days
    assert one(deal, dt.date(2024, 5, 20), stage_entered=entered, related=index).rotting is True   # 8 days
    # Entering the stage is a sign of life too.
    assert one(deal, dt.date(2024, 5, 20), stage_entered={"OPP-1": dt.date(2024, 5, 15)},
               related=index).rotting is False
    # Proposal allows 10 days.
    assert one(opp(stage="Proposal", contact="CON-1"), dt.date(2024, 5, 20), related=index).rotting is False
    assert one(opp(stage="Proposal", contact="CON-1"), dt.date(2024, 5, 23), related=index).rotting is True


def test_closed_and_undated_deals_never_rot():
    assert one(opp(stage="Won", created="2020-01-01")).rotting is False
    assert one(opp(stage="Lost", created="2020-01-01")).rotting is False
    assert one(opp(stage="Negotiation")).rotting is False
    assert one(opp(stage="Negotiation", created="2020-01-01")).rotting is True


def test_a_stage_without_rotting_days_never_rots():
    config = Config(stages=[Stage(name="Open", probability=40), Stage(name="Won", probability=100, kind="won")])
    stages = StageTable.of(config.stages)
    o = Opportunity.model_validate({"id": "OPP-1", "name": "D", "account": "A", "stage": "Open",
                                    "created": "2020-01-01"}, context=parse_context(config))
    [m] = opportunity_metrics([o], stages, AS_OF)
    assert (m.rotting, m.probability, m.forecast_category) == (False, Decimal("40"), "Pipeline")


def test_next_step_is_the_first_open_task_of_the_deal():
    tasks = [
        Task(due=dt.date(2024, 5, 25), subject="Send contract", related="OPP-1", status="Open"),
        Task(due=dt.date(2024, 5, 22), subject="Call CFO", related="OPP-1"),
        Task(due=dt.date(2024, 5, 21), subject="Old", related="OPP-1", status="Done"),
        Task(due=dt.date(2024, 5, 1), subject="Other deal", related="OPP-2", status="Open"),
    ]
    index = RelatedIndex.build(tasks=tasks, as_of=AS_OF)
    assert one(opp(), related=index).next_step == "2024-05-22 Call CFO"
    assert one(opp(id="OPP-3"), related=index).next_step is None


def test_metrics_keep_the_order_of_the_opportunities():
    opps = [opp(id="OPP-1", stage="Prospecting"), opp(id=None, stage="Won"), opp(id="OPP-2", stage="Proposal")]
    metrics = opportunity_metrics(opps, STAGES, AS_OF)
    assert [m.probability for m in metrics] == [Decimal("10"), Decimal("100"), Decimal("50")]


def test_a_contact_name_two_contacts_share_lends_neither_ones_activity_to_the_deal(tmp_path):
    # Two John Smiths: the deal's Contact names both (the read warns at the cell). The first
    # one's call on 2026-12-01 was his, not necessarily this deal's: never its Last Activity,
    # nor what keeps it from rotting. A name one contact has still lends that contact's.
    from books import xlsx
    from sheetcrm.sync import sync
    from sheetcrm.workbook.xlsx import XlsxWorkbook

    path = xlsx(tmp_path / "c.xlsx", {
        "Accounts": [["ID", "Name"], ["ACC-0001", "Acme"]],
        "Contacts": [["ID", "Account", "First Name", "Last Name", "Email"],
                     ["CON-0001", "Acme", "John", "Smith", "john1@acme.com"],
                     ["CON-0002", "Acme", "John", "Smith", "john2@acme.com"],
                     ["CON-0003", "Acme", "Ana", "Diaz", "ana@acme.com"]],
        "Opportunities": [["ID", "Name", "Account", "Contact", "Stage", "Amount", "Created"],
                          ["OPP-0001", "D1", "Acme", "John Smith", "Proposal", 1000, dt.date(2026, 10, 1)],
                          ["OPP-0002", "D2", "Acme", "Ana Diaz", "Proposal", 1000, dt.date(2026, 10, 1)]],
        "Activities": [["ID", "Date", "Type", "Subject", "Related"],
                       ["ACT-0001", dt.date(2026, 12, 1), "Call", "Hi", "CON-0001"],
                       ["ACT-0002", dt.date(2026, 12, 1), "Call", "Hi", "CON-0003"]]})
    outcome = sync(XlsxWorkbook(path), Config(), as_of=dt.date(2026, 12, 3))
    assert [i.code for i in outcome.crm.report.issues if i.column == "D"] == ["ambiguous_reference"]
    shared, own = outcome.results.metrics
    assert (shared.last_activity, shared.rotting) == (None, True)
    assert (own.last_activity, own.rotting) == (dt.date(2026, 12, 1), False)
