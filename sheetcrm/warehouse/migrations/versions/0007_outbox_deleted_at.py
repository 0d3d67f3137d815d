"""the Outbox's tombstone: a row deleted from the tab gets deleted_at, as a record's does

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 (an Outbox row deleted from the sheet stayed in the warehouse with its
last status, so a deleted Draft counted as waiting for ever in any query)

The rows held are left live: which of them the sheet no longer has is known only at the next
mirror, which tombstones them.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
