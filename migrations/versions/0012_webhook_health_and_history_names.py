"""Webhook endpoint health and pausing; the name of what a history row is about, as it was then.

- ``webhook_endpoint``: ``paused_at`` (``enabled`` false means paused), ``last_success_at``,
  ``last_failure_at``, ``last_failure`` and ``consecutive_failures``, set by the worker with each
  attempt's outcome.
- ``webhook_delivery``: an index on (organisation, endpoint, status) for an endpoint's dead letters,
  and one on (organisation, event_seq) for the retention purge's "does a delivery still need this
  event" (a few rows per event, one per endpoint).
- ``provisioning_event.resource_name``: the userName or displayName of the subject when the row
  was written (older rows have none; readers fall back on the changes they carry).

Hand-written: plain add_column and create_index (no table rebuild).

Revision ID: 0012
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("webhook_endpoint", sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("webhook_endpoint", sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("webhook_endpoint", sa.Column("last_failure_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("webhook_endpoint", sa.Column("last_failure", sa.Text(), nullable=True))
    op.add_column(
        "webhook_endpoint", sa.Column("consecutive_failures", sa.Integer(), server_default="0", nullable=False)
    )
    op.create_index(
        "ix_webhook_delivery_endpoint_status", "webhook_delivery", ["organisation_id", "endpoint_id", "status"]
    )
    op.create_index("ix_webhook_delivery_event", "webhook_delivery", ["organisation_id", "event_seq"])
    op.add_column("provisioning_event", sa.Column("resource_name", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("provisioning_event") as batch:
        batch.drop_column("resource_name")
    op.drop_index("ix_webhook_delivery_event", table_name="webhook_delivery")
    op.drop_index("ix_webhook_delivery_endpoint_status", table_name="webhook_delivery")
    with op.batch_alter_table("webhook_endpoint") as batch:
        for column in ("consecutive_failures", "last_failure", "last_failure_at", "last_success_at", "paused_at"):
            batch.drop_column(column)
