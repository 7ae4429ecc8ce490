"""Offboarding: an organisation being removed is marked, and each removal leaves a platform record.

Hand-written: one plain add_column (no table rebuild) and one new table without a foreign key to
``organisation``, so that the record outlives the organisation it describes.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("organisation", sa.Column("removal_started_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "organisation_removal",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("removed_organisation_id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=63), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_by", sa.String(length=255), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_removal")),
        sa.UniqueConstraint("removed_organisation_id", name=op.f("uq_organisation_removal_removed_organisation_id")),
    )
    op.create_index(op.f("ix_organisation_removal_slug"), "organisation_removal", ["slug"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_organisation_removal_slug"), table_name="organisation_removal")
    op.drop_table("organisation_removal")
    with op.batch_alter_table("organisation") as batch:
        batch.drop_column("removal_started_at")
