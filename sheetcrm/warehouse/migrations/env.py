"""Alembic's entry point: migrate the connection sheetcrm.warehouse.mirror hands over
(`config.attributes["connection"]`), or, for `scripts/warehouse_migration.py`, the URL in the
config's sqlalchemy.url."""

from alembic import context
from sqlalchemy import create_engine

from sheetcrm.warehouse.tables import METADATA, VERSION_TABLE


def _run(connection) -> None:
    # render_as_batch: SQLite alters a table by copying it; Alembic's batch mode does that.
    context.configure(connection=connection, target_metadata=METADATA, version_table=VERSION_TABLE,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    with create_engine(context.config.get_main_option("sqlalchemy.url")).connect() as conn:
        _run(conn)
        conn.commit()
