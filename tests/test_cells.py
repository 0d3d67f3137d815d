import datetime as dt
import pickle
from decimal import Decimal

from email_validator import EmailNotValidError, validate_email

import pytest

from sheetcrm import cells
from sheetcrm.i18n import using
from sheetcrm.cells import (
    CellError,
    date_style,
    enum_choices,
    has_time,
    is_blank,
    normalize_key,
    offset_of,
    parse_bool,
    parse_currency,
    parse_date,
    parse_day,
    parse_email,
    parse_enum,
    parse_integer,
    parse_number,
    parse_percent,
    parse_text,
    time_of,
)


@pytest.fixture(autouse=True)
def _english(monkeypatch):
    # These tests assert English messages; outside a sync the environment's language speaks.
    monkeypatch.setenv("SHEETCRM_LANG", "en")


BLANKS = [None, "", "   ", "\u00a0", " \t\u202f\u2009 ", "\u200b"]

PARSERS = [
    parse_text,
    parse_number,
    parse_integer,
    parse_percent,
    parse_date,
    parse_bool,
    parse_email,
    parse_currency,
    lambda raw: parse_enum(raw, {"won": "Won"}, "stage"),
]


def shown(raw) -> str:
    """A cell as a message names it: a yes/no cell as a spreadsheet app shows it (TRUE), not as
    Python prints it (True)."""
    return str(raw).upper() if isinstance(raw, bool) else str(raw)


def assert_cell_error(exc: CellError, code: str, shown: str) -> None:
    assert exc.code == code
    assert shown in exc.message
    assert str(exc) == exc.message
    assert exc.hint.strip()


# --- keys, blanks, text -------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, key",
    [
        ("  Fecha de  CIERRE ", "fecha de cierre"),
        ("Líneas", "lineas"),
        ("close_date", "close date"),
        ("Closed-Won", "closed won"),
        ("  ÉTAPA\u00a0\tfinal ", "etapa final"),
        ("Straße", "strasse"),
        # A CSV export's byte-order mark sticks to the first header.
        ("\ufeffName", "name"),
        ("", ""),
    ],
)
def test_normalize_key(raw, key):
    assert normalize_key(raw) == key


@pytest.mark.parametrize("raw", BLANKS)
def test_is_blank_true(raw):
    assert is_blank(raw) is True


@pytest.mark.parametrize("raw", ["x", " 0 ", 0, 0.0, False, dt.date(2024, 1, 1)])
def test_is_blank_false(raw):
    assert is_blank(raw) is False


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize("raw", BLANKS)
def test_every_parser_reads_blank_as_none(parser, raw):
    assert parser(raw) is None


@pytest.mark.parametrize(
    "raw, text",
    [
        ("  Ana López\u00a0", "Ana López"),
        ("\u200bAcme\ufeff", "Acme"),
        ("two  spaces", "two  spaces"),
        (42, "42"),
        (42.0, "42"),
        (0.1, "0.1"),
        (1.5e-7, "0.00000015"),
        (34612345678.0, "34612345678"),
        (True, "TRUE"),
        (dt.date(2024, 3, 15), "2024-03-15"),
        (dt.datetime(2024, 3, 15, 10, 30), "2024-03-15T10:30:00"),
    ],
)
def test_parse_text(raw, text):
    assert parse_text(raw) == text


# --- numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, locale, value",
    [
        (1234, "en", Decimal("1234")),
        (0.1, "en", Decimal("0.1")),
        (1200.0, "en", Decimal("1200")),
        (-3.25, "es", Decimal("-3.25")),
        ("1234.5", "en", Decimal("1234.5")),
        ("1,234.50", "en", Decimal("1234.50")),
        ("1.234,50", "es", Decimal("1234.50")),
        # With both separators the last one is decimal whatever the locale.
        ("1.234,50", "en", Decimal("1234.50")),
        ("1,234.50", "es", Decimal("1234.50")),
        ("1,234,567", "en", Decimal("1234567")),
        ("1.234.567", "es", Decimal("1234567")),
        ("1.200", "es", Decimal("1200")),
        # Decimal keeps the digits as typed; 1.200 == 1.2.
        ("1.200", "en", Decimal("1.200")),
        ("1,200", "en", Decimal("1200")),
        ("1,200", "es", Decimal("1.200")),
        ("12,5", "es", Decimal("12.5")),
        (".5", "en", Decimal("0.5")),
        ("-1,200.5", "en", Decimal("-1200.5")),
        ("\u22121,200.5", "en", Decimal("-1200.5")),
        ("(1,200)", "en", Decimal("-1200")),
        ("1 234,5", "es", Decimal("1234.5")),
        ("1 234,5", "en", Decimal("1234.5")),
        ("1\u00a0234\u00a0567", "en", Decimal("1234567")),
        ("1\u202f234.5", "en", Decimal("1234.5")),
        ("1\u2009234", "es", Decimal("1234")),
        # The figure space (a digit's width, what some tools group with) as the space is.
        ("1\u2007234", "en", Decimal("1234")),
        ("1\u2007234\u2007567,5", "es", Decimal("1234567.5")),
        ("1\u202f234", "es", Decimal("1234")),
        ("+5", "en", Decimal("5")),
        ("  42\u00a0", "en", Decimal("42")),
        ("007", "en", Decimal("7")),
    ],
)
def test_parse_number(raw, locale, value):
    result = parse_number(raw, locale)
    assert isinstance(result, Decimal)
    assert result == value
    assert str(result) == str(value)


@pytest.mark.parametrize(
    "raw, locale, value",
    [
        ("$1,200", "en", Decimal("1200")),
        ("1.200 €", "es", Decimal("1200")),
        ("1.200,50€", "es", Decimal("1200.50")),
        ("USD 1,200", "en", Decimal("1200")),
        ("1,200 usd", "en", Decimal("1200")),
        ("£5", "en", Decimal("5")),
        ("-$1,200", "en", Decimal("-1200")),
        ("$-1,200", "en", Decimal("-1200")),
        ("(1.200,50 €)", "es", Decimal("-1200.50")),
        ("1,234.50", "en", Decimal("1234.50")),
    ],
)
def test_parse_amount_reads_an_amount_with_or_without_its_currency(raw, locale, value):
    result = cells.parse_amount(raw, locale)
    assert result == value and str(result) == str(value)


@pytest.mark.parametrize("parse, raw, code", [
    (parse_number, "$50", "bad_number"), (parse_number, "50 €", "bad_number"), (parse_number, "5 EUR", "bad_number"),
    (parse_integer, "5 EUR", "bad_integer"), (parse_integer, "US$ 12", "bad_integer"),
    (parse_percent, "$50", "bad_percent"), (parse_percent, "50 €", "bad_percent"), (parse_percent, "50 € %", "bad_percent"),
])
def test_a_number_that_is_no_amount_refuses_a_currency(parse, raw, code):
    # "$50" under Discount % meant $50 off, not 50 % off: never read with its currency dropped.
    with pytest.raises(CellError) as caught:
        parse(raw, "en")
    assert caught.value.code == code
    assert "currency" in caught.value.message and "currency" in caught.value.hint


@pytest.mark.parametrize("raw, locale", [("0,925", "en"), ("0.925", "es"), ("0,925.5", "en"), ("00,925", "en"),
                                         ("0 925", "en")])
def test_a_leading_zero_group_is_never_thousands(raw, locale):
    # "0,925" is a decimal comma (0.925), impossible in "en", where a comma groups thousands:
    # an error naming the other locale, never 925.
    with pytest.raises(CellError) as caught:
        parse_number(raw, locale)
    assert caught.value.code == "bad_number"
    assert "0" in caught.value.message and ('"es"' in caught.value.hint if locale == "en" else '"en"' in caught.value.hint)
    assert parse_number("0,925", "es") == Decimal("0.925") and parse_number("0.925", "en") == Decimal("0.925")


@pytest.mark.parametrize(
    "raw, locale, mentions",
    [
        ("abc", "en", ""),
        ("12abc", "en", '"abc" is not a currency'),
        ("1,2,3.4.5", "en", ""),
        ("nan", "en", ""),
        ("inf", "en", ""),
        ("-", "en", ""),
        ("1e5", "en", ""),
        ("1,5", "en", "thousands"),
        ("12,50", "en", "thousands"),
        ("1.234.567", "en", "decimals"),
        ("12.5", "es", "thousands"),
        ("1,234,567", "es", "decimals"),
        ("12 34", "en", "thousands"),
        ("1 234.567,8", "en", "mixes"),
        ("(1,200", "en", "parentheses"),
        ("(-5)", "en", "more than one sign"),
        ("-+5", "en", "more than one sign"),
        ("$5 EUR", "en", "currency twice"),
        ("12.", "en", ""),
    ],
)
def test_parse_number_rejects(raw, locale, mentions):
    with pytest.raises(CellError) as info:
        parse_number(raw, locale)
    assert_cell_error(info.value, "bad_number", raw)
    assert mentions in info.value.message


def test_parse_number_hint_names_the_other_locale():
    with pytest.raises(CellError) as info:
        parse_number("1,5", "en")
    assert 'locale "es"' in info.value.hint
    with pytest.raises(CellError) as info:
        parse_number("12.5", "es")
    assert 'locale "en"' in info.value.hint


@pytest.mark.parametrize(
    "raw", [True, False, float("nan"), float("inf"), dt.date(2024, 1, 1), dt.datetime(2024, 1, 1)]
)
def test_parse_number_rejects_native_non_numbers(raw):
    with pytest.raises(CellError) as info:
        parse_number(raw)
    assert_cell_error(info.value, "bad_number", shown(raw))


def test_unknown_locale_is_a_programming_error_not_a_cell_error():
    with pytest.raises(ValueError) as info:
        parse_number("1", "fr")
    assert not isinstance(info.value, CellError)


@pytest.mark.parametrize(
    "raw, locale, value",
    [(12, "en", 12), (12.0, "en", 12), ("12.0", "en", 12), ("1,200", "en", 1200),
     ("1.200", "es", 1200), ("(7)", "en", -7), ("12,0", "es", 12)],
)
def test_parse_integer(raw, locale, value):
    result = parse_integer(raw, locale)
    assert type(result) is int
    assert result == value


@pytest.mark.parametrize("raw", ["12.5", 12.5, "x", True, "1,5"])
def test_parse_integer_rejects(raw):
    with pytest.raises(CellError) as info:
        parse_integer(raw)
    assert_cell_error(info.value, "bad_integer", shown(raw))


@pytest.mark.parametrize(
    "raw, locale, points",
    [
        ("75", "en", Decimal("75")),
        ("75%", "en", Decimal("75")),
        ("75 %", "en", Decimal("75")),
        ("75\u00a0%", "es", Decimal("75")),
        ("12,5 %", "es", Decimal("12.5")),
        ("12.5%", "en", Decimal("12.5")),
        ("100%", "en", Decimal("100")),
        ("0", "en", Decimal("0")),
        # Text is always points, even below 1.
        ("0.75", "en", Decimal("0.75")),
        # A native fraction is what a percent-formatted cell holds unformatted.
        (0.75, "en", Decimal("75")),
        (0.125, "en", Decimal("12.5")),
        (0.1, "en", Decimal("10")),
        (0.07, "en", Decimal("7")),
        # Any other native number is points, including 1.
        (1, "en", Decimal("1")),
        (1.0, "en", Decimal("1")),
        (0, "en", Decimal("0")),
        (75, "en", Decimal("75")),
        (75.0, "en", Decimal("75")),
        (100, "en", Decimal("100")),
    ],
)
def test_parse_percent(raw, locale, points):
    result = parse_percent(raw, locale)
    assert result == points
    assert str(result) == str(points)


@pytest.mark.parametrize(
    "raw, code",
    [
        ("abc%", "bad_percent"),
        ("%", "bad_percent"),
        ("75%%", "bad_percent"),
        (True, "bad_percent"),
        ("150%", "out_of_range"),
        ("-5", "out_of_range"),
        (101, "out_of_range"),
        (-0.5, "out_of_range"),
    ],
)
def test_parse_percent_rejects(raw, code):
    with pytest.raises(CellError) as info:
        parse_percent(raw)
    assert_cell_error(info.value, code, shown(raw))


# --- dates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, locale",
    [
        (dt.date(2024, 3, 15), "en"),
        (dt.datetime(2024, 3, 15, 23, 59), "en"),
        (45366, "en"),
        (45366.99, "es"),
        ("2024-03-15", "en"),
        ("2024-03-15", "es"),
        ("2024-3-15", "en"),
        ("2024/03/15", "es"),
        ("2024-03-15T10:30:00", "en"),
        ("2024-03-15T10:30:00.123Z", "en"),
        ("2024-03-15T10:30:00-05:00", "es"),
        ("2024-03-15 10:30", "en"),
        ("03/15/2024", "en"),
        ("3/15/24", "en"),
        ("3/15/2024 10:30 PM", "en"),
        ("03-15-2024", "en"),
        ("15/03/2024", "es"),
        ("15-03-2024", "es"),
        ("15.03.2024", "es"),
        ("15/3/24", "es"),
        ("15/03/2024 22:30:00", "es"),
        ("Mar 15, 2024", "en"),
        ("March 15th, 2024", "en"),
        ("15 March 2024", "en"),
        ("15-Mar-2024", "en"),
        ("15 de marzo de 2024", "es"),
        ("15 de Marzo del 2024", "es"),
        ("15 mar 2024", "es"),
        ("15-mar-2024", "es"),
        ("15 MAR. 2024", "es"),
        ("marzo 15, 2024", "es"),
        ("15 March 2024", "es"),
    ],
)
def test_parse_date_reads_march_15(raw, locale):
    assert parse_date(raw, locale) == dt.date(2024, 3, 15)


@pytest.mark.parametrize(
    "raw, locale, date",
    [
        ("15 Sept 2024", "en", dt.date(2024, 9, 15)),
        ("15 set 2024", "es", dt.date(2024, 9, 15)),
        ("1º de septiembre de 2024", "es", dt.date(2024, 9, 1)),
        ("3 ago 2024", "es", dt.date(2024, 8, 3)),
        ("10-Ene-24", "es", dt.date(2024, 1, 10)),
        ("24 dic. 2024", "es", dt.date(2024, 12, 24)),
        ("Dec 24 2024", "en", dt.date(2024, 12, 24)),
        ("1 de abril de 2024", "es", dt.date(2024, 4, 1)),
        ("15/03/69", "es", dt.date(2069, 3, 15)),
        ("15/03/70", "es", dt.date(1970, 3, 15)),
        # Ambiguous numeric dates follow the locale.
        ("03/04/2024", "en", dt.date(2024, 3, 4)),
        ("03/04/2024", "es", dt.date(2024, 4, 3)),
        (1, "en", dt.date(1899, 12, 31)),
        (61, "en", dt.date(1900, 3, 1)),
        (2958465, "en", dt.date(9999, 12, 31)),
    ],
)
def test_parse_date(raw, locale, date):
    assert parse_date(raw, locale) == date


@pytest.mark.parametrize("raw, date", [
    ("Fri, 3 Apr 2026", dt.date(2026, 4, 3)), ("Friday, April 3, 2026", dt.date(2026, 4, 3)),
    ("Tues 7 Apr 2026", dt.date(2026, 4, 7)), ("vie. 3 abr. 2026", dt.date(2026, 4, 3)),
    ("viernes, 3 de abril de 2026", dt.date(2026, 4, 3)), ("sábado 4 de abril de 2026", dt.date(2026, 4, 4))])
def test_a_date_written_with_its_weekday_is_that_date(raw, date):
    # As calendars and emails write dates, pasted in: the weekday is checked, not dropped.
    assert parse_date(raw, "en") == parse_date(raw, "es") == date


@pytest.mark.parametrize("raw, locale", [("Thursday, 3 April 2026", "en"), ("mar, 3 abr 2026", "es")])
def test_a_weekday_that_is_not_the_dates_is_said(raw, locale):
    with pytest.raises(CellError) as info:
        parse_date(raw, locale)
    assert_cell_error(info.value, "bad_date", raw)
    assert "2026-04-03 is a Friday" in info.value.message
    with using("es"), pytest.raises(CellError) as info:
        parse_date(raw, locale)
    assert "el 2026-04-03 es viernes" in info.value.message


@pytest.mark.parametrize("raw, date", [
    ("Wed, 04/03/2026", dt.date(2026, 3, 4)), ("Fri, 04/03/2026", dt.date(2026, 4, 3)),
    ("miércoles 04/03/2026", dt.date(2026, 3, 4)), ("vie. 04.03.2026", dt.date(2026, 4, 3)),
    ("Mon, 13/04/2026", dt.date(2026, 4, 13))])
def test_a_weekday_before_a_numeric_date_says_which_way_round_it_is(raw, date):
    # Was a bare bad_date: the reading that is that weekday is the date, in either locale.
    assert parse_date(raw, "en") == parse_date(raw, "es") == date
    assert time_of("mié. 04/03/2026 10:30") == dt.time(10, 30)


@pytest.mark.parametrize("raw, said", [
    ("Thu, 04/03/2026", "neither 2026-03-04 (Wednesday) nor 2026-04-03 (Friday) is a Thursday"),
    ("Tue, 13/04/2026", "2026-04-13 is a Monday, not a Tuesday")])
def test_a_weekday_neither_reading_of_a_numeric_date_has_is_said(raw, said):
    with pytest.raises(CellError) as info:
        parse_date(raw, "es")
    assert_cell_error(info.value, "bad_date", raw)
    assert said in info.value.message
    with using("es"), pytest.raises(CellError) as info:
        parse_date("Thu, 04/03/2026", "es")
    assert "ni el 2026-03-04 (miércoles) ni el 2026-04-03 (viernes) es jueves" in info.value.message


def test_a_weekday_both_readings_have_leaves_a_numeric_date_as_it_was():
    # 3 December and 12 March 2026 are both Thursdays.
    assert parse_date("Thu, 03/12/2026", "en") == dt.date(2026, 3, 12)
    assert parse_date("Thu, 03/12/2026", "es") == dt.date(2026, 12, 3)
    assert date_style("Thu, 03/12/2026") == date_style("03/12/2026") == (None, True)
    assert date_style("Fri, 04/03/2026") == (None, False)


def test_an_emails_date_with_its_time_is_the_day_written():
    # RFC 5322, as mail tools export it: read by email.utils, weekday checked, offset kept.
    raw = "Fri, 03 Apr 2026 23:30:00 +0000"
    assert parse_date(raw, "en") == parse_date(raw, "es") == dt.date(2026, 4, 3)
    assert (time_of(raw), offset_of(raw), has_time(raw)) == (dt.time(23, 30), dt.timezone.utc, True)
    assert parse_day(raw, "en", "Europe/Madrid") == dt.date(2026, 4, 4)
    assert parse_date("3 Apr 2026 10:00 GMT") == dt.date(2026, 4, 3)
    assert offset_of("Fri, 03 Apr 2026 10:00:00 -0500 (EST)") == dt.timezone(dt.timedelta(hours=-5))
    for bad, why in [("Thu, 03 Apr 2026 10:00:00 +0000", ": 2026-04-03 is a Friday, not a Thursday."),
                     ("Fri, 31 Apr 2026 10:00:00 +0000", ": that month has only 30 days, not 31."),
                     ("Fri, 03 Apr 2026 25:00:00 +0000", " is not a date.")]:
        with pytest.raises(CellError) as info:
            parse_date(bad)
        assert_cell_error(info.value, "bad_date", bad)
        assert info.value.message.endswith(why)


@pytest.mark.parametrize("raw, locale", [("31/04/2026", "en"), ("04/31/2026", "es")])
def test_a_day_past_its_months_end_is_said_so_in_either_order(raw, locale):
    # Read in the locale's order the month would be 31: the date only has a month the other way
    # round, and what is wrong with it there is its day.
    with pytest.raises(CellError) as info:
        parse_date(raw, locale)
    assert info.value.message.endswith("that month has only 30 days, not 31.")


def test_parse_date_returns_plain_date_for_datetime():
    assert type(parse_date(dt.datetime(2024, 3, 15, 10, 30))) is dt.date


@pytest.mark.parametrize(
    "raw, locale, code",
    [
        ("2024-02-30", "en", "bad_date"),
        ("31/02/2024", "es", "bad_date"),
        ("13/13/2024", "en", "bad_date"),
        ("abc", "en", "bad_date"),
        ("15 foo 2024", "en", "bad_date"),
        ("45366", "en", "bad_date"),
        ("2024-03-15 25:00", "en", "bad_date"),
        ("3/15/2024 13:00 PM", "en", "bad_date"),
        ("15/03/202", "es", "bad_date"),
        (True, "en", "bad_date"),
        (float("nan"), "en", "out_of_range"),
        (0, "en", "out_of_range"),
        (-5, "en", "out_of_range"),
        (2958466, "en", "out_of_range"),
    ],
)
def test_parse_date_rejects(raw, locale, code):
    with pytest.raises(CellError) as info:
        parse_date(raw, locale)
    assert_cell_error(info.value, code, shown(raw))


@pytest.mark.parametrize(
    "raw, locale, other_locale",
    [("15/03/2024", "en", "es"), ("03/15/2024", "es", "en")],
)
def test_parse_date_never_swaps_order_silently(raw, locale, other_locale):
    with pytest.raises(CellError) as info:
        parse_date(raw, locale)
    assert_cell_error(info.value, "bad_date", raw)
    assert "2024-03-15" in info.value.hint
    assert f'locale "{other_locale}"' in info.value.hint


# --- booleans, emails, enums, currencies --------------------------------------------------


@pytest.mark.parametrize(
    "raw, value",
    [
        (True, True), (False, False), (1, True), (0, False), (1.0, True),
        ("TRUE", True), ("false", False), ("Yes", True), ("no", False),
        ("y", True), ("N", False), ("sí", True), ("SI", True), ("Sí", True),
        ("verdadero", True), ("FALSO", False), ("x", True), ("X", True),
        ("✓", True), ("✔", True), ("1", True), ("0", False), (" yes\u00a0", True),
    ],
)
def test_parse_bool(raw, value):
    assert parse_bool(raw) is value


@pytest.mark.parametrize("raw", ["maybe", "2", 2, 0.5, "tru", dt.date(2024, 1, 1)])
def test_parse_bool_rejects(raw):
    with pytest.raises(CellError) as info:
        parse_bool(raw)
    assert_cell_error(info.value, "bad_bool", str(raw))


@pytest.mark.parametrize(
    "raw, address",
    [
        ("ana@example.com", "ana@example.com"),
        ("  Ana.Lopez@EXAMPLE.COM\u00a0", "Ana.Lopez@example.com"),
        ("josé@empresa.es", "josé@empresa.es"),
    ],
)
def test_parse_email(raw, address):
    assert parse_email(raw) == address


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("ana", "@-sign"),
        ("ana@example", "period"),
        ("ana lopez@example.com", "invalid characters"),
        ("a@b.com, c@d.com", ""),
        (42, ""),
    ],
)
def test_parse_email_rejects(raw, reason):
    with pytest.raises(CellError) as info:
        parse_email(raw)
    assert_cell_error(info.value, "bad_email", str(raw))
    assert reason in info.value.message


@pytest.mark.parametrize("raw", ["ana@example.com, bo@example.org", "ana@example.com;bo@example.org",
                                 "ana@example.com bo@example.org"])
def test_two_addresses_in_an_email_cell_are_said_as_two_addresses(raw):
    """Not "the part after the @-sign contains invalid characters: ',', '@', SPACE": the cell
    holds two addresses, and no one of them is picked (a quote to the wrong one)."""
    with pytest.raises(CellError) as info:
        parse_email(raw)
    assert_cell_error(info.value, "bad_email", raw)
    assert "holds 2 email addresses" in info.value.message and "invalid characters" not in info.value.message
    assert "one address" in info.value.hint
    with using("es"), pytest.raises(CellError) as info:
        parse_email(raw)
    assert "contiene 2 direcciones de correo" in info.value.message


STAGES = enum_choices(
    {"Lead": ["nuevo", "new"], "Qualified": ["cualificado"], "Closed Won": ["ganado", "won"]}
)


def test_enum_choices_maps_canonical_names_and_aliases():
    assert STAGES == {
        "lead": "Lead",
        "nuevo": "Lead",
        "new": "Lead",
        "qualified": "Qualified",
        "cualificado": "Qualified",
        "closed won": "Closed Won",
        "ganado": "Closed Won",
        "won": "Closed Won",
    }


def test_enum_choices_rejects_an_alias_shared_by_two_values():
    with pytest.raises(ValueError, match="both"):
        enum_choices({"Won": ["closed"], "Lost": ["Closed"]})


@pytest.mark.parametrize(
    "raw, value",
    [("Lead", "Lead"), ("  NUEVO ", "Lead"), ("Cualificado", "Qualified"),
     ("closed_won", "Closed Won"), ("Closed-Won", "Closed Won"), ("GANADO", "Closed Won")],
)
def test_parse_enum(raw, value):
    assert parse_enum(raw, STAGES, "stage") == value


def test_parse_enum_rejects_and_lists_canonical_values_in_order():
    with pytest.raises(CellError) as info:
        parse_enum("perdido", STAGES, "stage")
    assert_cell_error(info.value, "bad_enum", "perdido")
    assert "stage" in info.value.message
    assert info.value.hint == "Use one of: Lead, Qualified, Closed Won"


@pytest.mark.parametrize(
    "raw, code",
    [("EUR", "EUR"), ("eur", "EUR"), (" usd ", "USD"), ("MXN", "MXN"),
     ("€", "EUR"), ("$", "USD"), ("£", "GBP"), ("¥", "JPY")],
)
def test_parse_currency(raw, code):
    assert parse_currency(raw) == code


@pytest.mark.parametrize("raw", ["ABC", "euros", "U$D", "E", 978])
def test_parse_currency_rejects(raw):
    with pytest.raises(CellError) as info:
        parse_currency(raw)
    assert_cell_error(info.value, "bad_currency", str(raw))


@pytest.mark.parametrize("raw, codes", [("kr", "SEK, NOK, DKK, ISK"), ("Kr.", "DKK, NOK, SEK, ISK")])
def test_a_krona_or_krone_is_a_currency_sheetcrm_cannot_tell(raw, codes):
    """"kr" was called "not a currency": it is one, of several countries; the hint names them."""
    with pytest.raises(CellError) as info:
        parse_currency(raw, "EUR")
    assert info.value.code == "ambiguous_currency"
    assert info.value.message == f'"{raw}" is the currency of several countries.'
    assert codes in info.value.hint
    assert parse_currency(raw, "NOK") == "NOK"


# --- errors -------------------------------------------------------------------------------


def test_cell_error_is_a_value_error_that_survives_pickling():
    with pytest.raises(ValueError) as info:
        parse_number("abc")
    err = info.value
    copy = pickle.loads(pickle.dumps(err))
    assert (copy.code, copy.message, copy.hint, copy.raw) == (
        err.code, err.message, err.hint, "abc"
    )


def test_long_values_are_shortened_in_messages():
    raw = "word " * 100
    with pytest.raises(CellError) as info:
        parse_number(raw)
    assert len(info.value.message) < 200
    assert raw[:40] in info.value.message


@pytest.mark.parametrize("address", [
    "ana@example.com", "Ana.Garcia@Example.COM", "o'neil+crm@mail.example.co.uk", "a_b-c@x-y.example",
    "x@sub.domain.example.org", "user@localhost.test", "a..b@example.com", "a@b.c", "a@-bad.com",
    "a@bad-.com", ".a@example.com", "a.@example.com", ("x" * 65) + "@example.com",
    "a@" + "b" * 64 + ".com", "a@example.invalid", "a@example.local",
])
def test_plain_email_fast_path_agrees_with_email_validator(address):
    try:
        expected = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        expected = None
    fast = cells._plain_email(address)
    if fast is not None:
        assert fast == expected
    try:
        got = cells.parse_email(address)
    except CellError:
        got = None
    assert got == expected


# --- what a column needs from a cell (issue 9) -------------------------------------------


@pytest.mark.parametrize("raw, shown", [
    ("Acme\u00a0Corp", '"Acme\\u00a0Corp"'),
    ("Acme\u200bCorp", '"Acme\\u200bCorp"'),
    ("bell\x07", '"bell\\u0007"'),
    ("  two  spaces ", '"  two  spaces "'),
    ("Peña", '"Peña"'),
])
def test_messages_show_invisible_characters(raw, shown):
    assert cells.quoted(raw) == shown


@pytest.mark.parametrize("a, b", [
    ("Acme\u00a0Corp", "acme corp"), ("Acme  Corp", "ACME CORP"), ("Pro\u200bposal", "proposal"),
    ("\ufeffName", "name"), ("Ｐｒｏｐｏｓａｌ", "proposal"), ("O\u2019Neil", "o'neil"),
])
def test_keys_compare_after_unicode_normalisation(a, b):
    assert normalize_key(a) == normalize_key(b)


@pytest.mark.parametrize("raw, style", [
    ("1.234,50", ("es", None)), ("12,5", ("es", None)), ("1.234.567", ("es", None)), ("0,500", ("es", None)),
    ("1,234.50", ("en", None)), ("12.5", ("en", None)), ("1,234,567", ("en", None)), ("1234.500", ("en", None)),
    ("12.500 €", (None, "es")), ("$1,200", (None, "en")), ("JPY 10,000", (None, "en")), ("7,5 %", ("es", None)),
    ("1 234,5", ("es", None)), ("2000", (None, None)), (12.5, (None, None)), ("abc", (None, None)),
    ("1,00,000", (None, None)), ("1.00.000", (None, None)),  # Indian grouping: no thousands, no proof
])
def test_separator_style(raw, style):
    assert cells.separator_style(raw) == style


@pytest.mark.parametrize("raw, style", [
    ("13/02/2026", ("es", False)), ("02/13/2026", ("en", False)), ("03/12/2026", (None, True)),
    ("05/05/2026", (None, False)), ("2026-03-12", (None, False)), (dt.date(2026, 3, 12), (None, False)),
    ("3 de marzo de 2026", (None, False)), ("03.12.2026", ("es", False)), ("13.02.2026", ("es", False)),
    ("05.05.2026", ("es", False)), ("02.13.2026", (None, False)),
])
def test_date_style(raw, style):
    assert cells.date_style(raw) == style


@pytest.mark.parametrize("raw, locale, amount, token", [
    ("JPY 10,000", "en", Decimal("10000"), "JPY"), ("R$ 1.200,00", "es", Decimal("1200.00"), "R$"),
    ("US$ 5", "en", Decimal("5"), "US$"), ("£3", "en", Decimal("3"), "£"), ("10 000 CHF", "en", Decimal("10000"), "CHF"),
    ("-kr 250", "en", Decimal("-250"), "kr"), (1500, "en", Decimal("1500"), None), ("12", "es", Decimal("12"), None),
])
def test_parse_money_keeps_the_currency_token(raw, locale, amount, token):
    assert cells.parse_money(raw, locale) == (amount, token)


@pytest.mark.parametrize("token, base, result", [
    ("JPY", "USD", ("JPY", False)), ("eur", "USD", ("EUR", False)), ("R$", "USD", ("BRL", False)),
    ("$", "USD", ("USD", True)), ("$", "MXN", ("MXN", True)), ("$", "EUR", ("USD", True)),
    ("¥", "CNY", ("CNY", True)), ("kr", "NOK", ("NOK", True)), ("kr", "EUR", (None, True)),
])
def test_currency_of(token, base, result):
    assert cells.currency_of(token, base) == result


def test_parse_currency_follows_the_base_for_ambiguous_symbols():
    assert parse_currency("$", "CAD") == "CAD" and parse_currency("$", "EUR") == "USD"
    assert parse_currency("US$") == "USD" and parse_currency("R$") == "BRL"


@pytest.mark.parametrize("raw, scale, points", [
    (1, "fraction", Decimal("100")), (0.5, "fraction", Decimal("50")), ("0.45", "fraction", Decimal("45")),
    ("45%", "fraction", Decimal("45")), (0.5, "points", Decimal("0.5")), (1, "points", Decimal("1")),
    ("12,5 %", "fraction", Decimal("12.5")),
])
def test_parse_percent_by_scale(raw, scale, points):
    assert parse_percent(raw, "es" if "," in str(raw) else "en", scale) == points


@pytest.mark.parametrize("raw, code", [
    (1e26, "out_of_range"), (10 ** 15, "out_of_range"), ("-1,000,000,000,000,000", "out_of_range"),
    ("0.1234567890123456", "too_precise"), ("123456789.1234567", "too_precise"),
])
def test_numbers_too_large_or_too_precise_are_errors(raw, code):
    for parse in (parse_number, parse_integer):
        with pytest.raises(CellError) as info:
            parse(raw)
        assert info.value.code in (code, "bad_integer")
    with pytest.raises(CellError) as info:
        parse_number(raw)
    assert info.value.code == code


def test_float_noise_is_rounded_to_what_a_spreadsheet_shows():
    assert parse_number(0.1 + 0.2) == Decimal("0.3")
    assert parse_number(1 / 3) == Decimal("0.333333333333333")
    assert parse_number(999999999999999.0) == Decimal("999999999999999")


def test_a_date_written_with_dots_is_day_first_in_either_locale():
    """Every convention that writes dates with dots writes them day first (de, es, ru, fi…):
    "03.12.2026" read under "en" was 12 March, silently. One that is no day so is a bad_date
    saying why, never read month first."""
    assert parse_date("03.12.2026", "en") == parse_date("03.12.2026", "es") == dt.date(2026, 12, 3)
    assert parse_date("03.12.26", "en") == dt.date(2026, 12, 3)
    for locale in ("en", "es"):
        with pytest.raises(CellError) as info:
            parse_date("02.13.2026", locale)
        assert_cell_error(info.value, "bad_date", "02.13.2026")
        assert "day first (DD.MM.YYYY), and there is no month 13" in info.value.message
        assert "set locale" not in info.value.hint
    with using("es"), pytest.raises(CellError) as info:
        parse_date("02.13.2026", "en")
    assert "con el día primero y puntos" in info.value.hint and "no existe el mes 13" in info.value.message


def test_a_word_that_is_no_month_name_is_not_hinted_at_the_other_locale():
    # "15 Foo 2027" hinted 'or set locale "es" if this sheet writes dates day first': month
    # names of both languages are read under either locale, so that could not help.
    for locale in ("en", "es"):
        with pytest.raises(CellError) as info:
            parse_date("15 Foo 2027", locale)
        assert_cell_error(info.value, "bad_date", "15 Foo 2027")
        assert "set locale" not in info.value.hint and "English or Spanish" in info.value.hint
    with using("es"), pytest.raises(CellError) as info:
        parse_date("15 Foo 2027", "es")
    assert info.value.hint.startswith("Escribe el nombre del mes") and "locale" not in info.value.hint
