"""Events numbered after the commit: a change writes its events unnumbered (``outbox_pending``), and
publishing numbers them under the organisation's counter in a transaction of its own.

Hand-written: one create_table and its index (no batch rebuild of any existing table).

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_pending",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_outbox_pending_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_pending")),
    )
    op.create_index("ix_outbox_pending_organisation", "outbox_pending", ["organisation_id", "id"])


def downgrade() -> None:
    waiting = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM outbox_pending")).scalar_one()
    if waiting:  # they would be lost
        raise RuntimeError(f"{waiting} outbox event(s) not numbered yet: run `flask --app app events publish`, then downgrade")
    op.drop_index("ix_outbox_pending_organisation", table_name="outbox_pending")
    op.drop_table("outbox_pending")
