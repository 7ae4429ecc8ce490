"""Key rotation: the digest key version beside each SCIM token digest, and a webhook endpoint's previous secret.

Hand-written: plain add_column (no table rebuild). Existing digests were made with version 1 of
the digest key, the only one there was.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("scim_token", sa.Column("key_id", sa.Integer(), server_default="1", nullable=False))
    op.add_column("webhook_endpoint", sa.Column("previous_secret_version", sa.Integer(), nullable=True))
    op.add_column("webhook_endpoint", sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoint") as batch:
        batch.drop_column("previous_secret_until")
        batch.drop_column("previous_secret_version")
    with op.batch_alter_table("scim_token") as batch:
        batch.drop_column("key_id")
