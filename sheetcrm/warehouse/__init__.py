"""The warehouse mirror: every sync's records, computed fields, histories, Outbox and Sync Log,
upserted into a SQL database (PostgreSQL, or SQLite to try it) for BI tools (docs/warehouse.md).

Each module names its own floor (tests/test_layers.py): `settings` (the [warehouse] section,
no SQLAlchemy), `tables` (the typed tables, derived from the record models), `rows` (what one
sync mirrors, pure), `mirror` (the database: migrations, one transaction per sync, status).
"""
