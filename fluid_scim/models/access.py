"""Fluid access: role mappings, access events, held removals (the brake) and tombstones."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from fluid_scim.extensions import Model
from fluid_scim.models.scim import new_id
from fluid_scim.models.types import UTCDateTime, utcnow

ACCESS_EVENT_KINDS = ("granted", "suspended", "revoked", "roles_changed", "held", "released", "discarded")


class RoleMapping(Model):
    """A directory group (by id, so renames keep it) or an app role value -> a Fluid role."""

    __tablename__ = "role_mapping"
    __table_args__ = (CheckConstraint("kind IN ('group', 'app_role')", name="kind"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    # The group's id for kind "group"; the lower-cased app role value for kind "app_role".
    source: Mapped[str] = mapped_column(String(255), primary_key=True)
    role: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccessEvent(Model):
    """One change of a user's Fluid access or roles, in the order it happened."""

    __tablename__ = "access_event"
    __table_args__ = (
        Index("ix_access_event_user", "organisation_id", "user_id", "created_at"),
        Index("ix_access_event_kind", "organisation_id", "kind", "created_at"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(String(36))
    user_name: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(255))
    roles_before: Mapped[list[str]] = mapped_column(JSON, default=list)
    roles_after: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HeldAccessChange(Model):
    """An access removal the brake held back: the user keeps access until an admin decides."""

    __tablename__ = "held_access_change"
    __table_args__ = (
        CheckConstraint("status IN ('held', 'released', 'discarded')", name="status"),
        Index("ix_held_access_change_status", "organisation_id", "status", "created_at"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(String(36))
    user_name: Mapped[str] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="held")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(255))


class UserTombstone(Model):
    """What remains of a deleted user for the audit trail, until its retention ends."""

    __tablename__ = "user_tombstone"
    __table_args__ = (Index("ix_user_tombstone_purge_after", "organisation_id", "purge_after"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(255))
    external_id: Mapped[str | None] = mapped_column(String(255))
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    purge_after: Mapped[datetime] = mapped_column(UTCDateTime)
