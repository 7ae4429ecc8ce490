"""An organisation's customised directory: declared custom attributes, undeclared ones seen, attribute rules."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from fluid_scim.extensions import Model
from fluid_scim.models.scim import new_id
from fluid_scim.models.types import UTCDateTime, utcnow

CUSTOM_TYPES = ("string", "boolean", "integer", "decimal", "dateTime")


class AttributeDeclaration(Model):
    """A custom User attribute an organisation declared: in an extension schema, or a top-level name.

    ``schema_urn`` is "" for a top-level name (part of the organisation's core User schema).
    ``path_key`` is the lower-cased full path, unique per organisation (names are case-insensitive).
    """

    __tablename__ = "attribute_declaration"
    __table_args__ = (
        CheckConstraint("type IN ('string', 'boolean', 'integer', 'decimal', 'dateTime')", name="type"),
        Index("uq_attribute_declaration_path_key", "organisation_id", "path_key", unique=True),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    schema_urn: Mapped[str] = mapped_column(String(255), default="")
    name: Mapped[str] = mapped_column(String(128))
    path_key: Mapped[str] = mapped_column(String(400))
    type: Mapped[str] = mapped_column(String(16))
    multi_valued: Mapped[bool] = mapped_column(Boolean, default=False)
    case_exact: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(String(1024), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UndeclaredAttribute(Model):
    """An attribute the organisation's directory sends that it has not declared: when, how often, an example."""

    __tablename__ = "undeclared_attribute"
    __table_args__ = (Index("ix_undeclared_attribute_last_seen", "organisation_id", "last_seen_at"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    path_key: Mapped[str] = mapped_column(String(400), primary_key=True)
    path: Mapped[str] = mapped_column(String(400))
    resource_type: Mapped[str] = mapped_column(String(16))
    # The JSON kind of the last value seen: string, number, boolean, object or array.
    value_kind: Mapped[str] = mapped_column(String(16))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen_count: Mapped[int] = mapped_column(BigInteger, default=1)
    example_resource_id: Mapped[str | None] = mapped_column(String(36))


class AttributeRoleMapping(Model):
    """Users matching a SCIM filter over their attributes (custom ones included) get a Fluid role."""

    __tablename__ = "attribute_role_mapping"

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    filter: Mapped[str] = mapped_column(String(1024))
    role: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
