"""SCIM Users and Groups. Every key and index leads with ``organisation_id`` (shards by organisation).

Single-valued attributes are columns (filterable, sortable); multi-valued ones are kept twice on
purpose: as JSON on the user row, so that a GET is one row read, and as rows of
``scim_user_value``, so that filters such as ``emails[type eq "work"].value eq "x"`` run in SQL
with an index. Both are written by the same service call in the same transaction.
Group membership is its own table: adding or removing members never reads the member list.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from fluid_scim.extensions import Model
from fluid_scim.models.types import UTCDateTime, utcnow

_ID = re.compile(r"^[0-9a-fA-F-]{1,36}$")


def is_resource_id(value: object) -> bool:
    """Whether ``value`` could be an id this server issued (UUID text); anything else matches nothing.

    Checked before a query, so that text a database cannot hold (NUL) never reaches it.
    """
    return isinstance(value, str) and _ID.match(value) is not None


def new_id() -> str:
    """SCIM ids are opaque strings (RFC 7643 §3.1): canonical UUID text, the same on every backend."""
    return str(uuid.uuid4())


# Index names are spelled out: expression indexes have no column name for the naming convention.


def _order_indexes(name: str, column: str) -> tuple[Index, Index]:
    """(organisation_id, lower(column), id) in code-point order: ``name`` on SQLite (BINARY collation),
    ``name_c`` on PostgreSQL (``COLLATE "C"``), each created on its own database alone; ``info`` says
    which, and that the PostgreSQL one has a collation Alembic does not reflect, for the check that the
    migrations match the models (tests/test_migrations.py; tests/test_list_plans.py sees it used)."""
    return (
        Index(name, "organisation_id", text(f"lower({column})"), "id", info={"dialect": "sqlite"}).ddl_if(dialect="sqlite"),
        Index(f"{name}_c", "organisation_id", text(f'(lower({column}) COLLATE "C")'), "id",
              info={"dialect": "postgresql", "collation": "C"}).ddl_if(dialect="postgresql"),
    )


class ScimUser(Model):
    __tablename__ = "scim_user"
    __table_args__ = (
        Index("uq_scim_user_user_name_key", "organisation_id", "user_name_key", unique=True),
        Index("ix_scim_user_external_id", "organisation_id", "external_id"),
        Index("ix_scim_user_display_name", "organisation_id", text("lower(display_name)")),
        Index("ix_scim_user_manager_id", "organisation_id", "manager_id"),
        Index("ix_scim_user_manager_ref", "organisation_id", "manager_ref"),
        # The reports waiting for their manager (repositories.scim.link_reports, at every create): only
        # they are in it, so it stays as small as they are few, and both databases choose it with or
        # without statistics (the full index above serves filters on manager.value).
        Index(
            "ix_scim_user_manager_waiting",
            "organisation_id",
            "manager_ref",
            postgresql_where=text("manager_id IS NULL AND manager_ref IS NOT NULL"),
            sqlite_where=text("manager_id IS NULL AND manager_ref IS NOT NULL"),
        ),
        Index("ix_scim_user_employee_number", "organisation_id", "employee_number"),
        Index("ix_scim_user_updated_at", "organisation_id", "updated_at"),
        Index("ix_scim_user_access", "organisation_id", "access_granted"),
        # The default order of a list (filtering.sort_clause): a page reads its rows in index order.
        Index("ix_scim_user_created", "organisation_id", "created_at", "id"),
        # sortBy=userName (the admin console's list): lower(userName) in code-point order, which is
        # SQLite's BINARY collation and PostgreSQL's "C": one index per database.
        *_order_indexes("ix_scim_user_user_name_order", "user_name"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_name: Mapped[str] = mapped_column(String(255))
    # NFKC-normalised, lower-cased userName: the uniqueness key (userName is caseExact=false).
    user_name_key: Mapped[str] = mapped_column(String(255))
    external_id: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    nick_name: Mapped[str | None] = mapped_column(String(1024))
    profile_url: Mapped[str | None] = mapped_column(String(2048))
    title: Mapped[str | None] = mapped_column(String(1024))
    user_type: Mapped[str | None] = mapped_column(String(1024))
    preferred_language: Mapped[str | None] = mapped_column(String(1024))
    locale: Mapped[str | None] = mapped_column(String(1024))
    timezone: Mapped[str | None] = mapped_column(String(1024))
    # None: unassigned (a client removed it or never sent it); Fluid treats it as active.
    active: Mapped[bool | None] = mapped_column(Boolean)
    name_formatted: Mapped[str | None] = mapped_column(String(1024))
    name_family_name: Mapped[str | None] = mapped_column(String(1024))
    name_given_name: Mapped[str | None] = mapped_column(String(1024))
    name_middle_name: Mapped[str | None] = mapped_column(String(1024))
    name_honorific_prefix: Mapped[str | None] = mapped_column(String(1024))
    name_honorific_suffix: Mapped[str | None] = mapped_column(String(1024))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    employee_number: Mapped[str | None] = mapped_column(String(1024))
    cost_center: Mapped[str | None] = mapped_column(String(1024))
    organization: Mapped[str | None] = mapped_column(String(1024))
    division: Mapped[str | None] = mapped_column(String(1024))
    department: Mapped[str | None] = mapped_column(String(1024))
    # The manager as the client named them (an id, or e.g. Okta's free-text managerId), and the id
    # of the user of this organisation it resolves to (None while no user matches it).
    manager_ref: Mapped[str | None] = mapped_column(String(1024))
    # The displayName the client sent with it, shown while the manager is unresolved.
    manager_display: Mapped[str | None] = mapped_column(String(1024))
    manager_id: Mapped[str | None] = mapped_column(String(36))
    # Fluid access, derived from the directory (fluid_scim.services.access) and read-only in SCIM.
    access_granted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    access_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fluid_roles: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    # "scim": created by an IdP; "import": created by `users import` and not yet adopted by SCIM.
    origin: Mapped[str] = mapped_column(String(8), default="scim", server_default="scim")
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Whether the read-only Fluid extension is part of this user's SCIM representation. A client
    # may remove or add the extension as a whole (its values stay derived); access is unaffected.
    fluid_extension: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # {"emails": [...], "phoneNumbers": [...], ...}: canonical multi-valued attributes, for rendering.
    multi_valued: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The organisation's declared custom attributes and undeclared ones kept as received, in the
    # canonical document's shape ({"<extension URN>": {...}, "<top-level name>": value}); None: none.
    custom: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": version}


class ScimUserCustomValue(Model):
    """One value of a declared custom attribute, typed, for filters and sorting in SQL.

    Written with the user's ``custom`` document in the same transaction; only declared
    attributes have rows (undeclared ones are kept, not searchable).
    """

    __tablename__ = "scim_user_custom_value"
    __table_args__ = (
        ForeignKeyConstraint(["organisation_id", "user_id"], ["scim_user.organisation_id", "scim_user.id"], ondelete="CASCADE"),
        Index("ix_scim_user_custom_value_text", "organisation_id", "attribute_id", text("lower(text)")),
        Index("ix_scim_user_custom_value_exact", "organisation_id", "attribute_id", "text"),
        Index("ix_scim_user_custom_value_number", "organisation_id", "attribute_id", "number"),
        Index("ix_scim_user_custom_value_flag", "organisation_id", "attribute_id", "flag"),
        Index("ix_scim_user_custom_value_instant", "organisation_id", "attribute_id", "instant"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    attribute_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str | None] = mapped_column(Text)
    number: Mapped[float | None] = mapped_column(Double)
    flag: Mapped[bool | None] = mapped_column(Boolean)
    instant: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ScimUserValue(Model):
    """One entry of a multi-valued user attribute (emails, phoneNumbers, addresses, roles, …), for filters."""

    __tablename__ = "scim_user_value"
    __table_args__ = (
        ForeignKeyConstraint(["organisation_id", "user_id"], ["scim_user.organisation_id", "scim_user.id"], ondelete="CASCADE"),
        Index("ix_scim_user_value_value", "organisation_id", "attribute", text("lower(value)")),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    attribute: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    display: Mapped[str | None] = mapped_column(String(1024))
    type: Mapped[str | None] = mapped_column(String(1024))
    primary: Mapped[bool | None] = mapped_column(Boolean)
    formatted: Mapped[str | None] = mapped_column(String(1024))
    street_address: Mapped[str | None] = mapped_column(String(1024))
    locality: Mapped[str | None] = mapped_column(String(1024))
    region: Mapped[str | None] = mapped_column(String(1024))
    postal_code: Mapped[str | None] = mapped_column(String(1024))
    country: Mapped[str | None] = mapped_column(String(1024))


class ScimGroup(Model):
    __tablename__ = "scim_group"
    __table_args__ = (
        Index("uq_scim_group_display_name_key", "organisation_id", "display_name_key", unique=True),
        Index("ix_scim_group_external_id", "organisation_id", "external_id"),
        Index("ix_scim_group_updated_at", "organisation_id", "updated_at"),
        # The default order of a list (filtering.sort_clause): a page reads its rows in index order.
        Index("ix_scim_group_created", "organisation_id", "created_at", "id"),
        # sortBy=displayName (the admin console's list of groups), as users' userName.
        *_order_indexes("ix_scim_group_display_name_order", "display_name"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    display_name: Mapped[str] = mapped_column(String(255))
    # NFKC-normalised, lower-cased displayName: unique per organisation (Entra requires it).
    display_name_key: Mapped[str] = mapped_column(String(255))
    external_id: Mapped[str | None] = mapped_column(String(255))
    # Undeclared attributes kept as received (the organisation's policy "keep"); None: none.
    custom: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __mapper_args__ = {"version_id_col": version}


class ScimGroupMember(Model):
    """One membership. The member is a user or a group of the same organisation."""

    __tablename__ = "scim_group_member"
    __table_args__ = (
        ForeignKeyConstraint(
            ["organisation_id", "group_id"], ["scim_group.organisation_id", "scim_group.id"], ondelete="CASCADE"
        ),
        # A member's groups: covering (group_id included), so SQLite's planner chooses it without statistics.
        Index("ix_scim_group_member_of_member", "organisation_id", "member_id", "group_id"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    group_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    member_type: Mapped[str] = mapped_column(String(8), default="User")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserRecord(SimpleNamespace):
    """A stored user's shown columns, attributes named as on :class:`ScimUser`: read to be rendered by
    the SCIM read views (GET, lookups, list pages), never changed or written back."""
