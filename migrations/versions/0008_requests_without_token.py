"""Requests refused without a bearer token are counted apart from the identity provider's traffic.

Hand-written: one plain add_column (no table rebuild).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("status_bucket", sa.Column("without_token", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("status_bucket") as batch:
        batch.drop_column("without_token")
