"""Indexes for the default order of a list (creation time, then id), per organisation.

A list without ``sortBy`` is ordered by ``created_at`` and then ``id``. Without an index in that
order the database sorted every user (or group) of the organisation to return one page: the cost of a
page grew with the organisation. With (organisation_id, created_at, id) a page reads its rows in
index order and stops after them.

Hand-written. On PostgreSQL the indexes are built ``CONCURRENTLY`` (outside the migration's
transaction), so that provisioning goes on while a large table is indexed; an index left invalid
by a failed build is dropped first (``DROP INDEX IF EXISTS``), so the migration can be run again.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_INDEXES = (("ix_scim_user_created", "scim_user"), ("ix_scim_group_created", "scim_group"))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            for name, table in _INDEXES:
                op.drop_index(name, table_name=table, if_exists=True, postgresql_concurrently=True)
                op.create_index(name, table, ["organisation_id", "created_at", "id"], postgresql_concurrently=True)
        return
    for name, table in _INDEXES:
        op.create_index(name, table, ["organisation_id", "created_at", "id"])


def downgrade() -> None:
    for name, table in _INDEXES:
        op.drop_index(name, table_name=table)
