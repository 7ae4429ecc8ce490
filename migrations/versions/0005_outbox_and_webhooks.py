"""Outbound provisioning events: the outbox, its per-organisation sequence, webhook endpoints and deliveries.

Hand-written: plain create_table / create_index (no batch rebuild of any existing table), every
key leading with organisation_id.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 11:20:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _organisation_fk(table):
    return sa.ForeignKeyConstraint(
        ["organisation_id"], ["organisation.id"], name=op.f(f"fk_{table}_organisation_id_organisation"), ondelete="CASCADE"
    )


def upgrade():
    op.create_table(
        "outbox_sequence",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        _organisation_fk("outbox_sequence"),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_outbox_sequence")),
    )
    op.create_table(
        "outbox_event",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _organisation_fk("outbox_event"),
        sa.PrimaryKeyConstraint("organisation_id", "seq", name=op.f("pk_outbox_event")),
    )
    op.create_table(
        "webhook_endpoint",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("secret_version", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("dispatched_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _organisation_fk("webhook_endpoint"),
        sa.PrimaryKeyConstraint("organisation_id", "id", name=op.f("pk_webhook_endpoint")),
    )
    op.create_table(
        "webhook_delivery",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("endpoint_id", sa.String(length=36), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("event_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'dead')", name=op.f("ck_webhook_delivery_status")),
        sa.ForeignKeyConstraint(
            ["organisation_id", "endpoint_id"],
            ["webhook_endpoint.organisation_id", "webhook_endpoint.id"],
            name=op.f("fk_webhook_delivery_organisation_id_endpoint_id_webhook_endpoint"),
            ondelete="CASCADE",
        ),
        _organisation_fk("webhook_delivery"),
        sa.PrimaryKeyConstraint("organisation_id", "endpoint_id", "event_seq", name=op.f("pk_webhook_delivery")),
    )
    op.create_index("ix_webhook_delivery_due", "webhook_delivery", ["organisation_id", "status", "next_attempt_at"])
    op.create_index(
        "ix_webhook_delivery_subject", "webhook_delivery", ["organisation_id", "endpoint_id", "subject_id", "event_seq"]
    )


def downgrade():
    op.drop_index("ix_webhook_delivery_subject", table_name="webhook_delivery")
    op.drop_index("ix_webhook_delivery_due", table_name="webhook_delivery")
    op.drop_table("webhook_delivery")
    op.drop_table("webhook_endpoint")
    op.drop_table("outbox_event")
    op.drop_table("outbox_sequence")
