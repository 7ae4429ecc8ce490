"""Organisations (tenants) and their SCIM token metadata."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, LargeBinary, String, Uuid, false, true
from sqlalchemy.orm import Mapped, mapped_column

from fluid_scim.extensions import Model
from fluid_scim.models.types import UTCDateTime, utcnow


class Organisation(Model):
    """A Fluid customer: ``{slug}.{FLUID_BASE_DOMAIN}`` is its instance and SCIM tenant."""

    __tablename__ = "organisation"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    scim_sync_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The SCIM group whose active members may use Fluid ("Fluid User" unless configured otherwise).
    access_group_id: Mapped[str | None] = mapped_column(String(36))
    # "group": active members of the access group have access; "all_active": every active user;
    # "attribute": every active user matching ``access_filter``.
    access_mode: Mapped[str] = mapped_column(String(16), default="group", server_default="group")
    # Mode "attribute": active users matching this SCIM filter over the user have access.
    access_filter: Mapped[str | None] = mapped_column(String(1024))
    # What becomes of attributes the organisation has not declared: "keep", "ignore" or "reject".
    undeclared_policy: Mapped[str] = mapped_column(String(8), default="keep", server_default="keep")
    # Bumped whenever the organisation's declared attributes or attribute role mappings change: each
    # worker caches its schemas and compiled attribute rules by it.
    schema_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The deprovisioning brake (off by default): hold access removals beyond a share and a number
    # of the organisation's users within a window, until an admin releases or discards them.
    brake_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    brake_percent: Mapped[int] = mapped_column(Integer, default=20, server_default="20")
    brake_min_removals: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    brake_window_minutes: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    # Whether users created by ``users import`` may be waiting to be adopted by a SCIM create (the
    # e-mail fallback): set with the first imported user, never cleared (left true, it only costs a create one query).
    # A create in an organisation that never imported skips the adoption lookup.
    imports_waiting: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # How long a deleted user's tombstone is kept for the audit trail.
    tombstone_retention_days: Mapped[int] = mapped_column(Integer, default=90, server_default="90")
    # The set-up checklist counts only what the identity provider did from here on (None: from the
    # start); an admin restarts it after reconfiguring the IdP. The history keeps everything.
    checklist_since: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Set when an operator starts removing the organisation (``org delete``): from then on SCIM
    # answers 404, admin credentials are refused, and only the removal may go on (see OrganisationRemoval).
    removal_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Organisation {self.slug}>"


class ScimToken(Model):
    """The current SCIM bearer token of an organisation: a keyed digest and metadata, never the value.

    The value itself lives in Vault (``vault_version`` names the version this row describes). At
    most one row per organisation: rotating replaces it, so the old token stops at once.
    """

    __tablename__ = "scim_token"
    __table_args__ = (CheckConstraint("source IN ('generated', 'entered')", name="source"),)

    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[bytes] = mapped_column(LargeBinary(32))
    # The version of the Vault digest key the digest was made with (see secrets.vault).
    key_id: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    fingerprint: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    vault_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    def __repr__(self) -> str:
        return f"<ScimToken {self.fingerprint}>"


class OrganisationRemoval(Model):
    """Who removed which organisation, and when: a platform record that outlives the organisation.

    Written when a removal starts (``completed_at`` empty) and completed when nothing of the
    organisation is left in the database or in Vault. Not a tenant table: it keeps the removed
    organisation's id as ``removed_organisation_id``, with no foreign key, so the tenant guard does
    not treat it as one and deleting the organisation leaves it.
    """

    __tablename__ = "organisation_removal"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    removed_organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    slug: Mapped[str] = mapped_column(String(63), index=True)
    name: Mapped[str] = mapped_column(String(200))
    requested_by: Mapped[str] = mapped_column(String(255))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The actor of the run that finished it (a re-run after a failure may be someone else's).
    completed_by: Mapped[str | None] = mapped_column(String(255))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<OrganisationRemoval {self.slug}>"
