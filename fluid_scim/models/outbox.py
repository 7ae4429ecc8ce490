"""Outbound provisioning events: the transactional outbox, webhook endpoints and their deliveries.

An event is written in the transaction of the change it describes as an :class:`OutboxPending` row
(no number, no lock: the change's commit waits for nobody). Publishing (``services.outbox.publish``)
numbers an organisation's pending rows in a short transaction of its own, under that organisation's
counter row (:class:`OutboxSequence`), and moves them to :class:`OutboxEvent`: publishing
transactions of an organisation commit one after the other, in ``seq`` order, so a reader paging by
``seq`` never misses an event that is published later.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from fluid_scim.extensions import Model
from fluid_scim.models.types import UTCDateTime, utcnow


class OutboxSequence(Model):
    """The last ``seq`` handed out in an organisation (locked by the publishing transaction)."""

    __tablename__ = "outbox_sequence"

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class OutboxPending(Model):
    """An event committed with its change and not numbered yet, in the order it was written (``id``)."""

    __tablename__ = "outbox_pending"
    __table_args__ = (Index("ix_outbox_pending_organisation", "organisation_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisation.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(40))  # "evt_…", kept when it is numbered
    type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(36))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxEvent(Model):
    """One access-relevant change, numbered in its organisation (``seq``: 1, 2, 3, … without gaps)."""

    __tablename__ = "outbox_event"

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    id: Mapped[str] = mapped_column(String(40))  # "evt_…": the webhook-id, the same on every retry
    type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(36))  # the user (or group) the event is about
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookEndpoint(Model):
    """Where an organisation wants its events posted; the signing secret is in Vault (``secret_version``)."""

    __tablename__ = "webhook_endpoint"

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: every type
    secret_version: Mapped[int] = mapped_column(Integer)
    # After a rotation, the replaced secret's Vault version, still signing beside the new one until then.
    previous_secret_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Events up to this seq have been fanned out into deliveries (starts at the seq when created).
    dispatched_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Paused (``enabled`` false) since: its events keep accumulating in the outbox until it resumes.
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Health, set with the outcome of every attempt (the failure as its status code or kind, never a body).
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failure: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class WebhookDelivery(Model):
    """One event for one endpoint: attempts, back-off, outcome (the delivery log)."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        ForeignKeyConstraint(
            ["organisation_id", "endpoint_id"], ["webhook_endpoint.organisation_id", "webhook_endpoint.id"], ondelete="CASCADE"
        ),
        CheckConstraint("status IN ('pending', 'delivered', 'dead')", name="status"),
        Index("ix_webhook_delivery_due", "organisation_id", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_subject", "organisation_id", "endpoint_id", "subject_id", "event_seq"),
        Index("ix_webhook_delivery_endpoint_status", "organisation_id", "endpoint_id", "status"),
        Index("ix_webhook_delivery_event", "organisation_id", "event_seq"),
    )

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    endpoint_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    event_seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
