"""The warehouse's Alembic migrations, shipped inside the package (sheetcrm.warehouse.mirror runs them)."""
