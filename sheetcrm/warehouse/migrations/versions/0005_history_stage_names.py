"""the histories' stages by their configured names: the mark says which names they were put in

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 (stage_history.to_value held a Spanish sheet's "Ganada" while
opportunities.stage held "Closed Won")

The rows themselves are rewritten by the next mirror, not here: which stage a word names is the
workbook's config (its stages' names and aliases), which a migration does not know. A mark
whose `names` is NULL tells the mirror its history rows may still hold the sheet's words
(`warehouse.mirror._named_history`).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('sheetcrm_mirror', schema=None) as batch_op:
        batch_op.add_column(sa.Column('names', sa.Text(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('sheetcrm_mirror', schema=None) as batch_op:
        batch_op.drop_column('names')
