"""Provisioning events (the audit history) and per-organisation provisioning status.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 10:36:57.422029

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():

    op.create_table(
        "provisioning_event",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("user_agent", sa.String(length=255), nullable=True),
        sa.Column("token_fingerprint", sa.String(length=16), nullable=True),
        sa.Column("dialect", sa.String(length=16), nullable=True),
        sa.Column("quirks", sa.JSON(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=True),
        sa.Column("path", sa.String(length=512), nullable=True),
        sa.Column("resource_type", sa.String(length=32), nullable=True),
        sa.Column("resource_id", sa.String(length=36), nullable=True),
        sa.Column("operation", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("scim_type", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_provisioning_event_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", "id", name=op.f("pk_provisioning_event")),
    )
    with op.batch_alter_table("provisioning_event", schema=None) as batch_op:
        batch_op.create_index("ix_provisioning_event_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_provisioning_event_operation", ["organisation_id", "operation", "created_at"], unique=False)
        batch_op.create_index("ix_provisioning_event_resource", ["organisation_id", "resource_id", "created_at"], unique=False)
        batch_op.create_index("ix_provisioning_event_time", ["organisation_id", "created_at", "id"], unique=False)

    op.create_table(
        "provisioning_status",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("last_request_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error_status", sa.Integer(), nullable=True),
        sa.Column("last_error_detail", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_provisioning_status_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_provisioning_status")),
    )
    op.create_table(
        "status_bucket",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("unauthorized", sa.Integer(), nullable=False),
        sa.Column("query_not_found", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_status_bucket_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", "starts_at", name=op.f("pk_status_bucket")),
    )


def downgrade():

    op.drop_table("status_bucket")
    op.drop_table("provisioning_status")
    with op.batch_alter_table("provisioning_event", schema=None) as batch_op:
        batch_op.drop_index("ix_provisioning_event_time")
        batch_op.drop_index("ix_provisioning_event_resource")
        batch_op.drop_index("ix_provisioning_event_operation")
        batch_op.drop_index("ix_provisioning_event_created_at")

    op.drop_table("provisioning_event")
