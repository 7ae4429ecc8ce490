"""A partial index of the reports waiting for their manager.

Every create (and every change of an externalId or employeeNumber) looks for users whose unresolved
``manager.value`` names the new user (``repositories.scim.link_reports``). With an index of every
user's ``manager_ref``, PostgreSQL without statistics (a new database, before autovacuum's first
ANALYZE) chose an index with only ``organisation_id`` fixed and read every user of the organisation:
2 ms of the database's time a create at 2,000 users, growing with the organisation, and a prepared
statement kept that plan. ``ix_scim_user_manager_waiting`` holds only the users whose manager is
unresolved (``manager_id IS NULL AND manager_ref IS NOT NULL``), usually none or a few, so both
databases choose it with or without statistics. ``ix_scim_user_manager_ref`` stays for filters on
``manager.value``.

Hand-written. On PostgreSQL the index is built ``CONCURRENTLY`` (outside the migration's
transaction); an index left invalid by a failed build is dropped first, so the migration can be run again.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_NAME = "ix_scim_user_manager_waiting"
_WAITING = sa.text("manager_id IS NULL AND manager_ref IS NOT NULL")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.drop_index(_NAME, table_name="scim_user", if_exists=True, postgresql_concurrently=True)
            op.create_index(
                _NAME, "scim_user", ["organisation_id", "manager_ref"], postgresql_where=_WAITING, postgresql_concurrently=True
            )
        return
    op.create_index(_NAME, "scim_user", ["organisation_id", "manager_ref"], sqlite_where=_WAITING)


def downgrade() -> None:
    op.drop_index(_NAME, table_name="scim_user")
