"""Cells that only mean something together are merged together (docs/leads.md, "Merging
duplicates"): the survivor's empty cells were filled one by one, so a survivor with Phone
"612 345 678" and no Country took a merged lead's Country "México" (its phone then read in
Mexico, no longer a valid number) and its Street stayed beside the other lead's City and Postal
Code, with nothing said. Now the phone, the country and the address (and the first and last
name) are taken from one merged record, only when they agree with what the survivor has of
them; otherwise the group is refused at its Merge cell (`merge_cells_apart`), in the team's
language. On a real .xlsx file, the Duplicates tab as the duplicates step wrote it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import openpyxl

from sheetcrm.config import Config
from sheetcrm.sync import sync
from sheetcrm.workbook.xlsx import XlsxWorkbook

from books import edit, tick_duplicates, xlsx_book

DAY1, DAY2, DAY3 = dt.date(2026, 11, 23), dt.date(2026, 11, 24), dt.date(2026, 11, 25)
LEADS = ["ID", "First Name", "Last Name", "Company", "Email", "Phone", "Status", "Created", "Country", "Street",
         "City", "Postal Code"]
DAY = dt.datetime(2026, 11, 2)
LATER = DAY + dt.timedelta(1)


def _leads(book: XlsxWorkbook) -> dict[str, tuple]:
    rows = [list(r) for r in openpyxl.load_workbook(book.path)["Leads"].iter_rows(values_only=True)]
    return {r[0]: tuple(r[1:len(LEADS)]) for r in rows[1:] if r[0]}


def _config() -> Config:
    config = Config()
    config.duplicates.country = "ES"
    return config


def test_a_phone_and_an_address_are_never_mixed_from_two_records(tmp_path):
    book = xlsx_book(tmp_path / "crm.xlsx", {"Leads": [
        LEADS,
        # The survivor's phone has no country code, its Street no city: its twin is in Mexico.
        ["LEAD-0001", "Jose", "Munoz", "Perez", "jose@perez.es", "612 345 678", "New", DAY, None, "Calle Mayor 1",
         None, None],
        ["LEAD-0002", "José", "Muñoz", "Perez", "jose@perez.es", "55 1234 5678", "New", LATER, "México",
         "Av. Reforma 222", "Ciudad de México", "06600"],
        # Its twin has the same phone, typed another way: one place, completed.
        ["LEAD-0003", "Ann", "Bee", "Bee", "ann@bee.co", "612 345 679", "New", DAY, None, None, None, None],
        ["LEAD-0004", "Ann", "Bee", "Bee", "ann@bee.co", "612345679", "New", LATER, "España", None, "Madrid",
         "28013"],
        # The survivor has none of them: all from the oldest twin that has any, none from the next.
        ["LEAD-0005", "Eve", "Fox", "Fox", "eve@fox.io", None, "New", DAY, None, None, None, None],
        ["LEAD-0006", "Eve", "Fox", "Fox", "eve@fox.io", "612 345 670", "New", LATER, "España", "Gran Vía 1", None,
         None],
        ["LEAD-0007", "Eve", "Fox", "Fox", "eve@fox.io", "55 1234 5670", "New", LATER + dt.timedelta(1), "México",
         None, "Monterrey", "64000"],
        # A phone with its country code does not depend on the Country beside it.
        ["LEAD-0008", "Al", "Gil", "Gil", "al@gil.mx", "+34 612 345 671", "New", DAY, None, None, None, None],
        ["LEAD-0009", "Al", "Gil", "Gil", "al@gil.mx", None, "New", LATER, "México", "Insurgentes 5", "Puebla",
         "72000"],
    ]})
    sync(book, _config(), DAY1)
    tick_duplicates(book, {f"LEAD-000{i}": "merge" for i in range(1, 10)})
    outcome = sync(book, _config(), DAY2)

    leads = _leads(book)
    assert sorted(leads) == ["LEAD-0001", "LEAD-0002", "LEAD-0003", "LEAD-0005", "LEAD-0008"]
    assert leads["LEAD-0001"][4:] == ("612 345 678", "New", DAY, None, "Calle Mayor 1", None, None)
    assert leads["LEAD-0003"][4:] == ("612 345 679", "New", DAY, "España", None, "Madrid", "28013")
    assert leads["LEAD-0005"][4:] == ("612 345 670", "New", DAY, "España", "Gran Vía 1", None, None)
    assert leads["LEAD-0008"][4:] == ("+34 612 345 671", "New", DAY, "México", "Insurgentes 5", "Puebla", "72000")
    said = [i for i in outcome.crm.report.issues if i.code == "merge_cells_apart"]
    assert [(i.tab, i.header) for i in said] == [("Duplicates", "Merge")]
    assert ('LEAD-0001 would take Country "México", City "Ciudad de México", Postal Code "06600" from LEAD-0002 '
            'beside its own Phone "612 345 678", Street "Calle Mayor 1"') in said[0].message
    assert said[0].hint.startswith("type LEAD-0001's Country, City, Postal Code yourself, or tick Keep on LEAD-0002")

    # Settled as the hint says: Keep on the twin, whose cells are all there; nothing is mixed.
    tick_duplicates(book, {"LEAD-0002": "keep"})
    outcome = sync(book, _config(), DAY3)
    leads = _leads(book)
    assert "LEAD-0001" not in leads
    assert leads["LEAD-0002"][4:] == ("55 1234 5678", "New", LATER, "México", "Av. Reforma 222", "Ciudad de México",
                                      "06600")
    assert not [i for i in outcome.crm.report.issues if i.code == "merge_cells_apart"]


def test_a_name_is_one_persons_and_the_refusal_speaks_spanish(tmp_path):
    book = xlsx_book(tmp_path / "crm.xlsx", {"Leads": [
        ["ID", "Nombre", "Apellidos", "Empresa", "Correo", "Estado", "Creado"],
        ["LEAD-0001", "Ana", None, "Sol", "ana@sol.es", "Nuevo", DAY],
        ["LEAD-0002", "Ana María", "López", "Sol", "ana@sol.es", "Nuevo", LATER],
        ["LEAD-0003", "Luz", None, "Mar", "luz@mar.es", "Nuevo", DAY],
        ["LEAD-0004", "luz", "Gómez", "Mar", "luz@mar.es", "Nuevo", LATER],
    ]})
    config = _config()
    config.locale = "es"
    sync(book, config, DAY1)

    def tick(wb):
        ws = wb["Duplicados"]
        header = [c.value for c in ws[1]]
        for r in range(2, ws.max_row + 1):
            ws.cell(r, header.index("Fusionar") + 1).value = "x"
    edit(book, tick)
    outcome = sync(book, config, DAY2)

    rows = [r[:3] for r in openpyxl.load_workbook(book.path)["Leads"].iter_rows(min_row=2, values_only=True)]
    assert rows == [("LEAD-0001", "Ana", None), ("LEAD-0002", "Ana María", "López"), ("LEAD-0003", "Luz", "Gómez")]
    said = [i for i in outcome.crm.report.issues if i.code == "merge_cells_apart"]
    assert len(said) == 1 and said[0].header == "Fusionar"
    assert said[0].message.startswith("el grupo ")
    assert ('LEAD-0001 tomaría Apellidos "López" de LEAD-0002 junto a sus propias celdas Nombre "Ana"'
            in said[0].message)
    assert said[0].hint.startswith("escribe tú mismo Apellidos de LEAD-0001")


def _formatted_twins(tmp_path, headers: list[str], locale: str):
    """Two leads, the survivor's cells empty, its twin's Amount under a € format, Discount under
    a percentage's and Postal Code under a format padding it with zeros; merged."""
    book = xlsx_book(tmp_path / "crm.xlsx", {"Leads": [
        headers,
        ["LEAD-0001", "Jose", "Munoz", "Perez", "jose@perez.es", "New", DAY, None, None, None],
        ["LEAD-0002", "Jose", "Munoz", "Perez", "jose@perez.es", "New", LATER, 5000.5, 0.125, 8001],
    ]})

    def formats(wb):
        wb["Leads"]["H3"].number_format = "#,##0.00 [$€-x-euro2]"
        wb["Leads"]["I3"].number_format = "0.0%"
        wb["Leads"]["J3"].number_format = "00000"
    edit(book, formats)
    config = Config()
    config.locale = locale
    sync(book, config, DAY1)
    before = {lead.id: (lead.amount, lead.currency, lead.custom) for lead in
              sync(book, config, DAY1).crm.records("leads")}
    title = "Duplicados" if locale == "es" else "Duplicates"

    def tick(wb):
        ws = wb[title]
        header = [c.value for c in ws[1]]
        for r in range(2, ws.max_row + 1):
            ws.cell(r, header.index("Fusionar" if locale == "es" else "Merge") + 1).value = "x"
    edit(book, tick)
    outcome = sync(book, config, DAY2)
    return before, {lead.id: (lead.amount, lead.currency, lead.custom) for lead in outcome.crm.records("leads")}


def test_a_cell_whose_format_says_part_of_its_value_is_filled_with_what_it_means(tmp_path):
    # Filled as its bare value, the twin's 5,000.50 € read as 5,000.50 in the base USD, its 12.5%
    # as 0.125 and its postal code 08001 as 8001.
    headers = ["ID", "First Name", "Last Name", "Company", "Email", "Status", "Created", "Amount", "Discount",
               "Postal Code"]
    before, after = _formatted_twins(tmp_path, headers, "en")
    assert list(after) == ["LEAD-0001"]
    assert after["LEAD-0001"] == before["LEAD-0002"] == (
        Decimal("5000.5"), "EUR", {"Discount": Decimal("12.5"), "Postal Code": "08001"})
    sheet = openpyxl.load_workbook(tmp_path / "crm.xlsx")["Leads"]
    assert [c.value for c in sheet[2][7:10]] == ["5000.5 EUR", "12.5%", "08001"]


def test_the_meaning_is_written_with_the_tabs_decimal_mark(tmp_path):
    headers = ["ID", "Nombre", "Apellidos", "Empresa", "Correo", "Estado", "Creado", "Importe", "Descuento",
               "Código Postal"]
    before, after = _formatted_twins(tmp_path, headers, "es")
    assert list(after) == ["LEAD-0001"]
    assert after["LEAD-0001"] == before["LEAD-0002"] == (
        Decimal("5000.5"), "EUR", {"Descuento": Decimal("12.5"), "Código Postal": "08001"})
