"""keying outage: when a record first found its target unreachable, and its last attempt's evidence

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("keyingjob", schema=None) as batch_op:
        batch_op.add_column(sa.Column("waiting_since", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_evidence", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("keyingjob", schema=None) as batch_op:
        batch_op.drop_column("last_evidence")
        batch_op.drop_column("waiting_since")
