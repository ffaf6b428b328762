"""audit sampling: labels of fields keyed blind (抜き取り検査)

The new document state ``audit_check`` needs no change: ``document.status`` is a string.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auditlabel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("form_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("form_version", sa.Integer(), nullable=False),
        sa.Column("field", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("ocr_value", sa.Text(), nullable=True),
        sa.Column("keyed_value", sa.Text(), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("reasons", sa.Text(), server_default="[]", nullable=False),
        sa.Column("unchecked", sa.Boolean(), nullable=False),
        sa.Column("matched", sa.Boolean(), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("settled", sa.Boolean(), nullable=False),
        sa.Column("user", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("document_id", "field"),
    )
    with op.batch_alter_table("auditlabel", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_auditlabel_document_id"), ["document_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_auditlabel_form_id"), ["form_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_auditlabel_type"), ["type"], unique=False)
        batch_op.create_index(batch_op.f("ix_auditlabel_at"), ["at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("auditlabel", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auditlabel_at"))
        batch_op.drop_index(batch_op.f("ix_auditlabel_type"))
        batch_op.drop_index(batch_op.f("ix_auditlabel_form_id"))
        batch_op.drop_index(batch_op.f("ix_auditlabel_document_id"))
    op.drop_table("auditlabel")
