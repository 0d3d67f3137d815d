import datetime as dt
from decimal import Decimal

from sheetcrm.config import Config
from sheetcrm.crm.history import (HistoryRow, latest, lead_states, opportunity_states, record_changes, sales_cycles,
                                  stage_conversion, stage_entered, stage_win_rates, timelines, unordered)
from sheetcrm.crm.money import Rates, points_text
from sheetcrm.crm.stages import StageTable
from sheetcrm.records import Lead, Opportunity
from sheetcrm.validate import parse_context

CONFIG = Config()
CTX = parse_context(CONFIG)
STAGES = StageTable.of(CONFIG.stages)
DAY1, DAY2, DAY3 = dt.date(2024, 5, 1), dt.date(2024, 5, 8), dt.date(2024, 5, 15)


def opp(id, stage, amount="100") -> Opportunity:
    return Opportunity.model_validate({"id": id, "name": f"Deal {id}", "account": "Acme", "stage": stage,
                                       "amount": amount}, context=CTX)


def test_first_seen_records_the_initial_stage_with_an_empty_from():
    rows = record_changes([], {"OPP-1": ("Prospecting", Decimal("100")), "OPP-2": ("Proposal", None)}, DAY1)
    assert rows == [HistoryRow("OPP-1", None, "Prospecting", DAY1, Decimal("100")),
                    HistoryRow("OPP-2", None, "Proposal", DAY1, None)]
    assert rows[0].cells() == ["OPP-1", "", "Prospecting", DAY1, Decimal("100")]


def test_a_stage_change_appends_one_row_from_the_last_logged_stage():
    history = record_changes([], {"OPP-1": ("Prospecting", Decimal("100"))}, DAY1)
    assert record_changes(history, {"OPP-1": ("Prospecting", Decimal("100"))}, DAY2) == []
    change = record_changes(history, {"OPP-1": ("Qualification", Decimal("120"))}, DAY2)
    assert change == [HistoryRow("OPP-1", "Prospecting", "Qualification", DAY2, Decimal("120"))]


def test_an_amount_change_alone_is_not_a_stage_change():
    history = record_changes([], {"OPP-1": ("Proposal", Decimal("100"))}, DAY1)
    assert record_changes(history, {"OPP-1": ("Proposal", Decimal("999"))}, DAY2) == []


def test_sorting_and_inserting_opportunities_changes_nothing():
    opps = [opp("OPP-1", "Prospecting"), opp("OPP-2", "Proposal"), opp("OPP-3", "Negotiation")]
    history = record_changes([], opportunity_states(opps), DAY1)
    assert len(history) == 3
    resorted = [opps[2], opp(None, "Proposal"), opps[0], opps[1]]     # sorted, plus a row not yet given an ID
    assert record_changes(history, opportunity_states(resorted), DAY2) == []
    inserted = [opps[1], opp("OPP-4", "Qualification", "50"), opps[2], opps[0]]
    assert record_changes(history, opportunity_states(inserted), DAY2) == [
        HistoryRow("OPP-4", None, "Qualification", DAY2, Decimal("50"))]


def test_opportunities_without_id_are_ignored():
    assert opportunity_states([opp(None, "Proposal")]) == {}
    assert record_changes([], {"": ("Proposal", None)}, DAY1) == []


def test_the_last_logged_row_is_the_latest_even_when_the_history_tab_was_sorted():
    history = [HistoryRow("OPP-1", "Qualification", "Proposal", DAY2),
               HistoryRow("OPP-1", None, "Qualification", DAY1)]           # newest first
    assert record_changes(history, {"OPP-1": ("Proposal", None)}, DAY3) == []
    assert record_changes(history, {"OPP-1": ("Negotiation", None)}, DAY3) == [
        HistoryRow("OPP-1", "Proposal", "Negotiation", DAY3)]
    assert stage_entered(history) == {"OPP-1": DAY2}


def test_same_day_rows_keep_their_order():
    history = [HistoryRow("OPP-1", None, "Prospecting", DAY1), HistoryRow("OPP-1", "Prospecting", "Proposal", DAY1)]
    assert [r.to_value for r in timelines(history)["OPP-1"]] == ["Prospecting", "Proposal"]
    assert record_changes(history, {"OPP-1": ("Proposal", None)}, DAY2) == []


def test_lead_status_history_works_alone_and_in_a_tab_shared_with_opportunities():
    leads = [Lead(id="LEAD-0001", last_name="Diaz", status="New"), Lead(id="LEAD-0002", company="Acme"),
             Lead(last_name="No ID", status="New")]
    assert lead_states(leads) == {"LEAD-0001": ("New", None)}           # no status yet, no ID: nothing to log
    first = record_changes([], lead_states(leads), DAY1)
    assert first == [HistoryRow("LEAD-0001", None, "New", DAY1)]

    shared = [HistoryRow("OPP-1", None, "Proposal", DAY1), *first]
    moved = [Lead(id="LEAD-0001", last_name="Diaz", status="Contacted"),
             Lead(id="LEAD-0002", company="Acme", status="New")]
    assert record_changes(shared, lead_states(moved), DAY2) == [
        HistoryRow("LEAD-0001", "New", "Contacted", DAY2), HistoryRow("LEAD-0002", None, "New", DAY2)]
    # The deals in the shared tab are untouched by a lead sync, and vice versa.
    assert record_changes(shared, opportunity_states([opp("OPP-1", "Proposal")]), DAY2) == []


def _log(record_id, *steps):
    rows, before = [], None
    for day, stage in steps:
        rows.append(HistoryRow(record_id, before, stage, day))
        before = stage
    return rows


D = dt.date
HISTORY = [
    *_log("A", (D(2024, 1, 1), "Prospecting"), (D(2024, 1, 10), "Qualification"), (D(2024, 2, 1), "Proposal"),
          (D(2024, 3, 1), "Closed Won")),
    *_log("B", (D(2024, 1, 1), "Prospecting"), (D(2024, 1, 5), "Qualification"), (D(2024, 2, 5), "Closed Lost")),
    *_log("C", (D(2024, 1, 1), "Prospecting")),
    *_log("D", (D(2024, 2, 1), "Proposal"), (D(2024, 2, 10), "Negotiation"), (D(2024, 3, 10), "Closed Lost")),
    *_log("E", (D(2024, 1, 20), "Qualification"), (D(2024, 2, 4), "Closed Won")),
]


def test_stage_entered_is_the_last_change_of_each_id():
    assert stage_entered(HISTORY) == {"A": D(2024, 3, 1), "B": D(2024, 2, 5), "C": D(2024, 1, 1),
                                      "D": D(2024, 3, 10), "E": D(2024, 2, 4)}


def test_sales_cycle_is_first_seen_to_won():
    # A: 31 days of January + 29 of February (2024 is a leap year); E: 11 + 4.
    assert sales_cycles(HISTORY, STAGES) == {"A": 60, "E": 15}


def test_stage_to_stage_conversion():
    got = {c.stage: (c.reached, c.advanced, points_text(c.rate)) for c in stage_conversion(HISTORY, STAGES)}
    assert got == {
        "Prospecting": (3, 2, "66.7"),      # A, B moved on; C still there
        "Qualification": (3, 2, "66.7"),    # A to Proposal, E straight to Won; B lost
        "Proposal": (2, 2, "100.0"),        # A won, D to Negotiation
        "Negotiation": (1, 0, "0.0"),       # D lost
    }


def test_historical_win_rate_per_stage_beside_the_configured_probability():
    got = {c.stage: (c.configured, c.n, c.won, points_text(c.historical)) for c in stage_win_rates(HISTORY, STAGES)}
    assert got == {
        "Prospecting": (Decimal("10"), 2, 1, "50.0"),     # A won, B lost; C still open
        "Qualification": (Decimal("20"), 3, 2, "66.7"),   # A, E won; B lost
        "Proposal": (Decimal("50"), 2, 1, "50.0"),        # A won, D lost
        "Negotiation": (Decimal("75"), 1, 0, "0.0"),      # D lost
    }


def test_win_rate_of_a_stage_no_closed_deal_went_through_is_unknown():
    [p, *_] = stage_win_rates(_log("C", (D(2024, 1, 1), "Prospecting")), STAGES)
    assert (p.stage, p.n, p.historical) == ("Prospecting", 0, None)


def test_statistics_do_not_depend_on_the_order_of_the_history_tab():
    shuffled = HISTORY[::-1][1::2] + HISTORY[::-1][::2]
    assert shuffled != HISTORY and sorted(map(repr, shuffled)) == sorted(map(repr, HISTORY))
    assert stage_conversion(shuffled, STAGES) == stage_conversion(HISTORY, STAGES)
    assert stage_win_rates(shuffled, STAGES) == stage_win_rates(HISTORY, STAGES)
    assert sales_cycles(shuffled, STAGES) == {"A": 60, "E": 15}
    assert stage_entered(shuffled) == stage_entered(HISTORY)


def test_same_day_changes_are_ordered_by_how_they_chain_not_by_row_order():
    """Changed At is a day; `run` syncs every few minutes and people sort the tab."""
    chain = [HistoryRow("OPP-1", None, "Prospecting", DAY1), HistoryRow("OPP-1", "Prospecting", "Proposal", DAY2),
             HistoryRow("OPP-1", "Proposal", "Negotiation", DAY2)]
    for rows in (chain, [chain[0], chain[2], chain[1]], chain[::-1]):
        assert record_changes(rows, {"OPP-1": ("Negotiation", None)}, DAY3) == []
        assert record_changes(rows, {"OPP-1": ("Closed Won", None)}, DAY3) == [
            HistoryRow("OPP-1", "Negotiation", "Closed Won", DAY3)]
        assert [r.to_value for r in timelines(rows)["OPP-1"]] == ["Prospecting", "Proposal", "Negotiation"]
        assert unordered(rows) == []


def test_a_day_that_goes_round_ends_where_it_began():
    there_and_back = [HistoryRow("OPP-1", "Proposal", "Prospecting", DAY2),
                      HistoryRow("OPP-1", "Prospecting", "Proposal", DAY2),
                      HistoryRow("OPP-1", None, "Prospecting", DAY1)]
    assert latest(there_and_back)["OPP-1"].to_key == "Prospecting"
    assert record_changes(there_and_back, {"OPP-1": ("Prospecting", None)}, DAY3) == []
    # The same change twice on one day (there, back, there again) agrees with itself.
    twice = [*there_and_back, HistoryRow("OPP-1", "Prospecting", "Proposal", DAY2)]
    assert latest(twice[::-1])["OPP-1"].to_key == "Proposal"


def test_same_day_rows_that_do_not_chain_are_unordered_and_never_guessed():
    rows = [HistoryRow("OPP-1", None, "Prospecting", DAY1), HistoryRow("OPP-1", "Prospecting", "Proposal", DAY2),
            HistoryRow("OPP-1", "Prospecting", "Negotiation", DAY2)]
    [doubt] = unordered(rows)
    assert (doubt.record_id, doubt.day, doubt.ends) == ("OPP-1", DAY2, frozenset({"Proposal", "Negotiation"}))
    assert record_changes(rows, {"OPP-1": ("Proposal", None)}, DAY3) == []
    assert record_changes(rows, {"OPP-1": ("Negotiation", None)}, DAY3) == []
    # Where it came from cannot be told: an empty From, as for a record first seen.
    assert record_changes(rows, {"OPP-1": ("Closed Won", None)}, DAY3) == [
        HistoryRow("OPP-1", None, "Closed Won", DAY3)]


def test_a_change_is_never_dated_before_the_change_it_follows():
    ahead = [HistoryRow("OPP-1", None, "Prospecting", DAY1), HistoryRow("OPP-1", "Prospecting", "Proposal", DAY3)]
    assert record_changes(ahead, {"OPP-1": ("Negotiation", None)}, DAY2) == [
        HistoryRow("OPP-1", "Proposal", "Negotiation", DAY3)]


def test_stage_entered_counts_from_created_when_the_log_only_saw_the_stage():
    rows = [HistoryRow("OPP-1", None, "Negotiation", DAY2), HistoryRow("OPP-2", None, "Proposal", DAY2),
            HistoryRow("OPP-3", None, "Proposal", DAY1), HistoryRow("OPP-3", "Proposal", "Negotiation", DAY2)]
    created = {"OPP-1": DAY1, "OPP-2": None, "OPP-3": dt.date(2024, 1, 1)}
    # OPP-1: first seen in Negotiation, created earlier; OPP-2: no Created; OPP-3: seen entering.
    assert stage_entered(rows, created) == {"OPP-1": DAY1, "OPP-2": DAY2, "OPP-3": DAY2}
    # A Created after the day sheetcrm saw it: no deal is in a stage before it exists, so the log's
    # rows are another deal's under the ID (or Created is wrong: history_before_created says so at
    # the ID). It used to count from the log's day, the other deal's.
    assert stage_entered(rows[:1], {"OPP-1": DAY3}) == {"OPP-1": DAY3}
    assert stage_entered(rows[3:], {"OPP-3": DAY3}) == {"OPP-3": DAY3}


def test_opportunity_states_put_amounts_in_the_base_currency():
    rates = Rates("USD", {"EUR": Decimal("1.5")})
    def deal(id, amount, currency):
        return Opportunity.model_validate({"id": id, "name": id, "account": "Acme", "stage": "Proposal",
                                           "amount": amount, "currency": currency}, context=CTX)

    deals = [deal("OPP-1", "1234.56", "EUR"), deal("OPP-2", "100", None), deal("OPP-3", "700", "GBP")]
    assert opportunity_states(deals, rates) == {"OPP-1": ("Proposal", Decimal("1851.840")),
                                                "OPP-2": ("Proposal", Decimal("100")), "OPP-3": ("Proposal", None)}


def test_a_change_logged_with_an_empty_from_after_earlier_rows_counts_from_its_own_day():
    """After a day that does not chain, a change is logged with an empty From (where it came
    from cannot be told), but sheetcrm saw the record in another stage before it: it entered
    this one since, never on its Created day, which would make a deal that just moved rot."""
    rows = [HistoryRow("OPP-1", None, "Prospecting", DAY1), HistoryRow("OPP-1", "Prospecting", "Proposal", DAY2),
            HistoryRow("OPP-1", "Prospecting", "Negotiation", DAY2)]
    rows += record_changes(rows, {"OPP-1": ("Closed Won", None)}, DAY3)
    assert rows[-1].from_value is None
    assert stage_entered(rows, {"OPP-1": dt.date(2024, 1, 1)}) == {"OPP-1": DAY3}


def test_a_last_day_that_does_not_chain_counts_in_the_win_rates_whatever_the_tab_s_order():
    """Negotiation -> Closed Won and Negotiation -> Closed Lost on one day: won or lost cannot be
    told, so the deal is in no stage's closed deals, in either order of the rows."""
    rows = [HistoryRow("OPP-1", None, "Negotiation", DAY1), HistoryRow("OPP-1", "Negotiation", "Closed Won", DAY2),
            HistoryRow("OPP-1", "Negotiation", "Closed Lost", DAY2), HistoryRow("OPP-2", None, "Negotiation", DAY1),
            HistoryRow("OPP-2", "Negotiation", "Closed Won", DAY2)]
    for order in (rows, [rows[0], rows[2], rows[1], *rows[3:]]):
        got = {r.stage: (r.n, r.won) for r in stage_win_rates(order, STAGES)}
        assert got["Negotiation"] == (1, 1)
