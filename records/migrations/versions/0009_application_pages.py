"""applications of several pages: a further page points at the document of its first page

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.add_column(sa.Column("application_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_document_application_id"), ["application_id"], unique=False)
        batch_op.create_foreign_key("fk_document_application_id", "document", ["application_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_constraint("fk_document_application_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_document_application_id"))
        batch_op.drop_column("application_id")
