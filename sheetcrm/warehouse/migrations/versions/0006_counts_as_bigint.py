"""the Outbox's attempts and the Sync Log's counts as bigint, as every count read from a cell

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 (an Attempts cell typed 3000000000 overflowed PostgreSQL's integer, and
every mirror failed until the cell was fixed)

SQLite is left as it is: its INTEGER already holds 64 bits, and batch mode would copy the
whole Sync Log table to say so.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COLUMNS = {'outbox': ('attempts',), 'sync_log': ('rows_read', 'issues', 'cells_written', 'requests')}


def upgrade() -> None:
    """Upgrade schema."""
    if op.get_context().dialect.name == 'sqlite':
        return
    for table, columns in COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=True)


def downgrade() -> None:
    """Downgrade schema."""
    if op.get_context().dialect.name == 'sqlite':
        return
    for table, columns in COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=True)
