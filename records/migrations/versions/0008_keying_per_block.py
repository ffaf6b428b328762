"""one keying job per record: a document whose mapping keys each repeated block is several records

The ledger was unique on (document, target). A form with four insured persons keyed one record per
person needs four rows, each with its own reference, so the key is now (document, target, block);
existing rows are block 0 (the whole document), and their references are unchanged. A reference was
unique over all targets; a record keyed into two systems carries the same one in each, so it is now
unique within a target.

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
BY_TARGET = "uq_keyingjob_target_reference"
#: SQLite keeps the old constraints unnamed: batch mode names them by this convention to drop them.
CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_N_name)s"}


def _old_name(columns: list[str]) -> str:
    """PostgreSQL named a constraint itself; SQLite did not (None): then the convention's name."""
    for uc in sa.inspect(op.get_bind()).get_unique_constraints("keyingjob"):
        if list(uc["column_names"]) == columns and uc.get("name"):
            return str(uc["name"])
    return "uq_keyingjob_" + "_".join(columns)


def upgrade() -> None:
    old, reference = _old_name(["document_id", "target"]), _old_name(["reference"])
    with op.batch_alter_table("keyingjob", schema=None, naming_convention=CONVENTION) as batch_op:
        batch_op.add_column(sa.Column("block", sa.Integer(), nullable=False, server_default="0"))
        batch_op.drop_constraint(old, type_="unique")
        batch_op.drop_constraint(reference, type_="unique")
        batch_op.create_unique_constraint(NEW, ["document_id", "target", "block"])
        batch_op.create_unique_constraint(BY_TARGET, ["target", "reference"])


def downgrade() -> None:
    with op.batch_alter_table("keyingjob", schema=None) as batch_op:
        batch_op.drop_constraint(BY_TARGET, type_="unique")
        batch_op.drop_constraint(NEW, type_="unique")
        batch_op.drop_column("block")
        batch_op.create_unique_constraint("uq_keyingjob_reference", ["reference"])
        batch_op.create_unique_constraint("uq_keyingjob_document_id_target", ["document_id", "target"])
