"""the mark's read_at: when the read the warehouse's rows were mirrored from began

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 (two syncs of one workbook at once, a service and a person's CLI: the
mirror of the older read committed after the newer one's, and the warehouse went back to the
older rows until the next sync, with nothing said)

NULL for a mark made before: the next mirror sets it, whatever its read.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('sheetcrm_mirror', schema=None) as batch_op:
        batch_op.add_column(sa.Column('read_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('sheetcrm_mirror', schema=None) as batch_op:
        batch_op.drop_column('read_at')
