"""Organisations (tenants) and their SCIM token metadata."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Uuid, true
from sqlalchemy.orm import Mapped, mapped_column

from fluid_scim.extensions import db
from fluid_scim.models.types import UTCDateTime, utcnow


class Organisation(db.Model):
    """A Fluid customer: ``{slug}.{FLUID_BASE_DOMAIN}`` is its instance and SCIM tenant."""

    __tablename__ = "organisation"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    scim_sync_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Organisation {self.slug}>"


class ScimToken(db.Model):
    """The current SCIM bearer token of an organisation: a keyed digest and metadata, never the value.

    The value itself lives in Vault (``vault_version`` names the version this row describes). At
    most one row per organisation: rotating replaces it, so the old token stops at once.
    """

    __tablename__ = "scim_token"
    __table_args__ = (CheckConstraint("source IN ('generated', 'entered')", name="source"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True
    )
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    fingerprint: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    vault_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    def __repr__(self) -> str:
        return f"<ScimToken {self.fingerprint}>"
