"""Indexes for a page in the default order and by name, and a covering index for a member's groups.

* A list without ``sortBy`` is ordered by ``created_at`` and then ``id``. Without an index in that
  order the database sorted every user (or group) of the organisation to return one page: the cost
  of a page grew with the organisation. With (organisation_id, created_at, id) a page reads its rows
  in index order and stops after them.
* A user's groups are read by (organisation_id, member_id). The index on those two columns alone
  lacked ``group_id``, and SQLite's planner, without statistics (nothing runs ANALYZE on a SQLite
  file), preferred the primary key's covering index with only ``organisation_id`` fixed: a GET by id
  scanned every membership of the organisation (1.2 ms at 20,000 memberships; a page of 100 users,
  120 ms). (organisation_id, member_id, group_id) is covering and fixes both columns, so both
  databases choose it with or without statistics; it replaces ``ix_scim_group_member_member_id``.
* ``sortBy=userName`` (the admin console's list of users) and a group's ``sortBy=displayName`` order by
  ``lower(name)`` in code-point order, then id: (organisation_id, lower(name), id), in SQLite's BINARY
  collation and PostgreSQL's "C" (an expression each database writes its own way, so one index name
  per database, ``…_c`` on PostgreSQL).

Hand-written. On PostgreSQL the indexes are built ``CONCURRENTLY`` (outside the migration's
transaction), so that provisioning goes on while a large table is indexed; an index left invalid
by a failed build is dropped first (``DROP INDEX IF EXISTS``), so the migration can be run again.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_NEW = (
    ("ix_scim_user_created", "scim_user", ["organisation_id", "created_at", "id"]),
    ("ix_scim_group_created", "scim_group", ["organisation_id", "created_at", "id"]),
    ("ix_scim_group_member_of_member", "scim_group_member", ["organisation_id", "member_id", "group_id"]),
)
_REPLACED = ("ix_scim_group_member_member_id", "scim_group_member", ["organisation_id", "member_id"])
_BY_NAME = (("ix_scim_user_user_name_order", "scim_user", "user_name"), ("ix_scim_group_display_name_order", "scim_group", "display_name"))


def _by_name(postgresql: bool) -> list[tuple[str, str, list[object]]]:
    if postgresql:
        return [(f"{name}_c", table, ["organisation_id", sa.text(f'(lower({column}) COLLATE "C")'), "id"])
                for name, table, column in _BY_NAME]
    return [(name, table, ["organisation_id", sa.text(f"lower({column})"), "id"]) for name, table, column in _BY_NAME]


def upgrade() -> None:
    old_name, old_table, _ = _REPLACED
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            for name, table, columns in [*_NEW, *_by_name(True)]:
                op.drop_index(name, table_name=table, if_exists=True, postgresql_concurrently=True)
                op.create_index(name, table, columns, postgresql_concurrently=True)
            op.drop_index(old_name, table_name=old_table, if_exists=True, postgresql_concurrently=True)
        return
    for name, table, columns in [*_NEW, *_by_name(False)]:
        op.create_index(name, table, columns)
    op.drop_index(old_name, table_name=old_table)


def downgrade() -> None:
    old_name, old_table, old_columns = _REPLACED
    op.create_index(old_name, old_table, old_columns)
    for name, table, _ in [*_NEW, *_by_name(op.get_bind().dialect.name == "postgresql")]:
        op.drop_index(name, table_name=table)
