"""Write the next Alembic migration of the warehouse (sheetcrm/warehouse/migrations/versions/):
the difference between the tables the migrations so far make and `sheetcrm.warehouse.tables`.

    python scripts/warehouse_migration.py "add cases and campaigns"

Run it after changing the tables (a new tab kind in RECORD_TABS, a new computed field); read
the file it writes, then tests/warehouse/test_migrations.py checks the two agree.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from sheetcrm.warehouse.mirror import _alembic


def main(message: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = _alembic()
        config.set_main_option("sqlalchemy.url", f"sqlite:///{Path(tmp) / 'head.db'}")
        command.upgrade(config, "head")
        command.revision(config, message=message, autogenerate=True)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
