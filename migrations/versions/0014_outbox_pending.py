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
    """Before 0014 every event was numbered at its commit: number what is pending, as publishing would
    (per organisation, in the order written, after its last number), then drop the table."""
    bind = op.get_bind()
    pending = sa.table(
        "outbox_pending", sa.column("id", sa.BigInteger()), sa.column("organisation_id", sa.Uuid()),
        sa.column("event_id", sa.String()), sa.column("type", sa.String()), sa.column("subject_id", sa.String()),
        sa.column("data", sa.JSON()), sa.column("created_at", sa.DateTime(timezone=True)),
    )
    events = sa.table(
        "outbox_event", sa.column("organisation_id", sa.Uuid()), sa.column("seq", sa.BigInteger()),
        sa.column("id", sa.String()), sa.column("type", sa.String()), sa.column("subject_id", sa.String()),
        sa.column("data", sa.JSON()), sa.column("created_at", sa.DateTime(timezone=True)),
    )
    counters = sa.table("outbox_sequence", sa.column("organisation_id", sa.Uuid()), sa.column("last_seq", sa.BigInteger()))
    for organisation_id in bind.execute(sa.select(pending.c.organisation_id).distinct()).scalars().all():
        last = bind.execute(
            sa.select(counters.c.last_seq).where(counters.c.organisation_id == organisation_id)
        ).scalar_one_or_none()
        if last is None:
            bind.execute(counters.insert().values(organisation_id=organisation_id, last_seq=0))
            last = 0
        rows = bind.execute(
            sa.select(pending).where(pending.c.organisation_id == organisation_id).order_by(pending.c.id)
        ).all()
        bind.execute(
            events.insert(),
            [
                {"organisation_id": organisation_id, "seq": last + offset, "id": row.event_id, "type": row.type,
                 "subject_id": row.subject_id, "data": row.data, "created_at": row.created_at}
                for offset, row in enumerate(rows, start=1)
            ],
        )
        bind.execute(
            counters.update().where(counters.c.organisation_id == organisation_id).values(last_seq=last + len(rows))
        )
    op.drop_index("ix_outbox_pending_organisation", table_name="outbox_pending")
    op.drop_table("outbox_pending")
