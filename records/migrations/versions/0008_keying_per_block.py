"""one keying job per record: a document whose mapping keys each repeated block is several records

The ledger was unique on (document, target). A form with four insured persons keyed one record per
person needs four rows, each with its own reference, so the key is now (document, target, block);
existing rows are block 0 (the whole document), and their references are unchanged.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

NEW = "uq_keyingjob_document_target_block"
#: SQLite keeps the old constraint unnamed: batch mode names it by this convention to drop it.
CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_name)s_%(column_1_name)s"}


def _old_name() -> str:
    """PostgreSQL named the constraint itself; SQLite did not (None): then the convention's name."""
    for uc in sa.inspect(op.get_bind()).get_unique_constraints("keyingjob"):
        if list(uc["column_names"]) == ["document_id", "target"] and uc.get("name"):
            return str(uc["name"])
    return "uq_keyingjob_document_id_target"


def upgrade() -> None:
    old = _old_name()
    with op.batch_alter_table("keyingjob", schema=None, naming_convention=CONVENTION) as batch_op:
        batch_op.add_column(sa.Column("block", sa.Integer(), nullable=False, server_default="0"))
        batch_op.drop_constraint(old, type_="unique")
        batch_op.create_unique_constraint(NEW, ["document_id", "target", "block"])


def downgrade() -> None:
    with op.batch_alter_table("keyingjob", schema=None) as batch_op:
        batch_op.drop_constraint(NEW, type_="unique")
        batch_op.drop_column("block")
        batch_op.create_unique_constraint("uq_keyingjob_document_id_target", ["document_id", "target"])
