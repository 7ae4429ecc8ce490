"""SQLAlchemy models. Every tenant-owned table carries ``organisation_id`` first in its keys."""

from fluid_scim.models.organisation import Organisation, ScimToken

__all__ = ["Organisation", "ScimToken"]
