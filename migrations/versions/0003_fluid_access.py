"""Fluid access: access group, role mappings, access events, the deprovisioning brake, tombstones.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 10:27:23.992280

"""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():

    op.create_table(
        "access_event",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("user_name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("roles_before", sa.JSON(), nullable=False),
        sa.Column("roles_after", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_access_event_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", "id", name=op.f("pk_access_event")),
    )
    with op.batch_alter_table("access_event", schema=None) as batch_op:
        batch_op.create_index("ix_access_event_kind", ["organisation_id", "kind", "created_at"], unique=False)
        batch_op.create_index("ix_access_event_user", ["organisation_id", "user_id", "created_at"], unique=False)

    op.create_table(
        "held_access_change",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("user_name", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=255), nullable=True),
        sa.CheckConstraint("status IN ('held', 'released', 'discarded')", name=op.f("ck_held_access_change_status")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_held_access_change_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", "id", name=op.f("pk_held_access_change")),
    )
    with op.batch_alter_table("held_access_change", schema=None) as batch_op:
        batch_op.create_index("ix_held_access_change_status", ["organisation_id", "status", "created_at"], unique=False)

    op.create_table(
        "role_mapping",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('group', 'app_role')", name=op.f("ck_role_mapping_kind")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_role_mapping_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", "kind", "source", name=op.f("pk_role_mapping")),
    )
    op.create_table(
        "user_tombstone",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("user_name", sa.String(length=255), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("purge_after", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_user_tombstone_organisation_id_organisation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", "user_id", name=op.f("pk_user_tombstone")),
    )
    with op.batch_alter_table("user_tombstone", schema=None) as batch_op:
        batch_op.create_index("ix_user_tombstone_purge_after", ["organisation_id", "purge_after"], unique=False)

    # Plain ADD COLUMN (no batch table rebuild, which would drop SQLite's expression indexes).
    op.add_column("organisation", sa.Column("access_group_id", sa.String(length=36), nullable=True))
    op.add_column("organisation", sa.Column("access_mode", sa.String(length=16), server_default="group", nullable=False))
    op.add_column("organisation", sa.Column("brake_enabled", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("organisation", sa.Column("brake_percent", sa.Integer(), server_default="20", nullable=False))
    op.add_column("organisation", sa.Column("brake_min_removals", sa.Integer(), server_default="10", nullable=False))
    op.add_column("organisation", sa.Column("brake_window_minutes", sa.Integer(), server_default="60", nullable=False))
    op.add_column("organisation", sa.Column("tombstone_retention_days", sa.Integer(), server_default="90", nullable=False))

    op.add_column("scim_user", sa.Column("access_granted", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("scim_user", sa.Column("access_changed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("scim_user", sa.Column("fluid_roles", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
    op.add_column("scim_user", sa.Column("origin", sa.String(length=8), server_default="scim", nullable=False))
    op.add_column("scim_user", sa.Column("fluid_extension", sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column("scim_user", sa.Column("linked_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_scim_user_access", "scim_user", ["organisation_id", "access_granted"], unique=False)
    _create_access_groups()


def _create_access_groups() -> None:
    """Every existing organisation gets its "Fluid User" access group (an existing group of that name is adopted)."""
    bind = op.get_bind()
    organisation = sa.table("organisation", sa.column("id", sa.Uuid()), sa.column("access_group_id", sa.String()))
    group = sa.table(
        "scim_group",
        sa.column("organisation_id", sa.Uuid()),
        sa.column("id", sa.String()),
        sa.column("display_name", sa.String()),
        sa.column("display_name_key", sa.String()),
        sa.column("version", sa.Integer()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    for (organisation_id,) in bind.execute(sa.select(organisation.c.id)).all():
        found = bind.execute(
            sa.select(group.c.id).where(group.c.organisation_id == organisation_id, group.c.display_name_key == "fluid user")
        ).scalar()
        if found is None:
            found = str(uuid.uuid4())
            bind.execute(
                group.insert().values(
                    organisation_id=organisation_id,
                    id=found,
                    display_name="Fluid User",
                    display_name_key="fluid user",
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
            )
        bind.execute(organisation.update().where(organisation.c.id == organisation_id).values(access_group_id=found))


def downgrade():

    op.drop_index("ix_scim_user_access", table_name="scim_user")
    for column in ("fluid_extension", "linked_at", "origin", "fluid_roles", "access_changed_at", "access_granted"):
        op.drop_column("scim_user", column)

    for column in (
        "tombstone_retention_days",
        "brake_window_minutes",
        "brake_min_removals",
        "brake_percent",
        "brake_enabled",
        "access_mode",
        "access_group_id",
    ):
        op.drop_column("organisation", column)

    with op.batch_alter_table("user_tombstone", schema=None) as batch_op:
        batch_op.drop_index("ix_user_tombstone_purge_after")

    op.drop_table("user_tombstone")
    op.drop_table("role_mapping")
    with op.batch_alter_table("held_access_change", schema=None) as batch_op:
        batch_op.drop_index("ix_held_access_change_status")

    op.drop_table("held_access_change")
    with op.batch_alter_table("access_event", schema=None) as batch_op:
        batch_op.drop_index("ix_access_event_user")
        batch_op.drop_index("ix_access_event_kind")

    op.drop_table("access_event")
