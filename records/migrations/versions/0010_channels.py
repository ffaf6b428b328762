"""channels: online applications (with attachments) and 書かない窓口 visits and their printed slips

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=10), nullable=False, server_default="paper"))
        batch_op.add_column(sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=140), nullable=True))
        batch_op.create_index(batch_op.f("ix_document_channel"), ["channel"], unique=False)
    op.create_table(
        "attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("added_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_attachment_document_id"), "attachment", ["document_id"], unique=False)
    op.create_table(
        "countervisit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("staff", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("id_document", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("id_number_masked", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("checked_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("checked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_countervisit_started_at"), "countervisit", ["started_at"], unique=False)
    op.create_table(
        "counterslip",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("form_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("form_version", sa.Integer(), nullable=False),
        sa.Column("issued_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("issued_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("staff_seconds", sa.Float(), nullable=True),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["document_id"], ["document.id"]),
        sa.ForeignKeyConstraint(["visit_id"], ["countervisit.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_counterslip_document_id"), "counterslip", ["document_id"], unique=False)
    op.create_index(op.f("ix_counterslip_issued_at"), "counterslip", ["issued_at"], unique=False)
    op.create_index(op.f("ix_counterslip_nonce"), "counterslip", ["nonce"], unique=True)
    op.create_index(op.f("ix_counterslip_visit_id"), "counterslip", ["visit_id"], unique=False)


def downgrade() -> None:
    op.drop_table("counterslip")
    op.drop_table("countervisit")
    op.drop_table("attachment")
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_channel"))
        batch_op.drop_column("external_id")
        batch_op.drop_column("channel")
