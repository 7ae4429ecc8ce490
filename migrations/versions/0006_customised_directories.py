"""Customised directories: declared custom attributes and their typed values, undeclared attributes
seen, attribute-based role mappings and access rule, managers kept as the client named them.

Hand-written: new tables, and plain add_column / create_index on existing ones (no table rebuild).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:10:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _organisation_fk(table):
    return sa.ForeignKeyConstraint(
        ["organisation_id"], ["organisation.id"], name=op.f(f"fk_{table}_organisation_id_organisation"), ondelete="CASCADE"
    )


def upgrade():
    op.add_column("organisation", sa.Column("access_filter", sa.String(length=1024), nullable=True))
    op.add_column("organisation", sa.Column("undeclared_policy", sa.String(length=8), server_default="keep", nullable=False))
    op.add_column("organisation", sa.Column("schema_version", sa.Integer(), server_default="1", nullable=False))
    op.add_column("scim_user", sa.Column("manager_ref", sa.String(length=1024), nullable=True))
    op.add_column("scim_user", sa.Column("manager_display", sa.String(length=1024), nullable=True))
    op.add_column("scim_user", sa.Column("custom", sa.JSON(), nullable=True))
    op.add_column("scim_group", sa.Column("custom", sa.JSON(), nullable=True))
    op.execute("UPDATE scim_user SET manager_ref = manager_id WHERE manager_id IS NOT NULL")
    op.create_index("ix_scim_user_manager_ref", "scim_user", ["organisation_id", "manager_ref"], unique=False)
    # A free-text manager resolves by employeeNumber (fluid_scim.services.managers).
    op.create_index("ix_scim_user_employee_number", "scim_user", ["organisation_id", "employee_number"], unique=False)

    op.create_table(
        "attribute_declaration",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("schema_urn", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("path_key", sa.String(length=400), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("multi_valued", sa.Boolean(), nullable=False),
        sa.Column("case_exact", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(length=1024), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "type IN ('string', 'boolean', 'integer', 'decimal', 'dateTime')", name=op.f("ck_attribute_declaration_type")
        ),
        _organisation_fk("attribute_declaration"),
        sa.PrimaryKeyConstraint("organisation_id", "id", name=op.f("pk_attribute_declaration")),
    )
    op.create_index(
        "uq_attribute_declaration_path_key", "attribute_declaration", ["organisation_id", "path_key"], unique=True
    )

    op.create_table(
        "scim_user_custom_value",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("attribute_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("number", sa.Double(), nullable=True),
        sa.Column("flag", sa.Boolean(), nullable=True),
        sa.Column("instant", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id", "user_id"],
            ["scim_user.organisation_id", "scim_user.id"],
            name=op.f("fk_scim_user_custom_value_organisation_id_scim_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "organisation_id", "user_id", "attribute_id", "position", name=op.f("pk_scim_user_custom_value")
        ),
    )
    op.create_index(
        "ix_scim_user_custom_value_text",
        "scim_user_custom_value",
        ["organisation_id", "attribute_id", sa.text("lower(text)")],
        unique=False,
    )
    for name, column in (("exact", "text"), ("number", "number"), ("flag", "flag"), ("instant", "instant")):
        op.create_index(
            f"ix_scim_user_custom_value_{name}", "scim_user_custom_value", ["organisation_id", "attribute_id", column]
        )

    op.create_table(
        "undeclared_attribute",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("path_key", sa.String(length=400), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("resource_type", sa.String(length=16), nullable=False),
        sa.Column("value_kind", sa.String(length=16), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_count", sa.BigInteger(), nullable=False),
        sa.Column("example_resource_id", sa.String(length=36), nullable=True),
        _organisation_fk("undeclared_attribute"),
        sa.PrimaryKeyConstraint("organisation_id", "path_key", name=op.f("pk_undeclared_attribute")),
    )
    op.create_index(
        "ix_undeclared_attribute_last_seen", "undeclared_attribute", ["organisation_id", "last_seen_at"], unique=False
    )

    op.create_table(
        "attribute_role_mapping",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("filter", sa.String(length=1024), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _organisation_fk("attribute_role_mapping"),
        sa.PrimaryKeyConstraint("organisation_id", "id", name=op.f("pk_attribute_role_mapping")),
    )


def downgrade():
    op.drop_table("attribute_role_mapping")
    op.drop_index("ix_undeclared_attribute_last_seen", table_name="undeclared_attribute")
    op.drop_table("undeclared_attribute")
    for name in ("instant", "flag", "number", "exact", "text"):
        op.drop_index(f"ix_scim_user_custom_value_{name}", table_name="scim_user_custom_value")
    op.drop_table("scim_user_custom_value")
    op.drop_index("uq_attribute_declaration_path_key", table_name="attribute_declaration")
    op.drop_table("attribute_declaration")
    op.drop_index("ix_scim_user_employee_number", table_name="scim_user")
    op.drop_index("ix_scim_user_manager_ref", table_name="scim_user")
    with op.batch_alter_table("scim_group", schema=None) as batch_op:
        batch_op.drop_column("custom")
    with op.batch_alter_table("scim_user", schema=None) as batch_op:
        batch_op.drop_column("custom")
        batch_op.drop_column("manager_display")
        batch_op.drop_column("manager_ref")
    with op.batch_alter_table("organisation", schema=None) as batch_op:
        batch_op.drop_column("schema_version")
        batch_op.drop_column("undeclared_policy")
        batch_op.drop_column("access_filter")
