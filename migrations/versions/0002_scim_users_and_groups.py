"""SCIM users (with their multi-valued attribute rows), groups and memberships.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TEXT = 1024


def _strings(*names: str, length: int = _TEXT) -> list[sa.Column]:
    return [sa.Column(name, sa.String(length=length), nullable=True) for name in names]


def upgrade() -> None:
    op.create_table(
        "scim_user",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_name", sa.String(length=255), nullable=False),
        sa.Column("user_name_key", sa.String(length=255), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("display_name", sa.String(length=255), nullable=True),
        *_strings("nick_name"),
        sa.Column("profile_url", sa.String(length=2048), nullable=True),
        *_strings("title", "user_type", "preferred_language", "locale", "timezone"),
        sa.Column("active", sa.Boolean(), nullable=True),
        *_strings(
            "name_formatted",
            "name_family_name",
            "name_given_name",
            "name_middle_name",
            "name_honorific_prefix",
            "name_honorific_suffix",
        ),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        *_strings("employee_number", "cost_center", "organization", "division", "department"),
        sa.Column("manager_id", sa.String(length=36), nullable=True),
        sa.Column("multi_valued", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisation.id"], name=op.f("fk_scim_user_organisation_id_organisation"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("organisation_id", "id", name=op.f("pk_scim_user")),
    )
    op.create_index("uq_scim_user_user_name_key", "scim_user", ["organisation_id", "user_name_key"], unique=True)
    op.create_index("ix_scim_user_external_id", "scim_user", ["organisation_id", "external_id"])
    op.create_index("ix_scim_user_display_name", "scim_user", ["organisation_id", sa.text("lower(display_name)")])
    op.create_index("ix_scim_user_manager_id", "scim_user", ["organisation_id", "manager_id"])
    op.create_index("ix_scim_user_updated_at", "scim_user", ["organisation_id", "updated_at"])

    op.create_table(
        "scim_user_value",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("attribute", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        *_strings("display", "type"),
        sa.Column("primary", sa.Boolean(), nullable=True),
        *_strings("formatted", "street_address", "locality", "region", "postal_code", "country"),
        sa.ForeignKeyConstraint(
            ["organisation_id", "user_id"],
            ["scim_user.organisation_id", "scim_user.id"],
            name=op.f("fk_scim_user_value_organisation_id_user_id_scim_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", "user_id", "attribute", "position", name=op.f("pk_scim_user_value")),
    )
    op.create_index(
        "ix_scim_user_value_value", "scim_user_value", ["organisation_id", "attribute", sa.text("lower(value)")]
    )

    op.create_table(
        "scim_group",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("display_name", sa.String(length=255), nullable=False),
        sa.Column("display_name_key", sa.String(length=255), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisation.id"], name=op.f("fk_scim_group_organisation_id_organisation"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("organisation_id", "id", name=op.f("pk_scim_group")),
    )
    op.create_index("uq_scim_group_display_name_key", "scim_group", ["organisation_id", "display_name_key"], unique=True)
    op.create_index("ix_scim_group_external_id", "scim_group", ["organisation_id", "external_id"])
    op.create_index("ix_scim_group_updated_at", "scim_group", ["organisation_id", "updated_at"])

    op.create_table(
        "scim_group_member",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("member_type", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id", "group_id"],
            ["scim_group.organisation_id", "scim_group.id"],
            name=op.f("fk_scim_group_member_organisation_id_group_id_scim_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", "group_id", "member_id", name=op.f("pk_scim_group_member")),
    )
    op.create_index("ix_scim_group_member_member_id", "scim_group_member", ["organisation_id", "member_id"])


def downgrade() -> None:
    op.drop_table("scim_group_member")
    op.drop_table("scim_group")
    op.drop_table("scim_user_value")
    op.drop_table("scim_user")
