"""Whether an organisation may have imported users waiting for adoption: a create in one that never
imported skips the adoption lookup.

Hand-written: one add_column (no table rebuild); organisations with imported users not yet adopted
start with the flag set.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("organisation", sa.Column("imports_waiting", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(
        "UPDATE organisation SET imports_waiting = true WHERE EXISTS (SELECT 1 FROM scim_user"
        " WHERE scim_user.organisation_id = organisation.id AND scim_user.origin = 'import' AND scim_user.linked_at IS NULL)"
    )


def downgrade() -> None:
    with op.batch_alter_table("organisation") as batch:
        batch.drop_column("imports_waiting")
