"""The provisioning history: one event per SCIM request or admin action, and per-organisation status."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from fluid_scim.extensions import Model
from fluid_scim.models.scim import new_id
from fluid_scim.models.types import UTCDateTime, utcnow


class ProvisioningEvent(Model):
    """What happened, who asked, what changed (attribute by attribute, secrets redacted), how it ended."""

    __tablename__ = "provisioning_event"
    __table_args__ = (
        Index("ix_provisioning_event_time", "organisation_id", "created_at", "id"),
        Index("ix_provisioning_event_resource", "organisation_id", "resource_id", "created_at"),
        Index("ix_provisioning_event_operation", "organisation_id", "operation", "created_at"),
        Index("ix_provisioning_event_created_at", "created_at"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "scim" for requests from an IdP; "admin" for actions of an admin or operator.
    kind: Mapped[str] = mapped_column(String(8), default="scim")
    actor: Mapped[str | None] = mapped_column(String(255))
    request_id: Mapped[str | None] = mapped_column(String(128))
    user_agent: Mapped[str | None] = mapped_column(String(255))
    token_fingerprint: Mapped[str | None] = mapped_column(String(16))
    dialect: Mapped[str | None] = mapped_column(String(16))
    quirks: Mapped[list[str]] = mapped_column(JSON, default=list)
    method: Mapped[str | None] = mapped_column(String(8))
    path: Mapped[str | None] = mapped_column(String(512))
    resource_type: Mapped[str | None] = mapped_column(String(32))
    resource_id: Mapped[str | None] = mapped_column(String(36))
    # The subject's userName or displayName when the row was written (None on rows older than the column).
    resource_name: Mapped[str | None] = mapped_column(String(255))
    operation: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    scim_type: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    # [{"path": "name.givenName", "before": ..., "after": ...}] or {"path": "members", "added": [...], "removed": [...]}
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    @property
    def succeeded(self) -> bool:
        return self.status < 400


class ProvisioningStatus(Model):
    """The latest of an organisation's SCIM traffic, kept current per request (cheap to read)."""

    __tablename__ = "provisioning_status"

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    last_request_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error_status: Mapped[int | None] = mapped_column(Integer)
    last_error_detail: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class StatusBucket(Model):
    """Request counters of one organisation over five minutes; a day is 288 small rows."""

    __tablename__ = "status_bucket"

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    unauthorized: Mapped[int] = mapped_column(Integer, default=0)
    query_not_found: Mapped[int] = mapped_column(Integer, default=0)
    # Refused without a bearer token: not the identity provider's traffic (which always sends one), so
    # counted apart from the four above, which the health verdict reads.
    without_token: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
