"""The names people see in what sheetcrm writes, declared once and looked up by key.

    tab_title("pipeline", "es")      -> "Embudo"
    tab_headers("pipeline", "en")    -> ("Stage", "Count", "Amount", "Weighted")
    computed_name("leads", "score")  -> ("Score", "Puntuación")
    word("yes", "es")                -> "sí"

Here: the English titles of the CRM tabs (their Spanish titles and every other name people
give them are data, in aliases.toml, beside their columns' names), the titles and headers of
sheetcrm's own tabs, the computed columns it adds to people's tabs, and the words it writes
in cells. `schema.py` builds the tabs from these, and `render.py` writes the words, so a
translation is one more column of this catalogue, not a search through the code. Messages
(issues, hints, errors) stay in one catalogue per module, beside the rule they explain.
"""

from __future__ import annotations

from typing import Literal

Locale = Literal["en", "es"]

# The CRM's tabs, as the code and the config name them; Spanish and other names: aliases.toml.
CRM_TABS: dict[str, str] = {
    "accounts": "Accounts", "contacts": "Contacts", "leads": "Leads", "opportunities": "Opportunities",
    "activities": "Activities", "tasks": "Tasks", "products": "Products", "quote_lines": "Quote Lines",
}

# sheetcrm's own tabs (and the input tabs people add): key -> {locale: (title, headers)}.
OWNED: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    "validation": {
        "en": ("Validation", ("Severity", "Tab", "Row", "Column", "Header", "Value", "Code", "Message", "Hint")),
        "es": ("Validación", ("Gravedad", "Pestaña", "Fila", "Columna", "Encabezado", "Valor", "Código", "Mensaje",
                              "Sugerencia")),
    },
    "sequences": {
        "en": ("_sheetcrm", ("Key", "Value")),
        "es": ("_sheetcrm", ("Key", "Value")),
    },
    "pipeline": {
        "en": ("Pipeline", ("Stage", "Count", "Amount", "Weighted")),
        "es": ("Embudo", ("Etapa", "Número", "Importe", "Ponderado")),
    },
    "forecast": {
        "en": ("Forecast", ("Month", "Owner", "Pipeline", "Weighted", "Commit", "Best Case", "Closed Won", "Quota",
                            "Attainment %")),
        "es": ("Previsión", ("Mes", "Propietario", "Embudo", "Ponderado", "Compromiso", "Mejor caso", "Ganado",
                             "Cuota", "Cumplimiento %")),
    },
    "dashboard": {
        "en": ("Dashboard", ("KPI", "Value", "Definition")),
        "es": ("Panel", ("Indicador", "Valor", "Definición")),
    },
    "stage_history": {
        "en": ("Stage History", ("Opportunity", "From", "To", "Changed At", "Amount")),
        "es": ("Historial de etapas", ("Oportunidad", "De", "A", "Cambiada el", "Importe")),
    },
    "lead_history": {
        "en": ("Lead Status History", ("Lead", "From", "To", "Changed At")),
        "es": ("Historial de leads", ("Lead", "De", "A", "Cambiada el")),
    },
    "sync_log": {
        "en": ("Sync Log", ("Time", "Job", "Duration (s)", "Rows Read", "Issues", "Cells Written", "Requests",
                            "Status", "Message")),
        "es": ("Registro de sincronización", ("Hora", "Tarea", "Duración (s)", "Filas leídas", "Incidencias",
                                               "Celdas escritas", "Peticiones", "Estado", "Mensaje")),
    },
    "rates": {
        "en": ("Rates", ("Currency", "Rate")),
        "es": ("Tipos de cambio", ("Moneda", "Tipo")),
    },
    "quotas": {
        "en": ("Quotas", ("Owner", "Month", "Quota")),
        "es": ("Cuotas", ("Propietario", "Mes", "Cuota")),
    },
    "outbox": {
        "en": ("Outbox", ("ID", "Created", "Opportunity", "To", "Subject", "Status", "Message-ID", "Sent At", "Error",
                          "Quote", "Version", "Attempts", "Last Try", "Next Try")),
        "es": ("Bandeja de salida", ("ID", "Creado", "Oportunidad", "Para", "Asunto", "Estado", "Message-ID",
                                     "Enviado el", "Error", "Presupuesto", "Versión", "Intentos", "Último intento",
                                     "Próximo intento")),
    },
}

# The columns sheetcrm computes in people's tabs: tab -> column key -> (English, Spanish), in
# the order they are added.
COMPUTED: dict[str, dict[str, tuple[str, str]]] = {
    "leads": {
        "score": ("Score", "Puntuación"),
        "grade": ("Grade", "Grado"),
        "conversion_pct": ("Conversion %", "Conversión %"),
        "why": ("Why", "Por qué"),
    },
    "opportunities": {
        "probability_pct": ("Probability %", "Probabilidad %"),
        "weighted_amount": ("Weighted Amount", "Importe ponderado"),
        "forecast_category": ("Forecast Category", "Categoría de previsión"),
        "days_in_stage": ("Days in Stage", "Días en etapa"),
        "last_activity": ("Last Activity", "Última actividad"),
        "rotting": ("Rotting", "Estancada"),
        "next_step": ("Next Step", "Próximo paso"),
    },
}

# Words and short texts sheetcrm writes into cells.
WORDS: dict[str, dict[str, str]] = {
    "yes": {"en": "yes", "es": "sí"},                  # a true computed flag (Rotting)
    "team": {"en": "(all)", "es": "(todos)"},          # the Forecast's rows for the whole team
    # The Dashboard's first two rows, before the KPIs (whose definitions are crm.kpis.DEFINITIONS).
    "dashboard.as_of": {"en": "The date this sync computed for.", "es": "The date this sync computed for."},
    "dashboard.currency": {"en": "Every amount on this tab is in this currency.",
                           "es": "Every amount on this tab is in this currency."},
}

# The Forecast tab's second block: each stage's configured win rate beside its history.
CALIBRATION_HEADER: dict[str, tuple[str, ...]] = {
    "en": ("Stage", "Configured %", "Historical %", "Deals"),
    "es": ("Etapa", "Configurada %", "Histórica %", "Negocios"),
}


def tab_title(key: str, locale: str) -> str:
    return OWNED[key]["es" if locale == "es" else "en"][0]


def tab_headers(key: str, locale: str) -> tuple[str, ...]:
    return OWNED[key]["es" if locale == "es" else "en"][1]


def computed_name(tab: str, key: str) -> tuple[str, str]:
    return COMPUTED[tab][key]


def word(key: str, locale: str) -> str:
    return WORDS[key]["es" if locale == "es" else "en"]
