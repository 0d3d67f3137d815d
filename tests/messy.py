"""A deliberately messy Spanish workbook: shuffled columns, Spanish headers, custom columns,
blank rows, formulas, styles, and one of every kind of bad cell, with where each one sits."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
from openpyxl.styles import Font, PatternFill

CONFIG = """
locale = "es"
currency = "EUR"
[tabs.leads.custom_fields]
"Presupuesto" = { type = "number" }
"""

TABS = {
    "Cuentas": [
        [" estado ", "NOMBRE", "Id", "País", "Segmento", "Empleados"],
        ["Cliente", "Acme SL", "ACC-0001", "ES", "Gold", 40],
        [],
        ["Socio", "Beta SA", None, "MX", "Silver", "=10*5"],
        ["Raro", "Gamma", "ACC-0002", "ES", None, "muchos"],
        ["Cliente", None, "ACC-0003", "ES", None, None],
        ["Cliente", "Delta", "ACC-0001", "AR", None, 12],
    ],
    "Contactos": [
        ["Correo", "Apellidos", "Cuenta", "ID", "Nombre", "Notas"],
        ["ana@acme.example", "García", "Acme SL", "CON-0001", "Ana", "vip"],
        ["no-es-email", "López", "ACC-0001", "CON-0002", "Luis", None],
        ["ANA@acme.example", "Ruiz", "Nadie SA", None, "Eva", None],
    ],
    "Clientes potenciales": [
        ["Empresa", "Correo", "Estado", "Fecha de creación", "ID", "Origen", "Presupuesto"],
        ["Acme", "x@acme.example", "Nuevo", "15/03/2026", None, "Web", "1.500,00"],
        [None, None, "Calificado", None, "LEAD-0007", "Feria", None],
        ["Foo", None, "Caliente", "31/02/2026", "LEAD-0008", None, "mucho"],
    ],
    "Oportunidades": [
        ["Etapa", "Importe", "Nombre", "Cuenta", "Fecha de cierre", "ID", "Probabilidad", "Moneda"],
        ["Ganada", "1.234,50 €", "Deal A", "ACC-0001", "1/4/2026", "OPP-0001", None, "EUR"],
        ["Cerrando", "abc", "Deal B", "Acme SL", None, "OPP-0002", "150%", "XYZ"],
        ["Propuesta", 1000, None, "Acme SL", None, "OPP-0003", None, None],
        ["Propuesta", 1000, "Deal C", "Zeta", None, "OPP-0004", None, None],
    ],
    "Actividades": [
        ["Fecha", "Tipo", "Relacionado", "ID"],
        [dt.datetime(2026, 3, 1), "Llamada", "OPP-0001", "ACT-0001"],
        [None, "Reunión", "OPP-0001", "ACT-0002"],
        [45000, "Baile", "OPP-0001", "ACT-0003"],
        ["2026-03-02", "Nota", "LEAD-9999", "ACT-0004"],
    ],
    "Tareas": [
        ["Asunto", "Vencimiento", "Estado"],
        ["Llamar", "2026-04-01", "Abierta"],
        [None, "mañana", "Hecha"],
    ],
    "Productos": [
        ["SKU", "Nombre", "Precio unitario", "IVA"],
        ["P1", "Widget", "10,50", "21%"],
        ["P1", "Widget dup", 5, 21],
        ["P2", "Gadget", "gratis", None],
    ],
    "Líneas de presupuesto": [
        ["Oportunidad", "SKU", "Cantidad", "Descuento %"],
        ["OPP-0001", "P1", 2, "10"],
        ["OPP-0001", "P1", "dos", None],
        ["Deal Z", "P9", 1, None],
    ],
    "Notas del equipo": [["Cualquier cosa", "=1+1"], ["no es del CRM", 3]],
}

# (tab, row, column letter or None, code) of every planted problem.
EXPECTED = {
    ("Cuentas", 4, "F", "formula_not_calculated"),  # openpyxl saves =10*5 without its result
    ("Cuentas", 5, "A", "bad_enum"),
    ("Cuentas", 5, "F", "bad_integer"),
    ("Cuentas", 6, "B", "required"),
    ("Cuentas", 2, "C", "duplicate_id"),  # said at both rows: which one a reference means cannot be told
    ("Cuentas", 7, "C", "duplicate_id"),
    ("Contactos", 3, "A", "bad_email"),
    ("Contactos", 4, "A", "duplicate_email"),
    ("Contactos", 4, "C", "unknown_account"),
    ("Clientes potenciales", 3, None, "lead_identity"),
    ("Clientes potenciales", 4, "C", "bad_enum"),
    ("Clientes potenciales", 4, "D", "bad_date"),
    ("Clientes potenciales", 4, "G", "bad_number"),
    ("Oportunidades", 3, "A", "bad_enum"),
    ("Oportunidades", 3, "B", "bad_number"),
    ("Oportunidades", 3, "G", "out_of_range"),
    ("Oportunidades", 3, "H", "bad_currency"),
    ("Oportunidades", 4, "C", "required"),
    ("Oportunidades", 5, "D", "unknown_account"),
    ("Actividades", 3, "A", "required"),
    ("Actividades", 4, "B", "bad_enum"),
    ("Actividades", 5, "C", "unknown_related"),
    ("Tareas", 3, "A", "required"),
    ("Tareas", 3, "B", "bad_date"),
    ("Productos", 3, "A", "duplicate_sku"),
    ("Productos", 4, "C", "bad_number"),
    ("Líneas de presupuesto", 3, "C", "bad_number"),
    ("Líneas de presupuesto", 4, "A", "unknown_opportunity"),
    ("Líneas de presupuesto", 4, "B", "unknown_sku"),
    # The rows with errors, said once per tab: they stay out of the totals until fixed.
    ("Oportunidades", None, None, "left_out"),
    ("Clientes potenciales", None, None, "left_out"),
    ("Cuentas", None, None, "left_out"),
    ("Contactos", None, None, "left_out"),
    ("Actividades", None, None, "left_out"),
    ("Tareas", None, None, "left_out"),
    ("Productos", None, None, "left_out"),
    ("Líneas de presupuesto", None, None, "left_out"),
}


def write_messy(folder: Path) -> tuple[Path, Path]:
    """The messy workbook and its sheetcrm.toml, in `folder`."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in TABS.items():
        ws = wb.create_sheet(title)
        for r, row in enumerate(rows, 1):
            for c, value in enumerate(row, 1):
                if value is not None:
                    ws.cell(r, c, value)
    # Formatting the team chose, which must survive every sync.
    wb["Cuentas"]["B2"].font = Font(bold=True, color="FF0000")
    wb["Oportunidades"]["B5"].number_format = "#,##0.00 €"
    wb["Contactos"]["F2"].fill = PatternFill("solid", fgColor="FFFF00")
    wb["Cuentas"].column_dimensions["B"].width = 31
    path = folder / "messy.xlsx"
    wb.save(path)
    config = folder / "sheetcrm.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return path, config
